import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { DomainError, ErrorCode } from '../common/errors';

/** Codes Apollo assigns to malformed requests (before any resolver runs): they pass through unchanged. */
const APOLLO_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'BAD_REQUEST',
]);

/** The `extensions.code` of any error that reaches a client: a domain code, or one of Apollo's above. */
export function errorCode(error: unknown): string {
  const original = unwrapResolverError(error);
  if (original instanceof DomainError) return original.code;
  if (original instanceof GraphQLError) {
    const code = original.extensions?.code;
    if (typeof code === 'string' && (APOLLO_CODES.has(code) || Object.hasOwn(ErrorCode, code))) return code;
  }
  return ErrorCode.INTERNAL_SERVER_ERROR;
}

/**
 * Apollo's formatError hook. Domain errors keep their message and details; unexpected errors are
 * masked (logged in full elsewhere, with the request id) unless in development.
 */
export function formatError(development: boolean) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const code = errorCode(error);
    const extensions: Record<string, unknown> = { ...formatted.extensions, code };
    if (original instanceof DomainError && original.details) Object.assign(extensions, { details: original.details });
    if (code === ErrorCode.INTERNAL_SERVER_ERROR && !development) {
      delete extensions.stacktrace;
      return { message: 'Internal server error', ...(formatted.path ? { path: formatted.path } : {}), extensions };
    }
    if (!development) delete extensions.stacktrace;
    return { ...formatted, extensions };
  };
}
