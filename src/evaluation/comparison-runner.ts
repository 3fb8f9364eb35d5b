import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ArtifactStore } from '../artifacts/artifact-store';
import { badInput, DomainError, ErrorCode, notFound } from '../common/errors';
import { databaseUnavailable } from '../db/availability';
import type { Logger } from '../common/logger';
import type { InferenceService } from '../inference/inference.service';
import { argmax } from '../inference/postprocess';
import type {
  ComparisonItemRecord,
  ComparisonRecord,
  ComparisonRepository,
  NewComparisonItem,
} from './comparison.repository';
import type { DatasetRepository } from '../registry/dataset.repository';
import { parseInputSpec, type InputSpec } from '../registry/input-spec';
import type { ModelRecord, ModelRepository } from '../registry/model.repository';
import type { VersionRecord, VersionRepository } from '../registry/version.repository';
import { labelPermutation, type ComparisonOptions } from './comparison.service';
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

/**
 * Runs comparison jobs: claims queued ones (or ones whose process died) from the database, runs
 * every dataset item through both versions on the inference runtime, and checkpoints each chunk of
 * per-item rows in one transaction with the job's progress. A job that is interrupted resumes after
 * its last stored item, on this process or another, and its numbers come only from stored rows, so
 * they equal an uninterrupted run's.
 */
export class ComparisonRunner {
  private readonly owner = `${process.pid}-${randomUUID()}`;
  private readonly running = new Map<number, Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private stopping = false;

  constructor(
    private readonly deps: {
      comparisons: ComparisonRepository;
      versions: VersionRepository;
      models: ModelRepository;
      datasets: DatasetRepository;
      inference: Pick<InferenceService, 'score'>;
      artifacts: ArtifactStore;
      logger: Logger;
      concurrency: number;
      leaseMs: number;
      pollMs: number;
      /** An embedded database has one process: a RUNNING job found at start belonged to a dead one. */
      singleProcess: boolean;
    },
  ) {}

  start(): void {
    if (this.timer) return;
    this.stopping = false;
    this.timer = setInterval(() => this.kick(), this.deps.pollMs);
    this.timer.unref();
    this.kick();
  }

  /** Looks for work now (after startComparison). */
  kick(): void {
    if (this.stopping || !this.timer || this.ticking) return;
    this.ticking = this.tick()
      .catch((err) => this.deps.logger.error({ err }, 'could not claim comparison jobs'))
      .finally(() => {
        this.ticking = null;
      });
  }

  private async tick(): Promise<void> {
    while (!this.stopping && this.running.size < this.deps.concurrency) {
      const job = await this.deps.comparisons.claim(this.owner, this.deps.leaseMs, this.deps.singleProcess, [
        ...this.running.keys(),
      ]);
      if (!job) return;
      if (job.cancelRequested) {
        // Cancelled while nobody ran it (a gateway stopped or died in between).
        await this.deps.comparisons.finish(job.id, this.owner, { status: 'CANCELLED' });
        continue;
      }
      const run = this.run(job).finally(() => {
        this.running.delete(job.id);
        this.kick();
      });
      this.running.set(job.id, run);
    }
  }

  /**
   * Stops claiming and lets running jobs stop at their next checkpoint. Their rows stay; they are
   * handed back to the queue, so the next start (here or elsewhere) resumes them.
   */
  async stop(graceMs = 15_000): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.ticking;
    const grace = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), graceMs).unref());
    if ((await Promise.race([Promise.all(this.running.values()), grace])) === 'late') {
      // A chunk that outlasts the grace period is abandoned: its items are evaluated again on resume.
      for (const id of this.running.keys()) await this.deps.comparisons.release(id, this.owner).catch(() => undefined);
      this.deps.logger.warn(
        { jobs: [...this.running.keys()] },
        'stopped without waiting for running comparisons to reach a checkpoint',
      );
    }
  }

  private async side(
    versionId: number,
    datasetLabels: string[],
    options: ComparisonOptions,
    role: string,
  ): Promise<Side> {
    const [record] = await this.deps.versions.findByIds([versionId]);
    if (!record) throw notFound(`the ${role} version no longer exists`);
    const [model] = await this.deps.models.findByIds([record.modelId]);
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

  private async run(job: ComparisonRecord): Promise<void> {
    const { comparisons, logger } = this.deps;
    const log = logger.child({ comparison: job.id });
    // The lease is renewed between checkpoints too: loading two large models can outlast it.
    const heartbeat = setInterval(
      () => {
        void comparisons
          .renew(job.id, this.owner, this.deps.leaseMs)
          .catch((err) => log.warn({ err }, 'could not renew the comparison lease'));
      },
      Math.max(250, this.deps.leaseMs / 3),
    );
    heartbeat.unref();
    try {
      const dataset = await this.deps.datasets.findById(job.datasetId);
      if (!dataset) throw notFound('the dataset no longer exists');
      const options = job.options as unknown as ComparisonOptions;
      const baseline = await this.side(job.baselineId, dataset.labels, options, 'baseline');
      const candidate = await this.side(job.candidateId, dataset.labels, options, 'candidate');
      const done = await comparisons.doneOrdinals(job.id);
      const items = (await this.deps.datasets.items(dataset.id, 0, job.total)).filter((i) => !done.has(i.ordinal));
      log.info({ total: job.total, resumedAt: done.size }, done.size ? 'resuming comparison' : 'running comparison');
      for (let i = 0; i < items.length; i += CHUNK) {
        if (this.stopping) {
          await comparisons.release(job.id, this.owner);
          log.info({ done: done.size + i }, 'comparison paused: the gateway is stopping');
          return;
        }
        const started = performance.now();
        const rows = await Promise.all(
          items.slice(i, i + CHUNK).map((item) => this.evaluate(item, baseline, candidate)),
        );
        const state = await comparisons.checkpoint(
          job.id,
          this.owner,
          this.deps.leaseMs,
          rows,
          performance.now() - started,
        );
        if (!state.held) {
          log.warn('comparison taken over by another process (its lease ran out): stopping here');
          return;
        }
        if (state.cancelRequested) {
          await comparisons.finish(job.id, this.owner, { status: 'CANCELLED' });
          log.info('comparison cancelled');
          return;
        }
      }
      const final = (await comparisons.find(job.id))!;
      const results = this.results(
        await comparisons.items(job.id),
        dataset.labels,
        baseline,
        candidate,
        options,
        final.elapsedMs,
      );
      await comparisons.finish(job.id, this.owner, { status: 'SUCCEEDED', results });
      log.info({ verdict: results.paired.verdict, n: results.paired.n }, 'comparison finished');
    } catch (e) {
      if (
        this.stopping ||
        databaseUnavailable(e) ||
        (e instanceof DomainError && (e.code === 'MODEL_NOT_READY' || e.code === 'INTERNAL_SERVER_ERROR'))
      ) {
        // Transient (the gateway stopping, a worker that died, the database away): back to the queue, to resume later.
        log.warn({ err: e }, 'comparison interrupted: queued again');
        await comparisons.release(job.id, this.owner).catch(() => undefined);
      } else {
        log.error({ err: e }, 'comparison failed');
        await comparisons
          .finish(job.id, this.owner, { status: 'FAILED', error: safeError(e, job.id) })
          .catch(() => undefined);
      }
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** One item through both versions, each with its own preprocessing; scores in dataset label order. */
  private async evaluate(
    item: { id: number; ordinal: number; labelIndex: number; sha256: string },
    baseline: Side,
    candidate: Side,
  ): Promise<NewComparisonItem> {
    const bytes = await readFile(this.deps.artifacts.absolute(this.deps.artifacts.relativeFor(item.sha256)));
    const [b, c] = await Promise.all([this.score(bytes, baseline), this.score(bytes, candidate)]);
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

  private async score(bytes: Buffer, side: Side): Promise<{ probs: number[]; ms: number }> {
    const { probs: p, ms } = await this.scoreWhenAdmitted(bytes, side);
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
  private async scoreWhenAdmitted(bytes: Buffer, side: Side): Promise<{ probs: Float64Array; ms: number }> {
    for (;;) {
      try {
        return await this.deps.inference.score(
          { record: side.record, model: { name: side.model.name, inputSpec: side.spec } },
          bytes,
        );
      } catch (e) {
        if (!(e instanceof DomainError && e.code === ErrorCode.RESOURCE_EXHAUSTED) || this.stopping) throw e;
        await new Promise((r) => setTimeout(r, Number(e.details?.retryAfterMs ?? 100)));
      }
    }
  }

  private results(
    rows: ComparisonItemRecord[],
    labels: string[],
    baseline: Side,
    candidate: Side,
    options: ComparisonOptions,
    elapsedMs: number,
  ) {
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
      baseline: { ...versionMetrics(b, labels, { wallMs: elapsedMs }), sizeBytes: Number(baseline.record.sizeBytes) },
      candidate: { ...versionMetrics(c, labels, { wallMs: elapsedMs }), sizeBytes: Number(candidate.record.sizeBytes) },
      paired: pairedComparison(b, c, labels, {
        alpha: options.alpha,
        ...(options.nonInferiorityMargin !== null ? { nonInferiorityMargin: options.nonInferiorityMargin } : {}),
      }),
    };
  }
}

/**
 * What a failed job's `error` says: a domain error's code and message (written for users); for
 * anything else only that it was unexpected, the details being in the log under the job's id.
 */
function safeError(e: unknown, jobId: number): string {
  if (e instanceof DomainError && e.code !== ErrorCode.INTERNAL_SERVER_ERROR) return `${e.code}: ${e.message}`;
  return `${ErrorCode.INTERNAL_SERVER_ERROR}: comparison ${jobId} failed unexpectedly (the gateway log has the details)`;
}
