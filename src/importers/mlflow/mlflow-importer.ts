import { pathToFileURL } from 'node:url';
import { digestFile } from '../../artifacts/artifact-store';
import { allowedPath } from '../../artifacts/import-roots';
import { requireRole, type Actor } from '../../auth/actor';
import { badInput, notFound } from '../../common/errors';
import type { Logger } from '../../common/logger';
import type { AliasService } from '../../registry/alias.service';
import type { MlflowRunRow } from '../../registry/mlflow.repository';
import type { MlflowRunService } from '../../registry/mlflow-run.service';
import type { ModelService } from '../../registry/model.service';
import type { VersionRecord } from '../../registry/version.repository';
import type { VersionService } from '../../registry/version.service';
import { dig, fields } from '../parsed';
import { planned, ReportBuilder, type ImportReport } from '../report';
import { applyUpstreamAliases } from '../upstream-aliases';
import { FileStoreSource } from './file-store';
import { isAllowedHost, RestSource, type MlflowAuth, type RestLimits } from './rest-source';
import {
  latestMetrics,
  type MlflowModelArtifact,
  type MlflowRegisteredVersion,
  type MlflowRunData,
  type MlflowSource,
} from './source';

interface ImportedRun {
  /** The stored run; null in a dry run when it is not stored yet. */
  row: MlflowRunRow | null;
  run: MlflowRunData;
}
type RunIndex = Map<string, ImportedRun>;

/** One import's state: where it reads, what it reports, and in a dry run what it would have stored. */
interface ImportCtx {
  source: MlflowSource;
  trackingUri: string;
  report: ReportBuilder;
  dryRun: boolean;
  runs: RunIndex;
  /** sha256 of ONNX files a dry run would register (two registered versions may share them). */
  plannedBytes: Set<string>;
}

export interface MlflowImportDeps {
  models: ModelService;
  versions: VersionService;
  aliases: AliasService;
  mlflowRuns: MlflowRunService;
  importRoots: readonly string[];
  /** Tracking servers the gateway may contact (host or host:port), and its credentials for them. */
  allowedHosts: readonly string[];
  auth: MlflowAuth;
  timeoutMs: number;
  /** Body sizes and download duration (defaults: MAX_JSON_BYTES, MAX_DOWNLOAD_BYTES, DOWNLOAD_TIMEOUT_MS). */
  restLimits?: Partial<RestLimits>;
  /** Where artifacts downloaded from a tracking server are staged (inside DATA_DIR). */
  downloadDir: string;
  logger: Logger;
}

export interface ImportMlflowInput {
  trackingUri: string;
  experiment?: string | null;
  registeredModel?: string | null;
  dryRun?: boolean | null;
}

/** How many names an error lists (experiments, registered models) when the one asked for is not there. */
const SHOWN = 5;

/**
 * Imports MLflow experiments, runs (params, metric histories, tags), registered models, their
 * versions and aliases, and links runs to gateway versions. The linking rule, in order:
 * 1. the bytes: a logged model's ONNX file, or the md5/sha256 its MLmodel `metadata` records,
 *    equal a gateway version's;
 * 2. the source: the run's `mlflow.source.git.commit` tag and the MLmodel's `metadata.dvc_path`
 *    equal a DVC-imported version's revision and path.
 * A registered version whose artifact holds an ONNX file that no gateway version has yet becomes a
 * new version of the gateway model with the registered model's name (which must exist, for its
 * labels and input spec); one without ONNX bytes is recorded as a run link only. A version's run is
 * its `run_id`, or (MLflow 3, `run_id` empty) the `source_run_id` of the LoggedModel it registers.
 */
export class MlflowImporter {
  constructor(private readonly deps: MlflowImportDeps) {}

  source(trackingUri: string): MlflowSource {
    if (/^https?:\/\//i.test(trackingUri)) {
      let url: URL;
      try {
        url = new URL(trackingUri);
      } catch {
        throw badInput(`${trackingUri} is not a valid URL`);
      }
      if (!isAllowedHost(url, this.deps.allowedHosts)) {
        throw badInput(
          `tracking server ${url.host} is not in MLFLOW_ALLOWED_HOSTS (${this.deps.allowedHosts.join(', ') || 'empty'})`,
        );
      }
      if (url.username || url.password)
        throw badInput(
          'put MLflow credentials in MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD, not in the URI',
        );
      return new RestSource(trackingUri, this.deps.auth, this.deps.downloadDir, {
        allowedHosts: this.deps.allowedHosts,
        timeoutMs: this.deps.timeoutMs,
        ...(this.deps.restLimits ? { limits: this.deps.restLimits } : {}),
      });
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trackingUri) && !trackingUri.startsWith('file:')) {
      throw badInput(`unsupported tracking URI ${trackingUri}: use an mlruns/ directory, file://, http:// or https://`);
    }
    return new FileStoreSource(trackingUri);
  }

  async import(actor: Actor, input: ImportMlflowInput): Promise<ImportReport> {
    requireRole(actor, 'operator', 'importing from MLflow');
    const source = this.source(input.trackingUri);
    if (source instanceof FileStoreSource) await allowedPath(this.deps.importRoots, source.root, 'trackingUri');
    try {
      return await this.importFrom(actor, source, input);
    } finally {
      await source.close();
    }
  }

  /**
   * What is imported: every active experiment's runs and every registered model, or with
   * `experiment` that experiment's runs, or with `registeredModel` that model's versions and the
   * runs they name (and with both, the experiment's runs and the model's versions). An unknown
   * experiment or registered model fails before anything is written.
   */
  private async importFrom(actor: Actor, source: MlflowSource, input: ImportMlflowInput): Promise<ImportReport> {
    await source.check();
    // One store however its URI is written (file:///x/mlruns/, /x/mlruns, a symlink; HTTP://Host:80/).
    const trackingUri = await source.identity();
    const report = new ReportBuilder(this.deps.logger, { importer: 'mlflow', trackingUri });
    const dryRun = input.dryRun === true;
    // The key releases before canonical identities used: the resolved path (no symlinks followed), the URL as typed.
    const previousKey = source instanceof FileStoreSource ? pathToFileURL(source.root).href : input.trackingUri;
    if (!dryRun) {
      const moved = await this.deps.mlflowRuns.adoptStoreKey(previousKey, trackingUri);
      if (moved > 0)
        this.deps.logger.info(
          { from: previousKey, to: trackingUri, rows: moved },
          'MLflow rows moved to the store key',
        );
    }
    const ctx: ImportCtx = { source, trackingUri, report, dryRun, runs: new Map(), plannedBytes: new Set() };
    const listed = !input.experiment && input.registeredModel ? [] : await source.experiments(input.experiment);
    const experiments = listed.filter(
      (e) =>
        e.lifecycleStage === 'active' &&
        (!input.experiment || e.name === input.experiment || e.id === input.experiment),
    );
    if (input.experiment && experiments.length === 0) {
      const names = (input.registeredModel ? [] : await source.experiments().catch(() => listed))
        .filter((e) => e.lifecycleStage === 'active')
        .map((e) => `"${e.name}"`);
      throw notFound(
        `no experiment "${input.experiment}" in ${input.trackingUri}${names.length ? `; experiments there: ${names.slice(0, SHOWN).join(', ')}${names.length > SHOWN ? ', ...' : ''}` : ''}`,
      );
    }
    // Deleted in MLflow (lifecycle_stage: deleted): seen, said, not imported.
    for (const e of input.experiment ? [] : listed.filter((e) => e.lifecycleStage !== 'active'))
      report.add({ kind: 'experiment', name: e.name, action: 'skipped', reason: 'deleted in MLflow: not imported' });
    // The named model is looked up first: an unknown name is refused before a run is stored.
    let registered: Awaited<ReturnType<MlflowSource['registeredModels']>> = [];
    if (input.registeredModel) {
      registered = await source.registeredModels(input.registeredModel);
      if (registered.length === 0) throw await this.unknownModel(source, input);
    }
    for (const exp of experiments) {
      let list: MlflowRunData[];
      try {
        const all = await source.runs(exp.id);
        list = all.filter((r) => r.lifecycleStage === 'active');
        if (list.length < all.length)
          report.add({
            kind: 'experiment',
            name: exp.name,
            action: 'skipped',
            reason: `${all.length - list.length} of its ${all.length} runs are deleted in MLflow: not imported`,
          });
      } catch (e) {
        // A server that fails mid-import: what was imported stays, the report says what was not.
        report.fail({ kind: 'experiment', name: exp.name }, e);
        continue;
      }
      for (const run of list) {
        try {
          ctx.runs.set(run.runId, await this.importRun(ctx, exp.name, run));
        } catch (e) {
          report.fail({ kind: 'run', name: run.runName ?? run.runId }, e);
        }
      }
    }
    if (!input.registeredModel) {
      try {
        registered = await source.registeredModels();
      } catch (e) {
        report.fail({ kind: 'registered-model', name: '(all)' }, e);
      }
    }
    for (const model of registered) {
      for (const v of model.versions) {
        try {
          await this.importRegisteredVersion(actor, ctx, v);
        } catch (e) {
          report.fail({ kind: 'registered-model', name: model.name, version: v.version }, e);
        }
      }
    }
    if (source instanceof FileStoreSource) {
      for (const link of source.skippedLinks())
        report.add({
          kind: 'artifact',
          name: link,
          action: 'skipped',
          reason: 'links outside the FileStore: not read',
        });
    }
    return report.build();
  }

  /** BAD_USER_INPUT for a registered model the store does not have, naming a few it has. */
  private async unknownModel(source: MlflowSource, input: ImportMlflowInput): Promise<Error> {
    const names = await source.registeredModelNames(SHOWN + 1).catch(() => null);
    const known =
      names === null
        ? ''
        : names.length === 0
          ? ': it has no registered models'
          : `; registered models there include ${names
              .slice(0, SHOWN)
              .map((n) => `"${n}"`)
              .join(', ')}${names.length > SHOWN ? ', ...' : ''}`;
    return badInput(`no registered model "${input.registeredModel}" in ${input.trackingUri}${known}`, {
      field: 'registeredModel',
    });
  }

  private async importRun(ctx: ImportCtx, experimentName: string, run: MlflowRunData): Promise<ImportedRun> {
    const { mlflowRuns, versions } = this.deps;
    const { source, trackingUri, report, dryRun } = ctx;
    const name = run.runName ?? run.runId;
    // A logged model that cannot be read costs its link, not the run.
    const artifacts = await source.modelArtifacts(run).catch((e) => {
      report.fail({ kind: 'artifact', name: `${name}/model` }, e);
      return [] as MlflowModelArtifact[];
    });
    const { run: row, action } = await mlflowRuns.recordImportedRun(
      {
        trackingUri,
        runId: run.runId,
        experimentId: run.experimentId,
        experimentName,
        runName: run.runName,
        status: run.status,
        startTime: run.startTime !== null ? new Date(run.startTime) : null,
        endTime: run.endTime !== null ? new Date(run.endTime) : null,
        artifactUri: run.artifactUri,
        userId: run.userId,
        params: run.params,
        metrics: latestMetrics(run.metrics),
        tags: run.tags,
        history: run.metrics,
      },
      { dryRun },
    );
    report.add({ kind: 'run', name, action: planned(action, dryRun), reason: `${run.metrics.length} metric values` });
    for (const artifact of artifacts) {
      const holders = await this.versionsFor(run, artifact);
      if (artifact.onnxFile === null && holders.length === 0) {
        // Seen, and said: a model logged in another flavor cannot become a version.
        const flavors = fields(artifact.mlmodel.flavors);
        const onnxData = dig(flavors, 'onnx', 'data');
        report.add({
          kind: 'artifact',
          name: `${name}/${artifact.modelId ?? (artifact.artifactPath || 'model')}`,
          action: 'skipped',
          reason:
            Object.keys(artifact.mlmodel).length === 0
              ? 'no MLmodel file among its files: nothing to import'
              : onnxData !== undefined
                ? `its onnx flavor names ${String(onnxData)}, which is not among the logged model's files`
                : `no onnx flavor (flavors: ${Object.keys(flavors).join(', ') || 'none'}): log the model with mlflow.onnx to import it`,
        });
      }
      for (const v of holders) {
        // A version keeps the run it was first linked to: several runs can hold the same bytes, and
        // moving the link to whichever comes last would make every re-import change something.
        if (v.mlflowRunId != null) continue;
        if (!dryRun && row) await versions.linkImportedRun(v.id, row.id);
        report.add({
          kind: 'version',
          name: `${name} -> v${v.version}`,
          version: v.version,
          action: dryRun ? 'would-update' : 'linked',
          reason: 'same artifact',
        });
      }
    }
    return { row, run };
  }

  /** A registered version's run: imported above, or fetched by id (it may be in another experiment). */
  private async runFor(ctx: ImportCtx, runId: string): Promise<ImportedRun | null> {
    const known = ctx.runs.get(runId);
    if (known) return known;
    const run = await ctx.source.run(runId);
    if (!run) return null;
    const experiment = (await ctx.source.experiments(run.experimentId)).find((e) => e.id === run.experimentId);
    const imported = await this.importRun(ctx, experiment?.name ?? run.experimentId, run);
    ctx.runs.set(runId, imported);
    return imported;
  }

  /**
   * MLflow 3: a version registered from a LoggedModel may carry no `run_id` (an empty string); the
   * LoggedModel (`model_id`, or the `models:/m-<id>` source) names the run that logged it, and a
   * copy (`models:/<name>/<N>`) has its original's.
   */
  private async loggedModelRun(ctx: ImportCtx, v: MlflowRegisteredVersion, depth = 0): Promise<string | null> {
    const modelId = v.modelId ?? /^models:\/(m-[0-9a-f]{32})$/.exec(v.source)?.[1] ?? null;
    // A copy (`models:/<name>/<N>`, copy_model_version) without a run: the original's run.
    const copy = /^models:\/([^/]+)\/(\d+)$/.exec(v.source);
    if (!modelId && copy && depth < 5) {
      const original = (
        await ctx.source.registeredModels(decodeURIComponent(copy[1]!)).catch(() => [])
      )[0]?.versions.find((x) => x.version === Number(copy[2]));
      return original ? (original.runId ?? (await this.loggedModelRun(ctx, original, depth + 1))) : null;
    }
    if (!modelId) return null;
    const model = await ctx.source.loggedModel(modelId).catch((e) => {
      ctx.report.fail({ kind: 'artifact', name: `${v.name} v${v.version} LoggedModel ${modelId}` }, e);
      return null;
    });
    return model?.sourceRunId ?? null;
  }

  /** Gateway versions that hold the artifact a logged model describes (see the class comment). */
  private async versionsFor(run: MlflowRunData | null, artifact: MlflowModelArtifact): Promise<VersionRecord[]> {
    const { versions } = this.deps;
    const meta = fields(artifact.mlmodel.metadata);
    let hash: { sha256?: string | null; md5?: string | null } = {
      sha256: typeof meta.sha256 === 'string' ? meta.sha256 : null,
      md5: typeof meta.md5 === 'string' ? meta.md5 : null,
    };
    if (artifact.onnxFile) hash = await digestFile(artifact.onnxFile);
    const byBytes = await versions.findByContent(hash);
    if (byBytes.length) return byBytes;
    const commit = run?.tags['mlflow.source.git.commit'];
    if (commit && typeof meta.dvc_path === 'string') return versions.findByDvcRevPath(commit, meta.dvc_path);
    return [];
  }

  private async importRegisteredVersion(actor: Actor, ctx: ImportCtx, v: MlflowRegisteredVersion) {
    const { mlflowRuns, versions, models, aliases } = this.deps;
    const { source, trackingUri, report, dryRun } = ctx;
    const label = `${v.name} v${v.version}`;
    const runId = v.runId ?? (await this.loggedModelRun(ctx, v));
    const linked = runId ? await this.runFor(ctx, runId) : null;
    // The registered version's own files (its source), whatever form the source takes.
    const artifact = await source.versionArtifact(v).catch((e) => {
      report.fail({ kind: 'artifact', name: `${label} files` }, e);
      return null;
    });
    let gateway: VersionRecord | null = artifact
      ? ((await this.versionsFor(linked?.run ?? null, artifact))[0] ?? null)
      : null;
    if (!gateway && artifact?.onnxFile) {
      const model = await models.find(v.name);
      if (!model)
        throw badInput(
          `${label} holds an ONNX file but the gateway has no model "${v.name}" (labels, input spec): register it first`,
        );
      if (dryRun) {
        const { sha256 } = await digestFile(artifact.onnxFile);
        if (!ctx.plannedBytes.has(sha256))
          report.add({
            kind: 'version',
            name: label,
            action: 'would-create',
            reason: 'ONNX file of the registered version',
          });
        ctx.plannedBytes.add(sha256);
      } else {
        gateway = await versions.register(actor, {
          model: v.name,
          artifactPath: artifact.onnxFile,
          trustedFile: true,
          artifactUri: v.source,
          tags: {
            'mlflow.registeredModel': v.name,
            'mlflow.version': v.version,
            ...(artifact.location ? { 'mlflow.storageLocation': artifact.location } : {}),
          },
          ...(linked?.row ? { mlflowRunId: linked.row.id } : {}),
        });
        report.add({
          kind: 'version',
          name: label,
          version: gateway.version,
          action: 'created',
          reason: 'ONNX file of the registered version',
        });
      }
    }
    const previous = (await mlflowRuns.findImportedRegisteredVersion(trackingUri, v.name, v.version))?.aliases ?? [];
    const action = await mlflowRuns.recordImportedRegisteredVersion(
      {
        trackingUri,
        name: v.name,
        version: v.version,
        source: v.source,
        status: v.status,
        stage: v.currentStage,
        aliases: v.aliases,
        description: v.description,
        runRowId: linked?.row?.id ?? null,
        modelVersionId: gateway?.id ?? null,
      },
      { dryRun },
    );
    report.add({
      kind: 'registered-model',
      name: v.name,
      version: v.version,
      action: planned(action, dryRun),
      reason: gateway
        ? `gateway version ${gateway.version}`
        : artifact?.onnxFile
          ? 'ONNX file: a new gateway version'
          : 'no ONNX bytes found: recorded as a run link only',
    });
    if (gateway && linked?.row && gateway.mlflowRunId !== linked.row.id && !dryRun)
      await versions.linkImportedRun(gateway.id, linked.row.id);
    // MLflow aliases follow upstream changes onto the gateway version of the same model.
    if (gateway) {
      const model = await models.find(v.name);
      if (model && model.id === gateway.modelId) {
        await applyUpstreamAliases(
          { aliases, versions },
          actor,
          { model: v.name, version: gateway.version },
          v.aliases,
          previous,
          report,
          dryRun,
        );
      }
    }
  }
}
