import { backendUnavailable, modelLoadFailed, modelNotReady, timedOut, type DomainError } from '../common/errors';
import type { Batcher } from './batcher';

/** The states a client sees (loadedVersions): an unloading version is no longer listed. */
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

/** What the runtime knows of a version in every state. */
export interface Held {
  readonly versionId: number;
  /** The backend's name for the loaded graph. */
  readonly key: string;
  readonly model: string;
  readonly version: number;
  readonly maxBatchSize: number;
  /**
   * The version's settings the load used (remote engine, execution providers): a request that finds
   * them changed in the registry, by this gateway or another, loads the version again.
   */
  readonly setup: string;
  /** The registry row's updatedAt (ms) when it was read for the load: an older row is not a change. */
  readonly setupAt: number;
  /** Whether a pinned alias points at it (it is never evicted); refreshed before each eviction pass. */
  pinned: boolean;
}

/** Waiting for its turn to load, or loading and warming up; concurrent first requests share it. */
export interface Loading extends Held {
  readonly state: 'LOADING';
  /** What the load came to; it never rejects. */
  readonly settled: Promise<Ready | Failed>;
}

export interface Ready extends Held {
  readonly state: 'READY';
  readonly provider: string;
  readonly batcher: Batcher;
  readonly memoryBytes: number;
  readonly loadMs: number;
  readonly loadedAt: Date;
  lastUsed: Date | null;
  requests: number;
  /** Requests between acquiring it and getting their result: a version in use is never evicted. */
  inUse: number;
}

export interface Failed extends Held {
  readonly state: 'FAILED';
  /** The first line of what went wrong. */
  readonly reason: string;
  /** Loading again would fail again (bad or changed file), as opposed to a transient failure. */
  readonly permanent: boolean;
  /** The warm-up run outlived INFERENCE_TIMEOUT_S: requests are told TIMEOUT, not MODEL_NOT_READY. */
  readonly timedOut: boolean;
  /** Its remote engine could not be reached or was not ready: requests are told BACKEND_UNAVAILABLE. */
  readonly backendDown: boolean;
}

/** Being released by the backend; a request for it waits, then loads it again. */
export interface Unloading extends Held {
  readonly state: 'UNLOADING';
  /** Resolves once the backend let go of it and the runtime forgot it. */
  readonly done: Promise<void>;
}

export type Entry = Loading | Ready | Failed | Unloading;

/**
 * Why a version did not load. `permanent` when loading again would fail again (a missing, changed or
 * unloadable file): the version is then marked FAILED in the registry. Any other error a load meets
 * (a worker that died, the database) is transient: the next request tries again.
 */
export class ModelLoadError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ModelLoadError';
  }
}

/** For the `default` branch of a switch over every state. */
export function unreachable(x: never): never {
  throw new Error(`unexpected model state: ${JSON.stringify(x)}`);
}

export const label = (e: Held): string => `${e.model} v${e.version}`;

/** The fields every state shares, for the next state of the same version. */
export const held = (e: Held): Held => ({
  versionId: e.versionId,
  key: e.key,
  model: e.model,
  version: e.version,
  maxBatchSize: e.maxBatchSize,
  setup: e.setup,
  setupAt: e.setupAt,
  pinned: e.pinned,
});

/** What a request for a FAILED version is told. */
export function loadFailure(e: Failed): DomainError {
  const message = `${label(e)} ${e.permanent ? 'failed to load' : 'could not be loaded now'}: ${e.reason}`;
  if (e.permanent) return modelLoadFailed(message);
  if (e.timedOut) return timedOut(message);
  return e.backendDown ? backendUnavailable(message, 1000) : modelNotReady(message);
}

/** The entry as loadedVersions and metrics show it; null for one being unloaded. */
export function toLoadedVersion(e: Exclude<Entry, Unloading>): LoadedVersion;
export function toLoadedVersion(e: Entry): LoadedVersion | null;
export function toLoadedVersion(e: Entry): LoadedVersion | null {
  const common = {
    versionId: e.versionId,
    model: e.model,
    version: e.version,
    maxBatchSize: e.maxBatchSize,
    pinned: e.pinned,
  };
  const idle = {
    reason: null,
    provider: null,
    memoryBytes: 0,
    loadMs: null,
    loadedAt: null,
    lastUsed: null,
    requests: 0,
  };
  switch (e.state) {
    case 'LOADING':
      return { ...common, ...idle, state: 'LOADING' };
    case 'FAILED':
      return { ...common, ...idle, state: 'FAILED', reason: e.reason };
    case 'READY':
      return {
        ...common,
        state: 'READY',
        reason: null,
        provider: e.provider,
        memoryBytes: e.memoryBytes,
        loadMs: e.loadMs,
        loadedAt: e.loadedAt,
        lastUsed: e.lastUsed,
        requests: e.requests,
      };
    case 'UNLOADING':
      return null;
    default:
      return unreachable(e);
  }
}
