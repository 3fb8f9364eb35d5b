import { createHash } from 'node:crypto';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import pino from 'pino';
import { openDatabase } from '../../src/db/database';
import { readMigrations } from '../../src/db/migrator';
import { adminUrl, databaseUrl } from '../helpers/postgres';

/**
 * Migrates one database per project, once per run: a PGlite snapshot (a tarball each test file
 * restores in memory) or a PostgreSQL template database (each test file gets a copy).
 */
export async function globalSetup(kind: 'pglite' | 'postgres'): Promise<void> {
  const logger = pino({ level: 'silent' });
  const migrations = await readMigrations();
  const key = createHash('sha256')
    .update(migrations.map((m) => m.checksum).join())
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
    const runId = `${Date.now().toString(36)}${process.pid}`;
    const template = `modelgate_tpl_${runId}`;
    const admin = new pg.Client({ connectionString: adminUrl() });
    try {
      await admin.connect();
    } catch (e) {
      throw new Error(
        `the postgres test project needs a PostgreSQL server at ${adminUrl()} (set TEST_PG_ADMIN_URL): ${(e as Error).message}`,
        { cause: e },
      );
    }
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
