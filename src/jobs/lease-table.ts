import type { Prisma as PrismaClient } from '../db/database';
import { Prisma } from '../db/generated/client';
import type { JobEnd } from './lease-runner';

/** A Prisma client or one of its interactive transactions. */
type Sql = Pick<PrismaClient, '$queryRaw' | '$executeRaw'>;

/**
 * The lease SQL of a job table: one row per job, with the columns every job kind shares ("id" serial,
 * "status" "JobStatus", "cancelRequested", "leaseOwner", "leaseUntil", "startedAt", "finishedAt",
 * "results" jsonb, "error" text), as "Comparison" has them. A job kind's repository keeps its own
 * columns and checkpoint rows and leaves the claiming, renewing, releasing and ending to this.
 * Lease times are the database's: gateways whose clocks differ agree on who holds what.
 */
export class LeaseTable {
  private readonly table: Prisma.Sql;

  constructor(
    private readonly prisma: Sql,
    table: string,
  ) {
    // An identifier, never input: spelled out by the job kind's repository.
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(table)) throw new Error(`not a table name: ${table}`);
    this.table = Prisma.raw(`"${table}"`);
  }

  /**
   * Claims the oldest job that is queued, or running under a lease that ran out (its process died),
   * for `owner` until `leaseMs` from now. Atomic across processes: SKIP LOCKED lets two gateways claim
   * different jobs, never the same one. `running` are the jobs this process runs (never claimed
   * again); with `reclaimAll` (one process per database) any other running job is orphaned, lease or not.
   */
  async claim(owner: string, leaseMs: number, reclaimAll: boolean, running: number[]): Promise<number | null> {
    const rows = await this.prisma.$queryRaw<{ id: number }[]>`
      UPDATE ${this.table} SET "status" = 'RUNNING', "leaseOwner" = ${owner},
        "leaseUntil" = now() + ${leaseMs}::double precision * interval '1 millisecond', "startedAt" = COALESCE("startedAt", now())
      WHERE "id" = (
        SELECT "id" FROM ${this.table}
        WHERE ("status" = 'QUEUED' OR ("status" = 'RUNNING' AND (${reclaimAll}::boolean OR "leaseUntil" < now())))
          AND NOT ("id" = ANY(${running}::int[]))
        ORDER BY "id" LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING "id"`;
    return rows[0]?.id ?? null;
  }

  /** Extends the lease of a job `owner` holds; false when it no longer holds it. */
  async renew(id: number, owner: string, leaseMs: number): Promise<boolean> {
    const n = await this.prisma.$executeRaw`
      UPDATE ${this.table} SET "leaseUntil" = now() + ${leaseMs}::double precision * interval '1 millisecond'
      WHERE "id" = ${id} AND "leaseOwner" = ${owner} AND "status" = 'RUNNING'`;
    return n === 1;
  }

  /**
   * The first statement of a checkpoint's transaction (`tx`): locks the job's row, so a process that
   * lost its lease cannot write after the new owner's claim, and says whether `owner` still holds it
   * and whether a cancel was requested. On `held: true`, the transaction goes on to write the
   * checkpoint and to extend "leaseUntil" as `renew` does.
   */
  async lockHeld(tx: Sql, id: number, owner: string): Promise<{ held: boolean; cancelRequested: boolean }> {
    const [job] = await tx.$queryRaw<{ leaseOwner: string | null; status: string; cancelRequested: boolean }[]>`
      SELECT "leaseOwner", "status"::text AS "status", "cancelRequested" FROM ${this.table} WHERE "id" = ${id} FOR UPDATE`;
    if (!job || job.leaseOwner !== owner || job.status !== 'RUNNING') return { held: false, cancelRequested: false };
    return { held: true, cancelRequested: job.cancelRequested };
  }

  /** Ends a job `owner` holds; false when it does not hold it any more. "finishedAt" is this process's clock. */
  async finish(id: number, owner: string, end: JobEnd): Promise<boolean> {
    const results = end.status === 'SUCCEEDED' ? JSON.stringify(end.results) : null;
    const error = end.status === 'FAILED' ? end.error : null;
    const n = await this.prisma.$executeRaw`
      UPDATE ${this.table} SET "status" = ${end.status}::"JobStatus", "results" = COALESCE(${results}::jsonb, "results"),
        "error" = ${error}, "finishedAt" = ${new Date()}::timestamptz, "leaseOwner" = NULL, "leaseUntil" = NULL
      WHERE "id" = ${id} AND "leaseOwner" = ${owner} AND "status" IN ('QUEUED', 'RUNNING')`;
    return n === 1;
  }

  /** Hands a job `owner` holds back to the queue. */
  async release(id: number, owner: string): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE ${this.table} SET "status" = 'QUEUED', "leaseOwner" = NULL, "leaseUntil" = NULL
      WHERE "id" = ${id} AND "leaseOwner" = ${owner} AND "status" = 'RUNNING'`;
  }

  /** Cancels a queued job at once and asks a running one to stop at its next checkpoint, in one statement. */
  async requestCancel(id: number): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE ${this.table} SET "cancelRequested" = true,
        "status" = CASE WHEN "status" = 'QUEUED' THEN 'CANCELLED'::"JobStatus" ELSE "status" END,
        "finishedAt" = CASE WHEN "status" = 'QUEUED' THEN now() ELSE "finishedAt" END
      WHERE "id" = ${id} AND "status" IN ('QUEUED', 'RUNNING')`;
  }
}
