import type { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { graphqlUploadExpress } from 'graphql-upload-minimal';
import type { App } from '../app';
import type { Actor } from '../auth/actor';
import { badInput, ErrorCode, httpStatus, payloadTooLarge, unauthenticated } from '../common/errors';
import { createContext, type GraphQLContext } from '../graphql/context';
import { tooComplex } from '../graphql/limits';
import { MAX_BATCH_IMAGES } from '../inference/inference.service';
import { sendError, type Guard } from './guard';

/** Requests without a key carry a query and small variables, never images. */
const ANONYMOUS_BODY_BYTES = 64 * 1024;
/** With a key: base64 images in variables (MAX_IMAGE_BYTES each, 4/3 larger encoded), up to 30 MB. */
const KEYED_BODY_BYTES = 30 * 1024 * 1024;

/** The handlers of /graphql, in order: nothing is read before the caller is admitted. */
export function graphqlRoute(app: App, guard: Guard, apollo: ApolloServer<GraphQLContext>): express.RequestHandler[] {
  return [
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
  ];
}

/**
 * The caller of a GraphQL request, admitted by the guard before its body is read; a multipart
 * upload without a valid key is refused unread (Connection: close), not buffered first.
 */
function admit(app: App, guard: Guard): express.RequestHandler {
  return async (req, res, next) => {
    try {
      // A cookie-authenticated operation is kept from other sites by Apollo's CSRF prevention (a
      // request a page elsewhere could send without a preflight is refused) and SameSite=Strict.
      const actor = await guard.admit(req, { checkOrigin: false });
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
    res.status(httpStatus(ErrorCode.QUERY_TOO_COMPLEX)).json({
      errors: [
        {
          message: error.message,
          extensions: { ...error.extensions, http: undefined, requestId: res.locals.requestId },
        },
      ],
    });
  };
}

interface BodyError {
  type?: string;
  status?: number;
  message?: string;
  limit?: number;
}

/** Failures before GraphQL runs (unreadable or oversized bodies) answer in GraphQL's error shape too. */
export function bodyErrors(app: App): express.ErrorRequestHandler {
  // Four parameters: that is how Express tells an error handler from a route.
  return (err: BodyError, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    if (err.type === 'entity.too.large') {
      const withoutKey = err.limit === ANONYMOUS_BODY_BYTES ? ' (the limit without an API key)' : '';
      sendError(app, res, payloadTooLarge(`request body exceeds ${err.limit} bytes${withoutKey}`), {
        bodyUnread: true,
      });
    } else if (
      err.type === 'entity.parse.failed' ||
      err.type === 'encoding.unsupported' ||
      err.type === 'charset.unsupported'
    ) {
      sendError(app, res, badInput(`request body is not valid JSON: ${err.message}`));
    } else if (err.status && err.status >= 400 && err.status < 500) {
      // A client error the body parsers or the multipart reader raised (a malformed upload, too many files).
      const tooLarge = err.status === httpStatus(ErrorCode.PAYLOAD_TOO_LARGE);
      const error = (tooLarge ? payloadTooLarge : badInput)(err.message ?? 'bad request');
      sendError(app, res, error, { bodyUnread: true });
    } else {
      sendError(app, res, err);
    }
  };
}
