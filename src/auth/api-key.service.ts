import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { badInput, notFound, unauthenticated } from '../common/errors';
import type { Logger } from '../common/logger';
import { ROLES, type Role } from '../config/config';
import { requireRole, type Actor } from './actor';
import type { ApiKeyRecord, ApiKeyRepository } from './api-key.repository';

const scrypt = (password: string, salt: Buffer, keylen: number, options: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))));

const SCRYPT = { N: 16384, r: 8, p: 1 } as const;
const PREFIX_LENGTH = 12;
const CACHE_TTL_MS = 60_000;
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
  const actual = await scrypt(key, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p) });
  return timingSafeEqual(actual, expected);
}

export interface CreatedApiKey {
  /** The secret: shown once, never stored. */
  key: string;
  apiKey: ApiKeyRecord;
}

/** API keys: scrypt-hashed at rest, found by a clear prefix, verified results cached briefly. */
export class ApiKeyService {
  private readonly cache = new Map<string, { actor: Actor; id: number; expires: number }>();
  private readonly touched = new Map<number, number>();

  constructor(
    private readonly repo: ApiKeyRepository,
    private readonly logger: Logger,
  ) {}

  async create(actor: Actor, name: string, role: string): Promise<CreatedApiKey> {
    requireRole(actor, 'admin', 'creating API keys');
    return this.createUnchecked(name, role);
  }

  private async createUnchecked(name: string, role: string, key = `mg_${randomBytes(24).toString('base64url')}`): Promise<CreatedApiKey> {
    if (!NAME.test(name)) throw badInput(`invalid key name "${name}": use letters, digits, ".", "_" or "-" (at most 64)`);
    if (!(ROLES as readonly string[]).includes(role)) throw badInput(`invalid role "${role}": one of ${ROLES.join(', ')}`);
    const apiKey = await this.repo.create({ name, role: role as Role, prefix: key.slice(0, PREFIX_LENGTH), hash: await hashKey(key) });
    return { key, apiKey };
  }

  async list(actor: Actor): Promise<ApiKeyRecord[]> {
    requireRole(actor, 'admin', 'listing API keys');
    return this.repo.list();
  }

  async revoke(actor: Actor, name: string): Promise<ApiKeyRecord> {
    requireRole(actor, 'admin', 'revoking API keys');
    const found = await this.repo.findByName(name);
    if (!found) throw notFound(`no API key named "${name}"`);
    if (found.revokedAt) return found;
    const revoked = await this.repo.revoke(found.id);
    for (const [k, v] of this.cache) if (v.id === found.id) this.cache.delete(k);
    return revoked;
  }

  /** Resolves a presented key to an actor; a wrong, unknown or revoked key is UNAUTHENTICATED. */
  async authenticate(key: string): Promise<Actor> {
    const cacheKey = createHash('sha256').update(key).digest('hex');
    const hit = this.cache.get(cacheKey);
    const now = Date.now();
    if (hit && hit.expires > now) {
      this.touch(hit.id, now);
      return hit.actor;
    }
    const row = key.length >= PREFIX_LENGTH ? await this.repo.findByPrefix(key.slice(0, PREFIX_LENGTH)) : null;
    if (!row || row.revokedAt || !(await verifyKey(key, row.hash))) {
      throw unauthenticated(row?.revokedAt ? 'the API key was revoked' : 'invalid API key');
    }
    const actor: Actor = { name: row.name, kind: 'key', role: row.role };
    this.cache.set(cacheKey, { actor, id: row.id, expires: now + CACHE_TTL_MS });
    this.touch(row.id, now);
    return actor;
  }

  /**
   * First start: with no keys at all, create an admin key (ADMIN_API_KEY's value when set) and
   * return the secret so the caller can print it once. An ADMIN_API_KEY unknown to a non-empty
   * store is added too, so deployments can rotate it through the environment.
   */
  async bootstrap(adminApiKey: string | undefined): Promise<CreatedApiKey | null> {
    if (adminApiKey) {
      const existing = await this.repo.findByPrefix(adminApiKey.slice(0, PREFIX_LENGTH));
      if (existing) return null;
      const name = (await this.repo.findByName('admin')) ? `admin-env-${Date.now()}` : 'admin';
      const created = await this.createUnchecked(name, 'admin', adminApiKey);
      return { ...created, key: '(from ADMIN_API_KEY)' };
    }
    if ((await this.repo.count()) > 0) return null;
    return this.createUnchecked('admin', 'admin');
  }

  private touch(id: number, now: number): void {
    if ((this.touched.get(id) ?? 0) + TOUCH_EVERY_MS > now) return;
    this.touched.set(id, now);
    this.repo.touch(id).catch((err) => this.logger.warn({ err }, 'could not record API key use'));
  }
}
