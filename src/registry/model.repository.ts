import type { Prisma } from '../db/database';
import type { Model } from '../db/generated/client';
import { translatePrismaError } from '../db/prisma-errors';
import type { InputSpec } from './input-spec';

export type ModelRecord = Model;

export interface NewModel {
  name: string;
  task: string;
  description: string | null;
  labels: string[];
  inputSpec: InputSpec;
}

export class ModelRepository {
  constructor(private readonly prisma: Prisma) {}

  async create(data: NewModel): Promise<ModelRecord> {
    try {
      return await this.prisma.model.create({ data: { ...data, inputSpec: data.inputSpec as object } });
    } catch (e) {
      throw translatePrismaError(e, { unique: `a model named "${data.name}" already exists` });
    }
  }

  findByName(name: string): Promise<ModelRecord | null> {
    return this.prisma.model.findUnique({ where: { name } });
  }

  findByIds(ids: readonly number[]): Promise<ModelRecord[]> {
    return this.prisma.model.findMany({ where: { id: { in: [...ids] } } });
  }

  /** Ordered by name; `after` is the last name of the previous page. */
  list(opts: { search?: string | undefined; first: number; after?: string | undefined }): Promise<ModelRecord[]> {
    return this.prisma.model.findMany({
      where: {
        ...(opts.search
          ? {
              OR: [
                { name: { contains: opts.search, mode: 'insensitive' } },
                { description: { contains: opts.search, mode: 'insensitive' } },
              ],
            }
          : {}),
        ...(opts.after !== undefined ? { name: { gt: opts.after } } : {}),
      },
      orderBy: { name: 'asc' },
      take: opts.first,
    });
  }
}
