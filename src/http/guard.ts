import type { Request, Response } from 'express';
import type { App } from '../app';
import type { Actor } from '../auth/actor';
import { DomainError, ErrorCode, httpStatus, rateLimited } from '../common/errors';
import { TokenBuckets } from '../common/token-buckets';
import { databaseUnavailable } from '../db/availability';

/** Who a request comes from, once it has passed the gateway's fairness checks. */
export interface Guard {
  admit(req: Request): Promise<Actor>;
}

/**
 * Fairness at the door, before a request's body is read:
 * - authentication, with failed attempts throttled per client address (AUTH_FAILURES_PER_MINUTE):
 *   past the budget, a key that would need a (deliberately slow) scrypt verification is refused
 *   with RATE_LIMITED unverified, while keys already verified keep working;
 * - a token bucket per API key (anonymous callers: per address) of RATE_LIMIT_<ROLE> requests per
 *   second, bursts of twice that.
 */
export function createGuard(app: App): Guard {
  const rates = new TokenBuckets();
  const failures = new TokenBuckets();
  const { rate, authFailuresPerMinute: perMinute } = app.config.limits;
  return {
    async admit(req) {
      const address = req.socket.remoteAddress ?? 'unknown';
      let actor: Actor;
      try {
        actor = await app.authenticate(req.header('authorization'), {
          verifyWait: () => failures.wait(address, perMinute / 60, perMinute),
        });
      } catch (e) {
        if (e instanceof DomainError && e.code === ErrorCode.UNAUTHENTICATED) {
          failures.take(address, perMinute / 60, perMinute);
          app.metrics.rejected('unauthenticated');
        }
        if (e instanceof DomainError && e.code === ErrorCode.RATE_LIMITED) app.metrics.rejected('auth_throttle');
        if (e instanceof DomainError && e.code === ErrorCode.RESOURCE_EXHAUSTED) app.metrics.rejected('verify_queue');
        throw e;
      }
      const role = actor.role ?? 'viewer';
      const perSecond = rate[role];
      const wait = rates.take(
        actor.kind === 'key' ? `key:${actor.name}` : `address:${address}`,
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
      return actor;
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
