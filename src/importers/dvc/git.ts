import { execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { badInput } from '../../common/errors';

const run = promisify(execFile);

/** A repository must not make an import hang (a FIFO as excludesFile) or fill memory. */
const GIT_TIMEOUT_MS = 60_000;
const GIT_MAX_OUTPUT = 64 * 1024 * 1024;

/**
 * Repository config can name commands git runs on its own (fsmonitor on every index read, hooks,
 * pager, ssh, external diff, lazy fetches of a partial clone): none may run for an import.
 */
export const GIT_SAFE_CONFIG: readonly string[] = [
  'core.fsmonitor=false',
  'core.hooksPath=/dev/null',
  'core.sshCommand=',
  'diff.external=',
  'core.pager=cat',
  'protocol.allow=never',
];

/**
 * Only what git needs: the gateway's own variables (API keys, DATABASE_URL, MLflow tokens) never
 * reach git or anything it starts; no system or user config (a HOME where nothing can be found).
 */
export function gitEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: os.devNull,
    LANG: 'C',
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: os.devNull,
    GIT_TERMINAL_PROMPT: '0',
    GIT_OPTIONAL_LOCKS: '0',
    GIT_NO_LAZY_FETCH: '1',
  };
}

/** Config overrides given as GIT_CONFIG_KEY_n/VALUE_n: exact keys, whatever characters they hold. */
function configEnv(overrides: [string, string][]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { GIT_CONFIG_COUNT: String(overrides.length) };
  overrides.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return env;
}

/** Runs git; `code` is its exit status (null when it could not run, was killed or said too much). */
async function gitRun(
  cwd: string,
  args: string[],
  overrides: [string, string][] = [],
): Promise<{ code: number | null; stdout: string }> {
  try {
    const { stdout } = await run('git', ['--no-pager', ...GIT_SAFE_CONFIG.flatMap((c) => ['-c', c]), ...args], {
      cwd,
      env: { ...gitEnv(), ...configEnv(overrides) },
      maxBuffer: GIT_MAX_OUTPUT,
      timeout: GIT_TIMEOUT_MS,
    });
    return { code: 0, stdout };
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    return { code: typeof code === 'number' ? code : null, stdout: '' };
  }
}

/** git's output, or null when it failed. */
async function git(cwd: string, args: string[], overrides: [string, string][] = []): Promise<string | null> {
  const { code, stdout } = await gitRun(cwd, args, overrides);
  return code === 0 ? stdout : null;
}

/** A revision is handed to git as one: one that looks like an option is refused before git runs. */
export function checkRevision(rev: string): void {
  if (rev.startsWith('-')) throw badInput(`revision "${rev}" must not start with "-"`, { field: 'rev' });
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
  checkRevision(rev);
  const toplevel = (await git(dir, ['rev-parse', '--show-toplevel']))?.trim();
  if (!toplevel) return null;
  const prefix = (await git(dir, ['rev-parse', '--show-prefix']))?.trim() ?? '';
  const commit = (await git(dir, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`]))?.trim();
  if (!commit) return null;
  return { toplevel, prefix, commit };
}

/** A file's text at a commit, without touching the working tree; null when absent there. */
export function gitShow(checkout: GitCheckout, relPath: string): Promise<string | null> {
  return git(checkout.toplevel, [
    'show',
    '--no-textconv',
    '--end-of-options',
    `${checkout.commit}:${path.posix.join(checkout.prefix, relPath)}`,
  ]);
}

/**
 * Files of the project's folder, relative to it: at the commit, or in the working tree (tracked
 * and untracked, without what .gitignore hides, such as DVC-managed data).
 */
export async function gitLsFiles(checkout: GitCheckout, workingTree: boolean): Promise<string[]> {
  const args = workingTree
    ? ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--full-name', '--', checkout.prefix || '.']
    : ['ls-tree', '-r', '--name-only', '-z', '--end-of-options', checkout.commit, '--', checkout.prefix || '.'];
  const out = await git(checkout.toplevel, args);
  if (!out) return [];
  return out
    .split('\0')
    .filter(Boolean)
    .map((f) => (checkout.prefix ? f.slice(checkout.prefix.length) : f));
}

/**
 * Every filter driver the repository configures, switched off: `git status` re-hashes changed
 * files through their clean filter (or long-running process), which would run the repository's commands.
 */
async function filterOverrides(checkout: GitCheckout): Promise<[string, string][] | null> {
  const { code, stdout } = await gitRun(checkout.toplevel, ['config', '-z', '--get-regexp', '^filter\\.']);
  // Exit status 1: no filter configured; anything else but 0: the config is unreadable.
  if (code === 1) return [];
  if (code !== 0) return null;
  const drivers = new Set<string>();
  for (const entry of stdout.split('\0')) {
    const key = entry.split('\n', 1)[0]!;
    const dot = key.lastIndexOf('.');
    if (dot > 'filter.'.length) drivers.add(key.slice('filter.'.length, dot));
  }
  return [...drivers].flatMap((d): [string, string][] => [
    [`filter.${d}.clean`, ''],
    [`filter.${d}.smudge`, ''],
    [`filter.${d}.process`, ''],
    [`filter.${d}.required`, 'false'],
  ]);
}

/** Whether tracked files under the project differ from HEAD (uncommitted changes). */
export async function gitDirty(checkout: GitCheckout): Promise<boolean> {
  const overrides = await filterOverrides(checkout);
  // A config git cannot read would fail status as well.
  if (overrides === null) return false;
  const out = await git(
    checkout.toplevel,
    ['status', '--porcelain', '--untracked-files=no', '--ignore-submodules', '--', checkout.prefix || '.'],
    overrides,
  );
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
  const out = await git(checkout.toplevel, [
    'for-each-ref',
    '--format=%(refname:strip=2)%09%(objectname)%09%(*objectname)%09%(creatordate:unix)',
    'refs/tags',
  ]);
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
  if (s)
    return {
      artifact: s[1]!.replace('=', ':'),
      kind: 'stage',
      value: s[2]!,
      negated: s[3] === '!',
      counter: Number(s[4]),
    };
  return null;
}

/** A regular file in the commit's tree (not a link or a submodule): its blob id and size. */
export async function gitBlob(checkout: GitCheckout, relPath: string): Promise<{ blob: string; size: number } | null> {
  const out = await git(checkout.toplevel, [
    'ls-tree',
    '-l',
    '-z',
    '--full-tree',
    '--end-of-options',
    checkout.commit,
    '--',
    path.posix.join(checkout.prefix, relPath),
  ]);
  // `<mode> SP <type> SP <object> SP+ <size> TAB <path>`
  const m = /^(100644|100755) blob ([0-9a-f]{40,64}) +(\d+)\t/.exec(out ?? '');
  return m ? { blob: m[2]!, size: Number(m[3]) } : null;
}

/** Streams a blob's bytes into `dest` (a model can be far larger than what git's output buffer holds). */
export async function gitBlobToFile(checkout: GitCheckout, blob: string, dest: string): Promise<void> {
  const child = spawn('git', ['--no-pager', ...GIT_SAFE_CONFIG.flatMap((c) => ['-c', c]), 'cat-file', 'blob', blob], {
    cwd: checkout.toplevel,
    env: gitEnv(),
    stdio: ['ignore', 'pipe', 'ignore'],
    timeout: GIT_TIMEOUT_MS,
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  await pipeline(child.stdout, createWriteStream(dest));
  const code = await exited;
  if (code !== 0) throw badInput(`git could not read blob ${blob} (exit status ${code ?? 'killed'})`);
}
