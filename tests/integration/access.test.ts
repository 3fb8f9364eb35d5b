import { startServer, type RunningServer } from '../../src/http/server';
import { createTestApp, dbKind, fixture, registerGray, type GqlResult, type TestApp } from '../helpers/test-app';

interface HttpResult extends GqlResult {
  status: number;
}

describe(`access control over HTTP (${dbKind()})`, () => {
  let t: TestApp;
  let server: RunningServer;

  async function post(
    query: string,
    variables: Record<string, unknown> = {},
    key?: string | null,
    headers: Record<string, string> = {},
  ): Promise<HttpResult> {
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
      body: JSON.stringify({ query, variables }),
    });
    return { status: res.status, ...((await res.json()) as GqlResult) };
  }
  const code = (r: GqlResult) => r.errors?.[0]?.extensions?.code ?? 'OK';

  const OPS = {
    read: `{ models { name } }`,
    readVersion: `{ modelVersion(ref: { model: "gray" }) { version } }`,
    registerModel:
      `mutation($name: String!) { registerModel(input: { name: $name, labels: ["a","b","c"], ` +
      `inputSpec: { width: 8, height: 8, channels: 1 } }) { name } }`,
    registerVersion: `mutation($file: String!) { registerVersion(input: { model: "gray", artifactPath: $file }) { version } }`,
    setAlias: `mutation($alias: String!) { setAlias(model: "gray", alias: $alias, version: 1) { name } }`,
    removeAlias: `mutation($alias: String!) { removeAlias(model: "gray", alias: $alias) }`,
    apiKeys: `{ apiKeys { name role } }`,
    createKey: `mutation($name: String!) { createApiKey(name: $name, role: VIEWER) { key apiKey { name role } } }`,
  };

  beforeAll(async () => {
    t = await createTestApp();
    server = await startServer(t.app, { port: 0, host: '127.0.0.1' });
    await registerGray(t);
  });
  afterAll(async () => {
    await server.close();
    await t.close();
  });

  it('serves /healthz and /readyz (database reachable, migrations applied), with details only for a key holder', async () => {
    expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const anonymous = await fetch(`${server.url}/readyz`);
    expect(anonymous.status).toBe(200);
    expect(await anonymous.json()).toEqual({ status: 'ready' });
    const keyed = await fetch(`${server.url}/readyz`, { headers: { authorization: `Bearer ${t.keys.viewer}` } });
    expect(await keyed.json()).toMatchObject({
      status: 'ready',
      database: t.app.db.kind,
      migrations: { pending: [], failed: [] },
    });
  });

  it('refuses anonymous callers with UNAUTHENTICATED (ANONYMOUS_READ is off by default)', async () => {
    expect(code(await post(OPS.read))).toBe('UNAUTHENTICATED');
    expect(code(await post(OPS.registerModel, { name: 'x' }))).toBe('UNAUTHENTICATED');
  });

  it('refuses an unknown, malformed or revoked key with HTTP 401 and UNAUTHENTICATED', async () => {
    const unknown = await post(OPS.read, {}, 'mg_not-a-real-key-at-all-0000000');
    expect([unknown.status, code(unknown)]).toEqual([401, 'UNAUTHENTICATED']);
    const malformed = await post(OPS.read, {}, null, { authorization: 'Basic abc' });
    expect([malformed.status, code(malformed)]).toEqual([401, 'UNAUTHENTICATED']);
    const created = await post(OPS.createKey, { name: 'short-lived' }, t.keys.admin);
    const key = created.data!.createApiKey.key as string;
    expect(code(await post(OPS.read, {}, key))).toBe('OK');
    expect(code(await post(`mutation { revokeApiKey(name: "short-lived") { revokedAt } }`, {}, t.keys.admin))).toBe(
      'OK',
    );
    const revoked = await post(OPS.read, {}, key);
    expect([revoked.status, code(revoked), revoked.errors?.[0]?.message]).toEqual([
      401,
      'UNAUTHENTICATED',
      'the API key was revoked',
    ]);
  });

  it('lets a viewer read but not write', async () => {
    expect(code(await post(OPS.read, {}, t.keys.viewer))).toBe('OK');
    expect(code(await post(OPS.readVersion, {}, t.keys.viewer))).toBe('OK');
    const refused = await post(OPS.registerModel, { name: 'v' }, t.keys.viewer);
    expect(code(refused)).toBe('FORBIDDEN');
    expect(refused.errors![0]!.message).toMatch(
      /needs role operator or higher; the key "test-viewer-\d+" has role viewer/,
    );
    expect(code(await post(OPS.registerVersion, { file: fixture('gray8x8-3class.onnx') }, t.keys.viewer))).toBe(
      'FORBIDDEN',
    );
    expect(code(await post(OPS.setAlias, { alias: 'staging' }, t.keys.viewer))).toBe('FORBIDDEN');
  });

  it('lets an operator write the registry and move ordinary aliases, but not pinned ones or keys', async () => {
    expect(code(await post(OPS.registerModel, { name: 'op-model' }, t.keys.operator))).toBe('OK');
    expect(code(await post(OPS.registerVersion, { file: fixture('gray8x8-3class.onnx') }, t.keys.operator))).toBe('OK');
    expect(code(await post(OPS.setAlias, { alias: 'staging' }, t.keys.operator))).toBe('OK');
    expect(code(await post(OPS.removeAlias, { alias: 'staging' }, t.keys.operator))).toBe('OK');
    for (const pinned of ['champion', 'baseline']) {
      const refused = await post(OPS.setAlias, { alias: pinned }, t.keys.operator);
      expect([pinned, code(refused)]).toEqual([pinned, 'FORBIDDEN']);
      expect(refused.errors![0]!.message).toContain(`the pinned alias "${pinned}"`);
      expect(code(await post(OPS.removeAlias, { alias: pinned }, t.keys.operator))).toBe('FORBIDDEN');
    }
    expect(code(await post(OPS.apiKeys, {}, t.keys.operator))).toBe('FORBIDDEN');
    expect(code(await post(OPS.createKey, { name: 'nope' }, t.keys.operator))).toBe('FORBIDDEN');
  });

  it('lets an admin move pinned aliases and manage keys; secrets are never listed', async () => {
    expect(code(await post(OPS.setAlias, { alias: 'champion' }, t.keys.admin))).toBe('OK');
    expect(code(await post(OPS.removeAlias, { alias: 'champion' }, t.keys.admin))).toBe('OK');
    const listed = await post(`{ apiKeys { name role prefix } }`, {}, t.keys.admin);
    expect(code(listed)).toBe('OK');
    expect(JSON.stringify(listed.data)).not.toContain(t.keys.viewer);
    expect(listed.data!.apiKeys.map((k: any) => k.role)).toEqual(
      expect.arrayContaining(['VIEWER', 'OPERATOR', 'ADMIN']),
    );
    expect(code(await post(`{ viewer { name role } }`, {}, t.keys.admin))).toBe('OK');
  });

  it("keeps Apollo's CSRF prevention: a simple GET without a preflight header is refused", async () => {
    const res = await fetch(`${server.url}/graphql?query=${encodeURIComponent('{ models { name } }')}`, {
      headers: { authorization: `Bearer ${t.keys.admin}` },
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('CSRF');
  });

  it('answers unreadable, oversized and misdirected requests with a code and no stack trace', async () => {
    const bad = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{bad json',
    });
    expect(bad.status).toBe(400);
    const badBody = await bad.text();
    expect(JSON.parse(badBody).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(badBody).not.toMatch(/node_modules|at JSON\.parse/);
    const big = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ models { name } }`, variables: { pad: 'x'.repeat(31 * 1024 * 1024) } }),
    });
    expect(big.status).toBe(413);
    expect(((await big.json()) as GqlResult).errors![0]!.extensions!.code).toBe('PAYLOAD_TOO_LARGE');
    const missing = await fetch(`${server.url}/nope`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as GqlResult).errors![0]!.extensions!.code).toBe('NOT_FOUND');
  });

  it('stamps a request id on responses and errors', async () => {
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'trace-123' },
      body: JSON.stringify({ query: OPS.read }),
    });
    expect(res.headers.get('x-request-id')).toBe('trace-123');
    const body = (await res.json()) as GqlResult;
    expect(body.errors![0]!.extensions).toMatchObject({ code: 'UNAUTHENTICATED', requestId: 'trace-123' });
  });
});

describe(`ANONYMOUS_READ and the first admin key (${dbKind()})`, () => {
  it('with ANONYMOUS_READ=true, anonymous callers read but cannot write', async () => {
    const t = await createTestApp({ config: { anonymousRead: true } });
    try {
      expect((await t.gql(`{ models { name } }`)).errors).toBeUndefined();
      expect((await t.gql(`{ viewer { name role } }`)).data).toEqual({ viewer: { name: 'anonymous', role: 'VIEWER' } });
      const refused = await t.gql(
        `mutation { registerModel(input: { name: "m", labels: ["a"], inputSpec: { width: 1, height: 1, channels: 1 } }) { name } }`,
      );
      expect(refused.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
    } finally {
      await t.close();
    }
  });

  it('applies a revocation made elsewhere (another gateway, the CLI) on the next request', async () => {
    const t = await createTestApp();
    try {
      expect((await t.app.authenticate(`Bearer ${t.keys.operator}`)).role).toBe('operator');
      // As another process would: straight in the database, bypassing this process's services.
      await t.app.db.prisma.apiKey.updateMany({ where: { role: 'operator' }, data: { revokedAt: new Date() } });
      await expect(t.app.authenticate(`Bearer ${t.keys.operator}`)).rejects.toThrow('the API key was revoked');
      await t.app.db.prisma.apiKey.updateMany({ where: { role: 'viewer' }, data: { role: 'admin' } });
      expect((await t.app.authenticate(`Bearer ${t.keys.viewer}`)).role).toBe('admin');
    } finally {
      await t.close();
    }
  });

  it('lets gateways race on the first start: exactly one creates the admin key', async () => {
    const t = await createTestApp();
    try {
      await t.app.db.prisma.apiKey.deleteMany();
      const results = await Promise.all([1, 2, 3].map(() => t.app.services.apiKeys.bootstrap(undefined)));
      expect(results.filter((r) => r !== null)).toHaveLength(1);
      expect(await t.app.db.prisma.apiKey.count()).toBe(1);
    } finally {
      await t.close();
    }
  });

  it('refuses an ADMIN_API_KEY that clashes with another key or was revoked', async () => {
    const t = await createTestApp();
    try {
      const keys = t.app.services.apiKeys;
      const chosen = 'chosen-admin-key-0123456789abcdef';
      await keys.bootstrap(chosen);
      await expect(keys.bootstrap(chosen.slice(0, 12) + 'something-else-entirely')).rejects.toThrow(
        'invalid configuration: ADMIN_API_KEY shares its first 12 characters with the existing key',
      );
      const stored = await t.app.db.prisma.apiKey.findFirstOrThrow({ where: { prefix: chosen.slice(0, 12) } });
      await keys.revoke(t.app.localActor(), stored.name);
      await expect(keys.bootstrap(chosen)).rejects.toThrow(/ADMIN_API_KEY is the key ".*", which was revoked/);
    } finally {
      await t.close();
    }
  });

  it('creates an admin key on first start only, or takes ADMIN_API_KEY', async () => {
    const t = await createTestApp();
    try {
      const keys = t.app.services.apiKeys;
      // The test app already holds keys: nothing new is created.
      expect(await keys.bootstrap(undefined)).toBeNull();
      await t.app.db.prisma.apiKey.deleteMany();
      const created = await keys.bootstrap(undefined);
      expect(created).toMatchObject({ apiKey: { name: 'admin', role: 'admin' } });
      expect(created!.key).toMatch(/^mg_[A-Za-z0-9_-]{32}$/);
      expect(await keys.authenticate(created!.key)).toEqual({ name: 'admin', kind: 'key', role: 'admin' });
      expect(await keys.bootstrap(undefined)).toBeNull();
      // Only a hash is stored.
      const row = await t.app.db.prisma.apiKey.findUniqueOrThrow({ where: { name: 'admin' } });
      expect(row.hash).not.toContain(created!.key.slice(12));
      expect(row.hash).toMatch(/^scrypt\$/);

      const chosen = 'chosen-admin-key-0123456789abcdef';
      expect(await keys.bootstrap(chosen)).toMatchObject({ apiKey: { role: 'admin' } });
      expect((await keys.authenticate(chosen)).role).toBe('admin');
      expect(await keys.bootstrap(chosen)).toBeNull();
    } finally {
      await t.close();
    }
  });
});
