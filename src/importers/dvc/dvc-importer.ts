import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { readFile, stat } from 'node:fs/promises';
import type { ArtifactStore } from '../../artifacts/artifact-store';
import { digestFile } from '../../artifacts/artifact-store';
import { allowedPath } from '../../artifacts/import-roots';
import { requireRole, type Actor } from '../../auth/actor';
import { badInput } from '../../common/errors';
import type { Logger } from '../../common/logger';
import type { AliasService } from '../../registry/alias.service';
import type { DatasetService } from '../../registry/dataset.service';
import type { ModelService } from '../../registry/model.service';
import type { VersionService } from '../../registry/version.service';
import { ReportBuilder, type ImportReport } from '../report';
import { applyUpstreamAliases } from '../upstream-aliases';
import { readLabels } from './labels';
import { DvcObjects, dvcMd5, isSafeRelative, shownUrl, type DvcOut } from './objects';
import { loadDvcProject, type DvcArtifact, type DvcProject } from './project';
import { fetchUrlArtifact, schemeOf, type RemoteAccess } from './remotes';

export interface DvcImportDeps {
  models: ModelService;
  versions: VersionService;
  aliases: AliasService;
  datasets: DatasetService;
  artifacts: ArtifactStore;
  importRoots: readonly string[];
  /** DVC_ALLOWED_REMOTES, the download cap and timeouts, where downloads are staged. */
  remotes: RemoteAccess;
  logger: Logger;
}

export interface ImportDvcInput {
  repoPath: string;
  rev?: string | null;
  dryRun?: boolean | null;
  /** An ONNX output with no `type:` annotation, imported as a version of `model`. */
  modelPath?: string | null;
  model?: string | null;
  /** A directory output with no annotation, imported as the dataset `dataset` (default: its folder name). */
  datasetPath?: string | null;
  dataset?: string | null;
  /** Class names for a named path whose model does not exist yet, and for the dataset's classes. */
  labels?: readonly string[] | null;
  inputSpec?: unknown;
  /** A labels file inside the named dataset directory (else class folders). */
  labelsFile?: string | null;
}

/** A path the caller named, as DVC's artifact id would be: `./models/m.onnx` is `models/m.onnx`. */
function namedPath(given: string, flag: string): string {
  const p = path.posix.normalize(given.trim().replace(/\/+$/, ''));
  if (!isSafeRelative(p)) throw badInput(`${flag} "${given}" must be a path inside the repository`, { field: flag });
  return p;
}

/**
 * Artifacts the caller named by path (unannotated outputs): they take the place of any declared
 * artifact at the same path, with the caller's model name, labels and input spec.
 */
function namedArtifacts(input: ImportDvcInput, declared: DvcArtifact[]): DvcArtifact[] {
  const named: DvcArtifact[] = [];
  const labels = input.labels ? { labels: [...input.labels] } : {};
  if (input.model && !input.modelPath)
    throw badInput('model names the model for modelPath (--model-path): give the path too', { field: 'modelPath' });
  if (input.modelPath) {
    const p = namedPath(input.modelPath, 'modelPath');
    if (!input.model?.trim())
      throw badInput(`modelPath ${p} needs model (--model): the registered model it becomes a version of`, {
        field: 'model',
      });
    const existing = declared.find((a) => a.path === p);
    named.push({
      id: existing?.id ?? p,
      name: existing?.name ?? p,
      path: p,
      type: 'model',
      desc: existing?.desc ?? null,
      labels: existing?.labels ?? [],
      meta: {
        ...existing?.meta,
        registeredModel: input.model.trim(),
        ...labels,
        ...(input.inputSpec !== undefined && input.inputSpec !== null ? { inputSpec: input.inputSpec } : {}),
      },
    });
  }
  if (input.datasetPath) {
    const p = namedPath(input.datasetPath, 'datasetPath');
    const existing = declared.find((a) => a.path === p);
    const name = input.dataset?.trim() || existing?.name || path.posix.basename(p);
    named.push({
      id: existing?.id ?? p,
      name,
      path: p,
      type: 'dataset',
      desc: existing?.desc ?? null,
      labels: existing?.labels ?? [],
      meta: { ...existing?.meta, ...labels, ...(input.labelsFile ? { labelsFile: input.labelsFile } : {}) },
    });
  } else if (input.dataset) {
    throw badInput('dataset names the dataset for datasetPath (--dataset-path): give the path too', {
      field: 'datasetPath',
    });
  }
  return named;
}

/** Model files of other frameworks (pickles, PyTorch, Keras, TensorFlow, safetensors). */
const FRAMEWORK_MODEL = /(\.(?:pkl|pickle|joblib|pt|pth|ckpt|h5|keras|pb|tflite|safetensors))$/i;
/** Files a model artifact cannot be: other frameworks' models, archives, text. */
const FOREIGN_MODEL =
  /(\.(?:pkl|pickle|joblib|pt|pth|ckpt|h5|keras|pb|tflite|safetensors|bin|tar\.gz|tgz|zip|json|yaml))$/i;

/** A model's verified local bytes, the DVC output they stand for, and where they came from. */
interface ModelBytes {
  out: DvcOut;
  file: string;
  source: string;
  cleanup(): Promise<void>;
}

/** Bytes no md5 was recorded for (a plain git file, a URL): hashed here, as DVC would. */
async function hashed(
  shown: string,
  copy: { file: string; cleanup(): Promise<void> },
  source: string,
  remote: string | null,
): Promise<ModelBytes> {
  try {
    const size = (await stat(copy.file)).size;
    const md5 = await dvcMd5(copy.file, false);
    const out = { path: shown, md5, size, nfiles: null, legacy: false, remote };
    return { out, file: copy.file, cleanup: copy.cleanup, source };
  } catch (e) {
    await copy.cleanup();
    throw e;
  }
}

const IMAGE_EXT = /\.(png|jpe?g|webp|gif|bmp|tiff?)$/i;

/** Why an output was not imported, and how to import it when it could be. */
function notImportedHint(p: string, out: DvcOut | undefined): string {
  if (out?.md5.endsWith('.dir'))
    return `a directory; if it holds labeled images, import it with --dataset-path ${p} (datasetPath) or declare it under dvc.yaml artifacts: with type: dataset`;
  if (/\.onnx$/i.test(p))
    return `import it with --model-path ${p} --model <name> (modelPath) or declare it under dvc.yaml artifacts: with type: model`;
  const framework = FRAMEWORK_MODEL.exec(p);
  if (framework) return `a ${framework[1]!.toLowerCase()} model file, not ONNX: export it to ONNX to import it`;
  return `a single ${path.posix.extname(p) || 'extensionless'} file: neither an ONNX model nor a directory of images`;
}

/** Version numbers in meta.version order (the order the team registered them), else dvc.yaml order. */
function byVersion(a: DvcArtifact, b: DvcArtifact): number {
  const va = typeof a.meta.version === 'number' ? a.meta.version : Number.MAX_SAFE_INTEGER;
  const vb = typeof b.meta.version === 'number' ? b.meta.version : Number.MAX_SAFE_INTEGER;
  return va - vb;
}

/**
 * Imports a DVC repository's artifacts as they are: models (type `model`, one ONNX file each)
 * become versions with DVC provenance, datasets (type `dataset`, a directory) become Datasets.
 * Every byte is verified against its md5 before anything is registered. Idempotent: an artifact
 * already imported with the same md5 is reported unchanged.
 */
export class DvcImporter {
  constructor(private readonly deps: DvcImportDeps) {}

  async import(actor: Actor, input: ImportDvcInput): Promise<ImportReport> {
    requireRole(actor, 'operator', 'importing from DVC');
    const project = await loadDvcProject(
      await allowedPath(this.deps.importRoots, input.repoPath, 'repoPath'),
      input.rev,
      this.deps.importRoots,
    );
    const named = namedArtifacts(input, project.artifacts);
    // A path the caller names must exist at this revision: nothing is written otherwise.
    for (const a of named) await this.checkNamed(project, a);
    const artifacts = [...project.artifacts.filter((a) => !named.some((n) => n.path === a.path)), ...named];
    await using objects = new DvcObjects(project.root, project.config, {
      ...this.deps.remotes,
      importRoots: this.deps.importRoots,
    });
    const report = new ReportBuilder(this.deps.logger, {
      importer: 'dvc',
      repo: project.root,
      rev: project.git?.commit ?? null,
    });
    const dryRun = input.dryRun === true;
    for (const a of artifacts.filter((x) => x.type === 'model').sort(byVersion)) {
      try {
        await this.importModel(actor, project, objects, a, report, dryRun);
      } catch (e) {
        report.fail({ kind: 'version', name: a.id }, e);
      } finally {
        await objects.releaseDownloads();
      }
    }
    for (const a of artifacts.filter((x) => x.type === 'dataset')) {
      try {
        await this.importDataset(actor, project, objects, a, report, dryRun);
      } catch (e) {
        report.fail({ kind: 'dataset', name: a.id }, e);
      } finally {
        await objects.releaseDownloads();
      }
    }
    for (const a of artifacts.filter((x) => x.type !== 'model' && x.type !== 'dataset')) {
      report.add({
        kind: 'artifact',
        name: a.id,
        action: 'skipped',
        reason: `type ${a.type ?? '(none)'} is not imported (only model and dataset)`,
      });
    }
    for (const s of project.skipped)
      report.add({ kind: 'artifact', name: s.name, action: 'skipped', reason: s.reason });
    const imported = new Set(artifacts.map((a) => a.path));
    for (const o of project.standalone.filter((o) => !imported.has(o.path))) {
      report.add({
        kind: 'artifact',
        name: o.path,
        action: 'skipped',
        reason: `tracked by ${o.dvcFile} but not an artifact: ${notImportedHint(o.path, project.outs.get(o.path))}`,
      });
    }
    // Stage outputs are reported too: a pipeline's model is usually one of them.
    for (const o of project.lockOuts.filter((o) => !imported.has(o.path))) {
      imported.add(o.path);
      report.add({
        kind: 'artifact',
        name: o.path,
        action: 'skipped',
        reason: `output of stage ${o.stage} in dvc.lock, not an artifact: ${notImportedHint(o.path, project.outs.get(o.path))}`,
      });
    }
    return report.build();
  }

  private async checkNamed(project: DvcProject, a: DvcArtifact): Promise<void> {
    const flag = a.type === 'model' ? 'modelPath' : 'datasetPath';
    if (project.outs.has(a.path)) return;
    if (a.type === 'model' && (await project.gitTracks(a.path))) return;
    throw badInput(
      `${flag} ${a.path}: no DVC output has this path (no dvc.lock stage output or .dvc file names it)${a.type === 'model' ? ' and git does not track such a file' : ''} at ${project.git ? `revision ${project.git.commit.slice(0, 12)}` : 'the working tree'}`,
      { field: flag },
    );
  }

  private outFor(project: DvcProject, a: DvcArtifact): DvcOut {
    const scheme = schemeOf(a.path);
    if (scheme)
      throw badInput(
        `UNSUPPORTED_REMOTE: ${shownUrl(a.path)} is a ${scheme}:// URL; only a model (one file) can be fetched from a URL, a ${a.type ?? 'artifact'} must be a DVC output in the repository`,
      );
    if (!isSafeRelative(a.path))
      throw badInput(`artifact path "${a.path}" must be a relative path inside the repository`);
    const out = project.outs.get(a.path);
    if (!out) throw badInput(`${a.path} has no md5 in dvc.lock or ${a.path}.dvc: run the pipeline or dvc add it first`);
    return out;
  }

  /**
   * A model's bytes: a DVC output (workspace, cache, remote, md5-verified), else a plain file
   * git tracks at the revision (GTO registers those), hashed here since no md5 was recorded.
   */
  private async modelFile(project: DvcProject, objects: DvcObjects, a: DvcArtifact): Promise<ModelBytes> {
    // Known formats of other frameworks are named before any byte is fetched.
    const foreign = FOREIGN_MODEL.exec(a.path);
    if (foreign)
      throw badInput(
        `${a.path} is a ${foreign[1]!.toLowerCase()} file, not ONNX: export the model to ONNX (torch.onnx.export, tf2onnx, skl2onnx) and track the .onnx file`,
      );
    if (schemeOf(a.path)) return this.urlFile(project, a.path);
    if (isSafeRelative(a.path) && !project.outs.has(a.path)) {
      const copy = await project.gitFile(a.path);
      if (copy) return hashed(a.path, copy, 'git', null);
    }
    const out = this.outFor(project, a);
    if (out.md5.endsWith('.dir')) throw badInput(`${a.path} is a directory: a model artifact must be one ONNX file`);
    const located = await objects.locate(a.id, out.md5, {
      legacy: out.legacy,
      size: out.size,
      workspace: path.join(project.root, a.path),
      remote: out.remote,
    });
    return { out, ...located, cleanup: async () => {} };
  }

  /**
   * A model whose artifact path is a URL (GTO and dvc.yaml allow `s3://...`): fetched under the
   * remotes' rules (allow-list, caps, the auth of the remote it lies under), then hashed here, as
   * no md5 was recorded for it.
   */
  private async urlFile(project: DvcProject, url: string): Promise<ModelBytes> {
    const got = await fetchUrlArtifact(
      url,
      project.config,
      { ...this.deps.remotes, importRoots: this.deps.importRoots },
      { dvcDir: path.join(project.root, '.dvc') },
    );
    return hashed(shownUrl(url), got, got.remote ? `remote:${got.remote}` : 'url', got.remote);
  }

  private provenance(project: DvcProject, out: DvcOut, source: string) {
    return {
      repo: project.root,
      rev: project.git?.commit ?? null,
      path: out.path,
      md5: out.md5,
      remote: source.startsWith('remote:') ? source.slice('remote:'.length) : null,
      dirty: project.dirty,
    };
  }

  private async importModel(
    actor: Actor,
    project: DvcProject,
    objects: DvcObjects,
    a: DvcArtifact,
    report: ReportBuilder,
    dryRun: boolean,
  ) {
    const located = await this.modelFile(project, objects, a);
    try {
      await this.registerModelVersion(actor, project, a, located, report, dryRun);
    } finally {
      await located.cleanup();
    }
  }

  private async registerModelVersion(
    actor: Actor,
    project: DvcProject,
    a: DvcArtifact,
    located: { out: DvcOut; file: string; source: string },
    report: ReportBuilder,
    dryRun: boolean,
  ) {
    const { models, versions, aliases } = this.deps;
    const { out } = located;
    const modelName = typeof a.meta.registeredModel === 'string' ? a.meta.registeredModel : a.name;
    let model = await models.find(modelName);
    if (
      model &&
      Array.isArray(a.meta.labels) &&
      JSON.stringify(a.meta.labels.map(String)) !== JSON.stringify(model.labels)
    ) {
      throw badInput(`${a.id}: meta.labels differ from the labels of the registered model "${modelName}"`);
    }
    if (!model) {
      if (!Array.isArray(a.meta.labels) || a.meta.inputSpec === undefined) {
        throw badInput(
          `no model "${modelName}" to attach ${a.id} to: register it first, or give the artifact meta.labels and meta.inputSpec in dvc.yaml`,
        );
      }
      if (dryRun) {
        report.add({ kind: 'model', name: modelName, action: 'would-create' });
        report.add({ kind: 'version', name: `${modelName} <- ${a.id}`, action: 'would-create' });
        return;
      }
      const description = typeof a.meta.modelDescription === 'string' ? a.meta.modelDescription : null;
      model = await models.register(actor, {
        name: modelName,
        labels: a.meta.labels.map(String),
        inputSpec: a.meta.inputSpec,
        description,
      });
      report.add({ kind: 'model', name: modelName, action: 'created' });
    }
    const gto = project.git ? project.gto.at(a.id, project.git.commit) : { version: null, stages: [] };
    const gtoVersion = gto.version;
    // Aliases upstream: dvc.yaml's meta.aliases, plus the GTO stages this commit currently holds.
    const upstream = [
      ...new Set([...(Array.isArray(a.meta.aliases) ? a.meta.aliases.map(String) : []), ...gto.stages]),
    ];
    const dvc = { ...this.provenance(project, out, located.source), aliases: upstream };
    const label = `${modelName} <- ${a.id}`;
    const existing = await versions.findWithDvc(model.id);
    // The same output (path and md5), wherever the repository sits now, is the same version.
    const same = existing.find((v) => v.dvc && v.dvc.path === dvc.path && v.dvc.md5 === dvc.md5);
    let version: { id: number; version: number };
    let previous: string[] = [];
    // Whether this output is the version's DVC provenance (its upstream aliases are recorded there).
    let owns = true;
    if (same) {
      previous = same.dvc!.aliases;
      version = same;
      report.add({ kind: 'version', name: label, version: same.version, action: 'unchanged' });
    } else {
      const { sha256 } = await digestFile(located.file);
      const bytes = existing.find((v) => v.sha256 === sha256);
      if (bytes && !bytes.dvc) {
        if (!dryRun) await versions.recordDvcProvenance(bytes.id, dvc);
        report.add({
          kind: 'version',
          name: label,
          version: bytes.version,
          action: dryRun ? 'would-update' : 'updated',
          reason: 'same bytes: DVC provenance added',
        });
        version = bytes;
      } else if (bytes) {
        previous = bytes.dvc!.aliases;
        owns = false;
        report.add({
          kind: 'version',
          name: label,
          version: bytes.version,
          action: 'unchanged',
          reason: `same bytes as v${bytes.version} (${bytes.dvc!.path})`,
        });
        version = bytes;
      } else if (dryRun) {
        report.add({ kind: 'version', name: label, action: 'would-create' });
        return;
      } else {
        const created = await versions.register(actor, {
          model: modelName,
          artifactPath: located.file,
          artifactUri: `dvc+${schemeOf(a.path) ? out.path : pathToFileURL(path.join(project.root, a.path)).href}?rev=${dvc.rev ?? 'workspace'}&md5=${out.md5}`,
          trustedFile: true,
          ...(out.legacy ? {} : { expectedMd5: out.md5 }),
          tags: {
            'dvc.artifact': a.id,
            ...(located.source === 'git' ? { 'dvc.source': 'git' } : {}),
            ...(a.labels.length ? { 'dvc.labels': a.labels.join(',') } : {}),
            ...(gtoVersion ? { 'gto.version': gtoVersion } : {}),
          },
          dvc: { ...dvc, aliases: [] },
        });
        report.add({ kind: 'version', name: label, version: created.version, action: 'created' });
        version = created;
      }
    }
    await applyUpstreamAliases(
      { aliases, versions },
      actor,
      { model: modelName, version: version.version },
      upstream,
      previous,
      report,
      dryRun,
    );
    if (!dryRun && owns) await versions.recordDvcProvenance(version.id, dvc);
  }

  private async importDataset(
    actor: Actor,
    project: DvcProject,
    objects: DvcObjects,
    a: DvcArtifact,
    report: ReportBuilder,
    dryRun: boolean,
  ) {
    const { artifacts, datasets } = this.deps;
    const out = this.outFor(project, a);
    if (!out.md5.endsWith('.dir'))
      throw badInput(
        `${a.path} is a single file${IMAGE_EXT.test(a.path) ? '' : ` (${path.posix.extname(a.path) || 'no extension'}, not images)`}: a dataset must be a directory of labeled images (one folder per class, or a labels file)`,
      );
    const dir = await objects.locateDir(a.id, out, path.join(project.root, a.path));
    const labelsName = typeof a.meta.labelsFile === 'string' ? a.meta.labelsFile : null;
    const labelsEntry = labelsName ? dir.files.find((f) => f.relpath === labelsName) : null;
    if (labelsName && !labelsEntry)
      throw badInput(`${a.path}: the labels file ${labelsName} (meta.labelsFile) is not in the directory`);
    const images = dir.files.filter((f) => f.relpath !== labelsName);
    const classes = Array.isArray(a.meta.labels) ? a.meta.labels.map(String) : null;
    const { labels, items, skipped } = readLabels(
      images.map((f) => f.relpath),
      labelsEntry ? { name: labelsName!, text: await readFile(labelsEntry.file, 'utf8') } : null,
      classes,
    );
    for (const s of skipped)
      report.add({
        kind: 'artifact',
        name: `${a.id}: ${s.relpath}`,
        action: 'skipped',
        reason: `listed in ${labelsName}: ${s.reason}`,
      });
    const byPath = new Map(images.map((f) => [f.relpath, f]));
    if (dryRun) {
      // Hash without storing: the dataset is unchanged when its latest version holds the same items.
      const planned = [];
      for (const item of items)
        planned.push({
          path: item.relpath,
          labelIndex: item.label,
          sha256: (await digestFile(byPath.get(item.relpath)!.file)).sha256,
        });
      const same = await datasets.existing(actor, {
        name: a.name,
        labels,
        storageUri: 'artifacts/sha256',
        items: planned,
      });
      report.add({
        kind: 'dataset',
        name: a.name,
        version: same?.version ?? null,
        action: same ? 'unchanged' : 'would-create',
        reason: `${items.length} items`,
      });
      return;
    }
    const stored: { path: string; labelIndex: number; sha256: string }[] = [];
    for (const item of items) {
      const source = byPath.get(item.relpath)!;
      const staged = await artifacts.stage(source.file);
      // The bytes stored must be the bytes verified (the file could change in between).
      if (!out.legacy && staged.md5 !== source.md5) {
        await artifacts.discard(staged);
        throw badInput(
          `${a.path}/${item.relpath} changed while it was imported: md5 ${staged.md5}, expected ${source.md5}`,
        );
      }
      const committed = await artifacts.commit(staged);
      stored.push({ path: item.relpath, labelIndex: item.label, sha256: committed.sha256 });
    }
    const { dataset, created } = await datasets.create(actor, {
      name: a.name,
      labels,
      storageUri: 'artifacts/sha256',
      provenance: { dvc: { ...this.provenance(project, out, dir.source), artifact: a.id }, description: a.desc },
      items: stored,
    });
    report.add({
      kind: 'dataset',
      name: a.name,
      version: dataset.version,
      action: created ? 'created' : 'unchanged',
      reason: `${items.length} items`,
    });
  }
}
