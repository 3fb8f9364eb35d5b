import type { Prisma } from '../db/database';
import {
  Prisma as P,
  type DvcProvenance,
  type MlflowRun,
  type ModelVersion,
  type VersionStatus,
} from '../db/generated/client';
import { translatePrismaError } from '../db/prisma-errors';

export type VersionRecord = ModelVersion;
export type DvcRecord = DvcProvenance;
export type MlflowRunRecord = MlflowRun;
export type { VersionStatus };

export interface NewVersion {
  status: VersionStatus;
  statusReason?: string | null;
  artifactUri: string;
  localPath: string;
  sha256: string;
  md5: string;
  sizeBytes: bigint;
  /** Weights in the graph; null when they could not be counted. */
  parameterCount?: bigint | null;
  signature: object;
  tags: object;
  parentId?: number | null;
  /** How a derived version was made from its parent (optimizations). */
  derivation?: object;
  mlflowRunId?: number | null;
  dvc?: Omit<DvcProvenance, 'id' | 'versionId' | 'createdAt'> | null;
}

/** How a version FAILED by the runtime's load is marked (VersionService.markLoadFailed). */
export const LOAD_FAILED = 'failed to load: ';

export class VersionRepository {
  constructor(private readonly prisma: Prisma) {}

  /**
   * Takes the model's next number and inserts the version in one transaction. The increment locks
   * the model row, so concurrent registrations queue up and get consecutive numbers; a failed
   * insert rolls the increment back, leaving no gap.
   */
  async createNext(modelId: number, data: NewVersion): Promise<VersionRecord> {
    const { dvc, ...version } = data;
    try {
      return await this.prisma.$transaction(async (tx) => {
        const model = await tx.model.update({ where: { id: modelId }, data: { lastVersion: { increment: 1 } } });
        return tx.modelVersion.create({
          data: {
            ...version,
            modelId,
            version: model.lastVersion,
            ...(dvc ? { dvc: { create: dvc } } : {}),
          },
        });
      });
    } catch (e) {
      throw translatePrismaError(e, { notFound: 'the model was deleted while the version was being registered' });
    }
  }

  findByNumber(modelId: number, version: number): Promise<VersionRecord | null> {
    return this.prisma.modelVersion.findUnique({ where: { modelId_version: { modelId, version } } });
  }

  findLatestReady(modelId: number): Promise<VersionRecord | null> {
    return this.prisma.modelVersion.findFirst({ where: { modelId, status: 'READY' }, orderBy: { version: 'desc' } });
  }

  findByIds(ids: readonly number[]): Promise<VersionRecord[]> {
    return this.prisma.modelVersion.findMany({ where: { id: { in: [...ids] } } });
  }

  findByModelIds(modelIds: readonly number[]): Promise<VersionRecord[]> {
    return this.prisma.modelVersion.findMany({
      where: { modelId: { in: [...modelIds] } },
      orderBy: [{ modelId: 'asc' }, { version: 'asc' }],
    });
  }

  /** Versions derived from these, in version order. */
  findByParentIds(ids: readonly number[]): Promise<VersionRecord[]> {
    return this.prisma.modelVersion.findMany({
      where: { parentId: { in: [...ids] } },
      orderBy: [{ modelId: 'asc' }, { version: 'asc' }],
    });
  }

  /** Versions holding these bytes (by sha256 or DVC's md5), in any model. */
  findByContent(hash: { sha256?: string | null; md5?: string | null }): Promise<VersionRecord[]> {
    const or = [...(hash.sha256 ? [{ sha256: hash.sha256 }] : []), ...(hash.md5 ? [{ md5: hash.md5 }] : [])];
    return or.length
      ? this.prisma.modelVersion.findMany({ where: { OR: or }, orderBy: { id: 'asc' } })
      : Promise.resolve([]);
  }

  /** Versions imported from a DVC path at a git revision. */
  findByDvcRevPath(rev: string, dvcPath: string): Promise<VersionRecord[]> {
    return this.prisma.modelVersion.findMany({ where: { dvc: { rev, path: dvcPath } }, orderBy: { id: 'asc' } });
  }

  async setStatus(versionId: number, status: VersionStatus, reason: string | null): Promise<void> {
    await this.prisma.modelVersion.update({ where: { id: versionId }, data: { status, statusReason: reason } });
  }

  /**
   * Sets (or, with null, clears) the remote engine that serves the version. A version FAILED by a load
   * is READY again: the new setting deserves a load of its own, which marks it FAILED again if it does not load.
   */
  async setRemote(versionId: number, remote: object | null): Promise<VersionRecord> {
    try {
      return await this.prisma.$transaction(async (tx) => {
        const current = await tx.modelVersion.findUniqueOrThrow({ where: { id: versionId } });
        const revive =
          current.status === 'FAILED' && current.statusReason?.startsWith(LOAD_FAILED)
            ? { status: 'READY' as const, statusReason: null }
            : {};
        return tx.modelVersion.update({
          where: { id: versionId },
          data: { remote: remote ?? P.DbNull, ...revive },
        });
      });
    } catch (e) {
      throw translatePrismaError(e, { notFound: 'the version was deleted' });
    }
  }

  /** Ids of the versions some alias with one of these names points at. */
  async idsWithAliases(names: readonly string[]): Promise<Set<number>> {
    const rows = await this.prisma.alias.findMany({ where: { name: { in: [...names] } }, select: { versionId: true } });
    return new Set(rows.map((r) => r.versionId));
  }

  /** The version's execution-provider preference; empty: the gateway's default. */
  async setExecutionProviders(versionId: number, providers: string[]): Promise<VersionRecord> {
    return this.prisma.modelVersion.update({ where: { id: versionId }, data: { executionProviders: providers } });
  }

  async setParameterCount(versionId: number, parameterCount: bigint): Promise<void> {
    await this.prisma.modelVersion.update({ where: { id: versionId }, data: { parameterCount } });
  }

  async linkRun(versionId: number, mlflowRunId: number): Promise<void> {
    await this.prisma.modelVersion.update({ where: { id: versionId }, data: { mlflowRunId } });
  }

  /** The model's versions with their DVC provenance (importers match on it). */
  findWithDvc(modelId: number): Promise<(VersionRecord & { dvc: DvcRecord | null })[]> {
    return this.prisma.modelVersion.findMany({
      where: { modelId },
      include: { dvc: true },
      orderBy: { version: 'asc' },
    });
  }

  async attachDvc(versionId: number, dvc: NonNullable<NewVersion['dvc']>): Promise<void> {
    await this.prisma.dvcProvenance.upsert({ where: { versionId }, create: { ...dvc, versionId }, update: dvc });
  }

  findDvcByVersionIds(ids: readonly number[]): Promise<DvcRecord[]> {
    return this.prisma.dvcProvenance.findMany({ where: { versionId: { in: [...ids] } } });
  }

  findMlflowRunsByIds(ids: readonly number[]): Promise<MlflowRunRecord[]> {
    return this.prisma.mlflowRun.findMany({ where: { id: { in: [...ids] } } });
  }
}
