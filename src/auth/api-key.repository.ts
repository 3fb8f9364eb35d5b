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

  async create(data: { name: string; prefix: string; hash: string; role: Role }): Promise<ApiKeyRecord> {
    try {
      return await this.prisma.apiKey.create({ data });
    } catch (e) {
      throw translatePrismaError(e, { unique: `an API key named "${data.name}" (or with the same prefix) already exists` });
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

  revoke(id: number): Promise<ApiKeyRecord> {
    return this.prisma.apiKey.update({ where: { id }, data: { revokedAt: new Date() } });
  }

  async touch(id: number): Promise<void> {
    await this.prisma.apiKey.update({ where: { id }, data: { lastUsedAt: new Date() } });
  }
}
