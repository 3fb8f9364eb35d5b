import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import sharp from 'sharp';
import { loadConfig } from '../../src/config/config';
import { startServer, type RunningServer } from '../../src/http/server';
import {
  createTestApp,
  dbKind,
  expectData,
  expectError,
  fixture,
  GRAY_MODEL,
  type GqlResult,
  type TestApp,
} from '../helpers/test-app';

const defaults = loadConfig({});
const PREDICT = `query($img: String!) { predict(ref: { model: "gray", version: 1 }, image: { base64: $img }, topK: 1) { top { label } } }`;
const image = () => readFileSync(fixture('png-renamed.onnx')).toString('base64'); // a real 8x8 PNG

interface HttpResult extends GqlResult {
  status: number;
  headers: Headers;
}

async function post(
  server: RunningServer,
  body: unknown,
  key?: string | null,
  headers: Record<string, string> = {},
): Promise<HttpResult> {
  const res = await fetch(`${server.url.replace('localhost', '127.0.0.1')}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, ...((await res.json()) as GqlResult) };
}

/** `{ models { versions { model { versions { ... } } } } }`, `depth` fields deep. */
function nested(depth: number): string {
  let inner = 'name';
  for (let level = depth - 2; level >= 1; level--)
    inner = level % 2 === 1 ? `versions { version ${inner} }` : `model { name ${inner} }`;
  return `{ models { ${inner} } }`;
}

async function registerGray(t: TestApp, name = 'gray', file = 'gray8x8-3class.onnx') {
  const actor = t.app.localActor();
  await t.app.services.models.register(actor, { ...GRAY_MODEL, name });
  await t.app.services.versions.register(actor, { model: name, artifactPath: fixture(file) });
}

describe(`GraphQL operation limits (${dbKind()})`, () => {
  let t: TestApp;
  let server: RunningServer;
  beforeAll(async () => {
    t = await createTestApp({
      config: {
        metrics: { token: 'metrics-token-for-the-tests-0123', port: 0, host: '127.0.0.1' },
        http: { ...defaults.http, headersTimeoutMs: 1000, requestTimeoutMs: 2000 },
      },
    });
    await registerGray(t);
    server = await startServer(t.app, { port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await server.close();
    await t.close();
  });

  it('refuses a 14-level query (Model.versions <-> ModelVersion.model) before running it, over HTTP with 400', async () => {
    const query = nested(14);
    expect(query.length).toBeLessThan(400);
    const r = await post(server, { query }, t.keys.viewer);
    expect(r.status).toBe(400);
    const error = expectError(r, 'QUERY_TOO_COMPLEX');
    expect(error.extensions).toMatchObject({ limit: 'depth', max: 10, actual: 14 });
    expect(error.message).toContain('GRAPHQL_MAX_DEPTH');
    expect((await fetch(`${server.url.replace('localhost', '127.0.0.1')}/healthz`)).status).toBe(200);
    // Within the depth limit, the same cycle is refused by its cost (lists multiply).
    expect(expectError(await t.gql(nested(8), {}, t.keys.viewer), 'QUERY_TOO_COMPLEX').extensions).toMatchObject({
      limit: 'cost',
      max: 50_000,
    });
  });

  it('refuses 300 aliased predictions (by their tokens, and their aliases), and runs none of them', async () => {
    const fields = Array.from(
      { length: 300 },
      (_, i) => `p${i}: predict(ref: { model: "gray", version: 1 }, image: { base64: $img }) { top { label } }`,
    ).join('\n');
    const error = expectError(
      await t.gql(`query($img: String!) { ${fields} }`, { img: image() }, t.keys.viewer),
      'QUERY_TOO_COMPLEX',
    );
    expect(error.extensions).toMatchObject({ limit: 'tokens', max: 2000 });
    const short = Array.from({ length: 25 }, (_, i) => `v${i}: viewer { name }`).join(' ');
    expect(expectError(await t.gql(`{ ${short} }`, {}, t.keys.viewer), 'QUERY_TOO_COMPLEX').extensions).toMatchObject({
      limit: 'aliases',
      max: 20,
      actual: 25,
    });
    expect(expectData(await t.gql(`{ loadedVersions { requests } }`, {}, t.keys.viewer)).loadedVersions).toEqual([]);
  });

  it('refuses documents over the token, size and directive limits, naming the measured value', async () => {
    const tokens = expectError(
      await t.gql(`{ viewer { ${'name '.repeat(2500)} } }`, {}, t.keys.viewer),
      'QUERY_TOO_COMPLEX',
    );
    expect(tokens.extensions).toMatchObject({ limit: 'tokens', max: 2000 });
    expect(tokens.extensions!.actual).toBeGreaterThanOrEqual(2500);
    const big = await post(server, { query: `# ${'x'.repeat(70 * 1024)}\n{ viewer { name } }` }, t.keys.viewer);
    expect(big.status).toBe(400);
    expect(expectError(big, 'QUERY_TOO_COMPLEX').extensions).toMatchObject({
      limit: 'size',
      max: 65_536,
      actual: 70 * 1024 + 22,
    });
    const directives = Array.from({ length: 25 }, () => '... on Query @include(if: true) { viewer { name } }').join(
      ' ',
    );
    expect(
      expectError(await t.gql(`{ ${directives} }`, {}, t.keys.viewer), 'QUERY_TOO_COMPLEX').extensions,
    ).toMatchObject({ limit: 'directives', max: 20, actual: 25 });
  });

  it('bounds every list by its page size: over the maximum is BAD_USER_INPUT, defaults apply', async () => {
    expect(
      expectError(await t.gql(`{ models(first: 501) { name } }`, {}, t.keys.viewer), 'BAD_USER_INPUT').message,
    ).toContain('first must be between 1 and 500');
    expect(
      expectError(
        await t.gql(`{ model(name: "gray") { versions(first: 1001) { version } } }`, {}, t.keys.viewer),
        'BAD_USER_INPUT',
      ).message,
    ).toContain('1000');
    expect(
      expectError(await t.gql(`{ datasets(first: 0) { name } }`, {}, t.keys.viewer), 'BAD_USER_INPUT'),
    ).toBeDefined();
    expect(
      expectData(
        await t.gql(
          `{ model(name: "gray") { versions(first: 1) { version } aliasHistory(first: 5) { alias } } }`,
          {},
          t.keys.viewer,
        ),
      ).model.versions,
    ).toEqual([{ version: 1 }]);
  });

  it('answers introspection to key holders only (NODE_ENV is not development here)', async () => {
    const INTROSPECT = `{ __schema { queryType { name } } }`;
    const anonymous = await post(server, { query: INTROSPECT });
    expect(anonymous.status).toBe(401);
    expectError(anonymous, 'UNAUTHENTICATED');
    expect(expectData(await post(server, { query: INTROSPECT }, t.keys.viewer)).__schema.queryType.name).toBe('Query');
    // A query asking only for __typename is not introspection.
    expect(expectData(await post(server, { query: `{ __typename }` }))).toEqual({ __typename: 'Query' });
  });

  it('refuses a multipart upload without a key before reading its body', async () => {
    const url = new URL(`${server.url.replace('localhost', '127.0.0.1')}/graphql`);
    const { status, sent, body } = await streamUpload(url, 100 * 2 ** 20);
    expect(status).toBe(401);
    expect(JSON.parse(body).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    // A few socket buffers' worth at most, not the 100 MB announced.
    expect(sent).toBeLessThan(16 * 2 ** 20);
  });

  it('answers a malformed multipart request with 400 BAD_USER_INPUT, not an internal error', async () => {
    const body = new FormData();
    body.set('operations', '{ not json');
    const res = await fetch(`${server.url.replace('localhost', '127.0.0.1')}/graphql`, {
      method: 'POST',
      body,
      headers: { authorization: `Bearer ${t.keys.viewer}`, 'apollo-require-preflight': 'true' },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as GqlResult).errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
  });

  it('limits request bodies without a key to 64 KB', async () => {
    const r = await post(server, { query: `{ viewer { name } }`, variables: { pad: 'x'.repeat(100 * 1024) } });
    expect(r.status).toBe(413);
    expectError(r, 'PAYLOAD_TOO_LARGE');
  });

  it('sends security headers and closes a connection whose headers never finish', async () => {
    const res = await fetch(`${server.url.replace('localhost', '127.0.0.1')}/healthz`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    const socket = net.connect(server.port, '127.0.0.1');
    let received = '';
    socket.on('data', (d) => (received += d.toString()));
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    await new Promise((resolve) => socket.on('close', resolve));
    expect(received).toContain('408');
  });

  it('serves /metrics to METRICS_TOKEN or an admin key on the main port, openly on METRICS_PORT', async () => {
    expectData(await post(server, { query: PREDICT, variables: { img: image() } }, t.keys.viewer));
    const url = `${server.url.replace('localhost', '127.0.0.1')}/metrics`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: `Bearer ${t.keys.viewer}` } })).status).toBe(403);
    expect((await fetch(url, { headers: { authorization: `Bearer ${t.keys.admin}` } })).status).toBe(200);
    const text = await (
      await fetch(url, { headers: { authorization: 'Bearer metrics-token-for-the-tests-0123' } })
    ).text();
    for (const expected of [
      /modelgate_graphql_requests_total\{operation="query:predict",outcome="OK"\} [1-9]/,
      /modelgate_graphql_request_duration_seconds_count\{operation="query:predict"\} [1-9]/,
      /modelgate_predict_duration_seconds_count\{model="gray",version="1",provider="cpu"\} [1-9]/,
      /modelgate_batch_size_count\{model="gray",version="1"\} [1-9]/,
      /modelgate_inference_queue_depth 0/,
      /modelgate_loaded_version_memory_bytes\{model="gray",version="1",state="READY",provider="cpu"\} [1-9]/,
      /modelgate_sse_streams 0/,
      /modelgate_nodejs_eventloop_lag_seconds /,
      /modelgate_process_resident_memory_bytes /,
    ]) {
      expect(text).toMatch(expected);
    }
    expect(text).toContain('# TYPE modelgate_nodejs_gc_duration_seconds histogram');
    expect(server.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(await (await fetch(server.metricsUrl!)).text()).toContain('modelgate_graphql_requests_total');
  });

  it('registers ADMIN_API_KEY and revokes the key an earlier value registered', async () => {
    const [first, second] = [
      `mg_${randomBytes(24).toString('base64url')}`,
      `mg_${randomBytes(24).toString('base64url')}`,
    ];
    const keys = t.app.services.apiKeys;
    await keys.bootstrap(first);
    expect((await t.app.authenticate(`Bearer ${first}`)).role).toBe('admin');
    const rotated = await keys.bootstrap(second);
    expect(rotated?.revoked).toHaveLength(1);
    await expect(t.app.authenticate(`Bearer ${first}`)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect((await t.app.authenticate(`Bearer ${second}`)).role).toBe('admin');
    expect(await keys.bootstrap(second)).toBeNull();
    await expect(keys.bootstrap(first)).rejects.toThrow(/was revoked/);
    // Keys created otherwise are untouched.
    expect((await t.app.authenticate(`Bearer ${t.keys.admin}`)).role).toBe('admin');
  });

  it('keeps the event loop free while a 7000x7000 PNG is preprocessed', async () => {
    const huge = await sharp({ create: { width: 7000, height: 7000, channels: 3, background: '#777777' } })
      .png({ compressionLevel: 9 })
      .toBuffer();
    let predictDone = false;
    const predict = t.gql(PREDICT, { img: huge.toString('base64') }, t.keys.viewer).finally(() => (predictDone = true));
    let answeredMeanwhile = 0;
    for (let i = 0; i < 20 && !predictDone; i++) {
      expectData(await post(server, { query: `{ model(name: "gray") { versions { version } } }` }, t.keys.operator));
      if (!predictDone) answeredMeanwhile++;
    }
    expect(expectData(await predict).predict.top).toHaveLength(1);
    expect(answeredMeanwhile).toBeGreaterThan(0);
  });
});

describe(`GraphQL cost: aliased predictions cost what a batch does (${dbKind()})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ config: { graphql: { ...defaults.graphql, maxCost: 5000 } } });
    await registerGray(t);
  });
  afterAll(() => t.close());

  it('refuses 10 aliased predicts and a 10-image predictBatch with the same measured cost', async () => {
    const aliased = Array.from(
      { length: 10 },
      (_, i) => `p${i}: predict(ref: { model: "gray", version: 1 }, image: { base64: $img }) { top { label } }`,
    ).join(' ');
    const a = expectError(
      await t.gql(`query($img: String!) { ${aliased} }`, { img: image() }, t.keys.viewer),
      'QUERY_TOO_COMPLEX',
    );
    const batch = `query($imgs: [ImageInput!]!) { predictBatch(ref: { model: "gray", version: 1 }, images: $imgs) { top { label } } }`;
    const b = expectError(
      await t.gql(batch, { imgs: Array.from({ length: 10 }, () => ({ base64: image() })) }, t.keys.viewer),
      'QUERY_TOO_COMPLEX',
    );
    expect(a.extensions).toMatchObject({ limit: 'cost', max: 5000 });
    expect(b.extensions!.actual).toBe(a.extensions!.actual);
    expect(
      expectData(await t.gql(batch, { imgs: Array.from({ length: 9 }, () => ({ base64: image() })) }, t.keys.viewer))
        .predictBatch,
    ).toHaveLength(9);
  });

  it('costs an operation again when a variable can change its cost (a page size, an @include)', async () => {
    const paged = `query($n: Int) { models(first: $n) { versions(first: $n) { version } } }`;
    expectData(await t.gql(paged, { n: 2 }, t.keys.viewer));
    expect(expectError(await t.gql(paged, { n: 200 }, t.keys.viewer), 'QUERY_TOO_COMPLEX').extensions).toMatchObject({
      limit: 'cost',
      actual: 200 * 201,
    });
    const included =
      `query($big: Boolean!) { models(first: 2) { name } ` +
      `... @include(if: $big) { all: models(first: 500) { versions(first: 500) { version } } } }`;
    expectData(await t.gql(included, { big: false }, t.keys.viewer));
    expectError(await t.gql(included, { big: true }, t.keys.viewer), 'QUERY_TOO_COMPLEX');
  });

  it('answers introspection anonymously in development', async () => {
    const dev = await createTestApp({ config: { nodeEnv: 'development' } });
    try {
      expect(expectData(await dev.gql(`{ __schema { queryType { name } } }`)).__schema.queryType.name).toBe('Query');
    } finally {
      await dev.close();
    }
  });
});

describe(`rate limits and failed-authentication throttling (${dbKind()})`, () => {
  let t: TestApp;
  let server: RunningServer;
  beforeAll(async () => {
    t = await createTestApp({
      config: { limits: { ...defaults.limits, rate: { viewer: 2, operator: 0, admin: 0 }, authFailuresPerMinute: 3 } },
    });
    server = await startServer(t.app, { port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await server.close();
    await t.close();
  });

  it('lets a viewer key burst to twice its rate, then answers 429 RATE_LIMITED with Retry-After; other keys are unaffected', async () => {
    const codes: string[] = [];
    let limited: HttpResult | undefined;
    for (let i = 0; i < 7; i++) {
      const r = await post(server, { query: `{ viewer { name } }` }, t.keys.viewer);
      codes.push(r.errors?.[0]?.extensions?.code ?? String(r.status));
      if (r.status === 429) limited ??= r;
    }
    expect(codes.slice(0, 4)).toEqual(['200', '200', '200', '200']);
    expect(codes.slice(4)).toContain('RATE_LIMITED');
    expect(limited!.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(limited!.errors![0]!.extensions!.retryAfterMs).toBeGreaterThan(0);
    expect((await post(server, { query: `{ viewer { name } }` }, t.keys.operator)).status).toBe(200);
    expect(await t.app.metrics.text()).toMatch(/modelgate_rejections_total\{reason="rate_limit"\} [1-9]/);
  });

  it('throttles failed authentications per address without blocking keys it already verified', async () => {
    const known = t.keys.admin;
    expect((await post(server, { query: `{ viewer { name } }` }, known)).status).toBe(200);
    // Keys that share a real key's prefix need the slow scrypt check: the flood the throttle stops.
    const forged = () => `${t.keys.operator.slice(0, 12)}${randomBytes(24).toString('base64url')}`;
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await post(server, { query: `{ viewer { name } }` }, forged())).status);
    expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
    expect(statuses.slice(3)).toEqual([429, 429]);
    expect((await post(server, { query: `{ viewer { name } }` }, known)).status).toBe(200);
    expect(await t.app.metrics.text()).toMatch(/modelgate_rejections_total\{reason="auth_throttle"\} [1-9]/);
  });
});

describe(`bounded inference queues (${dbKind()})`, () => {
  let t: TestApp;
  let server: RunningServer;
  beforeAll(async () => {
    // gray8x8-3class-slow.onnx takes about half a second per image: requests pile up behind it.
    t = await createTestApp({ config: { limits: { ...defaults.limits, queuePerVersion: 1, queueTotal: 2 } } });
    await registerGray(t, 'slow', 'gray8x8-3class-slow.onnx');
    await registerGray(t, 'gray');
    server = await startServer(t.app, { port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await server.close();
    await t.close();
  });

  it('refuses what does not fit with 429 RESOURCE_EXHAUSTED and retryAfterMs, and serves again once drained', async () => {
    const slow = `query($img: String!) { predict(ref: { model: "slow", version: 1 }, image: { base64: $img }) { top { label } } }`;
    const results = await Promise.all(
      Array.from({ length: 3 }, () => post(server, { query: slow, variables: { img: image() } }, t.keys.viewer)),
    );
    const refused = results.filter((r) => r.status === 429);
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(refused).toHaveLength(2);
    for (const r of refused) {
      expect(expectError(r, 'RESOURCE_EXHAUSTED').extensions!.retryAfterMs).toBeGreaterThanOrEqual(100);
      expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
    }
    expect(refused[0]!.errors![0]!.message).toContain('INFERENCE_QUEUE_PER_VERSION 1');
    expect((await post(server, { query: slow, variables: { img: image() } }, t.keys.viewer)).status).toBe(200);
    expect(await t.app.metrics.text()).toMatch(/modelgate_inference_queue_rejections [1-9]/);
  });
});

/** Streams a multipart body of `size` bytes without a key; what the server answers, and how much was sent by then. */
function streamUpload(url: URL, size: number): Promise<{ status: number; sent: number; body: string }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = http.request(url, {
      method: 'POST',
      headers: {
        'content-type': 'multipart/form-data; boundary=xyz',
        'content-length': String(size),
        'apollo-require-preflight': 'true',
      },
    });
    req.on('response', (res) => {
      answered = true;
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        resolve({ status: res.statusCode!, sent, body });
        req.destroy();
      });
    });
    req.on('error', (e) => {
      if (!answered) reject(e);
    });
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const pump = () => {
      while (!answered && sent < size) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}
