import { randomUUID } from 'node:crypto';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { App } from '../app';
import { ErrorCode } from '../common/errors';
import type { GraphQLContext } from './context';
import { errorCode, formatError } from './errors';
import { buildGatewaySchema } from './schema';

/**
 * Logs every unexpected error in full with its request id, and stamps the request id on every
 * error sent, so a user's report can be matched to the log line.
 */
const errorLogging: ApolloServerPlugin<GraphQLContext> = {
  async requestDidStart() {
    return {
      async didEncounterErrors({ contextValue, errors }) {
        for (const error of errors) {
          if (errorCode(error) === ErrorCode.INTERNAL_SERVER_ERROR) {
            contextValue.logger.error({ err: error.originalError ?? error, path: error.path }, 'internal error');
          }
        }
      },
      async willSendResponse({ contextValue, response }) {
        if (response.body.kind !== 'single' || !response.body.singleResult.errors) return;
        const requestId = contextValue?.requestId ?? randomUUID();
        response.body.singleResult.errors = response.body.singleResult.errors.map((e) => ({
          ...e,
          extensions: { ...e.extensions, requestId },
        }));
      },
    };
  },
};

export function createApolloServer(app: App, plugins: ApolloServerPlugin<GraphQLContext>[] = []): ApolloServer<GraphQLContext> {
  const development = app.config.nodeEnv === 'development';
  return new ApolloServer<GraphQLContext>({
    schema: buildGatewaySchema(),
    formatError: formatError(development),
    includeStacktraceInErrorResponses: development,
    introspection: true,
    // The process owner (serve) drains HTTP, then closes the database: Apollo must not exit first.
    stopOnTerminationSignals: false,
    plugins: [errorLogging, ApolloServerPluginLandingPageDisabled(), ...plugins],
  });
}
