import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { badInput, DomainError, ErrorCode, notFound, rateLimited, unauthenticated } from '../common/errors';
import { Limiter } from '../common/limiter';
import { checkText } from '../common/text';
import { PAGES, pageSize } from '../common/paging';
import type { Logger } from '../common/logger';
import { ConfigError, ROLES, type Role } from '../config/config';
import { requireRole, type Actor } from './actor';
import type { RegistryCache } from '../db/registry-cache';
import type { ApiKeyRecord, ApiKeyRepository } from './api-key.repository';

const scrypt = (password: string, salt: Buffer, keylen: number, options: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) =>
    scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))),
  );

const SCRYPT = { N: 16384, r: 8, p: 1 } as const;
const PREFIX_LENGTH = 12;
const VERIFIED_CACHE_SIZE = 10_000;
/** scrypt runs on libuv's pool (4 threads): verifications beyond these wait, then are refused. */
const VERIFYING_AT_ONCE = 2;
const VERIFYING_WAITING = 32;
const TOUCH_EVERY_MS = 60_000;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

async function hashKey(key: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(key, salt, 32, SCRYPT);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64'), hash.toString('base64')].join('$');
}

async function verifyKey(key: string, stored: string): Promise<boolean> {
  const [alg, n, r, p, salt, hash] = stored.split('$');
  if (alg !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await scrypt(key, Buffer.from(salt, 'base64'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return timingSafeEqual(actual, expected);
}

export interface CreatedApiKey {
  /** The secret: shown once, never stored. */
  key: string;
  apiKey: ApiKeyRecord;
}

/** API keys: scrypt-hashed at rest, found by a clear prefix. */
export class ApiKeyService {
  /** sha256 of a presented key -> the stored hash it was verified against. */
  private readonly verified = new Map<string, string>();
  /** sha256 of a presented key -> the stored hash it failed against: the same wrong key is not verified twice. */
  private readonly rejected = new Map<string, string>();
  private readonly touched = new Map<number, number>();
  private readonly verifying = new Limiter(VERIFYING_AT_ONCE, VERIFYING_WAITING, 'API keys being verified');
  /** Verifications under way by presented key: a burst of requests with a new key costs one scrypt. */
  private readonly inFlight = new Map<string, Promise<boolean>>();

  constructor(
    private readonly repo: ApiKeyRepository,
    private readonly logger: Logger,
    private readonly cache: RegistryCache,
  ) {}

  async create(actor: Actor, name: string, role: string): Promise<CreatedApiKey> {
    requireRole(actor, 'admin', 'creating API keys');
    return this.createUnchecked(name, role);
  }

  private async createUnchecked(
    name: string,
    role: string,
    key = `mg_${randomBytes(24).toString('base64url')}`,
    fromEnv = false,
  ): Promise<CreatedApiKey> {
    if (!NAME.test(name))
      throw badInput(`invalid key name "${name}": use letters, digits, ".", "_" or "-" (at most 64)`);
    if (!(ROLES as readonly string[]).includes(role))
      throw badInput(`invalid role "${role}": one of ${ROLES.join(', ')}`);
    const apiKey = await this.repo.create({
      name,
      role: role as Role,
      prefix: key.slice(0, PREFIX_LENGTH),
      hash: await hashKey(key),
      fromEnv,
    });
    return { key, apiKey };
  }

  async list(actor: Actor, first?: number | null): Promise<ApiKeyRecord[]> {
    requireRole(actor, 'admin', 'listing API keys');
    return this.repo.list(pageSize(first, PAGES.apiKeys));
  }

  async revoke(actor: Actor, name: string): Promise<ApiKeyRecord> {
    requireRole(actor, 'admin', 'revoking API keys');
    const found = await this.repo.findByName(checkText('name', name));
    if (!found) throw notFound(`no API key named "${name}"`);
    if (found.revokedAt) return found;
    return this.repo.revoke(found.id);
  }

  /**
   * Resolves a presented key to an actor; a wrong, unknown or revoked key is UNAUTHENTICATED.
   * The row comes from the registry cache, which drops it when any process changes an API key (a
   * revocation or role change applies at once here, and within milliseconds on other gateways);
   * the (deliberately slow) scrypt check is cached against the stored hash.
   */
  async authenticate(key: string, opts: { verifyWait?: () => number } = {}): Promise<Actor> {
    const row = await this.verify(key, opts);
    return { name: row.name, kind: 'key', role: row.role };
  }

  /** The stored key a presented key is (see authenticate): UNAUTHENTICATED when wrong, unknown or revoked. */
  async verify(key: string, opts: { verifyWait?: () => number } = {}): Promise<ApiKeyRecord> {
    const row = key.length >= PREFIX_LENGTH ? await this.findByPrefix(key.slice(0, PREFIX_LENGTH)) : null;
    if (!row) throw unauthenticated('invalid API key');
    const cacheKey = createHash('sha256').update(key).digest('hex');
    if (this.verified.get(cacheKey) !== row.hash) {
      if (this.rejected.get(cacheKey) === row.hash) throw unauthenticated('invalid API key');
      // The caller's budget of (slow) verifications, e.g. per client address after failures.
      const wait = opts.verifyWait?.() ?? 0;
      if (wait > 0) throw rateLimited('too many failed authentications from this address; retry later', wait);
      let verification = this.inFlight.get(cacheKey);
      if (!verification) {
        verification = this.verifying.run(() => verifyKey(key, row.hash)).finally(() => this.inFlight.delete(cacheKey));
        this.inFlight.set(cacheKey, verification);
      }
      const ok = await verification;
      remember(ok ? this.verified : this.rejected, cacheKey, row.hash);
      if (!ok) throw unauthenticated('invalid API key');
    }
    if (row.revokedAt) throw unauthenticated('the API key was revoked');
    this.touch(row.id, Date.now());
    return row;
  }

  /**
   * First start: with no keys at all, create an admin key and return the secret so the caller can
   * print it once. ADMIN_API_KEY, when set, is registered as an admin key unless already stored,
   * and the key an earlier value registered is revoked (rotating the variable rotates the key);
   * a value that clashes with another key or was revoked stops the start with a clear error.
   * Gateways starting together on one database may race here: the loser finds the key made.
   */
  async bootstrap(adminApiKey: string | undefined): Promise<(CreatedApiKey & { revoked?: string[] }) | null> {
    if (adminApiKey) {
      const existing = await this.repo.findByPrefix(adminApiKey.slice(0, PREFIX_LENGTH));
      if (existing) {
        if (!(await verifyKey(adminApiKey, existing.hash))) {
          throw new ConfigError([
            {
              variable: 'ADMIN_API_KEY',
              message: `shares its first ${PREFIX_LENGTH} characters with the existing key "${existing.name}": choose another value`,
            },
          ]);
        }
        if (existing.revokedAt) {
          throw new ConfigError([
            { variable: 'ADMIN_API_KEY', message: `is the key "${existing.name}", which was revoked: set a new value` },
          ]);
        }
        const revoked = await this.repo.adoptEnvKey(existing.id);
        if (revoked.length) this.logger.warn({ revoked }, 'revoked the key(s) an earlier ADMIN_API_KEY registered');
        return null;
      }
      const name = (await this.repo.findByName('admin')) ? `admin-env-${Date.now()}` : 'admin';
      const created = await this.ignoreConflict(() => this.createUnchecked(name, 'admin', adminApiKey, true));
      if (!created) return null;
      const revoked = await this.repo.adoptEnvKey(created.apiKey.id);
      return { ...created, key: '(from ADMIN_API_KEY)', revoked };
    }
    if ((await this.repo.count()) > 0) return null;
    return this.ignoreConflict(() => this.createUnchecked('admin', 'admin'));
  }

  private async ignoreConflict(create: () => Promise<CreatedApiKey>): Promise<CreatedApiKey | null> {
    try {
      return await create();
    } catch (e) {
      if (e instanceof DomainError && e.code === ErrorCode.CONFLICT) return null;
      throw e;
    }
  }

  private findByPrefix(prefix: string): Promise<ApiKeyRecord | null> {
    // Unknown prefixes are not kept: guessing keys must not fill the cache.
    return this.cache.get(
      `apiKey\0${prefix}`,
      () => this.repo.findByPrefix(prefix),
      (row) => row !== null,
    );
  }

  /** Records a use of the key made another way (a browser session): lastUsedAt, at most once a minute. */
  recordUse(id: number, now = Date.now()): void {
    this.touch(id, now);
  }

  private touch(id: number, now: number): void {
    if ((this.touched.get(id) ?? 0) + TOUCH_EVERY_MS > now) return;
    this.touched.set(id, now);
    this.repo.touch(id).catch((err) => this.logger.warn({ err }, 'could not record API key use'));
  }
}

function remember(cache: Map<string, string>, key: string, hash: string): void {
  if (cache.size >= VERIFIED_CACHE_SIZE) cache.clear();
  cache.set(key, hash);
}
