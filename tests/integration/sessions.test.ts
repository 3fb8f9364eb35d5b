import { createHash } from 'node:crypto';
import http from 'node:http';
import { Writable } from 'node:stream';
import pino from 'pino';
import { SessionRepository } from '../../src/auth/session.repository';
import { SessionService } from '../../src/auth/session.service';
import { loadConfig } from '../../src/config/config';
import { startServer, type RunningServer } from '../../src/http/server';
import { createTestApp, dbKind, registerGray, type GqlResult, type TestApp } from '../helpers/test-app';
import { sseText } from '../helpers/sse';

/** What a browser keeps of a Set-Cookie: the name=value pair it sends back. */
const cookiePair = (setCookie: string) => setCookie.split(';')[0]!;
const code = (r: GqlResult) => r.errors?.[0]?.extensions?.code ?? 'OK';
const VIEWER = `{ viewer { name role } }`;

/** Lines the app logged, at every level. */
function capturingLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level: 'trace' }, stream), lines };
}

/** A request with any Host header (fetch sets its own), for the cookie's attributes on other hosts. */
function raw(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe(`browser sessions over HTTP (${dbKind()})`, () => {
  let t: TestApp;
  let server: RunningServer;
  let url: string;
  const logs = capturingLogger();

  beforeAll(async () => {
    t = await createTestApp({ logger: logs.logger });
    server = await startServer(t.app, { port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${server.port}`;
    await registerGray(t);
  });
  afterAll(async () => {
    await server.close();
    await t.close();
  });

  async function signIn(key: string, headers: Record<string, string> = {}) {
    const res = await fetch(`${url}/auth/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: url, ...headers },
      body: JSON.stringify({ key }),
    });
    const body = (await res.json()) as any;
    const setCookie = res.headers.getSetCookie();
    return { res, body, setCookie, cookie: setCookie[0] ? cookiePair(setCookie[0]) : '' };
  }

  /** A GraphQL POST as a browser page of this origin sends it (JSON: Apollo's CSRF prevention lets it through). */
  async function gql(query: string, cookie: string, headers: Record<string, string> = {}) {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, ...headers },
      body: JSON.stringify({ query }),
    });
    return { status: res.status, ...((await res.json()) as GqlResult) };
  }

  const sessionOf = (cookie: string) =>
    t.app.db.prisma.session.findUnique({
      where: { tokenHash: createHash('sha256').update(cookie.split('=')[1]!).digest('hex') },
    });
  const getSession = (cookie: string) => fetch(`${url}/auth/session`, { headers: { cookie } });
  const logout = (cookie: string, headers: Record<string, string> = { origin: url }) =>
    fetch(`${url}/auth/logout`, { method: 'POST', headers: { cookie, ...headers } });
  const newKey = async (name: string, role: 'viewer' | 'operator' | 'admin') =>
    (await t.app.services.apiKeys.create(t.app.localActor(), name, role)).key;

  it('exchanges a key for an HttpOnly, SameSite=Strict, Secure __Host- cookie on a loopback host', async () => {
    const before = Date.now();
    const { res, body, setCookie } = await signIn(t.keys.admin);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(body).toEqual({
      role: 'admin',
      keyName: expect.stringMatching(/^test-admin-\d+$/),
      expiresAt: expect.any(String),
      idleExpiresAt: expect.any(String),
    });
    const expires = Date.parse(body.expiresAt);
    expect(expires).toBeGreaterThanOrEqual(before + 12 * 3600_000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 12 * 3600_000);
    expect(expires - Date.parse(body.idleExpiresAt)).toBe(11 * 3600_000);
    expect(setCookie).toHaveLength(1);
    expect(setCookie[0]).toMatch(
      /^__Host-modelgate_session=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=(43200|4319\d); HttpOnly; SameSite=Strict; Secure$/,
    );
    // Only the token's sha256 is stored.
    const token = cookiePair(setCookie[0]!).split('=')[1]!;
    const rows = await t.app.db.prisma.session.findMany();
    expect(JSON.stringify(rows)).not.toContain(token);
    expect(rows.map((r) => r.tokenHash)).toContain(createHash('sha256').update(token).digest('hex'));
  });

  it('names the cookie by what the browser keeps: plain on another http host, Secure on localhost and [::1]', async () => {
    const body = JSON.stringify({ key: t.keys.viewer });
    const post = (host: string) =>
      raw(`${url}/auth/session`, { method: 'POST', headers: { host, 'content-type': 'application/json' }, body });
    const plain = await post('gateway.example:4000');
    expect(plain.status).toBe(200);
    expect(plain.headers['set-cookie']![0]).toMatch(
      /^modelgate_session=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict$/,
    );
    for (const host of ['localhost:4000', '[::1]:4000']) {
      expect((await post(host)).headers['set-cookie']![0]).toMatch(/^__Host-modelgate_session=.*; Secure$/);
    }
    // The plain cookie is what that host reads (and the __Host- one is not).
    const pair = cookiePair(plain.headers['set-cookie']![0]!);
    const who = await raw(`${url}/auth/session`, { headers: { host: 'gateway.example:4000', cookie: pair } });
    expect([who.status, JSON.parse(who.body).role]).toEqual([200, 'viewer']);
    const secureName = `__Host-${pair}`;
    expect(
      (await raw(`${url}/auth/session`, { headers: { host: 'gateway.example:4000', cookie: secureName } })).status,
    ).toBe(401);
    // A forwarded scheme is not believed without TRUST_PROXY.
    const forwarded = await raw(`${url}/auth/session`, {
      method: 'POST',
      headers: { host: 'gateway.example', 'x-forwarded-proto': 'https', 'content-type': 'application/json' },
      body,
    });
    expect(forwarded.headers['set-cookie']![0]).toMatch(/^modelgate_session=/);
  });

  it('authenticates GraphQL with the cookie, as the key (role, rate limit), and prefers a Bearer key', async () => {
    const { cookie } = await signIn(t.keys.viewer);
    const viewer = await gql(VIEWER, cookie);
    expect(viewer.data).toEqual({ viewer: { name: expect.stringMatching(/^test-viewer-/), role: 'VIEWER' } });
    expect(code(await gql(`{ models { name } }`, cookie))).toBe('OK');
    const refused = await gql(
      `mutation { registerModel(input: { name: "x", labels: ["a"], inputSpec: { width: 1, height: 1, channels: 1 } }) { name } }`,
      cookie,
    );
    expect(code(refused)).toBe('FORBIDDEN');
    expect((await gql(VIEWER, cookie, { authorization: `Bearer ${t.keys.admin}` })).data!.viewer.role).toBe('ADMIN');
    // A session adds nothing to a key's rate: both spend the key's bucket.
    const limited = await createTestApp({
      config: { limits: { ...loadConfig({}).limits, rate: { viewer: 1, operator: 1, admin: 1 } } },
    });
    const s = await startServer(limited.app, { port: 0, host: '127.0.0.1' });
    try {
      const base = `http://127.0.0.1:${s.port}`;
      const res = await fetch(`${base}/auth/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ key: limited.keys.viewer }),
      });
      const c = cookiePair(res.headers.getSetCookie()[0]!);
      const call = (headers: Record<string, string>) =>
        fetch(`${base}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ query: VIEWER }),
        }).then((r) => r.status);
      expect(await call({ authorization: `Bearer ${limited.keys.viewer}` })).toBe(200);
      expect(await call({ cookie: c })).toBe(200);
      expect(await call({ cookie: c })).toBe(429);
    } finally {
      await s.close();
      await limited.close();
    }
  });

  it("keeps Apollo's CSRF prevention for cookie-authenticated GraphQL", async () => {
    const { cookie } = await signIn(t.keys.viewer);
    const query = encodeURIComponent(VIEWER);
    // What a page elsewhere can send without a preflight: a plain GET, a text/plain or form POST.
    const get = await fetch(`${url}/graphql?query=${query}`, { headers: { cookie } });
    expect(get.status).toBe(400);
    expect(await get.text()).toContain('CSRF');
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      const post = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': type, cookie },
        body: JSON.stringify({ query: VIEWER }),
      });
      expect([type, post.status]).toEqual([type, 400]);
    }
    const multipart = new FormData();
    multipart.set('operations', JSON.stringify({ query: VIEWER }));
    multipart.set('map', '{}');
    const upload = await fetch(`${url}/graphql`, { method: 'POST', headers: { cookie }, body: multipart });
    expect(upload.status).toBe(400);
    expect(await upload.text()).toContain('CSRF');
    // With the header only a same-origin page (or a non-browser client) can add, it runs.
    const preflighted = await fetch(`${url}/graphql?query=${query}`, {
      headers: { cookie, 'apollo-require-preflight': 'true' },
    });
    expect(preflighted.status).toBe(200);
    expect(((await preflighted.json()) as GqlResult).data!.viewer.role).toBe('VIEWER');
  });

  it('says who is signed in at GET /auth/session, and 401 otherwise', async () => {
    const { cookie, body } = await signIn(t.keys.operator);
    const res = await getSession(cookie);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ...body, idleExpiresAt: expect.any(String) });
    const none = await fetch(`${url}/auth/session`, { headers: { 'x-request-id': 'who-am-i' } });
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({
      errors: [
        {
          message: expect.stringContaining('not signed in'),
          extensions: { code: 'UNAUTHENTICATED', requestId: 'who-am-i' },
        },
      ],
    });
    const forged = `__Host-modelgate_session=${'A'.repeat(43)}`;
    expect((await getSession(forged)).status).toBe(401);
  });

  it('refuses a bad key with 401 and a malformed sign-in with 400, and never logs the key', async () => {
    const wrong = `${t.keys.admin.slice(0, 20)}${'x'.repeat(t.keys.admin.length - 20)}`;
    const bad = await signIn(wrong, { 'x-request-id': 'bad-sign-in' });
    expect(bad.res.status).toBe(401);
    expect(bad.body).toEqual({
      errors: [{ message: 'invalid API key', extensions: { code: 'UNAUTHENTICATED', requestId: 'bad-sign-in' } }],
    });
    expect(bad.setCookie).toEqual([]);
    const notJson = await fetch(`${url}/auth/session`, { method: 'POST', body: `key=${t.keys.admin}` });
    expect([notJson.status, code((await notJson.json()) as GqlResult)]).toEqual([400, 'BAD_USER_INPUT']);
    const big = await fetch(`${url}/auth/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: t.keys.admin, pad: 'x'.repeat(8192) }),
    });
    expect([big.status, code((await big.json()) as GqlResult)]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    const broken = await fetch(`${url}/auth/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"key": "${t.keys.admin}"`,
    });
    expect(broken.status).toBe(400);
    await signIn(t.keys.admin, { 'x-request-id': 'good-sign-in' });
    const logged = logs.lines.join('\n');
    expect(logged).toMatch(
      /"requestId":"good-sign-in","keyName":"test-admin-\d+".*"msg":"signed in \(browser session\)"/,
    );
    for (const secret of [t.keys.admin, wrong]) expect(logged).not.toContain(secret);
  });

  it('throttles failed sign-ins per address like any presented key (AUTH_FAILURES_PER_MINUTE)', async () => {
    const strict = await createTestApp({ config: { limits: { ...loadConfig({}).limits, authFailuresPerMinute: 2 } } });
    const s = await startServer(strict.app, { port: 0, host: '127.0.0.1' });
    try {
      const attempt = (key: string) =>
        fetch(`http://127.0.0.1:${s.port}/auth/session`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ key }),
        }).then(async (r) => [r.status, code((await r.json()) as GqlResult)]);
      const guess = (i: number) => `${strict.keys.admin.slice(0, 12)}guess-${i}-${'y'.repeat(20)}`;
      expect(await attempt(guess(1))).toEqual([401, 'UNAUTHENTICATED']);
      expect(await attempt(guess(2))).toEqual([401, 'UNAUTHENTICATED']);
      expect(await attempt(guess(3))).toEqual([429, 'RATE_LIMITED']);
    } finally {
      await s.close();
      await strict.close();
    }
  });

  it('ends the session on logout (204, cookie cleared, idempotent); the next request is 401', async () => {
    const { cookie } = await signIn(t.keys.viewer);
    expect(code(await gql(VIEWER, cookie))).toBe('OK');
    const out = await logout(cookie);
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie()).toEqual([
      '__Host-modelgate_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict; Secure',
    ]);
    expect(await sessionOf(cookie)).toBeNull();
    const after = await gql(VIEWER, cookie);
    expect([after.status, code(after)]).toEqual([401, 'UNAUTHENTICATED']);
    expect((await getSession(cookie)).status).toBe(401);
    expect((await logout(cookie)).status).toBe(204);
    expect((await fetch(`${url}/auth/logout`, { method: 'POST' })).status).toBe(204);
  });

  it('checks Origin on cookie-authenticated writes outside GraphQL, and on sign-in when sent', async () => {
    const { cookie } = await signIn(t.keys.viewer);
    const refused: Record<string, string>[] = [
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { origin: `http://127.0.0.1:${server.port + 1}` },
      { referer: 'https://evil.example/page' },
      {},
    ];
    for (const headers of refused) {
      const res = await logout(cookie, headers);
      expect([headers, res.status]).toEqual([headers, 403]);
      expect(((await res.json()) as GqlResult).errors![0]!.extensions!.code).toBe('FORBIDDEN');
    }
    expect(code(await gql(VIEWER, cookie))).toBe('OK');
    expect((await logout(cookie, { referer: `${url}/ui/models` })).status).toBe(204);
    // Login CSRF: another site cannot sign the browser in under its own key.
    const elsewhere = await signIn(t.keys.viewer, { origin: 'https://evil.example' });
    expect([elsewhere.res.status, elsewhere.setCookie]).toEqual([403, []]);
    const noOrigin = await fetch(`${url}/auth/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: t.keys.viewer }),
    });
    expect(noOrigin.status).toBe(200);
  });

  it('ends a session idle for SESSION_IDLE_MINUTES, and moves the idle expiry on with use', async () => {
    const { cookie, body } = await signIn(t.keys.viewer);
    const session = (await sessionOf(cookie))!;
    // 59 minutes ago: still valid, and this use is recorded (at most once a minute).
    await t.app.db.prisma.session.update({
      where: { id: session.id },
      data: { lastSeenAt: new Date(Date.now() - 59 * 60_000) },
    });
    const res = await getSession(cookie);
    expect(res.status).toBe(200);
    const moved = (await res.json()) as any;
    expect(Date.parse(moved.idleExpiresAt)).toBeGreaterThan(Date.now() + 59 * 60_000);
    expect(moved.expiresAt).toBe(body.expiresAt);
    const seen = (await sessionOf(cookie))!.lastSeenAt.getTime();
    expect(seen).toBeGreaterThan(Date.now() - 10_000);
    // A use within the minute writes nothing.
    expect(code(await gql(VIEWER, cookie))).toBe('OK');
    expect((await sessionOf(cookie))!.lastSeenAt.getTime()).toBe(seen);
    await t.app.db.prisma.session.update({
      where: { id: session.id },
      data: { lastSeenAt: new Date(Date.now() - 61 * 60_000) },
    });
    const idle = await gql(VIEWER, cookie);
    expect([idle.status, code(idle)]).toEqual([401, 'UNAUTHENTICATED']);
    expect(idle.errors![0]!.message).toContain('sign in again');
  });

  it('ends a session at its absolute expiry (SESSION_MAX_HOURS), however busy', async () => {
    const { cookie } = await signIn(t.keys.viewer);
    const session = (await sessionOf(cookie))!;
    await t.app.db.prisma.session.update({ where: { id: session.id }, data: { expiresAt: new Date(Date.now() - 1) } });
    expect((await getSession(cookie)).status).toBe(401);
    expect(code(await gql(VIEWER, cookie))).toBe('UNAUTHENTICATED');
  });

  it('follows SESSION_IDLE_MINUTES and SESSION_MAX_HOURS', async () => {
    const sessions = new SessionService(new SessionRepository(t.app.db.prisma), t.app.services.apiKeys, logs.logger, {
      idleMs: 5 * 60_000,
      maxMs: 3600_000,
    });
    const signed = await sessions.signIn(t.keys.viewer);
    const { createdAt } = (await sessionOf(`x=${signed.token}`))!;
    expect(signed.session.expiresAt.getTime() - createdAt.getTime()).toBe(3600_000);
    expect(signed.session.idleExpiresAt.getTime() - createdAt.getTime()).toBe(5 * 60_000);
    expect((await sessions.authenticate(signed.token)).actor).toEqual({
      name: expect.stringMatching(/^test-viewer-/),
      kind: 'key',
      role: 'viewer',
      via: 'session',
    });
  });

  it("ends a key's sessions when it is revoked: at once here, and when revoked by another process", async () => {
    const key = await newKey('browser-user', 'operator');
    const { cookie } = await signIn(key);
    expect(code(await gql(VIEWER, cookie))).toBe('OK');
    const revoked = await gql(`mutation { revokeApiKey(name: "browser-user") { revokedAt } }`, '', {
      authorization: `Bearer ${t.keys.admin}`,
    });
    expect(code(revoked)).toBe('OK');
    expect(await sessionOf(cookie)).toBeNull();
    const after = await gql(VIEWER, cookie);
    expect([after.status, code(after)]).toEqual([401, 'UNAUTHENTICATED']);
    // Revoked straight in the database (as another process might, bypassing this one's services).
    const other = await newKey('browser-user-2', 'viewer');
    const second = await signIn(other);
    await t.app.db.prisma.apiKey.update({ where: { name: 'browser-user-2' }, data: { revokedAt: new Date() } });
    expect(code(await gql(VIEWER, second.cookie))).toBe('UNAUTHENTICATED');
    // A role change applies on the next request too.
    const third = await signIn(await newKey('browser-user-3', 'viewer'));
    await t.app.db.prisma.apiKey.update({ where: { name: 'browser-user-3' }, data: { role: 'admin' } });
    expect((await gql(VIEWER, third.cookie)).data!.viewer.role).toBe('ADMIN');
  });

  it('streams comparison progress to a cookie (EventSource), and ends the stream on revocation or logout', async () => {
    const prisma = t.app.db.prisma;
    const version = await prisma.modelVersion.findFirstOrThrow();
    const dataset = await prisma.dataset.create({
      data: { name: 'sse', version: 1, labels: ['a'], itemCount: 1, digest: 'd', storageUri: 'x' },
    });
    const job = await prisma.comparison.create({
      data: {
        baselineId: version.id,
        candidateId: version.id,
        datasetId: dataset.id,
        requestKey: 'sse-test',
        total: 1,
        createdBy: 'test',
      },
    });
    const events = `${url}/comparisons/${job.id}/events`;
    expect((await fetch(events)).status).toBe(401);

    const open = async (cookie: string) => {
      // What EventSource sends: a plain GET with the cookie, no Authorization, no custom header.
      const res = await fetch(events, { headers: { accept: 'text/event-stream', cookie } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      return sseText(res);
    };

    const watcher = await signIn(await newKey('streamer', 'viewer'));
    const readRevoked = await open(watcher.cookie);
    expect(await readRevoked(/event: progress/)).toContain('"status":"QUEUED"');
    await gql(`mutation { revokeApiKey(name: "streamer") { revokedAt } }`, '', {
      authorization: `Bearer ${t.keys.admin}`,
    });
    expect(await readRevoked(/event: error/)).toMatch(/event: error\ndata: \{"code":"UNAUTHENTICATED"/);

    const leaving = await signIn(t.keys.viewer);
    const readLoggedOut = await open(leaving.cookie);
    await readLoggedOut(/event: progress/);
    expect((await logout(leaving.cookie)).status).toBe(204);
    expect(await readLoggedOut(/event: error/)).toMatch(/event: error\ndata: \{"code":"UNAUTHENTICATED"/);
    await readLoggedOut(/$^/);
    expect(t.app.streams.open).toBe(0);
  }, 30_000);
});

describe(`browser sessions across restarts and proxies (${dbKind()})`, () => {
  it('keeps a session when the gateway restarts on the same data', async () => {
    const first = await createTestApp({ pgliteOnDisk: true });
    let server = await startServer(first.app, { port: 0, host: '127.0.0.1' });
    const res = await fetch(`http://127.0.0.1:${server.port}/auth/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: first.keys.operator }),
    });
    const cookie = cookiePair(res.headers.getSetCookie()[0]!);
    await server.close();
    await first.close({ keep: true });

    const second = await createTestApp({ reuse: { dataDir: first.dataDir, databaseUrl: first.config.databaseUrl } });
    server = await startServer(second.app, { port: 0, host: '127.0.0.1' });
    try {
      const who = await fetch(`http://127.0.0.1:${server.port}/auth/session`, { headers: { cookie } });
      expect(who.status).toBe(200);
      expect(await who.json()).toMatchObject({ role: 'operator', keyName: expect.stringMatching(/^test-operator-/) });
    } finally {
      await server.close();
      await second.close();
    }
  });

  it('behind a TLS proxy (TRUST_PROXY), sets a Secure cookie and checks Origin against the public origin', async () => {
    const defaults = loadConfig({});
    const t = await createTestApp({ config: { http: { ...defaults.http, trustProxy: 'loopback' } } });
    const server = await startServer(t.app, { port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${server.port}`;
    const proxied = { host: 'gateway.example', 'x-forwarded-proto': 'https' };
    try {
      const signed = await raw(`${url}/auth/session`, {
        method: 'POST',
        headers: { ...proxied, 'content-type': 'application/json', origin: 'https://gateway.example' },
        body: JSON.stringify({ key: t.keys.viewer }),
      });
      expect(signed.status).toBe(200);
      const setCookie = signed.headers['set-cookie']![0]!;
      expect(setCookie).toMatch(/^__Host-modelgate_session=.*; Secure$/);
      const cookie = cookiePair(setCookie);
      const wrongScheme = await raw(`${url}/auth/logout`, {
        method: 'POST',
        headers: { ...proxied, cookie, origin: 'http://gateway.example' },
      });
      expect(wrongScheme.status).toBe(403);
      const out = await raw(`${url}/auth/logout`, {
        method: 'POST',
        headers: { ...proxied, cookie, origin: 'https://gateway.example' },
      });
      expect(out.status).toBe(204);
    } finally {
      await server.close();
      await t.close();
    }
  });
});
