import type { ComparisonRecord } from './comparison.repository';
import {
  confusionMatrices,
  disagreementGallery,
  esc,
  forestPlot,
  perClassF1,
  reliabilityDiagram,
} from './report-charts';
import type { SpeedProfile } from './speed.service';
import { DEFAULT_ALPHA, type PairedResult, type PerClassMetrics, type VersionMetrics } from './statistics';

/** A version's size and speed in a comparison's results (results stored before they were measured lack some). */
export interface VersionSize {
  sizeBytes: number;
  /** Weights in the graph; null when they could not be counted. */
  parameters?: number | null;
  /** Measured in isolation after the items; null when it could not be measured. */
  speed?: SpeedProfile | null;
}

export interface ComparisonResults {
  baseline: VersionMetrics & VersionSize;
  candidate: VersionMetrics & VersionSize;
  paired: PairedResult;
}

/**
 * One version's numbers as the API shows them: the stored metrics, the queued-run timings under
 * names that say so, and size and speed (null where not measured).
 */
export type VersionMetricsView = VersionMetrics &
  VersionSize & {
    queuedLatencyMsP50: number;
    queuedLatencyMsP95: number;
    queuedLatencyMsP99: number;
    queuedThroughput: number | null;
    parameters: number | null;
    speed: SpeedProfile | null;
  };

export const metricsView = (m: VersionMetrics & VersionSize): VersionMetricsView => ({
  ...m,
  queuedLatencyMsP50: m.latencyMsP50,
  queuedLatencyMsP95: m.latencyMsP95,
  queuedLatencyMsP99: m.latencyMsP99,
  queuedThroughput: m.throughput,
  parameters: m.parameters ?? null,
  speed: m.speed ?? null,
});

/** A comparison as the API shows it: the stored record, its progress and its flattened results. */
export interface ComparisonView {
  record: ComparisonRecord;
  results: ComparisonResults | null;
  id: string;
  status: string;
  progress: number;
  itemsDone: number;
  total: number;
  etaSeconds: number | null;
  alpha: number;
  n: number | null;
  baselineMetrics: VersionMetricsView | null;
  candidateMetrics: VersionMetricsView | null;
  accuracyDelta: number | null;
  accuracyDeltaCi95: number[] | null;
  macroF1Delta: number | null;
  macroF1DeltaCi95: number[] | null;
  discordantBaselineOnly: number | null;
  discordantCandidateOnly: number | null;
  mcnemarPValue: number | null;
  mcnemarMidP: number | null;
  agreement: number | null;
  verdict: string | null;
  nonInferior: boolean | null;
  nonInferiorityMargin: number | null;
  error: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

export function comparisonView(record: ComparisonRecord): ComparisonView {
  const results = record.status === 'SUCCEEDED' ? (record.results as unknown as ComparisonResults) : null;
  const p = results?.paired ?? null;
  const running = record.status === 'RUNNING' && record.done > 0 && record.elapsedMs > 0;
  return {
    record,
    results,
    id: String(record.id),
    status: record.status,
    progress: record.total === 0 ? 1 : record.status === 'SUCCEEDED' ? 1 : record.done / record.total,
    itemsDone: record.done,
    total: record.total,
    etaSeconds: running ? ((record.total - record.done) * record.elapsedMs) / record.done / 1000 : null,
    alpha: (record.options as { alpha?: number }).alpha ?? DEFAULT_ALPHA,
    n: p?.n ?? null,
    baselineMetrics: results ? metricsView(results.baseline) : null,
    candidateMetrics: results ? metricsView(results.candidate) : null,
    accuracyDelta: p?.accuracyDelta ?? null,
    accuracyDeltaCi95: p?.accuracyDeltaCi95 ?? null,
    macroF1Delta: p?.macroF1Delta ?? null,
    macroF1DeltaCi95: p?.macroF1DeltaCi95 ?? null,
    discordantBaselineOnly: p?.b ?? null,
    discordantCandidateOnly: p?.c ?? null,
    mcnemarPValue: p?.mcnemarExactP ?? null,
    mcnemarMidP: p?.mcnemarMidP ?? null,
    agreement: p?.agreement ?? null,
    verdict: p?.verdict ?? null,
    nonInferior: p?.nonInferior ?? null,
    nonInferiorityMargin: (record.options as { nonInferiorityMargin?: number }).nonInferiorityMargin ?? null,
    error: record.error,
    createdAt: record.createdAt,
    finishedAt: record.finishedAt,
  };
}

export interface ReportNames {
  model: string;
  baseline: string;
  candidate: string;
  dataset: string;
}

export interface Disagreement {
  ordinal: number;
  path: string;
  /** The stored image's sha256: where the report's gallery reads it. */
  sha256: string;
  label: string;
  baselineLabel: string;
  baselineProbability: number;
  candidateLabel: string;
  candidateProbability: number;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const pts = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(1)}`;
const pValue = (p: number) => (p >= 0.001 ? p.toPrecision(2) : p.toExponential(1));
const count = (n: number) => n.toLocaleString('en-US');

/** A ratio as the sentence says it: "14x", "2.3x". */
const times = (r: number) => (r >= 10 ? `${Math.round(r)}x` : `${r.toFixed(1)}x`);
/** Within this factor two numbers are "about" the same. */
const SAME = 1.05;

/**
 * How the candidate compares in speed (batch-1 latency) and file size: "14x faster and 21x
 * smaller", "2.3x slower and about the same size"; nothing about speed when either was not measured.
 */
export function speedAndSize(baseline: VersionSize, candidate: VersionSize): string {
  const parts: string[] = [];
  const b = baseline.speed?.batch1Ms;
  const c = candidate.speed?.batch1Ms;
  if (b && c) {
    const r = b / c;
    parts.push(r >= SAME ? `${times(r)} faster` : r <= 1 / SAME ? `${times(1 / r)} slower` : 'about as fast');
  }
  if (baseline.sizeBytes > 0 && candidate.sizeBytes > 0) {
    const r = baseline.sizeBytes / candidate.sizeBytes;
    parts.push(r >= SAME ? `${times(r)} smaller` : r <= 1 / SAME ? `${times(1 / r)} larger` : 'about the same size');
  }
  return parts.join(' and ');
}

/**
 * "fashion-classifier v3 beats v1 (baseline) by +2.3 pts (95% CI +1.4..+3.2) and is 14x faster and 21x
 * smaller: accuracy 92.4% vs 90.1%, McNemar p = 3e-6 on 2,000 paired images of fashion-eval@1."
 * Faster/slower compares the versions' batch-1 latency measured in isolation, smaller/larger their files.
 */
export function verdictSentence(v: ComparisonView, names: ReportNames): string {
  const r = v.results!;
  const p = r.paired;
  const [lo, hi] = p.accuracyDeltaCi95;
  const ci = `95% CI ${pts(lo)}..${pts(hi)}`;
  const difference =
    p.verdict === 'CANDIDATE_BETTER'
      ? `beats ${names.baseline} by ${pts(p.accuracyDelta)} pts (${ci})`
      : p.verdict === 'BASELINE_BETTER'
        ? `is worse than ${names.baseline} by ${pts(p.accuracyDelta)} pts (${ci})`
        : `is not significantly different from ${names.baseline} (${pts(p.accuracyDelta)} pts, ${ci})`;
  const comparedSize = speedAndSize(r.baseline, r.candidate);
  const numbers =
    `accuracy ${pct(r.candidate.accuracy)} vs ${pct(r.baseline.accuracy)}, ` +
    `McNemar p = ${pValue(p.mcnemarExactP)} on ${count(p.n)} paired images of ${names.dataset}`;
  const nonInferior =
    p.nonInferior === null
      ? ''
      : p.nonInferior
        ? '; non-inferior within the margin'
        : '; NOT shown non-inferior within the margin';
  return `${names.model} ${names.candidate} ${difference}${comparedSize ? ` and is ${comparedSize}` : ''}: ${numbers}${nonInferior}.`;
}

/** What the per-version table's speed rows mean, under it in both reports. */
export const SPEED_NOTE =
  'Speed: each version alone on the runtime that serves it, warm, on a fixed input of its input size; the median of ' +
  'timed runs, at least 20 of a batch of 1 over at least 1 s and at least 5 of a batch of 32 (fewer within the caps ' +
  'for a very slow model: the run counts say). Queued latency is something else: the wall time of a request inside ' +
  "this comparison's batched, queued run, with both versions sharing the runtime.";

/** Disagreements a report lists: the Markdown table's rows, the HTML gallery's images. */
export const REPORT_DISAGREEMENTS = 48;
/** The gallery's thumbnails: longest side in px (a 28×28 image is enlarged, nearest neighbour). */
export const REPORT_THUMBNAIL_PX = 96;

// The HTML report's whole stylesheet (the file stands alone): light, readable at 1280 px and on a phone.
const REPORT_CSS = [
  ':root{color-scheme:light}',
  'body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#fff;max-width:72rem;margin:0 auto;padding:1.5rem 1rem 3rem}',
  'h1{font-size:1.5rem;margin:0 0 .75rem}',
  'h2{font-size:1.2rem;margin:2.25rem 0 .75rem;padding-bottom:.3rem;border-bottom:1px solid #d8dee4}',
  '.verdict{background:#f6f8fa;border-left:4px solid #0969da;padding:.75rem 1rem;margin:0}',
  '.note{color:#57606a;font-size:.875rem}',
  'table{border-collapse:collapse;font-size:.875rem;margin:.5rem 0}',
  'td,th{border:1px solid #d8dee4;padding:.3rem .6rem;text-align:left;vertical-align:top}',
  'th{background:#f6f8fa}',
  '.scroll{overflow-x:auto}',
  '.grid{display:grid;gap:1rem;grid-template-columns:repeat(auto-fit,minmax(min(100%,22rem),1fr));align-items:start}',
  '.grid.tables,.grid.matrices{grid-template-columns:repeat(auto-fit,minmax(min(100%,30rem),1fr))}',
  'figure{margin:0}',
  '.chart-box{border:1px solid #d8dee4;border-radius:6px;padding:.75rem;background:#fff}',
  '.chart-box>figcaption{font-weight:600;margin-bottom:.5rem}',
  '.chart-box.forest,.chart-box.per-class-f1{max-width:44rem}',
  'svg.chart{display:block;width:100%;height:auto}',
  'details{margin:.75rem 0}summary{cursor:pointer;color:#0969da}',
  '.gallery{display:grid;gap:.75rem;grid-template-columns:repeat(auto-fill,minmax(10rem,1fr))}',
  '.item{border:1px solid #d8dee4;border-radius:6px;padding:.5rem;font-size:.8rem;line-height:1.35}',
  '.item img{display:block;margin:0 auto .4rem;image-rendering:pixelated;background:#f6f8fa}',
  '.item figcaption span{display:block;overflow-wrap:anywhere}',
  '.item .path{color:#57606a}',
  '.missing{height:96px;display:flex;align-items:center;justify-content:center;background:#f6f8fa;color:#57606a}',
  '.ok{color:#1a7f37}.bad{color:#cf222e}',
  '@media (max-width:40rem){body{padding:1rem .5rem 2rem}.chart-box{padding:.5rem}}',
].join('');

/**
 * The sentence, or a self-contained Markdown or HTML report. The HTML one draws its charts as inline
 * SVG and shows the disagreeing images from `thumbnails` (PNG bytes, one per disagreement, in order;
 * null or missing: shown as unavailable), so the file needs nothing else to render.
 */
export function renderReport(
  v: ComparisonView,
  names: ReportNames,
  disagreements: Disagreement[],
  format: 'sentence' | 'markdown' | 'html',
  thumbnails: readonly (Buffer | null)[] = [],
): string {
  const sentence = verdictSentence(v, names);
  if (format === 'sentence') return sentence;
  const r = v.results!;
  const p = r.paired;
  const rows: [string, string, string][] = [
    ['accuracy', pct(r.baseline.accuracy), pct(r.candidate.accuracy)],
    [
      'top-5 accuracy',
      r.baseline.top5Accuracy === null ? '-' : pct(r.baseline.top5Accuracy),
      r.candidate.top5Accuracy === null ? '-' : pct(r.candidate.top5Accuracy),
    ],
    ['macro-F1', r.baseline.macroF1.toFixed(4), r.candidate.macroF1.toFixed(4)],
    ['mean confidence', pct(r.baseline.meanConfidence), pct(r.candidate.meanConfidence)],
    ['ECE (15 bins)', r.baseline.ece.toFixed(4), r.candidate.ece.toFixed(4)],
    ['NLL', r.baseline.nll.toFixed(4), r.candidate.nll.toFixed(4)],
    ['Brier', r.baseline.brier.toFixed(4), r.candidate.brier.toFixed(4)],
    ['speed: batch 1, ms per image (median, in isolation)', batch1(r.baseline), batch1(r.candidate)],
    ['throughput: batch 32, images/s (median, in isolation)', batch32(r.baseline), batch32(r.candidate)],
    ['speed measured on', measuredOn(r.baseline), measuredOn(r.candidate)],
    ['parameters', params(r.baseline), params(r.candidate)],
    ['model file', mb(r.baseline.sizeBytes), mb(r.candidate.sizeBytes)],
    ['queued latency p50 / p95 / p99 (ms) in this run', lat(r.baseline), lat(r.candidate)],
  ];
  const paired: [string, string][] = [
    ['paired images', count(p.n)],
    ['agreement', pct(p.agreement)],
    ['baseline right, candidate wrong (b)', String(p.b)],
    ['candidate right, baseline wrong (c)', String(p.c)],
    [
      'accuracy difference (95% bootstrap CI)',
      `${pts(p.accuracyDelta)} pts (${pts(p.accuracyDeltaCi95[0])}..${pts(p.accuracyDeltaCi95[1])})`,
    ],
    [
      'macro-F1 difference (95% bootstrap CI)',
      `${p.macroF1Delta.toFixed(4)} (${p.macroF1DeltaCi95[0].toFixed(4)}..${p.macroF1DeltaCi95[1].toFixed(4)})`,
    ],
    ["McNemar's exact p (mid-p)", `${pValue(p.mcnemarExactP)} (${pValue(p.mcnemarMidP)})`],
    ['verdict at alpha', `${p.verdict} (alpha ${v.alpha})`],
  ];
  const disagreed = disagreements.map((d) => [
    d.path,
    d.label,
    `${d.baselineLabel} ${pct(d.baselineProbability)}`,
    `${d.candidateLabel} ${pct(d.candidateProbability)}`,
  ]);
  const perClass = (r.candidate.perClass as { label: string; f1: number | null; support: number }[]).map((c, i) => {
    const b = (r.baseline.perClass as { f1: number | null }[])[i]!;
    return [c.label, String(c.support), b.f1 === null ? '-' : b.f1.toFixed(3), c.f1 === null ? '-' : c.f1.toFixed(3)];
  });
  const title = `${names.model}: ${names.candidate} against ${names.baseline} on ${names.dataset}`;
  if (format === 'markdown') {
    const table = (head: string[], body: string[][]) =>
      [
        `| ${head.join(' | ')} |`,
        `| ${head.map(() => '---').join(' | ')} |`,
        ...body.map((b) => `| ${b.join(' | ')} |`),
      ].join('\n');
    return [
      `# ${title}`,
      '',
      `**${sentence}**`,
      '',
      '_The HTML report (`report(format: HTML)`, or `--report` to a `.html` file) adds the charts and the disagreeing images._',
      '',
      '## Per version',
      '',
      table(['', names.baseline, names.candidate], rows),
      '',
      `_${SPEED_NOTE}_`,
      '',
      '## Paired',
      '',
      table(['', ''], paired),
      '',
      '## Per class (F1)',
      '',
      table(['class', 'support', names.baseline, names.candidate], perClass),
      '',
      `## Where they disagree (first ${disagreements.length})`,
      '',
      disagreements.length ? table(['item', 'true', names.baseline, names.candidate], disagreed) : '(none)',
      '',
    ].join('\n');
  }
  const htmlCells = (tag: 'th' | 'td', cells: string[]) => cells.map((c) => `<${tag}>${esc(c)}</${tag}>`).join('');
  const htmlTable = (head: string[], body: string[][]) =>
    `<div class="scroll"><table><thead><tr>${htmlCells('th', head)}</tr></thead>` +
    `<tbody>${body.map((b) => `<tr>${htmlCells('td', b)}</tr>`).join('')}</tbody></table></div>`;
  const versions = { baseline: names.baseline, candidate: names.candidate };
  const labels = (r.candidate.perClass as PerClassMetrics[]).map((c) => c.label);
  const baselineF1 = (r.baseline.perClass as PerClassMetrics[]).map((c) => c.f1);
  const margin = (v.record.options as { nonInferiorityMargin?: number | null }).nonInferiorityMargin ?? null;
  // Every disagreeing item, though only the first REPORT_DISAGREEMENTS are shown.
  const disagreeing = p.n - Math.round(p.agreement * p.n);
  const gallery = disagreements.map((d, i) => ({ ...d, png: thumbnails[i] ?? null }));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><style>${REPORT_CSS}</style></head><body>
<h1>${esc(title)}</h1><p class="verdict"><strong>${esc(sentence)}</strong></p>
<h2>Paired difference</h2>
${forestPlot({
  accuracy: { delta: p.accuracyDelta, ci95: p.accuracyDeltaCi95 },
  macroF1: { delta: p.macroF1Delta, ci95: p.macroF1DeltaCi95 },
  margin,
  verdict: p.verdict,
  mcnemarP: p.mcnemarExactP,
  alpha: v.alpha,
})}
<div class="grid tables"><section><h2>Per version</h2>${htmlTable(['', names.baseline, names.candidate], rows)}
<p class="note">${esc(SPEED_NOTE)}</p></section>
<section><h2>Paired</h2>${htmlTable(['measure', 'value'], paired)}</section></div>
<h2>Confusion matrices</h2>
<p class="note">Rows are the true labels, columns the predictions; ${count(p.n)} images.</p>
${confusionMatrices(labels, r.baseline.confusionMatrix, r.candidate.confusionMatrix, versions)}
<h2>Calibration</h2>
<p class="note">Accuracy per confidence bin (15 bins) against the diagonal of perfect calibration; the grey strip counts the items in each bin.</p>
<div class="grid">${reliabilityDiagram({ kind: 'reliability-baseline', name: names.baseline, metrics: r.baseline })}
${reliabilityDiagram({ kind: 'reliability-candidate', name: names.candidate, metrics: r.candidate })}</div>
<h2>Per class</h2>
${perClassF1(
  labels.map((label, i) => ({
    label,
    baseline: baselineF1[i] ?? null,
    candidate: (r.candidate.perClass as PerClassMetrics[])[i]!.f1,
  })),
  versions,
)}
<details><summary>Per-class table</summary>${htmlTable(['class', 'support', names.baseline, names.candidate], perClass)}</details>
<h2>Where they disagree</h2>
${disagreementGallery(gallery, disagreeing, versions)}
</body></html>
`;
}

const lat = (m: VersionMetrics) =>
  `${m.latencyMsP50.toFixed(1)} / ${m.latencyMsP95.toFixed(1)} / ${m.latencyMsP99.toFixed(1)}`;
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;
const NOT_MEASURED = 'not measured';
/** A duration in ms with three significant digits (0.412, 5.80, 91.7). */
export const msText = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toPrecision(3));
const batch1 = (m: VersionSize) =>
  m.speed ? `${msText(m.speed.batch1Ms)} (${m.speed.batch1Runs} runs)` : NOT_MEASURED;
const batch32 = (m: VersionSize) =>
  m.speed
    ? `${m.speed.batch32ImagesPerSecond.toFixed(0)}${m.speed.throughputBatchSize === 32 ? '' : ` (at batch ${m.speed.throughputBatchSize}: the graph's fixed size)`}`
    : NOT_MEASURED;
const measuredOn = (m: VersionSize) =>
  m.speed
    ? `${m.speed.executionProvider}, ${m.speed.threads} threads, input ${m.speed.input.channels}x${m.speed.input.height}x${m.speed.input.width}`
    : '-';
const params = (m: VersionSize) => (m.parameters == null ? 'unknown' : count(m.parameters));
