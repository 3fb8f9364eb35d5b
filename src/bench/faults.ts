/**
 * `npm run bench:faults`: three faults injected into gateway processes (loopback only), each with
 * what happened and whether each expectation held. A measurement script, not a test: it exits 0
 * when it could run the scenarios, whatever they showed (RELIABILITY.md records the runs).
 *
 * a) kill -9 during a DVC import: the gateway (embedded PGlite, DEMO_SEED=false) imports the demo
 *    project (models/) and is SIGKILLed part-way, in three phases told apart by the files its
 *    artifact store holds (polled from outside): model versions being registered, dataset images
 *    being stored, the evaluation set's transaction; restarted on the same DATA_DIR, no READY
 *    version may lack its file or mismatch its sha256, no dataset may be partial, and the import
 *    run again must complete.
 * b) PostgreSQL restarted under traffic: a private throwaway cluster (never the shared server) is
 *    stopped and started again while clients send registry reads and predictions; per second:
 *    answers, errors by code, latency, /readyz. The gateway must not hang, must say not ready while
 *    the database is down, and must recover without a restart, its LISTEN connection included.
 * c) an artifact corrupted on disk: v3 is unloaded, bytes of its file overwritten, then predicted:
 *    MODEL_LOAD_FAILED and status FAILED, while v1 and v2 answer correctly throughout.
 * d) (beside the three asked for) PostgreSQL frozen under traffic: every process of the private
 *    cluster stopped with SIGSTOP for a while, as a hung server or a network partition looks to a
 *    client (connections accepted by the kernel, nothing answered). Expected: every request answered
 *    within the gateway's DATABASE_QUERY_TIMEOUT_S (plus a second) with OK or UNAVAILABLE (the
 *    registry cache serves until its heartbeat goes unanswered), /readyz answers, recovery.
 *
 * FAULTS_SCENARIOS (default a,b,c,d) picks scenarios; FAULTS_PG_DOWN_S (default 2) is how long (b)
 * leaves the database stopped, FAULTS_PG_FREEZE_S (default 10) how long (d) freezes it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, openSync, readdirSync, readFileSync, closeSync, writeSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { parse as parseYaml } from 'yaml';
import { LISTENER_NAME } from '../db/registry-cache';
import { tempDir } from './cleanup';
import { createKey, MODEL, predictOp, Q, referenceLabels, registryOps, samples, type Sample } from './demo-traffic';
import { firstErrors, GatewayProcess, LEVEL, type LogLine } from './gateway-process';
import { gql, request } from './graphql-client';
import type { MixOp, MixSamples } from './load-client';
import { LoadWorker } from './load-worker';
import { commit, loadavg, machine } from './machine';
import { PrivatePostgres } from './private-postgres';
import { codes, countBy, flatten, latencyCells, type Req } from './requests';
import { fmt, table } from './stats';
import { maxOf } from '../common/arrays';

const MODELS = path.resolve(__dirname, '..', '..', 'models');
const SCENARIOS = new Set((process.env.FAULTS_SCENARIOS ?? 'a,b,c,d').split(',').map((s) => s.trim().toLowerCase()));
const PG_DOWN_MS = Number(process.env.FAULTS_PG_DOWN_S ?? '2') * 1000;
const PG_FREEZE_MS = Number(process.env.FAULTS_PG_FREEZE_S ?? '10') * 1000;
/** A request unanswered after this long "hangs" (scenario b). */
const HANG_MS = 5000;
/** A frozen server: the gateway's default DATABASE_QUERY_TIMEOUT_S (5 s), plus a second of slack. */
const FROZEN_ANSWER_MS = 6000;

const out = (s = '') => process.stdout.write(s + '\n');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const epochNow = () => performance.timeOrigin + performance.now();
const sha256Of = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
/** Where the artifact store keeps a file (src/artifacts/artifact-store.ts: artifacts/sha256/ab/abcdef…). */
const artifactFile = (dataDir: string, sha: string) => path.join(dataDir, 'artifacts', 'sha256', sha.slice(0, 2), sha);

interface Check {
  scenario: string;
  expectation: string;
  held: boolean;
  detail: string;
}

const checks: Check[] = [];

function check(scenario: string, expectation: string, held: boolean, detail: string): void {
  checks.push({ scenario, expectation, held, detail });
  out(`  ${held ? 'PASS' : 'FAIL'}  ${expectation}: ${detail}`);
}

function gatewayEnv(
  dataDir: string,
  adminKey: string,
  extra: Record<string, string> = {},
): { env: Record<string, string> } {
  return { env: { DATA_DIR: dataDir, ADMIN_API_KEY: adminKey, DEMO_REPO: MODELS, IMPORT_ROOTS: MODELS, ...extra } };
}

function logSummary(lines: LogLine[]): string {
  return codes(countBy(lines, (l) => `${l.level >= LEVEL.error ? 'error' : 'warn'}: ${l.msg}`));
}

// ------------------------------------------------------------------ (a) kill -9 during a DVC import

interface ProjectExpectation {
  /** md5 of each model artifact's file, and the aliases dvc.yaml gives it. */
  versions: { artifact: string; md5: string; aliases: string[] }[];
  /** Items each dataset artifact lists (rows of its labels file). */
  datasets: Map<string, number>;
}

/** What the demo project lists, read from dvc.yaml, dvc.lock and the .dir manifests in its local remote. */
function projectExpectation(): ProjectExpectation {
  type Artifact = { path: string; type?: string; meta?: { aliases?: string[]; labelsFile?: string } };
  const artifacts = (
    parseYaml(readFileSync(path.join(MODELS, 'dvc.yaml'), 'utf8')) as { artifacts: Record<string, Artifact> }
  ).artifacts;
  const lock = parseYaml(readFileSync(path.join(MODELS, 'dvc.lock'), 'utf8')) as {
    stages: Record<string, { outs?: { path: string; md5: string }[] }>;
  };
  const md5 = new Map<string, string>();
  for (const stage of Object.values(lock.stages)) for (const o of stage.outs ?? []) md5.set(o.path, o.md5);
  // .dvc/config: remote "local", url ../dvc-remote (DVC 3 layout: files/md5/ab/cdef…).
  const object = (sum: string) => path.join(MODELS, 'dvc-remote', 'files', 'md5', sum.slice(0, 2), sum.slice(2));
  const versions: ProjectExpectation['versions'] = [];
  const datasets = new Map<string, number>();
  for (const [name, a] of Object.entries(artifacts)) {
    const sum = md5.get(a.path);
    if (!sum) continue;
    if (a.type === 'model') versions.push({ artifact: name, md5: sum, aliases: a.meta?.aliases ?? [] });
    if (a.type === 'dataset') {
      const manifest = JSON.parse(readFileSync(object(sum), 'utf8')) as { md5: string; relpath: string }[];
      const labels = manifest.find((e) => e.relpath === (a.meta?.labelsFile ?? 'labels.csv'));
      const rows = labels ? readFileSync(object(labels.md5), 'utf8').trim().split('\n').length - 1 : manifest.length;
      datasets.set(name, rows);
    }
  }
  return { versions, datasets };
}

const IMPORT_DVC = `mutation($repo: String!) { importDvc(input: { repoPath: $repo }) { created updated unchanged failed items { kind name action reason } } }`;
const REGISTRY = `{ models { name versions { version status md5 sha256 aliases } } datasets { name version size } }`;

interface RegistryState {
  versions: { version: number; status: string; md5: string; sha256: string; aliases: string[] }[];
  datasets: { name: string; version: number; size: number }[];
}

async function registryState(gw: GatewayProcess, key: string): Promise<RegistryState> {
  const d = await gql(gw.url, key, REGISTRY);
  const model = (d.models as { name: string; versions: RegistryState['versions'] }[]).find((m) => m.name === MODEL);
  return { versions: model?.versions ?? [], datasets: d.datasets };
}

function importSummary(r: {
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  items: { kind: string; name: string; action: string; reason: string | null }[];
}): string {
  const failures = r.items.filter((i) => i.action === 'failed').map((i) => `${i.kind} ${i.name}: ${i.reason}`);
  return `created ${r.created}, updated ${r.updated}, unchanged ${r.unchanged}, failed ${r.failed}${failures.length ? ` (${failures.join('; ')})` : ''}`;
}

/** READY versions whose file is missing or does not hash to their sha256 (by the store's layout). */
function brokenReadyVersions(dataDir: string, state: RegistryState): string[] {
  const broken: string[] = [];
  for (const v of state.versions.filter((x) => x.status === 'READY')) {
    const file = artifactFile(dataDir, v.sha256);
    if (!existsSync(file)) broken.push(`v${v.version}: file missing`);
    else if (sha256Of(file) !== v.sha256) broken.push(`v${v.version}: sha256 mismatch`);
  }
  return broken;
}

function wrongDatasets(state: RegistryState, expected: ProjectExpectation): string[] {
  return state.datasets
    .filter((d) => expected.datasets.get(d.name) !== d.size)
    .map(
      (d) =>
        `${d.name} v${d.version}: ${d.size} items, the project lists ${expected.datasets.get(d.name) ?? 'no such dataset'}`,
    );
}

/** Differences between the registry and the project: versions (md5, READY, aliases) and datasets (one version each, full). */
function differencesFromProject(state: RegistryState, expected: ProjectExpectation): string[] {
  const diffs: string[] = [];
  for (const e of expected.versions) {
    const found = state.versions.filter((v) => v.md5 === e.md5);
    if (found.length !== 1) diffs.push(`${e.artifact}: ${found.length} versions with its md5`);
    else {
      if (found[0]!.status !== 'READY') diffs.push(`${e.artifact}: ${found[0]!.status}`);
      const missing = e.aliases.filter((a) => !found[0]!.aliases.includes(a));
      if (missing.length) diffs.push(`${e.artifact}: alias ${missing.join(', ')} missing`);
    }
  }
  if (state.versions.length !== expected.versions.length)
    diffs.push(`${state.versions.length} versions, the project has ${expected.versions.length} models`);
  for (const [name, items] of expected.datasets) {
    const found = state.datasets.filter((d) => d.name === name);
    if (found.length !== 1 || found[0]!.size !== items)
      diffs.push(
        `dataset ${name}: ${found.map((d) => `v${d.version} ${d.size} items`).join(', ') || 'missing'} (expected one version of ${items})`,
      );
  }
  return diffs;
}

/**
 * After the gateway stopped: every dataset's stored items against its itemCount, and every file a
 * READY version or a dataset item points at, read straight from the embedded database.
 */
async function databaseCheck(dataDir: string): Promise<string[]> {
  const db = await PGlite.create(path.join(dataDir, 'pglite'));
  try {
    const problems: string[] = [];
    const sets = await db.query<{ name: string; version: number; itemCount: number; items: number }>(
      `SELECT d.name, d.version, d."itemCount", count(i.id)::int AS items FROM "Dataset" d ` +
        `LEFT JOIN "DatasetItem" i ON i."datasetId" = d.id GROUP BY d.id ORDER BY d.name, d.version`,
    );
    for (const s of sets.rows)
      if (s.items !== s.itemCount)
        problems.push(`dataset ${s.name} v${s.version}: ${s.items} item rows, itemCount ${s.itemCount}`);
    const files = await db.query<{ sha256: string; localPath: string | null }>(
      `SELECT sha256, "localPath" FROM "ModelVersion" WHERE status = 'READY' UNION SELECT DISTINCT sha256, NULL FROM "DatasetItem"`,
    );
    let missing = 0;
    let mismatched = 0;
    for (const f of files.rows) {
      const file = f.localPath ? path.resolve(dataDir, f.localPath) : artifactFile(dataDir, f.sha256);
      if (!existsSync(file)) missing++;
      else if (sha256Of(file) !== f.sha256) mismatched++;
    }
    if (missing || mismatched)
      problems.push(`${missing} files missing and ${mismatched} not matching their sha256, of ${files.rows.length}`);
    return problems;
  } finally {
    await db.close();
  }
}

/** Files committed to the artifact store (artifacts/sha256/ab/…). */
function storedFiles(dataDir: string): number {
  const root = path.join(dataDir, 'artifacts', 'sha256');
  if (!existsSync(root)) return 0;
  let n = 0;
  for (const d of readdirSync(root)) n += readdirSync(path.join(root, d)).length;
  return n;
}

/** Resolves once the store holds `count` files (polled every 10 ms), or when `until` settles first. */
async function whenStored(dataDir: string, count: number, until: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void until.then(() => (settled = true));
  while (!settled) {
    if (storedFiles(dataDir) >= count) return true;
    await sleep(10);
  }
  return false;
}

/** Files left in the artifact store's staging folder (copies a killed import never committed). */
function stagedLeftovers(dataDir: string): number {
  const dir = path.join(dataDir, 'artifacts', 'tmp');
  return existsSync(dir) ? readdirSync(dir).length : 0;
}

/** An uninterrupted import: how long it takes and how many files it stores. */
async function calibrateImport(root: string, adminKey: string): Promise<{ ms: number; files: number }> {
  const dataDir = path.join(root, 'calibration');
  const gw = await GatewayProcess.start(gatewayEnv(dataDir, adminKey, { DEMO_SEED: 'false' }));
  try {
    const started = performance.now();
    const report = (await gql(gw.url, adminKey, IMPORT_DVC, { repo: MODELS })).importDvc;
    const ms = performance.now() - started;
    const files = storedFiles(dataDir);
    out(`Uninterrupted import (calibration): ${fmt(ms / 1000, 1)} s, ${importSummary(report)}, ${files} files stored.`);
    return { ms, files };
  } finally {
    await gw.stop();
  }
}

interface KillPoint {
  /** The phase the kill should land in. */
  phase: string;
  /** Kill once the artifact store holds this many files. */
  files: number;
}

/** Model versions being registered (first file stored), dataset images half stored, all stored (the evaluation set's transaction). */
function killPoints(totalFiles: number, versions: number): KillPoint[] {
  return [
    { phase: 'registering model versions', files: 1 },
    { phase: 'storing dataset images', files: versions + Math.round((totalFiles - versions) / 2) },
    { phase: 'every file stored: dataset rows being written', files: totalFiles },
  ];
}

async function killDuringImport(
  root: string,
  adminKey: string,
  point: KillPoint,
  expected: ProjectExpectation,
): Promise<void> {
  const name = `a) kill -9 while ${point.phase}`;
  const dataDir = path.join(root, `kill-${point.files}`);
  const env = gatewayEnv(dataDir, adminKey, { DEMO_SEED: 'false' });
  await killImport(name, env, dataDir, adminKey, point);
  let second: GatewayProcess;
  const restartStarted = performance.now();
  try {
    second = await GatewayProcess.start(env);
  } catch (e) {
    check(name, 'the gateway restarts on the killed DATA_DIR', false, (e as Error).message);
    return;
  }
  try {
    check(
      name,
      'the gateway restarts on the killed DATA_DIR',
      true,
      `listening after ${fmt((performance.now() - restartStarted) / 1000, 1)} s`,
    );
    await checkAfterRestart(name, second, dataDir, adminKey, expected);
  } finally {
    await second.stop();
  }
  const stored = await databaseCheck(dataDir);
  check(
    name,
    'in the database: every dataset has all its item rows, every referenced file is present and intact',
    stored.length === 0,
    stored.join('; ') || 'yes',
  );
  out(`  staged files left in artifacts/tmp after the rerun: ${stagedLeftovers(dataDir)}`);
}

/** Starts a gateway on a fresh DATA_DIR, sends the import and SIGKILLs the gateway once `point` is reached. */
async function killImport(
  name: string,
  env: { env: Record<string, string> },
  dataDir: string,
  adminKey: string,
  point: KillPoint,
): Promise<void> {
  const first = await GatewayProcess.start(env);
  const sent = performance.now();
  const importing = request(first.url, adminKey, IMPORT_DVC, { repo: MODELS }, { timeoutMs: 300_000 });
  const reached = await whenStored(dataDir, point.files, importing);
  const at = performance.now() - sent;
  const exit = await first.kill();
  const killedAnswer = await importing;
  const answer =
    killedAnswer.outcome === 'OK'
      ? 'had already answered: the kill came too late'
      : reached
        ? `got ${killedAnswer.outcome}`
        : `ended first: ${killedAnswer.outcome} ${killedAnswer.message}`;
  out(
    `${name}: SIGKILL ${fmt(at / 1000, 2)} s into the import, ${storedFiles(dataDir)} files stored (${exit.signal}); ` +
      `the import request ${answer}.`,
  );
}

/** The restarted gateway's registry: intact versions, complete datasets, and an import that completes when run again. */
async function checkAfterRestart(
  name: string,
  second: GatewayProcess,
  dataDir: string,
  adminKey: string,
  expected: ProjectExpectation,
): Promise<void> {
  const after = await registryState(second, adminKey);
  const versions = after.versions.map((v) => `v${v.version} ${v.status}`).join(', ') || 'none';
  const datasets = after.datasets.map((d) => `${d.name} ${d.size}`).join(', ') || 'none';
  out(
    `  after the restart: ${after.versions.length} versions (${versions}), datasets ${datasets}, ` +
      `${stagedLeftovers(dataDir)} staged files left in artifacts/tmp`,
  );
  const broken = brokenReadyVersions(dataDir, after);
  check(
    name,
    'every READY version has its file, matching its sha256',
    broken.length === 0,
    broken.join('; ') || `${after.versions.filter((v) => v.status === 'READY').length} READY, all match`,
  );
  const partial = wrongDatasets(after, expected);
  check(
    name,
    'no dataset holds fewer (or more) items than the project lists',
    partial.length === 0,
    partial.join('; ') || `${after.datasets.length} datasets, all complete`,
  );
  const rerun = await request(second.url, adminKey, IMPORT_DVC, { repo: MODELS }, { timeoutMs: 300_000 });
  const report = rerun.data?.importDvc;
  check(
    name,
    'the import run again completes, nothing failed',
    rerun.outcome === 'OK' && report.failed === 0,
    rerun.outcome === 'OK' ? importSummary(report) : `${rerun.outcome}: ${rerun.message}`,
  );
  const diffs = differencesFromProject(await registryState(second, adminKey), expected);
  check(
    name,
    "then the registry holds exactly the project's versions, aliases and datasets",
    diffs.length === 0,
    diffs.join('; ') ||
      `${expected.versions.length} versions READY with their aliases, ${expected.datasets.size} datasets complete`,
  );
  const warnings = second.linesAtLeast(LEVEL.warn);
  if (warnings.length) out(`  restarted gateway's log at warn or above: ${logSummary(warnings)}`);
}

async function scenarioA(): Promise<void> {
  out('## a) kill -9 during a DVC import');
  out();
  const expected = projectExpectation();
  out(
    `The project (models/ dvc.yaml, dvc.lock, .dir manifests): ${expected.versions.length} model versions, ` +
      `datasets ${[...expected.datasets].map(([n, c]) => `${n} (${c} items)`).join(', ')}.`,
  );
  const root = tempDir('modelgate-faults-a-');
  const adminKey = `mg_faults_admin_${randomBytes(18).toString('base64url')}`;
  try {
    const calibration = await calibrateImport(root.path, adminKey);
    for (const point of killPoints(calibration.files, expected.versions.length))
      await killDuringImport(root.path, adminKey, point, expected);
  } finally {
    root.remove();
  }
  out();
}

// ------------------------------------------------------------------ (b, d) PostgreSQL restarted or frozen under traffic

/** A stretch of the run with the database in one state (epoch ms). */
interface Phase {
  label: string;
  from: number;
  to: number;
}

interface ReadyProbe {
  at: number;
  /** 0: no answer within twice HANG_MS. */
  status: number;
  ms: number;
}

/** One fault under traffic: every request, every /readyz probe, the fault's phases and the gateway's log meanwhile. */
interface TrafficRun {
  t0: number;
  reqs: Req[];
  probes: ReadyProbe[];
  phases: Phase[];
  log: LogLine[];
}

/** GET /readyz every 250 ms until stopped. */
function probeReadiness(base: string): { probes: ReadyProbe[]; stop: () => Promise<void> } {
  const probes: ReadyProbe[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const at = epochNow();
      const status = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(HANG_MS * 2) }).then(
        (r) => r.status,
        () => 0,
      );
      probes.push({ at, status, ms: epochNow() - at });
      await sleep(250);
    }
  })();
  return {
    probes,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

/**
 * 5 s of steady traffic (20 requests/s) and /readyz probes, then the fault (which returns its
 * phases once the database is back), then 15 s more.
 */
async function underTraffic(
  gw: GatewayProcess,
  key: string,
  ops: MixOp[],
  inject: () => Promise<Phase[]>,
): Promise<TrafficRun> {
  const worker = new LoadWorker();
  try {
    const logMark = gw.logs.length;
    const t0 = epochNow();
    const load = worker.run({
      kind: 'mix',
      url: gw.url,
      clients: [{ label: 'viewer', key, ops, ratePerSecond: 20, maxInFlight: 64 }],
      durationMs: 600_000,
      timeoutMs: 2 * HANG_MS,
    });
    const readiness = probeReadiness(gw.base);
    await sleep(5000);
    const phases = await inject();
    await sleep(15_000);
    worker.stop();
    const reqs = flatten((await load) as MixSamples[]);
    await readiness.stop();
    return { t0, reqs, probes: readiness.probes, phases, log: gw.logs.slice(logMark) };
  } finally {
    await worker.close();
  }
}

function phaseAt(t: number, phases: Phase[]): string {
  return phases.find((p) => t >= p.from && t < p.to)?.label ?? (t < phases[0]!.from ? 'up' : 'up again');
}

function printPerSecond(run: TrafficRun): void {
  const rows = [['t (s)', 'database', 'sent', 'OK', 'errors', 'p50 ms', 'max ms', '/readyz']];
  const last = Math.ceil((maxOf(run.reqs.map((r) => r.sentAt)) - run.t0) / 1000);
  for (let s = 0; s < last; s++) {
    const from = run.t0 + s * 1000;
    const inSecond = run.reqs.filter((r) => r.sentAt >= from && r.sentAt < from + 1000);
    const ok = inSecond.filter((r) => r.outcome === 'OK');
    const failed = countBy(
      inSecond.filter((r) => r.outcome !== 'OK'),
      (r) => r.outcome,
    );
    const ready = countBy(
      run.probes.filter((p) => p.at >= from && p.at < from + 1000),
      (p) => String(p.status || 'no answer'),
    );
    const [p50, , max] = latencyCells(inSecond.map((r) => r.ms));
    rows.push([
      String(s),
      phaseAt(from + 500, run.phases),
      String(inSecond.length),
      String(ok.length),
      codes(failed),
      p50!,
      max!,
      codes(ready),
    ]);
  }
  out(table(rows, ['r', 'l', 'r', 'r', 'l', 'r', 'r', 'l']));
}

async function listenerConnections(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1`,
      [LISTENER_NAME],
    );
    return rows[0]!.n;
  } finally {
    await client.end();
  }
}

const rel = (run: TrafficRun, t: number) => fmt((t - run.t0) / 1000, 1);

function noHang(name: string, run: TrafficRun, limitMs = HANG_MS): void {
  const slow = run.reqs.filter((r) => r.ms > limitMs || r.outcome === 'CLIENT_TIMEOUT');
  const detail = slow.length ? `; ${slow.length} slower or timed out: ${codes(countBy(slow, (r) => r.op))}` : '';
  check(
    name,
    `every request answered within ${limitMs / 1000} s (no hang)`,
    slow.length === 0,
    `max ${fmt(maxOf(run.reqs.map((r) => r.ms)), 0)} ms over ${run.reqs.length} requests${detail}`,
  );
}

function recovers(name: string, run: TrafficRun, gw: GatewayProcess, backAt: number): void {
  const firstOk = run.reqs
    .filter((r) => r.sentAt >= backAt && r.outcome === 'OK')
    .sort((a, b) => a.sentAt - b.sentAt)[0];
  const settled = run.reqs.filter((r) => r.sentAt >= backAt + 5000);
  const bad = settled.filter((r) => r.outcome !== 'OK');
  check(
    name,
    'recovers without a gateway restart: from 5 s after the database is back, every request OK',
    gw.running && settled.length > 0 && bad.length === 0,
    `first OK ${firstOk ? fmt(firstOk.sentAt - backAt, 0) + ' ms' : 'never'} after the database was back; later: ${codes(countBy(settled, (r) => r.outcome))}`,
  );
  const readyAgain = run.probes.find((p) => p.at >= backAt && p.status === 200);
  check(
    name,
    '/readyz answers 200 again',
    readyAgain !== undefined,
    readyAgain ? `${fmt(readyAgain.at - backAt, 0)} ms after the database was back` : 'never',
  );
}

function printLog(run: TrafficRun): void {
  out(
    `  gateway log at warn or above during the run: ${logSummary(run.log.filter((l) => l.level >= LEVEL.warn)) || 'none'}`,
  );
  for (const e of firstErrors(run.log)) out(`    first ${e}`);
}

/** b) pg_ctl stop -m fast, FAULTS_PG_DOWN_S down, pg_ctl start. */
async function restartUnderTraffic(
  cluster: PrivatePostgres,
  gw: GatewayProcess,
  key: string,
  ops: MixOp[],
): Promise<void> {
  const name = 'b) PostgreSQL restarted';
  out('## b) PostgreSQL restarted under traffic (a private cluster)');
  out();
  const run = await underTraffic(gw, key, ops, async () => {
    const stopIssued = epochNow();
    await cluster.stop('fast');
    const down = epochNow();
    await sleep(PG_DOWN_MS);
    const startIssued = epochNow();
    await cluster.start();
    const up = epochNow();
    return [
      { label: 'stopping', from: stopIssued, to: down },
      { label: 'down', from: down, to: startIssued },
      { label: 'starting', from: startIssued, to: up },
    ];
  });
  const [stopping, down, starting] = run.phases as [Phase, Phase, Phase];
  out(
    `Database: pg_ctl stop -m fast at t = ${rel(run, stopping.from)} s (down at ${rel(run, down.from)} s), ` +
      `start at ${rel(run, starting.from)} s (accepting at ${rel(run, starting.to)} s).`,
  );
  out();
  printPerSecond(run);
  out();
  noHang(name, run);
  checkWhileDown(name, run, gw);
  recovers(name, run, gw, starting.to);
  await checkListener(name, run, cluster);
  printLog(run);
  out();
}

/** Answers while the database stops, is down and starts: each with a code, and /readyz 503. */
function checkWhileDown(name: string, run: TrafficRun, gw: GatewayProcess): void {
  const [stopping, down, starting] = run.phases as [Phase, Phase, Phase];
  const during = run.reqs.filter((r) => r.sentAt >= stopping.from && r.sentAt < starting.to);
  const unanswered = during.filter(
    (r) => r.outcome === 'NETWORK' || r.outcome === 'CLIENT_TIMEOUT' || r.outcome.startsWith('HTTP_'),
  );
  check(
    name,
    'while the database is down, every request gets a GraphQL answer with a code (OK or an error code)',
    gw.running && unanswered.length === 0,
    `${during.length} sent while stopping/down/starting: ${codes(countBy(during, (r) => `${r.op} ${r.outcome}`))}`,
  );
  const internal = during.filter((r) => r.outcome === 'INTERNAL_SERVER_ERROR').length;
  const served = during.filter((r) => r.op.startsWith('predict') && r.outcome === 'OK').length;
  out(
    `  note: ${internal} of them answered INTERNAL_SERVER_ERROR ` +
      `(HTTP 500, "Internal server error": no code saying the database is unavailable); ` +
      `predictions served while down: ${served}.`,
  );
  const downProbes = run.probes.filter((p) => p.at >= down.from && p.at + p.ms < down.to);
  check(
    name,
    '/readyz answers 503 while the database is down',
    downProbes.length > 0 && downProbes.every((p) => p.status === 503),
    `${codes(countBy(downProbes, (p) => String(p.status)))} (max ${fmt(maxOf(downProbes.map((p) => p.ms)), 0)} ms)`,
  );
}

/** The registry cache's LISTEN connection: its loss logged, and back once the database is. */
async function checkListener(name: string, run: TrafficRun, cluster: PrivatePostgres): Promise<void> {
  const lost = run.log.filter((l) => l.msg.startsWith('registry change notifications lost'));
  const retries = lost.map((l) => l.fields.retryInMs).join(', ');
  check(
    name,
    'the LISTEN connection going down is logged (the registry cache is bypassed meanwhile)',
    lost.length > 0,
    lost.length
      ? `${lost.length} lines, first at t = ${rel(run, lost[0]!.time)} s, retries in ${retries} ms`
      : 'no such line',
  );
  const back = run.log.find((l) => /notifications? (are )?back|listening again|reconnected/i.test(l.msg));
  const listeners = await listenerConnections(cluster.url());
  check(
    name,
    'the LISTEN connection is back after the database restart (pg_stat_activity, and logged)',
    listeners === 1 && back !== undefined,
    `${listeners} connection(s) named ${LISTENER_NAME}; ` +
      `log line: ${back ? `"${back.msg}" at t = ${rel(run, back.time)} s` : 'none'}`,
  );
}

/** d) every process of the cluster stopped (SIGSTOP) for FAULTS_PG_FREEZE_S, then continued. */
async function freezeUnderTraffic(
  cluster: PrivatePostgres,
  gw: GatewayProcess,
  key: string,
  ops: MixOp[],
): Promise<void> {
  const name = 'd) PostgreSQL frozen';
  out(
    `## d) PostgreSQL frozen under traffic ` +
      `(SIGSTOP to the private cluster for ${PG_FREEZE_MS / 1000} s: it accepts TCP connections and answers nothing)`,
  );
  out();
  const run = await underTraffic(gw, key, ops, async () => {
    const from = epochNow();
    cluster.freeze();
    await sleep(PG_FREEZE_MS);
    cluster.thaw();
    return [{ label: 'frozen', from, to: epochNow() }];
  });
  const [frozen] = run.phases as [Phase];
  out(`Database: frozen at t = ${rel(run, frozen.from)} s, continued at ${rel(run, frozen.to)} s.`);
  out();
  printPerSecond(run);
  out();
  noHang(name, run, FROZEN_ANSWER_MS);
  const during = run.reqs.filter((r) => r.sentAt >= frozen.from && r.sentAt < frozen.to);
  check(
    name,
    'while it is frozen every request gets OK or UNAVAILABLE ' +
      '(the cache serves until its heartbeat goes unanswered, then requests wait at most DATABASE_QUERY_TIMEOUT_S)',
    during.length > 0 && during.every((r) => r.outcome === 'OK' || r.outcome === 'UNAVAILABLE'),
    `${during.length} sent: ${codes(countBy(during, (r) => r.outcome))}`,
  );
  const predicts = during.filter((r) => r.op.startsWith('predict'));
  out(`  predictions sent while frozen: ${predicts.length}: ${codes(countBy(predicts, (r) => r.outcome))}.`);
  const reads = during.filter((r) => !r.op.startsWith('predict'));
  out(
    `  registry reads sent while frozen: ${reads.length}: ${codes(countBy(reads, (r) => r.outcome))}; ` +
      `latency ${latencyCells(reads.map((r) => r.ms)).join(' / ')} ms (p50 / p99 / max).`,
  );
  const probes = run.probes.filter((p) => p.at >= frozen.from && p.at < frozen.to);
  check(
    name,
    `/readyz answers within ${HANG_MS / 1000} s while the database is frozen`,
    probes.length > 0 && probes.every((p) => p.status !== 0 && p.ms <= HANG_MS),
    `${codes(countBy(probes, (p) => String(p.status || 'no answer')))}, ` +
      `max ${fmt(maxOf(probes.map((p) => p.ms)), 0)} ms`,
  );
  recovers(name, run, gw, frozen.to);
  printLog(run);
  out();
}

/** The gateway on a private PostgreSQL cluster, seeded, with a viewer's mix: registry reads and predictions on v2 and v3. */
async function scenarioDatabase(restart: boolean, freeze: boolean): Promise<void> {
  const why = PrivatePostgres.unavailable();
  if (why) {
    out(`## b, d) PostgreSQL faults: skipped: ${why}.`);
    out();
    return;
  }
  const root = tempDir('modelgate-faults-b-');
  let cluster: PrivatePostgres | null = null;
  let gw: GatewayProcess | null = null;
  const started = epochNow();
  try {
    cluster = await PrivatePostgres.create();
    const adminKey = `mg_faults_admin_${randomBytes(18).toString('base64url')}`;
    gw = await GatewayProcess.start(
      gatewayEnv(path.join(root.path, 'data'), adminKey, { DATABASE_URL: cluster.url(), DEMO_SEED: 'true' }),
    );
    const key = await createKey(gw.url, adminKey, 'faults-viewer', 'VIEWER');
    const images = samples();
    const expected = {
      2: await referenceLabels(gw.url, key, 2, images),
      3: await referenceLabels(gw.url, key, 3, images),
    };
    const ops = [
      ...registryOps({ models: 2, modelVersion: 2, datasets: 1, comparisons: 0 }).slice(0, 3),
      predictOp(2, images, 3, expected[2]),
      predictOp(3, images, 2, expected[3]),
    ];
    out(
      `PostgreSQL faults: gateway pid ${gw.pid} on ${cluster.url()} ` +
        `(a private cluster in ${cluster.dir}; the shared server is not touched), ` +
        `demo seeded; listener connections: ${await listenerConnections(cluster.url())}.`,
    );
    out(
      `Load: one viewer, 20 requests/s open loop (models, modelVersion, datasets 40%; predict v2, v3 60%), ` +
        `${HANG_MS / 1000} s client timeout; /readyz every 250 ms.`,
    );
    out();
    if (restart) await restartUnderTraffic(cluster, gw, key, ops);
    if (freeze) await freezeUnderTraffic(cluster, gw, key, ops);
  } finally {
    if (gw) await stopOrExplain(gw, started);
    cluster?.destroy();
    root.remove();
  }
  out('Private cluster stopped and deleted.');
  out();
}

/** Stops the gateway; one that already exited (the bench never stops it early) fails the scenario, with why. */
async function stopOrExplain(gw: GatewayProcess, started: number): Promise<void> {
  if (gw.running) {
    const stopped = await gw.stop();
    out(`Gateway stopped (SIGTERM): code ${stopped.code}, ${fmt(stopped.ms, 0)} ms.`);
    return;
  }
  const exit = await gw.exited;
  const shutdown = gw.logs.find((l) => l.msg.startsWith('shutting down'));
  const how = shutdown
    ? `after a ${String(shutdown.fields.signal)} the bench did not send ` +
      `(logged at t = ${fmt((shutdown.time - started) / 1000, 1)} s)`
    : 'without a signal from the bench';
  check(
    'b/d) PostgreSQL faults',
    'the gateway process stays up',
    false,
    `it exited ${how} (code ${exit.code}, signal ${exit.signal}); its last output: ${gw.tail(8)}`,
  );
}

// ------------------------------------------------------------------ (c) an artifact corrupted on disk

const UNLOAD = `mutation($v: Int!) { unloadVersion(ref: { model: "${MODEL}", version: $v }) }`;
const LOAD = `mutation($v: Int!) { loadVersion(ref: { model: "${MODEL}", version: $v }) { state reason } }`;
const STATUS = `query($v: Int!) { modelVersion(ref: { model: "${MODEL}", version: $v }) { status statusReason sha256 } }`;

/** Flips 16 bytes in the middle of a file; returns what was there, to repair it afterwards. */
function corrupt(file: string): { offset: number; original: Buffer } {
  const bytes = readFileSync(file);
  const offset = Math.floor(bytes.length / 2);
  const original = Buffer.from(bytes.subarray(offset, offset + 16));
  writeAt(
    file,
    offset,
    original.map((b) => b ^ 0xff),
  );
  return { offset, original };
}

function writeAt(file: string, offset: number, data: Uint8Array): void {
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, data, 0, data.length, offset);
  } finally {
    closeSync(fd);
  }
}

async function predictV3(gw: GatewayProcess, key: string, image: Sample) {
  return request(gw.url, key, Q.predict, { ref: { model: MODEL, version: 3 }, image: { base64: image.base64 } });
}

async function scenarioC(): Promise<void> {
  const name = 'c) corrupted artifact';
  out('## c) an artifact corrupted on disk');
  out();
  const root = tempDir('modelgate-faults-c-');
  const adminKey = `mg_faults_admin_${randomBytes(18).toString('base64url')}`;
  const dataDir = path.join(root.path, 'data');
  const gw = await GatewayProcess.start(gatewayEnv(dataDir, adminKey, { DEMO_SEED: 'true' }));
  const worker = new LoadWorker();
  try {
    const key = await createKey(gw.url, adminKey, 'faults-viewer', 'VIEWER');
    const images = samples();
    const expected: Record<number, string[]> = {};
    for (const v of [1, 2, 3]) expected[v] = await referenceLabels(gw.url, key, v, images);
    out(
      `Gateway pid ${gw.pid}, demo seeded, v1-v3 loaded. ` +
        `Background load: predict v2 (15/s) and v1 (5/s), answers checked against each version's reference labels.`,
    );
    const load = worker.run({
      kind: 'mix',
      url: gw.url,
      clients: [
        { label: 'v2', key, ops: [predictOp(2, images, 1, expected[2])], ratePerSecond: 15, maxInFlight: 16 },
        { label: 'v1', key, ops: [predictOp(1, images, 1, expected[1])], ratePerSecond: 5, maxInFlight: 16 },
      ],
      durationMs: 600_000,
      timeoutMs: 30_000,
    });
    await sleep(2000);
    await corruptV3(name, gw, { dataDir, adminKey, key, images, expected });
    await sleep(2000);
    worker.stop();
    checkBackground(name, flatten((await load) as MixSamples[]));
    out(`  gateway log at warn or above: ${logSummary(gw.linesAtLeast(LEVEL.warn)) || 'none'}`);
  } finally {
    await worker.close();
    await gw.stop();
    root.remove();
  }
  out();
}

/** v3's file corrupted while it is unloaded: predict fails and marks it FAILED; repaired, it loads and answers again. */
async function corruptV3(
  name: string,
  gw: GatewayProcess,
  o: { dataDir: string; adminKey: string; key: string; images: Sample[]; expected: Record<number, string[]> },
): Promise<void> {
  const { dataDir, adminKey, key, images } = o;
  const unloaded = await gql(gw.url, adminKey, UNLOAD, { v: 3 });
  const { sha256 } = (await gql(gw.url, adminKey, STATUS, { v: 3 })).modelVersion as { sha256: string };
  const file = artifactFile(dataDir, sha256);
  const { offset, original } = corrupt(file);
  out(
    `unloadVersion(v3): ${unloaded.unloadVersion}; overwrote 16 bytes at offset ${offset} of ${path.relative(dataDir, file)} ` +
      `(sha256 now ${sha256Of(file).slice(0, 12)}…, registered ${sha256.slice(0, 12)}…).`,
  );
  const first = await predictV3(gw, key, images[0]!);
  check(
    name,
    'predict v3 answers MODEL_LOAD_FAILED',
    first.outcome === 'MODEL_LOAD_FAILED',
    `${first.outcome} in ${fmt(first.ms, 0)} ms: ${first.message}`,
  );
  const status = (await gql(gw.url, adminKey, STATUS, { v: 3 })).modelVersion as {
    status: string;
    statusReason: string | null;
  };
  check(
    name,
    'v3 is FAILED with a reason',
    status.status === 'FAILED' && !!status.statusReason,
    `${status.status}: ${status.statusReason}`,
  );
  const again = await predictV3(gw, key, images[1]!);
  const loadFailures = gw.logs.filter((l) => l.msg === 'model failed to load').length;
  check(
    name,
    'the next predict v3 fails the same way at once (no new load attempt)',
    again.outcome === 'MODEL_LOAD_FAILED' && loadFailures === 1,
    `${again.outcome} in ${fmt(again.ms, 1)} ms; "model failed to load" logged ${loadFailures} time(s)`,
  );
  writeAt(file, offset, original);
  const reloaded = await request(gw.url, adminKey, LOAD, { v: 3 });
  const repaired = await predictV3(gw, key, images[2]!);
  const repairedOk =
    reloaded.outcome === 'OK' &&
    repaired.outcome === 'OK' &&
    JSON.stringify(repaired.data).includes(JSON.stringify(o.expected[3]![2]!));
  check(
    name,
    'after repairing the file, loadVersion(v3) brings it back and it answers as before',
    repairedOk,
    `loadVersion ${reloaded.outcome} (${reloaded.data?.loadVersion?.state ?? reloaded.message}), predict ${repaired.outcome}`,
  );
}

/** The background predictions on v2 and v1: every one answered, and answered right. */
function checkBackground(name: string, reqs: Req[]): void {
  for (const v of ['v2', 'v1']) {
    const mine = reqs.filter((r) => r.client === v);
    const bad = mine.filter((r) => r.outcome !== 'OK');
    const [p50, p99, max] = latencyCells(mine.filter((r) => r.outcome === 'OK').map((r) => r.ms));
    const badCodes = bad.length ? ` (${codes(countBy(bad, (r) => r.outcome))})` : '';
    check(
      name,
      `${v} kept answering correctly throughout`,
      mine.length > 0 && bad.length === 0,
      `${mine.length} predictions, ${bad.length} errors or wrong answers${badCodes}; p50 ${p50} ms, p99 ${p99} ms, max ${max} ms`,
    );
  }
}

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  const started = performance.now();
  out('# modelgate fault injection (npm run bench:faults)');
  out();
  for (const l of machine()) out(l);
  out(
    `Command: npm run bench:faults (commit ${commit()}), scenarios ${[...SCENARIOS].join(',')}; load average at start (1/5/15 min): ${loadavg()}`,
  );
  out();
  const scenarios: [boolean, string, () => Promise<void>][] = [
    [SCENARIOS.has('a'), 'a', scenarioA],
    [SCENARIOS.has('b') || SCENARIOS.has('d'), 'b/d', () => scenarioDatabase(SCENARIOS.has('b'), SCENARIOS.has('d'))],
    [SCENARIOS.has('c'), 'c', scenarioC],
  ];
  for (const [selected, id, run] of scenarios) {
    if (!selected) continue;
    try {
      await run();
    } catch (e) {
      check(id, 'the scenario ran to the end', false, e instanceof Error ? e.message : String(e));
      out();
    }
  }
  out('## Summary');
  out();
  out(
    table(
      [
        ['scenario', 'expectation', 'result'],
        ...checks.map((c) => [c.scenario, c.expectation, c.held ? 'PASS' : 'FAIL']),
      ],
      ['l', 'l', 'l'],
    ),
  );
  out();
  out(
    `${checks.filter((c) => c.held).length} of ${checks.length} expectations held. ` +
      `Load average at end: ${loadavg()}. Total ${fmt((performance.now() - started) / 1000, 0)} s.`,
  );
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench:faults failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
