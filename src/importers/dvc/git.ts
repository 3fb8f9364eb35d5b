import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function git(cwd: string, args: string[]): Promise<string | null> {
  try {
    const { stdout } = await run('git', args, { cwd, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch {
    return null;
  }
}

export interface GitCheckout {
  /** The repository's top folder, and the DVC project's folder relative to it ("" or "models/"). */
  toplevel: string;
  prefix: string;
  /** Full commit id of the revision read. */
  commit: string;
}

/** The git repository holding `dir`, resolved at `rev` (default HEAD); null outside git. */
export async function gitCheckout(dir: string, rev = 'HEAD'): Promise<GitCheckout | null> {
  const toplevel = (await git(dir, ['rev-parse', '--show-toplevel']))?.trim();
  if (!toplevel) return null;
  const prefix = (await git(dir, ['rev-parse', '--show-prefix']))?.trim() ?? '';
  const commit = (await git(dir, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]))?.trim();
  if (!commit) return null;
  return { toplevel, prefix, commit };
}

/** A file's text at a commit, without touching the working tree; null when absent there. */
export function gitShow(checkout: GitCheckout, relPath: string): Promise<string | null> {
  return git(checkout.toplevel, ['show', `${checkout.commit}:${path.posix.join(checkout.prefix, relPath)}`]);
}

/**
 * Files of the project's folder, relative to it: at the commit, or in the working tree (tracked
 * and untracked, without what .gitignore hides, such as DVC-managed data).
 */
export async function gitLsFiles(checkout: GitCheckout, workingTree: boolean): Promise<string[]> {
  const args = workingTree
    ? ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--full-name', '--', checkout.prefix || '.']
    : ['ls-tree', '-r', '--name-only', '-z', checkout.commit, '--', checkout.prefix || '.'];
  const out = await git(checkout.toplevel, args);
  if (!out) return [];
  return out.split('\0').filter(Boolean).map((f) => (checkout.prefix ? f.slice(checkout.prefix.length) : f));
}

/** Whether tracked files under the project differ from HEAD (uncommitted changes). */
export async function gitDirty(checkout: GitCheckout): Promise<boolean> {
  const out = await git(checkout.toplevel, ['status', '--porcelain', '--untracked-files=no', '--', checkout.prefix || '.']);
  return out !== null && out.trim() !== '';
}

export interface GitTag {
  name: string;
  /** The commit the tag points at (annotated tags peeled). */
  commit: string;
  /** Creation time in seconds: the tagger date, or the commit date of a lightweight tag. */
  created: number;
}

/** Every tag of the repository: GTO derives its registry state from all of them, not one commit's. */
export async function gitTags(checkout: GitCheckout): Promise<GitTag[]> {
  const out = await git(checkout.toplevel, ['for-each-ref', '--format=%(refname:strip=2)%09%(objectname)%09%(*objectname)%09%(creatordate:unix)', 'refs/tags']);
  if (!out) return [];
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [name, object, peeled, created] = line.split('\t');
      return { name: name!, commit: peeled || object!, created: Number(created) };
    });
}

export interface GtoTag {
  artifact: string;
  /** `@v1.2.3`: a registered version; `#stage#N`: a stage assignment. */
  kind: 'version' | 'stage';
  value: string;
  /** Deregistration (`@v1.2.3!`) or unassignment (`#stage!#N`). */
  negated: boolean;
  /** The artifact's event counter N of a stage tag: later events have larger numbers. */
  counter?: number;
}

const ARTIFACT = '(?:[a-zA-Z0-9-/_]+=)?[a-zA-Z0-9](?:[a-zA-Z0-9-/_]*[a-zA-Z0-9])?';
const VERSION_TAG = new RegExp(`^(${ARTIFACT})@(v\\d+\\.\\d+\\.\\d+(?:[-+][0-9A-Za-z.+-]*)?)(!?)$`);
const STAGE_TAG = new RegExp(`^(${ARTIFACT})#([a-zA-Z0-9-_/]+?)(!?)#(\\d+)$`);

/** Parses GTO's tag grammar (gto/tag.py); other tags give null. `dir=name` becomes `dir:name`. */
export function parseGtoTag(tag: string): GtoTag | null {
  const v = VERSION_TAG.exec(tag);
  if (v) return { artifact: v[1]!.replace('=', ':'), kind: 'version', value: v[2]!, negated: v[3] === '!' };
  const s = STAGE_TAG.exec(tag);
  if (s) return { artifact: s[1]!.replace('=', ':'), kind: 'stage', value: s[2]!, negated: s[3] === '!', counter: Number(s[4]) };
  return null;
}
