/**
 * `npm run bench:experiments`: what online A/B experiments cost a predict, measured side by side in
 * one run. A benchmark, not a test: it prints figures, ratios and whether each goal was met, and
 * asserts nothing. The goals (the experiments issue): routing + logging add <= 0.3 ms per predict on
 * the gateway thread, and leave predict throughput within 10% of no experiment.
 *
 * 1. In-process: the experiment path of a predict (ExperimentRouter.route() + finish(), as the
 *    inference service calls them) on an app of its own (demo seeded into a temporary DATA_DIR,
 *    embedded PGlite), with a router built as app.ts builds it (the app's GatewayMetrics for
 *    telemetry, a PredictionLog writing to the real database). Calls are paced at PACED_RATE a
 *    second (in 10 ms ticks), the rate the gateway serves at its most, so the log flushes the
 *    batches it would; modes in alternating blocks: no experiment (route() -> null, then
 *    versions.resolve(), the usual resolution), SPLIT with a routing key, SPLIT without, SHADOW
 *    with the shadow run taking place (its inference replaced by a stub that answers at once:
 *    routing, the log rows and the bookkeeping are what is measured), SHADOW with every shadow run
 *    dropped (the runtime busy). Per call: the time of route() + finish() on the thread; per
 *    block: the thread's CPU time (process.threadCpuUsage: JavaScript, PGlite's INSERTs of the
 *    log, GC on the thread) per predict, of which the difference to no experiment is what the
 *    experiment adds.
 * 2. A gateway process (`modelgate serve`, demo seeded, embedded database), closed-loop clients
 *    (autocannon, CLIENTS connections) sending a predict whose ref names only the model (28x28
 *    PNG, fashion-classifier: champion v2, the small CNN). Modes in alternating blocks, the order
 *    rotated each round: no experiment; SPLIT 50/50 between v2 and v4 (v4 = v2's file registered
 *    again: the same inference cost, so the difference is routing and logging); SHADOW (v2 answers,
 *    v4 also runs on every request unless the shadow run is dropped). Each block starts (or stops)
 *    its experiment over GraphQL, runs 1 s unmeasured, then measures. Also the gateway thread's
 *    CPU (/proc/<pid>/task/<pid>/stat) per predict, and the shadow runs run and dropped (/metrics).
 *
 * BENCH_SCALE (default 1) scales every duration, for trial runs; BENCH_PARTS=1 or 2 runs one part.
 */
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { createApp, type App } from '../app';
import type { Actor } from '../auth/actor';
import { createLogger } from '../common/logger';
import { loadConfig } from '../config/config';
import { RegistryCache } from '../db/registry-cache';
import { ExperimentRouter } from '../experiments/experiment-router';
import { ExperimentRepository, type LoggedPrediction } from '../experiments/experiment.repository';
import { LOG_LIMITS, PredictionLog } from '../experiments/prediction-log';
import { seedDemo } from '../importers/demo';
import type { RoutedPrediction } from '../inference/routing';
import { tempDir } from './cleanup';
import { GatewayProcess } from './gateway-process';
import { gql as request } from './graphql-client';
import {
  commit,
  loadavg,
  machine,
  otherLoad,
  processTicks,
  threadTicks,
  ticksByThreadName,
  ticksToSeconds,
} from './machine';
import { fmt, mean, median, percentile, table } from './stats';
import { maxOf } from '../common/arrays';

const ROOT = path.resolve(__dirname, '..', '..');
const MODELS = path.join(ROOT, 'models');
const SCALE = Number(process.env.BENCH_SCALE ?? '1') > 0 ? Number(process.env.BENCH_SCALE ?? '1') : 1;
const PARTS = new Set((process.env.BENCH_PARTS ?? '1,2').split(',').map((s) => s.trim()));
const KEY = `mg_${'bench'.repeat(7)}x`;
const MODEL = 'fashion-classifier';
const ROUNDS = 5;
/** Part 1: predicts a second, the most the gateway serves (bench:hardening's small-CNN figure). */
const PACED_RATE = 3000;
const TICK_MS = 10;
/** Part 2: closed-loop clients (bench:hardening's small-CNN load). */
const CLIENTS = 32;
/** The goals. */
const GOAL_MS = 0.3;
const GOAL_THROUGHPUT = 0.9;

const out = (s = '') => process.stdout.write(s + '\n');
const met = (ok: boolean) => (ok ? 'MET' : 'NOT MET');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (s: number) => Math.max(1, Math.round(s * SCALE));
const us = (ms: number) => fmt(ms * 1000, 1);

// ---------------------------------------------------------------------------------------------
// Part 1: the experiment path on the thread, in-process
// ---------------------------------------------------------------------------------------------

type Mode1 = 'none' | 'split-key' | 'split' | 'shadow-run' | 'shadow-dropped';
const MODES1: { mode: Mode1; label: string }[] = [
  { mode: 'none', label: 'no experiment: route() -> null, then versions.resolve()' },
  { mode: 'split-key', label: 'SPLIT 50/50, routingKey (a different key each call)' },
  { mode: 'split', label: 'SPLIT 50/50, no routingKey (seeded draw)' },
  { mode: 'shadow-run', label: 'SHADOW weight 1, shadow run takes place (stub inference)' },
  { mode: 'shadow-dropped', label: 'SHADOW weight 1, shadow run dropped (runtime busy)' },
];

interface Part1Row {
  calls: number;
  /** Time of each call (route + finish, or route + resolve), ms. */
  callMs: number[];
  /** Thread CPU per call over the blocks (everything the thread did, log writes included), ms. */
  cpuMs: number;
  /** Rows the log wrote while this mode's blocks ran. */
  rows: number;
}

interface Part1 {
  rows: Map<Mode1, Part1Row>;
  writes: { rows: number; ms: number }[];
  logStats: { written: number; dropped: number };
  shadowDropped: number;
  split: { control: number; candidate: number };
  blockSeconds: number;
}

/** A model with fashion-classifier's labels and spec, and two versions of the small CNN's file (v2). */
async function twin(app: App, actor: Actor, name: string): Promise<void> {
  const demo = await app.services.models.require(MODEL);
  await app.services.models.register(actor, { name, labels: demo.labels, inputSpec: demo.inputSpec });
  const v2 = await app.services.versions.resolve(actor, { model: MODEL, version: 2 });
  const file = app.artifacts.absolute(v2.version.localPath);
  for (let i = 0; i < 2; i++) await app.services.versions.register(actor, { model: name, artifactPath: file });
}

/** Guardrails that are watched (the ring buffers and the p99 run) but never breached here. */
const GUARDRAILS = { maxErrorRate: 0.5, maxLatencyP99Ms: 60_000, minRequests: 100 };

async function part1(): Promise<Part1> {
  const tmp = tempDir('modelgate-bench-experiments-');
  const dataDir = path.join(tmp.path, 'data');
  const config = loadConfig({
    DATA_DIR: dataDir,
    DEMO_SEED: 'true',
    DEMO_REPO: MODELS,
    IMPORT_ROOTS: [tmp.path, MODELS].join(','),
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
  });
  const logger = createLogger('warn', { bench: true }, 2);
  const app = await createApp(config, { logger });
  try {
    const seeded = await seedDemo(app);
    if (!seeded || seeded.dvc.failed || seeded.mlflow.failed) throw new Error('could not seed the demo registry');
    const actor = app.localActor();
    await twin(app, actor, 'bench-split');
    await twin(app, actor, 'bench-shadow');
    const arms = (model: string, candidateWeight: number) => [
      { name: 'control', ref: { model, version: 1 }, weight: 1 },
      { name: 'candidate', ref: { model, version: 2 }, weight: candidateWeight },
    ];
    const common = { control: 'control', guardrails: GUARDRAILS, seed: 42 };
    await app.services.experiments.start(actor, {
      ...common,
      model: 'bench-split',
      name: 'bench split',
      mode: 'SPLIT',
      arms: arms('bench-split', 1),
    });
    await app.services.experiments.start(actor, {
      ...common,
      model: 'bench-shadow',
      name: 'bench shadow',
      mode: 'SHADOW',
      arms: arms('bench-shadow', 1),
    });

    // The router as app.ts builds it (same PredictionLog settings), on the same database.
    const experiments = new ExperimentRepository(app.db.prisma, app.db.copyRows);
    const writes: { rows: number; ms: number }[] = [];
    const log = new PredictionLog(
      async (rows: LoggedPrediction[]) => {
        const started = performance.now();
        await experiments.logPredictions(rows);
        writes.push({ rows: rows.length, ms: performance.now() - started });
      },
      { flushMs: config.experiments.logFlushMs, ...LOG_LIMITS, logger },
    );
    let busy = false;
    const labels = (await app.services.models.require(MODEL)).labels;
    const router = new ExperimentRouter({
      experiments,
      versions: app.services.versions,
      cache: new RegistryCache(app.db.changes),
      log,
      top1: () => Promise.resolve({ label: labels[3]!, probability: 0.9, ms: 0.2 }),
      inProgress: () => (busy ? 1_000_000 : 0),
      // Every shadow run of a 10 ms tick's calls may run (shadow-run mode); busy drops them all.
      shadowConcurrency: 1_000_000,
      shadowBusy: Math.max(4, config.inference.workers * 4),
      telemetry: app.metrics,
      logger,
    });
    const bytes = readFileSync(path.join(MODELS, 'samples', 'bag.png'));
    const top = [
      { index: 0, label: labels[0]!, probability: 0.9 },
      { index: 1, label: labels[1]!, probability: 0.1 },
    ];
    let keyCounter = 0;
    const split = { control: 0, candidate: 0 };

    /** One predict's experiment path (or the usual resolution), timed on the thread. */
    const call = async (mode: Mode1, into: number[]): Promise<void> => {
      const started = performance.now();
      if (mode === 'none') {
        const r = await router.route(actor, MODEL, null);
        if (r) throw new Error('fashion-classifier has a running experiment');
        await app.services.versions.resolve(actor, { model: MODEL });
      } else {
        const model = mode.startsWith('split') ? 'bench-split' : 'bench-shadow';
        const key = mode === 'split-key' ? `user-${keyCounter++}` : null;
        const r: RoutedPrediction | null = await router.route(actor, model, key);
        if (!r) throw new Error(`${model} has no running experiment`);
        r.finish({ top, latencyMs: 2, errorCode: null, bytes });
        if (mode.startsWith('split')) {
          if (r.resolved.version.version === 1) split.control++;
          else split.candidate++;
        }
      }
      into.push(performance.now() - started);
    };

    /** PACED_RATE calls a second for `ms`, then the log written out: the thread's CPU per call. */
    const block = async (mode: Mode1, ms: number, into: number[]): Promise<{ calls: number; cpuMs: number }> => {
      busy = mode === 'shadow-dropped';
      const perTick = Math.round((PACED_RATE * TICK_MS) / 1000);
      const ticks = Math.round(ms / TICK_MS);
      const cpu0 = process.threadCpuUsage();
      const t0 = performance.now();
      let calls = 0;
      for (let t = 0; t < ticks; t++) {
        for (let i = 0; i < perTick; i++) await call(mode, into);
        calls += perTick;
        const next = t0 + (t + 1) * TICK_MS;
        await sleep(Math.max(0, next - performance.now()));
      }
      // Shadow runs finish at the next setImmediate; then every row of the block is written.
      await new Promise((r) => setImmediate(r));
      await log.flush();
      const cpu = process.threadCpuUsage(cpu0);
      return { calls, cpuMs: (cpu.user + cpu.system) / 1000 / calls };
    };

    const blockMs = 2000 * SCALE;
    // Warm-up: every mode once (JIT, caches, the first INSERTs).
    for (const { mode } of MODES1) await block(mode, Math.min(500, blockMs), []);
    const rows = new Map<Mode1, Part1Row>(
      MODES1.map(({ mode }) => [mode, { calls: 0, callMs: [], cpuMs: 0, rows: 0 }]),
    );
    const cpuTotal = new Map<Mode1, number>(MODES1.map(({ mode }) => [mode, 0]));
    const droppedBefore = router.shadowDropped;
    split.control = split.candidate = 0;
    writes.length = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < MODES1.length; i++) {
        const { mode } = MODES1[(i + round) % MODES1.length]!;
        const row = rows.get(mode)!;
        const written = log.stats.written;
        const b = await block(mode, blockMs, row.callMs);
        row.calls += b.calls;
        cpuTotal.set(mode, cpuTotal.get(mode)! + b.cpuMs * b.calls);
        row.rows += log.stats.written - written;
      }
    }
    for (const [mode, row] of rows) row.cpuMs = cpuTotal.get(mode)! / row.calls;
    await log.close();
    return {
      rows,
      writes,
      logStats: { written: log.stats.written, dropped: log.stats.dropped },
      shadowDropped: router.shadowDropped - droppedBefore,
      split,
      blockSeconds: blockMs / 1000,
    };
  } finally {
    await app.close();
    tmp.remove();
  }
}

function printPart1(p: Part1): { addedMean: number; addedP99: number; worst: string } {
  const none = p.rows.get('none')!;
  const base = mean(none.callMs);
  const baseCpu = none.cpuMs;
  out(
    `## Part 1: the experiment path on the thread, in-process (${ROUNDS} rounds of ${fmt(p.blockSeconds, 1)} s blocks per mode, ` +
      `${PACED_RATE} predicts/s)`,
  );
  out();
  out(
    'call = route() + finish() as the inference service makes them (no experiment: route() -> null + versions.resolve()), timed;',
  );
  out(
    'thread CPU = process.threadCpuUsage() over the blocks / calls: the JavaScript, the log INSERTs into PGlite (on this thread), GC.',
  );
  out('added = minus the no-experiment row. Guardrails on (maxErrorRate, maxLatencyP99Ms: watched, never breached).');
  out();
  const rows: string[][] = [];
  let addedMean = 0;
  let addedP99 = 0;
  let worst = '';
  for (const { mode, label } of MODES1) {
    const r = p.rows.get(mode)!;
    const m = mean(r.callMs);
    const p99 = percentile(r.callMs, 99);
    const added = r.cpuMs - baseCpu;
    if (mode !== 'none' && added > addedMean) {
      addedMean = added;
      worst = label;
    }
    if (mode !== 'none') addedP99 = Math.max(addedP99, p99);
    rows.push([
      label,
      String(r.calls),
      us(m),
      us(p99),
      us(r.cpuMs),
      mode === 'none' ? '-' : us(added),
      mode === 'none' ? '-' : fmt(added / GOAL_MS, 3),
      mode === 'none' ? '-' : fmt(r.rows / r.calls, 2),
      mode === 'none' ? '' : us(m - base),
    ]);
  }
  out(
    table([
      [
        'mode',
        'calls',
        'call mean µs',
        'call p99 µs',
        'thread CPU µs/predict',
        'added µs/predict',
        'added / 0.3 ms',
        'log rows/predict',
        '(call mean added µs)',
      ],
      ...rows,
    ]),
  );
  const w = p.writes;
  const wRows = w.reduce((s, x) => s + x.rows, 0);
  out();
  out(
    `Log writes (one INSERT per batch) during the measured blocks: ${w.length} writes, ${fmt(wRows / Math.max(1, w.length), 0)} rows each on average, ` +
      `${fmt(mean(w.map((x) => x.ms)), 1)} ms each on average (${fmt((1000 * w.reduce((s, x) => s + x.ms, 0)) / Math.max(1, wRows), 1)} µs per row), ` +
      `longest ${fmt(w.length ? maxOf(w.map((x) => x.ms)) : NaN, 1)} ms (wall time from the call to the answer: the INSERT runs on this thread).`,
  );
  out(
    `Log totals: ${p.logStats.written} rows written, ${p.logStats.dropped} dropped; SPLIT served control ${p.split.control}, candidate ${p.split.candidate}; ` +
      `shadow runs dropped in the busy mode: ${p.shadowDropped}.`,
  );
  return { addedMean, addedP99, worst };
}

// ---------------------------------------------------------------------------------------------
// Part 2: throughput of a gateway process
// ---------------------------------------------------------------------------------------------

type Mode2 = 'none' | 'two' | 'split' | 'shadow';
const MODES2: { mode: Mode2; label: string }[] = [
  { mode: 'none', label: 'no experiment (champion v2)' },
  { mode: 'two', label: 'no experiment, refs v2 and v4 in turn' },
  { mode: 'split', label: 'SPLIT 50/50 v2 | v4 (same file)' },
  { mode: 'shadow', label: 'SHADOW v2 answers, v4 weight 1' },
];

interface Block2 {
  requests: number;
  seconds: number;
  p50: number;
  p99: number;
  failed: number;
  firstError: string | null;
  /** Gateway main thread and whole process CPU time, s. */
  threadS: number;
  processS: number;
  /** CPU time by thread name (ticksByThreadName), s. */
  byThread: Record<string, number>;
  answered: Record<string, number>;
  shadowRun: number;
  shadowDropped: number;
}

/** A predict whose ref names only the model (routed when it has a running experiment), or one version. */
const predictBody = (img: string, version?: number) =>
  JSON.stringify({
    query: `query($img: String!) { predict(ref: { model: "${MODEL}"${version == null ? '' : `, version: ${version}`} }, image: { base64: $img }, topK: 1) { id top { label probability } } }`,
    variables: { img },
  });

/** CLIENTS closed-loop clients for `duration` s, each sending `bodies` in turn. */
async function closedLoop(
  url: string,
  bodies: string[],
  duration: number,
): Promise<Omit<Block2, 'threadS' | 'processS' | 'byThread' | 'answered' | 'shadowRun' | 'shadowDropped'>> {
  let failed = 0;
  let firstError: string | null = null;
  const result = await autocannon({
    url: `${url}/graphql`,
    connections: CLIENTS,
    duration,
    requests: bodies.map((body) => ({
      method: 'POST' as const,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body,
      onResponse: (status: number, responseBody: string) => {
        if (status !== 200 || responseBody.includes('"errors"')) {
          failed++;
          firstError ??= `HTTP ${status}: ${responseBody.slice(0, 200)}`;
        }
      },
    })),
  });
  return {
    requests: result.requests.total,
    seconds: duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failed: failed + result.errors + result.timeouts,
    firstError,
  };
}

/** Sums of the experiment counters on /metrics: answers per arm, shadow runs run and dropped. */
async function experimentCounters(
  url: string,
): Promise<{ answered: Record<string, number>; shadowRun: number; shadowDropped: number }> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })).text();
  const answered: Record<string, number> = {};
  let shadowRun = 0;
  let shadowDropped = 0;
  for (const line of text.split('\n')) {
    const m = /^(modelgate_experiment_requests_total|modelgate_experiment_shadow_dropped_total)\{([^}]*)\} (\S+)$/.exec(
      line,
    );
    if (!m) continue;
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    const v = Number(m[3]);
    if (m[1] === 'modelgate_experiment_shadow_dropped_total') shadowDropped += v;
    else if (labels.kind === 'shadow') shadowRun += v;
    else answered[labels.arm!] = (answered[labels.arm!] ?? 0) + v;
  }
  return { answered, shadowRun, shadowDropped };
}

interface Part2 {
  blocks: Map<Mode2, Block2[]>;
  other: string;
  blockSeconds: number;
  png: number;
}

async function part2(): Promise<Part2> {
  const dataDir = tempDir('modelgate-bench-experiments-gw-').path;
  const gw = await GatewayProcess.start({
    env: {
      DATA_DIR: dataDir,
      ADMIN_API_KEY: KEY,
      IMPORT_ROOTS: [dataDir, MODELS].join(','),
      RATE_LIMIT_ADMIN: '0',
      INFERENCE_QUEUE_PER_VERSION: '100000',
      INFERENCE_QUEUE_TOTAL: '100000',
    },
  });
  const url = gw.base;
  const gql = (query: string, variables: Record<string, unknown> = {}) =>
    request(`${url}/graphql`, KEY, query, variables);
  try {
    // v4: v2's file (the small CNN) registered again, so that both SPLIT arms cost the same to run.
    const { modelVersion } = await gql(`{ modelVersion(ref: { model: "${MODEL}", version: 2 }) { sha256 } }`);
    const sha = String(modelVersion.sha256);
    const file = path.join(dataDir, 'artifacts', 'sha256', sha.slice(0, 2), sha);
    const { registerVersion } = await gql(
      `mutation($file: String!) { registerVersion(input: { model: "${MODEL}", artifactPath: $file }) { version } }`,
      { file },
    );
    const v4 = Number(registerVersion.version);
    const png = readFileSync(path.join(MODELS, 'samples', 'bag.png'));
    const img = png.toString('base64');
    const bodies = (mode: Mode2) => (mode === 'two' ? [predictBody(img, 2), predictBody(img, v4)] : [predictBody(img)]);
    // Both versions loaded and warm before anything is measured.
    await closedLoop(url, bodies('two'), seconds(3));

    let running: string | null = null;
    let started = 0;
    const switchTo = async (mode: Mode2) => {
      if (running) await gql(`mutation($id: ID!) { stopExperiment(id: $id) { status } }`, { id: running });
      running = null;
      if (mode === 'none' || mode === 'two') return;
      const { startExperiment } = await gql(
        `mutation($input: StartExperimentInput!) { startExperiment(input: $input) { id } }`,
        {
          input: {
            model: MODEL,
            name: `bench ${mode} ${++started}`,
            mode: mode === 'split' ? 'SPLIT' : 'SHADOW',
            control: 'control',
            arms: [
              { name: 'control', ref: { model: MODEL, version: 2 }, weight: 1 },
              { name: 'candidate', ref: { model: MODEL, version: v4 }, weight: 1 },
            ],
            guardrails: GUARDRAILS,
          },
        },
      );
      running = String(startExperiment.id);
    };

    const blockSeconds = seconds(5);
    // Warm-up: each mode once (the experiment path's JIT, the first log INSERTs).
    for (const { mode } of MODES2) {
      await switchTo(mode);
      await closedLoop(url, bodies(mode), seconds(2));
    }
    const blocks = new Map<Mode2, Block2[]>(MODES2.map(({ mode }) => [mode, []]));
    const busy = otherLoad(() => [gw.pid]);
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < MODES2.length; i++) {
        const { mode } = MODES2[(i + round) % MODES2.length]!;
        await switchTo(mode);
        // Unmeasured: the previous block's log rows are written, the new route table is built.
        await closedLoop(url, bodies(mode), 1);
        const c0 = await experimentCounters(url);
        const t0 = threadTicks(gw.pid, gw.pid);
        const p0 = processTicks(gw.pid);
        const n0 = ticksByThreadName(gw.pid);
        const r = await closedLoop(url, bodies(mode), blockSeconds);
        const t1 = threadTicks(gw.pid, gw.pid);
        const p1 = processTicks(gw.pid);
        const n1 = ticksByThreadName(gw.pid);
        const byThread: Record<string, number> = {};
        for (const [name, ticks] of n1) byThread[name] = ticksToSeconds(ticks - (n0.get(name) ?? 0));
        const c1 = await experimentCounters(url);
        const answered: Record<string, number> = {};
        for (const [arm, n] of Object.entries(c1.answered)) answered[arm] = n - (c0.answered[arm] ?? 0);
        blocks.get(mode)!.push({
          ...r,
          threadS: ticksToSeconds(t1 - t0),
          processS: ticksToSeconds(p1 - p0),
          byThread,
          answered,
          shadowRun: c1.shadowRun - c0.shadowRun,
          shadowDropped: c1.shadowDropped - c0.shadowDropped,
        });
      }
    }
    const other = busy();
    await switchTo('none');
    return { blocks, other, blockSeconds, png: png.length };
  } finally {
    await gw.stop();
  }
}

interface Part2Figures {
  split: number;
  splitVsTwo: number;
  /** Round by round: SPLIT's block against the same round's block of the same two versions. */
  splitVsTwoWorst: number;
  /** Of the same two versions without an experiment against one version. */
  two: number;
  shadow: number;
  splitWorst: number;
  /** Ratios implied by the gateway thread's CPU per predict (none's over the mode's). */
  splitByThread: number;
  shadowByThread: number;
}

function printPart2(p: Part2): Part2Figures {
  const sum = (bs: Block2[], f: (b: Block2) => number) => bs.reduce((s, b) => s + f(b), 0);
  const rps = (bs: Block2[]) => sum(bs, (b) => b.requests) / sum(bs, (b) => b.seconds);
  const none = p.blocks.get('none')!;
  const base = rps(none);
  const two = rps(p.blocks.get('two')!);
  const baseThread = (1000 * sum(none, (b) => b.threadS)) / sum(none, (b) => b.requests);
  out(
    `## Part 2: predict throughput of a gateway process (${CLIENTS} closed-loop clients, ${ROUNDS} rounds of ${p.blockSeconds} s blocks per mode; ` +
      `other processes used ${p.other})`,
  );
  out();
  out(
    `\`modelgate serve\` on a fresh DATA_DIR (embedded PGlite, demo seeded), autocannon in the bench process; predict(ref: { model: "${MODEL}" }) with a`,
  );
  out(
    `${p.png}-byte 28x28 PNG, topK 1, no routingKey. Modes alternate block by block (order rotated each round); each block starts its`,
  );
  out(
    'experiment (guardrails on), runs 1 s unmeasured, then measures. Gateway thread = CPU of its main thread (/proc/<pid>/task/<pid>/stat), per predict.',
  );
  out();
  const rows: string[][] = [];
  const ratios: Record<string, number[]> = {};
  for (const { mode, label } of MODES2) {
    const bs = p.blocks.get(mode)!;
    const r = rps(bs);
    const thread = (1000 * sum(bs, (b) => b.threadS)) / sum(bs, (b) => b.requests);
    const proc = (1000 * sum(bs, (b) => b.processS)) / sum(bs, (b) => b.requests);
    // Per round: this mode's block against the no-experiment block of the same round.
    ratios[mode] = bs.map((b, i) => b.requests / b.seconds / (none[i]!.requests / none[i]!.seconds));
    const answered: Record<string, number> = {};
    for (const b of bs) for (const [arm, n] of Object.entries(b.answered)) answered[arm] = (answered[arm] ?? 0) + n;
    const routed = Object.entries(answered)
      .map(([arm, n]) => `${arm} ${n}`)
      .join(', ');
    const shadowRun = sum(bs, (b) => b.shadowRun);
    const shadowDropped = sum(bs, (b) => b.shadowDropped);
    const rr = ratios[mode]!;
    rows.push([
      label,
      fmt(r, 0),
      mode === 'none' ? '1.000' : fmt(r / base, 3),
      mode === 'none' ? '' : `${fmt(Math.min(...rr), 3)} - ${fmt(Math.max(...rr), 3)}`,
      mode === 'split' || mode === 'shadow' ? fmt(r / two, 3) : '',
      `${fmt(median(bs.map((b) => b.p50)))} / ${fmt(maxOf(bs.map((b) => b.p99)))}`,
      String(sum(bs, (b) => b.failed)),
      `${fmt((100 * sum(bs, (b) => b.threadS)) / sum(bs, (b) => b.seconds), 0)}%`,
      fmt(thread, 3),
      mode === 'none' ? '-' : fmt(thread - baseThread, 3),
      mode === 'none' ? '' : fmt(baseThread / thread, 3),
      fmt(proc, 3),
      mode === 'none' || mode === 'two' ? '-' : routed || '(none)',
      mode === 'shadow'
        ? `${shadowRun} / ${shadowDropped} (${fmt((100 * shadowDropped) / Math.max(1, shadowRun + shadowDropped), 1)}%)`
        : '-',
    ]);
    const firstError = bs.find((b) => b.firstError)?.firstError;
    if (firstError) out(`first failure (${label}): ${firstError}`);
  }
  out(
    table([
      [
        'mode',
        'req/s',
        'vs none',
        'per round',
        'vs v2+v4',
        'p50 / p99 ms',
        'failed',
        'gw thread busy',
        'gw thread ms/predict',
        'added ms',
        'thread-bound ratio',
        'process ms/predict',
        'answered by arm',
        'shadow run / dropped',
      ],
      ...rows,
    ]),
  );
  out();
  out(
    'vs none: req/s over req/s with no experiment (per round: block by block); vs v2+v4: over the same two versions asked for by',
  );
  out(
    'explicit refs in turn without an experiment (the same two sessions and batch queues): what routing and logging alone cost.',
  );
  out(
    'p50: median of the blocks; p99: worst block. gw thread busy: its CPU time over the measured time. added ms: its CPU per',
  );
  out(
    "predict minus no experiment; thread-bound ratio: no experiment's CPU per predict over the mode's, the throughput ratio when",
  );
  out('that thread is what limits throughput (it is at saturation on a quiet machine: bench:hardening).');
  out();
  // Where the process's CPU goes, by thread name: the log and routing run on main; inference on the
  // worker's threads; V8's helpers (GC, compilation) and libuv's pool besides.
  const names = [...new Set([...p.blocks.values()].flatMap((bs) => bs.flatMap((b) => Object.keys(b.byThread))))];
  const perPredict = (bs: Block2[], name: string) =>
    (1000 * sum(bs, (b) => b.byThread[name] ?? 0)) / sum(bs, (b) => b.requests);
  const shown = names
    .filter((n) => MODES2.some(({ mode }) => perPredict(p.blocks.get(mode)!, n) >= 0.005))
    .sort((a, b) => perPredict(p.blocks.get('none')!, b) - perPredict(p.blocks.get('none')!, a));
  out(
    'CPU ms per predict by gateway thread name (/proc/<pid>/task/*/comm; threads using < 0.005 ms in every mode left out):',
  );
  out();
  out(
    table([
      ['mode', ...shown, 'all threads'],
      ...MODES2.map(({ mode, label }) => {
        const bs = p.blocks.get(mode)!;
        return [
          label,
          ...shown.map((n) => fmt(perPredict(bs, n), 3)),
          fmt((1000 * sum(bs, (b) => b.processS)) / sum(bs, (b) => b.requests), 3),
        ];
      }),
    ]),
  );
  const split = rps(p.blocks.get('split')!);
  const threadMs = (mode: Mode2) => {
    const bs = p.blocks.get(mode)!;
    return (1000 * sum(bs, (b) => b.threadS)) / sum(bs, (b) => b.requests);
  };
  const twoBlocks = p.blocks.get('two')!;
  return {
    split: split / base,
    splitVsTwo: split / two,
    splitVsTwoWorst: Math.min(
      ...p.blocks
        .get('split')!
        .map((b, i) => b.requests / b.seconds / (twoBlocks[i]!.requests / twoBlocks[i]!.seconds)),
    ),
    two: two / base,
    shadow: rps(p.blocks.get('shadow')!) / base,
    splitWorst: Math.min(...ratios.split!),
    splitByThread: baseThread / threadMs('split'),
    shadowByThread: baseThread / threadMs('shadow'),
  };
}

async function main(): Promise<void> {
  out('# modelgate experiments benchmark (npm run bench:experiments)');
  out(`at ${commit()}`);
  out();
  for (const l of machine()) out(l);
  out(`Load average at start (1/5/15 min): ${loadavg()}`);
  if (SCALE !== 1) out(`BENCH_SCALE=${SCALE}: durations scaled (a trial run, not for BENCHMARKS.md)`);
  out();
  const started = performance.now();
  let p1: ReturnType<typeof printPart1> | null = null;
  let p2: ReturnType<typeof printPart2> | null = null;
  if (PARTS.has('1')) {
    p1 = printPart1(await part1());
    out();
  }
  if (PARTS.has('2')) {
    p2 = printPart2(await part2());
    out();
  }
  out('## Goals');
  const goals: string[][] = [['goal', 'measured', 'ratio to goal', 'status']];
  if (p1)
    goals.push([
      'routing + logging <= 0.3 ms per predict on the gateway thread (in-process, worst mode, mean)',
      `${us(p1.addedMean)} µs (${p1.worst.split(',')[0]}); call p99 <= ${us(p1.addedP99)} µs`,
      fmt(p1.addedMean / GOAL_MS, 3),
      met(p1.addedMean <= GOAL_MS && p1.addedP99 <= GOAL_MS),
    ]);
  if (p2) {
    // What routing and logging cost: against the same two versions asked for by explicit refs
    // (serving a second version costs throughput by itself: its batches are smaller).
    goals.push([
      'routing + logging leave SPLIT throughput within 10% (vs the same two versions without an experiment)',
      `${fmt(p2.splitVsTwo, 3)} (worst round ${fmt(p2.splitVsTwoWorst, 3)})`,
      `${fmt(p2.splitVsTwo / GOAL_THROUGHPUT, 3)} of 0.9`,
      met(p2.splitVsTwo >= GOAL_THROUGHPUT),
    ]);
    goals.push([
      `(info) SPLIT vs one version, no experiment (two versions alone: ${fmt(p2.two, 3)})`,
      `${fmt(p2.split, 3)} (worst round ${fmt(p2.splitWorst, 3)})`,
      '-',
      'info',
    ]);
    goals.push([
      "(info) the same, implied by the gateway thread's CPU per predict",
      fmt(p2.splitByThread, 3),
      '-',
      'info',
    ]);
    goals.push([
      '(info) SHADOW throughput vs no experiment (measured / implied by the thread)',
      `${fmt(p2.shadow, 3)} / ${fmt(p2.shadowByThread, 3)}`,
      '-',
      'info',
    ]);
  }
  out(table(goals, ['l', 'r', 'r', 'l']));
  out();
  out(
    `Load average at end (1/5/15 min): ${loadavg()}. Total bench time ${fmt((performance.now() - started) / 1000, 0)} s.`,
  );
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    process.stderr.write(`bench:experiments failed: ${e.stack ?? e.message}\n`);
    process.exit(1);
  },
);
