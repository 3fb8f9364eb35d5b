import pino from 'pino';
import { ArtifactStore, digestFile } from '../../src/artifacts/artifact-store';
import { internalError, timedOut } from '../../src/common/errors';
import { loadConfig } from '../../src/config/config';
import type {
  BackendLoaded,
  BackendLoadOptions,
  BackendOutput,
  BackendOutputs,
  BenchmarkResult,
  InferenceBackend,
} from '../../src/inference/backend';
import { ModelManager, type Target, type VersionStatusReports } from '../../src/inference/model-manager';
import { parseInputSpec } from '../../src/registry/input-spec';
import type { VersionRecord } from '../../src/registry/version.repository';
import { FIXTURES, GRAY_MODEL } from '../helpers/test-app';

const FILE = 'gray8x8-3class.onnx';

const tick = () => new Promise<void>((r) => setImmediate(r));

/** A backend that answers at once with 3 scores per image; `fail` makes its next load or run throw. */
class FakeBackend implements InferenceBackend {
  readonly name = 'fake';
  readonly events: string[] = [];
  /** The options of each load, in order. */
  readonly loads: BackendLoadOptions[] = [];
  fail: { load?: Error; run?: Error } = {};
  /** Runs wait for release() while this is on. */
  hold = false;
  private held: (() => void)[] = [];

  providers = async () => [];
  inspect = async (): Promise<never> => {
    throw new Error('not used');
  };

  async load(key: string, _file: string, options: BackendLoadOptions): Promise<BackendLoaded> {
    this.events.push(`load ${key}`);
    this.loads.push(options);
    await tick();
    const error = this.fail.load;
    this.fail.load = undefined;
    if (error) throw error;
    return { provider: 'cpu', warnings: [], memoryBytes: 1000, inputs: [], outputs: [] };
  }

  async run(_key: string, input: { dims: number[] }): Promise<BackendOutput> {
    const error = this.fail.run;
    this.fail.run = undefined;
    if (error) throw error;
    if (this.hold) await new Promise<void>((r) => this.held.push(r));
    const n = input.dims[0]!;
    return { data: new Float32Array(n * 3).fill(1), dims: [n, 3], ms: 1 };
  }

  runOutputs(): Promise<BackendOutputs> {
    throw new Error('not used by the model manager');
  }

  /** Records the shape it was asked to time; "runs" take 2 ms per image. */
  async benchmark(key: string, input: { name: string; dims: number[] }): Promise<BenchmarkResult> {
    this.events.push(`benchmark ${key} ${input.dims.join('x')}`);
    await tick();
    const ms = 2 * input.dims[0]!;
    return { medianMs: ms, runs: 20, minMs: ms, maxMs: ms };
  }

  async untilHeld(): Promise<void> {
    while (this.held.length === 0) await tick();
  }

  release(): void {
    this.hold = false;
    for (const r of this.held.splice(0)) r();
  }

  async unload(key: string): Promise<void> {
    this.events.push(`unload ${key}`);
    await tick();
  }

  async close(): Promise<void> {}
}

describe('the model manager', () => {
  let sha256: string;
  beforeAll(async () => {
    sha256 = (await digestFile(`${FIXTURES}/${FILE}`)).sha256;
  });

  const setup = (opts: { budget?: number; pinned?: number[] } = {}) => {
    const backend = new FakeBackend();
    const versions = {
      markLoadFailed: jest.fn(async () => undefined),
      clearLoadFailure: jest.fn(async () => undefined),
      pinnedVersionIds: async () => new Set(opts.pinned ?? []),
    } satisfies VersionStatusReports;
    const base = loadConfig({});
    const config = loadConfig({}, { inference: { ...base.inference, memoryBudgetBytes: opts.budget ?? 2 ** 30 } });
    const manager = new ModelManager({
      backend,
      versions,
      artifacts: new ArtifactStore(FIXTURES),
      config,
      logger: pino({ level: 'silent' }),
    });
    const target = (id: number, record: Partial<VersionRecord> = {}): Target => ({
      record: {
        id,
        version: id,
        status: 'READY',
        statusReason: null,
        localPath: FILE,
        sha256,
        signature: { batch: 'dynamic' },
        tags: {},
        remote: null,
        executionProviders: [],
        updatedAt: new Date(1_000),
        ...record,
      } as VersionRecord,
      model: { name: 'gray', inputSpec: parseInputSpec(GRAY_MODEL.inputSpec) },
    });
    const predict = (t: Target) => manager.use(t, (m) => m.run(new Float32Array(64)));
    return { backend, versions, manager, target, predict };
  };

  it('loads a version once for concurrent first requests, and counts its requests', async () => {
    const { backend, manager, target, predict } = setup();
    const results = await Promise.all(Array.from({ length: 5 }, () => predict(target(1))));
    expect(results.every((r) => r.output.length === 3)).toBe(true);
    expect(backend.events).toEqual(['load 1']);
    expect(manager.list()).toMatchObject([{ versionId: 1, state: 'READY', provider: 'cpu', requests: 5 }]);
    await manager.close();
  });

  it("loads a version again when its row, newer, changed its remote engine or providers (another gateway's write)", async () => {
    const { backend, manager, target, predict } = setup();
    await predict(target(1));
    // The same settings in a newer row, or other settings in an older (stale) one: nothing to do.
    await predict(target(1, { updatedAt: new Date(2_000) }));
    await predict(target(1, { executionProviders: ['webgpu', 'cpu'], updatedAt: new Date(500) }));
    expect(backend.events).toEqual(['load 1']);
    await predict(target(1, { executionProviders: ['webgpu', 'cpu'], updatedAt: new Date(3_000) }));
    expect(backend.events).toEqual(['load 1', 'unload 1', 'load 1']);
    expect(backend.loads.at(-1)!.providers).toEqual(['webgpu', 'cpu']);
    await predict(target(1, { executionProviders: ['webgpu', 'cpu'], updatedAt: new Date(3_000) }));
    expect(backend.events).toHaveLength(3);
    await manager.close();
  });

  it('marks a version whose file changed FAILED through the registry, and loads it again when asked', async () => {
    const { backend, versions, manager, target, predict } = setup();
    const changed = target(1, { sha256: 'f'.repeat(64) });
    await expect(predict(changed)).rejects.toMatchObject({
      code: 'MODEL_LOAD_FAILED',
      message: expect.stringMatching(/^gray v1 failed to load: its artifact no longer matches its sha256/),
    });
    expect(versions.markLoadFailed).toHaveBeenCalledWith(1, expect.stringContaining('sha256'));
    expect(backend.events).toEqual(['unload 1']);
    // Permanent: it stays FAILED, and requests are told so without another try.
    expect(manager.list()).toMatchObject([{ state: 'FAILED', reason: expect.stringContaining('sha256') }]);
    await expect(predict(changed)).rejects.toMatchObject({ code: 'MODEL_LOAD_FAILED' });
    // The registry's FAILED status alone refuses a version the runtime does not hold.
    await manager.unload(1);
    const failed = target(1, { status: 'FAILED', statusReason: 'failed to load: x' });
    await expect(predict(failed)).rejects.toMatchObject({
      code: 'MODEL_LOAD_FAILED',
      message: 'gray v1 is FAILED: failed to load: x',
    });
    // Repaired, and loaded by an admin: READY, and the registry is told.
    expect(await manager.load(failed)).toMatchObject({ state: 'READY', provider: 'cpu' });
    expect(versions.clearLoadFailure).toHaveBeenCalledWith(1);
    await manager.close();
  });

  it('answers MODEL_NOT_READY for a transient failure and TIMEOUT for a warm-up that timed out, and retries both', async () => {
    const { backend, versions, manager, target, predict } = setup();
    backend.fail.load = internalError('the inference worker stopped: exit code 1');
    await expect(predict(target(1))).rejects.toMatchObject({
      code: 'MODEL_NOT_READY',
      message: 'gray v1 could not be loaded now: the inference worker stopped: exit code 1',
    });
    expect(manager.list()).toEqual([]);
    backend.fail.run = timedOut('inference did not finish within INFERENCE_TIMEOUT_S (0.05 s)');
    await expect(predict(target(1))).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect((await predict(target(1))).batchSize).toBe(1);
    expect(backend.events.filter((e) => e.startsWith('load'))).toHaveLength(3);
    expect(versions.markLoadFailed).not.toHaveBeenCalled();
    await manager.close();
  });

  it('fails what waits on a version being unloaded with MODEL_NOT_READY, and loads it again on next use', async () => {
    const { backend, manager, target, predict } = setup();
    await predict(target(1));
    backend.hold = true;
    const running = predict(target(1));
    await backend.untilHeld();
    const queued = predict(target(1));
    await tick();
    const unloaded = manager.unload(1);
    // A request during the unload waits for it, then loads the version again.
    const next = predict(target(1));
    backend.release();
    expect(manager.list()).toEqual([]);
    await expect(queued).rejects.toMatchObject({ code: 'MODEL_NOT_READY', message: 'gray v1 was unloaded' });
    expect(await unloaded).toBe(true);
    await expect(running).resolves.toMatchObject({ batchSize: 1 });
    await expect(next).resolves.toMatchObject({ batchSize: 1 });
    expect(backend.events).toEqual(['load 1', 'unload 1', 'load 1']);
    expect(await manager.unload(2)).toBe(false);
    await manager.close();
  });

  it('unloads the least recently used unpinned version when over budget', async () => {
    // gray8x8-3class.onnx is 970 bytes: 1.5 times that is counted for each; two fit, three do not.
    const { backend, manager, target, predict } = setup({ budget: 3000, pinned: [1] });
    await predict(target(1));
    await predict(target(2));
    await predict(target(3));
    expect(manager.list().map((l) => [l.versionId, l.pinned])).toEqual([
      [1, true],
      [3, false],
    ]);
    expect(backend.events.filter((e) => e.startsWith('unload'))).toEqual(['unload 2']);
    await manager.close();
  });

  it('forgets the versions of a worker that died: they load again on next use', async () => {
    const { backend, manager, target, predict } = setup();
    await predict(target(1));
    manager.forget(['1']);
    expect(manager.list()).toEqual([]);
    await predict(target(1));
    expect(backend.events).toEqual(['load 1', 'load 1']);
    await manager.close();
  });

  it('measures speed on the version loaded, at batch 1 and 32 of its input size, or at its fixed batch size', async () => {
    const { backend, manager, target } = setup();
    const speed = await manager.measureSpeed(target(1));
    expect(backend.events).toEqual(['load 1', 'benchmark 1 1x1x8x8', 'benchmark 1 32x1x8x8']);
    expect(speed).toMatchObject({
      batch1Ms: 2,
      batch32ImagesPerSecond: 500,
      throughputBatchSize: 32,
      executionProvider: 'cpu',
      input: { width: 8, height: 8, channels: 1, layout: 'NCHW' },
    });
    expect(speed.threads).toBeGreaterThan(0);
    // A graph whose batch dimension is fixed at 1 runs one image at a time: one benchmark serves both.
    const fixed = await manager.measureSpeed(target(2, { signature: { batch: 1 } }));
    expect(backend.events.slice(3)).toEqual(['load 2', 'benchmark 2 1x1x8x8']);
    expect(fixed).toMatchObject({ batch1Ms: 2, batch32ImagesPerSecond: 500, throughputBatchSize: 1 });
    expect(manager.list().every((l) => l.state === 'READY')).toBe(true);
    await manager.close();
  });
});
