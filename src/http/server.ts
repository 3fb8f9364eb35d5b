import { randomUUID, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expressMiddleware } from '@as-integrations/express5';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import express from 'express';
import { graphqlUploadExpress } from 'graphql-upload-minimal';
import helmet from 'helmet';
import type { App } from '../app';
import type { Actor } from '../auth/actor';
import { hasRole } from '../auth/actor';
import { ErrorCode, httpStatus, unauthenticated, badInput, payloadTooLarge } from '../common/errors';
import { MAX_BATCH_IMAGES } from '../inference/inference.service';
import { createApolloServer } from '../graphql/apollo';
import { createContext } from '../graphql/context';
import { tooComplex } from '../graphql/limits';
import { createGuard, sendError, type Guard } from './guard';
import { comparisonEvents } from './sse';

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  /** The metrics listener (METRICS_PORT), when there is one. */
  readonly metricsUrl: string | null;
  close(): Promise<void>;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;
/** Requests without a key carry a query and small variables, never images. */
const ANONYMOUS_BODY_BYTES = 64 * 1024;
/** With a key: base64 images in variables (MAX_IMAGE_BYTES each, 4/3 larger encoded), up to 30 MB. */
const KEYED_BODY_BYTES = 30 * 1024 * 1024;

/** Starts /graphql, /comparisons/<id>/events, /metrics, /healthz and /readyz (port 0 = any free port). */
export async function startServer(app: App, opts: { port?: number; host?: string } = {}): Promise<RunningServer> {
  const expressApp = express();
  expressApp.disable('x-powered-by');
  // Express shows stack traces unless its env is production; follow our NODE_ENV, not its default.
  expressApp.set('env', app.config.nodeEnv === 'development' ? 'development' : 'production');
  // Timeouts are enforced on this check's beat (Node's default: every 30 s).
  const httpServer = http.createServer({ connectionsCheckingInterval: 1000 }, expressApp);
  applyServerLimits(httpServer, app);
  const apollo = createApolloServer(app, [ApolloServerPluginDrainHttpServer({ httpServer })]);
  await apollo.start();
  const guard = createGuard(app);
  app.metrics.startDefaultMetrics();

  expressApp.use(helmet());
  expressApp.use((req, res, next) => {
    const given = req.header('x-request-id');
    const id = given && REQUEST_ID.test(given) ? given : randomUUID();
    res.locals.requestId = id;
    res.setHeader('x-request-id', id);
    next();
  });

  expressApp.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  expressApp.get('/readyz', readiness(app));
  expressApp.get('/metrics', metricsRoute(app, true));
  expressApp.get('/comparisons/:id/events', comparisonEvents(app, guard));
  expressApp.get('/', (_req, res) => {
    res.json({ service: 'modelgate', graphql: '/graphql', health: '/healthz', ready: '/readyz' });
  });

  expressApp.use(
    '/graphql',
    // Who is calling, throttled and rate-limited, before a byte of the body is read.
    admit(app, guard),
    // Multipart requests (the GraphQL multipart request spec): files are streamed to the resolvers,
    // which stop reading at MAX_IMAGE_BYTES. Apollo's CSRF prevention still applies to them.
    // One byte over the limit, so that a file of exactly MAX_IMAGE_BYTES passes and a larger one is seen as larger.
    graphqlUploadExpress({ maxFileSize: app.config.inference.image.maxBytes + 1, maxFiles: MAX_BATCH_IMAGES }),
    jsonBody(),
    querySize(app),
    expressMiddleware(apollo, {
      context: async ({ res }) => createContext(app, res.locals.actor as Actor, String(res.locals.requestId)),
    }),
  );

  expressApp.use((_req, res) => {
    res.status(404).json({
      errors: [
        {
          message: 'not found: the API is at /graphql',
          extensions: { code: ErrorCode.NOT_FOUND, requestId: res.locals.requestId },
        },
      ],
    });
  });

  // Failures before GraphQL runs (unreadable or oversized bodies) answer in GraphQL's error shape too.
  expressApp.use(
    (
      err: { type?: string; status?: number; message?: string; limit?: number },
      _req: express.Request,
      res: express.Response,
      _next: express.NextFunction,
    ) => {
      if (err.type === 'entity.too.large') {
        sendError(
          app,
          res,
          payloadTooLarge(
            `request body exceeds ${err.limit} bytes${err.limit === ANONYMOUS_BODY_BYTES ? ' (the limit without an API key)' : ''}`,
          ),
          { bodyUnread: true },
        );
      } else if (
        err.type === 'entity.parse.failed' ||
        err.type === 'encoding.unsupported' ||
        err.type === 'charset.unsupported'
      ) {
        sendError(app, res, badInput(`request body is not valid JSON: ${err.message}`));
      } else if (err.status && err.status >= 400 && err.status < 500) {
        // A client error the body parsers or the multipart reader raised (a malformed upload, too many files).
        sendError(app, res, (err.status === 413 ? payloadTooLarge : badInput)(err.message ?? 'bad request'), {
          bodyUnread: true,
        });
      } else {
        sendError(app, res, err);
      }
    },
  );

  const metricsServer =
    app.config.metrics.port === undefined
      ? null
      : http.createServer(express().get('/metrics', metricsRoute(app, false)));
  try {
    await listen(httpServer, opts.port ?? app.config.port, opts.host ?? app.config.host);
    if (metricsServer) await listen(metricsServer, app.config.metrics.port!, app.config.metrics.host);
  } catch (e) {
    metricsServer?.close();
    await apollo.stop().catch(() => undefined);
    throw e;
  }
  const { port } = httpServer.address() as AddressInfo;
  const shownHost = (opts.host ?? app.config.host) === '0.0.0.0' ? 'localhost' : (opts.host ?? app.config.host);
  return {
    url: `http://${shownHost}:${port}`,
    port,
    metricsUrl: metricsServer
      ? `http://${app.config.metrics.host}:${(metricsServer.address() as AddressInfo).port}/metrics`
      : null,
    close: async () => {
      metricsServer?.close();
      await apollo.stop();
    },
  };
}

/** Slow or endless clients cannot hold connections: header, request and keep-alive timeouts and a connection cap. */
function applyServerLimits(server: http.Server, app: App): void {
  const { http: limits } = app.config;
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
  server.maxHeadersCount = 100;
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * The caller of a GraphQL request, admitted by the guard before its body is read; a multipart
 * upload without a valid key is refused unread (Connection: close), not buffered first.
 */
function admit(app: App, guard: Guard): express.RequestHandler {
  return async (req, res, next) => {
    try {
      const actor = await guard.admit(req);
      if (req.is('multipart/form-data') && actor.kind !== 'key')
        throw unauthenticated('uploads need an API key: send "Authorization: Bearer <key>"');
      res.locals.actor = actor;
      next();
    } catch (e) {
      sendError(app, res, e, { bodyUnread: true });
    }
  };
}

/** JSON bodies: a small limit without a key (nothing unauthenticated is buffered at length). */
function jsonBody(): express.RequestHandler {
  const keyed = express.json({ limit: KEYED_BODY_BYTES });
  const anonymous = express.json({ limit: ANONYMOUS_BODY_BYTES });
  return (req, res, next) => ((res.locals.actor as Actor).kind === 'key' ? keyed : anonymous)(req, res, next);
}

/** GRAPHQL_MAX_QUERY_BYTES, checked before the document is parsed (the token limit applies while it is). */
function querySize(app: App): express.RequestHandler {
  const max = app.config.graphql.maxQueryBytes;
  return (req, res, next) => {
    const query: unknown =
      req.method === 'GET' ? req.query.query : (req.body as { query?: unknown } | undefined)?.query;
    const size = typeof query === 'string' ? Buffer.byteLength(query) : 0;
    if (size <= max) return next();
    const error = tooComplex('size', max, size);
    res.status(400).json({
      errors: [
        {
          message: error.message,
          extensions: { ...error.extensions, http: undefined, requestId: res.locals.requestId },
        },
      ],
    });
  };
}

const READY_TIMEOUT_MS = 2000;

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)),
  );
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** /readyz: 200 once the database answers and every migration is applied; details only for a key holder. */
function readiness(app: App): express.RequestHandler {
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
function metricsRoute(app: App, protectedRoute: boolean): express.RequestHandler {
  const token = app.config.metrics.token ? Buffer.from(app.config.metrics.token) : null;
  return async (req, res) => {
    if (protectedRoute) {
      const given = /^Bearer\s+(\S+)$/i.exec(req.header('authorization') ?? '')?.[1];
      const tokenOk =
        token !== null &&
        given !== undefined &&
        given.length === token.length &&
        timingSafeEqual(Buffer.from(given), token);
      const admin =
        !tokenOk &&
        given !== undefined &&
        (await app
          .authenticate(`Bearer ${given}`)
          .then((a) => hasRole(a, 'admin'))
          .catch(() => false));
      if (!tokenOk && !admin) {
        const code = given === undefined ? ErrorCode.UNAUTHENTICATED : ErrorCode.FORBIDDEN;
        res.status(httpStatus(code)).json({
          errors: [
            {
              message: 'metrics need METRICS_TOKEN or an admin API key as "Authorization: Bearer <token>"',
              extensions: { code, requestId: res.locals.requestId },
            },
          ],
        });
        return;
      }
    }
    res.setHeader('content-type', app.metrics.contentType);
    res.send(await app.metrics.text());
  };
}
