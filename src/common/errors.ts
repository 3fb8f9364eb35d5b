/**
 * Domain errors: the one place error codes are defined. The GraphQL layer copies `code` into
 * `extensions.code`; the CLI prints it. Domain code throws these and never imports GraphQL.
 */
export const ErrorCode = {
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  INVALID_IMAGE: 'INVALID_IMAGE',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  MODEL_NOT_READY: 'MODEL_NOT_READY',
  MODEL_LOAD_FAILED: 'MODEL_LOAD_FAILED',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  /** The operation is over a GraphQL limit (depth, aliases, tokens, size, directives, cost): refused before it ran. */
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  /** The caller's key spent its request budget: retry after `retryAfterMs`. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** A bounded queue or pool is full (inference, comparisons, streams): retry after `retryAfterMs`. */
  RESOURCE_EXHAUSTED: 'RESOURCE_EXHAUSTED',
  TIMEOUT: 'TIMEOUT',
  /** The database cannot be reached or did not answer in time: retry after `retryAfterMs`. */
  UNAVAILABLE: 'UNAVAILABLE',
  /** A version's remote inference engine is failing (its circuit breaker is open): retry after `retryAfterMs`. */
  BACKEND_UNAVAILABLE: 'BACKEND_UNAVAILABLE',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Machine-readable facts a client may act on (field names, expected/actual values). */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

type Details = Record<string, unknown>;
const make =
  (code: ErrorCode) =>
  (message: string, details?: Details): DomainError =>
    new DomainError(code, message, details);
/** Retry-after codes carry `retryAfterMs` (whole milliseconds, at least 1) in their details. */
const makeRetryable =
  (code: ErrorCode) =>
  (message: string, retryAfterMs: number, details?: Details): DomainError =>
    new DomainError(code, message, { ...details, retryAfterMs: Math.max(1, Math.ceil(retryAfterMs)) });

// The one way domain code raises an error: a factory per code.
export const badInput = make(ErrorCode.BAD_USER_INPUT);
export const notFound = make(ErrorCode.NOT_FOUND);
export const conflict = make(ErrorCode.CONFLICT);
export const invalidImage = make(ErrorCode.INVALID_IMAGE);
export const payloadTooLarge = make(ErrorCode.PAYLOAD_TOO_LARGE);
export const modelNotReady = make(ErrorCode.MODEL_NOT_READY);
export const modelLoadFailed = make(ErrorCode.MODEL_LOAD_FAILED);
export const unauthenticated = make(ErrorCode.UNAUTHENTICATED);
export const forbidden = make(ErrorCode.FORBIDDEN);
export const queryTooComplex = make(ErrorCode.QUERY_TOO_COMPLEX);
export const timedOut = make(ErrorCode.TIMEOUT);
export const internalError = make(ErrorCode.INTERNAL_SERVER_ERROR);
/** The caller's key spent its budget (HTTP 429 semantics). */
export const rateLimited = makeRetryable(ErrorCode.RATE_LIMITED);
/** A full queue or pool: the client should retry after `retryAfterMs` (HTTP 429 semantics). */
export const exhausted = makeRetryable(ErrorCode.RESOURCE_EXHAUSTED);
/** The database cannot be reached or did not answer in time (HTTP 503). */
export const unavailable = makeRetryable(ErrorCode.UNAVAILABLE);
/** A remote inference engine cannot be reached or keeps failing (HTTP 503). */
export const backendUnavailable = makeRetryable(ErrorCode.BACKEND_UNAVAILABLE);

/**
 * The HTTP status a request-level failure answers with (GraphQL request errors, SSE, uploads):
 * one map for every route. Errors inside a GraphQL response that also carries data stay 200.
 */
export function httpStatus(code: string): number {
  switch (code) {
    case ErrorCode.UNAUTHENTICATED:
      return 401;
    case ErrorCode.FORBIDDEN:
      return 403;
    case ErrorCode.NOT_FOUND:
      return 404;
    case ErrorCode.CONFLICT:
      return 409;
    case ErrorCode.PAYLOAD_TOO_LARGE:
      return 413;
    case ErrorCode.RATE_LIMITED:
    case ErrorCode.RESOURCE_EXHAUSTED:
      return 429;
    case ErrorCode.TIMEOUT:
      return 504;
    case ErrorCode.MODEL_NOT_READY:
    case ErrorCode.MODEL_LOAD_FAILED:
    case ErrorCode.UNAVAILABLE:
    case ErrorCode.BACKEND_UNAVAILABLE:
      return 503;
    case ErrorCode.INTERNAL_SERVER_ERROR:
      return 500;
    default:
      return 400;
  }
}
