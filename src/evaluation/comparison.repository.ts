import type { Prisma } from '../db/database';
import { DomainError, ErrorCode } from '../common/errors';
import { translatePrismaError } from '../db/prisma-errors';
import type { Comparison, ComparisonItem, JobStatus } from '../db/generated/client';

export type ComparisonRecord = Comparison;
export type ComparisonItemRecord = ComparisonItem;
export type { JobStatus };

export interface NewComparison {
  baselineId: number;
  candidateId: number;
  datasetId: number;
  options: object;
  requestKey: string;
  total: number;
  createdBy: string;
}

export type NewComparisonItem = Omit<ComparisonItem, 'comparisonId'>;

export class ComparisonRepository {
  constructor(private readonly prisma: Prisma) {}

  /**
   * A new queued job, or the active one with the same request key: the partial unique index
   * (migration 20261202100000) lets only one of two identical concurrent calls insert.
   */
  async createUnlessActive(data: NewComparison): Promise<ComparisonRecord> {
    try {
      return await this.prisma.comparison.create({ data });
    } catch (e) {
      const translated = translatePrismaError(e);
      if (!(translated instanceof DomainError && translated.code === ErrorCode.CONFLICT)) throw translated;
      const active = await this.findActive(data.requestKey);
      // It finished between the insert and this read: the caller may simply ask again.
      if (!active) throw translated;
      return active;
    }
  }

  /** The queued or running job with this key, unless it is being cancelled. */
  findActive(requestKey: string): Promise<ComparisonRecord | null> {
    return this.prisma.comparison.findFirst({
      where: { requestKey, status: { in: ['RUNNING', 'QUEUED'] }, cancelRequested: false },
    });
  }

  /** How many jobs are in each state (metrics). */
  async countByStatus(): Promise<Record<string, number>> {
    const rows = await this.prisma.comparison.groupBy({ by: ['status'], _count: { _all: true } });
    return Object.fromEntries(rows.map((r) => [r.status, r._count._all]));
  }

  /** Queued or running jobs a key (by name) started, not counting those being cancelled. */
  countActiveBy(createdBy: string): Promise<number> {
    return this.prisma.comparison.count({
      where: { createdBy, status: { in: ['RUNNING', 'QUEUED'] }, cancelRequested: false },
    });
  }

  find(id: number): Promise<ComparisonRecord | null> {
    return this.prisma.comparison.findUnique({ where: { id } });
  }

  /** The latest comparison with this key that succeeded or is still on its way. */
  findReusable(requestKey: string): Promise<ComparisonRecord | null> {
    return this.prisma.comparison.findFirst({
      where: { requestKey, status: { in: ['SUCCEEDED', 'RUNNING', 'QUEUED'] }, cancelRequested: false },
      orderBy: { id: 'desc' },
    });
  }

  list(filter: { modelId?: number; first: number }): Promise<ComparisonRecord[]> {
    return this.prisma.comparison.findMany({
      where: filter.modelId === undefined ? {} : { candidate: { modelId: filter.modelId } },
      orderBy: { id: 'desc' },
      take: filter.first,
    });
  }

  /**
   * Claims the oldest job that is queued, or running under a lease that ran out (its process died),
   * for `owner` until `leaseMs` from now (database time). Atomic across processes: SKIP LOCKED lets
   * two gateways claim different jobs, never the same one. `running` are the jobs this process runs
   * (never claimed again); with `reclaimAll` (one process per database) any other RUNNING job is
   * orphaned, lease or not.
   */
  async claim(
    owner: string,
    leaseMs: number,
    reclaimAll: boolean,
    running: number[],
  ): Promise<ComparisonRecord | null> {
    const rows = await this.prisma.$queryRaw<{ id: number }[]>`
      UPDATE "Comparison" SET "status" = 'RUNNING', "leaseOwner" = ${owner},
        "leaseUntil" = now() + ${leaseMs}::double precision * interval '1 millisecond', "startedAt" = COALESCE("startedAt", now())
      WHERE "id" = (
        SELECT "id" FROM "Comparison"
        WHERE ("status" = 'QUEUED' OR ("status" = 'RUNNING' AND (${reclaimAll}::boolean OR "leaseUntil" < now())))
          AND NOT ("id" = ANY(${running}::int[]))
        ORDER BY "id" LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING "id"`;
    return rows[0] ? this.find(rows[0].id) : null;
  }

  /** Extends the lease of a job this process holds; false when it no longer holds it. */
  async renew(id: number, owner: string, leaseMs: number): Promise<boolean> {
    const n = await this.prisma.$executeRaw`
      UPDATE "Comparison" SET "leaseUntil" = now() + ${leaseMs}::double precision * interval '1 millisecond'
      WHERE "id" = ${id} AND "leaseOwner" = ${owner} AND "status" = 'RUNNING'`;
    return n === 1;
  }

  /** Ordinals already evaluated: a resumed job skips them. */
  async doneOrdinals(comparisonId: number): Promise<Set<number>> {
    const rows = await this.prisma.comparisonItem.findMany({ where: { comparisonId }, select: { ordinal: true } });
    return new Set(rows.map((r) => r.ordinal));
  }

  /**
   * The checkpoint: a chunk of items, the new count and a renewed lease, in one transaction; false
   * (nothing written) when this process no longer holds the job.
   */
  async checkpoint(
    id: number,
    owner: string,
    leaseMs: number,
    items: NewComparisonItem[],
    elapsedMs: number,
  ): Promise<{ held: boolean; cancelRequested: boolean }> {
    return this.prisma.$transaction(async (tx) => {
      // Locks the job row: a process that lost its lease cannot write after the new owner's claim.
      const [job] = await tx.$queryRaw<{ leaseOwner: string | null; status: string; cancelRequested: boolean }[]>`
        SELECT "leaseOwner", "status"::text AS "status", "cancelRequested" FROM "Comparison" WHERE "id" = ${id} FOR UPDATE`;
      if (!job || job.leaseOwner !== owner || job.status !== 'RUNNING') return { held: false, cancelRequested: false };
      // Items are written only here, under this lock: the count grows by what was inserted.
      const { count } = await tx.comparisonItem.createMany({
        data: items.map((i) => ({ ...i, comparisonId: id })),
        skipDuplicates: true,
      });
      await tx.$executeRaw`
        UPDATE "Comparison" SET "done" = "done" + ${count}, "elapsedMs" = "elapsedMs" + ${elapsedMs}::double precision,
          "leaseUntil" = now() + ${leaseMs}::double precision * interval '1 millisecond'
        WHERE "id" = ${id}`;
      return { held: true, cancelRequested: job.cancelRequested };
    });
  }

  /** Items whose top-1 differs between the versions, in dataset order, with the item's path. */
  disagreements(comparisonId: number, first: number) {
    return this.prisma.$queryRaw<(ComparisonItemRecord & { path: string })[]>`
      SELECT ci.*, di."path" FROM "ComparisonItem" ci JOIN "DatasetItem" di ON di."id" = ci."datasetItemId"
      WHERE ci."comparisonId" = ${comparisonId} AND ci."baselineTop1" <> ci."candidateTop1"
      ORDER BY ci."ordinal" LIMIT ${first}`;
  }

  items(comparisonId: number): Promise<ComparisonItemRecord[]> {
    return this.prisma.comparisonItem.findMany({ where: { comparisonId }, orderBy: { ordinal: 'asc' } });
  }

  /** Ends a job this process holds; false when it does not hold it any more. */
  async finish(
    id: number,
    owner: string | null,
    data: { status: JobStatus; results?: object | null; error?: string | null },
  ): Promise<boolean> {
    const { count } = await this.prisma.comparison.updateMany({
      where: { id, ...(owner === null ? {} : { leaseOwner: owner }), status: { in: ['QUEUED', 'RUNNING'] } },
      data: {
        status: data.status,
        results: data.results ?? undefined,
        error: data.error ?? null,
        finishedAt: new Date(),
        leaseOwner: null,
        leaseUntil: null,
      },
    });
    return count === 1;
  }

  /** Hands a job this process holds back to the queue (the gateway is stopping). */
  async release(id: number, owner: string): Promise<void> {
    await this.prisma.comparison.updateMany({
      where: { id, leaseOwner: owner, status: 'RUNNING' },
      data: { status: 'QUEUED', leaseOwner: null, leaseUntil: null },
    });
  }

  /** Cancels a queued job at once and asks a running one to stop at its next checkpoint, in one statement. */
  async requestCancel(id: number): Promise<ComparisonRecord | null> {
    await this.prisma.$executeRaw`
      UPDATE "Comparison" SET "cancelRequested" = true,
        "status" = CASE WHEN "status" = 'QUEUED' THEN 'CANCELLED'::"JobStatus" ELSE "status" END,
        "finishedAt" = CASE WHEN "status" = 'QUEUED' THEN now() ELSE "finishedAt" END
      WHERE "id" = ${id} AND "status" IN ('QUEUED', 'RUNNING')`;
    return this.find(id);
  }
}
