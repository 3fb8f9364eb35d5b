import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { ApolloServer } from '@apollo/server';
import pg from 'pg';
import pino from 'pino';
import { createApp, type App, type AppOptions } from '../../src/app';
import type { Actor } from '../../src/auth/actor';
import { loadConfig, type Config } from '../../src/config/config';
import { createApolloServer } from '../../src/graphql/apollo';
import { createContext, type GraphQLContext } from '../../src/graphql/context';
import { adminUrl, databaseUrl } from './postgres';

export const FIXTURES = path.resolve(__dirname, '..', 'fixtures');
export const fixture = (name: string) => path.join(FIXTURES, name);

export type DbKind = 'pglite' | 'postgres';
export const dbKind = (): DbKind => (process.env.TEST_DB === 'postgres' ? 'postgres' : 'pglite');

export interface GqlResult<T = Record<string, any>> {
  data?: T | null;
  errors?: { message: string; path?: readonly (string | number)[]; extensions?: Record<string, any> }[];
}

export interface TestApp {
  app: App;
  config: Config;
  dataDir: string;
  /** Keys of each role, created fresh for this app. */
  keys: { viewer: string; operator: string; admin: string };
  /** Runs an operation as the holder of `key` (none: anonymous), through the real Apollo server. */
  gql<T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    key?: string | null,
  ): Promise<GqlResult<T>>;
  /** Runs an operation as the local CLI user (admin). */
  gqlAs<T = Record<string, any>>(
    actor: Actor,
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<GqlResult<T>>;
  /** Stops the app and deletes its data directory and database, unless `keep` (to reopen them). */
  close(opts?: { keep?: boolean }): Promise<void>;
}

export interface TestAppOptions extends AppOptions {
  config?: Partial<Config>;
  /** Keep data between close and a later createTestApp({ reuse }): tests of restarts. */
  reuse?: { dataDir: string; databaseUrl?: string | undefined };
  /** Open the PGlite data directory from disk rather than an in-memory snapshot. */
  pgliteOnDisk?: boolean;
}

let counter = 0;

async function freshPostgresDatabase(): Promise<string> {
  const name = `modelgate_t_${process.env.MODELGATE_TEST_RUN}_${process.pid}_${counter++}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${process.env.MODELGATE_TEST_TEMPLATE}"`);
        break;
      } catch (e) {
        // Concurrent copies of one template can collide ("source database is being accessed").
        if (attempt >= 20) throw e;
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
      }
    }
  } finally {
    await admin.end();
  }
  return name;
}

async function dropPostgresDatabase(name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** A fully wired app on a fresh, migrated database of the project's kind, with its own DATA_DIR. */
export async function createTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = opts.reuse?.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'modelgate-test-'));
  let url = opts.reuse?.databaseUrl;
  let pglite: PGlite | undefined;
  if (dbKind() === 'postgres' && !url) {
    url = databaseUrl(await freshPostgresDatabase());
  }
  if (dbKind() === 'pglite' && !opts.reuse && !opts.pgliteOnDisk) {
    const snapshot = readFileSync(process.env.MODELGATE_TEST_PGLITE_SNAPSHOT!);
    pglite = await PGlite.create({ loadDataDir: new Blob([snapshot]) });
  }
  // Tests read fixtures from the repository and build projects under the temporary folder.
  const importRoots = [path.resolve(__dirname, '..', '..'), os.tmpdir()];
  const config = loadConfig(
    {
      NODE_ENV: 'test',
      DATA_DIR: dataDir,
      IMPORT_ROOTS: importRoots.join(','),
      // Two jest workers share the cores: onnxruntime's threads spinning while idle would take them from the other.
      INFERENCE_SPINNING: 'false',
      // Speed is measured for real, over fewer milliseconds: tests check its presence, never its value.
      SPEED_MEASURE_MS: '50',
      ...(url ? { DATABASE_URL: url } : {}),
    },
    opts.config,
  );
  const logger = opts.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const app = await createApp(config, {
    ...opts,
    logger,
    database: { ...opts.database, ...(pglite ? { pglite } : {}) },
  });
  const local = app.localActor();
  const suffix = counter++;
  const make = async (role: 'viewer' | 'operator' | 'admin') =>
    (await app.services.apiKeys.create(local, `test-${role}-${suffix}`, role)).key;
  const keys = { viewer: await make('viewer'), operator: await make('operator'), admin: await make('admin') };
  const apollo: ApolloServer<GraphQLContext> = createApolloServer(app);
  await apollo.start();

  const run = async <T>(
    actor: Actor,
    query: string,
    variables: Record<string, unknown> = {},
  ): Promise<GqlResult<T>> => {
    const res = await apollo.executeOperation(
      { query, variables },
      { contextValue: createContext(app, actor, randomUUID()) },
    );
    if (res.body.kind !== 'single') throw new Error('incremental response');
    return JSON.parse(JSON.stringify(res.body.singleResult)) as GqlResult<T>;
  };
  let closed = false;
  return {
    app,
    config,
    dataDir,
    keys,
    gql: async (query, variables, key) =>
      run(await app.authenticate(key ? `Bearer ${key}` : undefined), query, variables),
    gqlAs: (actor, query, variables) => run(actor, query, variables),
    close: async ({ keep = false } = {}) => {
      if (closed) return;
      closed = true;
      await apollo.stop();
      await app.close();
      if (!keep) {
        rmSync(dataDir, { recursive: true, force: true });
        if (config.databaseUrl) await dropPostgresDatabase(new URL(config.databaseUrl).pathname.slice(1));
      }
    },
  };
}

/** Asserts a GraphQL result failed with `code` and returns the first error. */
export function expectError(result: GqlResult, code: string) {
  if (!result.errors?.length) throw new Error(`expected a ${code} error, got data ${JSON.stringify(result.data)}`);
  const error = result.errors[0]!;
  if (error.extensions?.code !== code)
    throw new Error(`expected ${code}, got ${error.extensions?.code}: ${error.message}`);
  return error;
}

/** Asserts a GraphQL result succeeded and returns its data. */
export function expectData<T>(result: GqlResult<T>): T {
  if (result.errors?.length) throw new Error(`unexpected errors: ${JSON.stringify(result.errors)}`);
  return result.data as T;
}

export const GRAY_MODEL = {
  name: 'gray',
  labels: ['circle', 'square', 'triangle'],
  inputSpec: { width: 8, height: 8, channels: 1, mean: [0.5], std: [0.25] },
};

/** The gray 8x8 model with its v1, registered by the local admin: what most HTTP-level tests serve. */
export async function registerGray(t: TestApp): Promise<void> {
  const admin = t.app.localActor();
  await t.app.services.models.register(admin, GRAY_MODEL);
  await t.app.services.versions.register(admin, { model: 'gray', artifactPath: fixture('gray8x8-3class.onnx') });
}

/**
 * gray v1 (on "baseline" and "champion") and v2 (a batch-1 graph of other weights: make_fixtures.py
 * seeds them 1 and 3): two arms for experiment tests, whose feedback judges each arm's own answer.
 */
export async function grayWithTwoVersions(t: TestApp): Promise<void> {
  const admin = t.app.localActor();
  await t.app.services.models.register(admin, GRAY_MODEL);
  await t.app.services.versions.register(admin, { model: 'gray', artifactPath: fixture('gray8x8-3class.onnx') });
  await t.app.services.versions.register(admin, { model: 'gray', artifactPath: fixture('gray8x8-3class-batch1.onnx') });
  await t.app.services.aliases.set(admin, 'gray', 'baseline', 1);
  await t.app.services.aliases.set(admin, 'gray', 'champion', 1);
}
