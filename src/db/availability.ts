import { DomainError, unavailable } from '../common/errors';

/** How long a client is told to wait before trying again while the database is unreachable. */
export const DATABASE_RETRY_MS = 1000;

// Prisma's connection-level codes (can't reach, timed out, closed, pool timeout, too many connections).
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2037']);
// Node's socket errors, and PostgreSQL's connection exceptions (class 08) and shutdown states (57P01-57P03).
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND']);
const SQLSTATE = /^(08\d{3}|57P0[123])$/;
// The same, as messages: the connection failed or timed out (Prisma, pg, pg-pool); the server is shutting down,
// starting up or ended the session (57P01-57P03); a pool or statement timeout; a class 08 or 57P0x code quoted by
// Prisma. MESSAGES is one alternation of these named pieces, in this order.
const CONNECTION_MESSAGES =
  /Can't reach database server|Connection terminated|timeout exceeded when trying to connect|Query read timeout/;
const SERVER_MESSAGES =
  /database system is (shutting down|starting up)|terminating connection due to administrator command/;
const TIMEOUT_MESSAGES = /Timed out fetching a new connection|canceling statement due to statement timeout/;
const QUOTED_CODE = /\bCode: `(08\d{3}|57P0[123])`/;
const MESSAGES = new RegExp(
  [CONNECTION_MESSAGES, SERVER_MESSAGES, TIMEOUT_MESSAGES, QUOTED_CODE].map((r) => r.source).join('|'),
);

/**
 * UNAVAILABLE (HTTP 503, retryAfterMs) when an error says the database cannot be reached or did not
 * answer in time, whichever layer threw it (Prisma, its driver adapter, pg); null for any other
 * error. Requests then fail fast with a code clients can retry on, instead of an internal error.
 */
export function databaseUnavailable(e: unknown): DomainError | null {
  if (e instanceof DomainError) return null;
  for (
    let err: unknown = e, depth = 0;
    err && typeof err === 'object' && depth < 5;
    err = (err as { cause?: unknown }).cause, depth++
  ) {
    const { code, message } = err as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (PRISMA_CODES.has(code) || SOCKET_CODES.has(code) || SQLSTATE.test(code)))
      return unavailableNow();
    if (typeof message === 'string' && MESSAGES.test(message)) return unavailableNow();
  }
  return null;
}

const unavailableNow = () =>
  unavailable('the database is unavailable or not answering; retry shortly', DATABASE_RETRY_MS);
