import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expressMiddleware } from '@as-integrations/express5';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import express from 'express';
import { graphqlUploadExpress } from 'graphql-upload-minimal';
import { GraphQLError } from 'graphql';
import type { App } from '../app';
import { DomainError, ErrorCode } from '../common/errors';
import { parseComparisonId } from '../evaluation/comparison.service';
import { comparisonView } from '../evaluation/report';
import { MAX_BATCH_IMAGES } from '../inference/inference.service';
import { createApolloServer } from '../graphql/apollo';
import { createContext } from '../graphql/context';

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Starts /graphql, /healthz and /readyz on the configured port (0 = any free port). */
export async function startServer(app: App, opts: { port?: number; host?: string } = {}): Promise<RunningServer> {
  const expressApp = express();
  expressApp.disable('x-powered-by');
  // Express shows stack traces unless its env is production; follow our NODE_ENV, not its default.
  expressApp.set('env', app.config.nodeEnv === 'development' ? 'development' : 'production');
  const httpServer = http.createServer(expressApp);
  const apollo = createApolloServer(app, [ApolloServerPluginDrainHttpServer({ httpServer })]);
  await apollo.start();

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

  expressApp.get('/readyz', async (_req, res) => {
    try {
      await app.db.ping();
      const status = await app.db.migrationStatus();
      const ready = status.pending.length === 0 && status.failed.length === 0;
      res.status(ready ? 200 : 503).json({
        status: ready ? 'ready' : 'not ready',
        database: app.db.kind,
        migrations: { applied: status.applied.length, pending: status.pending, failed: status.failed },
      });
    } catch (err) {
      app.logger.warn({ err }, 'readiness check failed');
      res.status(503).json({ status: 'not ready', database: app.db.kind, error: 'database unreachable' });
    }
  });

  // Progress of a comparison as server-sent events (for the admin UI): one `progress` event per
  // second while it runs, then `done` with the final status.
  expressApp.get('/comparisons/:id/events', async (req, res) => {
    const requestId = res.locals.requestId;
    const fail = (status: number, code: string, message: string): void => void res.status(status).json({ errors: [{ message, extensions: { code, requestId } }] });
    let actor;
    let id: number;
    let c;
    try {
      actor = await app.authenticate(req.header('authorization'));
      id = parseComparisonId(req.params.id);
      c = await app.services.comparisons.get(actor, id);
      if (!c) return fail(404, ErrorCode.NOT_FOUND, `no comparison ${req.params.id}`);
    } catch (e) {
      if (e instanceof DomainError) return fail(e.code === 'UNAUTHENTICATED' ? 401 : e.code === 'FORBIDDEN' ? 403 : 400, e.code, e.message);
      throw e;
    }

    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    let open = true;
    req.on('close', () => {
      open = false;
    });
    while (open && c) {
      const view = comparisonView(c);
      const data = { id: view.id, status: view.status, progress: view.progress, itemsDone: view.itemsDone, total: view.total, etaSeconds: view.etaSeconds, verdict: view.verdict };
      const done = !['QUEUED', 'RUNNING'].includes(c.status);
      res.write(`event: ${done ? 'done' : 'progress'}\ndata: ${JSON.stringify(data)}\n\n`);
      if (done) break;
      await new Promise((r) => setTimeout(r, 1000));
      c = await app.services.comparisons.get(actor, id).catch(() => null);
    }
    res.end();
    return;
  });

  expressApp.get('/', (_req, res) => {
    res.json({ service: 'modelgate', graphql: '/graphql', health: '/healthz', ready: '/readyz' });
  });

  expressApp.use(
    '/graphql',
    // Multipart requests (the GraphQL multipart request spec): files are streamed to the resolvers,
    // which stop reading at MAX_IMAGE_BYTES. Apollo's CSRF prevention still applies to them.
    // One byte over the limit, so that a file of exactly MAX_IMAGE_BYTES passes and a larger one is seen as larger.
    graphqlUploadExpress({ maxFileSize: app.config.inference.image.maxBytes + 1, maxFiles: MAX_BATCH_IMAGES }),
    express.json({ limit: '30mb' }),
    expressMiddleware(apollo, {
      context: async ({ req, res }) => {
        const requestId = String(res.locals.requestId);
        try {
          const actor = await app.authenticate(req.header('authorization'));
          return createContext(app, actor, requestId);
        } catch (e) {
          if (e instanceof DomainError && e.code === ErrorCode.UNAUTHENTICATED) {
            throw new GraphQLError(e.message, { extensions: { code: e.code, requestId, http: { status: 401 } } });
          }
          app.logger.error({ err: e, requestId }, 'could not build the request context');
          throw new GraphQLError('Internal server error', { extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, requestId } });
        }
      },
    }),
  );

  expressApp.use((_req, res) => {
    res.status(404).json({ errors: [{ message: 'not found: the API is at /graphql', extensions: { code: ErrorCode.NOT_FOUND, requestId: res.locals.requestId } }] });
  });

  // Failures before GraphQL runs (unreadable or oversized bodies) answer in GraphQL's error shape too.
  expressApp.use((err: { type?: string; status?: number; message?: string; limit?: number }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const requestId = res.locals.requestId;
    if (err.type === 'entity.too.large') {
      res.status(413).json({ errors: [{ message: `request body exceeds ${err.limit} bytes`, extensions: { code: ErrorCode.PAYLOAD_TOO_LARGE, requestId } }] });
    } else if (err.type === 'entity.parse.failed' || err.type === 'encoding.unsupported' || err.type === 'charset.unsupported') {
      res.status(400).json({ errors: [{ message: `request body is not valid JSON: ${err.message}`, extensions: { code: ErrorCode.BAD_USER_INPUT, requestId } }] });
    } else {
      app.logger.error({ err, requestId }, 'HTTP request failed');
      res.status(err.status && err.status >= 400 && err.status < 600 ? err.status : 500).json({
        errors: [{ message: 'Internal server error', extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, requestId } }],
      });
    }
  });

  try {
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(opts.port ?? app.config.port, opts.host ?? app.config.host, () => {
        httpServer.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    await apollo.stop().catch(() => undefined);
    throw e;
  }
  const { port } = httpServer.address() as AddressInfo;
  const shownHost = (opts.host ?? app.config.host) === '0.0.0.0' ? 'localhost' : opts.host ?? app.config.host;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    close: () => apollo.stop(),
  };
}
