import type { Prisma } from '../db/database';
import { Prisma as P, type MlflowMetric, type MlflowModelVersion, type MlflowRun } from '../db/generated/client';

export type MlflowRunRow = MlflowRun;
export type MlflowModelVersionRow = MlflowModelVersion;

export interface RunUpsert {
  trackingUri: string;
  runId: string;
  experimentId: string;
  experimentName: string | null;
  runName: string | null;
  status: string;
  startTime: Date | null;
  endTime: Date | null;
  artifactUri: string | null;
  userId: string | null;
  params: Record<string, string>;
  metrics: Record<string, number>;
  tags: Record<string, string>;
  history: { key: string; value: number; timestamp: number; step: number }[];
}

/** JSON equality regardless of key order (JSONB stores keys in its own order). */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  return v;
}
const same = (a: unknown, b: unknown) => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));

export class MlflowRepository {
  constructor(private readonly prisma: Prisma) {}

  /**
   * Stores a run and its full metric history in one transaction. Unchanged runs (same fields and
   * history length) are left alone, so re-imports are cheap and report "unchanged".
   */
  async upsertRun(
    data: RunUpsert,
    opts: { dryRun?: boolean } = {},
  ): Promise<{ run: MlflowRunRow | null; action: 'created' | 'updated' | 'unchanged' }> {
    const { history, ...fields } = data;
    const existing = await this.prisma.mlflowRun.findUnique({
      where: { trackingUri_runId: { trackingUri: data.trackingUri, runId: data.runId } },
      include: { _count: { select: { history: true } } },
    });
    if (
      existing &&
      existing._count.history === history.length &&
      same(existing.params, fields.params) &&
      same(existing.metrics, fields.metrics) &&
      same(existing.tags, fields.tags) &&
      existing.status === fields.status &&
      existing.endTime?.getTime() === fields.endTime?.getTime() &&
      existing.runName === fields.runName &&
      existing.experimentName === fields.experimentName
    ) {
      const { _count, ...run } = existing;
      return { run, action: 'unchanged' };
    }
    // A dry run says what would change and writes nothing.
    if (opts.dryRun) return { run: null, action: existing ? 'updated' : 'created' };
    const run = await this.prisma.$transaction(async (tx) => {
      const row = await tx.mlflowRun.upsert({
        where: { trackingUri_runId: { trackingUri: data.trackingUri, runId: data.runId } },
        create: fields,
        update: fields,
      });
      await tx.mlflowMetric.deleteMany({ where: { runId: row.id } });
      const CHUNK = 5000;
      for (let i = 0; i < history.length; i += CHUNK) {
        const chunk = history.slice(i, i + CHUNK);
        // Numbers travel as text: the driver adapters turn NaN and ±Infinity (which MLflow logs, and
        // float8 stores) into other values, and PostgreSQL parses 'NaN'/'Infinity' itself.
        await tx.$executeRaw`
          INSERT INTO "MlflowMetric" ("runId", "key", "value", "timestamp", "step")
          SELECT ${row.id}, k, v::float8, ts::int8, st::int8
          FROM unnest(${chunk.map((p) => p.key)}::text[], ${chunk.map((p) => String(p.value))}::text[],
                      ${chunk.map((p) => String(p.timestamp))}::text[], ${chunk.map((p) => String(p.step))}::text[])
               AS m(k, v, ts, st)`;
      }
      return row;
    });
    return { run, action: existing ? 'updated' : 'created' };
  }

  /**
   * Moves the runs and registered versions stored under another key of the same store to `to`
   * (one transaction); a row whose twin already exists under `to` stays where it is.
   */
  async rekeyStore(from: string, to: string): Promise<number> {
    const [runs, versions] = await this.prisma.$transaction([
      this.prisma.$executeRaw`
        UPDATE "MlflowRun" r SET "trackingUri" = ${to}
        WHERE r."trackingUri" = ${from}
          AND NOT EXISTS (SELECT 1 FROM "MlflowRun" c WHERE c."trackingUri" = ${to} AND c."runId" = r."runId")`,
      this.prisma.$executeRaw`
        UPDATE "MlflowModelVersion" v SET "trackingUri" = ${to}
        WHERE v."trackingUri" = ${from}
          AND NOT EXISTS (SELECT 1 FROM "MlflowModelVersion" c
                          WHERE c."trackingUri" = ${to} AND c."name" = v."name" AND c."version" = v."version")`,
    ]);
    return runs + versions;
  }

  /** The logged values of several runs, in one statement: the first `first` of each, by key then step. */
  histories(runRowIds: readonly number[], key: string | undefined, first: number): Promise<MlflowMetric[]> {
    const byKey = key === undefined ? P.empty : P.sql`AND m."key" = ${key}`;
    return this.prisma.$queryRaw<MlflowMetric[]>`
      SELECT h.* FROM unnest(${[...runRowIds]}::int[]) AS r("id") CROSS JOIN LATERAL (
        SELECT m.* FROM "MlflowMetric" m WHERE m."runId" = r."id" ${byKey}
        ORDER BY m."key", m."step", m."timestamp", m."id" LIMIT ${first}) h
      ORDER BY h."runId", h."key", h."step", h."timestamp", h."id"`;
  }

  findRegisteredVersion(trackingUri: string, name: string, version: number): Promise<MlflowModelVersionRow | null> {
    return this.prisma.mlflowModelVersion.findUnique({
      where: { trackingUri_name_version: { trackingUri, name, version } },
    });
  }

  /** Stores a registered version as MLflow describes it; "unchanged" when nothing differs. */
  async upsertRegisteredVersion(
    data: Omit<MlflowModelVersion, 'id' | 'createdAt' | 'updatedAt'>,
    opts: { dryRun?: boolean } = {},
  ): Promise<'created' | 'updated' | 'unchanged'> {
    const existing = await this.findRegisteredVersion(data.trackingUri, data.name, data.version);
    if (existing) {
      const { id: _i, createdAt: _c, updatedAt: _u, ...stored } = existing;
      if (same(stored, data)) return 'unchanged';
    }
    if (opts.dryRun) return existing ? 'updated' : 'created';
    const where = {
      trackingUri_name_version: { trackingUri: data.trackingUri, name: data.name, version: data.version },
    };
    await this.prisma.mlflowModelVersion.upsert({ where, create: data, update: data });
    return existing ? 'updated' : 'created';
  }
}
