import type { Prisma } from '../db/database';
import type { ApiKey } from '../db/generated/client';
import { translatePrismaError } from '../db/prisma-errors';
import type { Role } from '../config/config';

export type ApiKeyRecord = ApiKey;

export class ApiKeyRepository {
  constructor(private readonly prisma: Prisma) {}

  count(): Promise<number> {
    return this.prisma.apiKey.count();
  }

  async create(data: {
    name: string;
    prefix: string;
    hash: string;
    role: Role;
    fromEnv?: boolean;
  }): Promise<ApiKeyRecord> {
    try {
      return await this.prisma.apiKey.create({ data });
    } catch (e) {
      throw translatePrismaError(e, {
        unique: `an API key named "${data.name}" (or with the same prefix) already exists`,
      });
    }
  }

  findByPrefix(prefix: string): Promise<ApiKeyRecord | null> {
    return this.prisma.apiKey.findUnique({ where: { prefix } });
  }

  findByName(name: string): Promise<ApiKeyRecord | null> {
    return this.prisma.apiKey.findUnique({ where: { name } });
  }

  list(first: number): Promise<ApiKeyRecord[]> {
    return this.prisma.apiKey.findMany({ orderBy: { createdAt: 'asc' }, take: first });
  }

  /** Revokes the key and ends its browser sessions, in one transaction. */
  revoke(id: number): Promise<ApiKeyRecord> {
    return this.prisma.$transaction(async (tx) => {
      const revoked = await tx.apiKey.update({ where: { id }, data: { revokedAt: new Date() } });
      await tx.session.deleteMany({ where: { apiKeyId: id } });
      return revoked;
    });
  }

  /** Marks a key as the one ADMIN_API_KEY names and revokes every other key that came from it. */
  async adoptEnvKey(id: number): Promise<string[]> {
    return this.prisma.$transaction(async (tx) => {
      await tx.apiKey.update({ where: { id }, data: { fromEnv: true } });
      const previous = await tx.apiKey.findMany({
        where: { fromEnv: true, revokedAt: null, id: { not: id } },
        select: { id: true, name: true },
      });
      if (previous.length) {
        const ids = previous.map((p) => p.id);
        await tx.apiKey.updateMany({ where: { id: { in: ids } }, data: { revokedAt: new Date() } });
        await tx.session.deleteMany({ where: { apiKeyId: { in: ids } } });
      }
      return previous.map((p) => p.name);
    });
  }

  async touch(id: number): Promise<void> {
    await this.prisma.apiKey.update({ where: { id }, data: { lastUsedAt: new Date() } });
  }
}
