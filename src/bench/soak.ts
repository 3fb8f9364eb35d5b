/**
 * `npm run bench:soak`: a bounded load/soak run of one gateway process, loopback only. A benchmark,
 * not a test: it asserts nothing and prints what it measured (RELIABILITY.md records the runs).
 *
 * The gateway is `node dist/cli/main.js serve` on a temporary DATA_DIR (embedded PGlite, demo
 * seeded, ADMIN_API_KEY and METRICS_TOKEN set by the bench, limits that ordinary traffic stays
 * inside). For SOAK_MINUTES (default 10; fractions allowed for trials) it gets, at once:
 * - viewer clients (load-generator worker threads, one key each) sending a mix of registry reads
 *   (models, modelVersion with dvc/mlflowRun, datasets, comparisons) and predictions on all three
 *   demo versions (the ResNet-50 v1 with the smallest share), each answer checked against the label
 *   the version gave before the run;
 * - one comparison always running (operator key: startComparison v3 on fashion-eval, again with
 *   force: true whenever one finishes) and an SSE client following its progress events;
 * - an abusive viewer sending 3x its rate limit: its RATE_LIMITED answers are intended;
 * - a victim viewer (requests and an SSE stream) whose key is revoked at the midpoint: from then on
 *   its UNAUTHENTICATED answers are intended, and its stream must end.
 * Every SOAK_SAMPLE_S (5) seconds it samples the gateway's RSS, open file descriptors and threads;
 * at the end it scrapes /metrics to cross-check the request counts, then stops the gateway with
 * SIGTERM and checks that it exits cleanly.
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { atExit, tempDir } from './cleanup';
import { createKey, MODEL, predictOp, Q, referenceLabels, registryOps, samples, type Sample } from './demo-traffic';
import { firstErrors, GatewayProcess, LEVEL, type LogLine } from './gateway-process';
import { controlTally, operationName, request } from './graphql-client';
import type { MixClient, MixOp, MixSamples } from './load-client';
import { LoadWorker } from './load-worker';
import {
  commit,
  fdCount,
  loadavg,
  machine,
  otherLoad,
  processTicks,
  threadCount,
  ticksToSeconds,
  vmRssMiB,
} from './machine';
import { codes, countBy, flatten, latencyCells, type Req } from './requests';
import { followStream, type StreamEnd } from './sse-client';
import { fmt, minOf, table } from './stats';
import { maxOf } from '../common/arrays';

const MODELS = path.resolve(__dirname, '..', '..', 'models');
const MINUTES = positive('SOAK_MINUTES', 10);
const RUN_MS = MINUTES * 60_000;
/** RSS "at start" is taken after this warm-up (10% of the run). */
const WARMUP_MS = RUN_MS * 0.1;
const SAMPLE_MS = positive('SOAK_SAMPLE_S', 5) * 1000;
const POLL_MS = 2000;
const REQUEST_TIMEOUT_MS = 30_000;

/** The gateway's limits for the run: ordinary clients stay well inside them, the abusive one does not. */
const LIMITS: Record<string, string> = {
  RATE_LIMIT_VIEWER: '50',
  RATE_LIMIT_OPERATOR: '300',
  RATE_LIMIT_ADMIN: '1000',
  INFERENCE_QUEUE_PER_VERSION: '256',
  INFERENCE_QUEUE_TOTAL: '1024',
  COMPARISON_MAX_ACTIVE_PER_KEY: '2',
  SSE_MAX_PER_KEY: '4',
  SSE_MAX_TOTAL: '64',
  AUTH_FAILURES_PER_MINUTE: '30',
};
const VIEWERS = 3;
const VIEWER_RATE = 15;
const VICTIM_RATE = 4;
const ABUSIVE_RATE = 3 * Number(LIMITS.RATE_LIMIT_VIEWER);

const out = (s = '') => process.stdout.write(s + '\n');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const epochNow = () => performance.timeOrigin + performance.now();

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!(n > 0)) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return n;
}

interface Keys {
  admin: string;
  viewers: string[];
  victim: string;
  abusive: string;
  operator: string;
}

async function createKeys(gw: GatewayProcess, admin: string): Promise<Keys> {
  const viewers: string[] = [];
  for (let i = 1; i <= VIEWERS; i++) viewers.push(await createKey(gw.url, admin, `soak-viewer-${i}`, 'VIEWER'));
  return {
    admin,
    viewers,
    victim: await createKey(gw.url, admin, 'soak-victim', 'VIEWER'),
    abusive: await createKey(gw.url, admin, 'soak-abusive', 'VIEWER'),
    operator: await createKey(gw.url, admin, 'soak-operator', 'OPERATOR'),
  };
}

/** The ordinary viewers' mix: 40% registry reads, 60% predictions (v2 30, v3 20, the ResNet-50 v1 10). */
function viewerOps(images: Sample[], expected: Record<number, string[]>): MixOp[] {
  return [
    ...registryOps({ models: 10, modelVersion: 15, datasets: 5, comparisons: 10 }),
    predictOp(2, images, 30, expected[2]),
    predictOp(3, images, 20, expected[3]),
    predictOp(1, images, 10, expected[1]),
  ];
}

function clients(keys: Keys, ops: MixOp[]): { ordinary: MixClient[]; abusive: MixClient[] } {
  const ordinary: MixClient[] = keys.viewers.map((key, i) => ({
    label: `viewer-${i + 1}`,
    key,
    ops,
    ratePerSecond: VIEWER_RATE,
    maxInFlight: 8,
  }));
  ordinary.push({ label: 'victim', key: keys.victim, ops, ratePerSecond: VICTIM_RATE, maxInFlight: 4 });
  const abusive: MixClient[] = [
    {
      label: 'abusive',
      key: keys.abusive,
      ops: registryOps({ models: 1, modelVersion: 0, datasets: 0, comparisons: 0 }).slice(0, 1),
      ratePerSecond: ABUSIVE_RATE,
      maxInFlight: 16,
    },
  ];
  return { ordinary, abusive };
}

interface ComparisonRun {
  id: string;
  status: string;
  seconds: number;
  itemsDone: number;
  total: number;
  error: string | null;
}

const START_COMPARISON =
  'mutation($force: Boolean) { startComparison(input: ' +
  `{ candidate: { model: "${MODEL}", version: 3 }, dataset: "fashion-eval", force: $force }) { id status } }`;
const POLL_COMPARISON = `query($id: ID!) { comparison(id: $id) { id status itemsDone total error } }`;
const FINISHED = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

/** Keeps one comparison running: starts one, polls it, starts the next (force: true) when it finishes. */
class ComparisonDriver {
  current: string | null = null;
  readonly runs: ComparisonRun[] = [];
  readonly failures: { outcome: string; message: string }[] = [];
  private stopped = false;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly url: string,
    private readonly key: string,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private async run(): Promise<void> {
    let startedAt = 0;
    while (!this.stopped) {
      if (!this.current) {
        const a = await request(this.url, this.key, START_COMPARISON, { force: this.runs.length > 0 });
        if (a.outcome !== 'OK') {
          this.failures.push({ outcome: a.outcome, message: a.message ?? '' });
          await sleep(POLL_MS);
          continue;
        }
        this.current = String(a.data!.startComparison.id);
        startedAt = performance.now();
      }
      await sleep(POLL_MS);
      if (this.stopped) break;
      const a = await request(this.url, this.key, POLL_COMPARISON, { id: this.current });
      if (a.outcome !== 'OK') {
        this.failures.push({ outcome: a.outcome, message: a.message ?? '' });
        continue;
      }
      const c = a.data!.comparison as {
        id: string;
        status: string;
        itemsDone: number;
        total: number;
        error: string | null;
      };
      if (FINISHED.includes(c.status)) {
        this.runs.push({
          id: c.id,
          status: c.status,
          seconds: (performance.now() - startedAt) / 1000,
          itemsDone: c.itemsDone,
          total: c.total,
          error: c.error,
        });
        this.current = null;
      }
    }
  }
}

interface FollowedStream extends StreamEnd {
  id: string;
}

/**
 * Follows the driver's current comparison over SSE, stream after stream, until aborted or until
 * `until` says a stream's ending is the last one wanted.
 */
async function followComparisons(
  base: string,
  key: string,
  driver: ComparisonDriver,
  signal: AbortSignal,
  until?: (e: StreamEnd) => boolean,
): Promise<FollowedStream[]> {
  const streams: FollowedStream[] = [];
  let finished: string | null = null;
  while (!signal.aborted) {
    const id = driver.current;
    if (!id || id === finished) {
      await sleep(200);
      continue;
    }
    const e = await followStream(base, key, id, signal);
    streams.push({ ...e, id });
    if (until?.(e)) break;
    if (e.ending === 'done') finished = id;
    else if (e.ending !== 'aborted') await sleep(1000);
  }
  return streams;
}

interface ResourceSample {
  /** ms since the load started. */
  t: number;
  rssMiB: number;
  fds: number;
  threads: number;
  cpuTicks: number;
  /** The gateway thread's V8 heap in use, and memory outside it (ArrayBuffers: PGlite's WebAssembly memory, images), from /metrics. */
  heapMiB: number;
  externalMiB: number;
}

/** Samples the gateway process every SAMPLE_MS until stopped. */
function sampleResources(
  pid: number,
  t0: number,
  metrics: () => Promise<Map<string, number>>,
): { samples: ResourceSample[]; stop: () => void } {
  const samples: ResourceSample[] = [];
  const take = () => {
    const sample: ResourceSample = {
      t: performance.now() - t0,
      rssMiB: vmRssMiB(pid),
      fds: fdCount(pid),
      threads: threadCount(pid),
      cpuTicks: processTicks(pid),
      heapMiB: NaN,
      externalMiB: NaN,
    };
    samples.push(sample);
    void metrics()
      .then((m) => {
        sample.heapMiB = (m.get('modelgate_nodejs_heap_size_used_bytes') ?? NaN) / 2 ** 20;
        sample.externalMiB = (m.get('modelgate_nodejs_external_memory_bytes') ?? NaN) / 2 ** 20;
      })
      .catch(() => undefined);
  };
  take();
  const timer = setInterval(take, SAMPLE_MS);
  return {
    samples,
    stop: () => {
      clearInterval(timer);
      take();
    },
  };
}

/** Prometheus text format: value by "name{labels}". */
async function scrapeMetrics(base: string, token: string): Promise<Map<string, number>> {
  const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`/metrics answered HTTP ${res.status}`);
  const values = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?)\s+(\S+)$/.exec(line);
    if (m) values.set(m[1]!, Number(m[2]));
  }
  return values;
}

interface Revocation {
  sentAt: number;
  doneAt: number;
  outcome: string;
}

/** Whether an answer was what the run meant to provoke (see the header), or a problem. */
type Verdict = 'ok' | 'intended' | 'unintended';

function judge(r: Req, revocation: Revocation | null): Verdict {
  if (r.client === 'abusive')
    return r.outcome === 'OK' ? 'ok' : r.outcome === 'RATE_LIMITED' ? 'intended' : 'unintended';
  if (r.client === 'victim' && revocation && r.sentAt + r.ms >= revocation.sentAt) {
    if (r.outcome === 'UNAUTHENTICATED') return 'intended';
    // Served although sent after the revocation had committed: the revocation did not apply.
    if (r.outcome === 'OK') return r.sentAt > revocation.doneAt ? 'unintended' : 'ok';
  }
  return r.outcome === 'OK' ? 'ok' : 'unintended';
}

/** The row a request is counted under: its operation, or the abusive / revoked client's own row. */
function rowOf(r: Req, revocation: Revocation | null): string {
  if (r.client === 'abusive') return `abusive client (${r.op}, ${ABUSIVE_RATE}/s)`;
  if (r.client === 'victim' && revocation && r.sentAt > revocation.doneAt) return 'victim after revocation (mix)';
  return r.op;
}

function printRequests(reqs: Req[], revocation: Revocation | null, windowS: number, opOrder: string[]): number {
  const rows: string[][] = [
    ['operation', 'requests', 'OK', 'OK/s', 'intended errors', 'unintended errors', 'p50 ms', 'p99 ms', 'max ms'],
  ];
  const byRow = new Map<string, Req[]>();
  for (const r of reqs) {
    const k = rowOf(r, revocation);
    byRow.set(k, [...(byRow.get(k) ?? []), r]);
  }
  // The mix's operations in their order, then the abusive and revoked clients' rows.
  const rank = (k: string) => (opOrder.includes(k) ? opOrder.indexOf(k) : opOrder.length);
  const order = [...byRow.keys()].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  let unintended = 0;
  for (const k of order) {
    const rs = byRow.get(k)!;
    const ok = rs.filter((r) => r.outcome === 'OK');
    const verdicts = countBy(rs, (r) => judge(r, revocation));
    unintended += verdicts.get('unintended') ?? 0;
    rows.push([
      k,
      String(rs.length),
      String(ok.length),
      fmt(ok.length / windowS),
      String(verdicts.get('intended') ?? 0),
      String(verdicts.get('unintended') ?? 0),
      ...latencyCells(ok.map((r) => r.ms)),
    ]);
  }
  const all = reqs.filter(
    (r) => r.client !== 'abusive' && !(r.client === 'victim' && revocation && r.sentAt > revocation.doneAt),
  );
  const ok = all.filter((r) => r.outcome === 'OK');
  rows.push([
    'all ordinary traffic',
    String(all.length),
    String(ok.length),
    fmt(ok.length / windowS),
    '-',
    String(all.filter((r) => judge(r, revocation) === 'unintended').length),
    ...latencyCells(ok.map((r) => r.ms)),
  ]);
  out(table(rows));
  const refused = reqs.filter((r) => r.client === 'abusive' && r.outcome === 'RATE_LIMITED').map((r) => r.ms);
  if (refused.length) {
    const [p50, p99, max] = latencyCells(refused);
    out(`The abusive client's RATE_LIMITED answers took p50 ${p50} ms, p99 ${p99} ms, max ${max} ms.`);
  }
  return unintended;
}

function printErrors(reqs: Req[], revocation: Revocation | null, samplesByClient: MixSamples[]): void {
  const failed = reqs.filter((r) => r.outcome !== 'OK' || judge(r, revocation) === 'unintended');
  if (failed.length === 0) {
    out('No error answers.');
    return;
  }
  const first = new Map<string, string>();
  for (const s of samplesByClient)
    for (const [code, msg] of Object.entries(s.firstMessage))
      if (!first.has(code)) first.set(code, `${s.label}: ${msg}`);
  const rows: string[][] = [['code', 'intended', 'unintended', 'clients', 'first message']];
  const byCode = new Map<string, Req[]>();
  for (const r of failed) {
    const code = r.outcome === 'OK' ? 'OK after revocation' : r.outcome;
    byCode.set(code, [...(byCode.get(code) ?? []), r]);
  }
  for (const [code, rs] of byCode) {
    const v = countBy(rs, (r) => judge(r, revocation));
    rows.push([
      code,
      String(v.get('intended') ?? 0),
      String(v.get('unintended') ?? 0),
      codes(countBy(rs, (r) => r.client)),
      (first.get(code) ?? '').slice(0, 160),
    ]);
  }
  out(table(rows, ['l', 'r', 'r', 'l', 'l']));
}

/** RSS at the end of the warm-up, the middle and the end; growth after warm-up; least-squares slope. */
function printResources(samples: ResourceSample[], loadMs: number): void {
  const at = (t: number) =>
    samples.reduce((best, s) => (Math.abs(s.t - t) < Math.abs(best.t - t) ? s : best), samples[0]!);
  const warm = at(WARMUP_MS);
  const mid = at(loadMs / 2);
  const end = samples[samples.length - 1]!;
  const after = samples.filter((s) => s.t >= warm.t);
  const slopePerMin = rssSlopePerMinute(after);
  // Single samples swing with garbage collection and batch sizes; minute means show the level.
  const meanRss = (list: ResourceSample[]) => list.reduce((sum, x) => sum + x.rssMiB, 0) / list.length;
  const firstMinute = meanRss(after.filter((x) => x.t < warm.t + 60_000));
  const lastMinute = meanRss(samples.filter((x) => x.t > end.t - 60_000));
  const fds = samples.map((s) => s.fds).filter(Number.isFinite);
  const threads = samples.map((s) => s.threads).filter(Number.isFinite);
  out(
    table(
      [
        ['gateway process (sampled every ' + SAMPLE_MS / 1000 + ' s)', 'value'],
        [`RSS after warm-up (t = ${fmt(warm.t / 1000, 0)} s), MiB`, fmt(warm.rssMiB)],
        [`RSS at the middle (t = ${fmt(mid.t / 1000, 0)} s), MiB`, fmt(mid.rssMiB)],
        [`RSS at the end (t = ${fmt(end.t / 1000, 0)} s), MiB`, fmt(end.rssMiB)],
        [
          'RSS growth after warm-up (one sample against one sample)',
          `${fmt(((end.rssMiB - warm.rssMiB) / warm.rssMiB) * 100)} %`,
        ],
        [
          `RSS mean over the minute after warm-up / over the last minute, MiB`,
          `${fmt(firstMinute)} / ${fmt(lastMinute)} (${fmt(((lastMinute - firstMinute) / firstMinute) * 100)} %)`,
        ],
        ['RSS trend after warm-up (least squares), MiB/min', fmt(slopePerMin, 2)],
        [
          'RSS min / max over the run, MiB',
          `${fmt(minOf(samples.map((s) => s.rssMiB)))} / ${fmt(maxOf(samples.map((s) => s.rssMiB)))}`,
        ],
        ['V8 heap used after warm-up / at the end, MiB', `${fmt(warm.heapMiB)} / ${fmt(end.heapMiB)}`],
        [
          'external memory (ArrayBuffers, WebAssembly) after warm-up / at the end, MiB',
          `${fmt(warm.externalMiB)} / ${fmt(end.externalMiB)}`,
        ],
        ['open file descriptors min / max', `${minOf(fds)} / ${maxOf(fds)}`],
        ['threads min / max', `${minOf(threads)} / ${maxOf(threads)}`],
        [
          'gateway CPU, cores on average',
          fmt(ticksToSeconds(end.cpuTicks - samples[0]!.cpuTicks) / ((end.t - samples[0]!.t) / 1000), 2),
        ],
      ],
      ['l', 'r'],
    ),
  );
  out();
  printTimeline(samples);
}

/** Least-squares slope of RSS over time, in MiB per minute. */
function rssSlopePerMinute(samples: ResourceSample[]): number {
  const n = samples.length;
  const meanT = samples.reduce((s, x) => s + x.t, 0) / n;
  const meanR = samples.reduce((s, x) => s + x.rssMiB, 0) / n;
  const cov = samples.reduce((s, x) => s + (x.t - meanT) * (x.rssMiB - meanR), 0);
  const varT = samples.reduce((s, x) => s + (x.t - meanT) ** 2, 0);
  return varT > 0 ? (cov / varT) * 60_000 : NaN;
}

/** A timeline of about 10 rows, to see a trend rather than three points. */
function printTimeline(samples: ResourceSample[]): void {
  const end = samples[samples.length - 1]!;
  const step = Math.max(1, Math.round(samples.length / 10));
  const rows = [['t (s)', 'RSS MiB', 'heap MiB', 'external MiB', 'FDs', 'threads']];
  const row = (s: ResourceSample) => [
    fmt(s.t / 1000, 0),
    fmt(s.rssMiB),
    fmt(s.heapMiB),
    fmt(s.externalMiB),
    String(s.fds),
    String(s.threads),
  ];
  for (let i = 0; i < samples.length; i += step) rows.push(row(samples[i]!));
  if ((samples.length - 1) % step !== 0) rows.push(row(end));
  out(table(rows));
}

/** The gateway's own request counters against the bench's: OK answers per operation, and rate-limit refusals. */
function printMetricsCheck(metrics: Map<string, number>, reqs: Req[], opMetric: Map<string, string>): void {
  const bench = new Map<string, number>();
  for (const r of reqs) {
    if (r.outcome !== 'OK') continue;
    const m = opMetric.get(r.op) ?? r.op;
    bench.set(m, (bench.get(m) ?? 0) + 1);
  }
  const control = new Map<string, number>();
  for (const [k, n] of controlTally) {
    const [op, outcome] = k.split('|');
    if (outcome === 'OK') control.set(op!, (control.get(op!) ?? 0) + n);
  }
  const ops = new Set<string>([...bench.keys(), ...control.keys()]);
  for (const k of metrics.keys()) {
    const m = /^modelgate_graphql_requests_total\{operation="([^"]+)",outcome="OK"\}$/.exec(k);
    if (m) ops.add(m[1]!);
  }
  const rows = [['operation (outcome OK)', 'gateway /metrics', 'load clients', 'bench control requests', 'difference']];
  for (const op of [...ops].sort()) {
    const g = metrics.get(`modelgate_graphql_requests_total{operation="${op}",outcome="OK"}`) ?? 0;
    const b = bench.get(op) ?? 0;
    const c = control.get(op) ?? 0;
    rows.push([op, String(g), String(b), String(c), String(g - b - c)]);
  }
  const limited = metrics.get('modelgate_rejections_total{reason="rate_limit"}') ?? 0;
  const benchLimited = reqs.filter((r) => r.outcome === 'RATE_LIMITED').length;
  rows.push([
    'rate-limit refusals (rejections_total{reason="rate_limit"})',
    String(limited),
    String(benchLimited),
    '0',
    String(limited - benchLimited),
  ]);
  out(table(rows));
  const other = [...metrics].filter(
    ([k, v]) => k.startsWith('modelgate_rejections_total') && !k.includes('rate_limit') && v > 0,
  );
  if (other.length) out(`Other refusals the gateway counted: ${other.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const gauge = (name: string, scale: number, digits: number) => fmt((metrics.get(name) ?? NaN) * scale, digits);
  out(
    `Its runtime at the scrape: event-loop lag p99 ${gauge('modelgate_nodejs_eventloop_lag_p99_seconds', 1000, 1)} ms ` +
      `(max ${gauge('modelgate_nodejs_eventloop_lag_max_seconds', 1000, 1)} ms), ` +
      `heap used ${gauge('modelgate_nodejs_heap_size_used_bytes', 2 ** -20, 1)} MiB, ` +
      `inference queue ${gauge('modelgate_inference_queue_depth', 1, 0)}, SSE streams ${gauge('modelgate_sse_streams', 1, 0)}.`,
  );
}

function printStreams(label: string, streams: FollowedStream[]): void {
  const endings = countBy(streams, (s) => s.ending);
  const events = streams.reduce((s, x) => s + x.events, 0);
  const gap = streams.length ? maxOf(streams.map((s) => s.maxGapMs)) : NaN;
  out(
    `${label}: ${streams.length} streams, ${events} events, longest gap between two events ${fmt(gap, 0)} ms; endings: ${codes(endings)}.`,
  );
}

async function main(): Promise<void> {
  const benchStarted = performance.now();
  printHeader();
  const tmp = tempDir('modelgate-soak-');
  const adminKey = `mg_soak_admin_${randomBytes(18).toString('base64url')}`;
  const metricsToken = randomBytes(24).toString('base64url');
  const loaders = [new LoadWorker(), new LoadWorker()];
  const closeLoaders = atExit(() => void Promise.all(loaders.map((l) => l.close())));
  let gw: GatewayProcess | null = null;
  try {
    const setupStarted = performance.now();
    gw = await GatewayProcess.start({
      env: {
        DATA_DIR: path.join(tmp.path, 'data'),
        DEMO_SEED: 'true',
        DEMO_REPO: MODELS,
        ADMIN_API_KEY: adminKey,
        METRICS_TOKEN: metricsToken,
        ...LIMITS,
      },
    });
    const keys = await createKeys(gw, adminKey);
    const images = samples();
    const expected: Record<number, string[]> = {};
    for (const v of [1, 2, 3]) expected[v] = await referenceLabels(gw.url, keys.viewers[0]!, v, images);
    printSetup(gw, images, expected, setupStarted);
    const run = await soak(gw, keys, viewerOps(images, expected), loaders, metricsToken);
    const unintended = printRequestSections(run);
    printRevocationSection(run);
    printGatewaySections(run);
    out(
      `Unintended errors: ${unintended}${unintended ? ' (see the tables above)' : ''}. ` +
        `Total bench time ${fmt((performance.now() - benchStarted) / 1000, 0)} s.`,
    );
  } finally {
    if (gw?.running) await gw.stop(10_000);
    closeLoaders();
    tmp.remove();
  }
}

function printHeader(): void {
  out('# modelgate soak run (npm run bench:soak)');
  out();
  for (const l of machine()) out(l);
  out(
    `Command: SOAK_MINUTES=${MINUTES} npm run bench:soak (commit ${commit()}); ` +
      `load average at start (1/5/15 min): ${loadavg()}`,
  );
  if (MINUTES < 10)
    out(`SOAK_MINUTES=${MINUTES}: a trial run, not for RELIABILITY.md (the recorded runs last 10 minutes).`);
  out();
}

function printSetup(gw: GatewayProcess, images: Sample[], expected: Record<number, string[]>, started: number): void {
  out(
    `Setup: gateway pid ${gw.pid} (\`node dist/cli/main.js serve\`, temporary DATA_DIR, embedded PGlite, demo seeded), ` +
      `keys created, v1-v3 loaded, ${fmt((performance.now() - started) / 1000)} s.`,
  );
  out(
    `Gateway limits: ${Object.entries(LIMITS)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')} (others default).`,
  );
  const answers = [1, 2, 3].map((v) => `v${v} ${expected[v]!.join('/')}`).join('; ');
  out(`Reference answers (top-1 per sample ${images.map((i) => i.file).join(', ')}): ${answers}.`);
  out(
    `Load for ${MINUTES} min: ${VIEWERS} viewers at ${VIEWER_RATE} req/s and a victim viewer at ${VICTIM_RATE} req/s ` +
      `(open loop, at most 8 in flight each; ` +
      `mix: models 10, modelVersion 15, datasets 5, comparisons 10, predict v2 30, v3 20, v1 10), ` +
      `one abusive viewer at ${ABUSIVE_RATE} req/s (models), ` +
      `one comparison always running (operator; v3 vs baseline v1 on fashion-eval, 2,000 images), ` +
      `SSE clients (viewer-1, victim), victim revoked at ${fmt(MINUTES / 2, 2)} min.`,
  );
  out();
}

/** Everything the report needs from one soak run, the gateway stopped at its end. */
interface SoakRun {
  ops: MixOp[];
  opMetric: Map<string, string>;
  reqs: Req[];
  samplesByClient: MixSamples[];
  loadStarted: number;
  loadMs: number;
  otherCpu: string;
  revocation: Revocation;
  driver: ComparisonDriver;
  followed: FollowedStream[];
  victimFollowed: FollowedStream[];
  resources: ResourceSample[];
  metrics: Map<string, number>;
  warnings: LogLine[];
  stopped: Awaited<ReturnType<GatewayProcess['stop']>>;
  stoppedLogged: boolean;
}

/**
 * RUN_MS of load: the viewers' mix and the abusive client, one comparison always running and two
 * progress streams following it, the victim's key revoked at the midpoint. Then /metrics is
 * scraped and the gateway stopped with SIGTERM.
 */
async function soak(
  gw: GatewayProcess,
  keys: Keys,
  ops: MixOp[],
  loaders: LoadWorker[],
  metricsToken: string,
): Promise<SoakRun> {
  const opMetric = new Map(
    ops.map((o) => [o.name, operationName((JSON.parse(o.bodies[0]!) as { query: string }).query)]),
  );
  const { ordinary, abusive } = clients(keys, ops);
  const driver = new ComparisonDriver(gw.url, keys.operator);
  driver.start();
  const streamsAbort = new AbortController();
  const following = followComparisons(gw.base, keys.viewers[0]!, driver, streamsAbort.signal);
  const victimStreams = followComparisons(gw.base, keys.victim, driver, streamsAbort.signal, (e) =>
    e.ending.includes('UNAUTHENTICATED'),
  );

  const pid = gw.pid;
  const base = gw.base;
  const others = otherLoad(() => [pid]);
  const loadStarted = performance.now();
  const resources = sampleResources(pid, loadStarted, () => scrapeMetrics(base, metricsToken));
  const mix = (clients: MixClient[]) =>
    ({ kind: 'mix', url: gw.url, clients, durationMs: RUN_MS, timeoutMs: REQUEST_TIMEOUT_MS }) as const;
  const load = Promise.all([loaders[0]!.run(mix(ordinary)), loaders[1]!.run(mix(abusive))]);
  await sleep(RUN_MS / 2);
  const revokeSentAt = epochNow();
  const revoked = await request(gw.url, keys.admin, Q.revokeKey, { name: 'soak-victim' });
  const revocation: Revocation = { sentAt: revokeSentAt, doneAt: epochNow(), outcome: revoked.outcome };
  const samplesByClient = (await load).flat();
  const loadMs = performance.now() - loadStarted;
  const otherCpu = others();
  await driver.stop();
  streamsAbort.abort();
  const [followed, victimFollowed] = await Promise.all([following, victimStreams]);
  resources.stop();
  const metrics = await scrapeMetrics(gw.base, metricsToken);
  const warnings = gw.linesAtLeast(LEVEL.warn);
  const stopped = await gw.stop();
  const stoppedLogged = gw.logs.some((l) => l.msg === 'stopped');
  return {
    ops,
    opMetric,
    reqs: flatten(samplesByClient),
    samplesByClient,
    loadStarted,
    loadMs,
    otherCpu,
    revocation,
    driver,
    followed,
    victimFollowed,
    resources: resources.samples,
    metrics,
    warnings,
    stopped,
    stoppedLogged,
  };
}

/** The requests, their latencies and errors; returns how many answers were unintended. */
function printRequestSections(run: SoakRun): number {
  const { reqs, revocation, samplesByClient } = run;
  const windowS = run.loadMs / 1000;
  out(
    `## Requests (${fmt(windowS, 0)} s of load; other processes used ${run.otherCpu} on average; ` +
      `load average at end: ${loadavg()})`,
  );
  out();
  out(
    'Latency from the scheduled send time (open loop), OK answers only. Intended errors: RATE_LIMITED to the abusive client,',
  );
  out(
    'UNAUTHENTICATED to the victim once its key is revoked. Every other error, and any answer with a top-1 label other than',
  );
  out("the version's reference answer (WRONG_ANSWER), is unintended.");
  out();
  const unintended = printRequests(
    reqs,
    revocation,
    windowS,
    run.ops.map((o) => o.name),
  );
  const skipped = samplesByClient.map((s) => `${s.label} ${s.skipped}`).join(', ');
  out(`Sends skipped because a client had its maximum in flight (the gateway fell behind): ${skipped}.`);
  out();
  printErrors(reqs, revocation, samplesByClient);
  out();
  return unintended;
}

/** What the victim saw after its key was revoked, and how the comparisons and progress streams went. */
function printRevocationSection(run: SoakRun): void {
  const { reqs, revocation, victimFollowed } = run;
  out('## Revocation, comparisons, progress streams');
  out();
  const victimAfter = reqs.filter((r) => r.client === 'victim' && r.sentAt > revocation.doneAt);
  const servedAfter = victimAfter.filter((r) => r.outcome === 'OK').length;
  const victimEnd = victimFollowed.find((s) => s.ending.includes('UNAUTHENTICATED'));
  const revokedAt = (revocation.sentAt - performance.timeOrigin - run.loadStarted) / 1000;
  out(
    `revokeApiKey("soak-victim") at t = ${fmt(revokedAt, 1)} s: ${revocation.outcome}, ` +
      `${fmt(revocation.doneAt - revocation.sentAt)} ms.`,
  );
  out(
    `Victim requests sent after it returned: ${victimAfter.length}, ` +
      `answered ${codes(countBy(victimAfter, (r) => r.outcome))}; served anyway: ${servedAfter}.`,
  );
  out(
    victimEnd
      ? `Victim's progress stream ended "${victimEnd.ending}" ${fmt(victimEnd.endedAt - revocation.doneAt, 0)} ms ` +
          `after the revocation returned (the stream re-checks its key every second).`
      : `Victim's progress stream did NOT end with UNAUTHENTICATED ` +
          `(its streams: ${codes(countBy(victimFollowed, (s) => s.ending))}).`,
  );
  const { runs: finished, failures } = run.driver;
  const average = finished.length ? fmt(finished.reduce((s, r) => s + r.seconds, 0) / finished.length) : '-';
  out(
    `Comparisons: ${finished.length} finished (${codes(countBy(finished, (r) => r.status))}), ` +
      `${average} s each on average (2,000 images x 2 versions), one still running at the end; ` +
      `failed control requests: ${failures.length ? codes(countBy(failures, (f) => f.outcome)) : 'none'}.`,
  );
  for (const r of finished.filter((x) => x.status !== 'SUCCEEDED'))
    out(`  comparison ${r.id} ${r.status}: ${r.error ?? ''}`);
  printStreams('Progress stream (viewer-1)', run.followed);
  printStreams('Progress stream (victim)', victimFollowed);
  out();
}

/** The gateway process's resources, the /metrics cross-check, and how it shut down. */
function printGatewaySections(run: SoakRun): void {
  out('## Gateway process');
  out();
  printResources(run.resources, run.loadMs);
  out();
  out('## /metrics cross-check (scraped with METRICS_TOKEN after the load)');
  out();
  printMetricsCheck(run.metrics, run.reqs, run.opMetric);
  out();
  out('## Shutdown and log');
  out();
  const { stopped, stoppedLogged, warnings } = run;
  const clean = stopped.code === 0 && !stopped.forced && stoppedLogged;
  out(
    `SIGTERM: exited with code ${stopped.code}${stopped.signal ? ` (signal ${stopped.signal})` : ''} after ${fmt(stopped.ms, 0)} ms` +
      `${stopped.forced ? ' (KILLED after the timeout)' : ''}; ` +
      `"stopped" logged: ${stoppedLogged ? 'yes' : 'no'} -> ${clean ? 'clean' : 'NOT CLEAN'}.`,
  );
  const byMsg = countBy(warnings, (l) => `${l.level >= LEVEL.error ? 'error' : 'warn'}: ${l.msg}`);
  out(
    `Gateway log lines at warn or above during the run: ${warnings.length}${warnings.length ? ` (${codes(byMsg)})` : ''}.`,
  );
  for (const e of firstErrors(warnings)) out(`  first ${e}`);
  out();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench:soak failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
