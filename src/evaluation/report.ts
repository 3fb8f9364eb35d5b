import type { ComparisonRecord } from './comparison.repository';
import { DEFAULT_ALPHA, type PairedResult, type VersionMetrics } from './statistics';

export interface ComparisonResults {
  baseline: VersionMetrics & { sizeBytes: number };
  candidate: VersionMetrics & { sizeBytes: number };
  paired: PairedResult;
}

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
  baselineMetrics: ComparisonResults['baseline'] | null;
  candidateMetrics: ComparisonResults['candidate'] | null;
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
    baselineMetrics: results?.baseline ?? null,
    candidateMetrics: results?.candidate ?? null,
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

/** "fashion-classifier v3 beats v1 (baseline): accuracy 92.4% vs 90.1% (+2.3 pts, 95% CI +1.4..+3.2), McNemar p = 3e-6 on 2,000 paired images." */
export function verdictSentence(v: ComparisonView, names: ReportNames): string {
  const r = v.results!;
  const p = r.paired;
  const [lo, hi] = p.accuracyDeltaCi95;
  const numbers =
    `accuracy ${pct(r.candidate.accuracy)} vs ${pct(r.baseline.accuracy)} ` +
    `(${pts(p.accuracyDelta)} pts, 95% CI ${pts(lo)}..${pts(hi)}), ` +
    `McNemar p = ${pValue(p.mcnemarExactP)} on ${count(p.n)} paired images of ${names.dataset}`;
  const verb =
    p.verdict === 'CANDIDATE_BETTER'
      ? 'beats'
      : p.verdict === 'BASELINE_BETTER'
        ? 'is worse than'
        : 'is not significantly different from';
  const nonInferior =
    p.nonInferior === null
      ? ''
      : p.nonInferior
        ? '; non-inferior within the margin'
        : '; NOT shown non-inferior within the margin';
  return `${names.model} ${names.candidate} ${verb} ${names.baseline}: ${numbers}${nonInferior}.`;
}

// The HTML report's whole stylesheet (the file stands alone).
const REPORT_CSS =
  'body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}' +
  'table{border-collapse:collapse;margin:1rem 0}' +
  'td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The sentence, or a self-contained Markdown or HTML report. */
export function renderReport(
  v: ComparisonView,
  names: ReportNames,
  disagreements: Disagreement[],
  format: 'sentence' | 'markdown' | 'html',
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
    ['latency p50 / p95 / p99 (ms)', lat(r.baseline), lat(r.candidate)],
    ['model file', mb(r.baseline.sizeBytes), mb(r.candidate.sizeBytes)],
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
      '## Per version',
      '',
      table(['', names.baseline, names.candidate], rows),
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
  const htmlCells = (tag: 'th' | 'td', cells: string[]) =>
    cells.map((c) => `<${tag}>${escapeHtml(c)}</${tag}>`).join('');
  const htmlTable = (head: string[], body: string[][]) =>
    `<table><thead><tr>${htmlCells('th', head)}</tr></thead>` +
    `<tbody>${body.map((b) => `<tr>${htmlCells('td', b)}</tr>`).join('')}</tbody></table>`;
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>${REPORT_CSS}</style></head><body>
<h1>${escapeHtml(title)}</h1><p><strong>${escapeHtml(sentence)}</strong></p>
<h2>Per version</h2>${htmlTable(['', names.baseline, names.candidate], rows)}
<h2>Paired</h2>${htmlTable(['', ''], paired)}
<h2>Per class (F1)</h2>${htmlTable(['class', 'support', names.baseline, names.candidate], perClass)}
<h2>Where they disagree (first ${disagreements.length})</h2>${htmlTable(
    ['item', 'true', names.baseline, names.candidate],
    disagreed,
  )}
</body></html>
`;
}

const lat = (m: VersionMetrics) =>
  `${m.latencyMsP50.toFixed(1)} / ${m.latencyMsP95.toFixed(1)} / ${m.latencyMsP99.toFixed(1)}`;
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;
