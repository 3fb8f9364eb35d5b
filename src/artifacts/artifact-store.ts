import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface FileDigest {
  sha256: string;
  md5: string;
  sizeBytes: bigint;
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
  await pipeline(createReadStream(file), h.transform, async function* (source) {
    for await (const _ of source) {
      /* drain */
    }
  });
  return h.digest();
}

/**
 * Content-addressed store under $DATA_DIR/artifacts: `sha256/ab/abcdef…`. Files are written to a
 * temporary name, flushed, then renamed, so a reader never sees half a file.
 */
export class ArtifactStore {
  readonly root: string;

  constructor(private readonly dataDir: string) {
    this.root = path.join(dataDir, 'artifacts');
  }

  absolute(localPath: string): string {
    return path.resolve(this.dataDir, localPath);
  }

  relativeFor(sha256: string): string {
    return path.join('artifacts', 'sha256', sha256.slice(0, 2), sha256);
  }

  /** Copies a file into the store, hashing it on the way. */
  async put(file: string): Promise<StoredArtifact> {
    const tmpDir = path.join(this.root, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    const tmp = path.join(tmpDir, randomUUID());
    try {
      const h = hashing();
      await pipeline(createReadStream(file), h.transform, createWriteStream(tmp, { flags: 'wx' }));
      const fh = await open(tmp, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      const digest = h.digest();
      const localPath = this.relativeFor(digest.sha256);
      const target = this.absolute(localPath);
      const existing = await stat(target).catch(() => null);
      if (existing && BigInt(existing.size) === digest.sizeBytes) {
        await rm(tmp, { force: true });
        return { ...digest, localPath, created: false };
      }
      await mkdir(path.dirname(target), { recursive: true });
      await rename(tmp, target);
      return { ...digest, localPath, created: true };
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  async remove(localPath: string): Promise<void> {
    await rm(this.absolute(localPath), { force: true });
  }
}
