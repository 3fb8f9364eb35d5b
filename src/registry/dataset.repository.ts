import type { Prisma } from '../db/database';
import type { Dataset, DatasetItem } from '../db/generated/client';

export type DatasetRecord = Dataset;
export type DatasetItemRecord = DatasetItem;

export interface NewDataset {
  name: string;
  labels: string[];
  digest: string;
  storageUri: string;
  provenance: object;
  items: { path: string; labelIndex: number; sha256: string }[];
}

export class DatasetRepository {
  constructor(private readonly prisma: Prisma) {}

  list(first: number): Promise<DatasetRecord[]> {
    return this.prisma.dataset.findMany({ orderBy: [{ name: 'asc' }, { version: 'asc' }], take: first });
  }

  find(name: string, version: number): Promise<DatasetRecord | null> {
    return this.prisma.dataset.findUnique({ where: { name_version: { name, version } } });
  }

  findById(id: number): Promise<DatasetRecord | null> {
    return this.prisma.dataset.findUnique({ where: { id } });
  }

  findByIds(ids: readonly number[]): Promise<DatasetRecord[]> {
    return this.prisma.dataset.findMany({ where: { id: { in: [...ids] } } });
  }

  /** How many items each dataset has of each label index, in one grouped query (labels without items are absent). */
  async classCounts(
    datasetIds: readonly number[],
  ): Promise<{ datasetId: number; labelIndex: number; count: number }[]> {
    const rows = await this.prisma.datasetItem.groupBy({
      by: ['datasetId', 'labelIndex'],
      where: { datasetId: { in: [...datasetIds] } },
      _count: { _all: true },
    });
    return rows.map((r) => ({ datasetId: r.datasetId, labelIndex: r.labelIndex, count: r._count._all }));
  }

  latest(name: string): Promise<DatasetRecord | null> {
    return this.prisma.dataset.findFirst({ where: { name }, orderBy: { version: 'desc' } });
  }

  /**
   * Inserts the next version of a dataset with all its items, atomically; when the latest version
   * already has this digest, returns it instead (re-importing is idempotent, also concurrently).
   */
  createUnlessLatest(data: NewDataset): Promise<{ dataset: DatasetRecord; created: boolean }> {
    const { items, ...dataset } = data;
    return this.prisma.$transaction(
      async (tx) => {
        // Serializes concurrent creations of the same name so version numbers stay consecutive.
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${'dataset:' + data.name}))`;
        const last = await tx.dataset.findFirst({ where: { name: data.name }, orderBy: { version: 'desc' } });
        if (last?.digest === data.digest) return { dataset: last, created: false };
        const created = await tx.dataset.create({
          data: { ...dataset, version: (last?.version ?? 0) + 1, itemCount: items.length },
        });
        const CHUNK = 5000;
        for (let i = 0; i < items.length; i += CHUNK) {
          await tx.datasetItem.createMany({
            data: items.slice(i, i + CHUNK).map((item, j) => ({ ...item, datasetId: created.id, ordinal: i + j })),
          });
        }
        return { dataset: created, created: true };
      },
      { timeout: 120_000 },
    );
  }

  item(datasetId: number, ordinal: number): Promise<DatasetItemRecord | null> {
    return this.prisma.datasetItem.findUnique({ where: { datasetId_ordinal: { datasetId, ordinal } } });
  }

  items(datasetId: number, offset: number, limit: number): Promise<DatasetItemRecord[]> {
    return this.prisma.datasetItem.findMany({
      where: { datasetId },
      orderBy: { ordinal: 'asc' },
      skip: offset,
      take: limit,
    });
  }
}
