import { mkdtemp, readdir, readFile, realpath, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { isInside } from '../../artifacts/import-roots';
import { badInput } from '../../common/errors';
import { parseDvcConfig, type DvcConfig } from './config';
import { gitBlob, gitBlobToFile, gitCheckout, gitDirty, gitLsFiles, gitShow, gitTags, type GitCheckout } from './git';
import { GtoRegistry } from './gto';
import { dig, fields } from '../parsed';
import { isSafeRelative, type DvcOut } from './objects';

/** An entry of dvc.yaml's `artifacts:` (DVC's model registry). */
export interface DvcArtifact {
  /** `<name>` at the repository root, `<dir>:<name>` when dvc.yaml lives in <dir>/ (DVC's artifact id). */
  id: string;
  name: string;
  path: string;
  type: string | null;
  desc: string | null;
  labels: string[];
  meta: Record<string, unknown>;
}

export interface StandaloneOut {
  path: string;
  dvcFile: string;
}

/** Something the project lists that is deliberately not read (reported as `skipped`). */
export interface SkippedEntry {
  name: string;
  reason: string;
}

/** An output of a dvc.lock stage. */
export interface LockOut {
  path: string;
  stage: string;
  /** A directory output (`<md5>.dir`). */
  dir: boolean;
}

/** A local copy of a file's bytes; `cleanup` removes it when it was a temporary copy. */
export interface LocalCopy {
  file: string;
  cleanup(): Promise<void>;
}

export interface DvcProject {
  /** Absolute folder holding .dvc/ and dvc.yaml. */
  root: string;
  config: DvcConfig;
  artifacts: DvcArtifact[];
  /** Outputs recorded in dvc.lock and *.dvc files, by path relative to root. */
  outs: Map<string, DvcOut>;
  /** dvc.lock's stage outputs, in file order (each is reported when not imported). */
  lockOuts: LockOut[];
  /** Outputs of .dvc files that no artifact declares (reported, not imported). */
  standalone: StandaloneOut[];
  /** .dvc files and outs that lead outside the project: never read. */
  skipped: SkippedEntry[];
  git: GitCheckout | null;
  dirty: boolean;
  /** GTO's registry, from all the repository's tags (`name@v1.2.3`, `name#stage#N`). */
  gto: GtoRegistry;
  /** Reads a project file at the imported revision (working tree when no rev was asked). */
  read(rel: string): Promise<string | null>;
  /**
   * A plain file that git tracks (GTO registers such files: they are not DVC outputs), at the
   * imported revision (a temporary copy) or in the working tree; null when git does not have it.
   */
  gitFile(rel: string): Promise<LocalCopy | null>;
  /** Whether git has such a plain file (what gitFile would copy), without reading its bytes. */
  gitTracks(rel: string): Promise<boolean>;
}

const yaml = (text: string, file: string): unknown => {
  try {
    return YAML.parse(text, { merge: true });
  } catch (e) {
    throw badInput(`${file} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
};

const SKIP_DIRS = new Set(['.git', '.dvc', 'node_modules', '.venv', '__pycache__']);
const MAX_WALK = 20_000;

/** `.dvc` files below the project: from git (the rev's tree, or the working tree) or a bounded walk. */
async function listDvcFiles(root: string, git: GitCheckout | null, rev: boolean): Promise<string[]> {
  if (git)
    return [
      ...new Set((await gitLsFiles(git, !rev)).filter((f) => f.endsWith('.dvc') && !f.startsWith('.dvc/'))),
    ].sort();
  const found: string[] = [];
  let seen = 0;
  const walk = async (rel: string, depth: number): Promise<void> => {
    if (depth > 12) return;
    const entries = await readdir(path.join(root, rel), { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (++seen > MAX_WALK) return;
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (SKIP_DIRS.has(e.name)) continue;
      // Symlinked folders are not followed: they may point outside the repository.
      if (e.isDirectory()) await walk(child, depth + 1);
      // A linked .dvc file is listed: reading it checks where it leads (and reports it when outside).
      else if ((e.isFile() || e.isSymbolicLink()) && e.name.endsWith('.dvc')) found.push(child);
    }
  };
  await walk('', 0);
  return found.sort();
}

/** A working-tree file that is a link out of the project: not read. */
const OUTSIDE = Symbol('a link out of the project');
const outsideLink = (rel: string) => `${rel} links outside the project: not read`;

/** Reads working-tree files of the project, never through a symlink leading out of it (OUTSIDE); null when absent. */
function workingTreeReader(root: string): (rel: string) => Promise<string | null | typeof OUTSIDE> {
  const realRoot = realpath(root).catch(() => root);
  return async (rel) => {
    const real = await realpath(path.join(root, rel)).catch(() => null);
    if (real === null) return null;
    if (!isInside(await realRoot, real)) return OUTSIDE;
    return readFile(real, 'utf8').catch(() => null);
  };
}

/** A file's text, refused when it was a link out of the project. */
function refuseOutside(rel: string, text: string | null | typeof OUTSIDE): string | null {
  if (text === OUTSIDE) throw badInput(outsideLink(rel));
  return text;
}

/**
 * Where a .dvc file's out lies, relative to the project (its paths are relative to the file's
 * folder, and to `wdir` in DVC 0.x files); a reason instead when it lies outside the project.
 */
function dvcOutPath(dvcFile: string, wdir: unknown, given: unknown): { path: string } | { reason: string } {
  const parts = [typeof wdir === 'string' ? wdir : '.', String(given ?? '')];
  if (parts.some((p) => path.posix.isAbsolute(p) || /^[a-zA-Z]:[\\/]/.test(p)))
    return { reason: `${dvcFile} gives it an absolute path (an output outside the project): not read` };
  const joined = path.posix.normalize(path.posix.join(path.posix.dirname(dvcFile), ...parts));
  if (!isSafeRelative(joined)) return { reason: `${dvcFile} gives it a path leading outside the project: not read` };
  return { path: joined };
}

/** An artifact name from a path, in GTO's grammar: `models/Model.pkl` → `model-pkl`. */
function artifactName(p: string): string {
  return (
    path.posix
      .basename(p)
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'artifact'
  );
}

function toOut(entry: Record<string, unknown>): DvcOut | null {
  if (typeof entry.path !== 'string') return null;
  if (typeof entry.md5 !== 'string') return null;
  return {
    path: path.posix.normalize(entry.path),
    md5: entry.md5,
    size: typeof entry.size === 'number' ? entry.size : null,
    nfiles: typeof entry.nfiles === 'number' ? entry.nfiles : null,
    // `hash: md5` marks DVC 3; its absence a legacy (md5-dos2unix) output, whatever else is there.
    legacy: entry.hash !== 'md5',
    remote: typeof entry.remote === 'string' ? entry.remote : null,
  };
}

/**
 * Reads a DVC project: dvc.yaml (artifacts), dvc.lock (stage outputs, DVC 1 to 3 layouts), the
 * artifacts' own `.dvc` files and .dvc/config (+ config.local). With `rev`, files are read from
 * that git revision with `git show`, leaving the working tree alone.
 */
export async function loadDvcProject(
  repoPath: string,
  rev?: string | null,
  /** IMPORT_ROOTS: a folder above the project is named in an error only when it lies under one. */
  roots: readonly string[] = [],
): Promise<DvcProject> {
  const root = path.resolve(repoPath);
  const git = await gitCheckout(root, rev ?? 'HEAD');
  if (rev && !git) throw badInput(`cannot read revision "${rev}" of ${root}: not a git repository or no such revision`);
  const fromWorkingTree = workingTreeReader(root);
  const find = (rel: string) => (rev && git ? gitShow(git, rel) : fromWorkingTree(rel));
  const read = async (rel: string): Promise<string | null> => refuseOutside(rel, await find(rel));
  const configText = await read('.dvc/config');
  const dvcYamlText = await read('dvc.yaml');
  // GTO's registry index before DVC 3 (gto/config.py INDEX); a GTO-only repository has no .dvc/.
  const gtoIndexText = await read('artifacts.yaml');
  if (configText === null && dvcYamlText === null && gtoIndexText === null) throw await notAProject(root, roots);
  // config.local is never committed: only the working tree has it.
  const localConfig = refuseOutside('.dvc/config.local', await fromWorkingTree('.dvc/config.local')) ?? '';
  const config = parseDvcConfig(configText ?? '', localConfig);

  const dvcYaml = dvcYamlText ? yaml(dvcYamlText, 'dvc.yaml') : null;
  const prefix = git?.prefix.replace(/\/$/, '') ?? '';
  const artifact = (name: string, entry: unknown): DvcArtifact => {
    const a = fields(entry);
    return {
      id: prefix ? `${prefix}:${name}` : name,
      name,
      path: String(a.path ?? ''),
      type: typeof a.type === 'string' ? a.type : null,
      desc: typeof a.desc === 'string' ? a.desc : typeof a.description === 'string' ? a.description : null,
      labels: Array.isArray(a.labels) ? a.labels.map(String) : [],
      meta: fields(a.meta ?? a.custom),
    };
  };
  const artifacts: DvcArtifact[] = Object.entries(fields(dig(dvcYaml, 'artifacts'))).map(([n, e]) => artifact(n, e));
  if (gtoIndexText) {
    const known = new Set(artifacts.map((a) => a.name));
    for (const [n, e] of Object.entries(fields(yaml(gtoIndexText, 'artifacts.yaml'))))
      if (!known.has(n)) artifacts.push(artifact(n, e));
  }

  const outs = new Map<string, DvcOut>();
  const lockOuts: LockOut[] = [];
  const skipped: SkippedEntry[] = [];
  const lockText = await read('dvc.lock');
  if (lockText) {
    const lock = fields(yaml(lockText, 'dvc.lock'));
    // schema 2.0 keeps stages under `stages:`; DVC 1.0 locks have them at the top level.
    const stages = lock.schema ? lock.stages : lock;
    // DVC reads a lock entry only for a stage dvc.yaml still defines (`name@key` for foreach).
    const defined = dvcYaml ? new Set(Object.keys(fields(dig(dvcYaml, 'stages')))) : null;
    for (const [stage, body] of Object.entries(fields(stages))) {
      const stale = defined !== null && !defined.has(stage.split('@')[0]!);
      const stageOuts = dig(body, 'outs');
      for (const entry of Array.isArray(stageOuts) ? stageOuts : []) {
        const out = toOut(fields(entry));
        if (!out) continue;
        if (stale) {
          skipped.push({
            name: out.path,
            reason: `output of stage ${stage} in dvc.lock, which dvc.yaml no longer defines: a stale record, not read`,
          });
          continue;
        }
        outs.set(out.path, out);
        lockOuts.push({ path: out.path, stage, dir: out.md5.endsWith('.dir') });
      }
    }
  }
  // Every .dvc file of the project (dvc add, dvc import): its outputs' md5s, and the artifacts
  // its annotations declare (`type: model|dataset` on an out) beyond dvc.yaml's `artifacts:`.
  const declared = new Set(artifacts.map((a) => a.path));
  const standalone: StandaloneOut[] = [];
  for (const dvcFile of await listDvcFiles(root, git, Boolean(rev))) {
    const text = await find(dvcFile);
    if (text === OUTSIDE) {
      skipped.push({ name: dvcFile, reason: outsideLink(dvcFile) });
      continue;
    }
    if (text === null) continue;
    const parsed = fields(yaml(text, dvcFile));
    for (const item of Array.isArray(parsed.outs) ? parsed.outs : []) {
      const entry = fields(item);
      const where = dvcOutPath(dvcFile, parsed.wdir, entry.path);
      if ('reason' in where) {
        skipped.push({ name: String(entry.path ?? ''), reason: where.reason });
        continue;
      }
      const out = toOut({ ...entry, path: where.path });
      if (!out) continue;
      const stage = lockOuts.find((o) => o.path === out.path);
      if (stage && outs.get(out.path)!.md5 !== out.md5) {
        // DVC refuses an output tracked twice; a repository can still hold both records.
        skipped.push({
          name: `${out.path} (${dvcFile})`,
          reason: `${dvcFile} records md5 ${out.md5}, stage ${stage.stage} in dvc.lock ${outs.get(out.path)!.md5}: DVC refuses an output tracked twice; the dvc.lock record is used`,
        });
        continue;
      }
      if (!outs.has(out.path)) outs.set(out.path, out);
      if (declared.has(out.path)) continue;
      if (typeof entry.type === 'string') {
        const meta = fields(entry.meta);
        const name = typeof meta.artifactName === 'string' ? meta.artifactName : artifactName(out.path);
        artifacts.push({
          id: prefix ? `${prefix}:${name}` : name,
          name,
          path: out.path,
          type: entry.type,
          desc: typeof entry.desc === 'string' ? entry.desc : null,
          labels: Array.isArray(entry.labels) ? entry.labels.map(String) : [],
          meta,
        });
        declared.add(out.path);
      } else {
        standalone.push({ path: out.path, dvcFile });
      }
    }
  }
  const gto = new GtoRegistry(git ? await gitTags(git) : []);
  return {
    root,
    config,
    artifacts,
    outs,
    lockOuts,
    standalone,
    skipped,
    git,
    dirty: git && !rev ? await gitDirty(git) : false,
    gto,
    read,
    gitFile: (rel) => gitFile(root, git, Boolean(rev), rel),
    gitTracks: async (rel) => (await gitTracked(root, git, Boolean(rev), rel)) !== null,
  };
}

const kept = async () => {};

/** A git-tracked plain file: its blob at the revision, or its working-tree path (inside the project). */
async function gitTracked(
  root: string,
  git: GitCheckout | null,
  atRev: boolean,
  rel: string,
): Promise<{ blob: string } | { file: string } | null> {
  if (!git) return null;
  if (atRev) {
    const blob = await gitBlob(git, rel);
    return blob ? { blob: blob.blob } : null;
  }
  if (!(await gitLsFiles(git, true)).includes(rel)) return null;
  const real = await realpath(path.join(root, rel)).catch(() => null);
  if (!real || !isInside(await realpath(root), real)) return null;
  return (await stat(real)).isFile() ? { file: real } : null;
}

/** A git-tracked plain file's bytes: the working tree's copy, or the blob at the revision in a temporary file. */
async function gitFile(root: string, git: GitCheckout | null, atRev: boolean, rel: string): Promise<LocalCopy | null> {
  const tracked = await gitTracked(root, git, atRev, rel);
  if (!tracked) return null;
  if ('file' in tracked) return { file: tracked.file, cleanup: kept };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'modelgate-git-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    await gitBlobToFile(git!, tracked.blob, path.join(dir, 'blob'));
  } catch (e) {
    await cleanup();
    throw e;
  }
  return { file: path.join(dir, 'blob'), cleanup };
}

/** Why a folder is not a project, with the likely mistake (an MLflow store, the project one level down). */
async function notAProject(root: string, roots: readonly string[]): Promise<Error> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => null);
  if (entries === null) return badInput(`${root} is not a folder the gateway can read`);
  const dirs = entries.filter((e) => e.isDirectory()).map((e) => e.name);
  const has = async (rel: string) => (await stat(path.join(root, rel)).catch(() => null)) !== null;
  if (dirs.includes('mlruns') || (await has('0/meta.yaml')) || (await has('models/.trash')) || (await has('.trash')))
    return badInput(
      `${root} is not a DVC project (no .dvc/config, dvc.yaml or artifacts.yaml): it looks like an MLflow tracking store; import it with \`modelgate import mlflow\``,
    );
  const below: string[] = [];
  for (const d of dirs.filter((d) => !SKIP_DIRS.has(d)).slice(0, 200))
    if (await has(path.join(d, '.dvc', 'config'))) below.push(d);
  let hint = below.length
    ? `; did you mean ${below
        .slice(0, 3)
        .map((d) => path.join(root, d))
        .join(' or ')}?`
    : '';
  // A folder inside a project (DVC keeps one .dvc/ at the top): name the project.
  for (let up = path.dirname(root); !hint && roots.some((r) => isInside(r, up)); up = path.dirname(up))
    if ((await stat(path.join(up, '.dvc', 'config')).catch(() => null))?.isFile())
      hint = `; it is inside the DVC project ${up}: import that (its outputs under ${path.relative(up, root)}/ are in its report)`;
  return badInput(`${root} is not a DVC project: no .dvc/config, dvc.yaml or artifacts.yaml${hint}`);
}
