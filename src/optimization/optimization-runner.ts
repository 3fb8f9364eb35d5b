import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ArtifactStore } from '../artifacts/artifact-store';
import type { Actor } from '../auth/actor';
import { DomainError, ErrorCode, internalError, notFound } from '../common/errors';
import type { Logger } from '../common/logger';
import type { ComparisonService } from '../evaluation/comparison.service';
import type { InferenceBackend } from '../inference/backend';
import type { ImagePool } from '../inference/image/image-pool';
import { LeaseRunner, type JobContext, type JobHandler } from '../jobs/lease-runner';
import type { DatasetService } from '../registry/dataset.service';
import { parseInputSpec, type InputSpec } from '../registry/input-spec';
import type { ModelRecord } from '../registry/model.repository';
import type { ModelService } from '../registry/model.service';
import type { VersionRecord } from '../registry/version.repository';
import type { VersionService } from '../registry/version.service';
import * as int8 from './int8';
import type { OptimizationRecord, OptimizationRepository, OptimizationStep } from './optimization.repository';
import { refusalError, type OptimizationOptions } from './optimization.service';

/** Calibration images per run of the calibration graph (fewer for a graph with a fixed batch). */
const CALIBRATION_BATCH = 8;

/**
 * What the job does with a calibrator: hands it tensors (some per run), then counts the images done.
 * observe may return a promise (the quantizer's does: it fills its histograms between turns of the
 * event loop); the job waits for it before the next run.
 */
export interface CalibratorLike {
  observe(outputs: Record<string, { data: Float32Array; dims: number[] }>): void | Promise<void>;
  countItems(n: number): void;
}

/** The quantizer's three steps (src/optimization/int8.ts); a seam for tests. */
export interface Int8Quantizer {
  planInt8(source: Uint8Array): int8.Int8Plan;
  calibrator(plan: int8.Int8Plan): CalibratorLike;
  buildInt8(plan: int8.Int8Plan, calibrator: CalibratorLike, method: int8.CalibrationMethod): int8.Int8Result;
}

/** The quantizer of src/optimization/quantizer.ts. */
export const defaultQuantizer: Int8Quantizer = {
  planInt8: (source) => int8.planInt8(source),
  calibrator: (plan) => new int8.Calibrator(plan),
  buildInt8: (plan, calibrator, method) => int8.buildInt8(plan, calibrator as int8.Calibrator, method),
};

/** What a derived version records about how it was made (ModelVersion.derivation). */
export interface DerivationRecord {
  method: 'INT8_STATIC';
  calibrationDataset: string;
  calibrationItems: number;
  calibrationMethod: int8.CalibrationMethod;
  tool: string;
  quantizedNodes: number;
  foldedDequantize: number;
  optimizationId: number;
}

export interface OptimizationRunnerDeps {
  optimizations: OptimizationRepository;
  versions: VersionService;
  models: ModelService;
  datasets: DatasetService;
  comparisons: Pick<ComparisonService, 'start'>;
  backend: Pick<InferenceBackend, 'load' | 'runOutputs' | 'unload'>;
  images: Pick<ImagePool, 'preprocess'>;
  artifacts: ArtifactStore;
  quantizer?: Int8Quantizer;
  /** Where calibration graphs are written while they are loaded (DATA_DIR/tmp). */
  tmpDir: string;
  intraOpThreads: number;
  spinning: boolean;
  /** Bytes of calibration tensors one run may return (CALIBRATION_MEMORY_MB). */
  calibrationMemoryBytes: number;
  logger: Logger;
  concurrency: number;
  leaseMs: number;
  pollMs: number;
  singleProcess: boolean;
}

/** The optimization runner: the generic lease runner (src/jobs) running optimizeVersion jobs. */
export function createOptimizationRunner(deps: OptimizationRunnerDeps): LeaseRunner<OptimizationRecord> {
  return new LeaseRunner({
    kind: 'optimization',
    store: deps.optimizations,
    handler: new OptimizationJob(deps),
    logger: deps.logger,
    concurrency: deps.concurrency,
    leaseMs: deps.leaseMs,
    pollMs: deps.pollMs,
    singleProcess: deps.singleProcess,
  });
}

/** Who the job acts as when it registers the version and queues its comparison: the key that asked. */
const jobActor = (job: OptimizationRecord): Actor => ({ name: job.createdBy, kind: 'local', role: 'operator' });

/**
 * One optimization: calibrate (the source's fp32 graph over the first `limit` dataset images,
 * preprocessed as inference does, in the inference worker), quantize, store the graph, register it
 * as the next version of the same model (parent = the source, with its derivation), then queue its
 * comparison against the source. Each phase's outcome is checkpointed before the next: a resumed
 * job calibrates again only when it had not stored the quantized graph yet, and finds the version
 * it registered (same parent, same bytes) rather than registering a second one.
 */
export class OptimizationJob implements JobHandler<OptimizationRecord> {
  private readonly quantizer: Int8Quantizer;

  constructor(
    private readonly deps: Omit<
      OptimizationRunnerDeps,
      'concurrency' | 'leaseMs' | 'pollMs' | 'singleProcess' | 'logger'
    >,
  ) {
    this.quantizer = deps.quantizer ?? defaultQuantizer;
  }

  /** A worker that died or a model still loading: the job resumes later. */
  transient(e: unknown): boolean {
    return e instanceof DomainError && (e.code === 'MODEL_NOT_READY' || e.code === 'INTERNAL_SERVER_ERROR');
  }

  async run(job: OptimizationRecord, ctx: JobContext) {
    const { versions, models } = this.deps;
    const options = job.options as unknown as OptimizationOptions;
    const source = await versions.findById(job.sourceId);
    if (!source) throw notFound('the source version no longer exists');
    const model = (await models.findById(source.modelId))!;
    const step = (s: OptimizationStep) =>
      ctx.checkpoint((owner, leaseMs) => this.deps.optimizations.checkpoint(job.id, owner, leaseMs, s));

    let sha256 = job.derivedSha256;
    let derivation = job.derivation as DerivationRecord | null;
    if (!sha256 || !derivation || !(await this.stored(sha256))) {
      ctx.log.info({ total: job.total, limit: options.limit }, 'calibrating');
      const made = await this.quantize(job, options, source, model, ctx, step);
      sha256 = made.sha256;
      derivation = made.derivation;
      await step({ phase: 'REGISTERING', derivedSha256: sha256, derivation });
    }

    let derived = job.derivedId !== null ? await versions.findById(job.derivedId) : null;
    if (!derived) {
      derived = await this.register(job, source, model, sha256, derivation);
      await step({ phase: options.compare ? 'COMPARING' : 'DONE', derivedId: derived.id });
    }

    let comparisonId = job.comparisonId;
    if (options.compare && comparisonId === null) {
      comparisonId = await this.queueComparison(job, options, model, source, derived, ctx);
      await step({ phase: 'DONE', comparisonId });
    }
    return {
      results: {
        derivedId: derived.id,
        derivedVersion: derived.version,
        comparisonId,
        calibrationItems: derivation.calibrationItems,
        quantizedNodes: derivation.quantizedNodes,
        foldedDequantize: derivation.foldedDequantize,
      },
      summary: { derivedVersion: derived.version, comparison: comparisonId },
    };
  }

  private async stored(sha256: string): Promise<boolean> {
    const info = await stat(this.deps.artifacts.absolute(this.deps.artifacts.relativeFor(sha256))).catch(() => null);
    return Boolean(info?.isFile());
  }

  /** Calibration and quantization; the quantized graph is stored in the artifact store by its sha256. */
  private async quantize(
    job: OptimizationRecord,
    options: OptimizationOptions,
    source: VersionRecord,
    model: ModelRecord,
    ctx: JobContext,
    step: (s: OptimizationStep) => Promise<void>,
  ): Promise<{ sha256: string; derivation: DerivationRecord }> {
    const { artifacts } = this.deps;
    const label = `${model.name} v${source.version}`;
    const bytes = await readFile(await artifacts.ensure(source));
    let plan: int8.Int8Plan;
    try {
      plan = this.quantizer.planInt8(bytes);
    } catch (e) {
      if (e instanceof int8.QuantizationRefused) throw refusalError(e, label);
      throw e;
    }
    const calibrator = this.quantizer.calibrator(plan);
    await step({ phase: 'CALIBRATING', done: 0 });
    await this.calibrate(job, source, parseInputSpec(model.inputSpec), plan, calibrator, ctx, step);
    await step({ phase: 'QUANTIZING' });
    let result: int8.Int8Result;
    try {
      result = this.quantizer.buildInt8(plan, calibrator, options.calibrationMethod);
    } catch (e) {
      if (e instanceof int8.QuantizationRefused) throw refusalError(e, label);
      throw e;
    }
    await mkdir(this.deps.tmpDir, { recursive: true });
    const tmp = path.join(this.deps.tmpDir, `int8-${job.id}-${randomUUID()}.onnx`);
    try {
      await writeFile(tmp, result.model);
      const stored = await artifacts.commit(await artifacts.stage(tmp));
      return {
        sha256: stored.sha256,
        derivation: {
          method: 'INT8_STATIC',
          calibrationDataset: options.calibrationDataset,
          calibrationItems: result.calibrationItems,
          calibrationMethod: result.method,
          tool: result.tool,
          quantizedNodes: result.quantizedNodes,
          foldedDequantize: plan.foldedDequantize,
          optimizationId: job.id,
        },
      };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /**
   * The first `total` dataset items (by ordinal), preprocessed exactly as inference does, through the
   * calibration graph (loaded under its own key, with the intermediate tensors as outputs), a batch
   * at a time, each batch in as many runs as keep one run's outputs within CALIBRATION_MEMORY_MB;
   * progress is checkpointed after each batch. The graph is unloaded and deleted after.
   */
  private async calibrate(
    job: OptimizationRecord,
    source: VersionRecord,
    spec: InputSpec,
    plan: int8.Int8Plan,
    calibrator: CalibratorLike,
    ctx: JobContext,
    step: (s: OptimizationStep) => Promise<void>,
  ): Promise<void> {
    const { backend, artifacts, datasets, images } = this.deps;
    const fixed = (source.signature as { batch?: number | 'dynamic' }).batch;
    await mkdir(this.deps.tmpDir, { recursive: true });
    const file = path.join(this.deps.tmpDir, `calibration-${job.id}-${randomUUID()}.onnx`);
    const key = `optimization-${job.id}-${randomUUID()}`;
    await writeFile(file, plan.calibrationModel);
    try {
      await backend.load(key, file, {
        // The fp32 graph, exactly: on the CPU, with nothing folded or fused away.
        providers: ['cpu'],
        intraOpNumThreads: this.deps.intraOpThreads,
        interOpNumThreads: 1,
        disableQuantQdq: false,
        allowSpinning: this.deps.spinning,
      });
      const items = await datasets.itemsOf(job.datasetId, 0, job.total);
      const perImage = spec.channels * spec.height * spec.width;
      const input = async (batch: typeof items) => {
        const n = batch.length;
        const data = new Float32Array(n * perImage);
        const tensors = await Promise.all(
          batch.map(async (item) => images.preprocess(await readFile(await artifacts.ensure(item)), spec)),
        );
        tensors.forEach((t, k) => data.set(t.data, k * perImage));
        const dims =
          spec.layout === 'NCHW'
            ? [n, spec.channels, spec.height, spec.width]
            : [n, spec.height, spec.width, spec.channels];
        return { name: plan.inputName, data, dims };
      };
      // Every tensor of a batch through runOutputs, in groups whose outputs stay within the budget.
      const observe = async (batch: typeof items, groups: string[][]) => {
        const x = await input(batch);
        for (const group of groups) {
          const out = await backend.runOutputs(key, { ...x, data: x.data.slice() }, group);
          await calibrator.observe(out.outputs);
        }
        calibrator.countItems(batch.length);
      };
      // The first image (or fixed batch) one tensor per run: how many bytes each tensor takes per image
      // is known only from a run, and all of them at once could take gigabytes (a high-resolution graph).
      const first = items.slice(0, typeof fixed === 'number' ? fixed : 1);
      const bytes = new Map<string, number>();
      {
        const x = await input(first);
        for (const t of plan.tensors) {
          const out = await backend.runOutputs(key, { ...x, data: x.data.slice() }, [t]);
          bytes.set(t, out.outputs[t]!.data.byteLength / first.length);
          await calibrator.observe(out.outputs);
        }
        calibrator.countItems(first.length);
        await step({ phase: 'CALIBRATING', done: first.length });
      }
      // One run per batch when all tensors of the batch fit the budget; otherwise one image per batch
      // and as few runs as fit (each run recomputes the graph, so fewer tensors per run costs more).
      const budget = this.deps.calibrationMemoryBytes;
      const total = Math.max(
        1,
        [...bytes.values()].reduce((a, b) => a + b, 0),
      );
      const batchSize =
        typeof fixed === 'number' ? fixed : Math.max(1, Math.min(CALIBRATION_BATCH, Math.floor(budget / total)));
      const groups: string[][] = [];
      let used = Infinity;
      for (const t of plan.tensors) {
        const b = bytes.get(t)! * batchSize;
        if (used + b > budget) {
          groups.push([]);
          used = 0;
        }
        groups.at(-1)!.push(t);
        used += b;
      }
      for (let i = first.length; i < items.length; i += batchSize) {
        ctx.pauseIfStopping({ done: i });
        const batch = items.slice(i, i + batchSize);
        // A graph with a fixed batch dimension takes full batches only: a partial last one is left out.
        if (batch.length < batchSize && typeof fixed === 'number') break;
        await observe(batch, groups);
        await step({ phase: 'CALIBRATING', done: i + batch.length });
      }
    } finally {
      await backend.unload(key).catch(() => undefined);
      await rm(file, { force: true });
    }
  }

  /**
   * The stored graph as the next version of the source's model, unless this job registered it
   * already (a resumed job: a version of the model with the same parent and bytes).
   */
  private async register(
    job: OptimizationRecord,
    source: VersionRecord,
    model: ModelRecord,
    sha256: string,
    derivation: DerivationRecord,
  ): Promise<VersionRecord> {
    const { versions, artifacts } = this.deps;
    const existing = (await versions.findByContent({ sha256 })).find(
      (v) => v.modelId === source.modelId && v.parentId === source.id,
    );
    if (existing) return existing;
    const file = artifacts.absolute(artifacts.relativeFor(sha256));
    if (!(await this.stored(sha256))) throw internalError(`the quantized graph ${sha256} is missing from the store`);
    return versions.register(jobActor(job), {
      model: model.name,
      artifactPath: file,
      trustedFile: true,
      artifactUri: `modelgate://optimizations/${job.id}`,
      parentVersion: source.version,
      derivation,
    });
  }

  /** The comparison of the derived version against its parent; a full queue of the key's comparisons delays it. */
  private async queueComparison(
    job: OptimizationRecord,
    options: OptimizationOptions,
    model: ModelRecord,
    source: VersionRecord,
    derived: VersionRecord,
    ctx: JobContext,
  ): Promise<number> {
    for (;;) {
      try {
        const c = await this.deps.comparisons.start(jobActor(job), {
          candidate: { model: model.name, version: derived.version },
          baseline: { model: model.name, version: source.version },
          dataset: options.comparisonDataset,
          nonInferiorityMargin: options.margin,
          ...(options.comparisonLimit !== null ? { limit: options.comparisonLimit } : {}),
        });
        return c.id;
      } catch (e) {
        if (!(e instanceof DomainError && e.code === ErrorCode.RESOURCE_EXHAUSTED) || ctx.stopping) throw e;
        await new Promise((r) => setTimeout(r, Number(e.details?.retryAfterMs ?? 1000)));
      }
    }
  }
}
