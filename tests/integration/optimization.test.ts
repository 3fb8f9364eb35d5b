import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { main } from '../../src/cli/main';
import { loadConfig } from '../../src/config/config';
import { seedDemo } from '../../src/importers/demo';
import { graphOps, isWeightOnlyQuantized } from '../../src/inference/graph-ops';
import { OnnxBackend } from '../../src/inference/onnx-backend';
import type { BackendLoadOptions } from '../../src/inference/backend';
import type { Int8Quantizer } from '../../src/optimization/optimization-runner';
import { OptimizationRepository } from '../../src/optimization/optimization.repository';
import { lstmClassifier, staticInt8Classifier } from '../helpers/onnx-graphs';
import {
  createTestApp,
  dbKind,
  expectData,
  expectError,
  fixture,
  GRAY_MODEL,
  type TestApp,
  type TestAppOptions,
} from '../helpers/test-app';

const FIELDS = `id status phase progress itemsDone total error compare nonInferiorityMargin calibrationMethod calibrationLimit
  source { version } dataset { name version }
  derived { id version status parent { version } sizeBytes derivation { method calibrationDataset calibrationItems calibrationMethod tool quantizedNodes optimization { id } } }
  comparison { id status verdict nonInferior nonInferiorityMargin baseline { version } candidate { version } dataset { name } n }`;
const OPTIMIZE = `mutation($input: OptimizeVersionInput!) { optimizeVersion(input: $input) { ${FIELDS} } }`;
const GET = `query($id: ID!) { optimization(id: $id) { ${FIELDS} } }`;
const CANCEL = `mutation($id: ID!) { cancelOptimization(id: $id) { id status } }`;

const active = (s: string) => s === 'QUEUED' || s === 'RUNNING';

/** Polls the optimization until `until` holds (the test's timeout is the limit). */
async function waitFor(t: TestApp, id: string, until: (o: any) => boolean): Promise<any> {
  for (;;) {
    const o = expectData(await t.gql(GET, { id }, t.keys.viewer)).optimization;
    if (until(o)) return o;
    await new Promise((r) => setTimeout(r, 100));
  }
}
/** The job ended, and so did its comparison (if any). */
const settled = (o: any) => !active(o.status) && !(o.comparison && active(o.comparison.status));

/**
 * A stand-in for the int8 quantizer (src/optimization/quantizer.ts): the calibration graph is the
 * source itself (its logits as the one tensor), and the "quantized" graph a small real QDQ graph
 * of the gray model's shape. It checks what the job hands it, so the job's pipeline is tested on
 * its own: calibration batches, storage, registration, comparison, resumption.
 */
function standInQuantizer(): Int8Quantizer & { batches: number[] } {
  const batches: number[] = [];
  return {
    batches,
    planInt8: (source) => ({
      calibrationModel: source,
      inputName: 'input',
      tensors: ['logits'],
      quantizableNodes: 1,
      foldedDequantize: 0,
    }),
    calibrator: () => {
      const c = {
        items: 0,
        observe(outputs: Record<string, { data: Float32Array; dims: number[] }>) {
          expect(Object.keys(outputs)).toEqual(['logits']);
          expect(outputs.logits!.dims[1]).toBe(3);
          batches.push(outputs.logits!.dims[0]!);
        },
        countItems(n: number) {
          c.items += n;
        },
      };
      return c;
    },
    buildInt8: (_plan, calibrator, method) => ({
      model: staticInt8Classifier(),
      method,
      calibrationItems: (calibrator as unknown as { items: number }).items,
      quantizedNodes: 1,
      tool: 'stand-in 0',
    }),
  };
}

/** The gray model (v1: Flatten → Gemm), and a tiny labeled dataset "shapes": the same 8x8 PNG under each label. */
async function grayRegistry(t: TestApp): Promise<void> {
  const admin = t.app.localActor();
  await t.app.services.models.register(admin, GRAY_MODEL);
  await t.app.services.versions.register(admin, { model: 'gray', artifactPath: fixture('gray8x8-3class.onnx') });
  const stored = await t.app.artifacts.commit(await t.app.artifacts.stage(fixture('png-renamed.onnx')));
  const items = (labels: string[], n: number) =>
    labels.flatMap((_, label) =>
      Array.from({ length: n }, (_, k) => ({ path: `${label}-${k}.png`, labelIndex: label, sha256: stored.sha256 })),
    );
  await t.app.services.datasets.create(admin, {
    name: 'shapes',
    labels: GRAY_MODEL.labels,
    storageUri: 'artifacts/sha256',
    items: items(GRAY_MODEL.labels, 4),
  });
  await t.app.services.datasets.create(admin, {
    name: 'letters',
    labels: ['a', 'b'],
    storageUri: 'artifacts/sha256',
    items: items(['a', 'b'], 2),
  });
}

/** Registers `bytes` as the next version of gray (written to a temporary file first). */
async function registerGraph(t: TestApp, bytes: Buffer): Promise<number> {
  const file = path.join(t.dataDir, `graph-${Date.now()}-${Math.random()}.onnx`);
  writeFileSync(file, bytes);
  return (await t.app.services.versions.register(t.app.localActor(), { model: 'gray', artifactPath: file })).version;
}

const gray = (version: number) => ({ model: 'gray', version });
const int8Input = (ref: object, dataset = 'shapes', more: object = {}) => ({
  input: { ref, method: 'INT8_STATIC', calibration: { dataset, limit: 5 }, ...more },
});

/** Every runOutputs call: the tensors asked for, the images in the batch, the bytes returned (the spy calls through). */
function spyRunOutputs(): { runs: { names: string[]; images: number; bytes: number }[]; restore: () => void } {
  const runs: { names: string[]; images: number; bytes: number }[] = [];
  const original = OnnxBackend.prototype.runOutputs;
  const spy = jest.spyOn(OnnxBackend.prototype, 'runOutputs').mockImplementation(async function (
    this: OnnxBackend,
    key,
    input,
    names,
  ) {
    const images = input.dims[0]!;
    const result = await original.call(this, key, input, names);
    const bytes = Object.values(result.outputs).reduce((n, o) => n + o.data.byteLength, 0);
    runs.push({ names, images, bytes });
    return result;
  });
  return { runs, restore: () => spy.mockRestore() };
}

/** Every backend load, with its key and options (the spy calls through). */
function spyLoads(): { loads: { key: string; options: BackendLoadOptions }[]; restore: () => void } {
  const loads: { key: string; options: BackendLoadOptions }[] = [];
  const original = OnnxBackend.prototype.load;
  const spy = jest.spyOn(OnnxBackend.prototype, 'load').mockImplementation(function (this: OnnxBackend, key, file, o) {
    loads.push({ key, options: o });
    return original.call(this, key, file, o);
  });
  return { loads, restore: () => spy.mockRestore() };
}

describe(`optimizeVersion: checks and refusals (${dbKind()})`, () => {
  let t: TestApp;
  let lstm: number;
  let qdq: number;
  beforeAll(async () => {
    t = await createTestApp({ quantizer: standInQuantizer() });
    await grayRegistry(t);
    lstm = await registerGraph(t, lstmClassifier());
    qdq = await registerGraph(t, staticInt8Classifier(13));
    // No runner: jobs stay QUEUED.
  }, 60_000);
  afterAll(() => t.close());

  it('refuses a graph with operators it cannot quantize safely, naming them (BAD_USER_INPUT)', async () => {
    const e = expectError(await t.gql(OPTIMIZE, int8Input(gray(lstm)), t.keys.operator), 'BAD_USER_INPUT');
    expect(e.message).toContain(`gray v${lstm} cannot be made static int8`);
    expect(e.message).toContain('LSTM');
    expect(e.extensions!.details).toEqual({ reason: 'UNSUPPORTED_OPERATORS', operators: ['LSTM'] });
  });

  it('refuses an already statically quantized graph (CONFLICT)', async () => {
    const e = expectError(await t.gql(OPTIMIZE, int8Input(gray(qdq)), t.keys.operator), 'CONFLICT');
    expect(e.message).toMatch(/already statically quantized \(it has QuantizeLinear\)/);
    expect(e.extensions!.details).toEqual({ reason: 'ALREADY_STATIC', operators: ['QuantizeLinear'] });
  });

  it('refuses a calibration dataset whose images do not fit the version (BAD_USER_INPUT)', async () => {
    const e = expectError(await t.gql(OPTIMIZE, int8Input(gray(1), 'letters'), t.keys.operator), 'BAD_USER_INPUT');
    expect(e.message).toMatch(/^dataset letters@1 does not fit gray v1: mismatched labels/);
    expect(e.extensions!.details).toMatchObject({ field: 'calibration.dataset', datasetLabels: ['a', 'b'] });
    // The comparison's dataset too, when it is another.
    expect(
      expectError(
        await t.gql(OPTIMIZE, int8Input(gray(1), 'shapes', { comparisonDataset: 'letters' }), t.keys.operator),
        'BAD_USER_INPUT',
      ).extensions!.details,
    ).toMatchObject({ field: 'comparisonDataset' });
  });

  it('checks its input and the caller', async () => {
    expectError(await t.gql(OPTIMIZE, int8Input(gray(1)), t.keys.viewer), 'FORBIDDEN');
    expectError(await t.gql(OPTIMIZE, int8Input(gray(1), 'nope'), t.keys.operator), 'NOT_FOUND');
    expectError(await t.gql(OPTIMIZE, int8Input(gray(99)), t.keys.operator), 'NOT_FOUND');
    const limit = (l: number) => ({
      input: { ref: gray(1), method: 'INT8_STATIC', calibration: { dataset: 'shapes', limit: l } },
    });
    expectError(await t.gql(OPTIMIZE, limit(0), t.keys.operator), 'BAD_USER_INPUT');
    expectError(await t.gql(OPTIMIZE, limit(100_001), t.keys.operator), 'BAD_USER_INPUT');
    expectError(
      await t.gql(OPTIMIZE, int8Input(gray(1), 'shapes', { nonInferiorityMargin: 2 }), t.keys.operator),
      'BAD_USER_INPUT',
    );
    expectError(await t.gql(`{ optimization(id: "x") { id } }`, {}, t.keys.viewer), 'BAD_USER_INPUT');
    expect(expectData(await t.gql(`{ optimization(id: "424242") { id } }`, {}, t.keys.viewer)).optimization).toBeNull();
  });

  it('queues once per request, with the defaults; a queued job cancels at once', async () => {
    const input = { input: { ref: gray(1), method: 'INT8_STATIC', calibration: { dataset: 'shapes' } } };
    const [a, b] = await Promise.all(
      [0, 1].map(async () => expectData(await t.gql(OPTIMIZE, input, t.keys.operator)).optimizeVersion),
    );
    expect(a.id).toBe(b.id);
    expect(a).toMatchObject({
      status: 'QUEUED',
      phase: 'CALIBRATING',
      progress: 0,
      itemsDone: 0,
      // 200 by default, of the 12 images there are.
      calibrationLimit: 200,
      total: 12,
      compare: true,
      nonInferiorityMargin: 0.01,
      calibrationMethod: 'PERCENTILE',
      source: { version: 1 },
      dataset: { name: 'shapes', version: 1 },
      derived: null,
      comparison: null,
    });
    const listed = expectData(await t.gql(`{ optimizations(model: "gray") { id } }`, {}, t.keys.viewer)).optimizations;
    expect(listed).toEqual([{ id: a.id }]);
    expect(expectData(await t.gql(CANCEL, { id: a.id }, t.keys.operator)).cancelOptimization.status).toBe('CANCELLED');
    expectError(await t.gql(CANCEL, { id: a.id }, t.keys.operator), 'CONFLICT');
    expectError(await t.gql(CANCEL, { id: a.id }, t.keys.viewer), 'FORBIDDEN');
  });
});

describe(`the optimization job, with a stand-in quantizer (${dbKind()})`, () => {
  let t: TestApp;
  let spy: ReturnType<typeof spyLoads>;
  const quantizer = standInQuantizer();
  beforeAll(async () => {
    spy = spyLoads();
    t = await createTestApp({ quantizer });
    await grayRegistry(t);
    t.app.startWorkers();
  }, 60_000);
  afterAll(async () => {
    spy.restore();
    await t.close();
  });

  it('calibrates in batches (the first image alone), registers the next version with its parent and derivation, and compares it', async () => {
    const queued = expectData(
      await t.gql(
        OPTIMIZE,
        { input: { ...int8Input(gray(1)).input, calibration: { dataset: 'shapes', limit: 11 } } },
        t.keys.operator,
      ),
    ).optimizeVersion;
    const o = await waitFor(t, queued.id, settled);
    expect(o).toMatchObject({
      status: 'SUCCEEDED',
      phase: 'DONE',
      progress: 1,
      itemsDone: 11,
      total: 11,
      error: null,
      derived: {
        version: 2,
        status: 'READY',
        parent: { version: 1 },
        derivation: {
          method: 'INT8_STATIC',
          calibrationDataset: 'shapes@1',
          calibrationItems: 11,
          calibrationMethod: 'PERCENTILE',
          tool: 'stand-in 0',
          quantizedNodes: 1,
          optimization: { id: queued.id },
        },
      },
      comparison: {
        status: 'SUCCEEDED',
        baseline: { version: 1 },
        candidate: { version: 2 },
        dataset: { name: 'shapes' },
        nonInferiorityMargin: 0.01,
        n: 12,
      },
    });
    expect(o.comparison.verdict).not.toBeNull();
    expect(o.comparison.nonInferior).not.toBeNull();
    // Batches of 8 at most, in dataset order: 8, then the 3 left.
    // The first image alone (each tensor's size is learned from it), then batches of 8.
    expect(quantizer.batches).toEqual([1, 8, 2]);
    // The parent lists it; `versions show` and the UI read the same fields.
    const v1 = expectData(
      await t.gql(
        `{ modelVersion(ref: { model: "gray", version: 1 }) { derivation { method } children { version } } }`,
        {},
        t.keys.viewer,
      ),
    ).modelVersion;
    expect(v1).toEqual({ derivation: null, children: [{ version: 2 }] });

    // Session options follow the graph: the static int8 version and the calibration graph load with
    // their QDQ nodes kept (disable_quant_qdq unset): folding them would disable the int8 kernels.
    const derived = await t.app.db.prisma.modelVersion.findUniqueOrThrow({ where: { id: Number(o.derived.id) } });
    expect(isWeightOnlyQuantized(await graphOps(t.app.artifacts.absolute(derived.localPath)))).toBe(false);
    const loads = spy.loads.filter((l) => l.key === String(derived.id) || l.key.startsWith(`optimization-${o.id}-`));
    expect(
      loads.map((l) => [l.key.startsWith('optimization-') ? 'calibration' : 'derived', l.options.disableQuantQdq]),
    ).toEqual([
      ['calibration', false],
      ['derived', false],
    ]);
    // The calibration graph was written under DATA_DIR/tmp and is gone.
    expect(readdirSync(path.join(t.dataDir, 'tmp')).filter((f) => f.endsWith('.onnx'))).toEqual([]);

    // The result is statically quantized: optimizing it again is a CONFLICT.
    expectError(await t.gql(OPTIMIZE, int8Input(gray(2)), t.keys.operator), 'CONFLICT');
  }, 120_000);

  it('registers nothing new for a repeated request with the same result, and can skip the comparison', async () => {
    const o = await waitFor(
      t,
      expectData(await t.gql(OPTIMIZE, int8Input(gray(1), 'shapes', { compare: false }), t.keys.operator))
        .optimizeVersion.id,
      settled,
    );
    // The same bytes from the same parent: the version registered before.
    expect(o).toMatchObject({
      status: 'SUCCEEDED',
      phase: 'DONE',
      compare: false,
      comparison: null,
      derived: { version: 2 },
    });
    expect(await t.app.db.prisma.modelVersion.count({ where: { model: { name: 'gray' } } })).toBe(2);
  }, 60_000);
});

describe(`an optimization whose gateway dies mid-job (${dbKind()})`, () => {
  it('resumes on restart from its last checkpoint, without registering a second version', async () => {
    const config = { comparisons: { ...loadConfig({}).comparisons, leaseMs: 1500 } };
    const opts = (): TestAppOptions => ({ config, quantizer: standInQuantizer() });
    const first = await createTestApp({ ...opts(), pgliteOnDisk: true });
    await grayRegistry(first);
    first.app.startWorkers();
    // The "kill": right after the version is registered, before the job records it.
    const original = OptimizationRepository.prototype.checkpoint;
    const stall = jest.spyOn(OptimizationRepository.prototype, 'checkpoint').mockImplementation(function (
      this: OptimizationRepository,
      id,
      owner,
      leaseMs,
      step,
    ) {
      if (step.derivedId !== undefined) return new Promise(() => undefined);
      return original.call(this, id, owner, leaseMs, step);
    });
    const job = expectData(await first.gql(OPTIMIZE, int8Input(gray(1)), first.keys.operator)).optimizeVersion;
    const prisma = first.app.db.prisma;
    while ((await prisma.modelVersion.count({ where: { parentId: { not: null } } })) === 0)
      await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 200));
    expect(await prisma.optimization.findUniqueOrThrow({ where: { id: Number(job.id) } })).toMatchObject({
      status: 'RUNNING',
      phase: 'REGISTERING',
      derivedId: null,
      done: 5,
    });
    await first.app.services.inference.close();
    await first.app.db.close();
    stall.mockRestore();

    const second = await createTestApp({
      ...opts(),
      reuse: { dataDir: first.dataDir, databaseUrl: first.config.databaseUrl },
    });
    try {
      second.app.startWorkers();
      const o = await waitFor(second, job.id, settled);
      expect(o).toMatchObject({
        status: 'SUCCEEDED',
        derived: { version: 2, parent: { version: 1 } },
        comparison: { status: 'SUCCEEDED' },
      });
      expect(await second.app.db.prisma.modelVersion.count({ where: { model: { name: 'gray' } } })).toBe(2);
    } finally {
      await second.close();
    }
  }, 120_000);
});

// With the int8 quantizer of src/optimization/quantizer.ts.

// A calibration budget of 64 KB: the champion's largest tensor (16x28x28 floats, 49 KB per image)
// fits once per run, so every batch is calibrated one image and a tensor or two per run.
const BUDGET_MB = 1 / 16;

describe(`optimizeVersion on the demo registry (${dbKind()})`, () => {
  let t: TestApp;
  let spy: ReturnType<typeof spyLoads>;
  let runs: ReturnType<typeof spyRunOutputs>;
  beforeAll(async () => {
    spy = spyLoads();
    runs = spyRunOutputs();
    t = await createTestApp({
      config: { comparisons: { ...loadConfig({}).comparisons, calibrationMemoryBytes: BUDGET_MB * 2 ** 20 } },
    });
    await seedDemo(t.app);
    t.app.startWorkers();
  }, 180_000);
  afterAll(async () => {
    spy.restore();
    runs.restore();
    await t.close();
  });

  it('makes the champion a READY static int8 version with its parent and derivation, and compares them', async () => {
    const queued = expectData(
      await t.gql(
        OPTIMIZE,
        {
          input: {
            ref: { model: 'fashion-classifier', version: 2 },
            method: 'INT8_STATIC',
            calibration: { dataset: 'fashion-smoke', limit: 16 },
          },
        },
        t.keys.operator,
      ),
    ).optimizeVersion;
    const o = await waitFor(t, queued.id, settled);
    expect(o).toMatchObject({
      status: 'SUCCEEDED',
      itemsDone: 16,
      derived: {
        version: 4,
        status: 'READY',
        parent: { version: 2 },
        derivation: {
          method: 'INT8_STATIC',
          calibrationDataset: 'fashion-smoke@1',
          calibrationItems: 16,
          calibrationMethod: 'PERCENTILE',
        },
      },
      comparison: {
        status: 'SUCCEEDED',
        baseline: { version: 2 },
        candidate: { version: 4 },
        n: 100,
        nonInferiorityMargin: 0.01,
      },
    });
    expect(o.derived.derivation.tool).toBeTruthy();
    expect(o.comparison.verdict).not.toBeNull();
    const derived = await t.app.db.prisma.modelVersion.findUniqueOrThrow({ where: { id: Number(o.derived.id) } });
    const ops = await graphOps(t.app.artifacts.absolute(derived.localPath));
    expect(ops.has('QuantizeLinear')).toBe(true);
    expect(spy.loads.filter((l) => l.key === String(derived.id)).map((l) => l.options.disableQuantQdq)).toEqual([
      false,
    ]);
    // CALIBRATION_MEMORY_MB: no run returned more than the budget (unless it asked for one tensor),
    // and every tensor still saw all 16 images.
    const budget = BUDGET_MB * 2 ** 20;
    expect(runs.runs.length).toBeGreaterThan(16);
    for (const r of runs.runs) if (r.names.length > 1) expect(r.bytes).toBeLessThanOrEqual(budget);
    const seen = new Map<string, number>();
    for (const r of runs.runs) for (const n of r.names) seen.set(n, (seen.get(n) ?? 0) + r.images);
    expect(seen.size).toBeGreaterThan(1);
    expect(new Set(seen.values())).toEqual(new Set([16]));
    expectError(
      await t.gql(
        OPTIMIZE,
        {
          input: {
            ref: { model: 'fashion-classifier', version: 4 },
            method: 'INT8_STATIC',
            calibration: { dataset: 'fashion-smoke' },
          },
        },
        t.keys.operator,
      ),
      'CONFLICT',
    );
  }, 180_000);
});

describe(`modelgate optimize (${dbKind()})`, () => {
  let t: TestApp;
  const saved = { ...process.env };
  beforeAll(async () => {
    t = await createTestApp({ pgliteOnDisk: true });
    await grayRegistry(t);
    await t.close({ keep: true });
    process.env.DATA_DIR = t.dataDir;
    if (t.config.databaseUrl) process.env.DATABASE_URL = t.config.databaseUrl;
    else delete process.env.DATABASE_URL;
    process.env.LOG_LEVEL = 'silent';
    delete process.env.MODELGATE_URL;
    delete process.env.MODELGATE_API_KEY;
  }, 60_000);
  afterAll(async () => {
    process.env = saved;
    // Deletes the data directory and, on PostgreSQL, the database.
    const cleanup = await createTestApp({ reuse: { dataDir: t.dataDir, databaseUrl: t.config.databaseUrl } });
    await cleanup.close();
  });

  async function cli(...args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const status = await main(['node', 'modelgate', ...args], { out: (s) => out.push(s), err: (s) => err.push(s) });
    return { status, out: out.join('\n'), err: err.join('\n') };
  }

  it('makes an int8 version, waits for it and its comparison, and prints the verdict', async () => {
    expect(await cli('optimize', 'gray@1', '--calibration', 'shapes')).toMatchObject({
      status: 1,
      err: expect.stringContaining('error [BAD_USER_INPUT]: choose how to optimize: --int8'),
    });
    const r = await cli('optimize', 'gray@1', '--int8', '--calibration', 'shapes', '--limit', '6', '--wait');
    expect(r.err).toMatch(/optimization \d+: /);
    expect(r).toMatchObject({ status: 0 });
    expect(r.out).toMatch(/^derived +gray v2 \(READY\), from v1$/m);
    expect(r.out).toMatch(/^calibrationItems +6$/m);
    expect(r.out).toMatch(/^verdict +(CANDIDATE_BETTER|BASELINE_BETTER|NO_SIGNIFICANT_DIFFERENCE)$/m);
    const shown = await cli('versions', 'show', 'gray', '2');
    expect(shown.out).toMatch(/^parent .*"version":1/m);
    expect(shown.out).toMatch(/^derivation .*"method":"INT8_STATIC".*"calibrationDataset":"shapes@1"/m);
    const refused = await cli('optimize', 'gray@2', '--int8', '--calibration', 'shapes');
    expect(refused).toMatchObject({ status: 1, err: expect.stringContaining('error [CONFLICT]') });
  }, 120_000);

  it('queues without waiting', async () => {
    const r = await cli('optimize', 'gray@1', '--int8', '--calibration', 'shapes', '--limit', '3', '--no-compare');
    expect(r).toMatchObject({ status: 0, out: expect.stringMatching(/^optimization \d+ is QUEUED/) });
  }, 60_000);
});
