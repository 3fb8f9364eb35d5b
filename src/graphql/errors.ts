import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { DomainError, ErrorCode } from '../common/errors';
import type { Logger } from '../common/logger';
import { databaseUnavailable } from '../db/availability';
import { tokenLimitError } from './limits';

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

const ownCode = (code: unknown): code is string => typeof code === 'string' && Object.hasOwn(ErrorCode, code);

/**
 * What a resolver threw (Apollo's unwrapResolverError), or what graphql-ws wrapped in a GraphQLError
 * without a path or a code: an error a subscription's stream threw, or a refusal of its hooks
 * (websocket.ts). A wrapper with a code of its own (Apollo's BAD_USER_INPUT around a variable's
 * coercion error) is what the client is told.
 */
function unwrap(error: unknown): unknown {
  const original = unwrapResolverError(error);
  if (
    original instanceof GraphQLError &&
    !original.path &&
    original.extensions?.code === undefined &&
    original.originalError &&
    !(original.originalError instanceof GraphQLError)
  )
    return original.originalError;
  return original;
}

/**
 * The error a client is told about: Apollo wraps what validation rules report (the operation
 * limits) in its own GRAPHQL_VALIDATION_FAILED error, and the parser's token limit is a plain
 * syntax error; both are answered as the QUERY_TOO_COMPLEX they are.
 */
function clientError(error: unknown): unknown {
  const original = unwrap(error);
  if (!(original instanceof GraphQLError)) return databaseUnavailable(original) ?? original;
  const code = original.extensions?.code;
  if (
    code === 'GRAPHQL_VALIDATION_FAILED' &&
    original.originalError instanceof GraphQLError &&
    ownCode(original.originalError.extensions?.code)
  ) {
    return original.originalError;
  }
  if (code === 'GRAPHQL_PARSE_FAILED') return tokenLimitError(original) ?? original;
  return original;
}

/** The `extensions.code` of any error that reaches a client: a domain code, or one of Apollo's above. */
export function errorCode(error: unknown): string {
  const original = clientError(error);
  if (original instanceof DomainError) return original.code;
  if (original instanceof GraphQLError) {
    const code = original.extensions?.code;
    if (typeof code === 'string' && (APOLLO_CODES.has(code) || ownCode(code))) return code;
  }
  return ErrorCode.INTERNAL_SERVER_ERROR;
}

/**
 * Apollo's formatError hook. Domain errors keep their message and details; unexpected errors are
 * masked (logged in full elsewhere, with the request id) unless in development.
 */
export function formatError(development: boolean) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = clientError(error);
    const code = errorCode(error);
    const extensions: Record<string, unknown> = { ...formatted.extensions, code };
    if (original instanceof DomainError && original.details) {
      Object.assign(extensions, { details: original.details });
      // Clients back off by this (HTTP 429 semantics); it is as visible as the code.
      if (typeof original.details.retryAfterMs === 'number') extensions.retryAfterMs = original.details.retryAfterMs;
    }
    if (original instanceof GraphQLError && original !== unwrapResolverError(error)) {
      // A limit's own error replaces Apollo's wrapper: its message and numbers, not the wrapper's.
      const { http: _http, ...own } = original.extensions;
      return {
        message: original.message,
        ...(formatted.locations ? { locations: formatted.locations } : {}),
        extensions: { ...own, code },
      };
    }
    if (code === ErrorCode.INTERNAL_SERVER_ERROR && !development) {
      delete extensions.stacktrace;
      return { message: 'Internal server error', ...(formatted.path ? { path: formatted.path } : {}), extensions };
    }
    if (!development) delete extensions.stacktrace;
    return { ...formatted, extensions };
  };
}

/** What every transport logs of the errors it sends: unexpected ones in full, database outages as warnings. */
export function logErrors(logger: Logger, errors: readonly GraphQLError[]): void {
  for (const error of errors) {
    const code = errorCode(error);
    if (code === ErrorCode.INTERNAL_SERVER_ERROR)
      logger.error({ err: error.originalError ?? error, path: error.path }, 'internal error');
    if (code === ErrorCode.UNAVAILABLE)
      logger.warn({ err: error.originalError ?? error, path: error.path }, 'the database is unavailable');
  }
}
