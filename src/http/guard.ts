import type { Request, Response } from 'express';
import type { App } from '../app';
import { anonymousActor, type Actor } from '../auth/actor';
import type { SessionState, SignedIn } from '../auth/session.service';
import { DomainError, ErrorCode, httpStatus, rateLimited, unauthenticated } from '../common/errors';
import { TokenBuckets } from '../common/token-buckets';
import { databaseUnavailable } from '../db/availability';
import { checkSameOrigin, sessionToken, unsafeMethod } from './session-cookie';

/** Who a request comes from, once it has passed the gateway's fairness checks. */
export interface Guard {
  /**
   * The caller: the Bearer key if one is sent, else the session cookie, else anonymous. A write
   * (`checkOrigin`, default: any method but GET, HEAD and OPTIONS) signed in with the cookie must
   * come from this origin; /graphql leaves that to Apollo's CSRF prevention.
   */
  admit(req: Request, opts?: { checkOrigin?: boolean }): Promise<Actor>;
  /** GET /auth/session: the session the cookie names (UNAUTHENTICATED without one), rate-limited as its key. */
  session(req: Request): Promise<SessionState>;
  /** POST /auth/session: a key exchanged for a session, throttled like any presented key. */
  signIn(req: Request, key: string): Promise<SignedIn>;
}

/**
 * Who sent a request, without the fairness checks: the Bearer key, else the session cookie, else
 * anonymous. Open streams ask again each tick, so that a revoked key or an ended session ends them.
 */
export function requestActor(app: App, req: Request, opts: { verifyWait?: () => number } = {}): Promise<Actor> {
  const authorization = req.header('authorization');
  const token = authorization ? undefined : sessionToken(req);
  if (token !== undefined) return app.services.sessions.authenticate(token).then((s) => s.actor);
  return app.authenticate(authorization, opts);
}

/**
 * Fairness at the door, before a request's body is read:
 * - authentication, with failed attempts throttled per client address (AUTH_FAILURES_PER_MINUTE):
 *   past the budget, a key that would need a (deliberately slow) scrypt verification is refused
 *   with RATE_LIMITED unverified, while keys already verified keep working (a session cookie that
 *   names no live session is refused but not counted: it costs no scrypt and cannot be guessed);
 * - a token bucket per API key (anonymous callers: per address) of RATE_LIMIT_<ROLE> requests per
 *   second, bursts of twice that; a session counts as its key.
 */
export function createGuard(app: App): Guard {
  const rates = new TokenBuckets();
  const failures = new TokenBuckets();
  const { rate, authFailuresPerMinute: perMinute } = app.config.limits;
  const addressOf = (req: Request) => req.socket.remoteAddress ?? 'unknown';

  /** Runs an authentication, counting a refused key against the client's address. */
  async function authenticated<T>(
    req: Request,
    keyPresented: boolean,
    work: (verifyWait: () => number) => Promise<T>,
  ): Promise<T> {
    const address = addressOf(req);
    try {
      return await work(() => failures.wait(address, perMinute / 60, perMinute));
    } catch (e) {
      if (e instanceof DomainError && e.code === ErrorCode.UNAUTHENTICATED) {
        if (keyPresented) failures.take(address, perMinute / 60, perMinute);
        app.metrics.rejected('unauthenticated');
      }
      if (e instanceof DomainError && e.code === ErrorCode.RATE_LIMITED) app.metrics.rejected('auth_throttle');
      if (e instanceof DomainError && e.code === ErrorCode.RESOURCE_EXHAUSTED) app.metrics.rejected('verify_queue');
      throw e;
    }
  }

  /** RATE_LIMITED once the caller (its key, or its address without one) spent its budget. */
  function withinRate(req: Request, actor: Actor): void {
    const role = actor.role ?? 'viewer';
    const perSecond = rate[role];
    const wait = rates.take(
      actor.kind === 'key' ? `key:${actor.name}` : `address:${addressOf(req)}`,
      perSecond,
      2 * perSecond,
    );
    if (wait > 0) {
      app.metrics.rejected('rate_limit');
      throw rateLimited(
        `"${actor.name}" is over its rate limit of ${perSecond} requests per second (RATE_LIMIT_${role.toUpperCase()}); retry after ${wait} ms`,
        wait,
      );
    }
  }

  return {
    async admit(req, opts = {}) {
      const byCookie = !req.header('authorization') && sessionToken(req) !== undefined;
      if (byCookie && (opts.checkOrigin ?? unsafeMethod(req))) checkSameOrigin(req, { required: true });
      const actor = await authenticated(req, !byCookie, (verifyWait) => requestActor(app, req, { verifyWait }));
      withinRate(req, actor);
      return actor;
    },
    async session(req) {
      const token = sessionToken(req);
      if (token === undefined)
        throw unauthenticated('not signed in: POST /auth/session with the API key as JSON, { "key": "mg_..." }');
      const { actor, session } = await authenticated(req, false, () => app.services.sessions.authenticate(token));
      withinRate(req, actor);
      return session;
    },
    async signIn(req, key) {
      // Arriving without a key, a sign-in counts against its address's budget, as anonymous callers do.
      withinRate(req, anonymousActor(false));
      return authenticated(req, true, (verifyWait) =>
        app.services.sessions.signIn(key, { verifyWait, userAgent: req.header('user-agent') }),
      );
    },
  };
}

/**
 * A request-level failure in GraphQL's error shape, with the status the code maps to and, for
 * "retry later" codes, Retry-After. Unexpected errors are masked and logged with the request id.
 * A request whose body was not read is answered with `connection: close`, so it is never read.
 */
export function sendError(app: App, res: Response, e: unknown, opts: { bodyUnread?: boolean } = {}): void {
  const requestId = res.locals.requestId as string;
  const unavailable = databaseUnavailable(e);
  const error = e instanceof DomainError ? e : unavailable;
  if (unavailable) app.logger.warn({ err: e, requestId }, 'the database is unavailable');
  else if (!error) app.logger.error({ err: e, requestId }, 'HTTP request failed');
  const code = error?.code ?? ErrorCode.INTERNAL_SERVER_ERROR;
  const retryAfterMs = typeof error?.details?.retryAfterMs === 'number' ? error.details.retryAfterMs : undefined;
  if (retryAfterMs !== undefined) res.setHeader('retry-after', String(Math.ceil(retryAfterMs / 1000)));
  if (opts.bodyUnread) res.setHeader('connection', 'close');
  res.status(httpStatus(code)).json({
    errors: [
      {
        message: error?.message ?? 'Internal server error',
        extensions: {
          code,
          requestId,
          ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
          ...(error?.details ? { details: error.details } : {}),
        },
      },
    ],
  });
}
