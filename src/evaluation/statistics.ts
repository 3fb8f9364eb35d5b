/**
 * The pure statistics of an A/B comparison of two image classifiers over one labeled dataset:
 * per-version metrics (versionMetrics) and the paired comparison (pairedComparison). No I/O,
 * deterministic. Conventions, in one place:
 *
 * - Top-1 is `predicted` as given; its confidence is probabilities[predicted].
 * - Per class (rows of the confusion matrix are true labels, columns predictions):
 *   precision = TP / (TP + FP), null when the class is never predicted;
 *   recall    = TP / support,   null when the class has no items (support 0);
 *   f1        = 2 TP / (2 TP + FP + FN), null only when the class is neither a label nor a
 *               prediction (so a class never predicted, or predicted but absent, has f1 = 0, as
 *               sklearn's zero_division=0 gives).
 * - macroF1 = sklearn `f1_score(y_true, y_pred, average='macro')` (labels=None): mean of the f1
 *   above over the classes that occur in the labels OR the predictions (non-null f1s).
 * - top5Accuracy: share of items whose label is the top-1 or among the 5 highest probabilities
 *   (ties ranked by lower class index first); null when there are fewer than 5 classes.
 * - ECE: Guo et al. 2017, 15 equal-width bins (m/15, (m+1)/15], the first [0, 1/15]; see
 *   calibration() in metrics.ts. NLL: mean of -ln(max(p[label], 1e-12)). Brier: mean over items of
 *   sum over classes (p_k - [k = label])^2 (the multi-class form, range [0, 2]).
 * - Latency percentiles: percentile() (linear interpolation, numpy's default). throughput =
 *   n / (wallMs / 1000) items/s when wallMs is given and > 0, else null (a run timed at 0 ms
 *   has no measurable throughput; a negative or non-finite wallMs throws).
 * - Paired: b = baseline right & candidate wrong, c = the reverse; McNemar exact p and mid-p as in
 *   mcnemar.ts; verdict by the exact p: CANDIDATE_BETTER if c > b and p < alpha, BASELINE_BETTER
 *   if b > c and p < alpha, else NO_SIGNIFICANT_DIFFERENCE. CIs: paired percentile bootstrap
 *   (bootstrap.ts). nonInferior = (lower bound of the accuracy-delta CI > -margin), margin in
 *   accuracy units (0.01 = one percentage point); null without a margin.
 *
 * Invalid input throws StatisticsInputError (a RangeError) naming the version and item.
 */
import { DEFAULT_BOOTSTRAP_RESAMPLES, DEFAULT_BOOTSTRAP_SEED, pairedBootstrap } from './bootstrap';
import { mcnemarExact } from './mcnemar';
import { calibration, f1FromCounts, macroF1FromCounts, percentile, type ReliabilityBin } from './metrics';

export { mcnemarExact } from './mcnemar';
export { calibration, percentile, type ReliabilityBin } from './metrics';
export { DEFAULT_BOOTSTRAP_RESAMPLES, DEFAULT_BOOTSTRAP_SEED, mulberry32 } from './bootstrap';

/** One dataset item as one version saw it. */
export interface ItemOutcome {
  label: number; // true class index
  predicted: number; // top-1 index
  probabilities: number[]; // full probability vector over the classes (sums to ~1)
  latencyMs: number; // this item's end-to-end latency in the run
}

export interface PerClassMetrics {
  label: string;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  support: number;
}

export interface VersionMetrics {
  n: number;
  accuracy: number;
  top5Accuracy: number | null;
  macroF1: number;
  meanConfidence: number;
  ece: number;
  reliability: ReliabilityBin[]; // 15 bins
  nll: number;
  brier: number;
  latencyMsP50: number;
  latencyMsP95: number;
  latencyMsP99: number;
  throughput: number | null; // items/s, from wallMs when given
  perClass: PerClassMetrics[];
  confusionMatrix: number[][]; // rows = true label, columns = predicted
}

export type Verdict = 'CANDIDATE_BETTER' | 'BASELINE_BETTER' | 'NO_SIGNIFICANT_DIFFERENCE';

export interface PairedResult {
  n: number;
  agreement: number;
  b: number; // baseline right & candidate wrong
  c: number; // candidate right & baseline wrong
  accuracyDelta: number; // candidate - baseline
  accuracyDeltaCi95: [number, number];
  macroF1Delta: number;
  macroF1DeltaCi95: [number, number];
  mcnemarExactP: number;
  mcnemarMidP: number;
  verdict: Verdict;
  nonInferior: boolean | null; // null when no margin given
  bootstrap: { resamples: number; seed: number };
}

export interface PairedOptions {
  alpha?: number;
  resamples?: number;
  seed?: number;
  nonInferiorityMargin?: number;
}

export class StatisticsInputError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'StatisticsInputError';
  }
}

export const ECE_BINS = 15;
export const NLL_EPSILON = 1e-12;
/** How far a probability vector's sum may stray from 1. */
export const PROBABILITY_SUM_TOLERANCE = 1e-3;
export const DEFAULT_ALPHA = 0.05;

function fail(message: string): never {
  throw new StatisticsInputError(message);
}

function checkLabels(labels: readonly string[]): number {
  if (!Array.isArray(labels) || labels.length === 0) fail('labels must be a non-empty array of class names');
  return labels.length;
}

function checkClassIndex(v: unknown, k: number, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= k)
    fail(`${where} must be a class index in [0, ${k}), got ${String(v)}`);
  return v;
}

/** Validates every item of one version; returns its labels and predictions as typed arrays. */
function decode(items: readonly ItemOutcome[], k: number, who: string): { labels: Int32Array; predicted: Int32Array } {
  if (!Array.isArray(items) || items.length === 0) fail(`${who}: no items`);
  const n = items.length;
  const labels = new Int32Array(n);
  const predicted = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const it = items[i]!;
    const where = `${who} item ${i}`;
    labels[i] = checkClassIndex(it.label, k, `${where}: label`);
    predicted[i] = checkClassIndex(it.predicted, k, `${where}: predicted`);
    const p = it.probabilities;
    if (!Array.isArray(p) || p.length !== k)
      fail(`${where}: probabilities has ${Array.isArray(p) ? p.length : 'no'} entries, expected ${k}`);
    let sum = 0;
    for (const v of p) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
        fail(`${where}: probabilities must be finite and >= 0, got ${String(v)}`);
      sum += v;
    }
    if (Math.abs(sum - 1) > PROBABILITY_SUM_TOLERANCE) fail(`${where}: probabilities sum to ${sum}, not 1`);
    if (typeof it.latencyMs !== 'number' || !Number.isFinite(it.latencyMs) || it.latencyMs < 0)
      fail(`${where}: latencyMs must be finite and >= 0, got ${String(it.latencyMs)}`);
  }
  return { labels, predicted };
}

/** Per-class counts from labels and predictions. */
function classCounts(labels: Int32Array, predicted: Int32Array, k: number) {
  const tp = new Int32Array(k);
  const support = new Int32Array(k);
  const predictedCount = new Int32Array(k);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    const p = predicted[i]!;
    support[y]!++;
    predictedCount[p]!++;
    if (p === y) tp[y]!++;
  }
  return { tp, support, predictedCount };
}

/** Per-version metrics; see the file comment for every definition. */
export function versionMetrics(items: ItemOutcome[], labels: string[], opts: { wallMs?: number } = {}): VersionMetrics {
  const k = checkLabels(labels);
  const { labels: y, predicted } = decode(items, k, 'version');
  const n = items.length;
  const wallMs = opts.wallMs;
  if (wallMs !== undefined && !(typeof wallMs === 'number' && Number.isFinite(wallMs) && wallMs >= 0))
    fail(`wallMs must be a number >= 0, got ${String(wallMs)}`);

  const confusionMatrix = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const confidences = new Float64Array(n);
  const correct = new Uint8Array(n);
  const latencies = new Array<number>(n);
  let hits = 0;
  let top5Hits = 0;
  let confSum = 0;
  let nllSum = 0;
  let brierSum = 0;
  for (let i = 0; i < n; i++) {
    const it = items[i]!;
    const p = it.probabilities;
    const label = y[i]!;
    const pred = predicted[i]!;
    confusionMatrix[label]![pred]!++;
    const ok = pred === label;
    if (ok) hits++;
    correct[i] = ok ? 1 : 0;
    confidences[i] = p[pred]!;
    confSum += p[pred]!;
    latencies[i] = it.latencyMs;
    nllSum += -Math.log(Math.max(p[label]!, NLL_EPSILON));
    let brier = 0;
    let rankAbove = 0; // classes ranked above the label: higher probability, or equal and lower index
    const pl = p[label]!;
    for (let j = 0; j < k; j++) {
      const pj = p[j]!;
      const d = j === label ? pj - 1 : pj;
      brier += d * d;
      if (pj > pl || (pj === pl && j < label)) rankAbove++;
    }
    brierSum += brier;
    if (ok || rankAbove < 5) top5Hits++;
  }

  const { tp, support, predictedCount } = classCounts(y, predicted, k);
  const perClass: PerClassMetrics[] = labels.map((name, c) => ({
    label: name,
    precision: predictedCount[c]! > 0 ? tp[c]! / predictedCount[c]! : null,
    recall: support[c]! > 0 ? tp[c]! / support[c]! : null,
    f1: f1FromCounts(tp[c]!, support[c]!, predictedCount[c]!),
    support: support[c]!,
  }));
  const cal = calibration(confidences, correct, ECE_BINS);

  return {
    n,
    accuracy: hits / n,
    top5Accuracy: k >= 5 ? top5Hits / n : null,
    macroF1: macroF1FromCounts(tp, support, predictedCount),
    meanConfidence: confSum / n,
    ece: cal.ece,
    reliability: cal.bins,
    nll: nllSum / n,
    brier: brierSum / n,
    latencyMsP50: percentile(latencies, 50),
    latencyMsP95: percentile(latencies, 95),
    latencyMsP99: percentile(latencies, 99),
    throughput: wallMs !== undefined && wallMs > 0 ? n / (wallMs / 1000) : null,
    perClass,
    confusionMatrix,
  };
}

/**
 * The paired comparison of candidate against baseline over the same items, in the same order
 * (item i of both arrays must be the same dataset item: same label).
 */
export function pairedComparison(
  baseline: ItemOutcome[],
  candidate: ItemOutcome[],
  labels: string[],
  opts: PairedOptions = {},
): PairedResult {
  const k = checkLabels(labels);
  if (!Array.isArray(baseline) || !Array.isArray(candidate) || baseline.length !== candidate.length) {
    fail(`baseline and candidate must score the same items: ${baseline?.length} vs ${candidate?.length} items`);
  }
  const alpha = opts.alpha ?? DEFAULT_ALPHA;
  if (!(typeof alpha === 'number' && alpha > 0 && alpha < 1)) fail(`alpha must be in (0, 1), got ${String(alpha)}`);
  const resamples = opts.resamples ?? DEFAULT_BOOTSTRAP_RESAMPLES;
  if (!Number.isInteger(resamples) || resamples < 1 || resamples > 1_000_000)
    fail(`resamples must be an integer in [1, 1000000], got ${String(resamples)}`);
  const seed = opts.seed ?? DEFAULT_BOOTSTRAP_SEED;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    fail(`seed must be an integer in [0, 2^32), got ${String(seed)}`);
  const margin = opts.nonInferiorityMargin;
  if (margin !== undefined && !(typeof margin === 'number' && Number.isFinite(margin) && margin >= 0))
    fail(`nonInferiorityMargin must be a number >= 0, got ${String(margin)}`);

  const base = decode(baseline, k, 'baseline');
  const cand = decode(candidate, k, 'candidate');
  const n = baseline.length;
  let agree = 0;
  let b = 0;
  let c = 0;
  for (let i = 0; i < n; i++) {
    const y = base.labels[i]!;
    if (cand.labels[i] !== y)
      fail(`item ${i}: baseline label ${y} but candidate label ${cand.labels[i]}: not the same item`);
    const pb = base.predicted[i]!;
    const pc = cand.predicted[i]!;
    if (pb === pc) agree++;
    if (pb === y && pc !== y) b++;
    else if (pc === y && pb !== y) c++;
  }

  const cb = classCounts(base.labels, base.predicted, k);
  const cc = classCounts(cand.labels, cand.predicted, k);
  const macroF1Delta =
    macroF1FromCounts(cc.tp, cc.support, cc.predictedCount) - macroF1FromCounts(cb.tp, cb.support, cb.predictedCount);
  const { p, midP } = mcnemarExact(b, c);
  const boot = pairedBootstrap(base.labels, base.predicted, cand.predicted, k, resamples, seed);

  const verdict: Verdict =
    p < alpha && c > b ? 'CANDIDATE_BETTER' : p < alpha && b > c ? 'BASELINE_BETTER' : 'NO_SIGNIFICANT_DIFFERENCE';
  return {
    n,
    agreement: agree / n,
    b,
    c,
    accuracyDelta: (c - b) / n,
    accuracyDeltaCi95: boot.accuracyDeltaCi95,
    macroF1Delta,
    macroF1DeltaCi95: boot.macroF1DeltaCi95,
    mcnemarExactP: p,
    mcnemarMidP: midP,
    verdict,
    nonInferior: margin === undefined ? null : boot.accuracyDeltaCi95[0] > -margin,
    bootstrap: { resamples, seed },
  };
}
