/**
 * `npm run bench:hardening`: the throughput and responsiveness goals of the hardening work,
 * measured side by side in one run. A benchmark, not a test: it prints figures and ratios and
 * whether each goal was met, and asserts nothing.
 *
 * Each gateway is a `modelgate serve` process of its own (the demo registry seeded into a fresh
 * DATA_DIR, rate limits off); with BENCH_BASELINE=<checkout> a second one runs from another
 * checkout's build (e.g. the commit before the change: `git worktree add /tmp/base <rev>`, `npm ci`,
 * `npm run build` there), so before and after are measured on the same machine in the same run.
 *
 * 1. Small-CNN `predict` throughput, 32 concurrent clients (autocannon), a 28x28 PNG: goal >= 2,500 req/s.
 * 2. ResNet-50 `predict` at 224x224 from a 224x224 JPEG, 4 clients: goal: no drop against the baseline.
 * 3. Registry-query latency (an open loop of 50 queries/s) while 2 clients send 7000x7000 PNGs: goal p99 <= 20 ms.
 * 4. How long operations over the GraphQL limits take to be refused (current gateway only): goal well under 100 ms.
 *
 * BENCH_SCALE (default 1) scales every duration, for trial runs.
 */
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import sharp from 'sharp';
import { tempDir } from './cleanup';
import { GatewayProcess } from './gateway-process';
import { gql as request } from './graphql-client';
import type { LoadResult } from './load-client';
import { LoadWorker } from './load-worker';
import { loadavg, machine, otherLoad } from './machine';
import { maxOf } from '../common/arrays';
import { fmt, percentile, table } from './stats';

const ROOT = path.resolve(__dirname, '..', '..');
const SCALE = Number(process.env.BENCH_SCALE ?? '1') > 0 ? Number(process.env.BENCH_SCALE ?? '1') : 1;
const seconds = (s: number) => Math.max(1, Math.round(s * SCALE));
const KEY = `mg_${'bench'.repeat(7)}x`;
const out = (s = '') => process.stdout.write(s + '\n');
const met = (ok: boolean) => (ok ? 'MET' : 'NOT MET');

const PREDICT = `query($ref: VersionRefInput!, $img: String!) { predict(ref: $ref, image: { base64: $img }, topK: 1) { top { label probability } } }`;
/** The registry probe of bench:inference (BENCHMARKS.md), so that the two measure the same thing. */
const REGISTRY = `{ model(name: "fashion-classifier") { name } }`;

interface Gateway {
  url: string;
  dataDir: string;
  process: GatewayProcess;
}

/** `modelgate serve` from `checkout`'s build, on a fresh DATA_DIR with the demo seeded, limits out of the way. */
async function startGateway(checkout: string): Promise<Gateway> {
  const dataDir = tempDir('modelgate-bench-hardening-').path;
  const gw = await GatewayProcess.start({
    checkout,
    env: {
      DATA_DIR: dataDir,
      ADMIN_API_KEY: KEY,
      IMPORT_ROOTS: [dataDir, path.join(checkout, 'models')].join(','),
      RATE_LIMIT_ADMIN: '0',
      INFERENCE_QUEUE_PER_VERSION: '100000',
      INFERENCE_QUEUE_TOTAL: '100000',
    },
  });
  return { url: gw.base, dataDir, process: gw };
}

const gql = (url: string, query: string, variables: Record<string, unknown> = {}) =>
  request(`${url}/graphql`, KEY, query, variables);

/** The demo baseline's int8 ResNet-50 registered again at 224x224 (the demo model reads 28x28). */
async function registerResnet224(g: Gateway): Promise<void> {
  const { model, modelVersion } = await gql(
    g.url,
    `{ model(name: "fashion-classifier") { labels inputSpec } modelVersion(ref: { model: "fashion-classifier", version: 1 }) { sha256 } }`,
  );
  await gql(g.url, `mutation($input: RegisterModelInput!) { registerModel(input: $input) { name } }`, {
    input: { name: 'resnet50-224', labels: model.labels, inputSpec: { ...model.inputSpec, width: 224, height: 224 } },
  });
  // The seeded v1's own file in the content-addressed artifact store.
  const sha = String(modelVersion.sha256);
  const file = path.join(g.dataDir, 'artifacts', 'sha256', sha.slice(0, 2), sha);
  await gql(
    g.url,
    `mutation($file: String!) { registerVersion(input: { model: "resnet50-224", artifactPath: $file }) { version } }`,
    { file },
  );
}

/** `{ models { versions { model { versions ... } } } }`, `depth` fields deep (Model.versions <-> ModelVersion.model). */
function nested(depth: number): string {
  let inner = 'name';
  for (let level = depth - 2; level >= 1; level--)
    inner = level % 2 === 1 ? `versions { version ${inner} }` : `model { name ${inner} }`;
  return `{ models { ${inner} } }`;
}

/** Operations over the limits, each sent `n` times in a row: how long the refusal takes, and its code. */
async function refusals(
  url: string,
  image: string,
  n: number,
): Promise<{ name: string; codes: string; p50: number; p99: number }[]> {
  const aliased = Array.from(
    { length: 300 },
    (_, i) => `p${i}: predict(ref: { model: "fashion-classifier" }, image: { base64: $img }) { top { label } }`,
  ).join(' ');
  const cases: [string, unknown][] = [
    ['a 14-level query (Model.versions <-> ModelVersion.model)', { query: nested(14) }],
    ['300 aliased predicts', { query: `query($img: String!) { ${aliased} }`, variables: { img: image } }],
    ['2,500 tokens', { query: `{ viewer { ${'name '.repeat(2500)} } }` }],
    ['a 70 KB query text', { query: `# ${'x'.repeat(70 * 1024)}\n{ viewer { name } }` }],
    ['a 10-level query within the depth limit, refused by its cost', { query: nested(10) }],
  ];
  const rows = [];
  for (const [name, body] of cases) {
    const ms: number[] = [];
    const codes = new Set<string>();
    for (let i = 0; i < n; i++) {
      const started = performance.now();
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
        body: JSON.stringify(body),
      });
      const json = (await res.json()) as { errors?: { extensions?: { code?: string; limit?: string } }[] };
      ms.push(performance.now() - started);
      const e = json.errors?.[0]?.extensions;
      codes.add(`${res.status} ${e?.code ?? 'no error'}${e?.limit ? ` (${e.limit})` : ''}`);
    }
    rows.push({ name, codes: [...codes].join(', '), p50: percentile(ms, 50), p99: percentile(ms, 99) });
  }
  return rows;
}

interface Throughput {
  rps: number;
  p50: number;
  p99: number;
  failed: number;
}

/** A closed loop of `connections` clients for `duration` s; responses that carry GraphQL errors count as failed. */
async function throughput(url: string, body: string, connections: number, duration: number): Promise<Throughput> {
  let failed = 0;
  const result = await autocannon({
    url: `${url}/graphql`,
    connections,
    duration,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
        body,
        onResponse: (status: number, responseBody: string) => {
          if (status !== 200 || responseBody.includes('"errors"')) failed++;
        },
      },
    ],
  });
  return {
    rps: result.requests.total / duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failed: failed + result.errors + result.timeouts,
  };
}

/** Registry latency from an open loop of 50 queries/s, while `hostile` clients send `hostileBody` without pause. */
async function registryUnderLoad(
  url: string,
  hostileBody: string | null,
  duration: number,
): Promise<{ probe: LoadResult; hostile: LoadResult | null }> {
  const probeWorker = new LoadWorker();
  const hostileWorker = new LoadWorker();
  try {
    const job = { url: `${url}/graphql`, key: KEY, warmupMs: 2000, durationMs: duration * 1000 };
    const [probe, hostile] = await Promise.all([
      probeWorker.run({ ...job, kind: 'open', intervalMs: 20, body: JSON.stringify({ query: REGISTRY }) }),
      hostileBody
        ? hostileWorker.run({ ...job, kind: 'closed', concurrency: 2, body: hostileBody })
        : Promise.resolve(null),
    ]);
    return { probe, hostile };
  } finally {
    await probeWorker.close();
    await hostileWorker.close();
  }
}

interface Bodies {
  small: string;
  resnet: string;
  hostile: string;
}

/** One gateway's measurements; `other` is what other processes used during each part. */
interface GatewayRow {
  small: Throughput;
  resnet: Throughput;
  quiet: LoadResult;
  hostile: { probe: LoadResult; hostile: LoadResult | null };
  other: string[];
}

type Refusals = Awaited<ReturnType<typeof refusals>>;

async function main(): Promise<void> {
  out('# modelgate hardening benchmark (npm run bench:hardening)');
  out();
  for (const l of machine()) out(l);
  out(`Load average at start (1/5/15 min): ${loadavg()}`);
  if (SCALE !== 1) out(`BENCH_SCALE=${SCALE}: durations scaled (a trial run, not for BENCHMARKS.md)`);
  out();

  const checkouts: [string, string][] = [['current', ROOT]];
  if (process.env.BENCH_BASELINE)
    checkouts.push([
      `baseline (${path.basename(process.env.BENCH_BASELINE)})`,
      path.resolve(process.env.BENCH_BASELINE),
    ]);
  const { smallPng, bodies } = await requestBodies();
  const rows: Record<string, GatewayRow> = {};
  let refused: Refusals = [];
  // One gateway at a time: two would share the 2 cores.
  for (const [name, checkout] of checkouts) {
    const g = await startGateway(checkout);
    try {
      rows[name] = await measure(g, bodies);
      // The baseline would run these (the 14-level query exhausted its heap in about two minutes).
      if (name === 'current') refused = await refusals(g.url, smallPng.toString('base64'), 50);
    } finally {
      await g.process.stop();
    }
  }

  const names = Object.keys(rows);
  out();
  printThroughput(names, rows);
  out();
  printRegistryLatency(names, rows);
  out();
  out('## Refusals of operations over the limits (current gateway; 50 each, sequential; time to the whole answer)');
  out(
    table(
      [['operation', 'answer', 'p50 ms', 'p99 ms'], ...refused.map((r) => [r.name, r.codes, fmt(r.p50), fmt(r.p99)])],
      ['l', 'l', 'r', 'r'],
    ),
  );
  out();
  printGoals(rows.current!, names[1] ? rows[names[1]]! : null, refused);
  out();
  for (const n of names) out(`Other processes kept busy, per part (${n}): ${rows[n]!.other.join(', ')}.`);
  out(`Load average at end: ${loadavg()}`);
}

/** The three predict bodies: a 28x28 PNG, a 224x224 JPEG for ResNet-50, and a 7000x7000 PNG. */
async function requestBodies(): Promise<{ smallPng: Buffer; bodies: Bodies }> {
  const smallPng = readFileSync(path.join(ROOT, 'models', 'samples', 'bag.png'));
  const jpeg224 = await sharp(smallPng)
    .resize(224, 224, { kernel: 'cubic' })
    .toColourspace('srgb')
    .jpeg({ quality: 90 })
    .toBuffer();
  const hostilePng = await sharp({ create: { width: 7000, height: 7000, channels: 3, background: '#808080' } })
    .png({ compressionLevel: 9 })
    .toBuffer();
  out(
    `Images: a 28x28 gray PNG (${smallPng.length} bytes), a 224x224 JPEG (${jpeg224.length} bytes), ` +
      `a 7000x7000 RGB PNG (${hostilePng.length} bytes).`,
  );
  const body = (model: string, version: number, image: Buffer) =>
    JSON.stringify({ query: PREDICT, variables: { ref: { model, version }, img: image.toString('base64') } });
  return {
    smallPng,
    bodies: {
      small: body('fashion-classifier', 2, smallPng),
      resnet: body('resnet50-224', 1, jpeg224),
      hostile: body('fashion-classifier', 2, hostilePng),
    },
  };
}

/** Parts 1-3 on one gateway, each with what other processes used meanwhile. */
async function measure(g: Gateway, bodies: Bodies): Promise<GatewayRow> {
  await registerResnet224(g);
  // Every version the parts use is loaded and warm first: no part measures a first load.
  await throughput(g.url, bodies.small, 8, seconds(3));
  await throughput(g.url, bodies.resnet, 2, seconds(3));
  const other: string[] = [];
  const gatewayPid = () => [g.process.pid];
  let busy = otherLoad(gatewayPid);
  const small = await throughput(g.url, bodies.small, 32, seconds(15));
  other.push(busy());
  busy = otherLoad(gatewayPid);
  const resnet = await throughput(g.url, bodies.resnet, 4, seconds(15));
  other.push(busy());
  busy = otherLoad(gatewayPid);
  const quiet = (await registryUnderLoad(g.url, null, seconds(10))).probe;
  const hostile = await registryUnderLoad(g.url, bodies.hostile, seconds(20));
  other.push(busy());
  return { small, resnet, quiet, hostile, other };
}

function printThroughput(names: string[], rows: Record<string, GatewayRow>): void {
  out('## Throughput (closed loop, autocannon; failed = non-200 or a GraphQL error)');
  out(
    table([
      [
        'gateway',
        'small CNN c=32 req/s',
        'p50 / p99 ms',
        'failed',
        'ResNet-50 224 c=4 req/s',
        'p50 / p99 ms',
        'failed',
      ],
      ...names.map((n) => {
        const r = rows[n]!;
        return [
          n,
          fmt(r.small.rps, 0),
          `${fmt(r.small.p50)} / ${fmt(r.small.p99)}`,
          String(r.small.failed),
          fmt(r.resnet.rps, 1),
          `${fmt(r.resnet.p50)} / ${fmt(r.resnet.p99)}`,
          String(r.resnet.failed),
        ];
      }),
    ]),
  );
}

function printRegistryLatency(names: string[], rows: Record<string, GatewayRow>): void {
  out('## Registry query latency (open loop, 50/s), without and with 2 clients sending 7000x7000 PNGs');
  out(
    table([
      [
        'gateway',
        'quiet p50 / p99 ms',
        'under hostile PNGs p50 / p99 / max ms',
        'probe errors',
        'hostile PNGs served',
        'hostile errors',
      ],
      ...names.map((n) => {
        const r = rows[n]!;
        const l = r.hostile.probe.latencies;
        const hostile = r.hostile.hostile;
        const firstError = hostile?.firstError ? ` (${hostile.firstError.slice(0, 60)})` : '';
        return [
          n,
          `${fmt(percentile(r.quiet.latencies, 50))} / ${fmt(percentile(r.quiet.latencies, 99))}`,
          `${fmt(percentile(l, 50))} / ${fmt(percentile(l, 99))} / ${fmt(percentile(l, 100))}`,
          String(r.hostile.probe.errors),
          String(hostile?.completed ?? 0),
          `${hostile?.errors ?? 0}${firstError}`,
        ];
      }),
    ]),
  );
}

function printGoals(current: GatewayRow, base: GatewayRow | null, refused: Refusals): void {
  const ratio = (a: number, b: number | undefined) => (b ? fmt(a / b, 2) : '-');
  out('## Goals');
  const p99 = percentile(current.hostile.probe.latencies, 99);
  out(
    table(
      [
        ['goal', 'measured', 'against baseline', 'status'],
        [
          'small-CNN predict >= 2,500 req/s at 32 clients',
          `${fmt(current.small.rps, 0)} req/s`,
          ratio(current.small.rps, base?.small.rps),
          met(current.small.rps >= 2500 && current.small.failed === 0),
        ],
        [
          'ResNet-50 (224) no drop',
          `${fmt(current.resnet.rps, 1)} req/s`,
          ratio(current.resnet.rps, base?.resnet.rps),
          base ? met(current.resnet.rps >= base.resnet.rps * 0.95) : 'no baseline',
        ],
        [
          'registry p99 <= 20 ms under 7000x7000 PNGs',
          `${fmt(p99)} ms`,
          ratio(p99, base ? percentile(base.hostile.probe.latencies, 99) : undefined),
          met(p99 <= 20 && current.hostile.probe.errors === 0),
        ],
        [
          'operations over the limits refused well under 100 ms',
          `p99 <= ${fmt(maxOf(refused.map((r) => r.p99)))} ms`,
          '-',
          met(refused.every((r) => r.p99 < 100 && r.codes.includes('QUERY_TOO_COMPLEX'))),
        ],
      ],
      ['l', 'r', 'r', 'l'],
    ),
  );
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    process.stderr.write(`bench:hardening failed: ${e.stack ?? e.message}\n`);
    process.exit(1);
  },
);
