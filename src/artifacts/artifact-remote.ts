import type { Readable } from 'node:stream';
import { unavailable } from '../common/errors';

/** What the local store knows of a committed file: enough to upload it and to check a download. */
export interface RemoteObject {
  sha256: string;
  sizeBytes: bigint;
}

/**
 * A store shared by several gateways (an S3 bucket) that holds committed artifacts by sha256. The
 * local content-addressed directory stays each gateway's cache; this is where a gateway that lacks a
 * version's bytes gets them.
 */
export interface ArtifactRemote {
  /** For messages and logs, e.g. `s3://bucket/prefix/`. */
  readonly location: string;
  /** Uploads the file unless an object with the same sha256 and size is there already. */
  put(file: string, object: RemoteObject): Promise<{ uploaded: boolean }>;
  /** The object's bytes, or null when the store has no object for this sha256. */
  get(sha256: string): Promise<Readable | null>;
  close(): void;
}

/** How long a caller should wait before trying an unreachable artifact store again. */
export const ARTIFACT_STORE_RETRY_MS = 5000;

/** The shared artifact store could not be reached or refused the request: UNAVAILABLE, retryable. */
export function artifactStoreUnavailable(location: string, why: string) {
  return unavailable(`the artifact store ${location} is unavailable: ${why}`, ARTIFACT_STORE_RETRY_MS, {
    dependency: 'artifact-store',
  });
}

/**
 * Bytes that do not match the registry's sha256 or size: retrying does not help, and the copy is
 * never committed to the local store.
 */
export class ArtifactIntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArtifactIntegrityError';
  }
}

/** Neither the data directory nor the shared store has the bytes. */
export class ArtifactMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArtifactMissingError';
  }
}
