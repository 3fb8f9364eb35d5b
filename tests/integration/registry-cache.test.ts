import os from 'node:os';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import pino from 'pino';
import { openDatabase } from '../../src/db/database';
import { LISTENER_NAME } from '../../src/db/registry-cache';
import { createTestApp, dbKind, fixture, GRAY_MODEL, type TestApp } from '../helpers/test-app';

/**
 * API keys and version references are cached per gateway until the registry changes: these tests
 * hold the cache to "a change is seen on the next request" for this gateway's own writes, and to
 * "a change committed anywhere else is seen once its notification arrives" (at commit on PGlite,
 * within milliseconds on a PostgreSQL server).
 */
describe(`the registry cache (${dbKind()})`, () => {
  let t: TestApp;
  let queries: string[] = [];
  const actor = () => t.app.localActor();
  const resolveChampion = async () =>
    (await t.app.services.versions.resolve(actor(), { model: 'cached', alias: 'champion' })).version.version;

  beforeAll(async () => {
    t = await createTestApp({ database: { onQuery: (sql) => queries.push(sql) } });
    await t.app.services.models.register(actor(), { ...GRAY_MODEL, name: 'cached' });
    for (let i = 0; i < 3; i++)
      await t.app.services.versions.register(actor(), {
        model: 'cached',
        artifactPath: fixture('gray8x8-3class.onnx'),
      });
    await t.app.services.aliases.set(actor(), 'cached', 'champion', 1);
  });
  afterAll(() => t.close());

  /** Runs `fn` and returns the SQL statements it sent. */
  async function sql(fn: () => Promise<unknown>): Promise<string[]> {
    queries = [];
    await fn();
    return queries;
  }

  /** Waits for what a change made elsewhere should bring: at once on PGlite, soon on a server. */
  async function eventually<T>(read: () => Promise<T>, expected: T): Promise<number> {
    const started = Date.now();
    for (;;) {
      const value = await read().catch((e: Error) => e.message as unknown as T);
      if (value === expected) return Date.now() - started;
      if (dbKind() === 'pglite') throw new Error(`PGlite should see the change at once, got ${String(value)}`);
      if (Date.now() - started > 5000) throw new Error(`still ${String(value)} after 5 s`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  it('answers a warm key check and version resolution without touching the database', async () => {
    // Twice: the notifications of the setup's own writes may still be on their way (PostgreSQL), and
    // the key's first use records lastUsedAt in the background.
    for (let i = 0; i < 2; i++) {
      await t.app.authenticate(`Bearer ${t.keys.viewer}`);
      await resolveChampion();
      await new Promise((r) => setTimeout(r, 50));
    }
    const sent = await sql(async () => {
      for (let i = 0; i < 20; i++) {
        await t.app.authenticate(`Bearer ${t.keys.viewer}`);
        expect(await resolveChampion()).toBe(1);
      }
    });
    expect(t.app.db.changes.live).toBe(true);
    expect(sent).toEqual([]);
  });

  it("sees this gateway's own alias moves and revocations on the very next request", async () => {
    await t.app.services.aliases.set(actor(), 'cached', 'champion', 2);
    expect(await resolveChampion()).toBe(2);
    const { key } = await t.app.services.apiKeys.create(actor(), 'soon-revoked', 'viewer');
    await expect(t.app.authenticate(`Bearer ${key}`)).resolves.toMatchObject({ name: 'soon-revoked' });
    await t.app.services.apiKeys.revoke(actor(), 'soon-revoked');
    await expect(t.app.authenticate(`Bearer ${key}`)).rejects.toThrow('the API key was revoked');
  });

  it('sees changes committed by another connection (another gateway, psql) through the change notifications', async () => {
    expect(await resolveChampion()).toBe(2);
    const { key } = await t.app.services.apiKeys.create(actor(), 'revoked-elsewhere', 'viewer');
    await t.app.authenticate(`Bearer ${key}`);
    // Plain SQL, not through this gateway's Prisma client: only the triggers can tell the cache.
    const other = dbKind() === 'postgres' ? new pg.Client({ connectionString: t.config.databaseUrl }) : null;
    await other?.connect();
    const exec = (statement: string) => (other ? other.query(statement) : t.app.db.prisma.$executeRawUnsafe(statement));
    try {
      await exec(`UPDATE "Alias" SET "versionId" = (SELECT id FROM "ModelVersion" WHERE version = 3 AND "modelId" = "Alias"."modelId")
                  WHERE name = 'champion' AND "modelId" = (SELECT id FROM "Model" WHERE name = 'cached')`);
      await eventually(resolveChampion, 3);
      await exec(`UPDATE "ApiKey" SET "revokedAt" = now() WHERE name = 'revoked-elsewhere'`);
      await eventually(async () => (await t.app.authenticate(`Bearer ${key}`)).name, 'the API key was revoked');
      // Recording a key's use is not a change: the cache of the others stays.
      await t.app.authenticate(`Bearer ${t.keys.viewer}`);
      await resolveChampion();
      await exec(`UPDATE "ApiKey" SET "lastUsedAt" = now()`);
      await new Promise((r) => setTimeout(r, 100));
      expect(await sql(resolveChampion)).toEqual([]);
    } finally {
      await other?.end();
    }
  });

  (dbKind() === 'postgres' ? it : it.skip)(
    'reads through to the database while its notification connection is down, and caches again once it is back',
    async () => {
      await resolveChampion();
      const admin = new pg.Client({ connectionString: t.config.databaseUrl });
      await admin.connect();
      try {
        const killed = await admin.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`,
          [LISTENER_NAME],
        );
        expect(killed.rowCount).toBe(1);
        const until = Date.now() + 5000;
        while (t.app.db.changes.live && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
        expect(t.app.db.changes.live).toBe(false);
        // A change while nobody listens must not be missed.
        await admin.query(`UPDATE "Alias" SET "versionId" = (SELECT id FROM "ModelVersion" WHERE version = 1 AND "modelId" = "Alias"."modelId")
                         WHERE name = 'champion' AND "modelId" = (SELECT id FROM "Model" WHERE name = 'cached')`);
        expect((await sql(resolveChampion)).length).toBeGreaterThan(0);
        expect(await resolveChampion()).toBe(1);
        const back = Date.now() + 10_000;
        while (!t.app.db.changes.live && Date.now() < back) await new Promise((r) => setTimeout(r, 20));
        expect(t.app.db.changes.live).toBe(true);
        await resolveChampion();
        expect(await sql(resolveChampion)).toEqual([]);
      } finally {
        await admin.end();
      }
    },
  );

  (dbKind() === 'postgres' ? it : it.skip)(
    'stops trusting a notification connection that stalls without failing (its heartbeat goes unanswered)',
    async () => {
      const { key } = await t.app.services.apiKeys.create(actor(), 'revoked-while-stalled', 'viewer');
      await t.app.authenticate(`Bearer ${key}`);
      const admin = new pg.Client({ connectionString: t.config.databaseUrl });
      await admin.connect();
      // The listener's server process is stopped, as a frozen server or a half-open socket would leave it.
      const { rows } = await admin.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`,
        [LISTENER_NAME],
      );
      expect(rows).toHaveLength(1);
      const pid = rows[0]!.pid;
      process.kill(pid, 'SIGSTOP');
      try {
        await admin.query(`UPDATE "ApiKey" SET "revokedAt" = now() WHERE name = 'revoked-while-stalled'`);
        // No notification can arrive; the unanswered heartbeat takes the cache out of service instead.
        const until = Date.now() + 15_000;
        while (t.app.db.changes.live && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
        expect(t.app.db.changes.live).toBe(false);
        await expect(t.app.authenticate(`Bearer ${key}`)).rejects.toThrow('the API key was revoked');
      } finally {
        process.kill(pid, 'SIGCONT');
        await admin.end();
      }
      const back = Date.now() + 15_000;
      while (!t.app.db.changes.live && Date.now() < back) await new Promise((r) => setTimeout(r, 50));
      expect(t.app.db.changes.live).toBe(true);
    },
    40_000,
  );

  // Last: on PostgreSQL it drops this database's triggers.
  it('stays off on a database without the change triggers (migrations not applied)', async () => {
    const logger = pino({ level: 'silent' });
    const common = { dataDir: os.tmpdir(), logger, migrate: false };
    if (dbKind() === 'postgres')
      await t.app.db.prisma.$executeRawUnsafe('DROP FUNCTION "modelgate_registry_changed"() CASCADE');
    const db =
      dbKind() === 'postgres'
        ? await openDatabase({ ...common, databaseUrl: t.config.databaseUrl })
        : await openDatabase({ ...common, databaseUrl: undefined, pglite: await PGlite.create() });
    try {
      expect(db.changes.live).toBe(false);
    } finally {
      await db.close();
    }
  });
});
