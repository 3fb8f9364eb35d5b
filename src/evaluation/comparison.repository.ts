import type { Prisma } from '../db/database';
import { DomainError, ErrorCode } from '../common/errors';
import { translatePrismaError } from '../db/prisma-errors';
import type { Comparison, ComparisonItem, JobStatus } from '../db/generated/client';
import type { JobEnd, LeaseStore } from '../jobs/lease-runner';
import { LeaseTable } from '../jobs/lease-table';

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

/** One evaluated item as the CSV export lists it: each version's top-1 and its probability, not the whole vectors. */
export interface ComparisonItemRow {
  ordinal: number;
  path: string;
  label: number;
  baselineTop1: number;
  baselineProbability: number;
  candidateTop1: number;
  candidateProbability: number;
  baselineMs: number;
  candidateMs: number;
}

/** Comparisons and their per-item rows; a comparison is a job of the generic lease runner (src/jobs). */
export class ComparisonRepository implements LeaseStore<ComparisonRecord> {
  private readonly lease: LeaseTable;

  constructor(private readonly prisma: Prisma) {
    this.lease = new LeaseTable(prisma, 'Comparison');
  }

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

  /** Claims a queued job, or one whose process died, for `owner` (see LeaseTable.claim). */
  async claim(
    owner: string,
    leaseMs: number,
    reclaimAll: boolean,
    running: number[],
  ): Promise<ComparisonRecord | null> {
    const id = await this.lease.claim(owner, leaseMs, reclaimAll, running);
    return id === null ? null : this.find(id);
  }

  /** Extends the lease of a job this process holds; false when it no longer holds it. */
  renew(id: number, owner: string, leaseMs: number): Promise<boolean> {
    return this.lease.renew(id, owner, leaseMs);
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
      const state = await this.lease.lockHeld(tx, id, owner);
      if (!state.held) return state;
      // Items are written only here, under this lock: the count grows by what was inserted.
      const { count } = await tx.comparisonItem.createMany({
        data: items.map((i) => ({ ...i, comparisonId: id })),
        skipDuplicates: true,
      });
      await tx.$executeRaw`
        UPDATE "Comparison" SET "done" = "done" + ${count}, "elapsedMs" = "elapsedMs" + ${elapsedMs}::double precision,
          "leaseUntil" = now() + ${leaseMs}::double precision * interval '1 millisecond'
        WHERE "id" = ${id}`;
      return state;
    });
  }

  /** Items whose top-1 differs between the versions, in dataset order, with the item's path and image sha256. */
  disagreements(comparisonId: number, first: number) {
    return this.prisma.$queryRaw<(ComparisonItemRecord & { path: string; sha256: string })[]>`
      SELECT ci.*, di."path", di."sha256" FROM "ComparisonItem" ci JOIN "DatasetItem" di ON di."id" = ci."datasetItemId"
      WHERE ci."comparisonId" = ${comparisonId} AND ci."baselineTop1" <> ci."candidateTop1"
      ORDER BY ci."ordinal" LIMIT ${first}`;
  }

  /** disagreements() of several comparisons in one statement: the first `first` of each. */
  disagreementsOf(comparisonIds: readonly number[], first: number) {
    return this.prisma.$queryRaw<(ComparisonItemRecord & { path: string; sha256: string })[]>`
      SELECT d.* FROM unnest(${[...comparisonIds]}::int[]) AS c("id") CROSS JOIN LATERAL (
        SELECT ci.*, di."path", di."sha256" FROM "ComparisonItem" ci JOIN "DatasetItem" di ON di."id" = ci."datasetItemId"
        WHERE ci."comparisonId" = c."id" AND ci."baselineTop1" <> ci."candidateTop1"
        ORDER BY ci."ordinal" LIMIT ${first}) d
      ORDER BY d."comparisonId", d."ordinal"`;
  }

  /**
   * Up to `limit` items after `afterOrdinal`, in dataset order (keyset paging on the primary key:
   * every page costs the same however far in). PostgreSQL arrays count from 1.
   */
  itemPage(comparisonId: number, afterOrdinal: number, limit: number): Promise<ComparisonItemRow[]> {
    return this.prisma.$queryRaw<ComparisonItemRow[]>`
      SELECT ci."ordinal", di."path", ci."label", ci."baselineTop1", ci."candidateTop1",
        ci."baselineProbs"[ci."baselineTop1" + 1] AS "baselineProbability",
        ci."candidateProbs"[ci."candidateTop1" + 1] AS "candidateProbability",
        ci."baselineMs", ci."candidateMs"
      FROM "ComparisonItem" ci JOIN "DatasetItem" di ON di."id" = ci."datasetItemId"
      WHERE ci."comparisonId" = ${comparisonId} AND ci."ordinal" > ${afterOrdinal}
      ORDER BY ci."ordinal" LIMIT ${limit}`;
  }

  items(comparisonId: number): Promise<ComparisonItemRecord[]> {
    return this.prisma.comparisonItem.findMany({ where: { comparisonId }, orderBy: { ordinal: 'asc' } });
  }

  /** Ends a job this process holds; false when it does not hold it any more. */
  finish(id: number, owner: string, end: JobEnd): Promise<boolean> {
    return this.lease.finish(id, owner, end);
  }

  /** Hands a job this process holds back to the queue (the gateway is stopping). */
  release(id: number, owner: string): Promise<void> {
    return this.lease.release(id, owner);
  }

  /** Cancels a queued job at once and asks a running one to stop at its next checkpoint, in one statement. */
  async requestCancel(id: number): Promise<ComparisonRecord | null> {
    await this.lease.requestCancel(id);
    return this.find(id);
  }
}
