import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ArtifactStore } from '../artifacts/artifact-store';
import { requireRole, type Actor } from '../auth/actor';
import { badInput, conflict, DomainError, exhausted, modelLoadFailed, modelNotReady, notFound } from '../common/errors';
import { PAGES, pageSize } from '../common/paging';
import { checkText } from '../common/text';
import { labelPermutation } from '../evaluation/comparison.service';
import { graphOps } from '../inference/graph-ops';
import type { ImagePool } from '../inference/image/image-pool';
import type { DatasetRecord } from '../registry/dataset.repository';
import type { DatasetService } from '../registry/dataset.service';
import { parseInputSpec } from '../registry/input-spec';
import type { ModelService } from '../registry/model.service';
import type { ResolvedVersion, VersionRef, VersionService } from '../registry/version.service';
import { int8Refusal, QuantizationRefused, type CalibrationMethod } from './int8';
import type { OptimizationRecord, OptimizationRepository } from './optimization.repository';

export type OptimizationMethod = 'INT8_STATIC';
export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ['MINMAX', 'PERCENTILE', 'ENTROPY'];

/** Calibration images when the request names no limit. */
export const DEFAULT_CALIBRATION_LIMIT = 200;
/** The most calibration images one job runs (the calibrator keeps statistics of every tensor). */
export const MAX_CALIBRATION_LIMIT = 10_000;
/** Non-inferiority margin of the comparison against the parent: 1 point of accuracy. */
export const DEFAULT_MARGIN = 0.01;

export interface OptimizeVersionInput {
  ref: VersionRef;
  method: OptimizationMethod;
  calibration: { dataset: string; limit?: number | null; method?: CalibrationMethod | null };
  /** Queue a comparison of the result against its parent (default true). */
  compare?: boolean | null;
  /** Non-inferiority margin of that comparison (default 0.01: one point). */
  nonInferiorityMargin?: number | null;
  /** The comparison's dataset ("name" or "name@version"; default: the calibration dataset). */
  comparisonDataset?: string | null;
  /** Compare on the first N items only (default: all). */
  comparisonLimit?: number | null;
}

/** What a job is asked to do, as stored with it. */
export interface OptimizationOptions {
  method: OptimizationMethod;
  calibrationMethod: CalibrationMethod;
  limit: number;
  compare: boolean;
  margin: number;
  /** "name@version" of the calibration dataset (for the derivation record). */
  calibrationDataset: string;
  /** "name@version" of the comparison's dataset. */
  comparisonDataset: string;
  comparisonLimit: number | null;
}

/** Bumped when what a job produces changes, so an active job with the old meaning is not handed out. */
const OPTIMIZER_VERSION = 1;
const MAX_VERSION = 2 ** 31 - 1;

/** An optimization's id as clients send it. */
export function parseOptimizationId(id: string): number {
  if (!/^\d{1,9}$/.test(id)) throw badInput(`optimization id "${id}" is not a number`);
  return Number(id);
}

/**
 * A quantizer's refusal as the API says it: an already statically quantized graph is a CONFLICT
 * (there is nothing left to do), anything else the input's fault, with the operators named.
 */
export function refusalError(r: QuantizationRefused, label: string): DomainError {
  const details = { reason: r.reason, operators: r.operators };
  if (r.reason === 'ALREADY_STATIC') return conflict(`${label} cannot be made static int8: ${r.message}`, details);
  return badInput(`${label} cannot be made static int8: ${r.message}`, details);
}

/** optimizeVersion, optimization(s), cancelOptimization: validation and bookkeeping; the runner does the work. */
export class OptimizationService {
  constructor(
    private readonly deps: {
      optimizations: OptimizationRepository;
      versions: VersionService;
      models: ModelService;
      datasets: DatasetService;
      artifacts: ArtifactStore;
      /** Preprocesses one image as inference does: a calibration image must fit the version's input. */
      images: Pick<ImagePool, 'preprocess'>;
      kick: () => void;
      maxActivePerKey: number;
    },
  ) {}

  private async resolveDataset(ref: string, field: string): Promise<DatasetRecord> {
    const m = /^([^@]+)(?:@(\d+))?$/.exec(checkText(field, ref).trim());
    if (!m) throw badInput(`dataset "${ref}" must be "name" or "name@version"`, { field });
    if (m[2] && Number(m[2]) > MAX_VERSION)
      throw badInput(`dataset "${ref}": the version must be at most ${MAX_VERSION}`, { field });
    const found = m[2] ? await this.deps.datasets.find(m[1]!, Number(m[2])) : await this.deps.datasets.latest(m[1]!);
    if (!found) throw notFound(`no dataset "${ref}"`, { dataset: ref });
    return found;
  }

  /**
   * Whether the dataset's images can stand for the version's inputs: the same classes (as a
   * comparison requires), and its first image preprocessed as inference does.
   */
  private async checkFit(source: ResolvedVersion, dataset: DatasetRecord, field: string, label: string) {
    const name = `${dataset.name}@${dataset.version}`;
    try {
      labelPermutation(dataset.labels, source.model.labels, {}, `${label} has`);
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      throw badInput(`dataset ${name} does not fit ${label}: ${e.message.replace(/ \(give labelMapping.*\)$/, '')}`, {
        field,
        datasetLabels: dataset.labels,
        modelLabels: source.model.labels,
      });
    }
    const [first] = await this.deps.datasets.itemsOf(dataset.id, 0, 1);
    if (!first) throw badInput(`dataset ${name} has no items`, { field });
    const bytes = await readFile(await this.deps.artifacts.ensure(first));
    try {
      await this.deps.images.preprocess(bytes, parseInputSpec(source.model.inputSpec));
    } catch (e) {
      if (!(e instanceof DomainError) || e.code === 'RESOURCE_EXHAUSTED' || e.code === 'INTERNAL_SERVER_ERROR') throw e;
      throw badInput(`the images of dataset ${name} do not fit ${label}'s input spec: ${e.message}`, { field });
    }
  }

  async start(actor: Actor, input: OptimizeVersionInput): Promise<OptimizationRecord> {
    requireRole(actor, 'operator', 'optimizing a version');
    if (input.method !== 'INT8_STATIC')
      throw badInput(`method must be INT8_STATIC, got ${String(input.method)}`, { field: 'method' });
    const limit = input.calibration.limit ?? DEFAULT_CALIBRATION_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_CALIBRATION_LIMIT)
      throw badInput(`calibration.limit must be an integer from 1 to ${MAX_CALIBRATION_LIMIT}, got ${limit}`, {
        field: 'calibration.limit',
      });
    const calibrationMethod = input.calibration.method ?? 'PERCENTILE';
    if (!CALIBRATION_METHODS.includes(calibrationMethod))
      throw badInput(`calibration.method must be one of ${CALIBRATION_METHODS.join(', ')}`, {
        field: 'calibration.method',
      });
    const margin = input.nonInferiorityMargin ?? DEFAULT_MARGIN;
    if (!(margin >= 0 && margin < 1))
      throw badInput(`nonInferiorityMargin must be in [0, 1), got ${margin}`, { field: 'nonInferiorityMargin' });
    const comparisonLimit = input.comparisonLimit ?? null;
    if (comparisonLimit !== null && (!Number.isInteger(comparisonLimit) || comparisonLimit < 1))
      throw badInput(`comparisonLimit must be a positive integer, got ${comparisonLimit}`, {
        field: 'comparisonLimit',
      });
    const compare = input.compare ?? true;

    const source = await this.deps.versions.resolve(actor, input.ref);
    const label = `${source.model.name} v${source.version.version}`;
    if (source.version.status === 'FAILED')
      throw modelLoadFailed(`${label} is FAILED: ${source.version.statusReason ?? 'unknown reason'}`);
    if (source.version.status !== 'READY') throw modelNotReady(`${label} is ${source.version.status}, not READY`);

    // Refused from the operator types alone, before anything is queued.
    const ops = await graphOps(await this.deps.artifacts.ensure(source.version)).catch((e: Error) => {
      throw modelLoadFailed(`${label}'s artifact cannot be read as an ONNX graph: ${e.message}`);
    });
    const refusal = int8Refusal(ops);
    if (refusal) throw refusalError(refusal, label);

    const dataset = await this.resolveDataset(input.calibration.dataset, 'calibration.dataset');
    await this.checkFit(source, dataset, 'calibration.dataset', label);
    const comparisonDataset = input.comparisonDataset
      ? await this.resolveDataset(input.comparisonDataset, 'comparisonDataset')
      : dataset;
    if (compare && comparisonDataset.id !== dataset.id)
      await this.checkFit(source, comparisonDataset, 'comparisonDataset', label);

    const options: OptimizationOptions = {
      method: 'INT8_STATIC',
      calibrationMethod,
      limit,
      compare,
      margin,
      calibrationDataset: `${dataset.name}@${dataset.version}`,
      comparisonDataset: `${comparisonDataset.name}@${comparisonDataset.version}`,
      comparisonLimit,
    };
    const requestKey = createHash('sha256')
      .update(
        JSON.stringify({
          optimizer: OPTIMIZER_VERSION,
          source: source.version.id,
          sha256: source.version.sha256,
          inputSpec: source.model.inputSpec,
          dataset: dataset.digest,
          comparisonDataset: comparisonDataset.digest,
          options,
        }),
      )
      .digest('hex');
    const existing = await this.deps.optimizations.findActive(requestKey);
    if (existing) return existing;
    const active = await this.deps.optimizations.countActiveBy(actor.name);
    if (active >= this.deps.maxActivePerKey) {
      throw exhausted(
        `"${actor.name}" already has ${active} optimizations queued or running ` +
          `(COMPARISON_MAX_ACTIVE_PER_KEY ${this.deps.maxActivePerKey}); wait for one to finish or cancel one`,
        5000,
        { active, max: this.deps.maxActivePerKey },
      );
    }
    const created = await this.deps.optimizations.createUnlessActive({
      sourceId: source.version.id,
      datasetId: dataset.id,
      options,
      requestKey,
      total: Math.min(limit, dataset.itemCount),
      createdBy: actor.name,
    });
    this.deps.kick();
    return created;
  }

  async get(actor: Actor, id: number): Promise<OptimizationRecord | null> {
    requireRole(actor, 'viewer', 'reading optimizations');
    return this.deps.optimizations.find(id);
  }

  async list(actor: Actor, filter: { model?: string | null; first?: number | null }): Promise<OptimizationRecord[]> {
    requireRole(actor, 'viewer', 'listing optimizations');
    const first = pageSize(filter.first, PAGES.comparisons);
    const model = filter.model ? await this.deps.models.require(filter.model) : null;
    return this.deps.optimizations.list({ ...(model ? { modelId: model.id } : {}), first });
  }

  async cancel(actor: Actor, id: number): Promise<OptimizationRecord> {
    requireRole(actor, 'operator', 'cancelling an optimization');
    const job = await this.deps.optimizations.find(id);
    if (!job) throw notFound(`no optimization ${id}`);
    if (job.status !== 'QUEUED' && job.status !== 'RUNNING')
      throw conflict(`optimization ${id} is already ${job.status}`);
    return (await this.deps.optimizations.requestCancel(id))!;
  }
}
