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

/** Whether tracked files under the project differ from HEAD (uncommitted changes). */
export async function gitDirty(checkout: GitCheckout): Promise<boolean> {
  const out = await git(checkout.toplevel, ['status', '--porcelain', '--untracked-files=no', '--', checkout.prefix || '.']);
  return out !== null && out.trim() !== '';
}
