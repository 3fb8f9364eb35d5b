import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { isInside } from '../../artifacts/import-roots';
import { badInput, DomainError } from '../../common/errors';
import type { DvcConfig } from './config';
import {
  DEFAULT_REMOTE_SETTINGS,
  Downloads,
  remoteStore,
  shownUrl,
  type Fetched,
  type RemoteSettings,
  type RemoteStore,
} from './remotes';

export { shownUrl, type RemoteSettings, type RemoteStore };

/** One DVC output as dvc.lock or a .dvc file records it. */
export interface DvcOut {
  path: string;
  /** `<md5>` for a file, `<md5>.dir` for a directory. */
  md5: string;
  size: number | null;
  nfiles: number | null;
  /** No `hash: md5` key: a DVC 2 output, hashed as md5-dos2unix and stored in the legacy layout. */
  legacy: boolean;
  /** A per-output remote (`remote:` key), overriding core.remote. */
  remote: string | null;
}

export interface DirEntry {
  relpath: string;
  md5: string;
}

export const MD5 = /^[0-9a-f]{32}(\.dir)?$/;

/** DVC 3 stores objects under files/md5/ab/cdef...; DVC 2 under ab/cdef... at the root (a POSIX path). */
export function objectRelPath(md5: string, legacy: boolean): string {
  return legacy
    ? path.posix.join(md5.slice(0, 2), md5.slice(2))
    : path.posix.join('files', 'md5', md5.slice(0, 2), md5.slice(2));
}

/** A normalized relative POSIX path that stays inside its base ("a/b", not "../a", "/a" or "a/../b"). */
export function isSafeRelative(p: string): boolean {
  return (
    p !== '' &&
    !p.includes('\\') &&
    !path.posix.isAbsolute(p) &&
    path.posix.normalize(p) === p &&
    p !== '..' &&
    !p.startsWith('../')
  );
}

// dvc_data's istextfile: TEXT_CHARS = bytes(range(32, 127)) + b"\n\r\t\f\b", judged on 512 bytes.
const TEXT_CHARS = new Set([...Array.from({ length: 95 }, (_, i) => i + 32), 10, 13, 9, 12, 8]);
const TEXT_BLOCK = 512;

/** DVC's istextfile: no NUL and at most 30% non-text bytes in the first 512 bytes. */
function isText(block: Buffer): boolean {
  if (block.length === 0) return true;
  if (block.includes(0)) return false;
  let nontext = 0;
  for (const b of block) if (!TEXT_CHARS.has(b)) nontext++;
  return nontext / block.length <= 0.3;
}

/**
 * md5 as DVC computes it, streamed: raw bytes for DVC 3 (`hash: md5`); for legacy outputs, text
 * files (judged on their first 512 bytes, as DVC does) are hashed with CRLF turned into LF (md5-dos2unix).
 */
export async function dvcMd5(file: string, legacy: boolean): Promise<string> {
  const h = createHash('md5');
  let dos2unix: boolean | null = legacy ? null : false;
  let pendingCR = false;
  for await (const raw of createReadStream(file, { highWaterMark: 1 << 20 })) {
    let chunk = raw as Buffer;
    if (dos2unix === null) dos2unix = isText(chunk.subarray(0, TEXT_BLOCK));
    if (!dos2unix) {
      h.update(chunk);
      continue;
    }
    // A CR at the end of a chunk is held back until we know whether an LF follows it.
    if (pendingCR) chunk = Buffer.concat([Buffer.from([13]), chunk]);
    pendingCR = chunk[chunk.length - 1] === 13;
    const body = pendingCR ? chunk.subarray(0, chunk.length - 1) : chunk;
    h.update(Buffer.from(body.toString('latin1').replace(/\r\n/g, '\n'), 'latin1'));
  }
  if (pendingCR) h.update(Buffer.from([13]));
  return h.digest('hex');
}

export interface Located {
  file: string;
  /** "workspace", "cache" or "remote:<name>". */
  source: string;
}

/**
 * Finds verified bytes for DVC objects in the documented order: the workspace copy when its md5
 * matches, the project cache, then the output's remote (or the default one): a local folder under
 * IMPORT_ROOTS, or an http(s) or s3 remote allowed by DVC_ALLOWED_REMOTES (downloaded to temporary
 * files, removed by dispose()).
 */
export class DvcObjects implements AsyncDisposable {
  private readonly remotes = new Map<string, RemoteStore>();
  private readonly downloads: Downloads;

  constructor(
    private readonly root: string,
    private readonly config: DvcConfig,
    settings: RemoteSettings = DEFAULT_REMOTE_SETTINGS,
  ) {
    this.downloads = new Downloads(settings.downloadDir);
    const dvcDir = path.join(root, '.dvc');
    for (const r of config.remotes.values()) this.remotes.set(r.name, remoteStore(r, dvcDir, settings, this.downloads));
  }

  /** Removes every file downloaded from a remote (the Located files of remotes are gone after it). */
  async dispose(): Promise<void> {
    for (const remote of this.remotes.values()) await remote.close?.();
    await this.downloads.dispose();
  }

  /** Removes the files downloaded so far (after each artifact: a large import never holds them all). */
  async releaseDownloads(): Promise<void> {
    await this.downloads.dispose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  private cacheDir(): string {
    return this.config.cacheDir
      ? path.resolve(this.root, '.dvc', this.config.cacheDir)
      : path.join(this.root, '.dvc', 'cache');
  }

  remoteFor(out: Pick<DvcOut, 'remote'>): RemoteStore | null {
    const name = out.remote ?? this.config.defaultRemote;
    return name ? (this.remotes.get(name) ?? null) : null;
  }

  /**
   * A file object by md5, verified (md5 and, when known, size). A remote that cannot be read (not
   * allowed, unsupported, refused, unreachable, too large) decides the error, after the workspace
   * and cache were tried: its message ends with what was tried.
   */
  async locate(
    what: string,
    md5: string,
    opts: {
      legacy: boolean;
      size?: number | null;
      workspace?: string | null;
      remote?: string | null;
      /** A cap on a download when the size is not known (a .dir entry: the directory's total). */
      maxBytes?: number | null;
    },
  ): Promise<Located> {
    // The md5 becomes a path below the cache and remote: only a real md5 may.
    if (!MD5.test(md5)) throw badInput(`${what}: "${md5}" is not an md5`);
    const tried: string[] = [];
    const local = async (file: string): Promise<Fetched> => ({ file, shown: file, cleanup: async () => undefined });
    const candidates: [string, () => Promise<Fetched | null>][] = [];
    if (opts.workspace) {
      // A workspace symlink pointing outside the project is not followed.
      const real = await realpath(opts.workspace).catch(() => null);
      const root = await realpath(this.root).catch(() => this.root);
      if (real && !isInside(root, real)) tried.push(`workspace: ${opts.workspace} links outside the project`);
      else candidates.push(['workspace', () => local(opts.workspace!)]);
    }
    const rel = objectRelPath(md5, opts.legacy);
    candidates.push(['cache', () => local(path.join(this.cacheDir(), rel))]);
    const remote = this.remoteFor({ remote: opts.remote ?? null });
    if (remote) {
      const known = opts.size != null && !md5.endsWith('.dir');
      const cap = known
        ? { maxBytes: opts.size!, capReason: `${opts.size} bytes, the size DVC recorded for it` }
        : opts.maxBytes != null
          ? { maxBytes: opts.maxBytes, capReason: `${opts.maxBytes} bytes, the size DVC recorded for its directory` }
          : {};
      candidates.push([`remote:${remote.name}`, () => remote.fetch(rel, cap)]);
    } else tried.push('no remote configured');
    for (const [source, where] of candidates) {
      let got: Fetched | null;
      try {
        got = await where();
      } catch (e) {
        // A remote that cannot be read (UNSUPPORTED_REMOTE, not allowed, refused ...): the caller reports it.
        if (e instanceof DomainError && tried.length)
          throw new DomainError(e.code, `${e.message}; tried ${tried.join('; ')}`, e.details);
        throw e;
      }
      const info = got ? await stat(got.file).catch(() => null) : null;
      if (!got || !info?.isFile()) {
        tried.push(`${source}: absent`);
        continue;
      }
      if (opts.size != null && !md5.endsWith('.dir') && info.size !== opts.size) {
        tried.push(`${source}: size ${info.size}, expected ${opts.size}`);
        await got.cleanup();
        continue;
      }
      const actual = await dvcMd5(got.file, opts.legacy);
      if (actual !== md5.replace(/\.dir$/, '')) {
        tried.push(`${source}: md5 ${actual}, expected ${md5.replace(/\.dir$/, '')} (${got.shown})`);
        await got.cleanup();
        continue;
      }
      return { file: got.file, source };
    }
    throw badInput(`${what}: no verified copy found (${tried.join('; ')})`);
  }

  /** A directory object: its verified manifest, then every file in it located and verified. */
  async locateDir(
    what: string,
    out: DvcOut,
    workspaceDir: string | null,
  ): Promise<{ source: string; files: (DirEntry & Located)[] }> {
    const manifest = await this.locate(`${what} (manifest)`, out.md5, { legacy: out.legacy, remote: out.remote });
    let entries: DirEntry[];
    try {
      entries = JSON.parse(await readFile(manifest.file, 'utf8')) as DirEntry[];
    } catch (e) {
      throw badInput(`${what}: the .dir manifest ${manifest.file} is not valid JSON: ${(e as Error).message}`);
    }
    if (!Array.isArray(entries)) throw badInput(`${what}: the .dir manifest is not a JSON list`);
    const seen = new Set<string>();
    for (const e of entries) {
      if (
        typeof e.relpath !== 'string' ||
        typeof e.md5 !== 'string' ||
        !isSafeRelative(e.relpath) ||
        !/^[0-9a-f]{32}$/.test(e.md5) ||
        seen.has(e.relpath)
      ) {
        throw badInput(`${what}: the .dir manifest lists an unsafe, duplicate or malformed entry ${JSON.stringify(e)}`);
      }
      seen.add(e.relpath);
    }
    if (out.nfiles != null && entries.length !== out.nfiles) {
      throw badInput(`${what}: the manifest lists ${entries.length} files, dvc.lock says ${out.nfiles}`);
    }
    const files: (DirEntry & Located)[] = [];
    for (const e of entries) {
      const located = await this.locate(`${what}/${e.relpath}`, e.md5, {
        legacy: out.legacy,
        workspace: workspaceDir ? path.join(workspaceDir, e.relpath) : null,
        remote: out.remote,
        maxBytes: out.size,
      });
      files.push({ relpath: e.relpath, md5: e.md5, ...located });
    }
    if (out.size != null) {
      let total = 0;
      for (const f of files) total += (await stat(f.file)).size;
      if (total !== out.size) throw badInput(`${what}: the files add up to ${total} bytes, dvc.lock says ${out.size}`);
    }
    return { source: manifest.source, files };
  }
}
