import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../common/logger';

/** The little a migrator needs from a connection: the embedded and the server database both offer it. */
export interface SqlSession {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs a multi-statement script. */
  exec(sql: string): Promise<void>;
  /** Runs `fn` inside one transaction on this session. */
  transaction<T>(fn: (tx: SqlSession) => Promise<T>): Promise<T>;
}

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationStatus {
  applied: string[];
  pending: string[];
  /** Recorded in the database but unknown to this build: the database is newer than the code. */
  unknown: string[];
  /** Started but never finished (a failed migration), as Prisma records them. */
  failed: string[];
}

/** Same key as `prisma migrate`, so our start-up and Prisma's CLI exclude each other too. */
const ADVISORY_LOCK_KEY = 72707369;

export const MIGRATIONS_DIR = path.resolve(__dirname, '..', '..', 'prisma', 'migrations');

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(dir, name, 'migration.sql'), 'utf8');
      // Prisma's checksum: sha256 of the migration script.
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

const CREATE_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

interface Row {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

async function recordedRows(session: SqlSession): Promise<Row[]> {
  const exists = await session.query<{ t: string | null }>(`SELECT to_regclass('"_prisma_migrations"')::text AS t`);
  if (!exists[0]?.t) return [];
  return session.query<Row>(
    `SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at`,
  );
}

export async function migrationStatus(session: SqlSession, migrations?: Migration[]): Promise<MigrationStatus> {
  return statusOf(migrations ?? (await readMigrations()), await recordedRows(session));
}

function statusOf(known: Migration[], recorded: Row[]): MigrationStatus {
  const rows = recorded.filter((r) => r.rolled_back_at === null);
  const done = new Set(rows.filter((r) => r.finished_at !== null).map((r) => r.migration_name));
  const knownNames = new Set(known.map((m) => m.name));
  return {
    applied: known.filter((m) => done.has(m.name)).map((m) => m.name),
    pending: known.filter((m) => !done.has(m.name)).map((m) => m.name),
    unknown: [...done].filter((n) => !knownNames.has(n)),
    failed: rows.filter((r) => r.finished_at === null).map((r) => r.migration_name),
  };
}

/**
 * Applies pending migrations, each in its own transaction together with its `_prisma_migrations`
 * row, so a failure leaves neither half behind. Idempotent; concurrent callers serialize on an
 * advisory lock (the session must be a single dedicated connection for the lock to mean anything).
 */
export async function migrate(session: SqlSession, logger: Logger, migrations?: Migration[]): Promise<string[]> {
  const all = migrations ?? (await readMigrations());
  await session.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCK_KEY]);
  try {
    await session.exec(CREATE_TABLE);
    const rows = await recordedRows(session);
    const status = statusOf(all, rows);
    if (status.failed.length > 0) {
      throw new Error(
        `migration ${status.failed.join(', ')} was started and never finished; repair the database, then mark it rolled back in "_prisma_migrations"`,
      );
    }
    if (status.unknown.length > 0) {
      logger.warn(
        { unknown: status.unknown },
        'the database has migrations this build does not know: it is newer than the code',
      );
    }
    for (const m of all) {
      const row = rows.find((r) => r.migration_name === m.name && r.finished_at !== null && r.rolled_back_at === null);
      if (row && row.checksum !== m.checksum) {
        logger.warn({ migration: m.name }, 'migration file changed after it was applied; it is not applied again');
      }
    }
    const applied: string[] = [];
    for (const name of status.pending) {
      const m = all.find((x) => x.name === name)!;
      const started = new Date();
      await session.transaction(async (tx) => {
        await tx.exec(m.sql);
        await tx.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, started_at, applied_steps_count)
           VALUES ($1, $2, now(), $3, $4, 1)`,
          [randomUUID(), m.checksum, m.name, started],
        );
      });
      logger.info({ migration: m.name }, 'applied migration');
      applied.push(m.name);
    }
    return applied;
  } finally {
    await session.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCK_KEY]);
  }
}
