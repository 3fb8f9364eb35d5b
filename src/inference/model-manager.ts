import { stat } from 'node:fs/promises';
import { digestFile, type ArtifactStore } from '../artifacts/artifact-store';
import { DomainError } from '../common/errors';
import type { Logger } from '../common/logger';
import type { Config, Provider } from '../config/config';
import type { InputSpec } from '../registry/input-spec';
import type { VersionRecord, VersionRepository } from '../registry/version.repository';
import type { InferenceBackend } from './backend';
import { Batcher } from './batcher';
import { graphOps, isWeightOnlyQuantized } from './graph-ops';

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
  ready: Promise<void>;
  batcher: Batcher | null;
  inputName: string;
  outputName: string;
}

interface Target {
  record: VersionRecord;
  model: { name: string; inputSpec: InputSpec };
}

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
      versions: VersionRepository;
      artifacts: ArtifactStore;
      config: Config;
      logger: Logger;
    },
  ) {}

  /** The backend lost these models (its worker died): they load again on next use. */
  forget(keys: string[]): void {
    for (const e of this.entries.values()) {
      if (!keys.includes(e.key)) continue;
      e.batcher?.drain(new DomainError('MODEL_NOT_READY', `${e.model} v${e.version} was unloaded: its inference worker stopped`));
      this.entries.delete(e.versionId);
    }
  }

  list(): LoadedVersion[] {
    return [...this.entries.values()].map(({ key: _k, ready: _r, batcher: _b, inputName: _i, outputName: _o, ...rest }) => ({ ...rest }));
  }

  /** The version, loaded and ready to run; throws MODEL_LOAD_FAILED when it cannot be. */
  async acquire(target: Target, opts: { retry?: boolean } = {}): Promise<Entry> {
    let entry = this.entries.get(target.record.id);
    if (entry?.state === 'FAILED' && opts.retry) {
      this.entries.delete(entry.versionId);
      entry = undefined;
    }
    if (!entry) {
      if (target.record.status === 'FAILED' && !opts.retry) {
        throw new DomainError('MODEL_LOAD_FAILED', `${target.model.name} v${target.record.version} is FAILED: ${target.record.statusReason ?? 'unknown reason'}`);
      }
      entry = this.newEntry(target);
      this.entries.set(target.record.id, entry);
      const e = entry;
      e.ready = this.serialized(() => this.load(e, target));
    }
    await entry.ready;
    if (entry.state === 'FAILED') throw new DomainError('MODEL_LOAD_FAILED', `${entry.model} v${entry.version} failed to load: ${entry.reason}`);
    entry.lastUsed = new Date();
    return entry;
  }

  private newEntry(target: Target): Entry {
    const { config } = this.deps;
    const sig = target.record.signature as { input?: string; output?: string; batch?: number | 'dynamic' };
    const tagged = Number(tagString(target.record.tags, 'inference.maxBatchSize'));
    // A graph with a fixed batch dimension runs its requests one at a time.
    const maxBatchSize = typeof sig.batch === 'number' ? sig.batch : Number.isInteger(tagged) && tagged > 0 ? tagged : config.inference.maxBatchSize;
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
    const tagged = tagString(record.tags, 'inference.providers')?.split(',').map((p) => p.trim()).filter(Boolean);
    const list: string[] = tagged?.length ? tagged : [...this.deps.config.inference.providers];
    // CPU is always the last resort, so a missing GPU degrades instead of failing.
    return [...new Set([...list, 'cpu' satisfies Provider])];
  }

  private async load(entry: Entry, target: Target): Promise<void> {
    const { backend, versions, artifacts, config, logger } = this.deps;
    const started = performance.now();
    const label = `${entry.model} v${entry.version}`;
    try {
      const file = artifacts.absolute(target.record.localPath);
      const info = await stat(file).catch(() => null);
      if (!info?.isFile()) throw new Error(`its artifact ${target.record.localPath} is missing from the data directory`);
      const { sha256 } = await digestFile(file);
      if (sha256 !== target.record.sha256) throw new Error(`its artifact no longer matches its sha256 (${sha256}, registered ${target.record.sha256})`);
      const weightOnly = isWeightOnlyQuantized(await graphOps(file));
      // Weight-only int8 files hold fp32 weights once folded: about 4x their size in memory.
      await this.makeRoom((weightOnly ? 4 : 1.5) * info.size, entry.versionId);
      const loaded = await backend.load(entry.key, file, {
        providers: this.providersFor(target.record),
        intraOpNumThreads: config.inference.intraOpThreads,
        interOpNumThreads: 1,
        disableQuantQdq: weightOnly,
      });
      for (const w of loaded.warnings) logger.warn({ model: entry.model, version: entry.version, provider: loaded.provider }, `execution provider unavailable for ${label}, fell back: ${w}`);
      entry.provider = loaded.provider;
      entry.memoryBytes = Math.max(loaded.memoryBytes, info.size);
      entry.batcher = new Batcher(
        async (input, n) => {
          const spec = target.model.inputSpec;
          const dims = spec.layout === 'NCHW' ? [n, spec.channels, spec.height, spec.width] : [n, spec.height, spec.width, spec.channels];
          return backend.run(entry.key, { name: entry.inputName, data: input, dims }, entry.outputName);
        },
        entry.maxBatchSize,
        Number(tagString(target.record.tags, 'inference.maxQueueDelayMs') ?? config.inference.maxQueueDelayMs),
      );
      // Warm-up: the first run allocates and plans; no request should pay for it.
      const spec = target.model.inputSpec;
      const size = spec.channels * spec.height * spec.width;
      await entry.batcher.submit(new Float32Array(size));
      entry.state = 'READY';
      entry.loadMs = performance.now() - started;
      entry.loadedAt = new Date();
      if (target.record.status === 'FAILED') await versions.setStatus(entry.versionId, 'READY', null);
      logger.info({ model: entry.model, version: entry.version, provider: entry.provider, weightOnlyInt8: weightOnly, ms: Math.round(entry.loadMs), memoryMB: Math.round(entry.memoryBytes / 2 ** 20) }, 'model loaded');
      await this.makeRoom(0, entry.versionId);
    } catch (e) {
      const reason = e instanceof DomainError ? e.message : (e as Error).message.split('\n')[0]!;
      entry.state = 'FAILED';
      entry.reason = reason;
      await backend.unload(entry.key).catch(() => undefined);
      // The registry says so too: requests get MODEL_LOAD_FAILED until an admin loads it again.
      await versions.setStatus(entry.versionId, 'FAILED', `failed to load: ${reason}`).catch((err) => logger.error({ err }, 'could not mark the version FAILED'));
      logger.error({ model: entry.model, version: entry.version, reason }, 'model failed to load');
    }
  }

  /** Unloads least recently used, unpinned versions until `incoming` more bytes fit the budget. */
  private async makeRoom(incoming: number, keep: number): Promise<void> {
    const budget = this.deps.config.inference.memoryBudgetBytes;
    const pinned = await this.deps.versions.idsWithAliases(this.deps.config.pinnedAliases);
    for (const e of this.entries.values()) e.pinned = pinned.has(e.versionId);
    const used = () => [...this.entries.values()].filter((e) => e.state === 'READY').reduce((s, e) => s + e.memoryBytes, 0);
    const candidates = [...this.entries.values()]
      .filter((e) => e.state === 'READY' && !e.pinned && e.versionId !== keep)
      .sort((a, b) => (a.lastUsed?.getTime() ?? 0) - (b.lastUsed?.getTime() ?? 0));
    while (used() + incoming > budget && candidates.length) {
      const victim = candidates.shift()!;
      this.deps.logger.info({ model: victim.model, version: victim.version, memoryMB: Math.round(victim.memoryBytes / 2 ** 20) }, 'unloading the least recently used version to stay within MODEL_MEMORY_BUDGET_MB');
      await this.unloadEntry(victim);
    }
    if (used() + incoming > budget) {
      this.deps.logger.warn({ usedMB: Math.round(used() / 2 ** 20), budgetMB: Math.round(budget / 2 ** 20) }, 'pinned and in-use versions exceed MODEL_MEMORY_BUDGET_MB');
    }
  }

  private async unloadEntry(e: Entry): Promise<void> {
    this.entries.delete(e.versionId);
    e.batcher?.drain(new DomainError('MODEL_NOT_READY', `${e.model} v${e.version} was unloaded`));
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
    for (const e of this.entries.values()) e.batcher?.drain(new DomainError('MODEL_NOT_READY', 'the gateway is stopping'));
    this.entries.clear();
    await this.deps.backend.close();
  }
}
