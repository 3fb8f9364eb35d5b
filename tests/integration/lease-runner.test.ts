import { Writable } from 'node:stream';
import pino from 'pino';
import { badInput, internalError } from '../../src/common/errors';
import type { Prisma } from '../../src/db/database';
import {
  LeaseRunner,
  type CheckpointState,
  type JobContext,
  type JobEnd,
  type JobHandler,
  type LeaseStore,
} from '../../src/jobs/lease-runner';
import { LeaseTable } from '../../src/jobs/lease-table';
import { createTestApp, dbKind, type TestApp } from '../helpers/test-app';

/**
 * The generic lease runner with a job kind of its own, the way a new kind plugs in: a table with the
 * shared job columns, a store (LeaseTable plus the kind's checkpoint), and a handler. A job has
 * `total` steps; each step is a checkpoint row that says which runner stored it.
 */
interface StepJob {
  id: number;
  total: number;
  cancelRequested: boolean;
  status: string;
  results: unknown;
  error: string | null;
  leaseOwner: string | null;
  finishedAt: Date | null;
}

class StepJobStore implements LeaseStore<StepJob> {
  readonly lease: LeaseTable;
  constructor(private readonly prisma: Prisma) {
    this.lease = new LeaseTable(prisma, 'StepJob');
  }

  static async createTables(prisma: Prisma): Promise<void> {
    await prisma.$executeRawUnsafe(`CREATE TABLE "StepJob" (
      "id" SERIAL PRIMARY KEY, "status" "JobStatus" NOT NULL DEFAULT 'QUEUED', "total" INTEGER NOT NULL,
      "results" JSONB, "error" TEXT, "cancelRequested" BOOLEAN NOT NULL DEFAULT false, "leaseOwner" TEXT,
      "leaseUntil" TIMESTAMPTZ(3), "startedAt" TIMESTAMPTZ(3), "finishedAt" TIMESTAMPTZ(3))`);
    await prisma.$executeRawUnsafe(
      `CREATE TABLE "StepJobStep" ("jobId" INTEGER NOT NULL, "step" INTEGER NOT NULL, "owner" TEXT NOT NULL, PRIMARY KEY ("jobId", "step"))`,
    );
  }

  async create(total: number): Promise<number> {
    const [row] = await this.prisma.$queryRaw<{ id: number }[]>`
      INSERT INTO "StepJob" ("total") VALUES (${total}) RETURNING "id"`;
    return row!.id;
  }

  async find(id: number): Promise<StepJob> {
    const [row] = await this.prisma.$queryRaw<StepJob[]>`
      SELECT "id", "total", "cancelRequested", "status"::text AS "status", "results", "error", "leaseOwner",
        "finishedAt" FROM "StepJob" WHERE "id" = ${id}`;
    return row!;
  }

  async steps(id: number): Promise<{ step: number; owner: string }[]> {
    return this.prisma.$queryRaw`SELECT "step", "owner" FROM "StepJobStep" WHERE "jobId" = ${id} ORDER BY "step"`;
  }

  async claim(owner: string, leaseMs: number, reclaimAll: boolean, running: number[]): Promise<StepJob | null> {
    const id = await this.lease.claim(owner, leaseMs, reclaimAll, running);
    return id === null ? null : this.find(id);
  }
  renew(id: number, owner: string, leaseMs: number): Promise<boolean> {
    return this.lease.renew(id, owner, leaseMs);
  }
  release(id: number, owner: string): Promise<void> {
    return this.lease.release(id, owner);
  }
  finish(id: number, owner: string, end: JobEnd): Promise<boolean> {
    return this.lease.finish(id, owner, end);
  }

  /** One step and a renewed lease, in one transaction, only while `owner` holds the job. */
  checkpoint(id: number, owner: string, leaseMs: number, step: number, runner: string): Promise<CheckpointState> {
    return this.prisma.$transaction(async (tx) => {
      const state = await this.lease.lockHeld(tx, id, owner);
      if (!state.held) return state;
      await tx.$executeRaw`INSERT INTO "StepJobStep" VALUES (${id}, ${step}, ${runner})`;
      await tx.$executeRaw`
        UPDATE "StepJob" SET "leaseUntil" = now() + ${leaseMs}::double precision * interval '1 millisecond' WHERE "id" = ${id}`;
      return state;
    });
  }
}

/** Runs the steps not stored yet; `beforeStep` lets a test stall, fail or watch a step. */
class StepHandler implements JobHandler<StepJob> {
  runs = 0;
  constructor(
    private readonly store: StepJobStore,
    private readonly name: string,
    private readonly beforeStep: (job: StepJob, step: number, ctx: JobContext) => Promise<void> = async () => {},
    readonly transient?: (e: unknown) => boolean,
  ) {}

  async run(job: StepJob, ctx: JobContext) {
    this.runs++;
    const done = new Set((await this.store.steps(job.id)).map((s) => s.step));
    for (let step = 0; step < job.total; step++) {
      if (done.has(step)) continue;
      ctx.pauseIfStopping({ done: step });
      await this.beforeStep(job, step, ctx);
      await ctx.checkpoint((owner, leaseMs) => this.store.checkpoint(job.id, owner, leaseMs, step, this.name));
    }
    return { results: { steps: (await this.store.steps(job.id)).length, by: this.name }, summary: { by: this.name } };
  }
}

/** A logger whose lines the test reads back. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until<T>(what: string, check: () => Promise<T | null | undefined | false>, timeoutMs = 20_000) {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe(`the generic lease runner (${dbKind()})`, () => {
  let t: TestApp;
  let store: StepJobStore;
  const runners: LeaseRunner<StepJob>[] = [];
  const runner = (opts: {
    handler: JobHandler<StepJob>;
    store?: LeaseStore<StepJob>;
    leaseMs?: number;
    singleProcess?: boolean;
    logger?: pino.Logger;
  }) => {
    const r = new LeaseRunner<StepJob>({
      kind: 'stepjob',
      store: opts.store ?? store,
      handler: opts.handler,
      logger: opts.logger ?? pino({ level: 'silent' }),
      concurrency: 1,
      leaseMs: opts.leaseMs ?? 30_000,
      pollMs: 50,
      singleProcess: opts.singleProcess ?? false,
    });
    runners.push(r);
    return r;
  };
  const ended = (id: number) =>
    until(`job ${id} to end`, async () => {
      const job = await store.find(id);
      return ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(job.status) && job;
    });

  beforeAll(async () => {
    t = await createTestApp();
    await StepJobStore.createTables(t.app.db.prisma);
    store = new StepJobStore(t.app.db.prisma);
  }, 60_000);
  afterEach(async () => {
    for (const r of runners.splice(0)) await r.stop(2000);
  });
  afterAll(() => t.close());

  it('runs a job to the end, storing each step once, and ends it with its results', async () => {
    const id = await store.create(5);
    const { logger, lines } = capturingLogger();
    runner({ handler: new StepHandler(store, 'a'), logger }).start();
    const job = await ended(id);
    expect(job).toMatchObject({ status: 'SUCCEEDED', results: { steps: 5, by: 'a' }, error: null, leaseOwner: null });
    expect(Math.abs(new Date(job.finishedAt!).getTime() - Date.now())).toBeLessThan(5000);
    expect((await store.steps(id)).map((s) => s.step)).toEqual([0, 1, 2, 3, 4]);
    expect(lines).toContainEqual(expect.objectContaining({ stepjob: id, by: 'a', msg: 'stepjob finished' }));
  });

  it('lets a second runner take over a job whose lease ran out; the first then writes nothing more', async () => {
    const id = await store.create(6);
    // Runner A stalls before step 3 and stops renewing its lease (a frozen or cut-off process).
    let stalled = false;
    let resume: () => void = () => {};
    const unstall = new Promise<void>((r) => (resume = r));
    const frozenStore: LeaseStore<StepJob> = {
      claim: (...args) => store.claim(...args),
      renew: async (...args) => (stalled ? true : store.renew(...args)),
      release: (...args) => store.release(...args),
      finish: (...args) => store.finish(...args),
    };
    const a = capturingLogger();
    const handlerA = new StepHandler(store, 'a', async (_job, step) => {
      if (step !== 3) return;
      stalled = true;
      await unstall;
    });
    runner({ handler: handlerA, store: frozenStore, leaseMs: 400, logger: a.logger }).start();
    await until('runner A to stall', async () => stalled);
    expect((await store.steps(id)).map((s) => s.owner)).toEqual(['a', 'a', 'a']);

    // Runner B claims it once A's lease is out, and resumes from A's last checkpoint.
    runner({ handler: new StepHandler(store, 'b'), leaseMs: 400 }).start();
    const job = await ended(id);
    expect(job).toMatchObject({ status: 'SUCCEEDED', results: { steps: 6, by: 'b' } });
    expect((await store.steps(id)).map((s) => `${s.step}${s.owner}`)).toEqual(['0a', '1a', '2a', '3b', '4b', '5b']);

    // A wakes up: its checkpoint is refused under the lock, and it stops without ending the job.
    resume();
    await until('runner A to give up', async () =>
      a.lines.some((l) => l.msg === 'stepjob taken over by another process (its lease ran out): stopping here'),
    );
    expect(await store.steps(id)).toHaveLength(6);
    expect(await store.find(id)).toMatchObject({ status: 'SUCCEEDED', results: { steps: 6, by: 'b' } });
  });

  it('cancels a running job at its next checkpoint, keeping what it stored, and a queued one at once', async () => {
    const queued = await store.create(3);
    await store.lease.requestCancel(queued);
    expect(await store.find(queued)).toMatchObject({ status: 'CANCELLED', cancelRequested: true });

    const id = await store.create(100);
    const { logger, lines } = capturingLogger();
    const handler = new StepHandler(store, 'a', async (job, step) => {
      if (step === 2) await store.lease.requestCancel(job.id);
    });
    runner({ handler, logger }).start();
    const job = await ended(id);
    expect(job).toMatchObject({ status: 'CANCELLED', results: null, leaseOwner: null });
    // The step in flight when the cancel came is stored, and nothing after it.
    expect((await store.steps(id)).map((s) => s.step)).toEqual([0, 1, 2]);
    expect(lines).toContainEqual(expect.objectContaining({ stepjob: id, msg: 'stepjob cancelled' }));
    expect(handler.runs).toBe(1);
  });

  it('fails a job whose handler throws, with a safe message; hands a transient failure back to resume', async () => {
    const user = await store.create(3);
    const unexpected = await store.create(3);
    const flaky = await store.create(4);
    let flakes = 0;
    const handler = new StepHandler(
      store,
      'a',
      async (job, step) => {
        if (job.id === user && step === 1) throw badInput('step 1 is not allowed');
        if (job.id === unexpected && step === 0) throw new Error('ENOENT: /secret/path');
        if (job.id === flaky && step === 2 && flakes++ === 0) throw internalError('a worker died');
      },
      (e) => e instanceof Error && e.message === 'a worker died',
    );
    runner({ handler }).start();
    expect(await ended(user)).toMatchObject({ status: 'FAILED', error: 'BAD_USER_INPUT: step 1 is not allowed' });
    expect(await store.steps(user)).toHaveLength(1);
    expect(await ended(unexpected)).toMatchObject({
      status: 'FAILED',
      error: `INTERNAL_SERVER_ERROR: stepjob ${unexpected} failed unexpectedly (the gateway log has the details)`,
    });
    // The transient failure went back to the queue and resumed from step 2, storing each step once.
    expect(await ended(flaky)).toMatchObject({ status: 'SUCCEEDED', results: { steps: 4 } });
    expect(flakes).toBe(2);
    expect((await store.steps(flaky)).map((s) => s.step)).toEqual([0, 1, 2, 3]);
    expect(handler.runs).toBe(4);
  });

  it('on stop, hands running jobs back at a checkpoint; a new runner resumes them', async () => {
    const id = await store.create(50);
    const { logger, lines } = capturingLogger();
    const first = runner({ handler: new StepHandler(store, 'a', () => sleep(20)), logger });
    first.start();
    await until('a few steps', async () => (await store.steps(id)).length >= 3);
    await first.stop();
    const paused = await store.find(id);
    expect(paused).toMatchObject({ status: 'QUEUED', leaseOwner: null });
    const stored = (await store.steps(id)).length;
    expect(stored).toBeLessThan(50);
    expect(lines).toContainEqual(
      expect.objectContaining({ stepjob: id, done: stored, msg: 'stepjob paused: the gateway is stopping' }),
    );
    runner({ handler: new StepHandler(store, 'b') }).start();
    expect(await ended(id)).toMatchObject({ status: 'SUCCEEDED', results: { steps: 50, by: 'b' } });
    const owners = (await store.steps(id)).map((s) => s.owner);
    expect(owners.filter((o) => o === 'a')).toHaveLength(stored);
  });

  it('with one process per database, reclaims at start a job left running with a live lease (kill -9)', async () => {
    const id = await store.create(2);
    // A dead process's claim: RUNNING, its lease good for another minute.
    expect(await store.lease.claim('dead-process', 60_000, false, [])).toBe(id);
    runner({ handler: new StepHandler(store, 'b'), singleProcess: false }).start();
    await sleep(300);
    expect(await store.find(id)).toMatchObject({ status: 'RUNNING', leaseOwner: 'dead-process' });
    await runners.splice(0)[0]!.stop();
    runner({ handler: new StepHandler(store, 'b'), singleProcess: true }).start();
    expect(await ended(id)).toMatchObject({ status: 'SUCCEEDED', results: { steps: 2, by: 'b' } });
  });
});
