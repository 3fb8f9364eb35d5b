import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { badInput } from '../../common/errors';
import { GatewayError, type GatewayClient } from '../client';
import { fields, speedText } from '../format';
import { fileError, intArg, numberArg, versionRef, type CommandContext } from './shared';

const METRICS =
  'accuracy macroF1 ece queuedLatencyMsP50 sizeBytes parameters ' +
  'speed { batch1Ms batch32ImagesPerSecond throughputBatchSize executionProvider threads width height channels }';
const FIELDS =
  'id status progress itemsDone total etaSeconds summary error verdict accuracyDelta accuracyDeltaCi95 mcnemarPValue ' +
  `discordantBaselineOnly discordantCandidateOnly agreement n baselineMetrics { ${METRICS} } candidateMetrics { ${METRICS} }`;
const START = `mutation($input: StartComparisonInput!) { startComparison(input: $input) { ${FIELDS} } }`;
const POLL = `query($id: ID!) { comparison(id: $id) { ${FIELDS} } }`;
const REPORT = `query($id: ID!, $f: ReportFormat!) { comparison(id: $id) { report(format: $f) } }`;
const POLL_MS = 1000;

type Comparison = {
  id: string;
  status: string;
  progress: number;
  itemsDone: number;
  total: number;
  etaSeconds: number | null;
  summary: string | null;
  error: string | null;
} & Record<string, unknown>;

interface CompareOptions {
  dataset: string;
  baseline?: string;
  alpha?: number;
  limit?: number;
  margin?: number;
  force?: boolean;
  report?: string;
  wait: boolean;
}

/** `model`, `model@3` (version) or `model@baseline` (alias). */
function parseRef(text: string) {
  const [model, at] = text.split('@') as [string, string | undefined];
  if (!model || text.split('@').length > 2)
    // Parsed inside the action, where commander would exit without printing its own error type.
    throw badInput(`"${text}" must be model, model@<version> or model@<alias>`);
  return versionRef(model, at);
}

/** Only the options given: the gateway's defaults apply to the rest. */
function comparisonInput(candidate: string, o: CompareOptions) {
  return {
    candidate: parseRef(candidate),
    ...(o.baseline ? { baseline: parseRef(o.baseline) } : {}),
    dataset: o.dataset,
    ...(o.alpha !== undefined ? { alpha: o.alpha } : {}),
    ...(o.limit !== undefined ? { limit: o.limit } : {}),
    ...(o.margin !== undefined ? { nonInferiorityMargin: o.margin } : {}),
    ...(o.force ? { force: true } : {}),
  };
}

const count = (n: number | null) => (n === null ? 'unknown' : n.toLocaleString('en-US'));
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;

/** The headline numbers of a finished comparison, for the CLI's summary. */
function pick(c: Record<string, unknown>): Record<string, unknown> {
  const m = (x: unknown) =>
    x as {
      accuracy: number;
      macroF1: number;
      ece: number;
      queuedLatencyMsP50: number;
      sizeBytes: number;
      parameters: number | null;
      speed: Parameters<typeof speedText>[0];
    };
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  const pts = (x: number) => (x * 100).toFixed(2);
  const b = m(c.baselineMetrics);
  const k = m(c.candidateMetrics);
  const ci = c.accuracyDeltaCi95 as [number, number];
  return {
    verdict: c.verdict,
    accuracy: `${pct(k.accuracy)} vs ${pct(b.accuracy)} (baseline)`,
    'accuracy difference': `${pts(c.accuracyDelta as number)} pts, 95% CI ${pts(ci[0])}..${pts(ci[1])}`,
    'McNemar p': (c.mcnemarPValue as number).toPrecision(3),
    'b / c': `${c.discordantBaselineOnly} / ${c.discordantCandidateOnly} of ${c.n}`,
    agreement: pct(c.agreement as number),
    'macro-F1': `${k.macroF1.toFixed(4)} vs ${b.macroF1.toFixed(4)}`,
    ECE: `${k.ece.toFixed(4)} vs ${b.ece.toFixed(4)}`,
    speed: `${speedText(k.speed)} vs ${speedText(b.speed)}`,
    parameters: `${count(k.parameters)} vs ${count(b.parameters)}`,
    'model file': `${mb(k.sizeBytes)} vs ${mb(b.sizeBytes)}`,
    'queued latency p50 (ms)': `${k.queuedLatencyMsP50.toFixed(1)} vs ${b.queuedLatencyMsP50.toFixed(1)} (in the comparison's batched run)`,
  };
}

/** Polls until the comparison finishes, telling its progress on stderr (not with --json) when it changes. */
async function waitFor(client: GatewayClient, started: Comparison, ctx: CommandContext): Promise<Comparison> {
  let c = started;
  let last = '';
  while (c.status === 'QUEUED' || c.status === 'RUNNING') {
    const eta = c.etaSeconds !== null ? `, about ${Math.ceil(c.etaSeconds)} s left` : '';
    const line = `comparison ${c.id}: ${c.status.toLowerCase()} ${c.itemsDone}/${c.total}${eta}`;
    if (line !== last && !ctx.json()) ctx.io.err?.(line);
    last = line;
    await new Promise((r) => setTimeout(r, POLL_MS));
    c = (await client.request<{ comparison: Comparison }>(POLL, { id: c.id })).comparison;
  }
  if (c.status !== 'SUCCEEDED')
    throw new GatewayError(
      c.status === 'CANCELLED' ? 'CANCELLED' : 'COMPARISON_FAILED',
      `comparison ${c.id} ${c.status.toLowerCase()}${c.error ? `: ${c.error}` : ''}`,
    );
  return c;
}

/** `.html` (or `.htm`) gets HTML, any other name Markdown. */
async function writeReport(client: GatewayClient, id: string, file: string): Promise<void> {
  const format = /\.html?$/i.test(file) ? 'HTML' : 'MARKDOWN';
  const { comparison } = await client.request<{ comparison: { report: string } }>(REPORT, { id, f: format });
  try {
    writeFileSync(file, comparison.report);
  } catch (e) {
    throw badInput(`cannot write ${file}: ${fileError(e)}`);
  }
}

async function compare(candidate: string, o: CompareOptions, ctx: CommandContext): Promise<void> {
  const client = await ctx.connect();
  try {
    const input = comparisonInput(candidate, o);
    const started = (await client.request<{ startComparison: Comparison }>(START, { input })).startComparison;
    if (!o.wait) {
      ctx.print(started, (c) => `comparison ${c.id} is ${c.status}`);
      return;
    }
    // A local client has no server to run the comparison: this process does, while it waits.
    client.startWorkers?.();
    const c = await waitFor(client, started, ctx);
    if (o.report) await writeReport(client, c.id, o.report);
    ctx.print(c, () =>
      [
        c.summary,
        fields({ comparison: c.id, ...pick(c) }),
        ...(o.report ? [`report written to ${o.report}`] : []),
      ].join('\n'),
    );
  } finally {
    await client.close();
  }
}

/** `compare`: starts a comparison and, unless --no-wait, follows it to its verdict. */
export function register(program: Command, ctx: CommandContext): void {
  program
    .command('compare <candidate>')
    .description(
      'compare a version (model, model@3, model@alias) against the baseline on a labeled dataset, ' +
        'with paired statistics and a verdict',
    )
    .requiredOption('--dataset <name>', 'dataset name, or name@version')
    .option('--baseline <ref>', 'baseline version (default: the model\'s "baseline" alias)')
    .option('--alpha <a>', 'significance level (default 0.05)', numberArg('--alpha'))
    .option('--limit <n>', 'evaluate the first N items only', intArg('--limit'))
    .option('--margin <m>', 'non-inferiority margin on the accuracy difference, e.g. 0.01', numberArg('--margin'))
    .option('--force', 'recompute even when an identical comparison exists')
    .option('--report <file>', 'write a self-contained report (.html for HTML, else Markdown)')
    .option('--no-wait', 'queue it and print its id without waiting')
    .action((candidate: string, o: CompareOptions) => compare(candidate, o, ctx));
}
