import { readFile } from 'node:fs/promises';
import type { ArtifactStore } from '../artifacts/artifact-store';
import { badInput, DomainError, ErrorCode, notFound } from '../common/errors';
import type { Logger } from '../common/logger';
import type { InferenceService } from '../inference/inference.service';
import { argmax } from '../inference/postprocess';
import { LeaseRunner, type JobContext, type JobHandler } from '../jobs/lease-runner';
import type { DatasetService } from '../registry/dataset.service';
import { parseInputSpec, type InputSpec } from '../registry/input-spec';
import type { ModelRecord } from '../registry/model.repository';
import type { ModelService } from '../registry/model.service';
import type { VersionRecord } from '../registry/version.repository';
import type { VersionService } from '../registry/version.service';
import type {
  ComparisonItemRecord,
  ComparisonRecord,
  ComparisonRepository,
  NewComparisonItem,
} from './comparison.repository';
import type { ComparisonResults, VersionSize } from './report';
import { labelPermutation, type ComparisonOptions } from './comparison.service';
import type { SpeedProfile, SpeedService } from './speed.service';
import { PROBABILITY_SUM_TOLERANCE, pairedComparison, versionMetrics, type ItemOutcome } from './statistics';

/** Items evaluated between two checkpoints. */
const CHUNK = 32;

interface Side {
  record: VersionRecord;
  model: ModelRecord;
  spec: InputSpec;
  /** Index in the model's output of each dataset label. */
  permutation: number[];
}

export interface ComparisonRunnerDeps {
  comparisons: ComparisonRepository;
  versions: VersionService;
  models: ModelService;
  datasets: DatasetService;
  inference: Pick<InferenceService, 'score'>;
  /** Each version's speed in isolation and its parameter count, once the items are evaluated. */
  speed: Pick<SpeedService, 'measure' | 'parameters'>;
  artifacts: ArtifactStore;
  logger: Logger;
  concurrency: number;
  leaseMs: number;
  pollMs: number;
  /** An embedded database has one process: a RUNNING job found at start belonged to a dead one. */
  singleProcess: boolean;
}

/**
 * The comparison runner: the generic lease runner (src/jobs) running comparison jobs, which it claims
 * from the database (queued ones, or ones whose process died). A job that is interrupted resumes
 * after its last stored item, on this process or another, and its numbers come only from stored
 * rows, so they equal an uninterrupted run's.
 */
export function createComparisonRunner(deps: ComparisonRunnerDeps): LeaseRunner<ComparisonRecord> {
  return new LeaseRunner({
    kind: 'comparison',
    store: deps.comparisons,
    handler: new ComparisonJob(deps),
    logger: deps.logger,
    concurrency: deps.concurrency,
    leaseMs: deps.leaseMs,
    pollMs: deps.pollMs,
    singleProcess: deps.singleProcess,
  });
}

/**
 * One comparison job: runs every dataset item through both versions on the inference runtime, and
 * checkpoints each chunk of per-item rows in one transaction with the job's progress; once all are
 * stored, computes the results from the stored rows.
 */
export class ComparisonJob implements JobHandler<ComparisonRecord> {
  constructor(
    private readonly deps: Pick<
      ComparisonRunnerDeps,
      'comparisons' | 'versions' | 'models' | 'datasets' | 'inference' | 'speed' | 'artifacts'
    >,
  ) {}

  /** A worker that died (INTERNAL_SERVER_ERROR) or a model still loading: the job resumes later. */
  transient(e: unknown): boolean {
    return e instanceof DomainError && (e.code === 'MODEL_NOT_READY' || e.code === 'INTERNAL_SERVER_ERROR');
  }

  private async side(
    versionId: number,
    datasetLabels: string[],
    options: ComparisonOptions,
    role: string,
  ): Promise<Side> {
    const record = await this.deps.versions.findById(versionId);
    if (!record) throw notFound(`the ${role} version no longer exists`);
    const model = await this.deps.models.findById(record.modelId);
    return {
      record,
      model: model!,
      spec: parseInputSpec(model!.inputSpec),
      permutation: labelPermutation(
        datasetLabels,
        model!.labels,
        options.labelMapping,
        `${role} ${model!.name} v${record.version} has`,
      ),
    };
  }

  async run(job: ComparisonRecord, ctx: JobContext) {
    const { comparisons } = this.deps;
    const dataset = await this.deps.datasets.findById(job.datasetId);
    if (!dataset) throw notFound('the dataset no longer exists');
    const options = job.options as unknown as ComparisonOptions;
    const baseline = await this.side(job.baselineId, dataset.labels, options, 'baseline');
    const candidate = await this.side(job.candidateId, dataset.labels, options, 'candidate');
    const done = await comparisons.doneOrdinals(job.id);
    const items = (await this.deps.datasets.itemsOf(dataset.id, 0, job.total)).filter((i) => !done.has(i.ordinal));
    // CI greps this line for "comparison":<id> and "resumedAt":N after a kill -9: keep its fields.
    ctx.log.info({ total: job.total, resumedAt: done.size }, done.size ? 'resuming comparison' : 'running comparison');
    for (let i = 0; i < items.length; i += CHUNK) {
      ctx.pauseIfStopping({ done: done.size + i });
      const started = performance.now();
      const rows = await Promise.all(
        items.slice(i, i + CHUNK).map((item) => this.evaluate(item, baseline, candidate, ctx)),
      );
      await ctx.checkpoint((owner, leaseMs) =>
        comparisons.checkpoint(job.id, owner, leaseMs, rows, performance.now() - started),
      );
    }
    // Speed, after every item (also when resuming a job whose items were all stored): each version
    // alone on its runtime, one after the other, on its own input size.
    const sizes = {
      baseline: await this.size(baseline, job.id, ctx),
      candidate: await this.size(candidate, job.id, ctx),
    };
    const final = (await comparisons.find(job.id))!;
    const results = this.results(await comparisons.items(job.id), dataset.labels, sizes, options, final.elapsedMs);
    return { results, summary: { verdict: results.paired.verdict, n: results.paired.n } };
  }

  /** A version's file size, parameter count and speed; speed null (and logged) when it could not be measured. */
  private async size(side: Side, jobId: number, ctx: JobContext): Promise<VersionSize> {
    const version = `${side.model.name} v${side.record.version}`;
    let speed: SpeedProfile | null = null;
    try {
      speed = await this.deps.speed.measure(
        { record: side.record, model: { name: side.model.name, inputSpec: side.spec } },
        jobId,
      );
      ctx.log.info({ version, ...speed }, 'measured speed');
    } catch (err) {
      ctx.log.warn({ err, version }, 'could not measure the speed of a version: the comparison reports none');
    }
    return {
      sizeBytes: Number(side.record.sizeBytes),
      parameters: await this.deps.speed.parameters(side.record),
      speed,
    };
  }

  /** One item through both versions, each with its own preprocessing; scores in dataset label order. */
  private async evaluate(
    item: { id: number; ordinal: number; labelIndex: number; sha256: string },
    baseline: Side,
    candidate: Side,
    ctx: JobContext,
  ): Promise<NewComparisonItem> {
    // From the shared artifact store when this gateway lacks the image (a job it took over).
    const bytes = await readFile(await this.deps.artifacts.ensure(item));
    const [b, c] = await Promise.all([this.score(bytes, baseline, ctx), this.score(bytes, candidate, ctx)]);
    return {
      ordinal: item.ordinal,
      datasetItemId: item.id,
      label: item.labelIndex,
      baselineTop1: argmax(b.probs),
      candidateTop1: argmax(c.probs),
      baselineProbs: b.probs,
      candidateProbs: c.probs,
      baselineMs: b.ms,
      candidateMs: c.ms,
    };
  }

  private async score(bytes: Buffer, side: Side, ctx: JobContext): Promise<{ probs: number[]; ms: number }> {
    const { probs: p, ms } = await this.scoreWhenAdmitted(bytes, side, ctx);
    const label = `${side.model.name} v${side.record.version}`;
    // A graph whose output does not fit stops the job at its first item, not after the dataset.
    if (p.length !== side.model.labels.length)
      throw badInput(`${label} returned ${p.length} scores for ${side.model.labels.length} labels`);
    let sum = 0;
    for (const v of p) {
      if (!Number.isFinite(v) || v < 0)
        throw badInput(`${label} returned a score that is not a probability (${v}): check inputSpec.output`);
      sum += v;
    }
    if (Math.abs(sum - 1) > PROBABILITY_SUM_TOLERANCE)
      throw badInput(
        `${label}'s probabilities sum to ${sum}, not 1: its output is not "probabilities" (inputSpec.output)`,
      );
    // Stored as float4: rounding here keeps a resumed run's numbers equal to what it stored.
    return { probs: side.permutation.map((k) => Math.fround(p[k]!)), ms };
  }

  /** A full inference queue (a burst of predictions) delays the job; it does not fail it. */
  private async scoreWhenAdmitted(
    bytes: Buffer,
    side: Side,
    ctx: JobContext,
  ): Promise<{ probs: Float64Array; ms: number }> {
    for (;;) {
      try {
        return await this.deps.inference.score(
          { record: side.record, model: { name: side.model.name, inputSpec: side.spec } },
          bytes,
        );
      } catch (e) {
        if (!(e instanceof DomainError && e.code === ErrorCode.RESOURCE_EXHAUSTED) || ctx.stopping) throw e;
        await new Promise((r) => setTimeout(r, Number(e.details?.retryAfterMs ?? 100)));
      }
    }
  }

  private results(
    rows: ComparisonItemRecord[],
    labels: string[],
    sizes: { baseline: VersionSize; candidate: VersionSize },
    options: ComparisonOptions,
    elapsedMs: number,
  ): ComparisonResults {
    const outcomes = (which: 'baseline' | 'candidate'): ItemOutcome[] =>
      rows.map((r) => ({
        label: r.label,
        predicted: which === 'baseline' ? r.baselineTop1 : r.candidateTop1,
        probabilities: which === 'baseline' ? r.baselineProbs : r.candidateProbs,
        latencyMs: which === 'baseline' ? r.baselineMs : r.candidateMs,
      }));
    const b = outcomes('baseline');
    const c = outcomes('candidate');
    return {
      baseline: { ...versionMetrics(b, labels, { wallMs: elapsedMs }), ...sizes.baseline },
      candidate: { ...versionMetrics(c, labels, { wallMs: elapsedMs }), ...sizes.candidate },
      paired: pairedComparison(b, c, labels, {
        alpha: options.alpha,
        ...(options.nonInferiorityMargin !== null ? { nonInferiorityMargin: options.nonInferiorityMargin } : {}),
      }),
    };
  }
}
