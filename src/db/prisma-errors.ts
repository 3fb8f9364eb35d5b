import { conflict, notFound } from '../common/errors';
import { Prisma as P } from './generated/client';

/**
 * Maps Prisma's known request errors to domain errors at the repository boundary; anything else
 * is rethrown unchanged and ends up as INTERNAL_SERVER_ERROR.
 */
export function translatePrismaError(
  e: unknown,
  messages: { unique?: string; notFound?: string; foreignKey?: string } = {},
): unknown {
  if (e instanceof P.PrismaClientKnownRequestError) {
    switch (e.code) {
      case 'P2002':
        return conflict(messages.unique ?? 'a record with the same unique values already exists');
      case 'P2025':
        return notFound(messages.notFound ?? 'record not found');
      case 'P2003':
        return conflict(messages.foreignKey ?? 'the change would break a reference between records');
      case 'P2034':
        return conflict('the write conflicted with a concurrent one; retry');
    }
  }
  return e;
}
