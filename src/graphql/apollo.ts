import { randomUUID } from 'node:crypto';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { GraphQLError, OperationTypeNode } from 'graphql';
import type { App } from '../app';
import { maxOf } from '../common/arrays';
import { ErrorCode, httpStatus } from '../common/errors';
import type { GraphQLContext } from './context';
import { formatError, logErrors } from './errors';
import { limitRules, operationLimits } from './limits';
import { operationLabel } from './operations';
import { buildGatewaySchema } from './schema';

/** Codes that mean "not now": an operation that got only these answers their status, with Retry-After. */
const BACK_OFF = new Set<string>([
  ErrorCode.RATE_LIMITED,
  ErrorCode.RESOURCE_EXHAUSTED,
  ErrorCode.UNAVAILABLE,
  ErrorCode.BACKEND_UNAVAILABLE,
]);

/**
 * Logs every unexpected error in full with its request id, and stamps the request id on every
 * error sent, so a user's report can be matched to the log line.
 */
const errorLogging: ApolloServerPlugin<GraphQLContext> = {
  async requestDidStart() {
    return {
      async didEncounterErrors({ contextValue, errors }) {
        logErrors(contextValue.logger, errors);
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
 * Subscriptions need a connection that stays open: over HTTP, graphql-js would run one as a query
 * of its first event, with no event to give. Refused, pointing at the WebSocket.
 */
const noSubscriptionsOverHttp: ApolloServerPlugin<GraphQLContext> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ operation }) {
        if (operation?.operation !== OperationTypeNode.SUBSCRIPTION) return;
        throw new GraphQLError(
          'subscriptions are served over WebSocket (graphql-ws, the graphql-transport-ws protocol) at /graphql, not over HTTP',
          { extensions: { code: ErrorCode.BAD_USER_INPUT, http: { status: httpStatus(ErrorCode.BAD_USER_INPUT) } } },
        );
      },
    };
  },
};

/** Counts each operation (operationLabel) and its outcome (OK or the first error's code), with its latency. */
function operationMetrics(app: App): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async willSendResponse({ operation, response }) {
          const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
          app.metrics.operation(
            operationLabel(operation),
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
      noSubscriptionsOverHttp,
      operationMetrics(app),
      ApolloServerPluginLandingPageDisabled(),
      ...plugins,
    ],
  });
}
