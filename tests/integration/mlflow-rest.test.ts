import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createTestApp, dbKind, expectData, expectError, FIXTURES, fixture, GRAY_MODEL, type TestApp } from '../helpers/test-app';

// The JSON bodies below are MLflow's wire shapes from ../shared/formats/mlflow/rest (copied to
// tests/fixtures/formats/mlflow/rest), served by an in-test HTTP server: no MLflow server can run here.
const REST = path.join(FIXTURES, 'formats', 'mlflow', 'rest');
const load = (name: string) => JSON.parse(readFileSync(path.join(REST, name), 'utf8'));
const RUN_ID = 'bbf71be5a32f439e965d92b7db72f973';
const TOKEN = 'token-that-must-never-be-echoed';
const IMPORT = `mutation($input: ImportMlflowInput!) { importMlflow(input: $input) { created updated unchanged failed items { kind name version action reason } } }`;

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
  const versions = [load('model-versions-get.json').model_version, load('model-versions-get.mlflow3-copy-version.json').model_version];
  const mlmodel = 'artifact_path: model\nflavors:\n  onnx:\n    data: model.onnx\n    onnx_version: 1.15.0\nrun_id: ' + RUN_ID + '\n';
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
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return send(res, 401, { error_code: 'UNAUTHENTICATED', message: 'Unauthorized' });
    const p = url.pathname;
    const page = body ? JSON.parse(body).page_token : url.searchParams.get('page_token');
    if (p === '/api/2.0/mlflow/experiments/search') return send(res, 200, { experiments: [experiment] });
    if (p === '/api/2.0/mlflow/experiments/get-by-name') {
      return url.searchParams.get('experiment_name') === experiment.name ? send(res, 200, { experiment }) : send(res, 404, load('error-resource-does-not-exist.json'));
    }
    // Two pages: the opaque token is base64 of {"offset": 1}, as OSS servers make it.
    if (p === '/api/2.0/mlflow/runs/search') {
      return page ? send(res, 200, { runs: runs.slice(1) }) : send(res, 200, { runs: runs.slice(0, 1), next_page_token: Buffer.from('{"offset": 1}').toString('base64') });
    }
    if (p === '/api/2.0/mlflow/metrics/get-history') {
      const key = url.searchParams.get('metric_key');
      const points = key === 'train_accuracy' ? history : [{ key, value: 0.5, timestamp: 1761930286843, step: 0 }];
      return page ? send(res, 200, { metrics: points.slice(1) }) : send(res, 200, { metrics: points.slice(0, 1), ...(points.length > 1 ? { next_page_token: 'p2' } : {}) });
    }
    if (p === '/api/2.0/mlflow/registered-models/search') return send(res, 200, { registered_models: [registered] });
    if (p === '/api/2.0/mlflow/model-versions/search') return send(res, 200, { model_versions: versions });
    if (p === '/api/2.0/mlflow/artifacts/list') {
      if (url.searchParams.get('run_id') !== RUN_ID) return send(res, 200, {});
      return url.searchParams.get('path') === 'model'
        ? send(res, 200, { root_uri: 'x', files: [{ path: 'model/MLmodel', is_dir: false, file_size: mlmodel.length }, { path: 'model/model.onnx', is_dir: false, file_size: onnx.length }] })
        : send(res, 200, { root_uri: 'x', files: [{ path: 'model', is_dir: true }] });
    }
    if (p === '/get-artifact') {
      const file = url.searchParams.get('path');
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      return res.end(file === 'model/MLmodel' ? mlmodel : onnx);
    }
    send(res, 404, { error_code: 'ENDPOINT_NOT_FOUND', message: `no ${p}` });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  double.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  double.close = () => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });
  return double;
}

describe(`MLflow tracking-server import against a protocol double replaying recorded MLflow REST shapes (${dbKind()})`, () => {
  let t: TestApp;
  let server: Double;
  const run = (input: Record<string, unknown>) => t.gql(IMPORT, { input: { trackingUri: server.url, ...input } }, t.keys.admin);

  beforeEach(async () => {
    server = await mlflowDouble();
    const host = new URL(server.url).host;
    t = await createTestApp({ config: { mlflow: { allowedHosts: [host], token: TOKEN, username: undefined, password: undefined, timeoutMs: 1500 } } });
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
    expect(report.items.filter((i: any) => i.kind === 'registered-model').map((i: any) => [i.version, i.reason])).toEqual([
      [16, 'gateway version 1'],
      [17, 'gateway version 1'],
    ]);
    expect(report.items).toContainEqual(expect.objectContaining({ kind: 'version', name: 'iris-classifier v16', version: 1, action: 'created' }));
    expect(report.items).toContainEqual(expect.objectContaining({ kind: 'alias', name: 'iris-classifier@champion', version: 1 }));
    const { modelVersion } = expectData(await t.gql(`{ modelVersion(ref: { model: "iris-classifier", alias: "champion" }) { version artifactUri mlflowRun { runId runName params tags metrics } } }`, {}, t.keys.viewer));
    expect(modelVersion).toMatchObject({ version: 1, artifactUri: 'models:/m-2b15a1738b31476690c10f51565a6f79', mlflowRun: { runId: RUN_ID, runName: 'single_model_training', params: { max_depth: '3' } } });
    // Both points of the paged history were stored (MLflow may log one value twice).
    const points = await t.app.db.prisma.mlflowMetric.findMany({ where: { run: { runId: RUN_ID }, key: 'train_accuracy' } });
    expect(points).toHaveLength(2);
    expect(server.requests.some((r) => r.includes('page_token'))).toBe(true);
    // Idempotent.
    const again = expectData(await run({})).importMlflow;
    expect(again.items.filter((i: any) => i.kind === 'run').every((i: any) => i.action === 'unchanged')).toBe(true);
  });

  it('says NOT_FOUND for an unknown experiment (RESOURCE_DOES_NOT_EXIST body)', async () => {
    expect(expectError(await run({ experiment: 'does-not-exist' }), 'NOT_FOUND').message).toContain('RESOURCE_DOES_NOT_EXIST');
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
    expect(report.items.find((i: any) => i.kind === 'experiment')).toMatchObject({ action: 'failed', reason: expect.stringContaining('did not answer') });
    expect(report.items.find((i: any) => i.kind === 'registered-model')).toMatchObject({ action: 'failed', reason: expect.stringContaining('cannot reach the MLflow server') });
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

  it('refuses hosts outside MLFLOW_ALLOWED_HOSTS and credentials in the URI', async () => {
    expect(expectError(await t.gql(IMPORT, { input: { trackingUri: 'http://example.com:5000' } }, t.keys.admin), 'BAD_USER_INPUT').message).toContain('MLFLOW_ALLOWED_HOSTS');
    const withCreds = server.url.replace('http://', 'http://user:pw@');
    expectError(await t.gql(IMPORT, { input: { trackingUri: withCreds } }, t.keys.admin), 'BAD_USER_INPUT');
  });
});
