import { timingSafeEqual } from 'node:crypto';
import type express from 'express';
import type { App } from '../app';
import { hasRole } from '../auth/actor';
import { forbidden, unauthenticated } from '../common/errors';
import { sendError } from './guard';

const READY_TIMEOUT_MS = 2000;

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)),
  );
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** /healthz: the process answers; nothing else is checked (that is /readyz). */
export const healthz: express.RequestHandler = (_req, res) => {
  res.json({ status: 'ok' });
};

/** /readyz: 200 once the database answers and every migration is applied; details only for a key holder. */
export function readiness(app: App): express.RequestHandler {
  return async (req, res) => {
    const detailed = await withTimeout(app.authenticate(req.header('authorization')), READY_TIMEOUT_MS)
      .then((a) => a.kind !== 'anonymous')
      .catch(() => false);
    try {
      // A database that does not answer is as good as down: /readyz answers within READY_TIMEOUT_MS.
      const status = await withTimeout(
        app.db.ping().then(() => app.db.migrationStatus()),
        READY_TIMEOUT_MS,
      );
      const ready = status.pending.length === 0 && status.failed.length === 0;
      res.status(ready ? 200 : 503).json({
        status: ready ? 'ready' : 'not ready',
        ...(detailed
          ? {
              database: app.db.kind,
              migrations: { applied: status.applied.length, pending: status.pending, failed: status.failed },
            }
          : {}),
      });
    } catch (err) {
      app.logger.warn({ err }, 'readiness check failed');
      res
        .status(503)
        .json({ status: 'not ready', ...(detailed ? { database: app.db.kind, error: 'database unreachable' } : {}) });
    }
  };
}

/**
 * /metrics in Prometheus' text format. On the main port it needs METRICS_TOKEN as a bearer token,
 * or an admin API key; on its own listener (METRICS_PORT, loopback by default) it is open.
 */
export function metricsRoute(app: App, protectedRoute: boolean): express.RequestHandler {
  const token = app.config.metrics.token ? Buffer.from(app.config.metrics.token) : null;
  const isToken = (given: string) =>
    token !== null && given.length === token.length && timingSafeEqual(Buffer.from(given), token);
  const isAdmin = (given: string) =>
    app
      .authenticate(`Bearer ${given}`)
      .then((a) => hasRole(a, 'admin'))
      .catch(() => false);
  return async (req, res) => {
    if (protectedRoute) {
      const given = /^Bearer\s+(\S+)$/i.exec(req.header('authorization') ?? '')?.[1];
      if (given === undefined || !(isToken(given) || (await isAdmin(given)))) {
        const refuse = given === undefined ? unauthenticated : forbidden;
        sendError(
          app,
          res,
          refuse('metrics need METRICS_TOKEN or an admin API key as "Authorization: Bearer <token>"'),
        );
        return;
      }
    }
    res.setHeader('content-type', app.metrics.contentType);
    res.send(await app.metrics.text());
  };
}
