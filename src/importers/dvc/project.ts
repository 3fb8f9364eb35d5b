import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { badInput } from '../../common/errors';
import { parseDvcConfig, type DvcConfig } from './config';
import { gitCheckout, gitDirty, gitLsFiles, gitShow, gitTags, type GitCheckout } from './git';
import { GtoRegistry } from './gto';
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

export interface DvcProject {
  /** Absolute folder holding .dvc/ and dvc.yaml. */
  root: string;
  config: DvcConfig;
  artifacts: DvcArtifact[];
  /** Outputs recorded in dvc.lock and *.dvc files, by path relative to root. */
  outs: Map<string, DvcOut>;
  /** Outputs of .dvc files that no artifact declares (reported, not imported). */
  standalone: StandaloneOut[];
  git: GitCheckout | null;
  dirty: boolean;
  /** GTO's registry, from all the repository's tags (`name@v1.2.3`, `name#stage#N`). */
  gto: GtoRegistry;
  /** Reads a project file at the imported revision (working tree when no rev was asked). */
  read(rel: string): Promise<string | null>;
}

const yaml = (text: string, file: string): any => {
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
  if (git) return [...new Set((await gitLsFiles(git, !rev)).filter((f) => f.endsWith('.dvc') && !f.startsWith('.dvc/')))].sort();
  const found: string[] = [];
  let seen = 0;
  const walk = async (rel: string, depth: number): Promise<void> => {
    if (depth > 12) return;
    const entries = await readdir(path.join(root, rel), { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (++seen > MAX_WALK) return;
      const child = rel ? `${rel}/${e.name}` : e.name;
      // Symlinked folders are not followed: they may point outside the repository.
      if (e.isDirectory() && !SKIP_DIRS.has(e.name)) await walk(child, depth + 1);
      else if (e.isFile() && e.name.endsWith('.dvc')) found.push(child);
    }
  };
  await walk('', 0);
  return found.sort();
}

/** An artifact name from a path, in GTO's grammar: `models/Model.pkl` → `model-pkl`. */
function artifactName(p: string): string {
  return path.posix.basename(p).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'artifact';
}

function toOut(entry: any): DvcOut | null {
  if (!entry || typeof entry.path !== 'string') return null;
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
export async function loadDvcProject(repoPath: string, rev?: string | null): Promise<DvcProject> {
  const root = path.resolve(repoPath);
  const git = await gitCheckout(root, rev ?? 'HEAD');
  if (rev && !git) throw badInput(`cannot read revision "${rev}" of ${root}: not a git repository or no such revision`);
  const read = async (rel: string): Promise<string | null> => {
    if (rev && git) return gitShow(git, rel);
    return readFile(path.join(root, rel), 'utf8').catch(() => null);
  };
  const configText = await read('.dvc/config');
  if (configText === null) throw badInput(`${root} is not a DVC project: no .dvc/config`);
  // config.local is never committed: only the working tree has it.
  const localConfig = await readFile(path.join(root, '.dvc', 'config.local'), 'utf8').catch(() => '');
  const config = parseDvcConfig(configText, localConfig);

  const dvcYamlText = await read('dvc.yaml');
  const dvcYaml = dvcYamlText ? (yaml(dvcYamlText, 'dvc.yaml') ?? {}) : {};
  const prefix = git?.prefix.replace(/\/$/, '') ?? '';
  const artifacts: DvcArtifact[] = Object.entries((dvcYaml.artifacts ?? {}) as Record<string, any>).map(([name, a]) => ({
    id: prefix ? `${prefix}:${name}` : name,
    name,
    path: String(a?.path ?? ''),
    type: typeof a?.type === 'string' ? a.type : null,
    desc: typeof a?.desc === 'string' ? a.desc : null,
    labels: Array.isArray(a?.labels) ? a.labels.map(String) : [],
    meta: a?.meta && typeof a.meta === 'object' ? a.meta : {},
  }));

  const outs = new Map<string, DvcOut>();
  const lockText = await read('dvc.lock');
  if (lockText) {
    const lock = yaml(lockText, 'dvc.lock') ?? {};
    // schema 2.0 keeps stages under `stages:`; DVC 1.0 locks have them at the top level.
    const stages = lock.schema ? (lock.stages ?? {}) : lock;
    for (const stage of Object.values(stages as Record<string, any>)) {
      for (const entry of stage?.outs ?? []) {
        const out = toOut(entry);
        if (out) outs.set(out.path, out);
      }
    }
  }
  // Every .dvc file of the project (dvc add, dvc import): its outputs' md5s, and the artifacts
  // its annotations declare (`type: model|dataset` on an out) beyond dvc.yaml's `artifacts:`.
  const declared = new Set(artifacts.map((a) => a.path));
  const standalone: StandaloneOut[] = [];
  for (const dvcFile of await listDvcFiles(root, git, Boolean(rev))) {
    const text = await read(dvcFile);
    if (text === null) continue;
    const parsed = yaml(text, dvcFile) ?? {};
    // Paths in a .dvc file are relative to its folder (and to `wdir` in DVC 0.x files).
    const base = path.posix.join(path.posix.dirname(dvcFile), typeof parsed.wdir === 'string' ? parsed.wdir : '.');
    for (const entry of Array.isArray(parsed.outs) ? parsed.outs : []) {
      const out = toOut({ ...entry, path: path.posix.join(base, String(entry?.path ?? '')) });
      if (!out || !isSafeRelative(out.path)) continue;
      if (!outs.has(out.path)) outs.set(out.path, out);
      if (declared.has(out.path)) continue;
      if (typeof entry.type === 'string') {
        const meta = entry.meta && typeof entry.meta === 'object' ? entry.meta : {};
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
  return { root, config, artifacts, outs, standalone, git, dirty: git && !rev ? await gitDirty(git) : false, gto, read };
}
