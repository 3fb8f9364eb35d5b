/**
 * Two real `modelgate serve` processes (spawned from the sources by tests/helpers/serve-from-source.cjs,
 * through the benches' GatewayProcess) on one PostgreSQL database, each with its own DATA_DIR, sharing
 * an S3 bucket on s3rver (an S3-compatible server from npm, in this process). Everything is written
 * through gateway A; B starts with an empty data directory, so every model and image it uses comes
 * from the bucket.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GatewayProcess, type LogLine } from '../../src/bench/gateway-process';
import { startS3rver, S3RVER_CREDENTIALS, type LocalS3 } from '../helpers/s3rver';
import { sseText } from '../helpers/sse';
import { vulkanAvailable } from '../helpers/vulkan';
import { writeFashionSubset } from '../helpers/fashion-subset';
import { createTestApp, dbKind, expectData, expectError, type GqlResult } from '../helpers/test-app';

const ENTRY = path.resolve(__dirname, '..', 'helpers', 'serve-from-source.cjs');
const BUCKET = 'modelgate-shared';
/** Items of the evaluation set the comparison runs over: enough chunks (of 32) to be killed between. */
const ITEMS = 640;
const LEASE_S = 2;

const METRICS = `n accuracy top5Accuracy macroF1 meanConfidence ece nll brier perClass confusionMatrix reliability sizeBytes parameters`;
const COMPARISON = `id status itemsDone total n verdict accuracyDelta accuracyDeltaCi95 macroF1Delta macroF1DeltaCi95
  discordantBaselineOnly discordantCandidateOnly mcnemarPValue mcnemarMidP agreement error
  baseline { version } candidate { version } dataset { name version }
  baselineMetrics { ${METRICS} } candidateMetrics { ${METRICS} }`;
const START = `mutation($input: StartComparisonInput!) { startComparison(input: $input) { id status } }`;
const GET = `query($id: ID!) { comparison(id: $id) { ${COMPARISON} } }`;
const PREDICT = `query($ref: VersionRefInput!, $image: ImageInput!) {
  predict(ref: $ref, image: $image) { resolvedBy modelVersion { version } top { index } } }`;

const skipReason = 'skipped on the embedded database: PGlite serves one process by design';
const describeOnServer = dbKind() === 'postgres' ? describe : describe.skip;

async function gql(gw: GatewayProcess, query: string, variables: Record<string, unknown>, key: string) {
  const res = await fetch(gw.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as GqlResult;
}

/** Polls `check` until it returns something, or fails after `timeoutMs` with the last value seen. */
async function until<T>(what: string, check: () => Promise<T | null>, timeoutMs: number, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const got = await check();
      if (got !== null) return got;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms (last: ${String(last)})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const isComparisonLine = (id: string, msg: string) => (l: LogLine) =>
  l.msg === msg && String(l.fields.comparison) === id;

describeOnServer(
  `several gateways on one PostgreSQL, sharing an S3 bucket on s3rver (a local S3-compatible server from npm) (${dbKind()}${dbKind() === 'pglite' ? `: ${skipReason}` : ''})`,
  () => {
    let s3: LocalS3;
    let root: string;
    let databaseUrl: string;
    let prepDataDir: string;
    let keys: { viewer: string; operator: string; admin: string };
    let a: GatewayProcess;
    let b: GatewayProcess;
    const image = { base64: '' };
    const dirs = { a: '', b: '' };

    beforeAll(async () => {
      s3 = await startS3rver([BUCKET]);
      root = mkdtempSync(path.join(os.tmpdir(), 'modelgate-multi-'));
      writeFashionSubset(path.join(root, 'project'), ITEMS);
      image.base64 = readFileSync(
        path.join(root, 'project', 'data', 'fashion-eval', 'images', 't10k-00003.png'),
      ).toString('base64');
      // A fresh migrated database and keys of each role; the gateways do everything else.
      const prep = await createTestApp();
      databaseUrl = prep.config.databaseUrl!;
      prepDataDir = prep.dataDir;
      keys = prep.keys;
      await prep.close({ keep: true });
      dirs.a = path.join(root, 'data-a');
      dirs.b = path.join(root, 'data-b');
      const env = (dataDir: string): Record<string, string> => ({
        ...S3RVER_CREDENTIALS,
        NODE_ENV: 'test',
        DATA_DIR: dataDir,
        DATABASE_URL: databaseUrl,
        DEMO_SEED: 'false',
        IMPORT_ROOTS: root,
        ARTIFACT_STORE: 's3',
        S3_BUCKET: BUCKET,
        S3_PREFIX: 'registry',
        S3_ENDPOINT: s3.endpoint,
        COMPARISON_LEASE_S: String(LEASE_S),
        // Two gateways and jest share the cores: no spinning pool threads, one thread per run.
        INFERENCE_SPINNING: 'false',
        INTRA_OP_THREADS: '1',
        PREPROCESS_WORKERS: '1',
        SPEED_MEASURE_MS: '50',
        LOG_LEVEL: 'info',
      });
      [a, b] = await Promise.all([
        GatewayProcess.start({ entry: ENTRY, env: env(dirs.a), startTimeoutMs: 120_000 }),
        GatewayProcess.start({ entry: ENTRY, env: env(dirs.b), startTimeoutMs: 120_000 }),
      ]);
      // Through A: the two real CNNs of the demo and the first ITEMS images of its evaluation set.
      const report = expectData(
        await gql(
          a,
          `mutation($input: ImportDvcInput!) { importDvc(input: $input) { failed items { kind name version action reason } } }`,
          { input: { repoPath: path.join(root, 'project') } },
          keys.admin,
        ),
      ).importDvc;
      expect(report.failed).toBe(0);
    }, 180_000);

    afterAll(async () => {
      await Promise.all([a?.kill(), b?.kill()]);
      if (databaseUrl) {
        const cleanup = await createTestApp({ reuse: { dataDir: prepDataDir, databaseUrl } });
        await cleanup.close();
      }
      await s3?.close();
      if (root) rmSync(root, { recursive: true, force: true });
    }, 60_000);

    const predict = (gw: GatewayProcess, ref: Record<string, unknown>) =>
      gql(gw, PREDICT, { ref: { model: 'fashion-classifier', ...ref }, image }, keys.viewer);
    const artifactsOf = (dataDir: string) =>
      readdirSync(path.join(dataDir, 'artifacts', 'sha256'), { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => e.name)
        .sort();

    it('B, without the model files, fetches them from the bucket; an alias moved through A is served by B within a second', async () => {
      expect(existsSync(path.join(dirs.b, 'artifacts', 'sha256'))).toBe(false);
      // B loads both versions first (downloads, checks, loads): what follows waits on the alias alone.
      for (const version of [1, 2]) {
        expect(expectData(await predict(b, { version })).predict.modelVersion.version).toBe(version);
        expect(expectData(await predict(a, { version })).predict.modelVersion.version).toBe(version);
      }
      const versions = expectData(
        await gql(a, `{ model(name: "fashion-classifier") { versions { version sha256 } } }`, {}, keys.viewer),
      ).model.versions as { version: number; sha256: string }[];
      expect(artifactsOf(dirs.b)).toEqual(expect.arrayContaining(versions.map((v) => v.sha256)));

      const SET = `mutation($v: Int!) { setAlias(model: "fashion-classifier", alias: "staging", version: $v) { version { version } } }`;
      expectData(await gql(a, SET, { v: 1 }, keys.admin));
      await until(
        'B serving staging -> v1',
        async () => {
          const p = expectData(await predict(b, { alias: 'staging' })).predict;
          return p.modelVersion.version === 1 ? p : null;
        },
        5000,
      );
      expectData(await gql(a, SET, { v: 2 }, keys.admin));
      // A correctness bound (the change feed's promise), not a benchmark: polled from the moment A answered.
      const served = await until(
        'B serving staging -> v2',
        async () => {
          const p = expectData(await predict(b, { alias: 'staging' })).predict;
          return p.modelVersion.version === 2 ? p : null;
        },
        1000,
      );
      expect(served.resolvedBy).toBe('alias:staging');
    });

    it('an API key revoked through A is refused by B', async () => {
      const created = expectData(
        await gql(a, `mutation { createApiKey(name: "roaming", role: VIEWER) { key } }`, {}, keys.admin),
      ).createApiKey;
      const whoAmI = (gw: GatewayProcess) => gql(gw, `{ models { name } }`, {}, created.key);
      expectData(await whoAmI(b));
      expectData(await gql(a, `mutation { revokeApiKey(name: "roaming") { revokedAt } }`, {}, keys.admin));
      await until(
        'B refusing the revoked key',
        async () => (expectError(await whoAmI(b), 'UNAUTHENTICATED') ? true : null),
        1000,
      );
      expectError(await whoAmI(a), 'UNAUTHENTICATED');
    });

    it("a version's execution providers set through A: B's loaded copy loads again with them on its next use", async () => {
      const LOADED = `{ loadedVersions { executionProvider loadedAt modelVersion { version } } }`;
      const loadedV2 = async (gw: GatewayProcess) =>
        (
          expectData(await gql(gw, LOADED, {}, keys.viewer)).loadedVersions as {
            executionProvider: string;
            loadedAt: string;
            modelVersion: { version: number };
          }[]
        ).find((l) => l.modelVersion.version === 2);
      const SET = `mutation($providers: [String!]) {
        setVersionExecutionProviders(ref: { model: "fashion-classifier", version: 2 }, providers: $providers) { executionProviders } }`;
      expectData(await predict(b, { version: 2 }));
      const before = (await loadedV2(b))!;
      expect(before.executionProvider).toBe('cpu');
      // On lavapipe (CI) the change is visible as the provider; without Vulkan, as a new load on the CPU.
      const webgpu = vulkanAvailable();
      expectData(await gql(a, SET, { providers: webgpu ? ['webgpu', 'cpu'] : ['cpu'] }, keys.admin));
      const after = await until(
        'B loading v2 again with its new providers',
        async () => {
          expectData(await predict(b, { version: 2 }));
          const l = await loadedV2(b);
          return l && l.loadedAt !== before.loadedAt ? l : null;
        },
        5000,
      );
      expect(after.executionProvider).toBe(webgpu ? 'webgpu' : 'cpu');
      // Back to the gateway's default, as the comparison below expects.
      expectData(await gql(a, SET, { providers: null }, keys.admin));
      const reset = await until(
        'B loading v2 again on the default providers',
        async () => {
          expectData(await predict(b, { version: 2 }));
          const l = await loadedV2(b);
          return l && l.loadedAt !== after.loadedAt ? l : null;
        },
        5000,
      );
      expect(reset.executionProvider).toBe('cpu');
    });

    it('a comparison started on A, A killed with SIGKILL mid-run: B takes it over after the lease, streams it over SSE, and ends with the numbers of an uninterrupted run', async () => {
      const input = {
        baseline: { model: 'fashion-classifier', version: 1 },
        candidate: { model: 'fashion-classifier', version: 2 },
        dataset: 'fashion-eval',
      };
      // B is frozen while A claims the job, so the job is A's.
      process.kill(b.pid, 'SIGSTOP');
      let id: string;
      try {
        id = expectData(await gql(a, START, { input }, keys.operator)).startComparison.id;
        await a.waitForLog(isComparisonLine(id, 'running comparison'), 60_000);
        // Frozen as soon as a chunk is stored, then killed: no chance to finish or hand the job back.
        await until(
          'A storing a first chunk',
          async () => {
            const c = expectData(await gql(a, GET, { id }, keys.viewer)).comparison;
            return c.itemsDone > 0 ? c : null;
          },
          60_000,
          5,
        );
        process.kill(a.pid, 'SIGSTOP');
      } finally {
        process.kill(b.pid, 'SIGCONT');
      }
      const atKill = expectData(await gql(b, GET, { id }, keys.viewer)).comparison;
      expect(atKill).toMatchObject({ status: 'RUNNING', total: ITEMS });
      expect(atKill.itemsDone).toBeLessThan(ITEMS);

      // B streams the job's progress over SSE from before the kill to its end.
      const res = await fetch(`${b.base}/comparisons/${id}/events`, {
        headers: { authorization: `Bearer ${keys.viewer}` },
      });
      expect(res.status).toBe(200);
      const read = sseText(res);
      await read(/event: progress/);
      expect((await a.kill()).signal).toBe('SIGKILL');

      const resumed = await b.waitForLog(isComparisonLine(id, 'resuming comparison'), 60_000);
      expect(resumed.fields.resumedAt).toBe(atKill.itemsDone);
      const events = await read(/event: done\ndata: .*\n\n/);
      const done = JSON.parse(/event: done\ndata: (.*)\n/.exec(events)![1]!);
      expect(done).toMatchObject({ status: 'SUCCEEDED', itemsDone: ITEMS });

      const taken = expectData(await gql(b, GET, { id }, keys.viewer)).comparison;
      const again = expectData(
        await gql(b, START, { input: { ...input, force: true } }, keys.operator),
      ).startComparison;
      const uninterrupted = await until(
        'the uninterrupted run',
        async () => {
          const c = expectData(await gql(b, GET, { id: again.id }, keys.viewer)).comparison;
          return ['QUEUED', 'RUNNING'].includes(c.status) ? null : c;
        },
        120_000,
        100,
      );
      expect(uninterrupted.status).toBe('SUCCEEDED');
      expect({ ...taken, id: undefined }).toEqual({ ...uninterrupted, id: undefined });
      expect(taken.n).toBe(ITEMS);
    });
  },
);
