import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { ApolloServerPlugin } from '@apollo/server';
import type { Express, Request } from 'express';
import { GraphQLError, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { App } from '../app';
import type { Actor } from '../auth/actor';
import { badInput, DomainError, ErrorCode, unauthenticated } from '../common/errors';
import type { Logger } from '../common/logger';
import { databaseUnavailable } from '../db/availability';
import { createContext, type GraphQLContext } from '../graphql/context';
import { errorCode } from '../graphql/errors';
import { errorFormatter, operationLabel, operationPreparer } from '../graphql/operations';
import { buildGatewaySchema } from '../graphql/schema';
import type { Guard } from './guard';
import { streamTransport } from './streams';

export const GRAPHQL_PATH = '/graphql';

/**
 * A message larger than this closes the connection (1009): operations are small; images go to
 * POST /graphql. It also bounds what a socket not yet signed in can make the gateway buffer.
 */
const MAX_MESSAGE_BYTES = 1024 * 1024;

/** WebSocket's own "try again later": graphql-ws clients retry it (with backoff), as they should a full gateway. */
const TRY_AGAIN_LATER = 1013;

/** One operation of a connection: its request id (logs, errors) and what the metrics count of it. */
interface Operation {
  requestId: string;
  logger: Logger;
  started: number;
  name: string;
  counted: boolean;
}

/** A connection, once signed in (onConnect). */
interface Connection {
  /** The upgrade request as Express presents requests, the guard reads it again for every operation and tick. */
  req: Request;
  operations: Map<string, Operation>;
}

/**
 * GraphQL over WebSocket (graphql-ws's graphql-transport-ws protocol) at /graphql, on the HTTP
 * server's port: subscriptions (comparisonProgress), and queries and mutations as over HTTP.
 *
 * A connection signs in once, with `connectionParams: { authorization: "Bearer <key>" }` or the
 * browser's session cookie (from a page of this gateway's own origin: another site's page could
 * open the socket with the cookie too); anonymous only with ANONYMOUS_READ. A refusal closes the
 * socket with graphql-ws's 4401 (UNAUTHENTICATED), 4403 (FORBIDDEN), 4400 (BAD_USER_INPUT) or
 * 1013 (RATE_LIMITED, RESOURCE_EXHAUSTED, UNAVAILABLE, BACKEND_UNAVAILABLE: retry later), the reason starting with the
 * code. Each operation then passes the guard again, as an HTTP request does (credentials, rate
 * limit), and Apollo's limits (operations.ts); its errors carry the same `extensions.code`.
 *
 * The returned plugin, given to Apollo, closes every socket when Apollo stops (alongside the HTTP
 * drain, whose server.close() would otherwise wait on them).
 */
export function graphqlWebSocket(
  app: App,
  guard: Guard,
  expressApp: Express,
  httpServer: http.Server,
): ApolloServerPlugin<GraphQLContext> {
  const development = app.config.nodeEnv === 'development';
  const schema = buildGatewaySchema();
  const prepare = operationPreparer(schema, app.config.graphql, development);
  const formatErrors = errorFormatter(development);
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });

  const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    if (req.url?.split('?')[0] !== GRAPHQL_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  };
  httpServer.on('upgrade', onUpgrade);

  const newOperation = (): Operation => {
    const requestId = randomUUID();
    return {
      requestId,
      logger: app.logger.child({ requestId }),
      started: performance.now(),
      name: 'invalid',
      counted: false,
    };
  };
  /** Counted once, at its first answer: a query's result, a subscription's first event, or the refusal. */
  const count = (op: Operation, errors: readonly GraphQLError[] | undefined) => {
    if (op.counted) return;
    op.counted = true;
    const outcome = errors?.length ? errorCode(errors[0]) : 'OK';
    app.metrics.operation(op.name, outcome, (performance.now() - op.started) / 1000);
  };

  const server = useServer<Record<string, unknown>, { connection: Connection }>(
    {
      // graphql-ws's own closes on an unexpected error say only "Internal server error" outside development.
      isProd: !development,
      onConnect: async (ctx) => {
        try {
          const params = ctx.connectionParams ?? {};
          const authorization = params.authorization ?? params.Authorization;
          if (authorization !== undefined && typeof authorization !== 'string')
            throw badInput('connectionParams.authorization must be a string: "Bearer <key>"');
          const req = upgradeRequest(expressApp, ctx.extra.request, authorization);
          // With the cookie, the page must be this gateway's (cross-site WebSocket hijacking).
          const actor = await guard.admit(req, { checkOrigin: true });
          if (actor.role === null)
            throw unauthenticated(
              'this gateway needs an API key: send connectionParams { authorization: "Bearer <key>" }, or sign in (POST /auth/session) for the session cookie',
            );
          ctx.extra.connection = { req, operations: new Map() };
          return true;
        } catch (e) {
          refuse(app, ctx.extra.socket, e);
          // graphql-ws's own close (4403) comes second and is ignored: the socket is already closing.
          return false;
        }
      },
      onSubscribe: async (ctx, id, payload): Promise<ExecutionArgs | readonly GraphQLError[]> => {
        const connection = ctx.extra.connection!;
        const op = newOperation();
        connection.operations.set(id, op);
        try {
          // Every operation passes the door as an HTTP request does: the credentials again (a revoked
          // key's socket runs nothing more), and the caller's rate limit.
          const actor: Actor = await guard.admit(connection.req, { checkOrigin: true });
          const prepared = prepare(payload, actor);
          if (Array.isArray(prepared)) return prepared;
          op.name = operationLabel(prepared.operation);
          return {
            schema,
            document: prepared.document,
            operationName: payload.operationName,
            variableValues: payload.variables,
            contextValue: createContext(app, actor, op.requestId, streamTransport(app, connection.req, actor)),
          };
        } catch (e) {
          // formatError finds the cause (a DomainError's code, or masked and logged when unexpected).
          const cause = e instanceof Error ? e : new Error(String(e));
          return [new GraphQLError(cause.message, { originalError: cause })];
        }
      },
      onNext: (ctx, id, _payload, _args, result: ExecutionResult) => {
        const op = ctx.extra.connection?.operations.get(id) ?? newOperation();
        count(op, result.errors);
        if (!result.errors) return;
        return { ...result, errors: formatErrors(result.errors, op) };
      },
      onError: (ctx, id, _payload, errors) => {
        const op = ctx.extra.connection?.operations.get(id) ?? newOperation();
        count(op, errors);
        ctx.extra.connection?.operations.delete(id);
        return formatErrors(errors, op);
      },
      onComplete: (ctx, id) => {
        const op = ctx.extra.connection?.operations.get(id);
        if (op) count(op, undefined);
        ctx.extra.connection?.operations.delete(id);
      },
    },
    wss,
  );

  return {
    async serverWillStart() {
      return {
        async drainServer() {
          httpServer.off('upgrade', onUpgrade);
          // Closes every socket (1001): graphql-ws stops their subscriptions, which give back their stream slots.
          await server.dispose();
        },
      };
    },
  };
}

/**
 * The upgrade request as Express presents a request (its TRUST_PROXY view of the protocol and host,
 * which the session cookie's name and the Origin check read), with the connectionParams'
 * authorization as its Authorization header: the guard and requestActor read it like any request.
 */
function upgradeRequest(expressApp: Express, incoming: http.IncomingMessage, authorization: string | undefined) {
  const headers = authorization === undefined ? incoming.headers : { ...incoming.headers, authorization };
  return Object.create(expressApp.request, {
    headers: { value: headers },
    socket: { value: incoming.socket },
    method: { value: incoming.method },
    url: { value: incoming.url },
  }) as Request;
}

/** Closes a connection that may not sign in, with a close code that says whether to retry and a reason that starts with the error code. */
function refuse(app: App, socket: WebSocket, e: unknown): void {
  const error = e instanceof DomainError ? e : databaseUnavailable(e);
  if (!error) app.logger.error({ err: e }, 'WebSocket sign-in failed');
  const code = error?.code ?? ErrorCode.INTERNAL_SERVER_ERROR;
  socket.close(closeCode(code), closeReason(`${code}: ${error?.message ?? 'Internal server error'}`));
}

function closeCode(code: string): number {
  switch (code) {
    case ErrorCode.UNAUTHENTICATED:
      return CloseCode.Unauthorized;
    case ErrorCode.FORBIDDEN:
      return CloseCode.Forbidden;
    case ErrorCode.BAD_USER_INPUT:
      return CloseCode.BadRequest;
    case ErrorCode.RATE_LIMITED:
    case ErrorCode.RESOURCE_EXHAUSTED:
    case ErrorCode.UNAVAILABLE:
    case ErrorCode.BACKEND_UNAVAILABLE:
      return TRY_AGAIN_LATER;
    default:
      return CloseCode.InternalServerError;
  }
}

/** A close frame's reason holds at most 123 bytes of UTF-8. */
function closeReason(text: string): string {
  if (Buffer.byteLength(text) <= 123) return text;
  let cut = text.slice(0, 120);
  while (Buffer.byteLength(cut) > 120) cut = cut.slice(0, -1);
  return `${cut}…`;
}
