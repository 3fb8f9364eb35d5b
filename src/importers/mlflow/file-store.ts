import type { Dirent } from 'node:fs';
import { opendir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { isInside } from '../../artifacts/import-roots';
import { badInput } from '../../common/errors';
import { dig, fields, text } from '../parsed';
import { fileStoreIdentity } from './store-identity';
import {
  int64,
  metricValue,
  runStatus,
  type MlflowExperiment,
  type MlflowLoggedModel,
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

/** A FileStore nests a few folders deep; anything deeper or wider is not one (or is an attack). */
export const MAX_WALK_DEPTH = 16;
export const MAX_WALK_ENTRIES = 100_000;

export interface WalkLimits {
  /** Folders below the one a walk starts in. */
  maxDepth: number;
  /** Entries one walk may list, all its folders together. */
  maxEntries: number;
}

/** One walk's running count of entries, shared by the folders it descends into. */
interface WalkBudget {
  entries: number;
}

const newBudget = (): WalkBudget => ({ entries: 0 });

/** What a FileStore looks like, for the errors that refuse a folder that is not one. */
const EXPECTED =
  'expected an MLflow FileStore (an mlruns/ folder) holding experiment folders (<id>/meta.yaml) ' +
  'or a model registry (models/<name>/meta.yaml)';

/**
 * Reads inside one FileStore only: every path is resolved (symlinks followed) and what resolves
 * outside the store is treated as absent, so `params -> /etc` or a linked metrics folder is never
 * read. Listings are bounded (MAX_WALK_ENTRIES per walk, MAX_WALK_DEPTH deep).
 */
class StoreReader {
  private readonly realRoot: Promise<string>;
  /** Links out of the store met so far (absolute paths), for the report. */
  readonly skipped = new Set<string>();

  constructor(
    root: string,
    private readonly limits: WalkLimits,
  ) {
    this.realRoot = realpath(root).catch(() => path.resolve(root));
  }

  /** The real path of `p` when it exists inside the store; null when absent or a link out of it. */
  async inside(p: string): Promise<string | null> {
    const real = await realpath(p).catch(() => null);
    if (real === null) return null;
    if (isInside(await this.realRoot, real)) return real;
    this.skipped.add(p);
    return null;
  }

  /** A regular file's text (a FIFO or a device would block or never end). */
  async text(file: string): Promise<string | null> {
    const real = await this.inside(file);
    if (real === null || !(await stat(real).catch(() => null))?.isFile()) return null;
    return readFile(real, 'utf8').catch(() => null);
  }

  /** Parses a FileStore YAML file; a malformed one is refused naming the file and the line. */
  async yaml(file: string): Promise<unknown> {
    const text = await this.text(file);
    if (text === null) return null;
    try {
      return YAML.parse(text);
    } catch (e) {
      throw badInput(`${file} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
    }
  }

  /** A folder's entries (not followed when they are links), counted against the walk's budget. */
  async list(dir: string, budget: WalkBudget = newBudget()): Promise<Dirent[]> {
    const real = await this.inside(dir);
    const handle = real === null ? null : await opendir(real).catch(() => null);
    if (handle === null) return [];
    const out: Dirent[] = [];
    // for-await closes the handle, also when the limit throws.
    for await (const entry of handle) {
      if (++budget.entries > this.limits.maxEntries)
        throw badInput(`${dir}: more than ${this.limits.maxEntries} entries in one walk (MAX_WALK_ENTRIES)`);
      out.push(entry);
    }
    return out;
  }

  async dirs(dir: string): Promise<string[]> {
    return (await this.list(dir)).filter((d) => d.isDirectory()).map((d) => d.name);
  }

  /**
   * Files below `dir` as "a/b/c" keys: keys with "/" are nested folders in a FileStore. A linked
   * file is read when it resolves inside the store; linked folders are not followed (no cycles).
   */
  async keyedFiles(dir: string): Promise<[string, string][]> {
    const out: [string, string][] = [];
    await this.collect(dir, '', 0, newBudget(), out);
    return out;
  }

  private async collect(
    dir: string,
    prefix: string,
    depth: number,
    budget: WalkBudget,
    out: [string, string][],
  ): Promise<void> {
    if (depth > this.limits.maxDepth)
      throw badInput(`${dir}: folders nested more than ${this.limits.maxDepth} deep (MAX_WALK_DEPTH)`);
    for (const e of await this.list(dir, budget)) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) await this.collect(full, `${prefix}${e.name}/`, depth + 1, budget, out);
      else if (e.isFile() || (e.isSymbolicLink() && (await this.isFileInside(full))))
        out.push([`${prefix}${e.name}`, full]);
    }
  }

  private async isFileInside(p: string): Promise<boolean> {
    const real = await this.inside(p);
    return real !== null && (await stat(real).catch(() => null))?.isFile() === true;
  }

  /** Params and tags are whole-file values without a trailing newline (some repos add one: strip it). */
  async values(dir: string): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const [key, file] of await this.keyedFiles(dir)) {
      const text = await this.text(file);
      if (text !== null) out[key] = text.replace(/\r?\n$/, '');
    }
    return out;
  }
}

/**
 * An MLflow FileStore directory (`mlruns/`), read as MLflow 2.x and 3.x write it: experiment and
 * run meta.yaml, params/tags/metrics files, the model registry under `models/`.
 */
export class FileStoreSource implements MlflowSource {
  readonly root: string;
  private readonly fs: StoreReader;

  constructor(
    readonly trackingUri: string,
    limits: Partial<WalkLimits> = {},
  ) {
    try {
      // path.resolve drops a trailing slash (`file:///x/mlruns/`); symlinks are resolved by identity().
      this.root = path.resolve(trackingUri.startsWith('file:') ? fileURLToPath(trackingUri) : trackingUri);
    } catch {
      throw badInput(`${trackingUri} is not a valid file:// URI`);
    }
    this.fs = new StoreReader(this.root, { maxDepth: MAX_WALK_DEPTH, maxEntries: MAX_WALK_ENTRIES, ...limits });
  }

  /** Links out of the store that were met and not followed, relative to the store. */
  skippedLinks(): string[] {
    return [...this.fs.skipped].map((p) => path.relative(this.root, p)).sort();
  }

  async identity(): Promise<string> {
    return fileStoreIdentity(this.root);
  }

  /**
   * Refuses a folder that is not a FileStore instead of importing nothing from it: a project root
   * holding `mlruns/` (naming it), a DVC repository, one experiment's folder, an empty folder, or a
   * folder with neither experiment folders nor a model registry.
   */
  async check(): Promise<void> {
    const info = await stat(this.root).catch(() => null);
    if (!info?.isDirectory())
      throw badInput(`${this.trackingUri} is not an MLflow FileStore: ${this.root} is not a directory`, {
        field: 'trackingUri',
      });
    const names = new Set((await this.fs.list(this.root)).map((e) => e.name));
    const refuse = (why: string) => badInput(`${this.root} ${why}`, { field: 'trackingUri' });
    if (names.size === 0) throw refuse(`is an empty folder: ${EXPECTED}`);
    // Checked first: an experiment's run folders have a meta.yaml each and would pass for experiments.
    if (names.has('meta.yaml') && dig(await this.fs.yaml(path.join(this.root, 'meta.yaml')), 'experiment_id') != null)
      throw refuse(`is one experiment's folder, not the FileStore: did you mean ${path.dirname(this.root)}?`);
    if (path.basename(this.root) === '.trash')
      throw refuse(
        `is MLflow's trash of deleted experiments, not the FileStore: did you mean ${path.dirname(this.root)}?`,
      );
    if ((await this.experimentDirs()).length > 0) return;
    const nested = path.join(this.root, 'mlruns');
    if (names.has('mlruns') && (await this.isDir(nested)))
      throw refuse(`is not an MLflow FileStore but holds one: did you mean ${nested}?`);
    if (names.has('.dvc') || names.has('dvc.yaml') || names.has('dvc.lock'))
      throw refuse(`is a DVC repository, not an MLflow FileStore (import it with \`import dvc\`): ${EXPECTED}`);
    if ((await this.registryDirs()).length > 0) return;
    throw refuse(
      `is not an MLflow FileStore: it has no experiment folders (<id>/meta.yaml) and no models/; ${EXPECTED}`,
    );
  }

  private async isDir(p: string): Promise<boolean> {
    const real = await this.fs.inside(p);
    return real !== null && (await stat(real).catch(() => null))?.isDirectory() === true;
  }

  private async isFile(p: string): Promise<boolean> {
    const real = await this.fs.inside(p);
    return real !== null && (await stat(real).catch(() => null))?.isFile() === true;
  }

  async experiments(): Promise<MlflowExperiment[]> {
    const out: MlflowExperiment[] = [];
    for (const name of await this.experimentDirs()) {
      const parsed = await this.fs.yaml(path.join(this.root, name, 'meta.yaml'));
      if (!parsed) continue;
      const meta = fields(parsed);
      out.push({
        id: String(meta.experiment_id ?? name),
        name: String(meta.name ?? name),
        artifactLocation: text(meta.artifact_location),
        lifecycleStage: text(meta.lifecycle_stage) ?? 'active',
      });
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  async runs(experimentId: string): Promise<MlflowRunData[]> {
    // The id comes from a meta.yaml: it names a folder of the store, never a path.
    if (!/^[^/\\]+$/.test(experimentId) || experimentId === '..') return [];
    const expDir = path.join(this.root, experimentId);
    const out: MlflowRunData[] = [];
    for (const name of await this.fs.dirs(expDir)) {
      if (!RUN_ID.test(name)) continue;
      const run = await this.readRun(expDir, name);
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

  /** Experiment folders: every folder but the reserved ones that holds a meta.yaml. */
  private async experimentDirs(): Promise<string[]> {
    const out: string[] = [];
    for (const name of await this.fs.dirs(this.root)) {
      if (!RESERVED.has(name) && (await this.isFile(path.join(this.root, name, 'meta.yaml')))) out.push(name);
    }
    return out;
  }

  /** Registered models: `models/<name>/` folders holding a meta.yaml. */
  private async registryDirs(): Promise<string[]> {
    const base = path.join(this.root, 'models');
    const out: string[] = [];
    for (const name of await this.fs.dirs(base)) {
      if (await this.isFile(path.join(base, name, 'meta.yaml'))) out.push(name);
    }
    return out.sort();
  }

  private async readRun(expDir: string, runId: string): Promise<MlflowRunData | null> {
    const runDir = path.join(expDir, runId);
    const parsed = await this.fs.yaml(path.join(runDir, 'meta.yaml'));
    if (!parsed) return null;
    const meta = fields(parsed);
    const metrics: MlflowMetricPoint[] = [];
    for (const [key, file] of await this.fs.keyedFiles(path.join(runDir, 'metrics'))) {
      for (const line of ((await this.fs.text(file)) ?? '').split('\n')) {
        // "<timestamp> <value> <step>" (old files: no step; LoggedModel files: a 4th field).
        const parts = line.trim().split(/\s+/);
        if (parts.length < 2 || parts[0] === '') continue;
        metrics.push({
          key,
          timestamp: Number(parts[0]),
          value: metricValue(parts[1]!),
          step: parts[2] ? Number(parts[2]) : 0,
        });
      }
    }
    const id = String(meta.run_id ?? meta.run_uuid ?? runId);
    const tags = await this.fs.values(path.join(runDir, 'tags'));
    return {
      runId: id,
      experimentId: String(meta.experiment_id ?? path.basename(expDir)),
      // MLflow 1.x wrote `name: ''` and kept the run's name only in the mlflow.runName tag.
      runName:
        [text(meta.run_name), tags['mlflow.runName'], text(meta.name)].find((n) => n != null && n !== '') ?? null,
      status: runStatus(meta.status),
      startTime: int64(meta.start_time),
      endTime: int64(meta.end_time),
      // The producing machine's absolute path: re-based onto this FileStore.
      artifactUri: path.join(runDir, 'artifacts'),
      userId: text(meta.user_id),
      lifecycleStage: text(meta.lifecycle_stage) ?? 'active',
      params: await this.fs.values(path.join(runDir, 'params')),
      tags,
      metrics,
      loggedModels: await this.loggedModelsOf(expDir, runDir, id),
    };
  }

  /** MLflow 3: the run's `outputs/<m-id>/meta.yaml` links, and LoggedModels naming it as source run. */
  private async loggedModelsOf(expDir: string, runDir: string, runId: string): Promise<string[]> {
    const ids = new Set<string>();
    for (const name of await this.fs.dirs(path.join(runDir, 'outputs'))) {
      const meta = fields(await this.fs.yaml(path.join(runDir, 'outputs', name, 'meta.yaml')));
      if (meta.destination_type === 'MODEL_OUTPUT' && LOGGED_MODEL_ID.test(String(meta.destination_id)))
        ids.add(String(meta.destination_id));
    }
    for (const name of await this.fs.dirs(path.join(expDir, 'models'))) {
      if (!LOGGED_MODEL_ID.test(name)) continue;
      const meta = await this.fs.yaml(path.join(expDir, 'models', name, 'meta.yaml'));
      if (meta && String(dig(meta, 'source_run_id')) === runId) ids.add(name);
    }
    return [...ids].sort();
  }

  /** A LoggedModel's folder (`<exp>/models/m-<id>`), in whichever experiment holds it, and its meta.yaml. */
  private async findLoggedModel(modelId: string): Promise<{ dir: string; model: MlflowLoggedModel } | null> {
    if (!LOGGED_MODEL_ID.test(modelId)) return null;
    for (const exp of await this.experimentDirs()) {
      const dir = path.join(this.root, exp, 'models', modelId);
      if (!(await this.isDir(dir))) continue;
      const meta = fields(await this.fs.yaml(path.join(dir, 'meta.yaml')));
      const nonEmpty = (v: unknown) => (v === undefined || v === null || v === '' ? null : String(v));
      return {
        dir,
        model: {
          modelId,
          experimentId: nonEmpty(meta.experiment_id) ?? exp,
          sourceRunId: nonEmpty(meta.source_run_id),
          name: nonEmpty(meta.name),
          artifactLocation: nonEmpty(meta.artifact_location),
        },
      };
    }
    return null;
  }

  async loggedModel(modelId: string): Promise<MlflowLoggedModel | null> {
    return (await this.findLoggedModel(modelId))?.model ?? null;
  }

  /**
   * A LoggedModel's artifacts folder: its `artifact_location` when that lies in this FileStore (an
   * experiment created with its own artifact location), else that location re-based onto this
   * FileStore (a copied mlruns/), else `<exp>/models/m-<id>/artifacts`.
   */
  private async loggedModelDir(modelId: string): Promise<string | null> {
    const found = await this.findLoggedModel(modelId);
    if (!found) return null;
    const location = found.model.artifactLocation;
    if (location) {
      const local = localPath(location);
      if (local && (await this.isDir(local))) return local;
      const rebased = this.rebase(location);
      if (rebased?.modelId === modelId) {
        const dir = path.join(rebased.root, rebased.rel);
        if (await this.isDir(dir)) return dir;
      }
    }
    return path.join(found.dir, 'artifacts');
  }

  async registeredModelNames(limit: number): Promise<string[]> {
    const out: string[] = [];
    for (const folder of await this.registryDirs()) {
      if (out.length >= limit) break;
      out.push(text(dig(await this.fs.yaml(path.join(this.root, 'models', folder, 'meta.yaml')), 'name')) ?? folder);
    }
    return out;
  }

  async registeredModels(name?: string | null): Promise<MlflowRegisteredModel[]> {
    const base = path.join(this.root, 'models');
    const out: MlflowRegisteredModel[] = [];
    for (const folder of await this.fs.dirs(base)) {
      if (name && folder !== name) continue;
      const dir = path.join(base, folder);
      const parsed = await this.fs.yaml(path.join(dir, 'meta.yaml'));
      if (!parsed) continue;
      const meta = fields(parsed);
      // Aliases: the aliases/ folder (one file per alias holding the version), as FileStore reads them.
      const aliases = await this.fs.values(path.join(dir, 'aliases'));
      const versions: MlflowRegisteredVersion[] = [];
      for (const v of await this.fs.dirs(dir)) {
        if (!/^version-\d+$/.test(v)) continue;
        const parsedVersion = await this.fs.yaml(path.join(dir, v, 'meta.yaml'));
        if (!parsedVersion) continue;
        const vm = fields(parsedVersion);
        if (vm.current_stage === 'Deleted_Internal') continue;
        const number = Number(vm.version);
        versions.push({
          name: String(vm.name ?? meta.name),
          version: number,
          source: String(vm.source ?? ''),
          runId: vm.run_id ? String(vm.run_id) : null,
          modelId: vm.model_id ? String(vm.model_id) : null,
          storageLocation: vm.storage_location ? String(vm.storage_location) : null,
          status: String(vm.status ?? 'READY'),
          currentStage: text(vm.current_stage),
          description: vm.description ? String(vm.description) : null,
          aliases: Object.entries(aliases)
            .filter(([, n]) => Number(n) === number)
            .map(([a]) => a)
            .sort(),
        });
      }
      out.push({
        name: String(meta.name ?? folder),
        description: meta.description ? String(meta.description) : null,
        versions: versions.sort((a, b) => a.version - b.version),
      });
    }
    return out;
  }

  async close(): Promise<void> {}

  async modelArtifacts(run: MlflowRunData): Promise<MlflowModelArtifact[]> {
    const out: MlflowModelArtifact[] = [];
    if (run.artifactUri) {
      for (const [key] of await this.fs.keyedFiles(run.artifactUri)) {
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
      const original = (await this.registeredModels(decodeURIComponent(copy[1]!)))[0]?.versions.find(
        (x) => x.version === Number(copy[2]),
      );
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
    const m = /(?:^|\/)([0-9]+)\/(?:([0-9a-f]{32})|models\/(m-[0-9a-f]{32}))\/artifacts(?:\/(.*))?$/.exec(
      uri.replace(/\/+$/, ''),
    );
    if (!m) return null;
    const root = m[2]
      ? path.join(this.root, m[1]!, m[2], 'artifacts')
      : path.join(this.root, m[1]!, 'models', m[3]!, 'artifacts');
    return { root, rel: m[4] ?? '', modelId: m[3] ?? null };
  }

  /** An MLmodel folder below `root`: its MLmodel (or {} when absent) and its ONNX file, if any. */
  private async modelFolder(root: string, relPath: string, modelId: string | null): Promise<MlflowModelArtifact> {
    // Sources are upstream data: a `..` in `runs:/<run>/../..` must not leave the artifacts folder.
    const rel = relPath
      .split('/')
      .filter((p) => p && p !== '.' && p !== '..')
      .join('/');
    // An artifacts folder linked out of the store is not read at all.
    const artifactsRoot = await this.fs.inside(root);
    if (artifactsRoot === null) return { artifactPath: rel, modelId, mlmodel: {}, onnxFile: null };
    const dir = path.join(root, rel);
    const mlmodel = fields(await this.fs.yaml(path.join(dir, 'MLmodel')));
    const data = dig(mlmodel, 'flavors', 'onnx', 'data');
    let onnxFile: string | null = null;
    // Only files inside the artifacts folder (symlinks resolved): `data: ../../x` is not followed.
    const names = (await this.fs.list(dir)).map((e) => e.name);
    for (const candidate of [typeof data === 'string' ? data : null, ...names.filter((f) => f.endsWith('.onnx'))]) {
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

/** A local path from a `file:` URI or an absolute path; null for other schemes (s3://, mlflow-artifacts:/...). */
function localPath(location: string): string | null {
  if (location.startsWith('file:')) {
    try {
      return fileURLToPath(location);
    } catch {
      return null;
    }
  }
  return path.isAbsolute(location) ? location : null;
}
