import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { MAX_DOWNLOAD_BYTES, MAX_JSON_BYTES, MAX_REDIRECTS } from '../../src/importers/mlflow/rest-source';
import {
  createTestApp,
  dbKind,
  expectData,
  expectError,
  FIXTURES,
  fixture,
  GRAY_MODEL,
  type TestApp,
} from '../helpers/test-app';

// The JSON bodies below are MLflow's wire shapes recorded in tests/fixtures/formats/mlflow/rest/constructed,
// served by an in-test HTTP server: no MLflow server can run here.
const REST = path.join(FIXTURES, 'formats', 'mlflow', 'rest', 'constructed');
const load = (name: string) => JSON.parse(readFileSync(path.join(REST, name), 'utf8'));
const RUN_ID = 'bbf71be5a32f439e965d92b7db72f973';
const MODEL_ID = 'm-2b15a1738b31476690c10f51565a6f79';
const TOKEN = 'token-that-must-never-be-echoed';
const IMPORT =
  `mutation($input: ImportMlflowInput!) { importMlflow(input: $input) ` +
  `{ created updated unchanged failed items { kind name version action reason } } }`;

interface Double {
  url: string;
  requests: string[];
  /** Route overrides: return true when handled. */
  override?: (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => boolean;
  close(): Promise<void>;
}

async function mlflowDouble(): Promise<Double> {
  const experiment = load('experiments-get-by-name.json').experiment;
  const runs = load('runs-search.json').runs as any[];
  const history = load('metrics-get-history.json').metrics;
  const registered = load('registered-models-get.json').registered_model;
  const versions = [
    load('model-versions-get.json').model_version,
    load('model-versions-get.mlflow3-copy-version.json').model_version,
  ];
  const mlmodel =
    'artifact_path: model\nflavors:\n  onnx:\n    data: model.onnx\n    onnx_version: 1.15.0\nrun_id: ' + RUN_ID + '\n';
  const onnx = readFileSync(fixture('gray8x8-3class.onnx'));
  const double: Double = { url: '', requests: [], close: async () => undefined };
  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url!, 'http://x');
    let body = '';
    for await (const chunk of req) body += chunk;
    double.requests.push(`${req.method} ${url.pathname}${url.search}`);
    if (double.override?.(req, res, url)) return;
    if (req.headers.authorization !== `Bearer ${TOKEN}`)
      return send(res, 401, { error_code: 'UNAUTHENTICATED', message: 'Unauthorized' });
    const p = url.pathname;
    const page = body ? JSON.parse(body).page_token : url.searchParams.get('page_token');
    if (p === '/api/2.0/mlflow/experiments/search') return send(res, 200, { experiments: [experiment] });
    if (p === '/api/2.0/mlflow/experiments/get-by-name') {
      return url.searchParams.get('experiment_name') === experiment.name
        ? send(res, 200, { experiment })
        : send(res, 404, load('error-resource-does-not-exist.json'));
    }
    // Two pages: the opaque token is base64 of {"offset": 1}, as OSS servers make it.
    if (p === '/api/2.0/mlflow/runs/search') {
      return page
        ? send(res, 200, { runs: runs.slice(1) })
        : send(res, 200, { runs: runs.slice(0, 1), next_page_token: Buffer.from('{"offset": 1}').toString('base64') });
    }
    if (p === '/api/2.0/mlflow/metrics/get-history') {
      const key = url.searchParams.get('metric_key');
      const points = key === 'train_accuracy' ? history : [{ key, value: 0.5, timestamp: 1761930286843, step: 0 }];
      return page
        ? send(res, 200, { metrics: points.slice(1) })
        : send(res, 200, { metrics: points.slice(0, 1), ...(points.length > 1 ? { next_page_token: 'p2' } : {}) });
    }
    if (p === '/api/2.0/mlflow/runs/get') {
      const found = [...runs, load('runs-get.json').run].find((r) => r.info.run_id === url.searchParams.get('run_id'));
      return found ? send(res, 200, { run: found }) : send(res, 404, load('error-resource-does-not-exist.json'));
    }
    if (p === '/api/2.0/mlflow/registered-models/search') return send(res, 200, { registered_models: [registered] });
    if (p === '/api/2.0/mlflow/registered-models/get') {
      return url.searchParams.get('name') === registered.name
        ? send(res, 200, { registered_model: registered })
        : send(res, 404, load('error-resource-does-not-exist.json'));
    }
    if (p === '/api/2.0/mlflow/model-versions/search') return send(res, 200, { model_versions: versions });
    if (p === '/api/2.0/mlflow/model-versions/get-download-uri') {
      const v = versions.find((x) => x.version === url.searchParams.get('version'));
      return send(res, 200, {
        artifact_uri: `mlflow-artifacts:/643442710647968416/models/${v.model_id || 'm-2b15a1738b31476690c10f51565a6f79'}/artifacts`,
      });
    }
    // MLflow 3 keeps models out of run artifacts: the runs list nothing, their LoggedModels hold the files.
    if (p === '/api/2.0/mlflow/artifacts/list') return send(res, 200, {});
    const served = (file: string | null) => {
      if (file !== 'MLmodel' && file !== 'model.onnx')
        return send(res, 404, load('error-resource-does-not-exist.json'));
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(file === 'MLmodel' ? mlmodel : onnx);
    };
    if (p === `/ajax-api/2.0/mlflow/logged-models/${MODEL_ID}/artifacts/files`)
      return served(url.searchParams.get('artifact_file_path'));
    if (p === '/model-versions/get-artifact' && url.searchParams.get('name') === registered.name)
      return served(url.searchParams.get('path'));
    send(res, 404, { error_code: 'ENDPOINT_NOT_FOUND', message: `no ${p}` });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  double.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  double.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return double;
}

describe(`MLflow tracking-server import against a protocol double replaying recorded MLflow REST shapes (${dbKind()})`, () => {
  let t: TestApp;
  let server: Double;
  const run = (input: Record<string, unknown>) =>
    t.gql(IMPORT, { input: { trackingUri: server.url, ...input } }, t.keys.admin);

  beforeEach(async () => {
    server = await mlflowDouble();
    const host = new URL(server.url).host;
    t = await createTestApp({
      config: {
        mlflow: { allowedHosts: [host], token: TOKEN, username: undefined, password: undefined, timeoutMs: 1500 },
      },
    });
    await t.app.services.models.register(t.app.localActor(), { ...GRAY_MODEL, name: 'iris-classifier' });
  });
  afterEach(async () => {
    await t.close();
    await server.close();
  });

  it('imports runs across pages with full metric histories, registered versions holding ONNX bytes, and aliases', async () => {
    const report = expectData(await run({})).importMlflow;
    expect(report.failed).toBe(0);
    const runs = report.items.filter((i: any) => i.kind === 'run');
    expect(runs.length).toBeGreaterThan(1); // both pages
    expect(
      report.items.filter((i: any) => i.kind === 'registered-model').map((i: any) => [i.version, i.reason]),
    ).toEqual([
      [16, 'gateway version 1'],
      [17, 'gateway version 1'],
    ]);
    expect(report.items).toContainEqual(
      expect.objectContaining({ kind: 'version', name: 'iris-classifier v16', version: 1, action: 'created' }),
    );
    expect(report.items).toContainEqual(
      expect.objectContaining({ kind: 'alias', name: 'iris-classifier@champion', version: 1 }),
    );
    const { modelVersion } = expectData(
      await t.gql(
        `{ modelVersion(ref: { model: "iris-classifier", alias: "champion" }) { version artifactUri mlflowRun { runId runName params tags metrics } } }`,
        {},
        t.keys.viewer,
      ),
    );
    expect(modelVersion).toMatchObject({
      version: 1,
      artifactUri: `models:/${MODEL_ID}`,
      mlflowRun: { runId: RUN_ID, runName: 'single_model_training', params: { max_depth: '3' } },
    });
    // The run links to the version through its LoggedModel's ONNX bytes.
    expect(server.requests).toContainEqual(
      expect.stringContaining(
        `/ajax-api/2.0/mlflow/logged-models/${MODEL_ID}/artifacts/files?artifact_file_path=MLmodel`,
      ),
    );
    expect(server.requests).toContainEqual(
      expect.stringContaining('/api/2.0/mlflow/model-versions/get-download-uri?name=iris-classifier&version=17'),
    );
    // Both points of the paged history were stored (MLflow may log one value twice).
    const points = await t.app.db.prisma.mlflowMetric.findMany({
      where: { run: { runId: RUN_ID }, key: 'train_accuracy' },
    });
    expect(points).toHaveLength(2);
    expect(server.requests.some((r) => r.includes('page_token'))).toBe(true);
    // Idempotent.
    const again = expectData(await run({})).importMlflow;
    expect(again.items.filter((i: any) => i.kind === 'run').every((i: any) => i.action === 'unchanged')).toBe(true);
  });

  it('says NOT_FOUND for an unknown experiment (RESOURCE_DOES_NOT_EXIST body), BAD_USER_INPUT naming known models for an unknown registered model', async () => {
    expect(expectError(await run({ experiment: 'does-not-exist' }), 'NOT_FOUND').message).toContain(
      'RESOURCE_DOES_NOT_EXIST',
    );
    expect(expectError(await run({ registeredModel: 'nope' }), 'BAD_USER_INPUT').message).toBe(
      `no registered model "nope" in ${server.url}; registered models there include "iris-classifier"`,
    );
  });

  it('imports one registered model with registered-models/get, fetching its run with runs/get', async () => {
    // The experiment has no runs in search results: the registered version's run comes from runs/get.
    server.override = (_req, res, url) => {
      if (url.pathname !== '/api/2.0/mlflow/runs/search') return false;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
      return true;
    };
    const dry = expectData(await run({ registeredModel: 'iris-classifier', dryRun: true })).importMlflow;
    expect(dry.items.map((i: any) => [i.kind, i.action])).toEqual([
      ['run', 'would-create'],
      ['version', 'would-create'],
      ['registered-model', 'would-create'],
      ['registered-model', 'would-create'],
    ]);
    expect(await t.app.db.prisma.mlflowRun.count()).toBe(0);
    const report = expectData(await run({ registeredModel: 'iris-classifier' })).importMlflow;
    expect(report.failed).toBe(0);
    expect(server.requests).toContainEqual(
      expect.stringMatching(/^GET \/api\/2.0\/mlflow\/registered-models\/get\?name=iris-classifier$/),
    );
    expect(server.requests).toContainEqual(`GET /api/2.0/mlflow/runs/get?run_id=${RUN_ID}`);
    expect(server.requests.some((r) => r.includes('registered-models/search'))).toBe(false);
    expect(report.items.map((i: any) => [i.kind, i.name, i.action])).toEqual([
      ['run', 'single_model_training', 'created'],
      ['version', 'iris-classifier v16', 'created'],
      ['registered-model', 'iris-classifier', 'created'],
      ['alias', 'iris-classifier@champion', 'updated'],
      ['registered-model', 'iris-classifier', 'created'],
    ]);
    // A dry run after the import sees nothing to do.
    const after = expectData(await run({ registeredModel: 'iris-classifier', dryRun: true })).importMlflow;
    expect(after.items.map((i: any) => i.action)).toEqual(after.items.map(() => 'unchanged'));
  });

  it('refuses a malformed answer with BAD_USER_INPUT naming the endpoint and the field (MLflow REST protocol double)', async () => {
    server.override = (_req, res, url) => {
      const bodies: Record<string, unknown> = {
        '/api/2.0/mlflow/runs/search': { runs: [{ info: { status: 'FINISHED' } }] },
        '/api/2.0/mlflow/experiments/get-by-name': { experiment: { experiment_id: '1' } },
      };
      if (!(url.pathname in bodies)) return false;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(bodies[url.pathname]));
      return true;
    };
    const report = expectData(await run({})).importMlflow;
    expect(report.items.find((i: any) => i.kind === 'experiment')).toEqual({
      kind: 'experiment',
      name: 'iris-classification',
      version: null,
      action: 'failed',
      reason:
        'the MLflow server sent a malformed response (api/2.0/mlflow/runs/search): runs[0].info: a run has no run_id (nor run_uuid)',
    });
    expect(expectError(await run({ experiment: 'iris-classification' }), 'BAD_USER_INPUT').message).toBe(
      'the MLflow server sent a malformed response (api/2.0/mlflow/experiments/get-by-name): ' +
        'experiment.name: Invalid input: expected string, received undefined',
    );
  });

  it('reports refused credentials without echoing the token', async () => {
    t.app.services.mlflowImporter['deps'].auth.token = 'wrong';
    const error = expectError(await run({}), 'BAD_USER_INPUT');
    expect(error.message).toContain('refused the credentials');
    expect(JSON.stringify(error)).not.toContain('wrong');
    expect(JSON.stringify(error)).not.toContain(TOKEN);
  });

  it('reports a timeout and a server dying mid-import as failed items, keeping what was imported', async () => {
    server.override = (_req, res, url) => {
      if (url.pathname === '/api/2.0/mlflow/runs/search') return true; // never answers
      if (url.pathname === '/api/2.0/mlflow/registered-models/search') {
        res.socket?.destroy(); // dies
        return true;
      }
      return false;
    };
    const report = expectData(await run({})).importMlflow;
    expect(report.items.find((i: any) => i.kind === 'experiment')).toMatchObject({
      action: 'failed',
      reason: expect.stringContaining('did not answer'),
    });
    expect(report.items.find((i: any) => i.kind === 'registered-model')).toMatchObject({
      action: 'failed',
      reason: expect.stringContaining('cannot reach the MLflow server'),
    });
    // A run page that arrives before the server dies is kept.
    server.override = (_req, res, url) => {
      if (url.pathname === '/api/2.0/mlflow/registered-models/search') {
        res.socket?.destroy();
        return true;
      }
      return false;
    };
    const partial = expectData(await run({})).importMlflow;
    expect(partial.items.filter((i: any) => i.kind === 'run' && i.action === 'created').length).toBeGreaterThan(0);
    expect(partial.failed).toBe(1);
  });

  const redirectsTest =
    'follows redirects by hand: the token stays with its origin, other hosts and ports and a sixth hop are refused ' +
    '(MLflow REST protocol double)';
  it(redirectsTest, async () => {
    const importer = t.app.services.mlflowImporter;
    const host = new URL(server.url).host;
    // Another server, on another port: it records the Authorization header it gets.
    const other = await mlflowDouble();
    const seen: (string | undefined)[] = [];
    other.override = (req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"experiments": []}');
      return true;
    };
    const redirect = (to: (url: URL) => string | null) => {
      server.override = (_req, res, url) => {
        const location = url.pathname === '/api/2.0/mlflow/experiments/search' ? to(url) : null;
        if (location === null) return false;
        res.writeHead(307, { location });
        res.end();
        return true;
      };
    };
    try {
      // Same origin: the token goes along (the double refuses requests without it).
      redirect((url) => (url.searchParams.has('hop') ? null : '/api/2.0/mlflow/experiments/search?hop=1'));
      expect(expectData(await run({})).importMlflow.failed).toBe(0);
      expect(server.requests).toContain('POST /api/2.0/mlflow/experiments/search?hop=1');
      // Another allowed origin: followed, without the token.
      importer['deps'].allowedHosts = [host, new URL(other.url).host];
      redirect(() => `${other.url}/api/2.0/mlflow/experiments/search`);
      expect(expectData(await run({})).importMlflow.failed).toBe(0);
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.every((a) => a === undefined)).toBe(true);
      // The same other origin when MLFLOW_ALLOWED_HOSTS lists only the first port, or another host.
      importer['deps'].allowedHosts = [host];
      const before = seen.length;
      expect(expectError(await run({}), 'BAD_USER_INPUT').message).toBe(
        `the MLflow server redirected ${server.url}/api/2.0/mlflow/experiments/search to ${new URL(other.url).host}, ` +
          `which is not in MLFLOW_ALLOWED_HOSTS (${host})`,
      );
      expect(seen.length).toBe(before);
      redirect(() => 'http://example.com/api/2.0/mlflow/experiments/search');
      expect(expectError(await run({}), 'BAD_USER_INPUT').message).toContain(
        'to example.com, which is not in MLFLOW_ALLOWED_HOSTS',
      );
      // A redirect loop: the sixth hop is refused.
      redirect((url) => `/api/2.0/mlflow/experiments/search?hop=${Number(url.searchParams.get('hop') ?? 0) + 1}`);
      expect(expectError(await run({}), 'BAD_USER_INPUT').message).toContain(
        `more than ${MAX_REDIRECTS} times (MAX_REDIRECTS)`,
      );
      expect(
        server.requests.filter((r) => r.startsWith('POST /api/2.0/mlflow/experiments/search?hop=')).length,
      ).toBeGreaterThanOrEqual(MAX_REDIRECTS);
    } finally {
      await other.close();
    }
  });

  it('caps JSON answers and artifact downloads, declared or streamed (MLflow REST protocol double)', async () => {
    t.app.services.mlflowImporter['deps'].restLimits = { maxJsonBytes: 64 * 1024, maxDownloadBytes: 32 * 1024 };
    const MB = Buffer.alloc(1024 * 1024, ' ');
    server.override = (_req, res, url) => {
      // An endless JSON answer (whitespace is valid JSON padding), sent without a length.
      if (url.pathname === '/api/2.0/mlflow/runs/search') {
        res.writeHead(200, { 'content-type': 'application/json' });
        const pump = () => {
          while (!res.destroyed && res.write(MB));
        };
        res.on('drain', pump);
        pump();
        return true;
      }
      const file = url.searchParams.get('artifact_file_path') ?? url.searchParams.get('path');
      if (file !== 'model.onnx') return false;
      // LoggedModel files announce a size past the cap; registered versions' files stream past it.
      if (url.pathname.includes('logged-models')) res.writeHead(200, { 'content-length': String(10 * 1024 ** 3) });
      else res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(64 * 1024));
      return true;
    };
    const report = expectData(await run({})).importMlflow;
    expect(report.items.find((i: any) => i.kind === 'experiment')).toMatchObject({
      action: 'failed',
      reason: expect.stringMatching(/runs\/search is larger than 65536 bytes \(MAX_JSON_BYTES\)$/),
    });
    const downloads = report.items.filter((i: any) => i.kind === 'artifact');
    expect(downloads.length).toBeGreaterThan(0);
    for (const d of downloads)
      expect(d).toMatchObject({
        action: 'failed',
        reason: expect.stringMatching(/is larger than 32768 bytes \(MAX_DOWNLOAD_BYTES\)$/),
      });
    expect(await t.app.db.prisma.modelVersion.count()).toBe(0);
    expect([MAX_JSON_BYTES, MAX_DOWNLOAD_BYTES]).toEqual([64 * 1024 ** 2, 4 * 1024 ** 3]);
  });

  it('applies the timeout to whole bodies: a trickling JSON answer, a stalled or endless download (MLflow REST protocol double)', async () => {
    const deps = t.app.services.mlflowImporter['deps'];
    deps.timeoutMs = 400;
    deps.restLimits = { downloadTimeoutMs: 1200 };
    let download: 'stall' | 'trickle' = 'stall';
    server.override = (_req, res, url) => {
      const onnxFile = (url.searchParams.get('artifact_file_path') ?? url.searchParams.get('path')) === 'model.onnx';
      if (url.pathname !== '/api/2.0/mlflow/runs/search' && !onnxFile) return false;
      res.writeHead(200, {
        'content-type': url.pathname.endsWith('search') ? 'application/json' : 'application/octet-stream',
      });
      if (onnxFile && download === 'stall') {
        res.write(Buffer.alloc(10)); // then nothing more
        return true;
      }
      // A byte at a time, each well within the timeout: only a deadline on the whole body ends it.
      // Not once the client hung up: a write between the socket's end and 'close' is an uncaught error.
      const timer = setInterval(() => {
        if (!res.destroyed) res.write(' ');
      }, 50);
      res.on('close', () => clearInterval(timer));
      return true;
    };
    const stalled = expectData(await run({})).importMlflow;
    expect(stalled.items.find((i: any) => i.kind === 'experiment').reason).toBe(
      `MLflow server did not finish sending ${server.url}/api/2.0/mlflow/runs/search within 400 ms`,
    );
    const idle = stalled.items.filter((i: any) => i.kind === 'artifact');
    expect(idle.length).toBeGreaterThan(0);
    for (const i of idle)
      expect(i).toMatchObject({
        action: 'failed',
        reason: expect.stringMatching(/^MLflow server sent nothing of http:.* for 400 ms$/),
      });
    download = 'trickle';
    const endless = expectData(await run({})).importMlflow.items.filter((i: any) => i.kind === 'artifact');
    expect(endless.length).toBeGreaterThan(0);
    for (const i of endless)
      expect(i).toMatchObject({
        action: 'failed',
        reason: expect.stringMatching(/^MLflow server did not finish sending http:.* within 1200 ms$/),
      });
    expect(await t.app.db.prisma.modelVersion.count()).toBe(0);
  });

  it('refuses to send a token over plain http to a host that is not loopback, before any request', async () => {
    t.app.services.mlflowImporter['deps'].allowedHosts = ['mlflow.example.com:5000', 'mlflow.example.com'];
    const error = expectError(
      await t.gql(IMPORT, { input: { trackingUri: 'http://mlflow.example.com:5000' } }, t.keys.admin),
      'BAD_USER_INPUT',
    );
    expect(error.message).toBe(
      'refusing to send the MLflow credentials (MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD) ' +
        'over plain http to mlflow.example.com:5000: use https, or a loopback address (127.0.0.1, ::1, localhost)',
    );
    expect(JSON.stringify(error)).not.toContain(TOKEN);
    // Basic auth likewise.
    const auth = t.app.services.mlflowImporter['deps'].auth;
    Object.assign(auth, { token: undefined, username: 'user', password: 'pw' });
    expect(
      expectError(
        await t.gql(IMPORT, { input: { trackingUri: 'http://mlflow.example.com' } }, t.keys.admin),
        'BAD_USER_INPUT',
      ).message,
    ).toContain('over plain http');
    expect(server.requests).toEqual([]);
  });

  it('refuses hosts outside MLFLOW_ALLOWED_HOSTS and credentials in the URI', async () => {
    expect(
      expectError(
        await t.gql(IMPORT, { input: { trackingUri: 'http://example.com:5000' } }, t.keys.admin),
        'BAD_USER_INPUT',
      ).message,
    ).toContain('MLFLOW_ALLOWED_HOSTS');
    const withCreds = server.url.replace('http://', 'http://user:pw@');
    expectError(await t.gql(IMPORT, { input: { trackingUri: withCreds } }, t.keys.admin), 'BAD_USER_INPUT');
  });
});
