import { stat } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { badInput, notFound } from '../common/errors';
import type { ArtifactStore } from '../artifacts/artifact-store';
import { allowedPath } from '../artifacts/import-roots';
import { requireRole, type Actor } from '../auth/actor';
import { parseInputSpec } from './input-spec';
import { InvalidModelFileError, type GraphSignature, type ModelInspector } from './model-inspector';
import type { ModelRecord } from './model.repository';
import type { ModelService } from './model.service';
import type { AliasRepository } from './alias.repository';
import type { RegistryCache } from '../db/registry-cache';
import { checkAlias, checkTags } from './names';
import { parseRemoteBackend } from './remote-backend';
import { fitSignature, type SignatureFit } from './signature';
import {
  LOAD_FAILED,
  type DvcRecord,
  type NewVersion,
  type VersionRecord,
  type VersionRepository,
} from './version.repository';

export interface VersionRef {
  model: string;
  version?: number | null | undefined;
  alias?: string | null | undefined;
}

export interface ResolvedVersion {
  model: ModelRecord;
  version: VersionRecord;
  /** "version", "alias:<name>" or "default" (the GraphQL field Prediction.resolvedBy). */
  resolvedBy: string;
}

export interface RegisterVersionInput {
  model: string;
  artifactPath: string;
  tags?: unknown;
  /** Where the file came from, when not the local path itself (importers set dvc://, runs:/...). */
  artifactUri?: string;
  parentVersion?: number;
  /** A derived version (optimizations): how it was made from `parentVersion`. */
  derivation?: object;
  dvc?: NewVersion['dvc'];
  mlflowRunId?: number;
  /**
   * Importers only: a file the gateway located (and verified) or downloaded itself, so it need not
   * lie under IMPORT_ROOTS (a DVC remote or cache elsewhere, a download in DATA_DIR).
   */
  trustedFile?: boolean;
  /** Importers only: the md5 the source recorded; the staged copy must match it. */
  expectedMd5?: string;
}

/** The alias `modelVersion` falls back to when a reference names neither a version nor an alias. */
export const DEFAULT_ALIAS = 'champion';

export class VersionService {
  constructor(
    private readonly deps: {
      models: ModelService;
      versions: VersionRepository;
      aliases: AliasRepository;
      artifacts: ArtifactStore;
      inspector: ModelInspector;
      importRoots: readonly string[];
      cache: RegistryCache;
    },
  ) {}

  /**
   * Registers a local ONNX file as the model's next version. Everything that can refuse the file
   * (existence, loadability, fit with the model's spec and labels) runs on a staged copy that is
   * discarded on refusal: a refused file leaves nothing behind.
   */
  async register(actor: Actor, input: RegisterVersionInput): Promise<VersionRecord> {
    requireRole(actor, 'operator', 'registering a version');
    const { models, versions, artifacts, inspector } = this.deps;
    const model = await models.require(input.model);
    const tags = checkTags(input.tags);
    const file = input.trustedFile
      ? input.artifactPath
      : await allowedPath(this.deps.importRoots, input.artifactPath, 'artifactPath');
    const info = await stat(file).catch(() => null);
    if (!info)
      throw badInput(`artifactPath ${file} does not exist (paths are read on the gateway's machine)`, {
        field: 'artifactPath',
      });
    if (!info.isFile()) throw badInput(`artifactPath ${file} is not a regular file`, { field: 'artifactPath' });
    if (info.size === 0) throw badInput(`artifactPath ${file} is empty`, { field: 'artifactPath' });

    let parentId: number | null = null;
    if (input.parentVersion !== undefined) {
      const parent = await versions.findByNumber(model.id, input.parentVersion);
      if (!parent) throw notFound(`model "${model.name}" has no version ${input.parentVersion} to derive from`);
      parentId = parent.id;
    }

    // Everything below checks the staged copy: the bytes stored are the bytes checked.
    const staged = await artifacts.stage(file);
    if (input.expectedMd5 && staged.md5 !== input.expectedMd5) {
      await artifacts.discard(staged);
      throw badInput(`${file} changed while it was imported: md5 ${staged.md5}, expected ${input.expectedMd5}`, {
        field: 'artifactPath',
      });
    }
    let fit: SignatureFit;
    let signature: GraphSignature;
    try {
      signature = await inspector.inspect(staged.tmpPath);
      fit = fitSignature(signature, parseInputSpec(model.inputSpec), model.labels.length);
    } catch (e) {
      await artifacts.discard(staged);
      if (e instanceof InvalidModelFileError) {
        throw badInput(`${file} is ${e.message.split(staged.tmpPath).join(file)}`, { field: 'artifactPath' });
      }
      throw e;
    }
    const stored = await artifacts.commit(staged);
    const { parameters, ...graph } = signature;
    // A failed insert leaves the stored file in place: another registration of the same bytes may
    // be using it, and identical bytes are reused by the next registration anyway.
    return versions.createNext(model.id, {
      status: 'READY',
      artifactUri: input.artifactUri ?? pathToFileURL(file).href,
      localPath: stored.localPath,
      sha256: stored.sha256,
      md5: stored.md5,
      sizeBytes: stored.sizeBytes,
      parameterCount: parameters == null ? null : BigInt(parameters),
      signature: { ...graph, input: fit.input.name, output: fit.output.name, batch: fit.batch },
      tags,
      parentId,
      ...(input.derivation ? { derivation: input.derivation } : {}),
      mlflowRunId: input.mlflowRunId ?? null,
      dvc: input.dvc ?? null,
    });
  }

  // What the inference runtime finds when it loads a version: the gateway reports it on its own
  // behalf (no caller, no actor).

  /** The version's file does not load (missing, changed, not ONNX): FAILED until an admin loads it again. */
  async markLoadFailed(versionId: number, reason: string): Promise<void> {
    await this.deps.versions.setStatus(versionId, 'FAILED', `${LOAD_FAILED}${reason}`);
  }

  /**
   * Points a version at a remote Open Inference Protocol engine (Triton, KServe), or back at the local
   * runtime with null (admin, as loading and unloading are). The URL must be http(s).
   */
  async setRemote(actor: Actor, ref: VersionRef, remote: unknown): Promise<VersionRecord> {
    requireRole(actor, 'admin', 'setting where a version runs');
    const setting = remote == null ? null : parseRemoteBackend(remote);
    const { version } = await this.resolve(actor, ref);
    return this.deps.versions.setRemote(version.id, setting);
  }

  /** A FAILED version loaded after all (an admin's loadVersion): READY again. */
  async clearLoadFailure(versionId: number): Promise<void> {
    await this.deps.versions.setStatus(versionId, 'READY', null);
  }

  /**
   * Stores the version's execution-provider preference (empty: the gateway's EXECUTION_PROVIDERS).
   * The caller (InferenceService) checks the right and the names against its runtime.
   */
  setExecutionProviders(versionId: number, providers: string[]): Promise<VersionRecord> {
    return this.deps.versions.setExecutionProviders(versionId, providers);
  }

  /** The graph's weights, counted for a version registered before they were (the speed measurement does it). */
  async recordParameterCount(versionId: number, parameters: number): Promise<void> {
    await this.deps.versions.setParameterCount(versionId, BigInt(parameters));
  }

  /** Ids of the versions an alias with one of these names points at (the runtime keeps them loaded). */
  pinnedVersionIds(aliases: readonly string[]): Promise<Set<number>> {
    return this.deps.versions.idsWithAliases(aliases);
  }

  /** For other services and the job runners, which have checked access themselves: null when there is no such version. */
  async findById(id: number): Promise<VersionRecord | null> {
    const [version] = await this.deps.versions.findByIds([id]);
    return version ?? null;
  }

  /** Every prediction resolves its reference: the answer is cached until the registry changes. */
  async resolve(actor: Actor, ref: VersionRef): Promise<ResolvedVersion> {
    requireRole(actor, 'viewer', 'reading a model version');
    if (ref.version != null && ref.alias != null)
      throw badInput('give either version or alias, not both', { field: 'ref' });
    return this.deps.cache.get(`resolve\0${ref.model}\0${ref.version ?? ''}\0${ref.alias ?? ''}`, () =>
      this.lookUp(ref),
    );
  }

  private async lookUp(ref: VersionRef): Promise<ResolvedVersion> {
    const { models, versions, aliases } = this.deps;
    const model = await models.require(ref.model);
    if (ref.version != null) {
      const version = await versions.findByNumber(model.id, ref.version);
      if (!version)
        throw notFound(`model "${model.name}" has no version ${ref.version}`, {
          model: model.name,
          version: ref.version,
        });
      return { model, version, resolvedBy: 'version' };
    }
    if (ref.alias != null) {
      const alias = await aliases.find(model.id, checkAlias(ref.alias));
      if (!alias)
        throw notFound(`model "${model.name}" has no alias "${ref.alias}"`, { model: model.name, alias: ref.alias });
      const [version] = await versions.findByIds([alias.versionId]);
      return { model, version: version!, resolvedBy: `alias:${alias.name}` };
    }
    const champion = await aliases.find(model.id, DEFAULT_ALIAS);
    if (champion) {
      const [version] = await versions.findByIds([champion.versionId]);
      return { model, version: version!, resolvedBy: 'default' };
    }
    const latest = await versions.findLatestReady(model.id);
    if (!latest)
      throw notFound(`model "${model.name}" has no READY version and no "${DEFAULT_ALIAS}" alias`, {
        model: model.name,
      });
    return { model, version: latest, resolvedBy: 'default' };
  }

  // For the importers, which have checked the operator role themselves: what a source records about
  // versions (DVC provenance, the MLflow run that produced them) and the look-ups that match on it.

  /** The model's versions with their DVC provenance, in version order. */
  findWithDvc(modelId: number): Promise<(VersionRecord & { dvc: DvcRecord | null })[]> {
    return this.deps.versions.findWithDvc(modelId);
  }

  /** Versions holding these bytes (by sha256 or DVC's md5), in any model. */
  findByContent(hash: { sha256?: string | null; md5?: string | null }): Promise<VersionRecord[]> {
    return this.deps.versions.findByContent(hash);
  }

  /** Versions imported from a DVC path at a git revision. */
  findByDvcRevPath(rev: string, dvcPath: string): Promise<VersionRecord[]> {
    return this.deps.versions.findByDvcRevPath(rev, dvcPath);
  }

  /** Records the version's DVC provenance as imported (replacing what was recorded before). */
  recordDvcProvenance(versionId: number, dvc: NonNullable<NewVersion['dvc']>): Promise<void> {
    return this.deps.versions.attachDvc(versionId, dvc);
  }

  /** Records the imported MLflow run (its row id) that produced the version. */
  linkImportedRun(versionId: number, mlflowRunId: number): Promise<void> {
    return this.deps.versions.linkRun(versionId, mlflowRunId);
  }
}
