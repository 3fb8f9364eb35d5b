import type { Prisma } from '../db/database';
import { DomainError, ErrorCode } from '../common/errors';
import { translatePrismaError } from '../db/prisma-errors';
import type { Optimization, OptimizationPhase } from '../db/generated/client';
import type { JobEnd, LeaseStore } from '../jobs/lease-runner';
import { LeaseTable } from '../jobs/lease-table';

export type OptimizationRecord = Optimization;
export type { OptimizationPhase };

export interface NewOptimization {
  sourceId: number;
  datasetId: number;
  options: object;
  requestKey: string;
  total: number;
  createdBy: string;
}

/** What a checkpoint of an optimization writes besides the renewed lease (absent: unchanged). */
export interface OptimizationStep {
  phase?: OptimizationPhase;
  done?: number;
  derivedSha256?: string | null;
  derivation?: object;
  derivedId?: number;
  comparisonId?: number;
}

/** Optimizations (optimizeVersion jobs); each is a job of the generic lease runner (src/jobs). */
export class OptimizationRepository implements LeaseStore<OptimizationRecord> {
  private readonly lease: LeaseTable;

  constructor(private readonly prisma: Prisma) {
    this.lease = new LeaseTable(prisma, 'Optimization');
  }

  /**
   * A new queued job, or the active one with the same request key: the partial unique index
   * (migration 20261210100000) lets only one of two identical concurrent calls insert.
   */
  async createUnlessActive(data: NewOptimization): Promise<OptimizationRecord> {
    try {
      return await this.prisma.optimization.create({ data });
    } catch (e) {
      const translated = translatePrismaError(e);
      if (!(translated instanceof DomainError && translated.code === ErrorCode.CONFLICT)) throw translated;
      const active = await this.findActive(data.requestKey);
      if (!active) throw translated;
      return active;
    }
  }

  /** The queued or running job with this key, unless it is being cancelled. */
  findActive(requestKey: string): Promise<OptimizationRecord | null> {
    return this.prisma.optimization.findFirst({
      where: { requestKey, status: { in: ['RUNNING', 'QUEUED'] }, cancelRequested: false },
    });
  }

  /** Queued or running jobs a key (by name) started, not counting those being cancelled. */
  countActiveBy(createdBy: string): Promise<number> {
    return this.prisma.optimization.count({
      where: { createdBy, status: { in: ['RUNNING', 'QUEUED'] }, cancelRequested: false },
    });
  }

  find(id: number): Promise<OptimizationRecord | null> {
    return this.prisma.optimization.findUnique({ where: { id } });
  }

  findByIds(ids: readonly number[]): Promise<OptimizationRecord[]> {
    return this.prisma.optimization.findMany({ where: { id: { in: [...ids] } } });
  }

  /** Newest first; optionally only those of one model's versions. */
  list(filter: { modelId?: number; first: number }): Promise<OptimizationRecord[]> {
    return this.prisma.optimization.findMany({
      where: filter.modelId === undefined ? {} : { source: { modelId: filter.modelId } },
      orderBy: { id: 'desc' },
      take: filter.first,
    });
  }

  /** The jobs that made these versions (at most one each, the latest). */
  findByDerivedIds(ids: readonly number[]): Promise<OptimizationRecord[]> {
    return this.prisma.optimization.findMany({ where: { derivedId: { in: [...ids] } }, orderBy: { id: 'asc' } });
  }

  async claim(
    owner: string,
    leaseMs: number,
    reclaimAll: boolean,
    running: number[],
  ): Promise<OptimizationRecord | null> {
    const id = await this.lease.claim(owner, leaseMs, reclaimAll, running);
    return id === null ? null : this.find(id);
  }

  renew(id: number, owner: string, leaseMs: number): Promise<boolean> {
    return this.lease.renew(id, owner, leaseMs);
  }

  /**
   * The checkpoint: the step's fields and a renewed lease in one transaction, under the job row's
   * lock; nothing is written (held: false) when this process no longer holds the job.
   */
  async checkpoint(
    id: number,
    owner: string,
    leaseMs: number,
    step: OptimizationStep,
  ): Promise<{ held: boolean; cancelRequested: boolean }> {
    return this.prisma.$transaction(async (tx) => {
      const state = await this.lease.lockHeld(tx, id, owner);
      if (!state.held) return state;
      await tx.optimization.update({ where: { id }, data: step });
      await tx.$executeRaw`
        UPDATE "Optimization" SET "leaseUntil" = now() + ${leaseMs}::double precision * interval '1 millisecond'
        WHERE "id" = ${id}`;
      return state;
    });
  }

  finish(id: number, owner: string, end: JobEnd): Promise<boolean> {
    return this.lease.finish(id, owner, end);
  }

  release(id: number, owner: string): Promise<void> {
    return this.lease.release(id, owner);
  }

  async requestCancel(id: number): Promise<OptimizationRecord | null> {
    await this.lease.requestCancel(id);
    return this.find(id);
  }

  /** How many jobs are in each state (metrics). */
  async countByStatus(): Promise<Record<string, number>> {
    const rows = await this.prisma.optimization.groupBy({ by: ['status'], _count: { _all: true } });
    return Object.fromEntries(rows.map((r) => [r.status, r._count._all]));
  }
}
