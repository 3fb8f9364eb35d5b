import { createHash, randomBytes } from 'node:crypto';
import { unauthenticated } from '../common/errors';
import type { Logger } from '../common/logger';
import type { Role } from '../config/config';
import type { Actor } from './actor';
import type { ApiKeyService } from './api-key.service';
import type { SessionRepository, SessionWithKey } from './session.repository';

/** 32 random bytes, base64url: what the cookie carries. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;
/** lastSeenAt is written at most this often per session (sooner only with an idle limit under 4 minutes). */
const TOUCH_EVERY_MS = 60_000;
const USER_AGENT_CHARS = 256;
const TOUCHED_SIZE = 10_000;

/** Who a session belongs to and when it ends: what GET /auth/session answers. */
export interface SessionState {
  role: Role;
  keyName: string;
  /** The absolute end (SESSION_MAX_HOURS after sign-in). */
  expiresAt: Date;
  /** When it ends unless used before (SESSION_IDLE_MINUTES after its last recorded use), at most expiresAt. */
  idleExpiresAt: Date;
}

export interface SignedIn {
  /** The secret for the cookie: returned once, only its sha256 is stored. */
  token: string;
  session: SessionState;
  actor: Actor;
}

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * Browser sessions: an API key exchanged once for a random token (POST /auth/session), so that the
 * key never lives in a page. Sessions are rows in the database (they survive restarts and work on
 * every gateway) read on each request, never cached: a sign-out, an expiry or the key's revocation
 * applies on the very next request, on every gateway.
 */
export class SessionService {
  /** Session id -> when this process last recorded its use. */
  private readonly touched = new Map<number, number>();
  private readonly touchEveryMs: number;

  constructor(
    private readonly repo: SessionRepository,
    private readonly apiKeys: ApiKeyService,
    private readonly logger: Logger,
    private readonly limits: { readonly idleMs: number; readonly maxMs: number },
    private readonly now: () => number = Date.now,
  ) {
    this.touchEveryMs = Math.min(TOUCH_EVERY_MS, limits.idleMs / 4);
  }

  /** Verifies the key (UNAUTHENTICATED when wrong, unknown or revoked) and opens a session for it. */
  async signIn(key: string, opts: { verifyWait?: () => number; userAgent?: string } = {}): Promise<SignedIn> {
    const apiKey = await this.apiKeys.verify(key, { verifyWait: opts.verifyWait });
    const now = this.now();
    const token = randomBytes(32).toString('base64url');
    const row = await this.repo.create({
      tokenHash: hashToken(token),
      apiKeyId: apiKey.id,
      createdAt: new Date(now),
      expiresAt: new Date(now + this.limits.maxMs),
      userAgent: opts.userAgent ? opts.userAgent.slice(0, USER_AGENT_CHARS) : null,
    });
    // Sign-ins are rare: a good moment to drop the sessions that ended on their own.
    this.repo
      .deleteExpired(new Date(now), new Date(now - this.limits.idleMs))
      .catch((err) => this.logger.warn({ err }, 'could not delete expired sessions'));
    return {
      token,
      session: this.state({ ...row, apiKey }),
      actor: { name: apiKey.name, kind: 'key', role: apiKey.role, via: 'session' },
    };
  }

  /**
   * The actor behind a session token: UNAUTHENTICATED when the session is unknown, ended (signed
   * out, idle too long, past its absolute expiry) or its key was revoked. A use moves the idle
   * expiry on; it is recorded at most once a minute per session.
   */
  async authenticate(token: string): Promise<{ actor: Actor; session: SessionState }> {
    const ended = () =>
      unauthenticated('the session has ended (signed out, expired or its key revoked): sign in again');
    if (!TOKEN.test(token)) throw ended();
    const row = await this.repo.findByTokenHash(hashToken(token));
    if (!row) throw ended();
    const now = this.now();
    const state = this.state(row);
    if (row.apiKey.revokedAt || state.idleExpiresAt.getTime() <= now) {
      this.repo.deleteById(row.id).catch((err) => this.logger.warn({ err }, 'could not delete an ended session'));
      this.touched.delete(row.id);
      throw ended();
    }
    if (now - Math.max(row.lastSeenAt.getTime(), this.touched.get(row.id) ?? 0) >= this.touchEveryMs) {
      if (this.touched.size >= TOUCHED_SIZE) this.touched.clear();
      this.touched.set(row.id, now);
      this.apiKeys.recordUse(row.apiKey.id, now);
      try {
        await this.repo.touch(row.id, new Date(now));
        row.lastSeenAt = new Date(now);
      } catch (err) {
        // The session stays valid; its idle expiry just does not move this time.
        this.logger.warn({ err }, 'could not record a session use');
      }
    }
    return {
      actor: { name: row.apiKey.name, kind: 'key', role: row.apiKey.role, via: 'session' },
      session: this.state(row),
    };
  }

  /** Ends the session a token names; false when there was none. */
  async signOut(token: string): Promise<boolean> {
    if (!TOKEN.test(token)) return false;
    return this.repo.deleteByTokenHash(hashToken(token));
  }

  private state(row: SessionWithKey): SessionState {
    const expiresAt = row.expiresAt.getTime();
    const lastSeen = row.lastSeenAt.getTime();
    return {
      role: row.apiKey.role,
      keyName: row.apiKey.name,
      expiresAt: row.expiresAt,
      idleExpiresAt: new Date(Math.min(expiresAt, lastSeen + this.limits.idleMs)),
    };
  }
}
