import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config/config';
import { startServer, type RunningServer } from '../../src/http/server';
import {
  createTestApp,
  dbKind,
  expectData,
  expectError,
  fixture,
  GRAY_MODEL,
  registerGray,
  type TestApp,
} from '../helpers/test-app';

const PROGRESS = `subscription($id: ID!) {
  comparisonProgress(id: $id) { id status progress itemsDone total etaSeconds verdict }
}`;
const START = `mutation($input: StartComparisonInput!) { startComparison(input: $input) { id status } }`;

/** What a subscription received: its results in order, then how it ended (if it has). */
interface Watched {
  results: FormattedExecutionResult<any, unknown>[];
  end: { completed: true } | { error: any } | undefined;
  /** Resolves once there are `n` results, or the subscription ended. */
  received(n: number): Promise<void>;
  /** Resolves once the subscription completed or failed, with how. */
  ended(): Promise<{ completed: true } | { error: any }>;
  dispose(): void;
}

function watch(client: Client, query: string, variables: Record<string, unknown> = {}): Watched {
  const waiting: (() => void)[] = [];
  const wake = () => waiting.splice(0).forEach((w) => w());
  const until = async (ready: () => boolean) => {
    while (!ready()) await new Promise<void>((r) => waiting.push(r));
  };
  const watched: Watched = {
    results: [],
    end: undefined,
    received: (n) => until(() => watched.results.length >= n || watched.end !== undefined),
    ended: async () => {
      await until(() => watched.end !== undefined);
      return watched.end!;
    },
    dispose: () => undefined,
  };
  watched.dispose = client.subscribe(
    { query, variables },
    {
      next: (r) => {
        watched.results.push(r);
        wake();
      },
      error: (error) => {
        watched.end = { error };
        wake();
      },
      complete: () => {
        watched.end = { completed: true };
        wake();
      },
    },
  );
  return watched;
}

/** Polls a condition of the server's state (no deadline of its own: the test's timeout is the limit). */
async function eventually(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 20));
}

describe(`GraphQL subscriptions over WebSocket (${dbKind()})`, () => {
  let t: TestApp;
  let server: RunningServer;
  let url: string;
  let wsUrl: string;
  /** A comparison that stays QUEUED until the last test starts the runner: its stream stays open. */
  let queued: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    const defaults = loadConfig({});
    // One progress stream per key: what the slot tests are about.
    t = await createTestApp({ config: { limits: { ...defaults.limits, ssePerKey: 1 } } });
    await registerGray(t);
    const admin = t.app.localActor();
    await t.app.services.versions.register(admin, { model: 'gray', artifactPath: fixture('gray8x8-3class.onnx') });
    // A tiny labeled dataset: the same 8x8 PNG under each label.
    const stored = await t.app.artifacts.commit(await t.app.artifacts.stage(fixture('png-renamed.onnx')));
    await t.app.services.datasets.create(admin, {
      name: 'shapes',
      labels: GRAY_MODEL.labels,
      storageUri: 'artifacts/sha256',
      items: GRAY_MODEL.labels.flatMap((_, label) =>
        [0, 1].map((k) => ({ path: `${label}-${k}.png`, labelIndex: label, sha256: stored.sha256 })),
      ),
    });
    queued = (await start(6)).id;
    server = await startServer(t.app, { port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${server.port}`;
    wsUrl = `ws://127.0.0.1:${server.port}/graphql`;
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await server?.close();
    await t?.close();
  });

  async function start(limit: number) {
    const input = {
      candidate: { model: 'gray', version: 2 },
      baseline: { model: 'gray', version: 1 },
      dataset: 'shapes',
      limit,
    };
    return expectData(await t.gql(START, { input }, t.keys.operator)).startComparison as { id: string };
  }

  /** A graphql-ws client that gives up at the first refusal (its default retries would only repeat it). */
  function client(opts: { key?: string; headers?: Record<string, string> } = {}): Client {
    const headers = opts.headers ?? {};
    // What a browser's WebSocket sends: the cookie and the page's Origin, on the upgrade request.
    class BrowserLikeWebSocket extends WebSocket {
      constructor(address: string | URL, protocols?: string | string[]) {
        super(address, protocols, { headers });
      }
    }
    const c = createClient({
      url: wsUrl,
      webSocketImpl: BrowserLikeWebSocket,
      retryAttempts: 0,
      ...(opts.key ? { connectionParams: { authorization: `Bearer ${opts.key}` } } : {}),
    });
    clients.push(c);
    return c;
  }

  async function signIn(key: string): Promise<string> {
    const res = await fetch(`${url}/auth/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: url },
      body: JSON.stringify({ key }),
    });
    expect(res.status).toBe(200);
    return res.headers.getSetCookie()[0]!.split(';')[0]!;
  }

  const newKey = async (name: string) => (await t.app.services.apiKeys.create(t.app.localActor(), name, 'viewer')).key;
  const codeOf = (r: FormattedExecutionResult<any, unknown> | undefined) => r?.errors?.[0]?.extensions?.code;

  it('authenticates with a session cookie from this origin, and refuses it from another origin or none', async () => {
    const cookie = await signIn(t.keys.viewer);
    const mine = watch(client({ headers: { cookie, origin: url } }), PROGRESS, { id: queued });
    await mine.received(1);
    expect(mine.results[0]).toEqual({
      data: {
        comparisonProgress: {
          id: queued,
          status: 'QUEUED',
          progress: 0,
          itemsDone: 0,
          total: 6,
          etaSeconds: null,
          verdict: null,
        },
      },
    });
    mine.dispose();
    // Cross-site WebSocket hijacking: a page elsewhere opens the socket, and the browser adds the cookie.
    for (const headers of [{ cookie, origin: 'https://evil.example' }, { cookie }] as Record<string, string>[]) {
      const foreign = watch(client({ headers }), PROGRESS, { id: queued });
      const end = await foreign.ended();
      expect(foreign.results).toEqual([]);
      expect(end).toEqual({ error: expect.objectContaining({ code: 4403 }) });
      expect((end as { error: any }).error.reason).toMatch(/^FORBIDDEN: /);
    }
    await eventually(() => t.app.streams.open === 0);
  });

  it('refuses a connection without credentials (UNAUTHENTICATED) and an unknown or malformed id', async () => {
    const anonymous = await watch(client(), PROGRESS, { id: queued }).ended();
    expect(anonymous).toEqual({ error: expect.objectContaining({ code: 4401 }) });
    expect((anonymous as { error: any }).error.reason).toMatch(/^UNAUTHENTICATED: /);
    const badKey = await watch(client({ key: `${t.keys.viewer}x` }), PROGRESS, { id: queued }).ended();
    expect((badKey as { error: any }).error).toMatchObject({ code: 4401, reason: 'UNAUTHENTICATED: invalid API key' });

    const c = client({ key: t.keys.viewer });
    for (const [id, code] of [
      ['999999', 'NOT_FOUND'],
      ['not-a-number', 'BAD_USER_INPUT'],
    ]) {
      const w = watch(c, PROGRESS, { id });
      expect(await w.ended()).toEqual({ completed: true });
      expect(w.results).toHaveLength(1);
      expect([id, codeOf(w.results[0])]).toEqual([id, code]);
      expect(w.results[0]!.errors![0]!.extensions!.requestId).toEqual(expect.any(String));
    }
    expect(t.app.streams.open).toBe(0);
  });

  it('ends a live stream with UNAUTHENTICATED when its key is revoked, and gives its slot back', async () => {
    const key = await newKey('subscriber');
    const w = watch(client({ key }), PROGRESS, { id: queued });
    await w.received(1);
    expect(w.results[0]!.data!.comparisonProgress.status).toBe('QUEUED');
    expectData(await t.gql(`mutation { revokeApiKey(name: "subscriber") { revokedAt } }`, {}, t.keys.admin));
    const end = await w.ended();
    expect(end).toEqual({ error: [expect.objectContaining({ extensions: expect.anything() })] });
    expect((end as { error: any }).error[0].extensions.code).toBe('UNAUTHENTICATED');
    await eventually(() => t.app.streams.open === 0);
  });

  it('gives the stream slot back when the client unsubscribes or disconnects (SSE_MAX_PER_KEY=1)', async () => {
    const key = await newKey('one-stream');
    const c = client({ key });
    const first = watch(c, PROGRESS, { id: queued });
    await first.received(1);
    // The key's one slot is taken: a second stream is refused, over WebSocket as over SSE.
    const second = watch(c, PROGRESS, { id: queued });
    expect(await second.ended()).toEqual({ completed: true });
    expect(codeOf(second.results[0])).toBe('RESOURCE_EXHAUSTED');
    expect(second.results[0]!.errors![0]!.extensions!.retryAfterMs).toBe(5000);
    const sse = await fetch(`${url}/comparisons/${queued}/events`, { headers: { authorization: `Bearer ${key}` } });
    expect(sse.status).toBe(429);

    first.dispose();
    await eventually(() => t.app.streams.open === 0);
    const third = watch(c, PROGRESS, { id: queued });
    await third.received(1);
    expect(third.results[0]!.data!.comparisonProgress.id).toBe(queued);
    expect(t.app.streams.open).toBe(1);
    // A client that goes away (its socket closed) gives its slots back too.
    await c.dispose();
    await eventually(() => t.app.streams.open === 0);
    const again = watch(client({ key }), PROGRESS, { id: queued });
    await again.received(1);
    expect(again.results[0]!.data).toBeDefined();
    again.dispose();
    await eventually(() => t.app.streams.open === 0);
  });

  it('runs queries and mutations over the socket, with the same limits and error codes as over HTTP', async () => {
    const c = client({ key: t.keys.viewer });
    const run = async (query: string, variables: Record<string, unknown> = {}) => {
      const w = watch(c, query, variables);
      const end = await w.ended();
      return 'error' in end ? { errors: end.error } : w.results[0]!;
    };
    expect(await run(`{ viewer { name role } }`)).toEqual({
      data: { viewer: { name: expect.stringMatching(/^test-viewer-/), role: 'VIEWER' } },
    });
    expect(codeOf(await run(`{ nope }`))).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(codeOf(await run(`query($id: ID!) { comparison(id: $id) { id } }`))).toBe('BAD_USER_INPUT');
    let deep = 'name';
    for (let level = 12; level >= 1; level--)
      deep = level % 2 === 1 ? `versions { version ${deep} }` : `model { name ${deep} }`;
    const tooDeep = await run(`{ models { ${deep} } }`);
    expect(tooDeep.errors![0]).toMatchObject({
      extensions: { code: 'QUERY_TOO_COMPLEX', limit: 'depth', max: 10, actual: 14 },
    });
    expect(tooDeep.errors![0]!.extensions!.http).toBeUndefined();
    const tokens = await run(`{ viewer { ${'name '.repeat(2500)} } }`);
    expect(tokens.errors![0]).toMatchObject({ extensions: { code: 'QUERY_TOO_COMPLEX', limit: 'tokens' } });
    // A viewer may not start a comparison: the service's refusal, with its code.
    const forbidden = await run(START, {
      input: { candidate: { model: 'gray', version: 2 }, baseline: { model: 'gray', version: 1 }, dataset: 'shapes' },
    });
    expect(codeOf(forbidden)).toBe('FORBIDDEN');
    // Over HTTP a subscription has no stream to send: refused, pointing at the WebSocket.
    expect(expectError(await t.gql(PROGRESS, { id: queued }, t.keys.viewer), 'BAD_USER_INPUT').message).toContain(
      'WebSocket',
    );
  });

  // Starts the runner: last, so that the comparison above stays QUEUED for the tests before.
  it('streams a comparison from QUEUED to SUCCEEDED in order, then completes (Bearer key in connectionParams)', async () => {
    const job = (await start(4)).id;
    const w = watch(client({ key: t.keys.viewer }), PROGRESS, { id: job });
    await w.received(1);
    expect(w.results[0]!.data!.comparisonProgress).toMatchObject({ id: job, status: 'QUEUED', total: 4 });
    t.app.startWorkers();
    expect(await w.ended()).toEqual({ completed: true });
    const events: any[] = w.results.map((r) => expectData<any>(r as any).comparisonProgress);
    const progress: number[] = events.map((e: any) => e.progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(events.slice(0, -1).every((e: any) => ['QUEUED', 'RUNNING'].includes(e.status))).toBe(true);
    expect(events.at(-1)).toEqual({
      id: job,
      status: 'SUCCEEDED',
      progress: 1,
      itemsDone: 4,
      total: 4,
      etaSeconds: null,
      verdict: expect.stringMatching(/^(CANDIDATE_BETTER|BASELINE_BETTER|NO_SIGNIFICANT_DIFFERENCE)$/),
    });
    await eventually(() => t.app.streams.open === 0);
  }, 120_000);
});

describe(`GraphQL over WebSocket with ANONYMOUS_READ (${dbKind()})`, () => {
  it('lets a connection without credentials read, as over HTTP, and nothing more', async () => {
    const t = await createTestApp({ config: { anonymousRead: true } });
    const server = await startServer(t.app, { port: 0, host: '127.0.0.1' });
    const c = createClient({
      url: `ws://127.0.0.1:${server.port}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
    });
    try {
      const viewer = watch(c, `{ viewer { name role } }`);
      expect(await viewer.ended()).toEqual({ completed: true });
      expect(viewer.results).toEqual([{ data: { viewer: { name: 'anonymous', role: 'VIEWER' } } }]);
      const unknown = watch(c, PROGRESS, { id: '1' });
      expect(await unknown.ended()).toEqual({ completed: true });
      expect(unknown.results[0]!.errors![0]!.extensions!.code).toBe('NOT_FOUND');
      const write = watch(c, `mutation { revokeApiKey(name: "nobody") { revokedAt } }`);
      await write.ended();
      expect(write.results[0]!.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
    } finally {
      await c.dispose();
      await server.close();
      await t.close();
    }
  });
});
