import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  ArtifactIntegrityError,
  ArtifactMissingError,
  artifactStoreUnavailable,
  type ArtifactRemote,
} from './artifact-remote';

export interface FileDigest {
  sha256: string;
  md5: string;
  sizeBytes: bigint;
}

export interface StagedArtifact extends FileDigest {
  /** Absolute path of the staged copy. */
  tmpPath: string;
}

export interface StoredArtifact extends FileDigest {
  /** Relative to DATA_DIR, so the data directory can move. */
  localPath: string;
  /** False when identical bytes were already stored. */
  created: boolean;
}

function hashing(): { transform: Transform; digest: () => FileDigest } {
  const sha = createHash('sha256');
  const md5 = createHash('md5');
  let size = 0n;
  const transform = new Transform({
    transform(chunk: Buffer, _enc, done) {
      sha.update(chunk);
      md5.update(chunk);
      size += BigInt(chunk.length);
      done(null, chunk);
    },
  });
  return { transform, digest: () => ({ sha256: sha.digest('hex'), md5: md5.digest('hex'), sizeBytes: size }) };
}

/** sha256, md5 and size of a file in one read. */
export async function digestFile(file: string): Promise<FileDigest> {
  const h = hashing();
  await pipeline(createReadStream(file), h.transform, new Writable({ write: (_chunk, _encoding, done) => done() }));
  return h.digest();
}

/**
 * Content-addressed store under $DATA_DIR/artifacts: `sha256/ab/abcdef…`. Files are written to a
 * temporary name, flushed, then renamed, so a reader never sees half a file.
 *
 * With a shared `remote` (several gateways), this directory is the gateway's cache: every commit is
 * uploaded there too, and `ensure` downloads what this gateway lacks.
 */
export class ArtifactStore {
  readonly root: string;

  constructor(
    private readonly dataDir: string,
    readonly remote: ArtifactRemote | null = null,
  ) {
    this.root = path.join(dataDir, 'artifacts');
  }

  /**
   * Removes staged copies and downloads older than `olderThanMs` (what a gateway killed mid-import
   * left in artifacts/tmp and tmp/); younger ones may belong to an import still running elsewhere.
   */
  async sweepStaging(olderThanMs = 60 * 60 * 1000): Promise<number> {
    let removed = 0;
    for (const dir of [path.join(this.root, 'tmp'), path.join(this.dataDir, 'tmp')]) {
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        const file = path.join(dir, name);
        const info = await stat(file).catch(() => null);
        if (!info || Date.now() - info.mtimeMs < olderThanMs) continue;
        await rm(file, { recursive: true, force: true });
        removed++;
      }
    }
    return removed;
  }

  absolute(localPath: string): string {
    return path.resolve(this.dataDir, localPath);
  }

  relativeFor(sha256: string): string {
    return path.join('artifacts', 'sha256', sha256.slice(0, 2), sha256);
  }

  /**
   * Copies a file into the store's staging area, hashing it on the way. Callers check the staged
   * copy (not the original, which may change meanwhile), then commit or discard it.
   */
  async stage(file: string): Promise<StagedArtifact> {
    return this.stageFrom(createReadStream(file));
  }

  /** Writes a stream to a new staging file, hashing it on the way, and flushes it. */
  private async stageFrom(source: Readable): Promise<StagedArtifact> {
    const tmpDir = path.join(this.root, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    const tmp = path.join(tmpDir, randomUUID());
    try {
      const h = hashing();
      await pipeline(source, h.transform, createWriteStream(tmp, { flags: 'wx' }));
      const fh = await open(tmp, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      return { ...h.digest(), tmpPath: tmp };
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  /**
   * Moves a staged file to its content address. Identical bytes already stored are kept; the
   * stored file is never removed here, so concurrent registrations of the same bytes are safe.
   */
  async commit(staged: StagedArtifact): Promise<StoredArtifact> {
    const { tmpPath, ...digest } = staged;
    const localPath = this.relativeFor(digest.sha256);
    const target = this.absolute(localPath);
    const existing = await stat(target).catch(() => null);
    let created = false;
    if (existing && BigInt(existing.size) === digest.sizeBytes) {
      await rm(tmpPath, { force: true });
    } else {
      await mkdir(path.dirname(target), { recursive: true });
      await rename(tmpPath, target);
      created = true;
    }
    // Before the caller records the version: a row never names bytes the other gateways cannot get.
    // Skipped (one HEAD) when the bucket already holds them.
    await this.remote?.put(target, digest);
    return { ...digest, localPath, created };
  }

  /**
   * The absolute path of a committed artifact, downloaded from the shared store first when this
   * gateway lacks it. A download is staged, checked against the registry's sha256 and size, and only
   * then committed: bytes that do not match are refused (ArtifactIntegrityError), never cached.
   */
  async ensure(object: { sha256: string; sizeBytes?: bigint | undefined; localPath?: string }): Promise<string> {
    // A version row names its file (relativeFor its sha256 when this store committed it).
    const where = object.localPath ?? this.relativeFor(object.sha256);
    const target = this.absolute(where);
    const info = await stat(target).catch(() => null);
    if (info?.isFile() && (object.sizeBytes === undefined || BigInt(info.size) === object.sizeBytes)) return target;
    if (!this.remote) {
      // A damaged local copy is the caller's to report (model loads check the sha256); there is no other.
      if (info?.isFile()) return target;
      throw new ArtifactMissingError(`its artifact ${where} is missing from the data directory`);
    }
    const body = await this.remote.get(object.sha256);
    if (!body)
      throw new ArtifactMissingError(
        `its artifact ${where} is missing from the data directory and from the artifact store ${this.remote.location}`,
      );
    // A connection cut mid-download is the store's failure (UNAVAILABLE, worth another try); a
    // failed write here is this gateway's disk and stays as it is.
    let cut: Error | null = null;
    body.once('error', (e: Error) => (cut = e));
    const location = this.remote.location;
    const got = await this.stageFrom(body).catch((e: Error) =>
      Promise.reject(cut ? artifactStoreUnavailable(location, `downloading ${where}: ${cut.message}`) : e),
    );
    try {
      if (got.sha256 !== object.sha256 || (object.sizeBytes !== undefined && got.sizeBytes !== object.sizeBytes))
        throw new ArtifactIntegrityError(
          `its artifact in ${location} does not match the registry: sha256 ${got.sha256} ` +
            `(${got.sizeBytes} bytes), registered ${object.sha256}` +
            (object.sizeBytes === undefined ? '' : ` (${object.sizeBytes} bytes)`),
        );
      await mkdir(path.dirname(target), { recursive: true });
      await rename(got.tmpPath, target);
      return target;
    } finally {
      await rm(got.tmpPath, { force: true });
    }
  }

  async discard(staged: StagedArtifact): Promise<void> {
    await rm(staged.tmpPath, { force: true });
  }
}
