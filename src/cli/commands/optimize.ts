import type { Command } from 'commander';
import { badInput } from '../../common/errors';
import { GatewayError, type GatewayClient } from '../client';
import { fields } from '../format';
import { intArg, numberArg, versionRef, type CommandContext } from './shared';

const FIELDS = `id status phase progress itemsDone total error compare nonInferiorityMargin
  source { version sizeBytes model { name } }
  derived { version status sizeBytes derivation { method calibrationDataset calibrationItems calibrationMethod tool quantizedNodes } }
  comparison { id status itemsDone total verdict nonInferior accuracyDelta accuracyDeltaCi95 summary error }`;
const START = `mutation($input: OptimizeVersionInput!) { optimizeVersion(input: $input) { ${FIELDS} } }`;
const POLL = `query($id: ID!) { optimization(id: $id) { ${FIELDS} } }`;
const POLL_MS = 1000;

interface Comparison {
  id: string;
  status: string;
  itemsDone: number;
  total: number;
  verdict: string | null;
  nonInferior: boolean | null;
  accuracyDelta: number | null;
  accuracyDeltaCi95: [number, number] | null;
  summary: string | null;
  error: string | null;
}

interface Optimization {
  id: string;
  status: string;
  phase: string;
  itemsDone: number;
  total: number;
  error: string | null;
  compare: boolean;
  nonInferiorityMargin: number;
  source: { version: number; sizeBytes: string; model: { name: string } };
  derived: {
    version: number;
    status: string;
    sizeBytes: string;
    derivation: Record<string, unknown> | null;
  } | null;
  comparison: Comparison | null;
}

interface OptimizeOptions {
  int8?: boolean;
  calibration: string;
  limit?: number;
  method?: string;
  compare: boolean;
  margin?: number;
  compareDataset?: string;
  compareLimit?: number;
  wait?: boolean;
}

const METHODS = ['minmax', 'percentile', 'entropy'];
const active = (status: string) => status === 'QUEUED' || status === 'RUNNING';

/** `model`, `model@3` (version) or `model@champion` (alias). */
function parseRef(text: string) {
  const [model, at] = text.split('@') as [string, string | undefined];
  if (!model || text.split('@').length > 2) throw badInput(`"${text}" must be model, model@<version> or model@<alias>`);
  return versionRef(model, at);
}

function optimizeInput(ref: string, o: OptimizeOptions) {
  if (!o.int8) throw badInput('choose how to optimize: --int8 (static int8, calibrated on --calibration)');
  const method = o.method?.toLowerCase();
  if (method !== undefined && !METHODS.includes(method))
    throw badInput(`--method must be one of ${METHODS.join(', ')}, got "${o.method}"`);
  return {
    ref: parseRef(ref),
    method: 'INT8_STATIC',
    calibration: {
      dataset: o.calibration,
      ...(o.limit !== undefined ? { limit: o.limit } : {}),
      ...(method ? { method: method.toUpperCase() } : {}),
    },
    compare: o.compare,
    ...(o.margin !== undefined ? { nonInferiorityMargin: o.margin } : {}),
    ...(o.compareDataset ? { comparisonDataset: o.compareDataset } : {}),
    ...(o.compareLimit !== undefined ? { comparisonLimit: o.compareLimit } : {}),
  };
}

/** Polls until the optimization, then its comparison, finish; progress goes to stderr when it changes. */
async function follow(client: GatewayClient, started: Optimization, ctx: CommandContext): Promise<Optimization> {
  let o = started;
  let last = '';
  const say = (line: string) => {
    if (line !== last && !ctx.json()) ctx.io.err?.(line);
    last = line;
  };
  for (;;) {
    if (active(o.status)) {
      const counts = o.phase === 'CALIBRATING' ? ` ${o.itemsDone}/${o.total} images` : '';
      say(`optimization ${o.id}: ${o.status.toLowerCase()}, ${o.phase.toLowerCase()}${counts}`);
    } else if (o.status === 'SUCCEEDED' && o.comparison && active(o.comparison.status)) {
      const c = o.comparison;
      say(
        `comparison ${c.id} (v${o.derived?.version} against v${o.source.version}): ${c.status.toLowerCase()} ${c.itemsDone}/${c.total}`,
      );
    } else break;
    await new Promise((r) => setTimeout(r, POLL_MS));
    o = (await client.request<{ optimization: Optimization }>(POLL, { id: o.id })).optimization;
  }
  if (o.status !== 'SUCCEEDED')
    throw new GatewayError(
      o.status === 'CANCELLED' ? 'CANCELLED' : 'OPTIMIZATION_FAILED',
      `optimization ${o.id} ${o.status.toLowerCase()}${o.error ? `: ${o.error}` : ''}`,
    );
  if (o.comparison && o.comparison.status !== 'SUCCEEDED')
    throw new GatewayError(
      'COMPARISON_FAILED',
      `v${o.derived?.version} was registered, but its comparison ${o.comparison.id} ${o.comparison.status.toLowerCase()}` +
        (o.comparison.error ? `: ${o.comparison.error}` : ''),
    );
  return o;
}

function describe(o: Optimization): string {
  const name = o.source.model.name;
  const d = o.derived!;
  const mb = (bytes: string) => `${(Number(bytes) / 2 ** 20).toFixed(2)} MB`;
  const c = o.comparison;
  const pts = (x: number) => (x * 100).toFixed(2);
  const lines: Record<string, unknown> = {
    optimization: o.id,
    derived: `${name} v${d.version} (${d.status}), from v${o.source.version}`,
    ...d.derivation,
    size: `${mb(d.sizeBytes)} vs ${mb(o.source.sizeBytes)}`,
  };
  if (c) {
    lines.comparison = c.id;
    lines.verdict = c.verdict;
    lines['non-inferior'] =
      c.nonInferior === null ? null : `${c.nonInferior ? 'yes' : 'no'} (margin ${pts(o.nonInferiorityMargin)} pts)`;
    if (c.accuracyDelta !== null && c.accuracyDeltaCi95)
      lines['accuracy difference'] =
        `${pts(c.accuracyDelta)} pts, 95% CI ${pts(c.accuracyDeltaCi95[0])}..${pts(c.accuracyDeltaCi95[1])}`;
  }
  return [...(c?.summary ? [c.summary] : []), fields(lines)].join('\n');
}

async function optimize(ref: string, o: OptimizeOptions, ctx: CommandContext): Promise<void> {
  const input = optimizeInput(ref, o);
  const client = await ctx.connect();
  try {
    const started = (await client.request<{ optimizeVersion: Optimization }>(START, { input })).optimizeVersion;
    if (!o.wait) {
      ctx.print(started, (s) => `optimization ${s.id} is ${s.status} (modelgate optimize ... --wait follows it)`);
      return;
    }
    // A local client has no server to run the jobs: this process does, while it waits.
    client.startWorkers?.();
    const done = await follow(client, started, ctx);
    ctx.print(done, describe);
  } finally {
    await client.close();
  }
}

/** `optimize`: makes a derived (static int8) version of a version, and compares it with its parent. */
export function register(program: Command, ctx: CommandContext): void {
  program
    .command('optimize <ref>')
    .description(
      'make a faster derived version (model@3, model@alias): static int8 calibrated on a dataset, registered as ' +
        'the next version with its parent, then compared against it',
    )
    .option('--int8', 'static int8 quantization (the only method)')
    .requiredOption('--calibration <dataset>', 'calibration dataset, name or name@version')
    .option('--limit <n>', 'calibrate on its first N images (default 200)', intArg('--limit'))
    .option('--method <m>', 'calibration method: percentile (default), minmax or entropy')
    .option('--no-compare', 'do not compare the result with its parent')
    .option('--margin <m>', 'non-inferiority margin of the comparison (default 0.01: one point)', numberArg('--margin'))
    .option('--compare-dataset <name>', 'compare on this dataset (default: the calibration dataset)')
    .option('--compare-limit <n>', 'compare on its first N images only', intArg('--compare-limit'))
    .option('--wait', 'follow the job (and its comparison) and print the derived version and the verdict')
    .action((ref: string, o: OptimizeOptions) => optimize(ref, o, ctx));
}
