import fs from 'node:fs';
import path from 'node:path';
import express, { type Request } from 'express';

/** Where `npm run build` puts the admin UI: dist/ui beside dist/http (or src/http when run from source). */
export const UI_DIR = path.resolve(__dirname, '..', '..', 'dist', 'ui');

/** Paths that belong to the API even when a browser asks for HTML. */
const API_PREFIXES = ['/graphql', '/auth/', '/metrics', '/healthz', '/readyz', '/assets/'];
const API_ROUTES = [/^\/comparisons\/[^/]+\/(events|items\.csv)$/, /^\/datasets\/[^/]+\/items\//];

const wantsPage = (req: Request): boolean =>
  (req.method === 'GET' || req.method === 'HEAD') &&
  !API_PREFIXES.some((p) => req.path.startsWith(p)) &&
  !API_ROUTES.some((r) => r.test(req.path)) &&
  req.accepts(['json', 'html']) === 'html';

/**
 * The admin UI: hashed assets cached for good, and every page URL answered with the app's shell
 * (no auth needed: a SameSite=Strict cookie is not sent on a first navigation from elsewhere, and
 * the app signs in itself). Null when the UI has not been built.
 */
export function uiRoutes(dir = UI_DIR): express.Router | null {
  const index = path.join(dir, 'index.html');
  if (!fs.existsSync(index)) return null;
  const shell = fs.readFileSync(index);
  const graphiql = fs.existsSync(path.join(dir, 'graphiql.html'))
    ? fs.readFileSync(path.join(dir, 'graphiql.html'))
    : null;
  const router = express.Router();
  router.use('/assets', express.static(path.join(dir, 'assets'), { immutable: true, maxAge: '1y', index: false }));
  const send = (body: Buffer) => (_req: Request, res: express.Response) => {
    res.setHeader('cache-control', 'no-cache');
    res.type('html').send(body);
  };
  if (graphiql) router.get('/graphiql', send(graphiql));
  router.use((req, res, next) => (wantsPage(req) ? send(shell)(req, res) : next()));
  return router;
}
