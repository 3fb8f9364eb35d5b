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
  type MlflowRunData,
  type MlflowSource,
} from './source';

const RESERVED = new Set(['.trash', 'models', 'datasets', 'traces']);
const RUN_ID = /^[0-9a-f]{32}$/;

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
    const dirs = await readdir(this.root, { withFileTypes: true });
    const out: MlflowExperiment[] = [];
    for (const d of dirs) {
      if (!d.isDirectory() || RESERVED.has(d.name)) continue;
      const meta = await readYaml(path.join(this.root, d.name, 'meta.yaml'));
      if (!meta) continue;
      out.push({
        id: String(meta.experiment_id ?? d.name),
        name: String(meta.name ?? d.name),
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
      const runDir = path.join(expDir, d.name);
      const meta = await readYaml(path.join(runDir, 'meta.yaml'));
      if (!meta) continue;
      const metrics: MlflowMetricPoint[] = [];
      for (const [key, file] of await keyedFiles(path.join(runDir, 'metrics'))) {
        for (const line of (await readFile(file, 'utf8')).split('\n')) {
          // "<timestamp> <value> <step>" (old files: no step; LoggedModel files: a 4th field).
          const parts = line.trim().split(/\s+/);
          if (parts.length < 2 || parts[0] === '') continue;
          metrics.push({ key, timestamp: Number(parts[0]), value: metricValue(parts[1]!), step: parts[2] ? Number(parts[2]) : 0 });
        }
      }
      out.push({
        runId: String(meta.run_id ?? meta.run_uuid ?? d.name),
        experimentId: String(meta.experiment_id ?? experimentId),
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
      });
    }
    return out.sort((a, b) => (a.startTime ?? 0) - (b.startTime ?? 0) || a.runId.localeCompare(b.runId));
  }

  async registeredModels(): Promise<MlflowRegisteredModel[]> {
    const base = path.join(this.root, 'models');
    const dirs = await readdir(base, { withFileTypes: true }).catch(() => []);
    const out: MlflowRegisteredModel[] = [];
    for (const d of dirs) {
      if (!d.isDirectory()) continue;
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
    if (!run.artifactUri) return [];
    const out: MlflowModelArtifact[] = [];
    for (const [key, file] of await keyedFiles(run.artifactUri)) {
      if (path.posix.basename(key) !== 'MLmodel') continue;
      const mlmodel = (await readYaml(file)) ?? {};
      const dir = path.dirname(file);
      const data: string | undefined = mlmodel.flavors?.onnx?.data;
      let onnxFile: string | null = null;
      // Only files inside the run's artifacts (symlinks resolved): `data: ../../x` is not followed.
      const artifactsRoot = await realpath(run.artifactUri).catch(() => run.artifactUri!);
      for (const candidate of [data, ...(await readdir(dir)).filter((f) => f.endsWith('.onnx'))]) {
        if (!candidate) continue;
        const full = await realpath(path.join(dir, candidate)).catch(() => null);
        if (full && isInside(artifactsRoot, full) && (await stat(full).catch(() => null))?.isFile()) {
          onnxFile = full;
          break;
        }
      }
      out.push({ artifactPath: path.posix.dirname(key) === '.' ? '' : path.posix.dirname(key), mlmodel, onnxFile });
    }
    return out;
  }
}
