import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { get_dmmf } from '@prisma/prisma-schema-wasm';
import pg from 'pg';
import pino from 'pino';
import { openDatabase, pgliteSession, pgSession } from '../../src/db/database';
import { migrate, migrationStatus, readMigrations, type SqlSession } from '../../src/db/migrator';
import { DataDirInUseError } from '../../src/db/pglite-lock';
import { adminUrl, databaseUrl } from '../helpers/postgres';
import { createTestApp, dbKind, type TestApp } from '../helpers/test-app';

const logger = pino({ level: 'silent' });

/** The Prisma scalar type each column must have in PostgreSQL (udt_name). */
const PG_TYPES: Record<string, string> = {
  String: 'text',
  Int: 'int4',
  BigInt: 'int8',
  Boolean: 'bool',
  DateTime: 'timestamptz',
  Json: 'jsonb',
  Float: 'float8',
};

/** Native type attributes (@db.X) that change the column type; others keep the scalar's. */
const NATIVE_TYPES: Record<string, string> = {
  Real: 'float4',
  DoublePrecision: 'float8',
  Timestamptz: 'timestamptz',
  Timestamp: 'timestamp',
  Uuid: 'uuid',
};

interface DmmfField {
  name: string;
  kind: 'scalar' | 'object' | 'enum';
  type: string;
  isList: boolean;
  isRequired: boolean;
  nativeType: [string, string[]] | null;
  relationFromFields?: string[];
  relationToFields?: string[];
  relationOnDelete?: string;
}
interface Dmmf {
  datamodel: {
    models: {
      name: string;
      fields: DmmfField[];
      primaryKey: null;
      uniqueFields: string[][];
      uniqueIndexes: { fields: string[] }[];
    }[];
    enums: { name: string; values: { name: string }[] }[];
    indexes: { model: string; type: 'id' | 'unique' | 'normal'; fields: { name: string }[] }[];
  };
}

const dmmf = JSON.parse(
  get_dmmf(
    JSON.stringify({
      prismaSchema: readFileSync(path.resolve(__dirname, '..', '..', 'prisma', 'schema.prisma'), 'utf8'),
    }),
  ),
) as Dmmf;

describe(`migrations (${dbKind()})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const q = <T>(sql: string, params: unknown[] = []) => t.app.db.prisma.$queryRawUnsafe<T[]>(sql, ...params);

  it('produce exactly the tables, columns, types and nullability of schema.prisma', async () => {
    const columns = await q<{ table_name: string; column_name: string; udt_name: string; is_nullable: string }>(
      `SELECT table_name, column_name, udt_name, is_nullable FROM information_schema.columns ` +
        `WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'`,
    );
    const actual = new Map(columns.map((c) => [`${c.table_name}.${c.column_name}`, c]));
    const expected = new Set<string>();
    for (const model of dmmf.datamodel.models) {
      for (const field of model.fields.filter((f) => f.kind !== 'object')) {
        const key = `${model.name}.${field.name}`;
        expected.add(key);
        const column = actual.get(key);
        expect([key, column ? 'present' : 'missing']).toEqual([key, 'present']);
        const native = field.nativeType?.[0];
        const base = field.kind === 'enum' ? field.type : (native && NATIVE_TYPES[native]) || PG_TYPES[field.type];
        expect([key, column!.udt_name]).toEqual([key, field.isList ? `_${base}` : base]);
        // Prisma lists are nullable columns; everything else follows isRequired.
        expect([key, column!.is_nullable]).toEqual([key, field.isRequired && !field.isList ? 'NO' : 'YES']);
      }
    }
    expect([...actual.keys()].filter((k) => !expected.has(k))).toEqual([]);
  });

  it('create every enum with its values in order', async () => {
    for (const e of dmmf.datamodel.enums) {
      const rows = await q<{ v: string }>(
        `SELECT e.enumlabel AS v FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid WHERE t.typname = $1 ORDER BY e.enumsortorder`,
        [e.name],
      );
      expect(rows.map((r) => r.v)).toEqual(e.values.map((v) => v.name));
    }
  });

  it('create the primary keys, unique and plain indexes of schema.prisma', async () => {
    const rows = await q<{ table: string; unique: boolean; primary: boolean; columns: string[] }>(`
      SELECT t.relname AS "table", ix.indisunique AS "unique", ix.indisprimary AS "primary",
             array_agg(a.attname::text ORDER BY k.ord) AS columns
      FROM pg_index ix
      JOIN pg_class t ON t.oid = ix.indrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
      CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
      JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
      WHERE t.relname <> '_prisma_migrations' AND ix.indpred IS NULL
      GROUP BY t.relname, ix.indexrelid, ix.indisunique, ix.indisprimary`);
    const kind = (r: { unique: boolean; primary: boolean }) => (r.primary ? 'id' : r.unique ? 'unique' : 'normal');
    const actual = rows.map((r) => `${r.table}:${kind(r)}:${r.columns.join(',')}`).sort();
    const expected = dmmf.datamodel.indexes
      .map((i) => `${i.model}:${i.type}:${i.fields.map((f) => f.name).join(',')}`)
      .sort();
    expect(actual).toEqual(expected);
  });

  it('create the partial unique indexes schema.prisma cannot state: one active comparison (optimization) per request key, one running experiment per model', async () => {
    const rows = await q<{ name: string; def: string }>(`
      SELECT i.relname AS name, pg_get_indexdef(ix.indexrelid) AS def FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid
      WHERE ix.indpred IS NOT NULL ORDER BY i.relname`);
    expect(rows.map((r) => r.name)).toEqual([
      'Comparison_active_requestKey_key',
      'Experiment_running_modelId_key',
      'Optimization_active_requestKey_key',
    ]);
    for (const r of rows.filter((r) => r.name !== 'Experiment_running_modelId_key'))
      expect(r.def).toMatch(/UNIQUE INDEX .* \("requestKey"\) WHERE .*QUEUED.*RUNNING.*NOT "cancelRequested"/);
    expect(rows[1]!.def).toMatch(/UNIQUE INDEX .* \("modelId"\) WHERE \(status = 'RUNNING'::"ExperimentStatus"\)/);
  });

  it('create every foreign key of schema.prisma with its columns and delete rule', async () => {
    const rows = await q<{ table: string; columns: string[]; target: string; ref: string[]; del: string }>(`
      SELECT c.conrelid::regclass::text AS "table", c.confrelid::regclass::text AS target, c.confdeltype::text AS del,
             (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(c.conkey) WITH ORDINALITY k(n, ord)
                JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n) AS columns,
             (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(c.confkey) WITH ORDINALITY k(n, ord)
                JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n) AS ref
      FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace AND n.nspname = 'public' WHERE c.contype = 'f'`);
    const rule: Record<string, string> = { a: 'NoAction', r: 'Restrict', c: 'Cascade', n: 'SetNull', d: 'SetDefault' };
    const unquote = (s: string) => s.replace(/"/g, '');
    const actual = rows
      .map(
        (r) => `${unquote(r.table)}(${r.columns.join(',')})->${unquote(r.target)}(${r.ref.join(',')}) ${rule[r.del]}`,
      )
      .sort();
    const expected: string[] = [];
    for (const model of dmmf.datamodel.models) {
      for (const f of model.fields.filter((x) => x.kind === 'object' && x.relationFromFields?.length)) {
        // Prisma's default for a required relation is Restrict, for an optional one SetNull.
        const onDelete = f.relationOnDelete ?? (f.isRequired ? 'Restrict' : 'SetNull');
        expected.push(
          `${model.name}(${f.relationFromFields!.join(',')})->${f.type}(${f.relationToFields!.join(',')}) ${onDelete}`,
        );
      }
    }
    expect(actual).toEqual(expected.sort());
  });

  it("are recorded in a Prisma-compatible _prisma_migrations table, with Prisma's checksum", async () => {
    const migrations = await readMigrations();
    const rows = await q<{
      migration_name: string;
      checksum: string;
      finished_at: Date | null;
      applied_steps_count: number;
    }>(
      `SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name`,
    );
    expect(rows.map((r) => [r.migration_name, r.checksum, r.finished_at !== null, r.applied_steps_count])).toEqual(
      migrations.map((m) => [m.name, m.checksum, true, 1]),
    );
    expect(await t.app.db.migrationStatus()).toEqual({
      applied: migrations.map((m) => m.name),
      pending: [],
      unknown: [],
      failed: [],
    });
  });
});

/** A raw session on a new, empty database of the project's kind. */
async function emptySession(): Promise<{
  session: () => Promise<SqlSession & { close(): Promise<void> }>;
  drop(): Promise<void>;
}> {
  if (dbKind() === 'pglite') {
    const pglite = await PGlite.create();
    const session = { ...pgliteSession(pglite), close: async () => undefined };
    return { session: async () => session, drop: () => pglite.close() };
  }
  const name = `modelgate_t_${process.env.MODELGATE_TEST_RUN}_mig_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  return {
    session: async () => {
      const client = new pg.Client({ connectionString: databaseUrl(name) });
      await client.connect();
      const s = { ...pgSession(client), close: () => client.end() };
      return s;
    },
    drop: async () => {
      const a = new pg.Client({ connectionString: adminUrl() });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await a.end();
    },
  };
}

describe(`the migrator (${dbKind()})`, () => {
  it('is idempotent: a second run applies nothing', async () => {
    const db = await emptySession();
    const s = await db.session();
    try {
      expect(await migrate(s, logger)).toEqual((await readMigrations()).map((m) => m.name));
      expect(await migrate(s, logger)).toEqual([]);
      expect((await s.query<{ n: number }>('SELECT count(*)::int AS n FROM "_prisma_migrations"'))[0]!.n).toBe(
        (await readMigrations()).length,
      );
    } finally {
      await s.close();
      await db.drop();
    }
  });

  it('rolls back a failing migration entirely and records nothing for it', async () => {
    const db = await emptySession();
    const s = await db.session();
    try {
      const good = await readMigrations();
      const broken = {
        name: '99990101000000_broken',
        sql: 'CREATE TABLE "Half" (id int); SELECT 1/0;',
        checksum: 'x'.repeat(64),
      };
      await expect(migrate(s, logger, [...good, broken])).rejects.toThrow(/division by zero/);
      const status = await migrationStatus(s, [...good, broken]);
      expect(status).toMatchObject({ applied: good.map((m) => m.name), pending: [broken.name], failed: [] });
      expect((await s.query<{ t: string | null }>(`SELECT to_regclass('"Half"')::text AS t`))[0]!.t).toBeNull();
    } finally {
      await s.close();
      await db.drop();
    }
  });

  if (dbKind() === 'postgres') {
    it('lets several processes start at once: the advisory lock serializes them, one applies', async () => {
      const db = await emptySession();
      const sessions = await Promise.all([1, 2, 3].map(() => db.session()));
      try {
        const results = await Promise.all(sessions.map((s) => migrate(s, logger)));
        expect(results.flat()).toEqual((await readMigrations()).map((m) => m.name));
        expect(
          (await sessions[0]!.query<{ n: number }>('SELECT count(*)::int AS n FROM "_prisma_migrations"'))[0]!.n,
        ).toBe((await readMigrations()).length);
      } finally {
        await Promise.all(sessions.map((s) => s.close()));
        await db.drop();
      }
    });
  } else {
    it('refuses a second process on the same embedded data directory, with a clear message', async () => {
      const dataDir = path.join(os.tmpdir(), `modelgate-lock-${process.pid}-${Date.now()}`);
      const first = await openDatabase({ databaseUrl: undefined, dataDir, logger });
      try {
        const second = openDatabase({ databaseUrl: undefined, dataDir, logger });
        await expect(second).rejects.toBeInstanceOf(DataDirInUseError);
        await expect(second).rejects.toThrow(/in use by another modelgate process \(pid \d+\).*--url/);
      } finally {
        await first.close();
      }
      // Released on close: it opens again.
      await (await openDatabase({ databaseUrl: undefined, dataDir, logger })).close();
      rmSync(dataDir, { recursive: true, force: true });
    });
  }
});
