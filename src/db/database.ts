import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import pg from 'pg';
import type { Logger } from '../common/logger';
import { PrismaClient } from './generated/client';
import { migrate, migrationStatus, type MigrationStatus, type SqlSession } from './migrator';
import { acquireDataDirLock } from './pglite-lock';
import { listenEmbedded, listenServer, RegistryChangeFeed, WATCHED_MODELS, type ChangeFeed } from './registry-cache';

export type Prisma = PrismaClient;

export interface DatabaseOptions {
  /** A postgresql:// URL, or undefined for the embedded database under dataDir. */
  databaseUrl: string | undefined;
  dataDir: string;
  logger: Logger;
  /** Apply pending migrations on open (the default). */
  migrate?: boolean;
  /** Called for every SQL statement Prisma sends (tests count queries with it). */
  onQuery?: (sql: string) => void;
  /** Test seam: an already-open PGlite instance (for example restored from a snapshot). */
  pglite?: PGlite;
  /** PostgreSQL server only: statement and connection timeouts (a frozen server fails requests, not hangs them). */
  timeouts?: { queryMs: number; connectMs: number };
}

export interface Database {
  readonly kind: 'pglite' | 'postgresql';
  /** Human-readable location, without credentials. */
  readonly location: string;
  readonly prisma: Prisma;
  /** Changes to API keys, models, versions and aliases, committed by this or any other process. */
  readonly changes: ChangeFeed;
  /**
   * Embedded database only: appends rows to a table with one COPY (text format; null is SQL NULL),
   * bypassing Prisma. For append-only logs written at request rate, where an INSERT through Prisma
   * costs the gateway's thread about twice as much per row (bench:experiments).
   */
  readonly copyRows?: CopyRows;
  ping(): Promise<void>;
  migrationStatus(): Promise<MigrationStatus>;
  close(): Promise<void>;
}

/** A migrator session over a PGlite instance (or one of its transactions). */
export function pgliteSession(db: PGlite | Parameters<Parameters<PGlite['transaction']>[0]>[0]): SqlSession {
  return {
    query: async <T>(sql: string, params?: unknown[]) => (await db.query<T>(sql, params)).rows,
    exec: async (sql) => {
      await db.exec(sql);
    },
    transaction: (fn) => {
      if (!('transaction' in db)) throw new Error('nested transaction');
      return db.transaction((tx) => fn(pgliteSession(tx)));
    },
  };
}

/** A migrator session over one dedicated PostgreSQL connection. */
export function pgSession(client: pg.Client): SqlSession {
  const session: SqlSession = {
    query: async <T>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as T[],
    exec: async (sql) => {
      await client.query(sql);
    },
    transaction: async (fn) => {
      await client.query('BEGIN');
      try {
        const result = await fn(session);
        await client.query('COMMIT');
        return result;
      } catch (e) {
        await client.query('ROLLBACK');
        throw e;
      }
    },
  };
  return session;
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgresql://(unparseable)';
  }
}

type AdapterFactory = NonNullable<ConstructorParameters<typeof PrismaClient>[0]['adapter']>;

// PGlite runs one transaction at a time: under load, transactions queue for longer than Prisma's
// default 2 s wait. Registry transactions are short, so a generous wait costs nothing.
const transactionOptions = { maxWait: 30_000, timeout: 60_000 };

const WRITES = new Set([
  'create',
  'createMany',
  'createManyAndReturn',
  'update',
  'updateMany',
  'updateManyAndReturn',
  'upsert',
  'delete',
  'deleteMany',
]);

/** As the change triggers see it: recording an API key's use is not a change. */
function isChange(model: string, operation: string, args: unknown): boolean {
  if (!WRITES.has(operation) || !WATCHED_MODELS.has(model)) return false;
  const data = (args as { data?: object } | undefined)?.data;
  const only = (columns: string[]) => data && Object.keys(data).every((k) => columns.includes(k));
  if (operation === 'update' || operation === 'updateMany') {
    if (model === 'ApiKey' && only(['lastUsedAt'])) return false;
    // Routing reads an experiment's status and its arms' versions, weights and activity; the test's
    // running figures are not a change (the triggers skip them too).
    if (model === 'Experiment' && data && !('status' in data)) return false;
    if (model === 'ExperimentArm' && data && !['active', 'weight', 'versionId'].some((k) => k in data)) return false;
  }
  return true;
}

/**
 * `ownWrites`: a PostgreSQL server's notifications arrive asynchronously, so this process's own
 * writes move the feed as soon as they return, and its next request sees them without waiting for
 * the notification (PGlite delivers it at commit, before the write returns: no need there).
 */
function prismaClient(
  adapter: AdapterFactory,
  onQuery?: (sql: string) => void,
  ownWrites?: RegistryChangeFeed,
): PrismaClient {
  const client = onQuery
    ? new PrismaClient({ adapter, transactionOptions, log: [{ emit: 'event', level: 'query' }] })
    : new PrismaClient({ adapter, transactionOptions });
  if (onQuery) (client as unknown as PrismaClient<'query'>).$on('query', (e) => onQuery(e.query));
  if (!ownWrites) return client as unknown as PrismaClient;
  const extended = client.$extends({
    query: {
      $allModels: {
        async $allOperations({ model, operation, args, query }) {
          try {
            return await query(args);
          } finally {
            if (isChange(model, operation, args)) ownWrites.changed();
          }
        },
      },
    },
  });
  return extended as unknown as PrismaClient;
}

export type CopyRows = (table: string, columns: readonly string[], rows: (string | null)[][]) => Promise<void>;

const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_ESCAPE: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A value in COPY's text format: backslash escapes for the characters that delimit rows and fields. */
function copyText(v: string | null): string {
  if (v == null) return '\\N';
  // Most values (ids, numbers, times) need no escape; testing first costs less than replacing.
  return COPY_SPECIAL.test(v) ? v.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPE[c]!) : v;
}

/** COPY FROM PGlite's /dev/blob: PostgreSQL parses the rows itself, on the same single connection. */
function pgliteCopy(pglite: PGlite): CopyRows {
  return async (table, columns, rows) => {
    if (!rows.length) return;
    const body = rows.map((r) => r.map(copyText).join('\t')).join('\n') + '\n';
    const cols = columns.map((c) => `"${c}"`).join(', ');
    await pglite.query(`COPY "${table}" (${cols}) FROM '/dev/blob'`, [], { blob: new Blob([body]) });
  };
}

/** Opens the embedded database (no URL) or a PostgreSQL server, migrated unless told otherwise. */
export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  return opts.databaseUrl ? openServer(opts, opts.databaseUrl) : openEmbedded(opts);
}

async function openEmbedded(opts: DatabaseOptions): Promise<Database> {
  const dir = path.join(opts.dataDir, 'pglite');
  const release = opts.pglite ? () => undefined : acquireDataDirLock(opts.dataDir);
  let pglite: PGlite;
  try {
    pglite = opts.pglite ?? (await PGlite.create(dir));
  } catch (e) {
    release();
    throw e;
  }
  const session = pgliteSession(pglite);
  try {
    if (opts.migrate !== false) await migrate(session, opts.logger);
  } catch (e) {
    await pglite.close();
    release();
    throw e;
  }
  const feed = new RegistryChangeFeed();
  const prisma = prismaClient(new PrismaPGlite(pglite), opts.onQuery);
  const unlisten = await listenEmbedded(pglite, feed, opts.logger);
  return {
    kind: 'pglite',
    location: opts.pglite ? 'pglite (provided instance)' : dir,
    prisma,
    changes: feed,
    copyRows: pgliteCopy(pglite),
    ping: async () => {
      await pglite.query('SELECT 1');
    },
    migrationStatus: () => migrationStatus(session),
    close: async () => {
      await unlisten();
      await prisma.$disconnect();
      if (!pglite.closed) await pglite.close();
      release();
    },
  };
}

async function openServer(opts: DatabaseOptions, url: string): Promise<Database> {
  // Migrations run on a dedicated connection: the advisory lock is per session.
  if (opts.migrate !== false) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await migrate(pgSession(client), opts.logger);
    } finally {
      await client.end();
    }
  }
  const t = opts.timeouts ?? { queryMs: 5_000, connectMs: 3_000 };
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    connectionTimeoutMillis: t.connectMs,
    // The server cancels a statement past its timeout; a server that does not answer at all is given up on a little later.
    statement_timeout: t.queryMs,
    query_timeout: t.queryMs + 500,
    keepAlive: true,
  });
  pool.on('error', (e) => opts.logger.error({ err: e }, 'idle PostgreSQL connection failed'));
  const feed = new RegistryChangeFeed();
  const prisma = prismaClient(new PrismaPg(pool), opts.onQuery, feed);
  const unlisten = await listenServer(url, feed, opts.logger, {
    queryTimeoutMs: Math.min(t.queryMs, 3000),
    connectTimeoutMs: t.connectMs,
  });
  const poolSession: SqlSession = {
    query: async <T>(sql: string, params?: unknown[]) => (await pool.query(sql, params)).rows as T[],
    exec: async (sql) => {
      await pool.query(sql);
    },
    transaction: () => Promise.reject(new Error('not supported on the pool')),
  };
  return {
    kind: 'postgresql',
    location: redactUrl(url),
    prisma,
    changes: feed,
    ping: async () => {
      await pool.query('SELECT 1');
    },
    migrationStatus: () => migrationStatus(poolSession),
    close: async () => {
      await unlisten();
      await prisma.$disconnect();
      await pool.end();
    },
  };
}
