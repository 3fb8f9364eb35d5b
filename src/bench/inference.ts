/**
 * `npm run bench:inference`: the inference benchmarks of BENCHMARKS.md, measured side by side in one
 * run on this machine. A benchmark, not a test: it asserts nothing and always exits 0 when it could
 * measure; it prints each goal as met or not met.
 *
 * Everything it needs comes with a fresh clone after `npm ci`: the demo ONNX files and images are
 * imported from models/ (DVC remote) into a temporary DATA_DIR with the embedded PGlite database,
 * deleted at the end. The fp32 ResNet-50 is used when models/build/baseline.fp32.onnx exists
 * (`/usr/bin/python3 models/pipeline/dequantize.py` makes one); its rows are skipped otherwise.
 *
 * Parts: 1. gateway overhead on ResNet-50 at 224x224, and int8 weight-only vs fp32;
 * 2. event-loop responsiveness under inference load; 3. dynamic batching throughput on the small
 * CNN; 4. cold start, load time per version and resident memory (a child `modelgate serve`).
 *
 * BENCH_SCALE (default 1) scales every duration and iteration count, for quick trial runs;
 * BENCH_PARTS (default 1,2,3,4) picks the parts to run.
 */
import 'reflect-metadata';
import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import sharp from 'sharp';
import { createApp, type App } from '../app';
import type { Actor } from '../auth/actor';
import { maxOf } from '../common/arrays';
import { createLogger } from '../common/logger';
import { loadConfig, type Config } from '../config/config';
import { startServer, type RunningServer } from '../http/server';
import { seedDemo } from '../importers/demo';
import { InferenceService } from '../inference/inference.service';
import { ModelManager } from '../inference/model-manager';
import { OnnxBackend } from '../inference/onnx-backend';
import { argmax } from '../inference/postprocess';
import { preprocess } from '../inference/image/preprocess';
import { ImagePool } from '../inference/image/image-pool';
import { Admission } from '../inference/admission';
import { parseInputSpec, type InputSpec } from '../registry/input-spec';
import { tempDir } from './cleanup';
import type { ChildMessage, ChildRequest } from './gateway-child';
import { GatewayProcess } from './gateway-process';
import { gql } from './graphql-client';
import type { LoadResult } from './load-client';
import { LoadWorker } from './load-worker';
import { loadavg, machine, otherLoad, vmRssMiB } from './machine';
import { sessionOptions } from './main-thread-backend';
import { fmt, meanBatchSize, median, percentile, table } from './stats';

const ROOT = path.resolve(__dirname, '..', '..');
const MODELS = path.join(ROOT, 'models');
const FP32_FILE = path.join(MODELS, 'build', 'baseline.fp32.onnx');
const SCALE = Number(process.env.BENCH_SCALE ?? '1') > 0 ? Number(process.env.BENCH_SCALE ?? '1') : 1;
const scaled = (n: number, min = 1) => Math.max(min, Math.round(n * SCALE));
/** BENCH_PARTS=2,3 runs only those parts (setup is shared); all four by default. */
const PARTS = new Set((process.env.BENCH_PARTS ?? '1,2,3,4').split(',').map((x) => Number(x.trim())));

const PREDICT = `query($ref: VersionRefInput!, $image: ImageInput!) { predict(ref: $ref, image: $image, topK: 1) { top { index } timingsMs } }`;
const PROBE = `{ model(name: "fashion-classifier") { name } }`;
const LOADED = `{ loadedVersions { modelVersion { version } state loadMs memoryMB } }`;

const met = (ok: boolean) => (ok ? 'MET' : 'NOT MET');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const out = (s = '') => process.stdout.write(s + '\n');

function md5(file: string): string {
  return createHash('md5').update(readFileSync(file)).digest('hex');
}

function lockedMd5(outPath: string): string | null {
  const lock = readFileSync(path.join(MODELS, 'dvc.lock'), 'utf8');
  const m = new RegExp(`- path: ${outPath.replace(/[.]/g, '\\.')}\\n\\s+hash: md5\\n\\s+md5: ([0-9a-f]{32})\\n`).exec(
    lock,
  );
  return m?.[1] ?? null;
}

interface Gateway {
  app: App;
  server: RunningServer;
  url: string;
}

async function gateway(config: Config, pglite: PGlite): Promise<Gateway> {
  const logger = createLogger('warn', { bench: true }, 2);
  // With DATABASE_URL (BENCH_DATABASE=postgres) every gateway talks to the PostgreSQL server instead.
  const app = await createApp(config, { logger, ...(config.databaseUrl ? {} : { database: { pglite } }) });
  const server = await startServer(app, { port: 0, host: '127.0.0.1' });
  return { app, server, url: `http://127.0.0.1:${server.port}/graphql` };
}

type Closer = () => Promise<unknown>;

/** What the parts share: the seeded registry, the two in-process gateways and the images they send. */
interface Setup {
  tmp: string;
  dataDir: string;
  env: Record<string, string>;
  config: Config;
  databaseUrl: string | undefined;
  pglite: PGlite;
  /** The gateway as configured (dynamic batching on). */
  gw: Gateway;
  /** The same app with MAX_BATCH_SIZE 1, for part 3's contrast. */
  unbatched: Gateway;
  actor: Actor;
  key: string;
  demoInputSpec: unknown;
  spec224: InputSpec;
  int8File: string;
  haveFp32: boolean;
  fp32Note: string;
  smoke: { bytes: Buffer; label: number }[];
  png: Buffer;
  jpeg: Buffer;
  jpegMeta: sharp.Metadata;
}

async function main(): Promise<void> {
  const benchStarted = performance.now();
  printHeader();
  const tmpHandle = tempDir('modelgate-bench-');
  const tmp = tmpHandle.path;
  const dataDir = path.join(tmp, 'data');
  mkdirSync(dataDir, { recursive: true });
  const closers: Closer[] = [];
  const loadWorkers: LoadWorker[] = [];
  try {
    const s = await setUp(tmp, dataDir, closers);
    // Opened (and compared) whichever parts run; released with the in-process gateways after part 3.
    const sessions = await openSessions(s, closers);
    const agreement = await fp32Agreement(s, sessions);
    const v = part1Variants(s, sessions);
    if (PARTS.has(1)) await part1(s, v, agreement);

    // Load generators: worker threads of this process, so that their timers never wait for a gateway.
    // Closed at the very end (part 2 runs after the in-process apps are closed).
    const probeWorker = new LoadWorker();
    const loadWorker = new LoadWorker();
    loadWorkers.push(probeWorker, loadWorker);
    if (PARTS.has(3)) await part3(s, loadWorker);

    // Closed before part 2: a forked gateway opens the same data directory.
    await closeInProcess(s, closers);

    if (PARTS.has(2))
      await part2({
        env: s.env,
        key: s.key,
        jpegBase64: s.jpeg.toString('base64'),
        int8File: s.int8File,
        feeds: (await preprocess(s.jpeg, s.spec224, s.config.inference.image)).data,
        config: s.config,
        probeWorker,
        loadWorker,
      });

    await part4(s);
    out(
      `Load average at end (1/5/15 min): ${loadavg()}. ` +
        `Total bench time ${((performance.now() - benchStarted) / 1000).toFixed(0)} s.`,
    );
  } finally {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    for (const w of loadWorkers) await w.close();
    if (BENCH_DATABASE === 'postgres') await dropBenchDatabase().catch(() => undefined);
    tmpHandle.remove();
  }
}

async function closeInProcess(s: Setup, closers: Closer[]): Promise<void> {
  for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
  await s.unbatched.app.close();
  await s.gw.app.close();
  if (!s.pglite.closed) await s.pglite.close();
}

function printHeader(): void {
  out('# modelgate inference benchmark (npm run bench:inference)');
  out();
  for (const l of machine()) out(l);
  out(`Load average at start (1/5/15 min): ${loadavg()}`);
  if (SCALE !== 1)
    out(`BENCH_SCALE=${SCALE}: durations and iteration counts scaled (a trial run, not for BENCHMARKS.md)`);
  if (PARTS.size !== 4) out(`BENCH_PARTS=${[...PARTS].join(',')}: only these parts`);
  out();
}

function benchEnv(tmp: string, dataDir: string, databaseUrl: string | undefined): Record<string, string> {
  return {
    DATA_DIR: dataDir,
    DEMO_SEED: 'true',
    DEMO_REPO: MODELS,
    IMPORT_ROOTS: [tmp, MODELS].join(','),
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
    // The bench's admin key measures throughput: 32 closed-loop clients pass RATE_LIMIT_ADMIN's
    // default of 1000 requests/s (part 3 got 429s), so the per-key rate limit is off (0).
    RATE_LIMIT_ADMIN: '0',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  };
}

/** The seeded demo registry behind two in-process gateways (batching on and off), and the images the parts send. */
async function setUp(tmp: string, dataDir: string, closers: Closer[]): Promise<Setup> {
  const setupStarted = performance.now();
  const pglite = await PGlite.create(path.join(dataDir, 'pglite'));
  // BENCH_DATABASE=postgres: the same runs against a fresh database on the PostgreSQL server at
  // BENCH_PG_ADMIN_URL (default postgresql://postgres@127.0.0.1:5432/postgres), dropped at the very
  // end (part 2's gateway processes use it after the in-process apps close).
  const databaseUrl = BENCH_DATABASE === 'postgres' ? await createBenchDatabase() : undefined;
  const env = benchEnv(tmp, dataDir, databaseUrl);
  const config = loadConfig(env);
  const gw = await gateway(config, pglite);
  closers.push(() => gw.server.close());
  const { app } = gw;
  // As `modelgate serve` does: the comparison runner polls for work in the background (idle here).
  app.startWorkers();
  const seeded = await seedDemo(app);
  if (!seeded || seeded.dvc.failed || seeded.mlflow.failed) throw new Error('could not seed the demo registry');
  const actor = app.localActor();
  const { key } = await app.services.apiKeys.create(actor, 'bench', 'admin');
  const resnet = await registerResnet224(app, actor);
  const images = await benchImages(app, dataDir);
  const cfg2 = loadConfig(env, { inference: { ...config.inference, maxBatchSize: 1 } });
  const unbatched = await gateway(cfg2, pglite);
  closers.push(() => unbatched.server.close());
  const s: Setup = { tmp, dataDir, env, config, databaseUrl, pglite, gw, unbatched, actor, key, ...resnet, ...images };
  printSetup(s, setupStarted);
  return s;
}

/** The demo baseline (fashion-classifier v1, int8) as resnet50-224 v1 at 224x224, and the fp32 file as v2 when there is one. */
async function registerResnet224(app: App, actor: Actor) {
  const demo = await app.services.models.require('fashion-classifier');
  const spec224: InputSpec = parseInputSpec({ ...(demo.inputSpec as object), width: 224, height: 224 });
  await app.services.models.register(actor, {
    name: 'resnet50-224',
    labels: demo.labels,
    inputSpec: { ...(demo.inputSpec as object), width: 224, height: 224 },
    description: 'The demo baseline (fashion-classifier v1) served at 224x224: benchmark only.',
  });
  const baseline = await app.services.versions.resolve(actor, { model: 'fashion-classifier', version: 1 });
  const int8File = app.artifacts.absolute(baseline.version.localPath);
  await app.services.versions.register(actor, {
    model: 'resnet50-224',
    artifactPath: int8File,
    tags: { precision: 'int8 weight-only' },
  });
  const haveFp32 = existsSync(FP32_FILE);
  let fp32Note = '';
  if (haveFp32) {
    await app.services.versions.register(actor, {
      model: 'resnet50-224',
      artifactPath: FP32_FILE,
      tags: { precision: 'fp32' },
    });
    const sum = md5(FP32_FILE);
    fp32Note =
      sum === lockedMd5('build/baseline.fp32.onnx')
        ? 'models/build/baseline.fp32.onnx: the original fp32 export (md5 matches dvc.lock)'
        : `models/build/baseline.fp32.onnx: md5 ${sum} is not dvc.lock's export: ` +
          "presumably dequantize.py's reconstruction (same graph and FLOPs as the export, dequantized int8 weights)";
  }
  return { demoInputSpec: demo.inputSpec, spec224, int8File, haveFp32, fp32Note };
}

/** The smoke set's PNGs, and the first one as a 224x224 RGB JPEG. */
async function benchImages(app: App, dataDir: string) {
  const smokeSet = await app.db.prisma.dataset.findFirstOrThrow({
    where: { name: 'fashion-smoke' },
    include: { items: { orderBy: { ordinal: 'asc' } } },
  });
  const smoke = smokeSet.items.map((i) => ({
    bytes: readFileSync(path.join(dataDir, 'artifacts', 'sha256', i.sha256.slice(0, 2), i.sha256)),
    label: i.labelIndex,
  }));
  const png = smoke[0]!.bytes;
  // A Fashion-MNIST photo upscaled, as a client would send a camera image.
  const jpeg = await sharp(png)
    .resize(224, 224, { kernel: 'cubic' })
    .toColourspace('srgb')
    .jpeg({ quality: 90 })
    .toBuffer();
  const jpegMeta = await sharp(jpeg).metadata();
  return { smoke, png, jpeg, jpegMeta };
}

function printSetup(s: Setup, setupStarted: number): void {
  const inf = s.config.inference;
  const database = s.databaseUrl ? 'PostgreSQL server (a fresh database)' : 'embedded PGlite';
  const setupSeconds = ((performance.now() - setupStarted) / 1000).toFixed(1);
  out(`Setup: temporary DATA_DIR ${s.dataDir}, ${database}, demo seeded, ${setupSeconds} s.`);
  out(
    `Gateway config: ${inf.workers} inference worker thread(s), intraOpNumThreads ${inf.intraOpThreads} ` +
      `(spinning ${inf.spinning ? 'on' : 'off'}, nice ${inf.nice}), ` +
      `MAX_BATCH_SIZE ${inf.maxBatchSize}, MAX_QUEUE_DELAY_MS ${inf.maxQueueDelayMs}, ` +
      `UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}.`,
  );
  out(
    `Clients: Node fetch; part 1 from the gateway's own thread (sequential), ` +
      `parts 2-3 from load-generator worker threads of the same process.`,
  );
  out();
}

// ---------------------------------------------------------------- part 1

interface Sessions {
  int8: InferenceSession;
  int8Qdq: InferenceSession;
  fp32: InferenceSession | null;
  inName: string;
  outName: string;
}

/** onnxruntime sessions on this thread, with the inference worker's options: the in-process rows of part 1. */
async function openSessions(s: Setup, closers: Closer[]): Promise<Sessions> {
  const { config, int8File } = s;
  const options = (disableQuantQdq: boolean) =>
    sessionOptions({
      intraOpNumThreads: config.inference.intraOpThreads,
      disableQuantQdq,
      allowSpinning: config.inference.spinning,
    });
  const int8 = await InferenceSession.create(int8File, options(true));
  const int8Qdq = await InferenceSession.create(int8File, options(false));
  const fp32 = s.haveFp32 ? await InferenceSession.create(FP32_FILE, options(false)) : null;
  closers.push(async () => {
    await int8.release();
    await int8Qdq.release();
    await fp32?.release();
  });
  return { int8, int8Qdq, fp32, inName: int8.inputNames[0]!, outName: int8.outputNames[0]! };
}

/** fp32 vs int8: same top-1 on smoke images (upscaled to 224 by the gateway's preprocessing). */
async function fp32Agreement(s: Setup, { int8, fp32, inName, outName }: Sessions): Promise<string> {
  if (!fp32) return '';
  let same = 0;
  let maxDiff = 0;
  const n = 10;
  for (const item of s.smoke.slice(0, n)) {
    const x = await preprocess(item.bytes, s.spec224, s.config.inference.image);
    const feeds = () => ({ [inName]: new Tensor('float32', x.data, [1, ...x.dims]) });
    const a = (await int8.run(feeds()))[outName]!.data as Float32Array;
    const b = (await fp32.run(feeds()))[outName]!.data as Float32Array;
    if (argmax(a) === argmax(b)) same++;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
  }
  return (
    `int8 (disable_quant_qdq) vs fp32 on ${n} smoke images at 224x224: ` +
    `same top-1 on ${same}/${n}, max |logit diff| ${maxDiff.toExponential(2)}`
  );
}

interface Variant {
  name: string;
  fn: () => Promise<{ ms: number; parts: Record<string, number> }>;
  samples: number[];
  parts: Record<string, number[]>;
}

/** Part 1's rows, each a way of running one prediction: in-process on a session, or through the gateway. */
function part1Variants(s: Setup, sessions: Sessions) {
  const { inName, outName } = sessions;
  const inProcess = (session: InferenceSession) => async () => {
    const t0 = performance.now();
    const x = await preprocess(s.jpeg, s.spec224, s.config.inference.image);
    const t1 = performance.now();
    const r = await session.run({ [inName]: new Tensor('float32', x.data, [1, ...x.dims]) });
    argmax(r[outName]!.data as Float32Array);
    const t2 = performance.now();
    return { ms: t2 - t0, parts: { preprocess: t1 - t0, run: t2 - t1 } };
  };
  const jpegBase64 = s.jpeg.toString('base64');
  const viaGateway = (version: number) => async () => {
    const t0 = performance.now();
    const data = await gql(s.gw.url, s.key, PREDICT, {
      ref: { model: 'resnet50-224', version },
      image: { base64: jpegBase64 },
    });
    const ms = performance.now() - t0;
    const t = data.predict.timingsMs as Record<string, number>;
    return {
      ms,
      parts: { decodePre: t.decode! + t.preprocess!, queue: t.queue!, inference: t.inference!, server: t.total! },
    };
  };
  const variant = (name: string, fn: Variant['fn']): Variant => ({ name, fn, samples: [], parts: {} });
  const { int8, int8Qdq, fp32 } = sessions;
  return {
    inInt8: variant('in-process  int8 weight-only, disable_quant_qdq', inProcess(int8)),
    gwInt8: variant('gateway     int8 weight-only (resnet50-224 v1)', viaGateway(1)),
    inFp32: fp32 ? variant('in-process  fp32 export', inProcess(fp32)) : null,
    gwFp32: fp32 ? variant('gateway     fp32 export (resnet50-224 v2)', viaGateway(2)) : null,
    inQdq: variant('in-process  int8 weight-only, QDQ kept (ORT default)', inProcess(int8Qdq)),
  };
}

type Part1Variants = ReturnType<typeof part1Variants>;

/** Part 1: ResNet-50 at 224x224, batch 1: the gateway's overhead over in-process inference, and int8 vs fp32. */
async function part1(s: Setup, v: Part1Variants, agreement: string): Promise<void> {
  const variants = Object.values(v).filter((x): x is Variant => x !== null);
  const warmup = scaled(5);
  const rounds = 12;
  const perRound = scaled(5);
  const p1Started = performance.now();
  const p1Other = otherLoad();
  for (const x of variants) for (let i = 0; i < warmup; i++) await x.fn();
  // Interleaved rounds: drift (thermal, other processes) spreads over every row alike.
  for (let r = 0; r < rounds; r++) {
    for (const x of variants) {
      for (let i = 0; i < perRound; i++) {
        const { ms, parts } = await x.fn();
        x.samples.push(ms);
        for (const [k, val] of Object.entries(parts)) (x.parts[k] ??= []).push(val);
      }
    }
  }
  const p1Seconds = (performance.now() - p1Started) / 1000;
  out(
    `## Part 1: ResNet-50 at 224x224, batch 1, sequential requests ` +
      `(${p1Seconds.toFixed(0)} s; other processes used ${p1Other()} on average)`,
  );
  out();
  const { jpeg, jpegMeta } = s;
  out(
    `Image: ${jpeg.length}-byte ${jpegMeta.width}x${jpegMeta.height} ${jpegMeta.channels}-channel JPEG; ` +
      `model input 1x1x224x224 float32.`,
  );
  out(
    `${warmup} warm-up + ${rounds * perRound} timed requests per row, in ${rounds} interleaved rounds of ${perRound}.`,
  );
  out(
    `In-process = preprocess() (sharp decode + resize/normalize) + InferenceSession.run() on this thread, ` +
      `worker's session options, no server.`,
  );
  out(`Gateway = fetch() POST /graphql { predict(ref, image: { base64 }) } over loopback HTTP, timed by the client.`);
  if (s.fp32Note) out(s.fp32Note + '.');
  if (agreement) out(agreement + '.');
  out();
  printPart1Rows(variants);
  printGatewayOverhead(v, s.config);
  out();
  printPart1Ratios(v, s.haveFp32);
  if (!s.haveFp32) {
    out();
    out('No fp32 file: the fp32 rows were skipped. Create models/build/baseline.fp32.onnx (git-ignored) with');
    out('  apt-get install -y python3-onnx python3-numpy && /usr/bin/python3 models/pipeline/dequantize.py');
    out(
      "(the int8 graph with every DequantizeLinear folded into an fp32 initializer: the export's graph and FLOPs), then rerun.",
    );
  }
  out();
}

function printPart1Rows(variants: Variant[]): void {
  const rows1: string[][] = [['row', 'median ms', 'p90 ms', 'breakdown (medians, ms)']];
  for (const x of variants) {
    const b = x.parts;
    const breakdown = b.run
      ? `preprocess ${fmt(median(b.preprocess!), 2)}, run ${fmt(median(b.run))}`
      : `server total ${fmt(median(b.server!))} = decode+preprocess ${fmt(median(b.decodePre!), 2)}, ` +
        `queue ${fmt(median(b.queue!), 2)}, worker run ${fmt(median(b.inference!))}`;
    rows1.push([x.name, fmt(median(x.samples)), fmt(percentile(x.samples, 90)), breakdown]);
  }
  out(table(rows1, ['l', 'r', 'r', 'l']));
}

/** The int8 gateway row minus the in-process row, told apart by the server's own timings. */
function printGatewayOverhead(v: Part1Variants, config: Config): void {
  const P = v.gwInt8.parts;
  const extra = median(v.gwInt8.samples) - median(v.inInt8.samples);
  const rest = median(P.server!) - median(P.decodePre!) - median(P.queue!) - median(P.inference!);
  const workerMinusInProcess = median(P.inference!) - median(v.inInt8.parts.run!);
  out();
  out(
    `Where the int8 gateway's extra ${fmt(extra)} ms go (differences of medians, approximate): ` +
      `batch queue ${fmt(median(P.queue!))}`,
  );
  out(
    `(MAX_QUEUE_DELAY_MS ${config.inference.maxQueueDelayMs}: how long a lone request waits for company); ` +
      `worker run minus in-process run ${fmt(workerMinusInProcess)};`,
  );
  out(
    `rest of the server's predict (base64 decode, registry look-ups, worker message hops, post-processing) ${fmt(rest)}; outside the`,
  );
  out(
    `server's timer (HTTP, JSON body, API-key look-up, GraphQL parse/validate/serialize, the client's fetch) ` +
      `${fmt(median(v.gwInt8.samples) - median(P.server!))}.`,
  );
}

function printPart1Ratios(v: Part1Variants, haveFp32: boolean): void {
  const ratio = (a: Variant | null, b: Variant | null) => (a && b ? median(a.samples) / median(b.samples) : NaN);
  const overhead = ratio(v.gwInt8, v.inInt8);
  const p90overhead = percentile(v.gwInt8.samples, 90) / percentile(v.inInt8.samples, 90);
  const int8VsFp32 = ratio(v.inInt8, v.inFp32);
  const gwInt8VsFp32 = ratio(v.gwInt8, v.gwFp32);
  const withinTenPercent = (x: number) => (haveFp32 ? met(Math.abs(x - 1) <= 0.1) : 'not measured');
  const ratios1: string[][] = [
    ['ratio (of medians)', 'value', 'goal', 'status'],
    ['gateway / in-process, int8 baseline', fmt(overhead, 3), '<= 1.15', met(overhead <= 1.15)],
    ['  same at p90', fmt(p90overhead, 3), '(info)', ''],
    ['gateway / in-process, fp32 export', fmt(ratio(v.gwFp32, v.inFp32), 3), '(info)', haveFp32 ? '' : 'no fp32 file'],
    ['int8 disable_quant_qdq / fp32, in-process', fmt(int8VsFp32, 3), '0.90 - 1.10', withinTenPercent(int8VsFp32)],
    ['int8 disable_quant_qdq / fp32, via gateway', fmt(gwInt8VsFp32, 3), '0.90 - 1.10', withinTenPercent(gwInt8VsFp32)],
    [
      'int8 QDQ kept (no disable_quant_qdq) / fp32, in-process',
      fmt(ratio(v.inQdq, v.inFp32), 3),
      '(why it matters)',
      haveFp32 ? '' : 'not measured',
    ],
    ['int8 QDQ kept / int8 disable_quant_qdq, in-process', fmt(ratio(v.inQdq, v.inInt8), 3), '(why it matters)', ''],
  ];
  out(table(ratios1, ['l', 'r', 'r', 'l']));
}

// ---------------------------------------------------------------- part 3

const LEVELS = [1, 8, 32];

/** Part 3: throughput with and without dynamic batching, through HTTP and in the bare inference runtime. */
async function part3(s: Setup, loadWorker: LoadWorker): Promise<void> {
  const p3Started = performance.now();
  const p3Other = otherLoad();
  const overHttp = await batchingOverHttp(s, loadWorker);
  const p3Seconds = (performance.now() - p3Started) / 1000;
  const inf = s.config.inference;
  out(
    `## Part 3: small CNN (fashion-classifier v2, 28x28 gray PNG), dynamic batching ` +
      `(${p3Seconds.toFixed(0)} s; other processes used ${p3Other()} on average)`,
  );
  out();
  out(
    `Closed-loop clients through GraphQL over HTTP, ${overHttp.warmMs / 1000} s warm-up + ${overHttp.windowMs / 1000} s ` +
      `measured per cell; ${s.png.length}-byte smoke-set PNG.`,
  );
  out(
    `Batched: MAX_BATCH_SIZE ${inf.maxBatchSize}, MAX_QUEUE_DELAY_MS ${inf.maxQueueDelayMs}. ` +
      `Unbatched: the same gateway code and database, MAX_BATCH_SIZE 1 (a second app in this process).`,
  );
  out(
    `Mean batch = requests / batches (each response reports its batch's size in timingsMs.batchSize). Loop util = the gateway thread's`,
  );
  out(
    `event-loop utilization; worker busy = share of the window the inference worker spent in session.run() (from timingsMs.inference).`,
  );
  out();
  out(table(overHttp.rows));
  out();

  const inRuntime = await batchingInRuntime(s);
  out(
    `The same runtime without HTTP and GraphQL: the gateway's ModelManager, Batcher and inference worker thread (built from its`,
  );
  out(
    `classes, batched = MAX_BATCH_SIZE ${inf.maxBatchSize}, unbatched = 1), ` +
      `called by N concurrent callers on the bench's thread, ${inRuntime.windowMs / 1000} s per cell.`,
  );
  out();
  out(table(inRuntime.rows));
  out();
  const gain32 = overHttp.gains.get(32)!;
  const [score32, rt32] = inRuntime.gains32;
  out(
    table(
      [
        ['goal: throughput with / without dynamic batching >= 3x at concurrency 32', 'measured', 'status'],
        ['through GraphQL over HTTP (whole request)', `${fmt(gain32, 2)}x`, met(gain32 >= 3)],
        ['inference runtime from decoded image bytes (score())', `${fmt(score32!, 2)}x`, met(score32! >= 3)],
        ['inference runtime from the preprocessed tensor (batcher + worker)', `${fmt(rt32!, 2)}x`, met(rt32! >= 3)],
      ],
      ['l', 'r', 'l'],
    ),
  );
  for (const e of overHttp.errs) out(`  ${e}`);
  out();
}

/** Closed-loop clients through GraphQL over HTTP, at each concurrency, against the batched and unbatched gateway. */
async function batchingOverHttp(s: Setup, loadWorker: LoadWorker) {
  const predictCnn = { ref: { model: 'fashion-classifier', version: 2 }, image: { base64: s.png.toString('base64') } };
  const cnnBody = JSON.stringify({ query: PREDICT, variables: predictCnn });
  for (const g of [s.gw, s.unbatched]) await gql(g.url, s.key, PREDICT, predictCnn);
  const windowMs = scaled(10_000, 1500);
  const warmMs = 1500;
  const rows: string[][] = [
    [
      'concurrency',
      'batching',
      'req/s',
      'mean batch',
      'p50 ms',
      'p99 ms',
      'loop util',
      'worker busy',
      'batched / unbatched',
    ],
  ];
  const gains = new Map<number, number>();
  const errs: string[] = [];
  for (const c of LEVELS) {
    const cells: { name: string; r: LoadResult; elu: number }[] = [];
    for (const g of [s.gw, s.unbatched]) {
      const name = g === s.gw ? `on (max ${s.config.inference.maxBatchSize})` : 'off (max 1)';
      const job = loadWorker.run({
        kind: 'closed',
        url: g.url,
        key: s.key,
        body: cnnBody,
        concurrency: c,
        warmupMs: warmMs,
        durationMs: windowMs,
      });
      await sleep(warmMs);
      const elu0 = performance.eventLoopUtilization();
      const r = await job;
      const elu = performance.eventLoopUtilization(elu0).utilization;
      if (r.errors) errs.push(`concurrency ${c}, batching ${name}: ${r.errors} errors, first: ${r.firstError}`);
      cells.push({ name, r, elu });
    }
    const rps = (r: LoadResult) => r.completed / (r.windowMs / 1000);
    gains.set(c, rps(cells[0]!.r) / rps(cells[1]!.r));
    cells.forEach(({ name, r, elu }, i) => {
      // Each request reports its batch's run time: summing run/batchSize over requests counts every batch once.
      const busy = r.serverMs.reduce((sum, t, j) => sum + t.inference / r.batchSizes[j]!, 0) / r.windowMs;
      rows.push([
        i === 0 ? String(c) : '',
        name,
        fmt(rps(r)),
        fmt(meanBatchSize(r.batchSizes), 2),
        fmt(median(r.latencies)),
        fmt(percentile(r.latencies, 99)),
        `${fmt(elu * 100, 0)}%`,
        `${fmt(busy * 100, 1)}%`,
        i === 0 ? fmt(gains.get(c)!, 2) : '',
      ]);
    });
  }
  return { rows, gains, errs, windowMs, warmMs };
}

/**
 * The same runtime without HTTP and GraphQL: the gateway's ModelManager, Batcher and inference
 * worker, built from its classes with each MAX_BATCH_SIZE, driven by callers on this thread.
 * Its gains at concurrency 32 come back in the order of the layers: score(), then batcher + worker.
 */
async function batchingInRuntime(s: Setup) {
  const { app } = s.gw;
  const spec = parseInputSpec(s.demoInputSpec);
  const v2 = await app.services.versions.resolve(s.actor, { model: 'fashion-classifier', version: 2 });
  const target = { record: v2.version, model: { name: 'fashion-classifier', inputSpec: spec } };
  const tensor = (await preprocess(s.png, spec, s.config.inference.image)).data;
  const runtimes = await inferenceRuntimes(s);
  const layers = [
    {
      name: 'score(): sharp decode + preprocess + batcher + worker',
      call: (r: Runtime) => r.service.score(target, s.png).then((x) => x.out.batchSize),
    },
    {
      name: 'batcher + worker (tensor already preprocessed)',
      call: (r: Runtime) => r.manager.use(target, (m) => m.run(tensor)).then((x) => x.batchSize),
    },
  ];
  const windowMs = scaled(3000, 600);
  const rows: string[][] = [
    ['layer', 'concurrency', 'batched req/s', 'mean batch', 'unbatched req/s', 'batched / unbatched'],
  ];
  const gains32: number[] = [];
  for (const layer of layers) {
    for (const c of LEVELS) {
      const results: { rps: number; meanBatch: number }[] = [];
      for (const r of runtimes) {
        await closedLoop(c, 300, () => layer.call(r)); // warm-up (the first call loads the version)
        results.push(await closedLoop(c, windowMs, () => layer.call(r)));
      }
      const gain = results[0]!.rps / results[1]!.rps;
      if (c === 32) gains32.push(gain);
      rows.push([
        c === LEVELS[0] ? layer.name : '',
        String(c),
        fmt(results[0]!.rps),
        fmt(results[0]!.meanBatch, 2),
        fmt(results[1]!.rps),
        fmt(gain, 2),
      ]);
    }
  }
  for (const r of runtimes) await r.manager.close();
  return { rows, gains32, windowMs };
}

interface Runtime {
  manager: ModelManager;
  service: InferenceService;
}

/** Two inference runtimes on the bench's app, batched (its MAX_BATCH_SIZE) and unbatched, sharing one image pool. */
async function inferenceRuntimes(s: Setup): Promise<Runtime[]> {
  const { app } = s.gw;
  const { config } = s;
  const runtimeLogger = createLogger('warn', { bench: true }, 2);
  const images = await ImagePool.create({
    workers: config.inference.preprocessWorkers,
    nice: config.inference.nice,
    limits: config.inference.image,
    logger: runtimeLogger,
  });
  const runtime = (maxBatchSize: number): Runtime => {
    const cfg = loadConfig(s.env, { inference: { ...config.inference, maxBatchSize } });
    const backend = new OnnxBackend(cfg.inference.workers, runtimeLogger, undefined, { nice: cfg.inference.nice });
    const manager = new ModelManager({
      backend,
      versions: app.services.versions,
      artifacts: app.artifacts,
      config: cfg,
      logger: runtimeLogger,
    });
    const admission = new Admission({ perVersion: Number.MAX_SAFE_INTEGER, total: Number.MAX_SAFE_INTEGER });
    return {
      manager,
      service: new InferenceService({ versions: app.services.versions, manager, images, admission, config: cfg }),
    };
  };
  return [runtime(config.inference.maxBatchSize), runtime(1)];
}

/** `c` callers, each calling `fn` again as soon as it returns, for `ms`: requests per second and mean batch size. */
async function closedLoop(c: number, ms: number, fn: () => Promise<number>) {
  const end = performance.now() + ms;
  const sizes: number[] = [];
  await Promise.all(
    Array.from({ length: c }, async () => {
      while (performance.now() < end) sizes.push(await fn());
    }),
  );
  return { rps: sizes.length / (ms / 1000), meanBatch: meanBatchSize(sizes) };
}

// ---------------------------------------------------------------- part 4

/** Part 4: cold start, load time per version and resident memory of `modelgate serve` child processes. */
async function part4(s: Setup): Promise<void> {
  if (s.databaseUrl || !PARTS.has(4)) {
    // Part 4 copies an embedded database into each child's DATA_DIR: it measures PGlite only.
    if (s.databaseUrl) await dropBenchDatabase();
    out(
      s.databaseUrl
        ? '## Part 4: skipped with BENCH_DATABASE=postgres (it copies the embedded database into each cold start)'
        : '## Part 4: skipped (BENCH_PARTS)',
    );
    out();
    return;
  }
  const p4Started = performance.now();
  const p4Other = otherLoad();
  const runs = scaled(3);
  const cold: ColdRun[] = [];
  for (let i = 0; i < runs; i++) cold.push(await coldStart(s.dataDir, path.join(s.tmp, `cold-${i}`), s.key, s.png));
  const p4Seconds = (performance.now() - p4Started) / 1000;
  out(
    `## Part 4: cold start, load time, resident memory ` +
      `(${runs} runs, ${p4Seconds.toFixed(0)} s; other processes used ${p4Other()} on average)`,
  );
  out();
  out(
    'Cold start = from spawn() of `node dist/cli/main.js serve` to the first successful predict response, the predict being',
  );
  out(
    'sent as soon as GET /readyz answers 200 (polled every 10 ms once the "listening" log line appears). The child gets',
  );
  out(
    'DATA_DIR = a fresh copy of the seeded data directory (database migrated, registry and artifacts present: seeding and',
  );
  out(
    "initdb are not counted; OS file cache warm), PORT=0, DEMO_SEED=false. The predict is fashion-classifier's default",
  );
  out(
    'route (champion = v2, the small CNN), so the time includes its lazy load and warm-up. Then loadVersion v1 (ResNet-50',
  );
  out(
    'int8) and v3 (bn-cnn); load time = loadedVersions.loadMs (sha256 check + session create + warm-up run); RSS = VmRSS.',
  );
  out();
  printColdRuns(cold);
  const est = cold[0]!.memoryMB;
  out();
  out(
    `The gateway's own estimate (loadedVersions.memoryMB, run 1): ` +
      `v1 ${est[1] ?? '-'} MB, v2 ${est[2] ?? '-'} MB, v3 ${est[3] ?? '-'} MB.`,
  );
  out();
}

function printColdRuns(cold: ColdRun[]): void {
  const med = (f: (r: ColdRun) => number) => fmt(median(cold.map(f)), 0);
  const rows4: string[][] = [['measure', 'median', ...cold.map((_, i) => `run ${i + 1}`)]];
  const row = (name: string, f: (r: ColdRun) => number, digits = 0) =>
    rows4.push([name, med(f), ...cold.map((r) => fmt(f(r), digits))]);
  row('spawn -> "listening" log line, ms', (r) => r.listenMs);
  row('spawn -> /readyz 200, ms', (r) => r.readyMs);
  row('spawn -> first prediction served, ms  (COLD START)', (r) => r.firstMs);
  row('  of which the first predict request, ms', (r) => r.firstMs - r.readyMs);
  for (const ver of [2, 1, 3])
    row(
      `load time v${ver} (${ver === 1 ? 'ResNet-50 int8' : ver === 2 ? 'small CNN' : 'bn-cnn'}), ms`,
      (r) => r.loadMs[ver] ?? NaN,
    );
  row('RSS ready, no version loaded, MiB', (r) => r.rss[0]!);
  row('RSS with 1 version (v2), MiB', (r) => r.rss[1]!);
  row('RSS with 2 versions (v2, v1), MiB', (r) => r.rss[2]!);
  row('RSS with 3 versions (v2, v1, v3), MiB', (r) => r.rss[3]!);
  out(table(rows4));
}

/** A forked gateway process (gateway-child.js) on the bench's data directory or database. */
class GatewayChild {
  private readonly child: ChildProcess;
  private readonly messages: ChildMessage[] = [];
  private waiter: ((m: ChildMessage) => void) | null = null;
  url = '';

  constructor(env: Record<string, string>) {
    this.child = fork(path.join(__dirname, 'gateway-child.js'), [], {
      env: { ...process.env, ...env, DEMO_SEED: 'false', PORT: '0' },
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    this.child.on('message', (m: ChildMessage) => {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w(m);
      } else this.messages.push(m);
    });
  }

  private next(): Promise<ChildMessage> {
    const queued = this.messages.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      this.waiter = resolve;
      this.child.once('exit', (code) => reject(new Error(`the gateway process exited (code ${code})`)));
    });
  }

  async ready(): Promise<this> {
    const m = await this.next();
    if (m.type !== 'ready')
      throw new Error(`gateway process: ${m.type === 'error' ? m.message : 'unexpected message'}`);
    this.url = `http://127.0.0.1:${m.port}/graphql`;
    return this;
  }

  start(req: Extract<ChildRequest, { type: 'start' }>): void {
    this.child.send(req);
  }

  async stop(): Promise<Extract<ChildMessage, { type: 'stats' }>> {
    this.child.send({ type: 'stop' } satisfies ChildRequest);
    const m = await this.next();
    if (m.type !== 'stats')
      throw new Error(`gateway process: ${m.type === 'error' ? m.message : 'unexpected message'}`);
    return m;
  }

  async exit(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.send({ type: 'exit' } satisfies ChildRequest);
    await Promise.race([exited, sleep(15_000).then(() => this.child.kill('SIGKILL'))]);
  }
}

interface Part2Options {
  env: Record<string, string>;
  key: string;
  jpegBase64: string;
  int8File: string;
  feeds: Float32Array;
  config: Config;
  probeWorker: LoadWorker;
  loadWorker: LoadWorker;
}

interface Phase {
  name: string;
  probe: LoadResult;
  stats: Extract<ChildMessage, { type: 'stats' }>;
  load: LoadResult | null;
}

/** How part 2 probes a gateway process: open-loop registry queries, with or without ResNet-50 load. */
class Part2Phases {
  readonly probeMs = scaled(15_000, 2000);
  readonly warmMs = 2000;
  readonly interval = 20;
  private readonly probeBody = JSON.stringify({ query: PROBE });
  private readonly predict: Record<string, unknown>;
  private readonly resnetBody: string;

  constructor(private readonly o: Part2Options) {
    this.predict = { ref: { model: 'resnet50-224', version: 1 }, image: { base64: o.jpegBase64 } };
    this.resnetBody = JSON.stringify({ query: PREDICT, variables: this.predict });
  }

  /** A gateway process with `env` over the bench's, its ResNet-50 loaded and warm before anything is measured. */
  async started(env: Record<string, string>): Promise<GatewayChild> {
    const gw = await new GatewayChild({ ...this.o.env, ...env }).ready();
    await gql(gw.url, this.o.key, PREDICT, this.predict);
    return gw;
  }

  async run(name: string, gw: GatewayChild, opts: { load?: boolean; mainLoop?: boolean } = {}): Promise<Phase> {
    const { key, probeWorker, loadWorker } = this.o;
    const window = { warmupMs: this.warmMs, durationMs: this.probeMs };
    const load = opts.load
      ? loadWorker.run({ kind: 'closed', url: gw.url, key, body: this.resnetBody, concurrency: 4, ...window })
      : null;
    const probe = probeWorker.run({
      kind: 'open',
      url: gw.url,
      key,
      body: this.probeBody,
      intervalMs: this.interval,
      ...window,
    });
    await sleep(this.warmMs);
    const mainLoop = { file: this.o.int8File, feeds: this.o.feeds, dims: [1, 1, 224, 224] };
    gw.start({ type: 'start', ...(opts.mainLoop ? { mainLoop } : {}) });
    const probeResult = await probe;
    const stats = await gw.stop();
    return { name, probe: probeResult, stats, load: load ? await load : null };
  }
}

/**
 * Part 2: event-loop responsiveness of a gateway process while 4 clients run ResNet-50 predictions,
 * against contrasts with onnxruntime on the gateway's thread.
 */
async function part2(o: Part2Options): Promise<void> {
  const p2Started = performance.now();
  const p2Other = otherLoad();
  const runner = new Part2Phases(o);
  const phases = await part2Phases(runner, o.config);
  const p2Seconds = (performance.now() - p2Started) / 1000;
  out(`## Part 2: event-loop responsiveness (${p2Seconds.toFixed(0)} s; other processes used ${p2Other()} on average)`);
  out();
  out(
    `Gateway: its own process (src/bench/gateway-child.ts: the app and HTTP server as \`modelgate serve\` builds them, on the`,
  );
  out(`bench's data directory), a fresh one per configuration; the clients are worker threads of the bench process.`);
  out(
    `Probe: ${PROBE} over HTTP, open loop every ${runner.interval} ms for ${runner.probeMs / 1000} s ` +
      `after ${runner.warmMs / 1000} s of warm-up, latency counted from the scheduled send time.`,
  );
  out(
    `Load: 4 closed-loop clients sending the part-1 224x224 JPEG predict (resnet50-224 v1). ` +
      `Loop delay: perf_hooks.monitorEventLoopDelay (5 ms resolution),`,
  );
  out(
    `loop util(ization): performance.eventLoopUtilization(), GC: pauses and full (mark-compact) collections, all of the gateway's thread.`,
  );
  out();
  printPhases(phases, runner.probeMs);
  printPart2Goals(phases);
  for (const p of phases) {
    if (p.probe.errors) out(`  ${p.name}: probe errors, first: ${p.probe.firstError}`);
    if (p.load?.errors) out(`  ${p.name}: predict errors, first: ${p.load.firstError}`);
  }
  out();
}

/** The gateway as configured (idle, then loaded), then with INFERENCE_NICE=0, then with onnxruntime on its main thread. */
async function part2Phases(runner: Part2Phases, config: Config): Promise<Phase[]> {
  const phases: Phase[] = [];
  const gw = await runner.started({});
  try {
    phases.push(await runner.run('idle gateway', gw));
    const loaded =
      `4 clients predicting ResNet-50 224 (worker thread, ${config.inference.intraOpThreads} intra-op threads, ` +
      `nice ${config.inference.nice})`;
    phases.push(await runner.run(loaded, gw, { load: true }));
  } finally {
    await gw.exit();
  }
  // Diagnostic: INFERENCE_NICE=0, onnxruntime's threads competing with the gateway's on equal terms.
  const equal = await runner.started({ INFERENCE_NICE: '0' });
  try {
    phases.push(await runner.run('diagnostic: the same with INFERENCE_NICE=0', equal, { load: true }));
  } finally {
    await equal.exit();
  }
  // Contrasts: onnxruntime on the gateway's own thread.
  const mainThread = await runner.started({ BENCH_MAIN_THREAD_BACKEND: '1' });
  try {
    phases.push(
      await runner.run('contrast: same 4 clients, gateway running ORT on the main thread', mainThread, { load: true }),
    );
    phases.push(
      await runner.run('contrast: main thread loops session.run() (batch 1), no clients', mainThread, {
        mainLoop: true,
      }),
    );
  } finally {
    await mainThread.exit();
  }
  return phases;
}

function printPhases(phases: Phase[], probeMs: number): void {
  const rows2: string[][] = [
    [
      'phase',
      'probes',
      'p50 ms',
      'p90 ms',
      'p99 ms',
      'max ms',
      'loop delay p99 ms',
      'loop max ms',
      'loop util',
      'GC max ms',
      'full GCs',
      'predict req/s',
      'mean batch',
    ],
  ];
  for (const p of phases) {
    const l = p.probe.latencies;
    const predicts = p.load
      ? fmt(p.load.completed / (p.load.windowMs / 1000), 1)
      : p.stats.mainRuns != null
        ? `${fmt(p.stats.mainRuns / (probeMs / 1000), 1)} runs/s`
        : '-';
    rows2.push([
      p.name,
      `${p.probe.completed}${p.probe.errors ? ` (+${p.probe.errors} errors)` : ''}`,
      fmt(median(l)),
      fmt(percentile(l, 90)),
      fmt(percentile(l, 99)),
      fmt(maxOf(l)),
      fmt(p.stats.loopDelay.p99),
      fmt(p.stats.loopDelay.max),
      `${fmt(p.stats.elu * 100, 0)}%`,
      p.stats.gc.length ? fmt(maxOf(p.stats.gc)) : '-',
      String(p.stats.majorGc),
      predicts,
      p.load ? fmt(meanBatchSize(p.load.batchSizes), 2) : '-',
    ]);
  }
  out(table(rows2));
}

function printPart2Goals(phases: Phase[]): void {
  const p99 = (i: number) => percentile(phases[i]!.probe.latencies, 99);
  out();
  out(
    table(
      [
        ['goal', 'measured', 'status'],
        ['probe p99 <= 20 ms while 4 clients run ResNet-50 predictions', `${fmt(p99(1))} ms`, met(p99(1) <= 20)],
        ['(diagnostic) the same with INFERENCE_NICE=0', `${fmt(p99(2))} ms`, ''],
        ['(contrast) the same with inference on the main thread', `${fmt(p99(3))} ms`, ''],
        ['(contrast) main thread looping session.run()', `${fmt(p99(4))} ms`, ''],
      ],
      ['l', 'r', 'l'],
    ),
  );
}

interface ColdRun {
  listenMs: number;
  readyMs: number;
  firstMs: number;
  loadMs: Record<number, number>;
  memoryMB: Record<number, number>;
  /** VmRSS in MiB with 0, 1, 2 and 3 versions loaded. */
  rss: number[];
}

const BENCH_DATABASE = process.env.BENCH_DATABASE ?? 'pglite';
const BENCH_DB_NAME = `modelgate_bench_${process.pid}`;
const adminUrl = () => process.env.BENCH_PG_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

async function createBenchDatabase(): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${BENCH_DB_NAME}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl());
  url.pathname = `/${BENCH_DB_NAME}`;
  return url.toString();
}

let dropped = false;
async function dropBenchDatabase(): Promise<void> {
  if (dropped) return;
  dropped = true;
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${BENCH_DB_NAME} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

async function coldStart(seeded: string, dir: string, key: string, png: Buffer): Promise<ColdRun> {
  cpSync(seeded, dir, { recursive: true });
  try {
    const gw = await GatewayProcess.start({ env: { DATA_DIR: dir, DEMO_SEED: 'false' } });
    try {
      const t0 = gw.spawnedAt;
      for (;;) {
        const ok = await fetch(`${gw.base}/readyz`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
        await sleep(10);
      }
      const ready = performance.now();
      const rss = [vmRssMiB(gw.pid)];
      await gql(gw.url, key, PREDICT, {
        ref: { model: 'fashion-classifier' },
        image: { base64: png.toString('base64') },
      });
      const first = performance.now();
      rss.push(vmRssMiB(gw.pid));
      for (const version of [1, 3]) {
        await gql(
          gw.url,
          key,
          `mutation($v: Int!) { loadVersion(ref: { model: "fashion-classifier", version: $v }) { state } }`,
          { v: version },
        );
        rss.push(vmRssMiB(gw.pid));
      }
      const loaded = (await gql(gw.url, key, LOADED)).loadedVersions as {
        modelVersion: { version: number };
        state: string;
        loadMs: number;
        memoryMB: number;
      }[];
      const loadMs: Record<number, number> = {};
      const memoryMB: Record<number, number> = {};
      for (const l of loaded) {
        loadMs[l.modelVersion.version] = l.loadMs;
        memoryMB[l.modelVersion.version] = l.memoryMB;
      }
      return { listenMs: gw.listeningAt - t0, readyMs: ready - t0, firstMs: first - t0, loadMs, memoryMB, rss };
    } finally {
      await gw.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench:inference failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
