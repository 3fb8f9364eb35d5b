import sharp from 'sharp';
import { startServer } from '../../src/http/server';
import { cli, withEnv } from '../helpers/cli';
import { startOipDouble, type OipDouble } from '../helpers/oip-double';
import {
  createTestApp,
  dbKind,
  expectData,
  expectError,
  fixture,
  GRAY_MODEL,
  grayWithTwoVersions,
  type TestApp,
} from '../helpers/test-app';

const SET_REMOTE = `mutation($ref: VersionRefInput!, $remote: RemoteBackendInput) {
  setVersionRemote(ref: $ref, remote: $remote) { version status remote { url model modelVersion protocol timeoutMs } } }`;
const PREDICT = `query($ref: VersionRefInput!, $image: ImageInput!) {
  predict(ref: $ref, image: $image, topK: 3) { resolvedBy executionProvider modelVersion { version } top { label probability } } }`;
const LOAD = `mutation($ref: VersionRefInput!) { loadVersion(ref: $ref) { state reason executionProvider } }`;
const LOADED = `{ loadedVersions { modelVersion { version } state reason executionProvider } }`;
const START = `mutation($input: StartExperimentInput!) { startExperiment(input: $input) { id arms { name modelVersion { version } } } }`;
const ARMS = `query($id: ID!) { experiment(id: $id) { arms { name requests errors } } }`;

/** Deterministic 8x8 grayscale PNGs: the gray model's own input size, varied pixels. */
async function images(n: number): Promise<string[]> {
  const out: string[] = [];
  let seed = 12345;
  for (let k = 0; k < n; k++) {
    const pixels = Buffer.alloc(64);
    for (let i = 0; i < 64; i++) pixels[i] = (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 256;
    out.push(
      (
        await sharp(pixels, { raw: { width: 8, height: 8, channels: 1 } })
          .png()
          .toBuffer()
      ).toString('base64'),
    );
  }
  return out;
}

type Scores = Record<string, number>;
const scores = (p: { top: { label: string; probability: number }[] }): Scores =>
  Object.fromEntries(p.top.map((s) => [s.label, s.probability]));

describe(`remote inference over the Open Inference Protocol, against an OIP protocol double (${dbKind()})`, () => {
  let t: TestApp;
  let double: OipDouble;
  let pngs: string[];
  const v1 = { model: 'gray', version: 1 };
  const setRemote = (remote: Record<string, unknown> | null, key = t.keys.admin, ref = v1) =>
    t.gql(SET_REMOTE, { ref, remote }, key);
  const predict = (image: string, ref: Record<string, unknown> = v1) =>
    t.gql(PREDICT, { ref, image: { base64: image } }, t.keys.viewer);

  beforeAll(async () => {
    double = await startOipDouble({
      gray: { file: fixture('gray8x8-3class.onnx'), versions: ['1'] },
      'gray-batch1': { file: fixture('gray8x8-3class-batch1.onnx'), versions: ['1'] },
      rgb: { file: fixture('rgb-dynamic-4class.onnx'), versions: ['1'] },
    });
    pngs = await images(6);
  }, 60_000);
  afterAll(() => double.close());

  beforeEach(async () => {
    t = await createTestApp({
      config: {
        // Small numbers so a test sees the breaker open and close in well under a second of waiting.
        remoteInference: {
          retries: 2,
          retryBackoffMs: 10,
          breakerMinRequests: 3,
          breakerWindowMs: 60_000,
          breakerResetMs: 300,
        },
      },
    });
    await grayWithTwoVersions(t);
    double.heal();
    double.ready = true;
  });
  afterEach(() => t.close());

  it('serves a version from the double with the binary extension and with JSON, scoring within 1e-6 of the local runtime', async () => {
    const local: Scores[] = [];
    for (const png of pngs) {
      const p = expectData(await predict(png)).predict;
      expect(p.executionProvider).toBe('cpu');
      local.push(scores(p));
    }
    for (const protocol of ['BINARY', 'JSON'] as const) {
      const before = { ...double.received };
      const set = expectData(await setRemote({ url: `${double.url}/`, model: 'gray', modelVersion: '1', protocol }));
      // Shown on the version, trailing slash dropped, defaults filled in.
      expect(set.setVersionRemote).toEqual({
        version: 1,
        status: 'READY',
        remote: { url: double.url, model: 'gray', modelVersion: '1', protocol, timeoutMs: 10_000 },
      });
      for (const [i, png] of pngs.entries()) {
        const p = expectData(await predict(png)).predict;
        expect(p.executionProvider).toBe(`oip:${new URL(double.url).host}`);
        const remote = scores(p);
        for (const label of GRAY_MODEL.labels) expect(Math.abs(remote[label]! - local[i]![label]!)).toBeLessThan(1e-6);
      }
      // Every prediction (and the load's warm-up) reached the double in the chosen encoding only.
      const key = protocol === 'BINARY' ? 'binary' : 'json';
      const other = protocol === 'BINARY' ? 'json' : 'binary';
      expect(double.received[key] - before[key]).toBeGreaterThanOrEqual(pngs.length);
      expect(double.received[other]).toBe(before[other]);
    }
    // A speed measurement times round trips to the engine (values are the machine's: only their presence is checked).
    const arrived = double.arrivals;
    const speed = expectData(
      await t.gql(
        `mutation($ref: VersionRefInput!) { measureVersionSpeed(ref: $ref) { executionProvider batch1Ms throughputBatchSize } }`,
        { ref: v1 },
        t.keys.operator,
      ),
    ).measureVersionSpeed;
    expect(speed).toMatchObject({
      executionProvider: `oip:${new URL(double.url).host}`,
      throughputBatchSize: expect.any(Number),
    });
    expect(speed.batch1Ms).toBeGreaterThan(0);
    expect(double.arrivals - arrived).toBeGreaterThanOrEqual(2);
    const loaded = expectData(await t.gql(LOADED, {}, t.keys.viewer)).loadedVersions;
    expect(loaded.find((l: any) => l.modelVersion.version === 1)).toMatchObject({
      state: 'READY',
      executionProvider: `oip:${new URL(double.url).host}`,
    });
    // Back to the local runtime: unloaded, then loaded locally on next use.
    expect(expectData(await setRemote(null)).setVersionRemote.remote).toBeNull();
    expect(expectData(await predict(pngs[0]!)).predict.executionProvider).toBe('cpu');
  });

  it('needs admin and an http(s) URL', async () => {
    expectError(await setRemote({ url: double.url, model: 'gray' }, t.keys.operator), 'FORBIDDEN');
    const bad = expectError(await setRemote({ url: 'file:///etc/passwd', model: 'gray' }), 'BAD_USER_INPUT');
    expect(bad.message).toContain('url must be http(s)');
    expectError(await setRemote({ url: 'not a url', model: 'gray' }), 'BAD_USER_INPUT');
    expectError(await setRemote({ url: double.url, model: 'a/b' }), 'BAD_USER_INPUT');
    expectError(await setRemote({ url: double.url, model: 'gray', timeoutMs: 0 }), 'BAD_USER_INPUT');
  });

  it('refuses at load a remote model whose metadata does not match the signature, an unknown model and a server not ready', async () => {
    expectData(await setRemote({ url: double.url, model: 'rgb' }));
    const mismatch = expectError(await t.gql(LOAD, { ref: v1 }, t.keys.admin), 'MODEL_LOAD_FAILED');
    expect(mismatch.message).toContain('does not match the version');
    expect(mismatch.message).toContain('input "input" has shape [-1, 3, -1, -1] remotely but [-1, 1, 8, 8]');
    expect(mismatch.message).toContain('output "logits" has shape [-1, 4] remotely but [-1, 3]');
    // Requests are told the same, with its stable code, without asking the remote again.
    expectError(await predict(pngs[0]!), 'MODEL_LOAD_FAILED');

    // A new setting gets a load of its own: the FAILED mark is lifted.
    expectData(await setRemote({ url: double.url, model: 'missing' }));
    expect(expectError(await predict(pngs[0]!), 'MODEL_LOAD_FAILED').message).toContain('has no such model: 404');

    double.ready = false;
    expectData(await setRemote({ url: double.url, model: 'gray' }));
    expect(expectError(await predict(pngs[0]!), 'BACKEND_UNAVAILABLE').message).toContain('/v2/health/ready');
    double.ready = true;
    expect(expectData(await predict(pngs[0]!)).predict.top).toHaveLength(3);

    // The batch-1 graph has a fixed batch dimension: the dynamic-batch version does not fit it.
    expectData(await setRemote({ url: double.url, model: 'gray-batch1' }));
    expect(expectError(await predict(pngs[0]!), 'MODEL_LOAD_FAILED').message).toContain(
      'has shape [1, 1, 8, 8] remotely but [-1, 1, 8, 8]',
    );
  });

  it('retries transient failures, times out, opens the breaker (BACKEND_UNAVAILABLE without a request) and closes it after a probe', async () => {
    expectData(await setRemote({ url: double.url, model: 'gray', timeoutMs: 200 }));
    expect(expectData(await predict(pngs[0]!)).predict.top).toHaveLength(3);

    // 503s and a closed socket are retried: the prediction still succeeds.
    const sent = double.received.binary;
    double.inject({ status: 503 }, 1);
    double.inject({ drop: true }, 1);
    expect(expectData(await predict(pngs[1]!)).predict.top).toHaveLength(3);
    expect(double.received.binary - sent).toBe(1);
    // A 400 is the remote refusing the request: not retried.
    double.inject({ status: 400 }, 1);
    expect(expectError(await predict(pngs[1]!), 'BACKEND_UNAVAILABLE').message).toContain('injected 400');

    // Every answer now outlives the timeout: each prediction tries 1 + 2 retries, then TIMEOUT,
    // until the breaker opens.
    double.inject({ delayMs: 1000 }, 100);
    const codes: string[] = [];
    let arrived = double.arrivals;
    expectError(await predict(pngs[2]!), 'TIMEOUT');
    expect(double.arrivals - arrived).toBe(3);
    for (let i = 0; i < 10 && !codes.includes('BACKEND_UNAVAILABLE'); i++) {
      const r = await predict(pngs[2]!);
      codes.push(r.errors?.[0]?.extensions?.code);
    }
    expect(codes.at(-1)).toBe('BACKEND_UNAVAILABLE');
    expect(codes.slice(0, -1).every((c) => c === 'TIMEOUT')).toBe(true);

    // Open: fails fast, with retryAfterMs, and the double is not asked.
    double.heal();
    arrived = double.arrivals;
    const open = expectError(await predict(pngs[3]!), 'BACKEND_UNAVAILABLE');
    expect(open.extensions?.retryAfterMs).toBeGreaterThan(0);
    expect(open.message).toContain('fail fast');
    expect(double.arrivals).toBe(arrived);

    // After breakerResetMs (and the double's late answers) a probe goes through; the engine is healthy
    // again, so the breaker closes.
    await new Promise((r) => setTimeout(r, 1100));
    expect(expectData(await predict(pngs[3]!)).predict.top).toHaveLength(3);
    expect(double.arrivals).toBe(arrived + 1);
    expect(expectData(await predict(pngs[4]!)).predict.top).toHaveLength(3);
  });

  it('an experiment arm can be a remote version: its predictions go to the double and agree with the same version run locally', async () => {
    const v2 = { model: 'gray', version: 2 };
    const localV2 = scores(expectData(await predict(pngs[0]!, v2)).predict);
    // v2 is a batch-1 graph (its own weights): the double serves the same file.
    expectData(await setRemote({ url: double.url, model: 'gray-batch1' }, t.keys.admin, { model: 'gray', version: 2 }));
    const e = expectData(
      await t.gql(
        START,
        {
          input: {
            model: 'gray',
            name: 'remote v2',
            arms: [{ name: 'v2', ref: { model: 'gray', version: 2 }, weight: 0.5 }],
            seed: 7,
          },
        },
        t.keys.admin,
      ),
    ).startExperiment;
    const before = double.received.binary;
    const byArm: Record<string, Scores[]> = { control: [], v2: [] };
    const providers = new Set<string>();
    for (let i = 0; i < 24; i++) {
      const p = expectData(await predict(pngs[0]!, { model: 'gray' })).predict;
      const arm = p.resolvedBy.endsWith('/v2') ? 'v2' : 'control';
      byArm[arm]!.push(scores(p));
      providers.add(`${arm}:${p.executionProvider}`);
    }
    expect(providers).toEqual(new Set(['control:cpu', `v2:oip:${new URL(double.url).host}`]));
    // Its predictions, and the warm-up of its load (setVersionRemote unloaded the local v2).
    expect(double.received.binary - before).toBe(byArm.v2!.length + 1);
    for (const s of byArm.v2!)
      for (const label of GRAY_MODEL.labels) expect(Math.abs(s[label]! - localV2[label]!)).toBeLessThan(1e-6);
    await t.app.services.experiments.settle();
    const arms = expectData(await t.gql(ARMS, { id: e.id }, t.keys.viewer)).experiment.arms;
    expect(arms.map((a: any) => [a.name, a.requests > 0, a.errors])).toEqual([
      ['control', true, 0],
      ['v2', true, 0],
    ]);
  });
  it('the CLI points a version at a remote engine and back (versions remote)', async () => {
    const server = await startServer(t.app, { port: 0, host: '127.0.0.1' });
    const restore = withEnv({ MODELGATE_URL: undefined, MODELGATE_API_KEY: undefined });
    const run = (...args: string[]) => cli('--url', server.url, '--key', t.keys.admin, ...args);
    try {
      const set = await run(
        'versions',
        'remote',
        'gray',
        '1',
        '--engine',
        double.url,
        '--model',
        'gray',
        '--model-version',
        '1',
        '--protocol',
        'json',
        '--timeout-ms',
        '5000',
      );
      expect([set.status, set.err]).toEqual([0, '']);
      expect(set.out).toContain(`gray v1 is served by ${double.url}`);
      const shown = JSON.parse((await run('--json', 'versions', 'show', 'gray', '1')).out).modelVersion.remote;
      expect(shown).toEqual({ url: double.url, model: 'gray', modelVersion: '1', protocol: 'JSON', timeoutMs: 5000 });
      const json = double.received.json;
      expect(expectData(await predict(pngs[0]!)).predict.executionProvider).toBe(`oip:${new URL(double.url).host}`);
      expect(double.received.json).toBeGreaterThan(json);
      expect(await run('versions', 'remote', 'gray', '1', '--engine', 'ftp://x', '--model', 'gray')).toMatchObject({
        status: 1,
        err: expect.stringContaining('BAD_USER_INPUT'),
      });
      expect((await run('versions', 'remote', 'gray', '1')).status).toBe(1);
      expect((await run('versions', 'remote', 'gray', '1', '--clear')).status).toBe(0);
      expect(expectData(await predict(pngs[0]!)).predict.executionProvider).toBe('cpu');
    } finally {
      restore();
      await server.close();
    }
  });
});
