import { forbidden, unauthenticated } from '../common/errors';
import { ROLES, type Role } from '../config/config';

/** Who is calling: resolved once per request (HTTP) or per command (CLI), checked by services. */
export interface Actor {
  /** Recorded in histories (alias moves): the key's name, "local:<user>" or "anonymous". */
  readonly name: string;
  readonly kind: 'key' | 'local' | 'anonymous';
  /** Null: may do nothing (anonymous without ANONYMOUS_READ). */
  readonly role: Role | null;
  /**
   * 'session': the key's holder signed in from a browser (the session cookie): the same name, role
   * and limits as the key. Absent: the key itself was sent (or not a key at all).
   */
  readonly via?: 'session';
}

export const anonymousActor = (anonymousRead: boolean): Actor => ({
  name: 'anonymous',
  kind: 'anonymous',
  role: anonymousRead ? 'viewer' : null,
});

/** The operating-system user running the CLI against the data directory: it owns the data anyway. */
export const localActor = (user: string): Actor => ({ name: `local:${user}`, kind: 'local', role: 'admin' });

export function hasRole(actor: Actor, needed: Role): boolean {
  return actor.role !== null && ROLES.indexOf(actor.role) >= ROLES.indexOf(needed);
}

/** UNAUTHENTICATED when no credentials were presented, FORBIDDEN when they rank too low. */
export function requireRole(actor: Actor, needed: Role, action: string): void {
  if (hasRole(actor, needed)) return;
  if (actor.kind === 'anonymous') {
    throw unauthenticated(
      `${action} needs an API key with role ${needed} or higher: send "Authorization: Bearer <key>"`,
    );
  }
  throw forbidden(`${action} needs role ${needed} or higher; the key "${actor.name}" has role ${actor.role ?? 'none'}`);
}
