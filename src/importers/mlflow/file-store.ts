import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { isInside } from '../../artifacts/import-roots';
import { badInput } from '../../common/errors';
import {
  metricValue,
  runStatus,
  type MlflowExperiment,
  type MlflowMetricPoint,
  type MlflowModelArtifact,
  type MlflowRegisteredModel,
  type MlflowRegisteredVersion,
  type MlflowRunData,
  type MlflowSource,
} from './source';

const RESERVED = new Set(['.trash', 'models', 'datasets', 'traces']);
const RUN_ID = /^[0-9a-f]{32}$/;
const LOGGED_MODEL_ID = /^m-[0-9a-f]{32}$/;

/** Parses a FileStore YAML file; a malformed one is refused naming the file and the line. */
async function readYaml(file: string): Promise<any | null> {
  const text = await readFile(file, 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    return YAML.parse(text);
  } catch (e) {
    throw badInput(`${file} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Files below `dir` as "a/b/c" keys: keys with "/" are nested folders in a FileStore. */
async function keyedFiles(dir: string, prefix = ''): Promise<[string, string][]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: [string, string][] = [];
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await keyedFiles(full, `${prefix}${e.name}/`)));
    else if (e.isFile()) out.push([`${prefix}${e.name}`, full]);
  }
  return out;
}

/** Params and tags are whole-file values without a trailing newline (some repos add one: strip it). */
async function values(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [key, file] of await keyedFiles(dir)) out[key] = (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
  return out;
}

/**
 * An MLflow FileStore directory (`mlruns/`), read as MLflow 2.x and 3.x write it: experiment and
 * run meta.yaml, params/tags/metrics files, the model registry under `models/`.
 */
export class FileStoreSource implements MlflowSource {
  readonly root: string;

  constructor(readonly trackingUri: string) {
    try {
      this.root = trackingUri.startsWith('file:') ? fileURLToPath(trackingUri) : path.resolve(trackingUri);
    } catch {
      throw badInput(`${trackingUri} is not a valid file:// URI`);
    }
  }

  async check(): Promise<void> {
    const info = await stat(this.root).catch(() => null);
    if (!info?.isDirectory()) throw badInput(`${this.trackingUri} is not an MLflow FileStore: ${this.root} is not a directory`);
  }

  async experiments(): Promise<MlflowExperiment[]> {
    const out: MlflowExperiment[] = [];
    for (const name of await this.experimentDirs()) {
      const meta = await readYaml(path.join(this.root, name, 'meta.yaml'));
      if (!meta) continue;
      out.push({
        id: String(meta.experiment_id ?? name),
        name: String(meta.name ?? name),
        artifactLocation: meta.artifact_location ?? null,
        lifecycleStage: meta.lifecycle_stage ?? 'active',
      });
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  async runs(experimentId: string): Promise<MlflowRunData[]> {
    const expDir = path.join(this.root, experimentId);
    const dirs = await readdir(expDir, { withFileTypes: true });
    const out: MlflowRunData[] = [];
    for (const d of dirs) {
      if (!d.isDirectory() || !RUN_ID.test(d.name)) continue;
      const run = await this.readRun(expDir, d.name);
      if (run) out.push(run);
    }
    return out.sort((a, b) => (a.startTime ?? 0) - (b.startTime ?? 0) || a.runId.localeCompare(b.runId));
  }

  async run(runId: string): Promise<MlflowRunData | null> {
    if (!RUN_ID.test(runId)) return null;
    for (const exp of await this.experimentDirs()) {
      const run = await this.readRun(path.join(this.root, exp), runId);
      if (run) return run;
    }
    return null;
  }

  private async experimentDirs(): Promise<string[]> {
    const dirs = await readdir(this.root, { withFileTypes: true });
    return dirs.filter((d) => d.isDirectory() && !RESERVED.has(d.name)).map((d) => d.name);
  }

  private async readRun(expDir: string, runId: string): Promise<MlflowRunData | null> {
    const runDir = path.join(expDir, runId);
    const meta = await readYaml(path.join(runDir, 'meta.yaml'));
    if (!meta) return null;
    const metrics: MlflowMetricPoint[] = [];
    for (const [key, file] of await keyedFiles(path.join(runDir, 'metrics'))) {
      for (const line of (await readFile(file, 'utf8')).split('\n')) {
        // "<timestamp> <value> <step>" (old files: no step; LoggedModel files: a 4th field).
        const parts = line.trim().split(/\s+/);
        if (parts.length < 2 || parts[0] === '') continue;
        metrics.push({ key, timestamp: Number(parts[0]), value: metricValue(parts[1]!), step: parts[2] ? Number(parts[2]) : 0 });
      }
    }
    const id = String(meta.run_id ?? meta.run_uuid ?? runId);
    return {
      runId: id,
      experimentId: String(meta.experiment_id ?? path.basename(expDir)),
      runName: meta.run_name ?? null,
      status: runStatus(meta.status),
      startTime: meta.start_time ?? null,
      endTime: meta.end_time ?? null,
      // The producing machine's absolute path: re-based onto this FileStore.
      artifactUri: path.join(runDir, 'artifacts'),
      userId: meta.user_id ?? null,
      lifecycleStage: meta.lifecycle_stage ?? 'active',
      params: await values(path.join(runDir, 'params')),
      tags: await values(path.join(runDir, 'tags')),
      metrics,
      loggedModels: await this.loggedModelsOf(expDir, runDir, id),
    };
  }

  /** MLflow 3: the run's `outputs/<m-id>/meta.yaml` links, and LoggedModels naming it as source run. */
  private async loggedModelsOf(expDir: string, runDir: string, runId: string): Promise<string[]> {
    const ids = new Set<string>();
    for (const d of await readdir(path.join(runDir, 'outputs'), { withFileTypes: true }).catch(() => [])) {
      const meta = d.isDirectory() ? await readYaml(path.join(runDir, 'outputs', d.name, 'meta.yaml')) : null;
      if (meta?.destination_type === 'MODEL_OUTPUT' && LOGGED_MODEL_ID.test(String(meta.destination_id))) ids.add(String(meta.destination_id));
    }
    for (const d of await readdir(path.join(expDir, 'models'), { withFileTypes: true }).catch(() => [])) {
      if (!d.isDirectory() || !LOGGED_MODEL_ID.test(d.name)) continue;
      const meta = await readYaml(path.join(expDir, 'models', d.name, 'meta.yaml'));
      if (meta && String(meta.source_run_id) === runId) ids.add(d.name);
    }
    return [...ids].sort();
  }

  /** A LoggedModel's artifacts folder (`<exp>/models/m-<id>/artifacts`), in whichever experiment holds it. */
  private async loggedModelDir(modelId: string): Promise<string | null> {
    if (!LOGGED_MODEL_ID.test(modelId)) return null;
    for (const exp of await this.experimentDirs()) {
      const dir = path.join(this.root, exp, 'models', modelId);
      if ((await stat(dir).catch(() => null))?.isDirectory()) return path.join(dir, 'artifacts');
    }
    return null;
  }

  async registeredModels(name?: string | null): Promise<MlflowRegisteredModel[]> {
    const base = path.join(this.root, 'models');
    const dirs = await readdir(base, { withFileTypes: true }).catch(() => []);
    const out: MlflowRegisteredModel[] = [];
    for (const d of dirs) {
      if (!d.isDirectory() || (name && d.name !== name)) continue;
      const dir = path.join(base, d.name);
      const meta = await readYaml(path.join(dir, 'meta.yaml'));
      if (!meta) continue;
      // Aliases: the aliases/ folder (one file per alias holding the version), as FileStore reads them.
      const aliases = await values(path.join(dir, 'aliases'));
      const versions = [];
      for (const v of await readdir(dir, { withFileTypes: true })) {
        if (!v.isDirectory() || !/^version-\d+$/.test(v.name)) continue;
        const vm = await readYaml(path.join(dir, v.name, 'meta.yaml'));
        if (!vm || vm.current_stage === 'Deleted_Internal') continue;
        const number = Number(vm.version);
        versions.push({
          name: String(vm.name ?? meta.name),
          version: number,
          source: String(vm.source ?? ''),
          runId: vm.run_id ? String(vm.run_id) : null,
          modelId: vm.model_id ? String(vm.model_id) : null,
          storageLocation: vm.storage_location ? String(vm.storage_location) : null,
          status: String(vm.status ?? 'READY'),
          currentStage: vm.current_stage ?? null,
          description: vm.description || null,
          aliases: Object.entries(aliases).filter(([, n]) => Number(n) === number).map(([a]) => a).sort(),
        });
      }
      out.push({ name: String(meta.name ?? d.name), description: meta.description || null, versions: versions.sort((a, b) => a.version - b.version) });
    }
    return out;
  }

  async close(): Promise<void> {}

  async modelArtifacts(run: MlflowRunData): Promise<MlflowModelArtifact[]> {
    const out: MlflowModelArtifact[] = [];
    if (run.artifactUri) {
      for (const [key] of await keyedFiles(run.artifactUri)) {
        if (path.posix.basename(key) !== 'MLmodel') continue;
        const dir = path.posix.dirname(key) === '.' ? '' : path.posix.dirname(key);
        out.push(await this.modelFolder(run.artifactUri, dir, null));
      }
    }
    for (const id of run.loggedModels) {
      const dir = await this.loggedModelDir(id);
      if (dir) out.push(await this.modelFolder(dir, '', id));
    }
    return out;
  }

  /**
   * The files a registered version's `source` names: `runs:/<run>/<path>`, `models:/m-<id>` (a
   * LoggedModel), `models:/<name>/<version>` (a copied version), else its storage location re-based
   * onto this FileStore (the producing machine's absolute paths mean nothing here).
   */
  async versionArtifact(v: MlflowRegisteredVersion, depth = 0): Promise<MlflowModelArtifact | null> {
    const runSource = /^runs:\/([0-9a-f]{32})\/?(.*)$/.exec(v.source);
    if (runSource) {
      const run = await this.run(runSource[1]!);
      return run?.artifactUri ? this.modelFolder(run.artifactUri, runSource[2]!.replace(/\/+$/, ''), null) : null;
    }
    const modelId = /^models:\/(m-[0-9a-f]{32})$/.exec(v.source)?.[1] ?? v.modelId;
    if (modelId) {
      const dir = await this.loggedModelDir(modelId);
      return dir ? this.modelFolder(dir, '', modelId) : null;
    }
    const copy = /^models:\/([^/]+)\/(\d+)$/.exec(v.source);
    if (copy && depth < 5) {
      const original = (await this.registeredModels(decodeURIComponent(copy[1]!)))[0]?.versions.find((x) => x.version === Number(copy[2]));
      return original ? this.versionArtifact(original, depth + 1) : null;
    }
    for (const location of [v.storageLocation, v.source]) {
      const rebased = location ? this.rebase(location) : null;
      if (rebased) return this.modelFolder(rebased.root, rebased.rel, rebased.modelId);
    }
    return null;
  }

  /** `…/<exp>/<run>/artifacts/<rel>` or `…/<exp>/models/m-<id>/artifacts/<rel>`, found in this FileStore. */
  private rebase(uri: string): { root: string; rel: string; modelId: string | null } | null {
    const m = /(?:^|\/)([0-9]+)\/(?:([0-9a-f]{32})|models\/(m-[0-9a-f]{32}))\/artifacts(?:\/(.*))?$/.exec(uri.replace(/\/+$/, ''));
    if (!m) return null;
    const root = m[2] ? path.join(this.root, m[1]!, m[2], 'artifacts') : path.join(this.root, m[1]!, 'models', m[3]!, 'artifacts');
    return { root, rel: m[4] ?? '', modelId: m[3] ?? null };
  }

  /** An MLmodel folder below `root`: its MLmodel (or {} when absent) and its ONNX file, if any. */
  private async modelFolder(root: string, relPath: string, modelId: string | null): Promise<MlflowModelArtifact> {
    // Sources are upstream data: a `..` in `runs:/<run>/../..` must not leave the artifacts folder.
    const rel = relPath.split('/').filter((p) => p && p !== '.' && p !== '..').join('/');
    const dir = path.join(root, rel);
    const mlmodel = (await readYaml(path.join(dir, 'MLmodel'))) ?? {};
    const data: string | undefined = mlmodel.flavors?.onnx?.data;
    let onnxFile: string | null = null;
    // Only files inside the artifacts folder (symlinks resolved): `data: ../../x` is not followed.
    const artifactsRoot = await realpath(root).catch(() => root);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const candidate of [data, ...names.filter((f) => f.endsWith('.onnx'))]) {
      if (!candidate) continue;
      const full = await realpath(path.join(dir, candidate)).catch(() => null);
      if (full && isInside(artifactsRoot, full) && (await stat(full).catch(() => null))?.isFile()) {
        onnxFile = full;
        break;
      }
    }
    return { artifactPath: rel, modelId, mlmodel, onnxFile };
  }
}
