/**
 * Paired bootstrap of the accuracy difference and the macro-F1 difference of two classifiers
 * scored on the same items: each resample draws n item indices with replacement, the SAME indices
 * for both versions, and recomputes both differences (candidate - baseline) on them. The 95% CI is
 * the percentile interval: the 2.5th and 97.5th percentiles of the resampled differences, by
 * linear interpolation (numpy's default, see percentile()). Deterministic for a given seed.
 */
import { macroF1FromCounts, percentileOfSorted } from './metrics';

// Bound once: a global lookup of `Math` per draw is slow where the global object is intercepted
// (jest's vm sandbox runs this loop ~40x slower otherwise).
const imul = Math.imul;

export const DEFAULT_BOOTSTRAP_SEED = 20261126;
export const DEFAULT_BOOTSTRAP_RESAMPLES = 2000;

/**
 * mulberry32: a small, fast 32-bit PRNG (Tommy Ettinger's; public domain) with a 2^32 period,
 * plenty for 2,000 x n draws. Returns floats in [0, 1) with 32 random bits. An index is drawn as
 * floor(u * n); its bias (at most n / 2^32) is negligible for datasets of any realistic size.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface PairedBootstrapResult {
  /** Resampled accuracy differences, sorted ascending. */
  accuracyDeltas: Float64Array;
  /** Resampled macro-F1 differences, sorted ascending. */
  macroF1Deltas: Float64Array;
  accuracyDeltaCi95: [number, number];
  macroF1DeltaCi95: [number, number];
}

/**
 * labels / predBaseline / predCandidate: class indices in [0, classes), one per item (n >= 1).
 * Per resample the cost is O(n + classes): per-item correctness is precomputed, and per-class
 * counts (support, predictions, true positives for each version) are accumulated in flat typed
 * arrays, from which macro-F1 = mean over present classes of 2 TP / (support + predicted).
 */
export function pairedBootstrap(
  labels: Int32Array,
  predBaseline: Int32Array,
  predCandidate: Int32Array,
  classes: number,
  resamples: number,
  seed: number,
): PairedBootstrapResult {
  const n = labels.length;
  const delta = new Int8Array(n); // (candidate correct) - (baseline correct)
  for (let i = 0; i < n; i++)
    delta[i] = (predCandidate[i] === labels[i] ? 1 : 0) - (predBaseline[i] === labels[i] ? 1 : 0);

  const support = new Int32Array(classes);
  const predB = new Int32Array(classes);
  const tpB = new Int32Array(classes);
  const predC = new Int32Array(classes);
  const tpC = new Int32Array(classes);
  const accuracyDeltas = new Float64Array(resamples);
  const macroF1Deltas = new Float64Array(resamples);
  const rand = mulberry32(seed);

  for (let r = 0; r < resamples; r++) {
    support.fill(0);
    predB.fill(0);
    tpB.fill(0);
    predC.fill(0);
    tpC.fill(0);
    let diff = 0;
    for (let i = 0; i < n; i++) {
      const j = (rand() * n) | 0; // floor, for n < 2^31
      const y = labels[j]!;
      const pb = predBaseline[j]!;
      const pc = predCandidate[j]!;
      support[y]!++;
      predB[pb]!++;
      predC[pc]!++;
      if (pb === y) tpB[y]!++;
      if (pc === y) tpC[y]!++;
      diff += delta[j]!;
    }
    accuracyDeltas[r] = diff / n;
    macroF1Deltas[r] = macroF1FromCounts(tpC, support, predC) - macroF1FromCounts(tpB, support, predB);
  }

  accuracyDeltas.sort();
  macroF1Deltas.sort();
  return {
    accuracyDeltas,
    macroF1Deltas,
    accuracyDeltaCi95: [percentileOfSorted(accuracyDeltas, 2.5), percentileOfSorted(accuracyDeltas, 97.5)],
    macroF1DeltaCi95: [percentileOfSorted(macroF1Deltas, 2.5), percentileOfSorted(macroF1Deltas, 97.5)],
  };
}
