import { DomainError } from '../../src/common/errors';
import { databaseUnavailable } from '../../src/db/availability';
import { Prisma } from '../../src/db/generated/client';

/** Errors as each layer throws them when the database is away, and some that are not about that. */
describe('databaseUnavailable', () => {
  const known = (code: string, message: string) =>
    new Prisma.PrismaClientKnownRequestError(message, { code, clientVersion: '7' });
  const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

  it.each([
    ['Prisma cannot reach the server', known('P1001', "Can't reach database server at 127.0.0.1:5432")],
    ['Prisma pool timeout', known('P2024', 'Timed out fetching a new connection from the connection pool.')],
    [
      'a driver error carrying SQLSTATE 57P03',
      known(
        'P2039',
        'Invalid `prisma.apiKey.findUnique()` invocation: Code: `57P03`. Message: `the database system is shutting down`',
      ),
    ],
    ['pg: terminated by the administrator', pgError('57P01', 'terminating connection due to administrator command')],
    ['pg: connection exception', pgError('08006', 'connection failure')],
    ['pg: refused', pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')],
    ['pg: no answer', new Error('Query read timeout')],
    ['pg: no connection in time', new Error('timeout exceeded when trying to connect')],
    ['a wrapped cause', new Error('outer', { cause: new Error('Connection terminated unexpectedly') })],
  ])('%s is UNAVAILABLE with retryAfterMs', (_name, error) => {
    const mapped = databaseUnavailable(error);
    expect(mapped).toBeInstanceOf(DomainError);
    expect(mapped).toMatchObject({ code: 'UNAVAILABLE', details: { retryAfterMs: 1000 } });
  });

  it.each([
    ['a unique violation', known('P2002', 'Unique constraint failed')],
    ['a syntax error', pgError('42601', 'syntax error at or near "x"')],
    ['a domain error', new DomainError('NOT_FOUND', 'no model')],
    ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'x')")],
  ])('%s is not', (_name, error) => {
    expect(databaseUnavailable(error)).toBeNull();
  });
});
