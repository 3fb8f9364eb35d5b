import type { Prisma } from '../db/database';
import type { DvcProvenance, MlflowRun, ModelVersion, VersionStatus } from '../db/generated/client';
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
  signature: object;
  tags: object;
  parentId?: number | null;
  mlflowRunId?: number | null;
  dvc?: Omit<DvcProvenance, 'id' | 'versionId' | 'createdAt'> | null;
}

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
    return this.prisma.modelVersion.findMany({ where: { modelId: { in: [...modelIds] } }, orderBy: [{ modelId: 'asc' }, { version: 'asc' }] });
  }

  findDvcByVersionIds(ids: readonly number[]): Promise<DvcRecord[]> {
    return this.prisma.dvcProvenance.findMany({ where: { versionId: { in: [...ids] } } });
  }

  findMlflowRunsByIds(ids: readonly number[]): Promise<MlflowRunRecord[]> {
    return this.prisma.mlflowRun.findMany({ where: { id: { in: [...ids] } } });
  }
}
