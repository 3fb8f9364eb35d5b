import type { Request } from 'express';
import { forbidden } from '../common/errors';

/** The cookie's name where it can be Secure (https, or a loopback host): the __Host- prefix pins it to this host and path /. */
export const SECURE_SESSION_COOKIE = '__Host-modelgate_session';
/** Its name over plain http to another host, where browsers refuse Secure cookies. */
export const SESSION_COOKIE = 'modelgate_session';
/** Browsers keep Secure cookies over plain http on these hosts (they are "potentially trustworthy"). */
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Whether the session cookie is Secure with the __Host- prefix: https (TRUST_PROXY decides what says so) or a loopback host. */
function secureContext(req: Request): boolean {
  return req.secure || LOOPBACK.has(req.hostname);
}

const cookieName = (req: Request) => (secureContext(req) ? SECURE_SESSION_COOKIE : SESSION_COOKIE);

/** The session token the request's cookie carries (the name this context uses only); undefined: none. */
export function sessionToken(req: Request): string | undefined {
  const header = req.header('cookie');
  if (!header) return undefined;
  const name = cookieName(req);
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    const value = pair.slice(eq + 1).trim();
    // A cleared cookie some client still sends is no session.
    return value === '' ? undefined : value;
  }
  return undefined;
}

/** The Set-Cookie value for a session token ('' and 0 clear it). */
export function sessionCookie(req: Request, value: string, maxAgeSeconds: number): string {
  const secure = secureContext(req);
  return [
    `${secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE}=${value}`,
    'Path=/',
    `Max-Age=${maxAgeSeconds}`,
    'HttpOnly',
    'SameSite=Strict',
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}

/** Whether a request is a write that only an Origin check protects when it comes with the session cookie. */
export const unsafeMethod = (req: Request) => !SAFE_METHODS.has(req.method);

/**
 * Refuses (FORBIDDEN) a request whose Origin (absent: Referer) is another origin than the request's
 * own, scheme, host and port, as TRUST_PROXY lets the request tell them. `required`: a request with
 * neither header is refused too (browsers send Origin with every POST).
 */
export function checkSameOrigin(req: Request, opts: { required: boolean }): void {
  const origin = req.header('origin');
  const referer = req.header('referer');
  const claimed = origin ?? (referer === undefined ? undefined : originOf(referer));
  if (origin === undefined && referer === undefined) {
    if (opts.required)
      throw forbidden('a request signed in with the session cookie must carry an Origin (or Referer) header');
    return;
  }
  const own = req.host ? originOf(`${req.protocol}://${req.host}`) : null;
  if (claimed === undefined || claimed === null || own === null || claimed !== own)
    throw forbidden(
      `cross-origin request refused: it comes from ${claimed ?? 'an unknown origin'}, not from ${own ?? 'this gateway'}`,
    );
}

function originOf(url: string): string | null {
  try {
    const { origin } = new URL(url);
    return origin === 'null' ? null : origin;
  } catch {
    return null;
  }
}
