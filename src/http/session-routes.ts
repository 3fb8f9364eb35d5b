import express, { type Response } from 'express';
import type { App } from '../app';
import type { SessionState } from '../auth/session.service';
import { badInput } from '../common/errors';
import { sendError, type Guard } from './guard';
import { checkSameOrigin, sessionCookie, sessionToken } from './session-cookie';

/** { "key": "mg_..." } and nothing more. */
const SIGN_IN_BODY_BYTES = 4 * 1024;

const shown = (s: SessionState) => ({
  role: s.role,
  keyName: s.keyName,
  expiresAt: s.expiresAt.toISOString(),
  idleExpiresAt: s.idleExpiresAt.toISOString(),
});

/**
 * The browser's sign-in: POST /auth/session exchanges an API key (JSON { "key" }) for a session
 * cookie (HttpOnly, SameSite=Strict, Secure and __Host- where the browser keeps them);
 * GET /auth/session says who is signed in; POST /auth/logout ends the session and clears the cookie.
 */
export function sessionRoutes(app: App, guard: Guard): express.Router {
  const router = express.Router();
  const noStore = (res: Response) => res.setHeader('cache-control', 'no-store');

  router.post(
    '/auth/session',
    (req, res, next) => {
      // Login CSRF: a page elsewhere must not sign the browser in under its own key.
      try {
        checkSameOrigin(req, { required: false });
        next();
      } catch (e) {
        sendError(app, res, e, { bodyUnread: true });
      }
    },
    express.json({ limit: SIGN_IN_BODY_BYTES }),
    async (req, res) => {
      noStore(res);
      try {
        const key = (req.body as { key?: unknown } | undefined)?.key;
        if (typeof key !== 'string' || key === '')
          throw badInput('send the API key as JSON, { "key": "mg_..." }, with content-type: application/json');
        const signed = await guard.signIn(req, key);
        // Signing in again replaces the browser's previous session.
        const previous = sessionToken(req);
        if (previous !== undefined)
          await app.services.sessions
            .signOut(previous)
            .catch((err) =>
              app.logger.warn({ err, requestId: res.locals.requestId }, 'could not end the previous session'),
            );
        const maxAge = Math.max(0, Math.floor((signed.session.expiresAt.getTime() - Date.now()) / 1000));
        res.append('set-cookie', sessionCookie(req, signed.token, maxAge));
        app.logger.info(
          { requestId: res.locals.requestId, keyName: signed.actor.name, address: req.socket.remoteAddress },
          'signed in (browser session)',
        );
        res.json(shown(signed.session));
      } catch (e) {
        sendError(app, res, e);
      }
    },
  );

  router.get('/auth/session', async (req, res) => {
    noStore(res);
    try {
      res.json(shown(await guard.session(req)));
    } catch (e) {
      sendError(app, res, e);
    }
  });

  router.post('/auth/logout', async (req, res) => {
    noStore(res);
    try {
      const token = sessionToken(req);
      if (token !== undefined) {
        checkSameOrigin(req, { required: true });
        if (await app.services.sessions.signOut(token))
          app.logger.info({ requestId: res.locals.requestId }, 'signed out (browser session)');
      }
      res.append('set-cookie', sessionCookie(req, '', 0));
      res.status(204).end();
    } catch (e) {
      sendError(app, res, e);
    }
  });

  return router;
}
