import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import pino from 'pino';
import { seedDemo } from '../../src/importers/demo';
import { loadConfig } from '../../src/config/config';
import { startServer } from '../../src/http/server';
import { OnnxBackend } from '../../src/inference/onnx-backend';
import { createTestApp, dbKind, expectData, expectError, fixture, GRAY_MODEL, type TestApp } from '../helpers/test-app';

const RECORDED = JSON.parse(
  readFileSync(path.resolve(__dirname, '..', '..', 'models', 'metrics', 'evaluation.json'), 'utf8'),
);
const ARTIFACT = ['fashion-resnet50', 'fashion-small-cnn', 'fashion-bn-cnn'];
const PREDICT = `query($ref: VersionRefInput!, $image: ImageInput!, $topK: Int) {
  predict(ref: $ref, image: $image, topK: $topK) { resolvedBy executionProvider timingsMs top { index label probability } modelVersion { version } } }`;
const PREDICT_BATCH = `query($ref: VersionRefInput!, $images: [ImageInput!]!) {
  predictBatch(ref: $ref, images: $images, topK: 10) { timingsMs top { index probability } } }`;
const LOADED = `{ loadedVersions { modelVersion { version } state reason executionProvider memoryMB requests pinned } }`;

interface SmokeItem {
  bytes: Buffer;
  label: number;
}

describe(`inference on the demo registry (${dbKind()})`, () => {
  let t: TestApp;
  let smoke: SmokeItem[];
  const ref = (version: number) => ({ model: 'fashion-classifier', version });
  const predict = (version: number, bytes: Buffer, key = t.keys.viewer) =>
    t.gql(PREDICT, { ref: ref(version), image: { base64: bytes.toString('base64') }, topK: 3 }, key);
  const loaded = async () => expectData(await t.gql(LOADED, {}, t.keys.viewer)).loadedVersions as any[];

  beforeAll(async () => {
    t = await createTestApp();
    const seeded = await seedDemo(t.app);
    expect([seeded!.dvc.failed, seeded!.mlflow.failed]).toEqual([0, 0]);
    const dataset = await t.app.db.prisma.dataset.findFirstOrThrow({
      where: { name: 'fashion-smoke' },
      include: { items: { orderBy: { ordinal: 'asc' } } },
    });
    smoke = dataset.items.map((i) => ({
      bytes: readFileSync(path.join(t.dataDir, 'artifacts', 'sha256', i.sha256.slice(0, 2), i.sha256)),
      label: i.labelIndex,
    }));
  }, 180_000);
  afterAll(() => t.close());

  it('classifies the smoke set through GraphQL with every demo version, within 3 points of the recorded accuracy', async () => {
    for (const version of [1, 2, 3]) {
      // 100 concurrent requests: they share batches, as clients' requests would.
      const results = await Promise.all(smoke.map((item) => predict(version, item.bytes)));
      const correct = results.filter((r, i) => expectData(r).predict.top[0].index === smoke[i]!.label).length;
      const recorded = RECORDED[ARTIFACT[version - 1]!].smoke.correct as number;
      expect([version, Math.abs(correct - recorded) <= 3]).toEqual([version, true]);
      const first = expectData(results[0]!).predict;
      expect(first).toMatchObject({ resolvedBy: 'version', executionProvider: 'cpu', modelVersion: { version } });
      expect(first.top).toHaveLength(3);
      expect(first.top[0].probability).toBeGreaterThanOrEqual(first.top[1].probability);
      expect(Object.keys(first.timingsMs).sort()).toEqual([
        'batchSize',
        'decode',
        'inference',
        'preprocess',
        'queue',
        'total',
      ]);
      expect(Math.max(...results.map((r) => expectData(r).predict.timingsMs.batchSize))).toBeGreaterThan(1);
    }
    const state = await loaded();
    expect(state.map((l) => [l.modelVersion.version, l.state, l.executionProvider, l.pinned]).sort()).toEqual([
      [1, 'READY', 'cpu', true],
      [2, 'READY', 'cpu', true],
      [3, 'READY', 'cpu', false],
    ]);
    expect(state.every((l) => l.requests >= 100 && l.memoryMB > 0)).toBe(true);
  }, 120_000);

  it('gives the same scores batched as one at a time, and resolves aliases and the default route', async () => {
    const images = smoke.slice(0, 12);
    const single: any[] = [];
    for (const item of images) {
      const r = expectData(
        await t.gql(PREDICT_BATCH, { ref: ref(3), images: [{ base64: item.bytes.toString('base64') }] }, t.keys.viewer),
      );
      expect(r.predictBatch[0].timingsMs.batchSize).toBe(1);
      single.push(r.predictBatch[0]);
    }
    const batched = expectData(
      await t.gql(
        PREDICT_BATCH,
        { ref: ref(3), images: images.map((i) => ({ base64: i.bytes.toString('base64') })) },
        t.keys.viewer,
      ),
    ).predictBatch;
    expect(Math.max(...batched.map((b: any) => b.timingsMs.batchSize))).toBeGreaterThan(1);
    batched.forEach((b: any, i: number) => {
      const a = single[i];
      expect(b.top.map((s: any) => s.index)).toEqual(a.top.map((s: any) => s.index));
      b.top.forEach((s: any, j: number) => expect(Math.abs(s.probability - a.top[j].probability)).toBeLessThan(1e-5));
    });
    const alias = expectData(
      await t.gql(
        PREDICT,
        {
          ref: { model: 'fashion-classifier', alias: 'baseline' },
          image: { base64: smoke[0]!.bytes.toString('base64') },
        },
        t.keys.viewer,
      ),
    ).predict;
    expect([alias.resolvedBy, alias.modelVersion.version, alias.top]).toEqual(['alias:baseline', 1, expect.any(Array)]);
    expect(alias.top).toHaveLength(5);
    const dflt = expectData(
      await t.gql(
        PREDICT,
        {
          ref: { model: 'fashion-classifier' },
          image: { base64: `data:image/png;base64,${smoke[0]!.bytes.toString('base64')}` },
        },
        t.keys.viewer,
      ),
    ).predict;
    expect([dflt.resolvedBy, dflt.modelVersion.version]).toEqual(['default', 2]);
  });

  it('refuses bad images with INVALID_IMAGE or PAYLOAD_TOO_LARGE and keeps serving', async () => {
    expect(expectError(await predict(2, Buffer.from('not an image at all')), 'INVALID_IMAGE').message).toMatch(/image/);
    expect(expectError(await predict(2, smoke[0]!.bytes.subarray(0, 60)), 'INVALID_IMAGE').message).toMatch(
      /truncated|corrupt|image/,
    );
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28"><rect width="28" height="28"/></svg>',
    );
    expect(expectError(await predict(2, svg), 'INVALID_IMAGE').message).toContain('svg');
    expectError(await t.gql(PREDICT, { ref: ref(2), image: {} }, t.keys.viewer), 'BAD_USER_INPUT');
    expectError(await t.gql(PREDICT, { ref: ref(2), image: { base64: '%%%' } }, t.keys.viewer), 'INVALID_IMAGE');
    expectError(
      await t.gql(PREDICT, { ref: ref(2), image: { base64: smoke[0]!.bytes.toString('base64') } }),
      'UNAUTHENTICATED',
    );
    expect(expectData(await predict(2, smoke[0]!.bytes)).predict.top).toHaveLength(3);
  });

  it('accepts multipart uploads over HTTP (apollo-require-preflight) and refuses them without the header', async () => {
    const server = await startServer(t.app, { port: 0, host: '127.0.0.1' });
    try {
      const form = () => {
        const body = new FormData();
        body.set(
          'operations',
          JSON.stringify({ query: PREDICT, variables: { ref: ref(2), image: { upload: null }, topK: 1 } }),
        );
        body.set('map', JSON.stringify({ 0: ['variables.image.upload'] }));
        body.set('0', new Blob([smoke[0]!.bytes], { type: 'image/png' }), 'shirt.png');
        return body;
      };
      const url = `${server.url.replace('localhost', '127.0.0.1')}/graphql`;
      const ok = await fetch(url, {
        method: 'POST',
        body: form(),
        headers: { authorization: `Bearer ${t.keys.viewer}`, 'apollo-require-preflight': 'true' },
      });
      const json = (await ok.json()) as any;
      expect(json.errors).toBeUndefined();
      expect(json.data.predict.top).toHaveLength(1);
      const csrf = await fetch(url, {
        method: 'POST',
        body: form(),
        headers: { authorization: `Bearer ${t.keys.viewer}` },
      });
      expect(csrf.status).toBe(400);
    } finally {
      await server.close();
    }
  });

  it('marks a version whose artifact no longer matches its sha256 FAILED, answers MODEL_LOAD_FAILED, and reloads it once repaired', async () => {
    const admin = t.keys.admin;
    expect(expectData(await predict(3, smoke[0]!.bytes)).predict.modelVersion.version).toBe(3);
    expect(
      expectData(await t.gql(`mutation { unloadVersion(ref: { model: "fashion-classifier", version: 3 }) }`, {}, admin))
        .unloadVersion,
    ).toBe(true);
    const record = await t.app.db.prisma.modelVersion.findFirstOrThrow({
      where: { version: 3, model: { name: 'fashion-classifier' } },
    });
    const file = t.app.artifacts.absolute(record.localPath);
    const original = readFileSync(file);
    chmodSync(file, 0o644);
    const corrupt = Buffer.from(original);
    corrupt[corrupt.length - 10] ^= 0xff;
    writeFileSync(file, corrupt);
    expect(expectError(await predict(3, smoke[0]!.bytes), 'MODEL_LOAD_FAILED').message).toContain('sha256');
    const { modelVersion } = expectData(
      await t.gql(
        `{ modelVersion(ref: { model: "fashion-classifier", version: 3 }) { status statusReason } }`,
        {},
        t.keys.viewer,
      ),
    );
    expect(modelVersion.status).toBe('FAILED');
    expect(modelVersion.statusReason).toContain('sha256');
    expectError(await predict(3, smoke[0]!.bytes), 'MODEL_LOAD_FAILED');
    writeFileSync(file, original);
    expectError(
      await t.gql(
        `mutation { loadVersion(ref: { model: "fashion-classifier", version: 3 }) { state } }`,
        {},
        t.keys.operator,
      ),
      'FORBIDDEN',
    );
    const reload = expectData(
      await t.gql(
        `mutation { loadVersion(ref: { model: "fashion-classifier", version: 3 }) { state executionProvider } }`,
        {},
        admin,
      ),
    ).loadVersion;
    expect(reload).toEqual({ state: 'READY', executionProvider: 'cpu' });
    expect(expectData(await predict(3, smoke[0]!.bytes)).predict.modelVersion.version).toBe(3);
  });

  it('unloads a version under load: requests succeed or get MODEL_NOT_READY, never an internal error', async () => {
    expect(expectData(await predict(3, smoke[0]!.bytes)).predict.modelVersion.version).toBe(3);
    const inFlight = Promise.all(smoke.slice(0, 40).map((i) => predict(3, i.bytes)));
    await new Promise((r) => setTimeout(r, 5));
    expectData(
      await t.gql(`mutation { unloadVersion(ref: { model: "fashion-classifier", version: 3 }) }`, {}, t.keys.admin),
    );
    for (const r of await inFlight) {
      if (r.errors) expect(r.errors[0]!.extensions!.code).toBe('MODEL_NOT_READY');
      else expect(r.data!.predict.modelVersion.version).toBe(3);
    }
    expect(expectData(await predict(3, smoke[0]!.bytes)).predict.modelVersion.version).toBe(3);
  });

  it('loads a version once for concurrent first requests', async () => {
    await t.gql(`mutation { unloadVersion(ref: { model: "fashion-classifier", version: 2 }) }`, {}, t.keys.admin);
    const load = jest.spyOn(OnnxBackend.prototype, 'load');
    try {
      const results = await Promise.all(smoke.slice(0, 10).map((i) => predict(2, i.bytes)));
      results.forEach((r) => expectData(r));
      expect(load).toHaveBeenCalledTimes(1);
    } finally {
      load.mockRestore();
    }
  });
});

describe(`inference under a tiny memory budget, with an unavailable provider requested (${dbKind()})`, () => {
  let t: TestApp;
  const lines: string[] = [];
  beforeAll(async () => {
    const logger = pino(
      { level: 'info' },
      new Writable({ write: (chunk, _e, cb) => (lines.push(String(chunk)), cb()) }),
    );
    t = await createTestApp({
      logger,
      config: { inference: { ...loadConfig({}).inference, memoryBudgetBytes: 1, providers: ['cuda'] } },
    });
    await seedDemo(t.app);
  }, 180_000);
  afterAll(() => t.close());

  it('falls back to CPU with a logged warning, unloads least recently used versions and keeps pinned ones', async () => {
    const png = readFileSync(path.join(t.dataDir, 'artifacts', 'sha256', ...(await firstSmokeSha(t))));
    const run = async (version: number) =>
      expectData(
        await t.gql(
          PREDICT,
          { ref: { model: 'fashion-classifier', version }, image: { base64: png.toString('base64') } },
          t.keys.viewer,
        ),
      ).predict;
    expect((await run(3)).executionProvider).toBe('cpu');
    expect(lines.some((l) => l.includes('execution provider unavailable') && l.includes('cuda'))).toBe(true);
    const versions = async () =>
      (expectData(await t.gql(LOADED, {}, t.keys.viewer)).loadedVersions as any[])
        .map((l) => l.modelVersion.version)
        .sort();
    expect(await versions()).toEqual([3]);
    await run(1); // pinned (baseline): loading it unloads v3, the only unpinned one
    expect(await versions()).toEqual([1]);
    await run(2); // pinned (champion)
    await run(3);
    expect(await versions()).toEqual([1, 2, 3]);
    // Without its alias v2 is unpinned: loading it again unloads v3, the least recently used.
    expectData(
      await t.gql(`mutation { removeAlias(model: "fashion-classifier", alias: "champion") }`, {}, t.keys.admin),
    );
    expectData(
      await t.gql(`mutation { unloadVersion(ref: { model: "fashion-classifier", version: 2 }) }`, {}, t.keys.admin),
    );
    await run(2);
    expect(await versions()).toEqual([1, 2]);
    await run(3);
    expect(await versions()).toEqual([1, 3]);
    expect(lines.some((l) => l.includes('least recently used'))).toBe(true);
  });
});

describe(`inference with two worker threads under mixed concurrent load (${dbKind()})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ config: { inference: { ...loadConfig({}).inference, workers: 2, maxQueueDelayMs: 1 } } });
    await seedDemo(t.app);
  }, 180_000);
  afterAll(() => t.close());

  // onnxruntime has crashed with several sessions in worker threads (microsoft/onnxruntime#24486):
  // three sessions over two workers, 240 interleaved requests, and registry reads in between.
  it('serves all three versions at once, with registry queries answered in between', async () => {
    const png = readFileSync(path.join(t.dataDir, 'artifacts', 'sha256', ...(await firstSmokeSha(t))));
    const image = { base64: png.toString('base64') };
    const work = Array.from({ length: 240 }, (_, i) =>
      i % 10 === 9
        ? t
            .gql(`{ model(name: "fashion-classifier") { versions { version status } } }`, {}, t.keys.viewer)
            .then((r) => expectData(r).model.versions.length)
        : t
            .gql(PREDICT, { ref: { model: 'fashion-classifier', version: (i % 3) + 1 }, image, topK: 1 }, t.keys.viewer)
            .then((r) => expectData(r).predict.modelVersion.version),
    );
    const results = await Promise.all(work);
    expect(results.filter((r, i) => i % 10 !== 9 && r === (i % 3) + 1)).toHaveLength(216);
    const loaded = expectData(await t.gql(LOADED, {}, t.keys.viewer)).loadedVersions as any[];
    expect(loaded.map((l) => l.state)).toEqual(['READY', 'READY', 'READY']);
  });

  // INFERENCE_NICE (default 10): the worker threads and the onnxruntime pools they created yield the
  // CPU to the gateway's own threads; the gateway's thread keeps its nice value.
  (process.platform === 'linux' ? it : it.skip)(
    'runs models in threads with nice INFERENCE_NICE, and leaves the gateway thread alone',
    () => {
      const nice = (tid: string) => {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
      };
      const tids = readdirSync('/proc/self/task');
      expect(t.app.config.inference.nice).toBe(10);
      expect(nice(String(process.pid))).toBe(0);
      // Two worker threads, each (with more than one intra-op thread) with a pool thread of its own.
      const pools = t.app.config.inference.intraOpThreads > 1 ? 2 : 0;
      expect(tids.filter((tid) => nice(tid) === 10).length).toBeGreaterThanOrEqual(2 + pools);
    },
  );

  it('survives a worker thread dying: its models load again on next use', async () => {
    const png = readFileSync(path.join(t.dataDir, 'artifacts', 'sha256', ...(await firstSmokeSha(t))));
    const image = { base64: png.toString('base64') };
    const v1 = await t.app.db.prisma.modelVersion.findFirstOrThrow({
      where: { version: 1, model: { name: 'fashion-classifier' } },
    });
    const predictV1 = async () =>
      expectData(await t.gql(PREDICT, { ref: { model: 'fashion-classifier', version: 1 }, image }, t.keys.viewer))
        .predict;
    // v1 loads afresh here, and the worker thread holding it is the one sent its load.
    await t.gql(`mutation { unloadVersion(ref: { model: "fashion-classifier", version: 1 }) }`, {}, t.keys.admin);
    const sent = jest.spyOn(Worker.prototype, 'postMessage');
    let holder: Worker | undefined;
    try {
      expect((await predictV1()).modelVersion.version).toBe(1);
      const load = sent.mock.calls.findIndex(([msg]) => msg?.type === 'load' && msg.key === String(v1.id));
      holder = sent.mock.contexts[load] as Worker | undefined;
    } finally {
      sent.mockRestore();
    }
    expect(holder).toBeInstanceOf(Worker);
    // As if it crashed (not through the backend's own close()); between runs, because terminating
    // a thread inside onnxruntime's run() aborts the whole process (what close() avoids).
    await holder!.terminate();
    expect((await predictV1()).modelVersion.version).toBe(1);
    const loaded = expectData(await t.gql(LOADED, {}, t.keys.viewer)).loadedVersions as any[];
    expect(loaded.find((l) => l.modelVersion.version === 1)).toMatchObject({ state: 'READY', requests: 1 });
  });
});

describe(`inference on a graph with a fixed batch dimension of 1 (${dbKind()})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it("runs a fixed-batch graph's concurrent requests one at a time, and a dynamic-batch graph's together", async () => {
    const actor = t.app.localActor();
    await t.app.services.models.register(actor, { ...GRAY_MODEL, name: 'gray' });
    await t.app.services.versions.register(actor, { model: 'gray', artifactPath: fixture('gray8x8-3class.onnx') });
    await t.app.services.versions.register(actor, {
      model: 'gray',
      artifactPath: fixture('gray8x8-3class-batch1.onnx'),
    });
    const image = { base64: readFileSync(fixture('png-renamed.onnx')).toString('base64') }; // a real 8x8 PNG
    const run = (version: number) =>
      t.gql(PREDICT, { ref: { model: 'gray', version }, image }, t.keys.viewer).then((r) => expectData(r).predict);
    const fixed = await Promise.all(Array.from({ length: 6 }, () => run(2)));
    expect(fixed.map((p) => p.timingsMs.batchSize)).toEqual([1, 1, 1, 1, 1, 1]);
    const dynamic = await Promise.all(Array.from({ length: 6 }, () => run(1)));
    expect(Math.max(...dynamic.map((p) => p.timingsMs.batchSize))).toBeGreaterThan(1);
    // Other weights (make_fixtures.py seeds them 1 and 3): each answers with all 3 labels.
    expect([fixed[0].top.length, dynamic[0].top.length]).toEqual([3, 3]);
  });
});

async function firstSmokeSha(t: TestApp): Promise<[string, string]> {
  const item = await t.app.db.prisma.datasetItem.findFirstOrThrow({
    where: { dataset: { name: 'fashion-smoke' } },
    orderBy: { ordinal: 'asc' },
  });
  return [item.sha256.slice(0, 2), item.sha256];
}

describe(`inference runs that outlive INFERENCE_TIMEOUT_S (${dbKind()})`, () => {
  let t: TestApp;
  const image = () => ({ base64: readFileSync(fixture('png-renamed.onnx')).toString('base64') }); // a real 8x8 PNG
  beforeAll(async () => {
    // gray8x8-3class-slow.onnx takes about half a second per image on 2 cores; the limit is 200 ms,
    // well above what the fast model's load and warm-up take even on a loaded machine.
    t = await createTestApp({ config: { inference: { ...loadConfig({}).inference, runTimeoutMs: 200 } } });
    const actor = t.app.localActor();
    for (const name of ['slow', 'fast']) await t.app.services.models.register(actor, { ...GRAY_MODEL, name });
    await t.app.services.versions.register(actor, { model: 'slow', artifactPath: fixture('gray8x8-3class-slow.onnx') });
    await t.app.services.versions.register(actor, { model: 'fast', artifactPath: fixture('gray8x8-3class.onnx') });
  });
  afterAll(() => t.close());

  it('answers TIMEOUT with the reason, keeps serving, and runs other models in a fresh worker', async () => {
    const slow = t.gql(PREDICT, { ref: { model: 'slow', version: 1 }, image: image() }, t.keys.viewer);
    const error = expectError(await slow, 'TIMEOUT');
    expect(error.message).toMatch(
      /^slow v1 could not be loaded now: inference did not finish within INFERENCE_TIMEOUT_S \(0\.2 s\)/,
    );
    // Registry queries and other models are served while the stuck run goes on in the old worker.
    expect(
      expectData(await t.gql(`{ model(name: "slow") { versions { version status } } }`, {}, t.keys.viewer)).model
        .versions,
    ).toEqual([{ version: 1, status: 'READY' }]);
    const fast = expectData(
      await t.gql(PREDICT, { ref: { model: 'fast', version: 1 }, image: image(), topK: 3 }, t.keys.viewer),
    ).predict;
    expect(fast.top).toHaveLength(3);
    const loaded = expectData(await t.gql(LOADED, {}, t.keys.viewer)).loadedVersions as any[];
    expect(loaded).toHaveLength(1);
    expect(loaded[0]).toMatchObject({ state: 'READY', requests: 1 });
  });

  it('fails a run that times out after its version loaded, and loads that version again in another worker', async () => {
    const logger = pino({ level: 'silent' });
    const lost: string[][] = [];
    const backend = new OnnxBackend(1, logger, (keys) => lost.push(keys), { runTimeoutMs: 200 });
    const options = {
      providers: ['cpu'],
      intraOpNumThreads: 2,
      interOpNumThreads: 1,
      disableQuantQdq: false,
      allowSpinning: true,
    };
    const input = () => ({ name: 'input', data: new Float32Array(64).fill(0.5), dims: [1, 1, 8, 8] });
    try {
      await backend.load('slow', fixture('gray8x8-3class-slow.onnx'), options);
      await expect(backend.run('slow', input(), 'logits')).rejects.toMatchObject({ code: 'TIMEOUT' });
      expect(lost).toEqual([['slow']]);
      await expect(backend.run('slow', input(), 'logits')).rejects.toMatchObject({ code: 'MODEL_NOT_READY' });
      await backend.load('fast', fixture('gray8x8-3class.onnx'), options);
      const out = await backend.run('fast', input(), 'logits');
      expect(out.dims).toEqual([1, 3]);
    } finally {
      await backend.close();
    }
  });
});
