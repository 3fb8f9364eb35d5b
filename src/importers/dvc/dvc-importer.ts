import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { readFile } from 'node:fs/promises';
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
import { DvcObjects, isSafeRelative, type DvcOut } from './objects';
import { loadDvcProject, type DvcArtifact, type DvcProject } from './project';
import type { RemoteAccess } from './remotes';

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
    );
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
    for (const a of project.artifacts.filter((x) => x.type === 'model').sort(byVersion)) {
      try {
        await this.importModel(actor, project, objects, a, report, dryRun);
      } catch (e) {
        report.fail({ kind: 'version', name: a.id }, e);
      }
    }
    for (const a of project.artifacts.filter((x) => x.type === 'dataset')) {
      try {
        await this.importDataset(actor, project, objects, a, report, dryRun);
      } catch (e) {
        report.fail({ kind: 'dataset', name: a.id }, e);
      }
    }
    for (const a of project.artifacts.filter((x) => x.type !== 'model' && x.type !== 'dataset')) {
      report.add({
        kind: 'artifact',
        name: a.id,
        action: 'skipped',
        reason: `type ${a.type ?? '(none)'} is not imported (only model and dataset)`,
      });
    }
    for (const s of project.skipped)
      report.add({ kind: 'artifact', name: s.name, action: 'skipped', reason: s.reason });
    for (const o of project.standalone) {
      report.add({
        kind: 'artifact',
        name: o.path,
        action: 'skipped',
        reason: `tracked by ${o.dvcFile} but not an artifact: declare it under dvc.yaml artifacts:, or give the out type: model or dataset`,
      });
    }
    return report.build();
  }

  private outFor(project: DvcProject, a: DvcArtifact): DvcOut {
    if (!isSafeRelative(a.path))
      throw badInput(`artifact path "${a.path}" must be a relative path inside the repository`);
    const out = project.outs.get(a.path);
    if (!out) throw badInput(`${a.path} has no md5 in dvc.lock or ${a.path}.dvc: run the pipeline or dvc add it first`);
    return out;
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
    const { models, versions, aliases } = this.deps;
    const out = this.outFor(project, a);
    if (out.md5.endsWith('.dir')) throw badInput(`${a.path} is a directory: a model artifact must be one ONNX file`);
    const located = await objects.locate(a.id, out.md5, {
      legacy: out.legacy,
      size: out.size,
      workspace: path.join(project.root, a.path),
      remote: out.remote,
    });
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
          artifactUri: `dvc+${pathToFileURL(path.join(project.root, a.path)).href}?rev=${dvc.rev ?? 'workspace'}&md5=${out.md5}`,
          trustedFile: true,
          ...(out.legacy ? {} : { expectedMd5: out.md5 }),
          tags: {
            'dvc.artifact': a.id,
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
    if (!out.md5.endsWith('.dir')) throw badInput(`${a.path} is a single file: a dataset artifact must be a directory`);
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
