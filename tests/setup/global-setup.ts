import { createHash } from 'node:crypto';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import pino from 'pino';
import { openDatabase } from '../../src/db/database';
import { readMigrations } from '../../src/db/migrator';
import { adminUrl, databaseUrl, shownAdminUrl } from '../helpers/postgres';

/**
 * Migrates one database per project, once per run: a PGlite snapshot (a tarball each test file
 * restores in memory) or a PostgreSQL template database (each test file gets a copy).
 */
export async function globalSetup(kind: 'pglite' | 'postgres'): Promise<void> {
  const logger = pino({ level: 'silent' });
  const migrations = await readMigrations();
  const key = createHash('sha256')
    .update(migrations.map((m) => `${m.name}:${m.checksum}`).join())
    .digest('hex')
    .slice(0, 12);
  if (kind === 'pglite') {
    const snapshot = path.join(os.tmpdir(), `modelgate-test-pglite-${key}.tar`);
    if (!existsSync(snapshot)) {
      const pglite = await PGlite.create();
      const db = await openDatabase({ databaseUrl: undefined, dataDir: os.tmpdir(), logger, pglite });
      const blob = await pglite.dumpDataDir('none');
      await db.close();
      writeFileSync(`${snapshot}.${process.pid}`, Buffer.from(await blob.arrayBuffer()));
      renameSync(`${snapshot}.${process.pid}`, snapshot);
    }
    process.env.MODELGATE_TEST_PGLITE_SNAPSHOT = snapshot;
  } else {
    const admin = await connectAdmin();
    if (!admin) return;
    const runId = `${Date.now().toString(36)}${process.pid}`;
    const template = `modelgate_tpl_${runId}`;
    try {
      await admin.query(`CREATE DATABASE "${template}"`);
    } finally {
      await admin.end();
    }
    const db = await openDatabase({ databaseUrl: databaseUrl(template), dataDir: os.tmpdir(), logger });
    await db.close();
    process.env.MODELGATE_TEST_RUN = runId;
    process.env.MODELGATE_TEST_TEMPLATE = template;
  }
}

/** Errors that mean no server answered at all (as opposed to one that answered and refused). */
const NO_SERVER = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ENOENT',
]);

function noServer(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  const message = (e as Error).message ?? '';
  // AggregateError (every address of a host refused) carries the code too; pg's own connect timeout has none.
  return (code !== undefined && NO_SERVER.has(code)) || /connection timeout|timeout expired/i.test(message);
}

/**
 * MODELGATE_TEST_POSTGRES: `auto` (default) runs the postgres project when a server answers at
 * TEST_PG_ADMIN_URL and skips it otherwise; `required` makes a missing server an error (CI);
 * `off` skips it without trying. A skipped project's tests are reported as skipped (see
 * postgres-environment.ts) and global-teardown.ts says why, once, under jest's summary.
 */
async function connectAdmin(): Promise<pg.Client | null> {
  const mode = (process.env.MODELGATE_TEST_POSTGRES ?? '').trim() || 'auto';
  if (!['auto', 'required', 'off'].includes(mode))
    throw new Error(`MODELGATE_TEST_POSTGRES must be auto, required or off, not "${mode}"`);
  delete process.env.MODELGATE_TEST_POSTGRES_SKIPPED;
  if (mode === 'off') {
    process.env.MODELGATE_TEST_POSTGRES_SKIPPED =
      `The postgres test project was SKIPPED (MODELGATE_TEST_POSTGRES=off): its tests are reported ` +
      `as skipped, and nothing was tested against PostgreSQL. Unset MODELGATE_TEST_POSTGRES to run them ` +
      `when a server answers at ${shownAdminUrl()} (TEST_PG_ADMIN_URL), or set it to required.`;
    return null;
  }
  const admin = new pg.Client({ connectionString: adminUrl(), connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
    return admin;
  } catch (e) {
    await admin.end().catch(() => undefined);
    const reason = (e as Error).message || String((e as NodeJS.ErrnoException).code ?? e);
    if (mode === 'auto' && noServer(e)) {
      const howTo =
        `To run them, start PostgreSQL at ${shownAdminUrl()} or set TEST_PG_ADMIN_URL to a server's ` +
        `maintenance database (a role that may create databases); MODELGATE_TEST_POSTGRES=required ` +
        `makes a missing server an error (CI sets it), MODELGATE_TEST_POSTGRES=off skips without looking.`;
      process.env.MODELGATE_TEST_POSTGRES_SKIPPED =
        `The postgres test project was SKIPPED: no PostgreSQL server answered at ${shownAdminUrl()} ` +
        `(${reason}), so its tests are reported as skipped, and nothing was tested against PostgreSQL. ${howTo}`;
      return null;
    }
    const what = noServer(e) ? 'no PostgreSQL server answered' : 'the PostgreSQL server refused the connection';
    throw new Error(
      `the postgres test project needs a PostgreSQL server at ${shownAdminUrl()}, and ${what}: ${reason}. ` +
        (mode === 'required'
          ? `MODELGATE_TEST_POSTGRES=required makes this an error; unset it (or set it to auto) to skip the project instead.`
          : `Fix TEST_PG_ADMIN_URL, or set MODELGATE_TEST_POSTGRES=off to skip the project.`),
      { cause: e },
    );
  }
}
