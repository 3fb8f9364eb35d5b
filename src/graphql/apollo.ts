import { randomUUID } from 'node:crypto';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { Kind } from 'graphql';
import type { App } from '../app';
import { maxOf } from '../common/arrays';
import { ErrorCode, httpStatus } from '../common/errors';
import type { GraphQLContext } from './context';
import { errorCode, formatError } from './errors';
import { limitRules, operationLimits } from './limits';
import { buildGatewaySchema } from './schema';

/** Codes that mean "not now": an operation that got only these answers their status, with Retry-After. */
const BACK_OFF = new Set<string>([ErrorCode.RATE_LIMITED, ErrorCode.RESOURCE_EXHAUSTED, ErrorCode.UNAVAILABLE]);

/**
 * Logs every unexpected error in full with its request id, and stamps the request id on every
 * error sent, so a user's report can be matched to the log line.
 */
const errorLogging: ApolloServerPlugin<GraphQLContext> = {
  async requestDidStart() {
    return {
      async didEncounterErrors({ contextValue, errors }) {
        for (const error of errors) {
          const code = errorCode(error);
          if (code === ErrorCode.INTERNAL_SERVER_ERROR)
            contextValue.logger.error({ err: error.originalError ?? error, path: error.path }, 'internal error');
          if (code === ErrorCode.UNAVAILABLE)
            contextValue.logger.warn(
              { err: error.originalError ?? error, path: error.path },
              'the database is unavailable',
            );
        }
      },
      async willSendResponse({ contextValue, response }) {
        if (response.body.kind !== 'single' || !response.body.singleResult.errors) return;
        const requestId = contextValue?.requestId ?? randomUUID();
        const { errors, data } = response.body.singleResult;
        response.body.singleResult.errors = errors.map((e) => ({ ...e, extensions: { ...e.extensions, requestId } }));
        // Nothing was served and every error says "later": answer 429 (or 503) with Retry-After, as every route does.
        const codes = errors.map((e) => String(e.extensions?.code));
        if (data == null && codes.every((c) => BACK_OFF.has(c))) {
          const waitMs = errors.reduce((most, e) => Math.max(most, Number(e.extensions?.retryAfterMs) || 1000), 0);
          response.http.status = maxOf(codes.map(httpStatus));
          response.http.headers.set('retry-after', String(Math.ceil(waitMs / 1000)));
        }
      },
    };
  },
};

/**
 * Counts each operation by what it asked for first ("query:predict") and its outcome (OK or the
 * first error's code), with its latency: root fields come from the schema, so the labels stay few
 * whatever operation names clients send.
 */
function operationMetrics(app: App): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async willSendResponse({ operation, response }) {
          const root = operation?.selectionSet.selections.find((s) => s.kind === Kind.FIELD);
          const name = operation
            ? `${operation.operation}:${root?.kind === Kind.FIELD ? root.name.value : '?'}`
            : 'invalid';
          const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
          app.metrics.operation(
            name,
            String(errors?.[0]?.extensions?.code ?? 'OK'),
            (performance.now() - started) / 1000,
          );
        },
      };
    },
  };
}

export function createApolloServer(
  app: App,
  plugins: ApolloServerPlugin<GraphQLContext>[] = [],
): ApolloServer<GraphQLContext> {
  const development = app.config.nodeEnv === 'development';
  const schema = buildGatewaySchema();
  const limits = app.config.graphql;
  return new ApolloServer<GraphQLContext>({
    schema,
    formatError: formatError(development),
    includeStacktraceInErrorResponses: development,
    // Allowed here, then refused to anonymous callers outside development (operationLimits).
    introspection: true,
    // Refused while parsing, before the document is built.
    parseOptions: { maxTokens: limits.maxTokens },
    validationRules: limitRules(limits),
    // Apollo's default, stated because browser sessions depend on it: a request a page on another
    // site could send without a CORS preflight (a simple GET, a form or text/plain POST, multipart
    // without apollo-require-preflight) is refused before it runs, cookie or not.
    csrfPrevention: true,
    // One operation per request: the limits apply per HTTP request, not per element of a batch.
    allowBatchedHttpRequests: false,
    // The process owner (serve) drains HTTP, then closes the database: Apollo must not exit first.
    stopOnTerminationSignals: false,
    plugins: [
      errorLogging,
      operationLimits(schema, limits, development),
      operationMetrics(app),
      ApolloServerPluginLandingPageDisabled(),
      ...plugins,
    ],
  });
}
