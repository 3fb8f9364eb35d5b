import type { Prisma } from '../db/database';
import type { ApiKey, Session } from '../db/generated/client';

export type SessionRecord = Session;
export type SessionWithKey = Session & { apiKey: ApiKey };

/** Browser sessions, found by the sha256 of their token (the token itself is never stored). */
export class SessionRepository {
  constructor(private readonly prisma: Prisma) {}

  create(data: {
    tokenHash: string;
    apiKeyId: number;
    createdAt: Date;
    expiresAt: Date;
    userAgent: string | null;
  }): Promise<SessionRecord> {
    return this.prisma.session.create({ data: { ...data, lastSeenAt: data.createdAt } });
  }

  /** The session with its key, read afresh: a revocation or role change applies on the next request. */
  findByTokenHash(tokenHash: string): Promise<SessionWithKey | null> {
    return this.prisma.session.findUnique({ where: { tokenHash }, include: { apiKey: true } });
  }

  /** Moves lastSeenAt forward (never back: another gateway may have recorded a later request). */
  async touch(id: number, seenAt: Date): Promise<void> {
    await this.prisma.session.updateMany({ where: { id, lastSeenAt: { lt: seenAt } }, data: { lastSeenAt: seenAt } });
  }

  /** Whether a session was deleted. */
  async deleteByTokenHash(tokenHash: string): Promise<boolean> {
    return (await this.prisma.session.deleteMany({ where: { tokenHash } })).count > 0;
  }

  async deleteById(id: number): Promise<void> {
    await this.prisma.session.deleteMany({ where: { id } });
  }

  /** Sessions past their absolute expiry or idle since `idleSince`; returns how many. */
  async deleteExpired(now: Date, idleSince: Date): Promise<number> {
    const { count } = await this.prisma.session.deleteMany({
      where: { OR: [{ expiresAt: { lte: now } }, { lastSeenAt: { lte: idleSince } }] },
    });
    return count;
  }
}
