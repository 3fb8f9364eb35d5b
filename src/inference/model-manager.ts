import { stat } from 'node:fs/promises';
import { ArtifactIntegrityError, ArtifactMissingError } from '../artifacts/artifact-remote';
import { digestFile, type ArtifactStore } from '../artifacts/artifact-store';
import { DomainError, modelLoadFailed, modelNotReady } from '../common/errors';
import type { Logger } from '../common/logger';
import type { Config, Provider } from '../config/config';
import type { InputSpec } from '../registry/input-spec';
import { storedRemoteBackend, type RemoteBackend } from '../registry/remote-backend';
import type { VersionRecord } from '../registry/version.repository';
import type { VersionService } from '../registry/version.service';
import type { InferenceBackend } from './backend';
import { Batcher, type BatchResult } from './batcher';
import { graphOps, isWeightOnlyQuantized } from './graph-ops';
import { OipBackend, type RecordedSignature } from './oip-backend';
import {
  held,
  label,
  loadFailure,
  ModelLoadError,
  toLoadedVersion,
  unreachable,
  type Entry,
  type Failed,
  type Held,
  type LoadedVersion,
  type Loading,
  type Ready,
  type Unloading,
} from './lifecycle';
import { BATCH1_BENCHMARK, BATCH32_BENCHMARK, throughputBatch } from './speed-benchmark';
import type { InferenceTelemetry } from './telemetry';

export type { LoadedVersion, LoadState } from './lifecycle';

/** What a caller of use() gets: the loaded version's provider and a way to run one input through it. */
export interface ReadyModel {
  readonly provider: string;
  /** One image's tensor through the version, batched with other requests. */
  run(data: Float32Array): Promise<BatchResult>;
}

/** A version's speed in isolation on the runtime that serves it (measureSpeed). */
export interface SpeedMeasurement {
  /** Median ms of one batch-1 run. */
  batch1Ms: number;
  batch1Runs: number;
  /** Images per second at batch THROUGHPUT_BATCH (or the graph's fixed batch size when smaller), from the median run. */
  batch32ImagesPerSecond: number;
  batch32Runs: number;
  /** The batch size the throughput was measured at. */
  throughputBatchSize: number;
  executionProvider: string;
  /** onnxruntime's intra-op threads for the session. */
  threads: number;
  /** The input tensor: the model's inputSpec. */
  input: { width: number; height: number; channels: number; layout: string };
}

export interface Target {
  record: VersionRecord;
  model: { name: string; inputSpec: InputSpec };
}

/** What the runtime tells the registry about loads, and asks it (the registry's VersionService). */
export type VersionStatusReports = Pick<VersionService, 'markLoadFailed' | 'clearLoadFailure' | 'pinnedVersionIds'>;

const tagString = (tags: unknown, key: string): string | undefined => {
  const v = (tags as Record<string, unknown> | null)?.[key];
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
};

const isReady = (e: Entry): e is Ready => e.state === 'READY';

/** The graph's fixed batch size; null when its batch dimension is dynamic. */
const fixedBatch = (target: Target): number | null => {
  const batch = (target.record.signature as { batch?: number | 'dynamic' }).batch;
  return typeof batch === 'number' ? batch : null;
};

/** What a load of the version depends on besides its bytes (held as Held.setup). */
function loadSetup(record: VersionRecord): string {
  return JSON.stringify([
    record.remote ?? null,
    record.executionProviders ?? [],
    tagString(record.tags, 'inference.providers') ?? null,
  ]);
}

/**
 * Loads versions on first use (concurrent first requests share one load), warms them up, keeps them
 * within MODEL_MEMORY_BUDGET_MB by unloading the least recently used ones (never those a pinned
 * alias points at), and marks a version FAILED when its file does not load or no longer matches
 * its sha256. Loads run one at a time, so each one's memory can be measured.
 *
 * Each version is LOADING, READY, FAILED or UNLOADING (lifecycle.ts); a state change puts a new
 * entry in the map, so a request holding an entry can tell whether it is still the current one.
 */
export class ModelManager {
  private readonly entries = new Map<number, Entry>();
  private loadChain: Promise<unknown> = Promise.resolve();
  /** Serves the versions that have a remote engine (ModelVersion.remote) instead of `backend`. */
  private readonly remote: OipBackend;

  constructor(
    private readonly deps: {
      backend: InferenceBackend;
      versions: VersionStatusReports;
      artifacts: ArtifactStore;
      config: Config;
      logger: Logger;
      telemetry?: InferenceTelemetry;
      remote?: OipBackend;
    },
  ) {
    this.remote = deps.remote ?? new OipBackend(deps.config.remoteInference, deps.logger);
  }

  /** The runtime holding a loaded (or failed) version's key: its remote engine, or the local backend. */
  private runtimeOf(key: string): Pick<InferenceBackend, 'run' | 'benchmark' | 'unload'> {
    return this.remote.holds(key) ? this.remote : this.deps.backend;
  }

  /** The backend lost these models (its worker died): they load again on next use. */
  forget(keys: string[]): void {
    for (const e of this.entries.values()) {
      if (!keys.includes(e.key)) continue;
      if (isReady(e)) e.batcher.drain(modelNotReady(`${label(e)} was unloaded: its inference worker stopped`));
      this.entries.delete(e.versionId);
    }
  }

  list(): LoadedVersion[] {
    return [...this.entries.values()].flatMap((e) => toLoadedVersion(e) ?? []);
  }

  /**
   * Runs `fn` with the version loaded and ready; the version cannot be unloaded to make room until
   * `fn` settles.
   */
  async use<T>(target: Target, fn: (model: ReadyModel) => Promise<T>): Promise<T> {
    const entry = await this.acquire(target);
    try {
      return await fn({ provider: entry.provider, run: (data) => this.submit(entry, data) });
    } finally {
      this.release(entry);
    }
  }

  /** Loads the version now (a FAILED one is tried again) and describes it. */
  async load(target: Target): Promise<LoadedVersion> {
    const entry = await this.acquire(target, { retry: true });
    try {
      return toLoadedVersion(entry);
    } finally {
      this.release(entry);
    }
  }

  /**
   * The version's speed, warm, on its own input size: batch-1 latency and batch-32 throughput, each
   * the median of timed runs on a fixed input (speed-benchmark.ts). The runs go through the worker's
   * message chain, so nothing else runs on that worker meanwhile (requests for versions it holds
   * wait); the version stays loaded until it is done.
   */
  async measureSpeed(target: Target): Promise<SpeedMeasurement> {
    const entry = await this.acquire(target);
    try {
      const { config } = this.deps;
      const backend = this.runtimeOf(entry.key);
      const { inputName, outputName, dims } = this.io(target);
      const minMs = config.inference.speedMeasureMs;
      const one = await backend.benchmark(entry.key, { name: inputName, dims: dims(1) }, outputName, {
        ...BATCH1_BENCHMARK,
        minMs,
        maxMs: 3 * minMs,
      });
      // A graph with a fixed batch size smaller than 32 is measured at that size (1: one image per run),
      // a very slow one at the batch that fits THROUGHPUT_RUN_BUDGET_MS.
      const batch = throughputBatch(fixedBatch(target), one.medianMs);
      const many =
        batch === 1
          ? one
          : await backend.benchmark(entry.key, { name: inputName, dims: dims(batch) }, outputName, {
              ...BATCH32_BENCHMARK,
              minMs,
              maxMs: 10 * minMs,
            });
      const spec = target.model.inputSpec;
      return {
        batch1Ms: one.medianMs,
        batch1Runs: one.runs,
        batch32ImagesPerSecond: (batch * 1000) / many.medianMs,
        batch32Runs: many.runs,
        throughputBatchSize: batch,
        executionProvider: entry.provider,
        threads: config.inference.intraOpThreads,
        input: { width: spec.width, height: spec.height, channels: spec.channels, layout: spec.layout },
      };
    } finally {
      this.release(entry);
    }
  }

  /** The graph's input and output names, and its input dimensions for a batch of n. */
  private io(target: Target) {
    const sig = target.record.signature as { input?: string; output?: string };
    const spec = target.model.inputSpec;
    return {
      inputName: sig.input ?? spec.inputName ?? 'input',
      outputName: sig.output ?? spec.outputName ?? 'output',
      dims: (n: number) =>
        spec.layout === 'NCHW'
          ? [n, spec.channels, spec.height, spec.width]
          : [n, spec.height, spec.width, spec.channels],
    };
  }

  private submit(entry: Ready, data: Float32Array): Promise<BatchResult> {
    entry.requests++;
    return entry.batcher.submit(data);
  }

  private release(entry: Ready): void {
    entry.inUse--;
    entry.lastUsed = new Date();
  }

  /** The version, loaded, ready and marked in use (release() it); MODEL_LOAD_FAILED when it cannot be. */
  private async acquire(target: Target, opts: { retry?: boolean } = {}): Promise<Ready> {
    const id = target.record.id;
    let entry = this.entries.get(id);
    // An unload in progress finishes first; the version then loads again.
    while (entry?.state === 'UNLOADING') {
      await entry.done;
      entry = this.entries.get(id);
    }
    if (entry?.state === 'FAILED' && opts.retry) {
      this.entries.delete(id);
      entry = undefined;
    }
    // Its remote engine or providers changed since it loaded (the registry cache follows every
    // gateway's writes): this copy goes, and the version loads with its new settings.
    if (
      (entry?.state === 'READY' || entry?.state === 'FAILED') &&
      target.record.updatedAt.getTime() > entry.setupAt &&
      entry.setup !== loadSetup(target.record)
    ) {
      await this.unloadEntry(entry);
      return this.acquire(target, opts);
    }
    entry ??= this.startLoad(target, opts);
    const settled = entry.state === 'LOADING' ? await entry.settled : entry;
    switch (settled.state) {
      case 'FAILED':
        // A transient failure (a worker that died, the database) is retried by the next request.
        if (!settled.permanent && this.entries.get(id) === settled) this.entries.delete(id);
        throw loadFailure(settled);
      case 'READY':
        // Unloaded, or lost with its worker, between its load and this request's turn.
        if (this.entries.get(id) !== settled) throw modelNotReady(`${label(settled)} was unloaded`);
        // Marked in the same turn as the check above: no eviction can come in between.
        settled.inUse++;
        settled.lastUsed = new Date();
        return settled;
      default:
        return unreachable(settled);
    }
  }

  /** A LOADING entry for the version, its load queued behind the others. */
  private startLoad(target: Target, opts: { retry?: boolean }): Loading {
    if (target.record.status === 'FAILED' && !opts.retry) {
      throw modelLoadFailed(
        `${target.model.name} v${target.record.version} is FAILED: ${target.record.statusReason ?? 'unknown reason'}`,
      );
    }
    const { config } = this.deps;
    const sig = target.record.signature as { batch?: number | 'dynamic' };
    const tagged = Number(tagString(target.record.tags, 'inference.maxBatchSize'));
    // A graph with a fixed batch dimension runs its requests one at a time.
    const maxBatchSize =
      typeof sig.batch === 'number'
        ? sig.batch
        : Number.isInteger(tagged) && tagged > 0
          ? tagged
          : config.inference.maxBatchSize;
    const loading: Loading = {
      versionId: target.record.id,
      key: String(target.record.id),
      model: target.model.name,
      version: target.record.version,
      maxBatchSize,
      setup: loadSetup(target.record),
      setupAt: target.record.updatedAt.getTime(),
      pinned: false,
      state: 'LOADING',
      settled: this.serialized(() => this.bringUp(loading, target)),
    };
    this.entries.set(loading.versionId, loading);
    return loading;
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.loadChain.then(fn, fn);
    this.loadChain = next.catch(() => undefined);
    return next;
  }

  /** `next` takes the place of `prev`, unless something else took it already (an unload, a lost worker). */
  private replace(prev: Entry, next: Entry): void {
    if (this.entries.get(prev.versionId) === prev) this.entries.set(next.versionId, next);
  }

  /** Execution providers the backend knows by name (bundled here or not). */
  async knownProviders(): Promise<string[]> {
    return (await this.deps.backend.providers()).map((p) => p.name);
  }

  private providersFor(record: VersionRecord): string[] {
    // The version's own preference (setVersionExecutionProviders) first, then its tag, then EXECUTION_PROVIDERS.
    if (record.executionProviders?.length) return [...new Set([...record.executionProviders, 'cpu'])];
    const tagged = tagString(record.tags, 'inference.providers')
      ?.split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    const list: string[] = tagged?.length ? tagged : [...this.deps.config.inference.providers];
    // CPU is always the last resort, so a missing GPU degrades instead of failing.
    return [...new Set([...list, 'cpu' satisfies Provider])];
  }

  /** Checks the file, makes room, loads and warms the version up: READY, or FAILED with the reason. */
  private async bringUp(loading: Loading, target: Target): Promise<Ready | Failed> {
    const { backend, versions, artifacts, config, logger } = this.deps;
    const started = performance.now();
    /** Failures that loading again would repeat: the version is marked FAILED in the registry. */
    const permanent = (message: string) => new ModelLoadError(message, true);
    let ready: Ready;
    try {
      const remote = storedRemoteBackend(target.record.remote);
      if (remote) {
        ready = await this.bringUpRemote(loading, target, remote, started);
        if (target.record.status === 'FAILED') await versions.clearLoadFailure(ready.versionId);
        this.replace(loading, ready);
        logger.info({ model: ready.model, version: ready.version, provider: ready.provider }, 'model loaded (remote)');
        return ready;
      }
      // Downloaded from the shared artifact store first when this gateway lacks the bytes (checked
      // against the registry's sha256 there); an unreachable store is worth another try later.
      const file = await artifacts
        .ensure(target.record)
        .catch((e: Error) =>
          Promise.reject(
            e instanceof ArtifactIntegrityError || e instanceof ArtifactMissingError ? permanent(e.message) : e,
          ),
        );
      const info = await stat(file);
      const { sha256 } = await digestFile(file);
      if (sha256 !== target.record.sha256)
        throw permanent(`its artifact no longer matches its sha256 (${sha256}, registered ${target.record.sha256})`);
      const weightOnly = isWeightOnlyQuantized(
        await graphOps(file).catch((e: Error) =>
          Promise.reject(permanent(`its artifact is not an ONNX graph: ${e.message}`)),
        ),
      );
      // Weight-only int8 files hold fp32 weights once folded: about 4x their size in memory.
      const estimate = (weightOnly ? 4 : 1.5) * info.size;
      await this.makeRoom(estimate, loading.versionId);
      const loaded = await backend
        .load(loading.key, file, {
          providers: this.providersFor(target.record),
          intraOpNumThreads: config.inference.intraOpThreads,
          interOpNumThreads: 1,
          disableQuantQdq: weightOnly,
          allowSpinning: config.inference.spinning,
        })
        // The worker answering that no provider could create the session is about the file; a worker
        // that died (a DomainError) is not.
        .catch((e: Error) => Promise.reject(e instanceof DomainError ? e : permanent(e.message)));
      for (const w of loaded.warnings)
        logger.warn(
          { model: loading.model, version: loading.version, provider: loaded.provider },
          `execution provider unavailable for ${label(loading)}, fell back: ${w}`,
        );
      const batcher = this.batcher(loading, target);
      // Warm-up: the first run allocates and plans; no request should pay for it.
      const spec = target.model.inputSpec;
      await batcher.submit(new Float32Array(spec.channels * spec.height * spec.width));
      ready = {
        ...held(loading),
        state: 'READY',
        provider: loaded.provider,
        batcher,
        // The process-wide RSS delta undercounts after an unload (freed memory is reused): never below the estimate.
        memoryBytes: Math.max(loaded.memoryBytes, estimate),
        loadMs: performance.now() - started,
        loadedAt: new Date(),
        lastUsed: null,
        requests: 0,
        inUse: 0,
      };
      if (target.record.status === 'FAILED') await versions.clearLoadFailure(ready.versionId);
      this.replace(loading, ready);
      logger.info(
        {
          model: ready.model,
          version: ready.version,
          provider: ready.provider,
          weightOnlyInt8: weightOnly,
          ms: Math.round(ready.loadMs),
          memoryMB: Math.round(ready.memoryBytes / 2 ** 20),
        },
        'model loaded',
      );
    } catch (e) {
      return this.failed(loading, e);
    }
    // Over budget once this one is in: unload others now (a failure here does not undo the load).
    await this.makeRoom(0, ready.versionId).catch((err) => logger.warn({ err }, 'could not make room after a load'));
    return ready;
  }

  /**
   * A version served by a remote engine: no local file is read (the remote holds the model), the
   * engine's readiness and model metadata are checked against the version's signature, then one
   * warm-up request goes through the gateway's batcher as every request will.
   */
  private async bringUpRemote(
    loading: Loading,
    target: Target,
    remote: RemoteBackend,
    started: number,
  ): Promise<Ready> {
    const loaded = await this.remote
      .load(loading.key, remote, target.record.signature as RecordedSignature)
      // A remote model that does not fit stays FAILED until an admin changes the setting or loads it again.
      .catch((e: Error) =>
        Promise.reject(
          e instanceof DomainError && e.code === 'MODEL_LOAD_FAILED' ? new ModelLoadError(e.message, true) : e,
        ),
      );
    const batcher = this.batcher(loading, target);
    const spec = target.model.inputSpec;
    await batcher.submit(new Float32Array(spec.channels * spec.height * spec.width));
    return {
      ...held(loading),
      state: 'READY',
      provider: loaded.provider,
      batcher,
      memoryBytes: 0,
      loadMs: performance.now() - started,
      loadedAt: new Date(),
      lastUsed: null,
      requests: 0,
      inUse: 0,
    };
  }

  /** Batches the version's requests into runs of its backend session (local or remote). */
  private batcher(entry: Held, target: Target): Batcher {
    const { config, telemetry } = this.deps;
    const { inputName, outputName, dims } = this.io(target);
    const backend = this.runtimeOf(entry.key);
    return new Batcher(
      async (input, n) => backend.run(entry.key, { name: inputName, data: input, dims: dims(n) }, outputName),
      entry.maxBatchSize,
      Number(tagString(target.record.tags, 'inference.maxQueueDelayMs') ?? config.inference.maxQueueDelayMs),
      (size, ms) => telemetry?.batch({ model: entry.model, version: entry.version, size, ms }),
    );
  }

  /** The load failed: FAILED, the backend's copy released, and the registry told when it is permanent. */
  private async failed(loading: Loading, e: unknown): Promise<Failed> {
    const { versions, logger } = this.deps;
    const backend = this.runtimeOf(loading.key);
    const failed: Failed = {
      ...held(loading),
      state: 'FAILED',
      reason: (e as Error).message.split('\n')[0]!,
      permanent: e instanceof ModelLoadError && e.permanent,
      timedOut: e instanceof DomainError && e.code === 'TIMEOUT',
      backendDown: e instanceof DomainError && e.code === 'BACKEND_UNAVAILABLE',
    };
    this.replace(loading, failed);
    await backend.unload(failed.key).catch(() => undefined);
    if (failed.permanent) {
      // The registry says so too: requests get MODEL_LOAD_FAILED until an admin loads it again.
      await versions
        .markLoadFailed(failed.versionId, failed.reason)
        .catch((err) => logger.error({ err }, 'could not mark the version FAILED'));
    }
    logger.error(
      { model: failed.model, version: failed.version, reason: failed.reason, permanent: failed.permanent },
      'model failed to load',
    );
    return failed;
  }

  /** Unloads least recently used, unpinned versions until `incoming` more bytes fit the budget. */
  private async makeRoom(incoming: number, keep: number): Promise<void> {
    const budget = this.deps.config.inference.memoryBudgetBytes;
    const pinned = await this.deps.versions.pinnedVersionIds(this.deps.config.pinnedAliases);
    for (const e of this.entries.values()) e.pinned = pinned.has(e.versionId);
    const ready = () => [...this.entries.values()].filter(isReady);
    const used = () => ready().reduce((s, e) => s + e.memoryBytes, 0);
    const candidates = ready()
      // Remote versions hold no local memory: unloading them would free nothing.
      .filter((e) => !e.pinned && e.versionId !== keep && e.inUse === 0 && e.batcher.pending === 0 && e.memoryBytes > 0)
      .sort((a, b) => (a.lastUsed?.getTime() ?? 0) - (b.lastUsed?.getTime() ?? 0));
    while (used() + incoming > budget && candidates.length) {
      const victim = candidates.shift()!;
      this.deps.logger.info(
        { model: victim.model, version: victim.version, memoryMB: Math.round(victim.memoryBytes / 2 ** 20) },
        'unloading the least recently used version to stay within MODEL_MEMORY_BUDGET_MB',
      );
      await this.unloadEntry(victim);
    }
    if (used() + incoming > budget) {
      this.deps.logger.warn(
        { usedMB: Math.round(used() / 2 ** 20), budgetMB: Math.round(budget / 2 ** 20) },
        'pinned and in-use versions exceed MODEL_MEMORY_BUDGET_MB',
      );
    }
  }

  /** UNLOADING until the backend let go of it; a stale entry (already replaced) only fails its queue. */
  private async unloadEntry(e: Ready | Failed): Promise<void> {
    const current = this.entries.get(e.versionId) === e;
    let gone!: () => void;
    const unloading: Unloading = { ...held(e), state: 'UNLOADING', done: new Promise<void>((r) => (gone = r)) };
    if (current) this.entries.set(e.versionId, unloading);
    if (isReady(e)) e.batcher.drain(modelNotReady(`${label(e)} was unloaded`));
    try {
      // A stale entry must not unload a newer load of the same version.
      if (current) await this.runtimeOf(e.key).unload(e.key);
    } finally {
      if (this.entries.get(e.versionId) === unloading) this.entries.delete(e.versionId);
      gone();
    }
  }

  /** Unloads a version; false when it was not loaded. */
  async unload(versionId: number): Promise<boolean> {
    const entry = this.entries.get(versionId);
    if (!entry) return false;
    const settled = entry.state === 'LOADING' ? await entry.settled : entry;
    switch (settled.state) {
      case 'UNLOADING':
        await settled.done;
        return false;
      case 'READY':
      case 'FAILED':
        await this.unloadEntry(settled);
        return true;
      default:
        return unreachable(settled);
    }
  }

  async close(): Promise<void> {
    for (const e of this.entries.values()) if (isReady(e)) e.batcher.drain(modelNotReady('the gateway is stopping'));
    this.entries.clear();
    await Promise.all([this.deps.backend.close(), this.remote.close()]);
  }
}
