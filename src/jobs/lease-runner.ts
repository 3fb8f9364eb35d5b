import { randomUUID } from 'node:crypto';
import { DomainError, ErrorCode } from '../common/errors';
import type { Logger } from '../common/logger';
import { databaseUnavailable } from '../db/availability';

/** How a job ends. */
export type JobEnd =
  { status: 'SUCCEEDED'; results: object } | { status: 'FAILED'; error: string } | { status: 'CANCELLED' };

/** A job as the runner sees it: its id, and whether someone asked to cancel it. */
export interface LeasedJob {
  id: number;
  cancelRequested: boolean;
}

/** What a checkpoint write reports: false `held` means this process lost the lease and nothing was written. */
export interface CheckpointState {
  held: boolean;
  cancelRequested: boolean;
}

/**
 * Where the jobs of one kind are queued and leased (`LeaseTable` is the SQL of it). A leased job is
 * written only by its lease's owner: a process whose lease ran out and was taken over writes nothing.
 */
export interface LeaseStore<J extends LeasedJob> {
  /**
   * Claims the oldest queued job, or a running one whose lease ran out, for `owner` until `leaseMs`
   * from now. Never the same job to two processes; never one of `running` (this process runs them);
   * with `reclaimAll` (one process per database) any other running job is orphaned, lease or not.
   */
  claim(owner: string, leaseMs: number, reclaimAll: boolean, running: number[]): Promise<J | null>;
  /** Extends the lease; false when `owner` no longer holds it. */
  renew(id: number, owner: string, leaseMs: number): Promise<boolean>;
  /** Hands a job `owner` holds back to the queue, to be resumed from its last checkpoint. */
  release(id: number, owner: string): Promise<void>;
  /** Ends a job `owner` holds; false when it does not hold it any more. */
  finish(id: number, owner: string, end: JobEnd): Promise<boolean>;
}

/** What a handler's run sees of its lease. */
export interface JobContext {
  readonly owner: string;
  readonly leaseMs: number;
  /** The runner's logger, with the job's kind and id (`{"comparison":12}`). */
  readonly log: Logger;
  /** The runner is stopping: a handler waiting to retry something should give up (throw). */
  readonly stopping: boolean;
  /**
   * Call before each unit of work: when the runner is stopping, ends the run here (by throwing) and
   * hands the job back to the queue; `progress` goes into the log line that says so.
   */
  pauseIfStopping(progress: Record<string, unknown>): void;
  /**
   * Stores a unit of work through `write`, which must write only while `owner` holds the lease (and
   * renew it, in the same transaction). Ends the run here (by throwing) when the lease was lost, or
   * when a cancel was requested (the job then ends CANCELLED, keeping what was stored).
   */
  checkpoint(write: (owner: string, leaseMs: number) => Promise<CheckpointState>): Promise<void>;
}

/** One kind of job's work. Runs from the job's last checkpoint, whether the job is new or resumed. */
export interface JobHandler<J extends LeasedJob> {
  /** Does the work; `results` are stored with SUCCEEDED, `summary` goes into the log line that says so. */
  run(job: J, ctx: JobContext): Promise<{ results: object; summary?: Record<string, unknown> }>;
  /**
   * Errors that hand the job back to the queue, to resume later, instead of failing it (the runner
   * stopping and the database being away always do).
   */
  transient?(e: unknown): boolean;
}

export interface LeaseRunnerOptions<J extends LeasedJob> {
  /** The job kind, as logs name it: "comparison" logs `{"comparison":<id>}` and "comparison finished". */
  kind: string;
  store: LeaseStore<J>;
  handler: JobHandler<J>;
  logger: Logger;
  /** Jobs run at once by this process. */
  concurrency: number;
  /** How long a claim holds without a checkpoint or heartbeat: another process takes over after that. */
  leaseMs: number;
  /** How often the queue is looked at without a kick. */
  pollMs: number;
  /** An embedded database has one process: a running job found at start belonged to a dead one. */
  singleProcess: boolean;
}

/** Ends a handler's run at a checkpoint: the runner hands the job back, lets it go, or cancels it. */
class Interrupt {
  constructor(
    readonly reason: 'stopping' | 'lost' | 'cancelled',
    readonly progress: Record<string, unknown> = {},
  ) {}
}

/**
 * Runs the jobs of one kind that a database table queues: claims queued ones (or ones whose process
 * died) under a lease it renews while they run, hands each to the kind's handler, and ends it with
 * what the handler returns or throws. A job checkpoints through its store under the lease, so an
 * interrupted job (kill -9, a lost lease, a stop) resumes from its last checkpoint, here or in another
 * process, and a cancel is honoured at the next checkpoint.
 */
export class LeaseRunner<J extends LeasedJob> {
  private readonly owner = `${process.pid}-${randomUUID()}`;
  private readonly running = new Map<number, Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private stopping = false;

  constructor(private readonly opts: LeaseRunnerOptions<J>) {}

  start(): void {
    if (this.timer) return;
    this.stopping = false;
    this.timer = setInterval(() => this.kick(), this.opts.pollMs);
    this.timer.unref();
    this.kick();
  }

  /** Looks for work now (after a job was queued). */
  kick(): void {
    if (this.stopping || !this.timer || this.ticking) return;
    this.ticking = this.tick()
      .catch((err) => this.opts.logger.error({ err }, `could not claim ${this.opts.kind} jobs`))
      .finally(() => {
        this.ticking = null;
      });
  }

  private async tick(): Promise<void> {
    const { store } = this.opts;
    while (!this.stopping && this.running.size < this.opts.concurrency) {
      const job = await store.claim(this.owner, this.opts.leaseMs, this.opts.singleProcess, [...this.running.keys()]);
      if (!job) return;
      if (job.cancelRequested) {
        // Cancelled while nobody ran it (a gateway stopped or died in between).
        await store.finish(job.id, this.owner, { status: 'CANCELLED' });
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
   * Stops claiming and lets running jobs stop at their next checkpoint. Their work stays; they are
   * handed back to the queue, so the next start (here or elsewhere) resumes them.
   */
  async stop(graceMs = 15_000): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.ticking;
    const grace = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), graceMs).unref());
    if ((await Promise.race([Promise.all(this.running.values()), grace])) === 'late') {
      // Work that outlasts the grace period is abandoned: it is done again on resume.
      for (const id of this.running.keys()) await this.opts.store.release(id, this.owner).catch(() => undefined);
      this.opts.logger.warn(
        { jobs: [...this.running.keys()] },
        `stopped without waiting for running ${this.opts.kind}s to reach a checkpoint`,
      );
    }
  }

  private context(log: Logger): JobContext {
    const { owner } = this;
    const { leaseMs } = this.opts;
    const stopping = () => this.stopping;
    return {
      owner,
      leaseMs,
      log,
      get stopping() {
        return stopping();
      },
      pauseIfStopping: (progress) => {
        if (this.stopping) throw new Interrupt('stopping', progress);
      },
      checkpoint: async (write) => {
        const state = await write(owner, leaseMs);
        if (!state.held) throw new Interrupt('lost');
        if (state.cancelRequested) throw new Interrupt('cancelled');
      },
    };
  }

  private async run(job: J): Promise<void> {
    const { kind, store, handler } = this.opts;
    const log = this.opts.logger.child({ [kind]: job.id });
    // The lease is renewed between checkpoints too: preparing a job (loading two large models) can outlast it.
    const heartbeat = setInterval(
      () => {
        void store
          .renew(job.id, this.owner, this.opts.leaseMs)
          .catch((err) => log.warn({ err }, `could not renew the ${kind} lease`));
      },
      Math.max(250, this.opts.leaseMs / 3),
    );
    heartbeat.unref();
    try {
      let outcome: Awaited<ReturnType<JobHandler<J>['run']>> | Interrupt;
      try {
        outcome = await handler.run(job, this.context(log));
      } catch (e) {
        if (!(e instanceof Interrupt)) throw e;
        outcome = e;
      }
      if (!(outcome instanceof Interrupt)) {
        await store.finish(job.id, this.owner, { status: 'SUCCEEDED', results: outcome.results });
        log.info(outcome.summary ?? {}, `${kind} finished`);
      } else if (outcome.reason === 'stopping') {
        await store.release(job.id, this.owner);
        log.info(outcome.progress, `${kind} paused: the gateway is stopping`);
      } else if (outcome.reason === 'lost') {
        log.warn(`${kind} taken over by another process (its lease ran out): stopping here`);
      } else {
        await store.finish(job.id, this.owner, { status: 'CANCELLED' });
        log.info(`${kind} cancelled`);
      }
    } catch (e) {
      if (this.stopping || databaseUnavailable(e) || handler.transient?.(e)) {
        // Transient (the gateway stopping, the database away, what the handler says): back to the queue, to resume later.
        log.warn({ err: e }, `${kind} interrupted: queued again`);
        await store.release(job.id, this.owner).catch(() => undefined);
      } else {
        log.error({ err: e }, `${kind} failed`);
        await store
          .finish(job.id, this.owner, { status: 'FAILED', error: this.safeError(e, job.id) })
          .catch(() => undefined);
      }
    } finally {
      clearInterval(heartbeat);
    }
  }

  /**
   * What a failed job's `error` says: a domain error's code and message (written for users); for
   * anything else only that it was unexpected, the details being in the log under the job's id.
   */
  private safeError(e: unknown, jobId: number): string {
    if (e instanceof DomainError && e.code !== ErrorCode.INTERNAL_SERVER_ERROR) return `${e.code}: ${e.message}`;
    return `${ErrorCode.INTERNAL_SERVER_ERROR}: ${this.opts.kind} ${jobId} failed unexpectedly (the gateway log has the details)`;
  }
}
