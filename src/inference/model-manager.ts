import { stat } from 'node:fs/promises';
import { digestFile, type ArtifactStore } from '../artifacts/artifact-store';
import { DomainError, modelLoadFailed, modelNotReady } from '../common/errors';
import type { Logger } from '../common/logger';
import type { Config, Provider } from '../config/config';
import type { InputSpec } from '../registry/input-spec';
import type { VersionRecord } from '../registry/version.repository';
import type { VersionService } from '../registry/version.service';
import type { InferenceBackend } from './backend';
import { Batcher, type BatchResult } from './batcher';
import { graphOps, isWeightOnlyQuantized } from './graph-ops';
import type { InferenceTelemetry } from './telemetry';

export type LoadState = 'LOADING' | 'READY' | 'FAILED';

/** A version as the runtime holds it. */
export interface LoadedVersion {
  versionId: number;
  model: string;
  version: number;
  state: LoadState;
  reason: string | null;
  provider: string | null;
  memoryBytes: number;
  loadMs: number | null;
  loadedAt: Date | null;
  lastUsed: Date | null;
  requests: number;
  maxBatchSize: number;
  /** Whether a pinned alias points at it (it is never evicted). */
  pinned: boolean;
}

interface Entry extends LoadedVersion {
  key: string;
  /** Requests between acquiring it and getting their result: an entry in use is never evicted. */
  inUse: number;
  /** A FAILED load that will fail again (bad or changed file), as opposed to a transient one. */
  permanent: boolean;
  /** The warm-up run outlived INFERENCE_TIMEOUT_S: requests are told TIMEOUT, not MODEL_NOT_READY. */
  timedOut: boolean;
  ready: Promise<void>;
  batcher: Batcher | null;
  inputName: string;
  outputName: string;
}

/** What a caller of use() gets: the loaded version's provider and a way to run one input through it. */
export interface ReadyModel {
  readonly provider: string;
  /** One image's tensor through the version, batched with other requests. */
  run(data: Float32Array): Promise<BatchResult>;
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

/**
 * Loads versions on first use (concurrent first requests share one load), warms them up, keeps them
 * within MODEL_MEMORY_BUDGET_MB by unloading the least recently used ones (never those a pinned
 * alias points at), and marks a version FAILED when its file does not load or no longer matches
 * its sha256. Loads run one at a time, so each one's memory can be measured.
 */
export class ModelManager {
  private readonly entries = new Map<number, Entry>();
  private loadChain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly deps: {
      backend: InferenceBackend;
      versions: VersionStatusReports;
      artifacts: ArtifactStore;
      config: Config;
      logger: Logger;
      telemetry?: InferenceTelemetry;
    },
  ) {}

  /** The backend lost these models (its worker died): they load again on next use. */
  forget(keys: string[]): void {
    for (const e of this.entries.values()) {
      if (!keys.includes(e.key)) continue;
      e.batcher?.drain(modelNotReady(`${e.model} v${e.version} was unloaded: its inference worker stopped`));
      this.entries.delete(e.versionId);
    }
  }

  list(): LoadedVersion[] {
    return [...this.entries.values()].map(
      ({ key: _k, ready: _r, batcher: _b, inputName: _i, outputName: _o, inUse: _u, ...rest }) => ({ ...rest }),
    );
  }

  /**
   * Runs `fn` with the version loaded and ready; the version cannot be unloaded to make room until
   * `fn` settles.
   */
  async use<T>(target: Target, fn: (model: ReadyModel) => Promise<T>, opts: { retry?: boolean } = {}): Promise<T> {
    const entry = await this.acquire(target, opts);
    try {
      return await fn({
        provider: entry.provider!,
        run: (data) => {
          entry.requests++;
          return entry.batcher!.submit(data);
        },
      });
    } finally {
      entry.inUse--;
      entry.lastUsed = new Date();
    }
  }

  /** The version, loaded, ready and marked in use (use() releases it); MODEL_LOAD_FAILED when it cannot be. */
  private async acquire(target: Target, opts: { retry?: boolean } = {}): Promise<Entry> {
    let entry = this.entries.get(target.record.id);
    if (entry?.state === 'FAILED' && opts.retry) {
      this.entries.delete(entry.versionId);
      entry = undefined;
    }
    if (!entry) {
      if (target.record.status === 'FAILED' && !opts.retry) {
        throw modelLoadFailed(
          `${target.model.name} v${target.record.version} is FAILED: ${target.record.statusReason ?? 'unknown reason'}`,
        );
      }
      entry = this.newEntry(target);
      this.entries.set(target.record.id, entry);
      const e = entry;
      e.ready = this.serialized(() => this.load(e, target));
    }
    await entry.ready;
    if (entry.state === 'FAILED') {
      // A transient failure (a worker that died, the database) is retried by the next request.
      if (!entry.permanent && this.entries.get(entry.versionId) === entry) this.entries.delete(entry.versionId);
      const code = entry.permanent ? 'MODEL_LOAD_FAILED' : entry.timedOut ? 'TIMEOUT' : 'MODEL_NOT_READY';
      throw new DomainError(
        code,
        `${entry.model} v${entry.version} ${entry.permanent ? 'failed to load' : 'could not be loaded now'}: ${entry.reason}`,
      );
    }
    // Marked in the same turn as the check above: no eviction can come in between.
    entry.inUse++;
    entry.lastUsed = new Date();
    return entry;
  }

  private newEntry(target: Target): Entry {
    const { config } = this.deps;
    const sig = target.record.signature as { input?: string; output?: string; batch?: number | 'dynamic' };
    const tagged = Number(tagString(target.record.tags, 'inference.maxBatchSize'));
    // A graph with a fixed batch dimension runs its requests one at a time.
    const maxBatchSize =
      typeof sig.batch === 'number'
        ? sig.batch
        : Number.isInteger(tagged) && tagged > 0
          ? tagged
          : config.inference.maxBatchSize;
    return {
      versionId: target.record.id,
      key: String(target.record.id),
      model: target.model.name,
      version: target.record.version,
      state: 'LOADING',
      reason: null,
      provider: null,
      memoryBytes: 0,
      loadMs: null,
      loadedAt: null,
      lastUsed: null,
      requests: 0,
      maxBatchSize,
      pinned: false,
      inUse: 0,
      permanent: false,
      timedOut: false,
      ready: Promise.resolve(),
      batcher: null,
      inputName: sig.input ?? target.model.inputSpec.inputName ?? 'input',
      outputName: sig.output ?? target.model.inputSpec.outputName ?? 'output',
    };
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.loadChain.then(fn, fn);
    this.loadChain = next.catch(() => undefined);
    return next;
  }

  private providersFor(record: VersionRecord): string[] {
    const tagged = tagString(record.tags, 'inference.providers')
      ?.split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    const list: string[] = tagged?.length ? tagged : [...this.deps.config.inference.providers];
    // CPU is always the last resort, so a missing GPU degrades instead of failing.
    return [...new Set([...list, 'cpu' satisfies Provider])];
  }

  private async load(entry: Entry, target: Target): Promise<void> {
    const { backend, versions, artifacts, config, logger } = this.deps;
    const started = performance.now();
    const label = `${entry.model} v${entry.version}`;
    /** Failures that loading again would repeat: the version is marked FAILED in the registry. */
    const permanent = (message: string) => Object.assign(new Error(message), { permanent: true });
    try {
      const file = artifacts.absolute(target.record.localPath);
      const info = await stat(file).catch(() => null);
      if (!info?.isFile())
        throw permanent(`its artifact ${target.record.localPath} is missing from the data directory`);
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
      await this.makeRoom(estimate, entry.versionId);
      const loaded = await backend
        .load(entry.key, file, {
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
          { model: entry.model, version: entry.version, provider: loaded.provider },
          `execution provider unavailable for ${label}, fell back: ${w}`,
        );
      entry.provider = loaded.provider;
      // The process-wide RSS delta undercounts after an unload (freed memory is reused): never below the estimate.
      entry.memoryBytes = Math.max(loaded.memoryBytes, estimate);
      entry.batcher = new Batcher(
        async (input, n) => {
          const spec = target.model.inputSpec;
          const dims =
            spec.layout === 'NCHW'
              ? [n, spec.channels, spec.height, spec.width]
              : [n, spec.height, spec.width, spec.channels];
          return backend.run(entry.key, { name: entry.inputName, data: input, dims }, entry.outputName);
        },
        entry.maxBatchSize,
        Number(tagString(target.record.tags, 'inference.maxQueueDelayMs') ?? config.inference.maxQueueDelayMs),
        (size, ms) => this.deps.telemetry?.batch({ model: entry.model, version: entry.version, size, ms }),
      );
      // Warm-up: the first run allocates and plans; no request should pay for it.
      const spec = target.model.inputSpec;
      await entry.batcher.submit(new Float32Array(spec.channels * spec.height * spec.width));
      entry.state = 'READY';
      entry.loadMs = performance.now() - started;
      entry.loadedAt = new Date();
      if (target.record.status === 'FAILED') await versions.clearLoadFailure(entry.versionId);
      logger.info(
        {
          model: entry.model,
          version: entry.version,
          provider: entry.provider,
          weightOnlyInt8: weightOnly,
          ms: Math.round(entry.loadMs),
          memoryMB: Math.round(entry.memoryBytes / 2 ** 20),
        },
        'model loaded',
      );
    } catch (e) {
      const reason = (e as Error).message.split('\n')[0]!;
      entry.state = 'FAILED';
      entry.reason = reason;
      entry.permanent = (e as { permanent?: boolean }).permanent === true;
      entry.timedOut = e instanceof DomainError && e.code === 'TIMEOUT';
      await backend.unload(entry.key).catch(() => undefined);
      if (entry.permanent) {
        // The registry says so too: requests get MODEL_LOAD_FAILED until an admin loads it again.
        await versions
          .markLoadFailed(entry.versionId, reason)
          .catch((err) => logger.error({ err }, 'could not mark the version FAILED'));
      }
      logger.error(
        { model: entry.model, version: entry.version, reason, permanent: entry.permanent },
        'model failed to load',
      );
      return;
    }
    // Over budget once this one is in: unload others now (a failure here does not undo the load).
    await this.makeRoom(0, entry.versionId).catch((err) => logger.warn({ err }, 'could not make room after a load'));
  }

  /** Unloads least recently used, unpinned versions until `incoming` more bytes fit the budget. */
  private async makeRoom(incoming: number, keep: number): Promise<void> {
    const budget = this.deps.config.inference.memoryBudgetBytes;
    const pinned = await this.deps.versions.pinnedVersionIds(this.deps.config.pinnedAliases);
    for (const e of this.entries.values()) e.pinned = pinned.has(e.versionId);
    const used = () =>
      [...this.entries.values()].filter((e) => e.state === 'READY').reduce((s, e) => s + e.memoryBytes, 0);
    const candidates = [...this.entries.values()]
      .filter(
        (e) =>
          e.state === 'READY' && !e.pinned && e.versionId !== keep && e.inUse === 0 && (e.batcher?.pending ?? 0) === 0,
      )
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

  private async unloadEntry(e: Entry): Promise<void> {
    // A stale handle must not remove a newer load of the same version.
    if (this.entries.get(e.versionId) === e) this.entries.delete(e.versionId);
    e.batcher?.drain(modelNotReady(`${e.model} v${e.version} was unloaded`));
    await this.deps.backend.unload(e.key);
  }

  /** Unloads a version; false when it was not loaded. */
  async unload(versionId: number): Promise<boolean> {
    const e = this.entries.get(versionId);
    if (!e) return false;
    await e.ready.catch(() => undefined);
    await this.unloadEntry(e);
    return true;
  }

  async close(): Promise<void> {
    for (const e of this.entries.values()) e.batcher?.drain(modelNotReady('the gateway is stopping'));
    this.entries.clear();
    await this.deps.backend.close();
  }
}
