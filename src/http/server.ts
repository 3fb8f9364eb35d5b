import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import express from 'express';
import helmet from 'helmet';
import type { App } from '../app';
import { notFound } from '../common/errors';
import { createApolloServer } from '../graphql/apollo';
import { comparisonItemsCsv } from './comparison-items';
import { datasetItemImage } from './dataset-images';
import { bodyErrors, graphqlRoute } from './graphql-route';
import { createGuard, sendError } from './guard';
import { healthz, metricsRoute, readiness } from './probes';
import { sessionRoutes } from './session-routes';
import { comparisonEvents } from './sse';
import { uiRoutes } from './ui';
import { graphqlWebSocket } from './websocket';

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  /** The metrics listener (METRICS_PORT), when there is one. */
  readonly metricsUrl: string | null;
  close(): Promise<void>;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * Starts the admin UI at /, /graphql (HTTP and WebSocket), /comparisons/<id>/events and /items.csv,
 * /datasets/<name>/items/<ordinal>/image, /auth/*, /metrics, /healthz and /readyz (port 0 = any free port).
 */
export async function startServer(app: App, opts: { port?: number; host?: string } = {}): Promise<RunningServer> {
  const expressApp = express();
  expressApp.disable('x-powered-by');
  // Express shows stack traces unless its env is production; follow our NODE_ENV, not its default.
  expressApp.set('env', app.config.nodeEnv === 'development' ? 'development' : 'production');
  // Which proxies' X-Forwarded-Proto/-Host to believe: session cookies are Secure over https, and
  // cookie-authenticated writes must come from the request's own origin.
  expressApp.set('trust proxy', app.config.http.trustProxy);
  // Timeouts are enforced on this check's beat (Node's default: every 30 s).
  const httpServer = http.createServer({ connectionsCheckingInterval: 1000 }, expressApp);
  applyServerLimits(httpServer, app);
  const guard = createGuard(app);
  // Subscriptions (and any operation) over WebSocket at /graphql, on this server's port; closed when Apollo stops.
  const webSocket = graphqlWebSocket(app, guard, expressApp, httpServer);
  const apollo = createApolloServer(app, [ApolloServerPluginDrainHttpServer({ httpServer }), webSocket]);
  await apollo.start();
  app.metrics.startDefaultMetrics();

  expressApp.use(
    helmet({
      contentSecurityPolicy: {
        // The admin UI previews the images a user picks (blob: URLs) before sending them.
        // The gateway often serves plain http on a LAN address: upgrading its requests to https would break the page.
        directives: { 'img-src': ["'self'", 'data:', 'blob:'], 'upgrade-insecure-requests': null },
      },
    }),
  );
  expressApp.use(requestIds);
  expressApp.get('/healthz', healthz);
  expressApp.get('/readyz', readiness(app));
  expressApp.get('/metrics', metricsRoute(app, true));
  expressApp.get('/comparisons/:id/events', comparisonEvents(app, guard));
  expressApp.get('/comparisons/:id/items.csv', comparisonItemsCsv(app, guard));
  expressApp.get('/datasets/:name/items/:ordinal/image', datasetItemImage(app, guard));
  expressApp.use(sessionRoutes(app, guard));
  expressApp.use('/graphql', ...graphqlRoute(app, guard, apollo));
  const ui = uiRoutes();
  if (ui) expressApp.use(ui);
  expressApp.get('/', serviceIndex);
  expressApp.use(notFoundRoute(app));
  expressApp.use(bodyErrors(app));

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

/** The caller's X-Request-Id when it is a sane one, else a fresh id: logs and errors carry it, and the answer echoes it. */
const requestIds: express.RequestHandler = (req, res, next) => {
  const given = req.header('x-request-id');
  const id = given && REQUEST_ID.test(given) ? given : randomUUID();
  res.locals.requestId = id;
  res.setHeader('x-request-id', id);
  next();
};

const serviceIndex: express.RequestHandler = (_req, res) => {
  res.json({
    service: 'modelgate',
    ui: '/',
    graphql: '/graphql',
    session: '/auth/session',
    health: '/healthz',
    ready: '/readyz',
  });
};

function notFoundRoute(app: App): express.RequestHandler {
  return (_req, res) => sendError(app, res, notFound('not found: the API is at /graphql'));
}
