import type { Prisma } from '../db/database';
import type { Alias, AliasEvent } from '../db/generated/client';
import { translatePrismaError } from '../db/prisma-errors';

export type AliasRecord = Alias;
export type AliasEventRecord = AliasEvent;

export class AliasRepository {
  constructor(private readonly prisma: Prisma) {}

  find(modelId: number, name: string): Promise<AliasRecord | null> {
    return this.prisma.alias.findUnique({ where: { modelId_name: { modelId, name } } });
  }

  /**
   * Points an alias at a version and records the move, under a lock on the model row so that
   * concurrent moves of its aliases are recorded in the order they happened.
   * `changed` is false when the alias already pointed there (nothing is recorded then).
   */
  async set(
    modelId: number,
    name: string,
    version: { id: number; version: number },
    actor: string,
    notReady: (v: { status: string; statusReason: string | null }) => Error,
    reason: string | null = null,
  ): Promise<{ alias: AliasRecord; changed: boolean }> {
    try {
      return await this.prisma.$transaction(async (tx) => {
        await tx.$queryRaw`SELECT id FROM "Model" WHERE id = ${modelId} FOR UPDATE`;
        const target = await tx.modelVersion.findUnique({
          where: { id: version.id },
          select: { status: true, statusReason: true },
        });
        if (target && target.status !== 'READY') throw notReady(target);
        const current = await tx.alias.findUnique({
          where: { modelId_name: { modelId, name } },
          include: { version: { select: { version: true } } },
        });
        if (current && current.versionId === version.id) {
          const { version: _v, ...alias } = current;
          return { alias, changed: false };
        }
        const alias = await tx.alias.upsert({
          where: { modelId_name: { modelId, name } },
          create: { modelId, name, versionId: version.id },
          update: { versionId: version.id },
        });
        await tx.aliasEvent.create({
          data: {
            modelId,
            alias: name,
            fromVersion: current?.version.version ?? null,
            toVersion: version.version,
            actor,
            reason,
          },
        });
        return { alias, changed: true };
      });
    } catch (e) {
      throw translatePrismaError(e, { foreignKey: `version ${version.version} does not belong to this model` });
    }
  }

  /** Removes an alias and records it; false when there was none. */
  remove(modelId: number, name: string, actor: string): Promise<boolean> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT id FROM "Model" WHERE id = ${modelId} FOR UPDATE`;
      const current = await tx.alias.findUnique({
        where: { modelId_name: { modelId, name } },
        include: { version: { select: { version: true } } },
      });
      if (!current) return false;
      await tx.alias.delete({ where: { id: current.id } });
      await tx.aliasEvent.create({
        data: { modelId, alias: name, fromVersion: current.version.version, toVersion: null, actor },
      });
      return true;
    });
  }

  findByModelIds(modelIds: readonly number[]): Promise<AliasRecord[]> {
    return this.prisma.alias.findMany({
      where: { modelId: { in: [...modelIds] } },
      orderBy: [{ modelId: 'asc' }, { name: 'asc' }],
    });
  }

  findByVersionIds(versionIds: readonly number[]): Promise<AliasRecord[]> {
    return this.prisma.alias.findMany({ where: { versionId: { in: [...versionIds] } }, orderBy: { name: 'asc' } });
  }

  historyByModelIds(modelIds: readonly number[]): Promise<AliasEventRecord[]> {
    return this.prisma.aliasEvent.findMany({
      where: { modelId: { in: [...modelIds] } },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
  }
}
