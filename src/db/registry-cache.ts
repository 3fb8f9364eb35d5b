import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { Logger } from '../common/logger';

/** The channel the migration 20261126140000_registry_changes notifies on. */
export const REGISTRY_CHANNEL = 'modelgate_registry';

/** Whether the migration that installs the change triggers has run on this database. */
const TRIGGERS_INSTALLED = `SELECT to_regproc('modelgate_registry_changed') IS NOT NULL AS "ok"`;
const NO_TRIGGERS =
  'the registry change triggers are not installed (pending migrations?): the registry cache stays off';

/** application_name of the PostgreSQL connection that listens. */
export const LISTENER_NAME = 'modelgate-registry-listener';

/** Prisma models whose rows requests resolve on every call: the tables with change triggers. */
export const WATCHED_MODELS: ReadonlySet<string> = new Set([
  'ApiKey',
  'Model',
  'ModelVersion',
  'Alias',
  'Experiment',
  'ExperimentArm',
]);

/**
 * What a cache needs to know about changes to the watched tables: a generation that moves on every
 * change committed by any process, and whether changes are being seen at all.
 */
export interface ChangeFeed {
  readonly generation: number;
  /** False while nothing vouches for the changes (no listening connection): caches must not serve. */
  readonly live: boolean;
}

export class RegistryChangeFeed implements ChangeFeed {
  generation = 0;
  live = false;

  changed(): void {
    this.generation++;
  }

  setLive(live: boolean): void {
    this.live = live;
    // Whatever was read before (or while not) listening may be stale.
    this.generation++;
  }
}

/**
 * Embedded database: one process owns it (the data-directory lock), and PGlite delivers a
 * notification synchronously when the transaction that caused it commits.
 */
export async function listenEmbedded(
  pglite: PGlite,
  feed: RegistryChangeFeed,
  logger: Logger,
): Promise<() => Promise<void>> {
  const unlisten = await pglite.listen(REGISTRY_CHANNEL, () => feed.changed());
  const [installed] = (await pglite.query<{ ok: boolean }>(TRIGGERS_INSTALLED)).rows;
  if (installed?.ok) feed.setLive(true);
  else logger.warn(NO_TRIGGERS);
  return async () => {
    feed.setLive(false);
    if (!pglite.closed) await unlisten();
  };
}

/**
 * PostgreSQL server: a dedicated connection LISTENs; notifications from other gateways arrive within
 * milliseconds of their commit. While the connection is down the feed is not live (caches bypassed)
 * and it reconnects with backoff.
 */
export async function listenServer(
  url: string,
  feed: RegistryChangeFeed,
  logger: Logger,
  opts: { queryTimeoutMs?: number; connectTimeoutMs?: number; heartbeatMs?: number } = {},
): Promise<() => Promise<void>> {
  let closed = false;
  let current: pg.Client | null = null;
  let timer: NodeJS.Timeout | undefined;
  // A connection can also fail silently (a frozen server, a half-open socket): it is probed, and a
  // probe that does not answer in time counts as the connection lost.
  const heartbeat = setInterval(() => {
    const client = current;
    if (client && feed.live) client.query('SELECT 1').catch((err: Error) => lost(client, err));
  }, opts.heartbeatMs ?? 2000);
  heartbeat.unref();
  let delayMs = 250;
  /** When the connection was lost (Date.now()), until it is back: its return is logged too. */
  let lostAt: number | null = null;

  const lost = (client: pg.Client, err?: Error) => {
    if (current !== client) return;
    current = null;
    feed.setLive(false);
    lostAt ??= Date.now();
    client.end().catch(() => undefined);
    if (closed) return;
    logger.warn(
      { err, retryInMs: delayMs },
      'registry change notifications lost: caches are bypassed until they are back',
    );
    timer = setTimeout(() => void connect(), delayMs);
    timer.unref();
    delayMs = Math.min(delayMs * 2, 30_000);
  };

  const connect = async (): Promise<void> => {
    // Named, so that operators can tell it apart in pg_stat_activity.
    const client = new pg.Client({
      connectionString: url,
      application_name: LISTENER_NAME,
      query_timeout: opts.queryTimeoutMs ?? 3000,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
      keepAlive: true,
    });
    client.on('notification', () => feed.changed());
    client.on('error', (err) => lost(client, err));
    client.on('end', () => lost(client));
    current = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${REGISTRY_CHANNEL}`);
      const { rows } = await client.query<{ ok: boolean }>(TRIGGERS_INSTALLED);
      if (!rows[0]?.ok) {
        logger.warn(NO_TRIGGERS);
        current = null;
        await client.end().catch(() => undefined);
        return;
      }
    } catch (err) {
      lost(client, err as Error);
      return;
    }
    // Closed (or lost) meanwhile: close() and lost() have ended this client already.
    if (current !== client) return;
    delayMs = 250;
    feed.setLive(true);
    if (lostAt !== null) {
      logger.info({ downMs: Date.now() - lostAt }, 'registry change notifications are back: caches are used again');
      lostAt = null;
    }
  };

  await connect();
  return async () => {
    closed = true;
    clearTimeout(timer);
    clearInterval(heartbeat);
    const client = current;
    current = null;
    feed.setLive(false);
    if (client) await client.end().catch(() => undefined);
  };
}

/** The value and the objects it holds directly (a record, or a model and a version). */
function freeze<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  for (const inner of Object.values(value)) if (inner !== null && typeof inner === 'object') Object.freeze(inner);
  return Object.freeze(value);
}

/**
 * Lookups memoized until the next registry change: an entry is stored only if no change was seen
 * while it was read, and nothing is served while the feed is not live. Values are shared between
 * requests, so they are frozen.
 */
export class RegistryCache {
  private readonly entries = new Map<string, unknown>();
  private generation = -1;

  constructor(
    private readonly feed: ChangeFeed,
    private readonly maxEntries = 10_000,
  ) {}

  /** `keep` decides which results are worth storing (a miss for an unknown key is not). */
  async get<T>(key: string, load: () => Promise<T>, keep: (value: T) => boolean = () => true): Promise<T> {
    const { feed } = this;
    if (!feed.live) return load();
    if (this.generation !== feed.generation) {
      this.entries.clear();
      this.generation = feed.generation;
    }
    if (this.entries.has(key)) return this.entries.get(key) as T;
    const before = feed.generation;
    const value = await load();
    // The generation only grows: unchanged means nothing was cleared or changed meanwhile.
    if (feed.live && feed.generation === before && keep(value)) {
      if (this.entries.size >= this.maxEntries) this.entries.clear();
      this.entries.set(key, freeze(value));
    }
    return value;
  }
}
