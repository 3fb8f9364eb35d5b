import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cli, withEnv } from '../helpers/cli';
import { startServer, type RunningServer } from '../../src/http/server';
import { writeDvcProject } from '../helpers/dvc-project';
import { createTestApp, dbKind, fixture, GRAY_MODEL, type TestApp } from '../helpers/test-app';

const SPEC = JSON.stringify(GRAY_MODEL.inputSpec);
const LABELS = GRAY_MODEL.labels.join(',');

describe(`the CLI on the local data directory (${dbKind()})`, () => {
  let t: TestApp;
  let restore: () => void;

  beforeAll(async () => {
    // The CLI opens the data directory itself: the test app only prepares it, then lets go.
    t = await createTestApp({ pgliteOnDisk: true });
    // A tiny labeled dataset for `compare`: the same 8x8 PNG under each label.
    const stored = await t.app.artifacts.commit(await t.app.artifacts.stage(fixture('png-renamed.onnx')));
    const items = GRAY_MODEL.labels.flatMap((_, label) =>
      [0, 1].map((k) => ({ path: `${label}-${k}.png`, labelIndex: label, sha256: stored.sha256 })),
    );
    await t.app.services.datasets.create(t.app.localActor(), {
      name: 'shapes',
      labels: GRAY_MODEL.labels,
      storageUri: 'artifacts/sha256',
      items,
    });
    await t.close({ keep: true });
    restore = withEnv({
      DATA_DIR: t.dataDir,
      DATABASE_URL: t.config.databaseUrl,
      LOG_LEVEL: 'silent',
      MODELGATE_URL: undefined,
      MODELGATE_API_KEY: undefined,
    });
  });
  afterAll(async () => {
    restore();
    const cleanup = await createTestApp({ reuse: { dataDir: t.dataDir, databaseUrl: t.config.databaseUrl } });
    await cleanup.close();
  });

  it('registers a model, a version and an alias, and lists them as a table', async () => {
    expect(await cli('models', 'register', 'gray', '--labels', LABELS, '--input-spec', SPEC)).toMatchObject({
      status: 0,
    });
    const v = await cli('versions', 'register', 'gray', fixture('gray8x8-3class.onnx'), '--tags', '{"source":"cli"}');
    expect(v.status).toBe(0);
    expect(v.out).toContain('registered gray v1');
    expect(await cli('alias', 'set', 'gray', 'champion', '1')).toEqual({
      status: 0,
      out: 'gray: champion -> v1',
      err: '',
    });
    const list = await cli('models', 'list');
    expect(list.out.split('\n')).toEqual([
      'NAME  TASK                  LABELS  VERSIONS  ALIASES',
      'gray  image-classification  3       1         champion=v1',
    ]);
    const show = await cli('versions', 'show', 'gray', 'champion');
    expect(show.out).toMatch(/^version\s+1$/m);
    expect(show.out).toMatch(/^tags\s+\{"source":"cli"\}$/m);
    const history = await cli('alias', 'history', 'gray');
    expect(history.out).toMatch(/champion\s+-\s+1\s+local:/);
  });

  it('classifies images with a version, read on this side and sent as base64', async () => {
    const r = await cli('predict', 'gray', '--version', '1', '--top', '2', fixture('png-renamed.onnx'));
    expect(r.status).toBe(0);
    expect(r.out.split('\n')[0]).toMatch(/^IMAGE\s+VERSION\s+RESOLVEDBY\s+TOP\s+MS$/);
    expect(r.out.split('\n')[1]).toMatch(
      /png-renamed\.onnx\s+v1\s+version\s+(circle|square|triangle) \d+\.\d%; (circle|square|triangle) \d+\.\d%\s+\d+\.\d$/,
    );
    const bad = await cli('predict', 'gray', fixture('gray8x8-3class.onnx'));
    expect([bad.status, bad.err]).toEqual([
      1,
      expect.stringMatching(/error \[INVALID_IMAGE\]: the bytes are not an image/),
    ]);
    expect((await cli('predict', 'gray', '/no/such/file.png')).err).toContain('cannot read /no/such/file.png: ENOENT');
  });

  it('prints JSON for scripts', async () => {
    const r = await cli('--json', 'versions', 'list', 'gray');
    expect(JSON.parse(r.out)).toMatchObject({
      model: { versions: [{ version: 1, status: 'READY', aliases: ['champion'] }] },
    });
  });

  it('compares a version against the baseline alias, waits for the verdict and writes a report', async () => {
    expect((await cli('versions', 'register', 'gray', fixture('gray8x8-3class-batch1.onnx'))).status).toBe(0);
    expect((await cli('alias', 'set', 'gray', 'baseline', '1')).status).toBe(0);
    const report = path.join(t.dataDir, 'report.md');
    const r = await cli('compare', 'gray@2', '--dataset', 'shapes', '--report', report);
    expect([r.status, r.err.split('\n').filter((l) => l.startsWith('modelgate:'))]).toEqual([0, []]);
    // The same weights with a fixed batch of 1: they agree on every image.
    expect(r.out.split('\n')[0]).toMatch(
      new RegExp(
        /^gray v2 is not significantly different from v1 \(baseline, champion\) /.source +
          /\(\+0\.0 pts, 95% CI \+0\.0\.\.\+0\.0\) and is (\d+(\.\d)?x (faster|slower)|about as fast) and /.source +
          /about the same size: accuracy \d+\.\d% vs \d+\.\d%, /.source +
          /McNemar p = 1\.0 on 6 paired images of shapes@1\.$/.source,
      ),
    );
    expect(r.out).toMatch(/^verdict\s+NO_SIGNIFICANT_DIFFERENCE$/m);
    // Speed and size of both, candidate first (never their values: benchmarks are not tests).
    const speed = /[\d.]+ ms at batch 1, [\d,]+ images\/s at batch (32|1) \(cpu, \d+ threads, input 1x8x8\)/.source;
    expect(r.out).toMatch(new RegExp(`^speed\\s+${speed} vs ${speed}$`, 'm'));
    expect(r.out).toMatch(/^parameters\s+195 vs 195$/m);
    expect(r.out).toMatch(/^model file\s+0\.00 MB vs 0\.00 MB$/m);
    expect(r.out).toMatch(/^queued latency p50 \(ms\)\s+[\d.]+ vs [\d.]+ \(in the comparison's batched run\)$/m);
    // The version's latest measurement, with its size.
    const show = await cli('versions', 'show', 'gray', '2');
    expect(show.out).toMatch(/^parameters\s+195$/m);
    expect(show.out).toMatch(/^sizeBytes\s+\d+$/m);
    expect(show.out).toMatch(
      new RegExp(`^speed\\s+${speed.replace('(32|1)', '1')}, measured \\d{4}-\\d\\d-\\d\\dT`, 'm'),
    );
    expect(readFileSync(report, 'utf8')).toContain('# gray: v2 against v1 (baseline, champion) on shapes@1');
    const missing = await cli('compare', 'gray@2', '--dataset', 'nope');
    expect([missing.status, missing.err]).toEqual([1, expect.stringContaining('error [NOT_FOUND]: no dataset "nope"')]);
  });

  it("sets and clears a version's execution providers, shown by versions show", async () => {
    expect(await cli('versions', 'providers', 'gray', '1', 'webgpu, cpu')).toEqual({
      status: 0,
      out: 'gray v1 runs on the first of webgpu, cpu that loads it (cpu last)',
      err: '',
    });
    expect((await cli('versions', 'show', 'gray', '1')).out).toMatch(/^executionProviders\s+webgpu, cpu$/m);
    const bad = await cli('versions', 'providers', 'gray', '1', 'opencl');
    expect([bad.status, bad.err]).toEqual([
      1,
      expect.stringMatching(/error \[BAD_USER_INPUT\]: unknown execution provider opencl/),
    ]);
    expect((await cli('versions', 'providers', 'gray', '1', '--default')).out).toBe(
      "gray v1 runs on the gateway's EXECUTION_PROVIDERS",
    );
    expect((await cli('versions', 'show', 'gray', '1')).out).toMatch(
      /^executionProviders\s+the gateway's EXECUTION_PROVIDERS$/m,
    );
  });

  it('exits non-zero with the error code and a clear message', async () => {
    expect(await cli('versions', 'show', 'gray', '7')).toEqual({
      status: 1,
      out: '',
      err: 'modelgate: error [NOT_FOUND]: model "gray" has no version 7',
    });
    const bad = await cli('versions', 'register', 'gray', fixture('png-renamed.onnx'));
    expect(bad.status).toBe(1);
    expect(bad.err).toMatch(/^modelgate: error \[BAD_USER_INPUT\]: .*png-renamed.onnx is not a loadable ONNX graph/);
    const spec = await cli(
      'models',
      'register',
      'x',
      '--labels',
      'a',
      '--input-spec',
      '{"width":8,"height":8,"channels":1,"mean":[1,2,3]}',
    );
    expect(spec).toMatchObject({
      status: 1,
      err: 'modelgate: error [BAD_USER_INPUT]: invalid inputSpec: mean has 3 values for 1 channel',
    });
    expect((await cli('models', 'register', 'x', '--labels', 'a', '--input-spec', '{oops')).status).toBe(1);
    const notANumber = await cli('alias', 'set', 'gray', 'champion', 'one');
    expect(notANumber.status).toBe(1);
    expect(notANumber.err).toContain('version must be a positive integer');
    expect(
      await cli('models', 'register', 'x', '--labels', 'a', '--input-spec', '@/nonexistent/spec.json'),
    ).toMatchObject({
      status: 1,
      err: expect.stringContaining('cannot read /nonexistent/spec.json: ENOENT'),
    });
    expect((await cli('nonsense')).status).toBe(1);
    // A malformed reference is found inside the command's action: it must still be printed.
    expect(await cli('compare', 'gray@1@2', '--dataset', 'x')).toEqual({
      status: 1,
      out: '',
      err: 'modelgate: error [BAD_USER_INPUT]: "gray@1@2" must be model, model@<version> or model@<alias>',
    });
  });

  it('import: a dry run says what it would do; failed items make the exit status non-zero after the report is printed', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'modelgate-cli-import-'));
    const restoreRoots = withEnv({ IMPORT_ROOTS: dir });
    try {
      const root = path.join(dir, 'repo');
      writeDvcProject(root, {
        models: [
          // An existing model takes the version; one without labels and input spec cannot be created.
          {
            name: 'gray-v9',
            path: 'models/a.onnx',
            bytes: readFileSync(fixture('gray8x8-3class-slow.onnx')),
            meta: { registeredModel: 'gray' },
          },
          { name: 'orphan', path: 'models/b.onnx', bytes: readFileSync(fixture('gray8x8-3class-batch1.onnx')) },
        ],
      });
      const dry = await cli('import', 'dvc', root, '--dry-run');
      expect(dry.status).toBe(1);
      expect(dry.out).toMatch(/^version +gray <- gray-v9 +- +would-create/m);
      expect(dry.out).toMatch(
        /dry run, nothing was changed: would create 1, would update 0, unchanged 0, would fail 1, skipped 0$/,
      );
      expect(dry.err).toBe('modelgate: error [IMPORT_INCOMPLETE]: 1 of 2 items would fail (the report above says why)');
      const real = await cli('import', 'dvc', root);
      expect(real.status).toBe(1);
      expect(real.out).toMatch(/^version +orphan +- +failed +no model "orphan" to attach orphan to/m);
      expect(real.out).toMatch(/\ncreated 1, updated 0, unchanged 0, failed 1, skipped 0$/);
      expect(real.err).toBe(
        'modelgate: error [IMPORT_INCOMPLETE]: 1 of 2 items failed (the report above says why); the others were imported',
      );
      // Naming the output with labels and an input spec imports it: nothing fails, the status is 0.
      const named = await cli(
        'import',
        'dvc',
        root,
        '--model-path',
        'models/b.onnx',
        '--model',
        'gray-b1',
        '--labels',
        LABELS,
        '--input-spec',
        SPEC,
      );
      expect(named).toMatchObject({ status: 0, err: '' });
      expect(named.out).toMatch(/\ncreated 2, updated 0, unchanged 1, failed 0, skipped 0$/);
    } finally {
      restoreRoots();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('applies the role of --key locally too', async () => {
    const keys = await createTestApp({ reuse: { dataDir: t.dataDir, databaseUrl: t.config.databaseUrl } });
    const { viewer, operator } = keys.keys;
    await keys.close({ keep: true });
    expect(await cli('--key', viewer, 'whoami')).toMatchObject({
      status: 0,
      out: expect.stringMatching(/^test-viewer-\d+ \(viewer\)$/),
    });
    expect(await cli('--key', viewer, 'models', 'register', 'y', '--labels', 'a', '--input-spec', SPEC)).toMatchObject({
      status: 1,
      err: expect.stringContaining('error [FORBIDDEN]'),
    });
    expect(await cli('--key', operator, 'alias', 'set', 'gray', 'champion', '1')).toMatchObject({
      status: 1,
      err: expect.stringContaining('error [FORBIDDEN]'),
    });
    expect(await cli('--key', 'mg_wrong-key-000000000000000000000', 'models', 'list')).toMatchObject({
      status: 1,
      err: expect.stringContaining('error [UNAUTHENTICATED]'),
    });
  });
});

describe(`the CLI against a running gateway (${dbKind()})`, () => {
  let t: TestApp;
  let server: RunningServer;
  let restore: () => void;

  beforeAll(async () => {
    t = await createTestApp();
    server = await startServer(t.app, { port: 0, host: '127.0.0.1' });
    restore = withEnv({ MODELGATE_URL: undefined, MODELGATE_API_KEY: undefined });
  });
  afterAll(async () => {
    restore();
    await server.close();
    await t.close();
  });

  const remote = (key: string | null, ...args: string[]) =>
    cli('--url', server.url, ...(key ? ['--key', key] : []), ...args);

  it('enforces each role boundary', async () => {
    expect(await remote(null, 'models', 'list')).toMatchObject({
      status: 1,
      err: expect.stringContaining('error [UNAUTHENTICATED]'),
    });
    expect((await remote(t.keys.viewer, 'models', 'list')).status).toBe(0);
    expect(
      await remote(t.keys.viewer, 'models', 'register', 'gray', '--labels', LABELS, '--input-spec', SPEC),
    ).toMatchObject({
      status: 1,
      err: expect.stringContaining('error [FORBIDDEN]'),
    });
    expect(
      (await remote(t.keys.operator, 'models', 'register', 'gray', '--labels', LABELS, '--input-spec', SPEC)).status,
    ).toBe(0);
    expect((await remote(t.keys.operator, 'versions', 'register', 'gray', fixture('gray8x8-3class.onnx'))).status).toBe(
      0,
    );
    expect((await remote(t.keys.operator, 'alias', 'set', 'gray', 'staging', '1')).status).toBe(0);
    expect(await remote(t.keys.operator, 'alias', 'set', 'gray', 'champion', '1')).toMatchObject({
      status: 1,
      err: expect.stringContaining('error [FORBIDDEN]'),
    });
    expect((await remote(t.keys.admin, 'alias', 'set', 'gray', 'champion', '1')).status).toBe(0);
    expect(await remote(t.keys.operator, 'keys', 'list')).toMatchObject({
      status: 1,
      err: expect.stringContaining('error [FORBIDDEN]'),
    });
    const created = await remote(t.keys.admin, 'keys', 'create', 'ci', '--role', 'viewer');
    expect(created.status).toBe(0);
    const secret = created.out.split('\n').pop()!;
    expect(await remote(secret, 'whoami')).toMatchObject({ status: 0, out: 'ci (viewer)' });
    expect((await remote(t.keys.admin, 'keys', 'revoke', 'ci')).status).toBe(0);
    expect(await remote(secret, 'whoami')).toMatchObject({
      status: 1,
      err: 'modelgate: error [UNAUTHENTICATED]: the API key was revoked',
    });
  });

  it('says clearly when the gateway cannot be reached', async () => {
    const r = await cli('--url', 'http://127.0.0.1:9', 'models', 'list');
    expect(r.status).toBe(1);
    expect(r.err).toMatch(/^modelgate: error \[UNREACHABLE\]: cannot reach http:\/\/127\.0\.0\.1:9\/graphql/);
  });
});

describe('the CLI configuration', () => {
  it('stops with one line naming a bad variable', async () => {
    const restore = withEnv({ PORT: 'abc' });
    try {
      expect(await cli('serve')).toEqual({
        status: 1,
        out: '',
        err: 'modelgate: invalid configuration: PORT must be an integer between 0 and 65535 (got "abc")',
      });
    } finally {
      restore();
    }
  });
});
