import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import YAML from 'yaml';
import { writeDvcProject } from '../helpers/dvc-project';
import { writeMlflowStore } from '../helpers/mlflow-store';
import {
  createTestApp,
  dbKind,
  expectData,
  expectError,
  FIXTURES,
  fixture,
  GRAY_MODEL,
  registerGray,
  type TestApp,
} from '../helpers/test-app';

// What real stores exercise beyond the basics: MLflow 3 versions whose run is only named by their
// LoggedModel, one store written several ways, --registered-model, and folders or URLs that are not
// MLflow stores at all.
const IMPORT =
  `mutation($input: ImportMlflowInput!) { importMlflow(input: $input) ` +
  `{ created updated unchanged failed items { kind name version action reason } } }`;
const MLFLOW = path.join(FIXTURES, 'formats', 'mlflow');
const REAL_35 = path.join(MLFLOW, 'filestore-mlflow3.5', 'mlruns');
const EXPERIMENT_35 = '643442710647968416';
const RUN_V1 = 'b923f0c310424625bd88a002bddce3bd'; // single_model_training, LoggedModel m-197681d0…
const RUN_V16 = 'bbf71be5a32f439e965d92b7db72f973'; // single_model_training, LoggedModel m-2b15a173…
const MODEL_V16 = 'm-2b15a1738b31476690c10f51565a6f79';
const onnx = readFileSync(fixture('gray8x8-3class.onnx'));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Blanks `run_id` in a registry version's meta.yaml, as MLflow 3 leaves it for a LoggedModel without one. */
function blankRunId(store: string, model: string, version: number): void {
  const file = path.join(store, 'models', model, `version-${version}`, 'meta.yaml');
  const meta = YAML.parse(readFileSync(file, 'utf8'));
  expect(meta.run_id).toMatch(/^[0-9a-f]{32}$/);
  writeFileSync(file, YAML.stringify({ ...meta, run_id: '' }));
}

describe(`MLflow details real stores exercise (${dbKind()})`, () => {
  let t: TestApp;
  let dir: string;
  const run = (input: Record<string, unknown>) => t.gql(IMPORT, { input }, t.keys.admin);
  const counts = async () => [
    await t.app.db.prisma.mlflowRun.count(),
    await t.app.db.prisma.mlflowModelVersion.count(),
    await t.app.db.prisma.modelVersion.count(),
  ];
  const registeredRows = () =>
    t.app.db.prisma.mlflowModelVersion.findMany({ orderBy: { version: 'asc' }, include: { run: true } });

  beforeEach(async () => {
    t = await createTestApp();
    dir = mkdtempSync(path.join(os.tmpdir(), 'modelgate-mlflow-real-'));
  });
  afterEach(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('MLflow 3 versions with an empty run_id are linked through their LoggedModel', () => {
    it('links the real 3.5 FileStore versions to the source_run_id of the LoggedModel they register', async () => {
      const store = path.join(dir, 'mlruns');
      cpSync(REAL_35, store, { recursive: true });
      blankRunId(store, 'iris-classifier', 1);
      blankRunId(store, 'iris-classifier', 16);
      const report = expectData(await run({ trackingUri: store })).importMlflow;
      expect(report.failed).toBe(0);
      const rows = await registeredRows();
      expect(rows.map((v) => [v.version, v.run?.runId ?? null])).toEqual([
        [1, RUN_V1],
        // 14 and 15 name a run (and a LoggedModel) of an experiment this copy does not hold.
        [14, null],
        [15, null],
        [16, RUN_V16],
        [17, RUN_V16],
      ]);
    });

    it("gives a copy (models:/<name>/<N>) with an empty run_id its original's run, through the original's LoggedModel", async () => {
      const store = path.join(dir, 'mlruns');
      cpSync(REAL_35, store, { recursive: true });
      // v17 is copy_model_version of v16: both blanked, v16 leads to its LoggedModel's source run.
      blankRunId(store, 'iris-classifier', 16);
      blankRunId(store, 'iris-classifier', 17);
      expect(expectData(await run({ trackingUri: store })).importMlflow.failed).toBe(0);
      const rows = await registeredRows();
      expect(rows.filter((v) => v.version >= 16).map((v) => [v.version, v.run?.runId ?? null])).toEqual([
        [16, RUN_V16],
        [17, RUN_V16],
      ]);
    });

    it('gives the gateway version registered from the LoggedModel its run (FileStore)', async () => {
      await t.app.services.models.register(t.app.localActor(), { ...GRAY_MODEL, name: 'shapes' });
      const store = path.join(dir, 'mlruns');
      const runId = 'e'.repeat(32);
      const modelId = `m-${'3'.repeat(32)}`;
      writeMlflowStore(store, {
        experimentId: '42',
        experiment: 'mlflow3',
        runs: [{ runId, name: 'train', params: { lr: '0.01' }, loggedModel: { modelId, onnx } }],
        registered: { name: 'shapes', versions: [{ version: 1, runId: '', source: `models:/${modelId}`, modelId }] },
      });
      const report = expectData(await run({ trackingUri: store })).importMlflow;
      expect(report.failed).toBe(0);
      expect(report.items.find((i: any) => i.kind === 'registered-model')).toMatchObject({
        version: 1,
        reason: 'gateway version 1',
      });
      const { modelVersion } = expectData(
        await t.gql(
          `{ modelVersion(ref: { model: "shapes", version: 1 }) { sha256 mlflowRun { runId runName params } } }`,
          {},
          t.keys.viewer,
        ),
      );
      expect(modelVersion).toEqual({
        sha256: sha(onnx),
        mlflowRun: { runId, runName: 'train', params: { lr: '0.01' } },
      });
      expect((await registeredRows()).map((v) => v.run?.runId)).toEqual([runId]);
    });

    it("finds a LoggedModel's files through its artifact_location (an experiment with its own artifact location)", async () => {
      await t.app.services.models.register(t.app.localActor(), { ...GRAY_MODEL, name: 'shapes' });
      const store = path.join(dir, 'mlruns');
      const modelId = `m-${'4'.repeat(32)}`;
      // The files are where artifact_location says, not in <exp>/models/m-<id>/artifacts.
      const location = pathToFileURL(path.join(store, 'custom-artifacts', 'models', modelId, 'artifacts')).href;
      writeMlflowStore(store, {
        experimentId: '43',
        experiment: 'custom-location',
        runs: [{ runId: 'f'.repeat(32), name: 'train', loggedModel: { modelId, onnx, artifactLocation: location } }],
        registered: { name: 'shapes', versions: [{ version: 1, runId: '', source: `models:/${modelId}`, modelId }] },
      });
      const report = expectData(await run({ trackingUri: store })).importMlflow;
      expect(report.failed).toBe(0);
      expect(report.items).toContainEqual(
        expect.objectContaining({ kind: 'version', name: 'shapes v1', version: 1, action: 'created' }),
      );
      const { modelVersion } = expectData(
        await t.gql(
          `{ modelVersion(ref: { model: "shapes", version: 1 }) { sha256 artifactUri mlflowRun { runId } } }`,
          {},
          t.keys.viewer,
        ),
      );
      expect(modelVersion).toEqual({
        sha256: sha(onnx),
        artifactUri: `models:/${modelId}`,
        mlflowRun: { runId: 'f'.repeat(32) },
      });
    });
  });

  describe('a tracking store is one store however it is written', () => {
    it('imports a FileStore through file://…/mlruns/, its plain path (with and without a slash) and a symlink as one store', async () => {
      await t.app.services.models.register(t.app.localActor(), { ...GRAY_MODEL, name: 'shapes' });
      const store = path.join(dir, 'mlruns');
      const runId = 'a'.repeat(32);
      const modelId = `m-${'5'.repeat(32)}`;
      writeMlflowStore(store, {
        experimentId: '7',
        experiment: 'spellings',
        runs: [
          { runId, name: 'train', metrics: [['loss', 0.5, 1700000001000, 1]], loggedModel: { modelId, onnx } },
          { runId: 'b'.repeat(32), name: 'explore', params: { lr: '1' } },
        ],
        registered: {
          name: 'shapes',
          versions: [{ version: 1, runId, source: `models:/${modelId}`, modelId, aliases: ['champion'] }],
        },
      });
      const link = path.join(dir, 'linked-mlruns');
      symlinkSync(store, link);
      const identity = pathToFileURL(realpathSync(store)).href;
      expect(identity.endsWith('/')).toBe(false);

      const first = expectData(await run({ trackingUri: `${pathToFileURL(store).href}/` })).importMlflow;
      expect([first.created, first.failed]).toEqual([4, 0]); // 2 runs, 1 gateway version, 1 registered version
      const stored = await counts();
      expect(stored).toEqual([2, 1, 1]);
      for (const spelling of [store, `${store}/`, link, `${link}/`, pathToFileURL(link).href]) {
        const again = expectData(await run({ trackingUri: spelling })).importMlflow;
        expect([spelling, again.created, again.updated, again.failed]).toEqual([spelling, 0, 0, 0]);
        expect(again.items.map((i: any) => i.action)).toEqual(again.items.map(() => 'unchanged'));
        expect(await counts()).toEqual(stored);
      }
      const runs = await t.app.db.prisma.mlflowRun.findMany({ select: { trackingUri: true } });
      expect(runs.map((r) => r.trackingUri)).toEqual([identity, identity]);
      const { modelVersion } = expectData(
        await t.gql(
          `{ modelVersion(ref: { model: "shapes", alias: "champion" }) { mlflowRun { trackingUri } } }`,
          {},
          t.keys.viewer,
        ),
      );
      expect(modelVersion.mlflowRun.trackingUri).toBe(identity);

      // Rows an earlier release stored under the symlink's path (its key was the path, links not
      // followed) move to the canonical key at the next import through that spelling: nothing twice.
      const legacy = pathToFileURL(link).href;
      await t.app.db.prisma.mlflowRun.updateMany({ data: { trackingUri: legacy } });
      await t.app.db.prisma.mlflowModelVersion.updateMany({ data: { trackingUri: legacy } });
      const adopted = expectData(await run({ trackingUri: link })).importMlflow;
      expect([adopted.created, adopted.updated, adopted.failed]).toEqual([0, 0, 0]);
      expect(await counts()).toEqual(stored);
      const keys = [
        ...(await t.app.db.prisma.mlflowRun.findMany({ select: { trackingUri: true } })),
        ...(await t.app.db.prisma.mlflowModelVersion.findMany({ select: { trackingUri: true } })),
      ];
      expect(keys.map((k) => k.trackingUri)).toEqual([identity, identity, identity]);
    });
  });

  describe('--registered-model', () => {
    it('imports only that model’s versions and the runs they name, from the real 3.5 FileStore', async () => {
      const store = path.join(dir, 'mlruns');
      cpSync(REAL_35, store, { recursive: true });
      // A second registered model and a run no version names: neither is imported.
      writeMlflowStore(store, {
        experimentId: '99',
        experiment: 'other',
        runs: [{ runId: 'c'.repeat(32), name: 'unrelated' }],
        registered: { name: 'other-model', versions: [{ version: 1, runId: 'c'.repeat(32) }] },
      });
      blankRunId(store, 'iris-classifier', 16); // reached through LoggedModel m-2b15a173…
      const dry = expectData(
        await run({ trackingUri: store, registeredModel: 'iris-classifier', dryRun: true }),
      ).importMlflow;
      expect(await counts()).toEqual([0, 0, 0]);
      expect(dry.items.filter((i: any) => i.kind === 'run').length).toBe(2);
      const report = expectData(await run({ trackingUri: store, registeredModel: 'iris-classifier' })).importMlflow;
      expect(report.failed).toBe(0);
      const runs = await t.app.db.prisma.mlflowRun.findMany({ orderBy: { runId: 'asc' } });
      expect(runs.map((r) => [r.runId, r.experimentName])).toEqual([
        [RUN_V1, 'iris-classification'],
        [RUN_V16, 'iris-classification'],
      ]);
      const rows = await registeredRows();
      expect(rows.map((v) => [v.name, v.version, v.run?.runId ?? null])).toEqual([
        ['iris-classifier', 1, RUN_V1],
        ['iris-classifier', 14, null],
        ['iris-classifier', 15, null],
        ['iris-classifier', 16, RUN_V16],
        ['iris-classifier', 17, RUN_V16],
      ]);
      const again = expectData(await run({ trackingUri: store, registeredModel: 'iris-classifier' })).importMlflow;
      expect([again.created, again.updated, again.failed]).toEqual([0, 0, 0]);
    });

    it('refuses an unknown name with BAD_USER_INPUT naming known models, before anything is written', async () => {
      const store = path.join(dir, 'mlruns');
      cpSync(REAL_35, store, { recursive: true });
      const error = expectError(await run({ trackingUri: store, registeredModel: 'iris-clasifier' }), 'BAD_USER_INPUT');
      expect(error.message).toBe(
        `no registered model "iris-clasifier" in ${store}; registered models there include "iris-classifier"`,
      );
      expect(await counts()).toEqual([0, 0, 0]);
      // A store with more models than the message lists.
      for (const n of [1, 2, 3, 4, 5, 6])
        writeMlflowStore(store, {
          experimentId: '99',
          experiment: 'other',
          runs: [],
          registered: { name: `model-${n}`, versions: [] },
        });
      expect(expectError(await run({ trackingUri: store, registeredModel: 'nope' }), 'BAD_USER_INPUT').message).toMatch(
        /^no registered model "nope" in .*; registered models there include ("[^"]+", ){4}"[^"]+", \.\.\.$/,
      );
      expect(await counts()).toEqual([0, 0, 0]);
    });
  });

  it('keeps a version linked to its first run when several runs logged the same bytes: a re-import is unchanged', async () => {
    await t.app.services.models.register(t.app.localActor(), { ...GRAY_MODEL, name: 'twins' });
    const store = path.join(dir, 'mlruns');
    // A retrained run that produced byte-identical weights (a fixed seed), as sweeps often do.
    writeMlflowStore(store, {
      experimentId: '5',
      experiment: 'twins',
      runs: [
        { runId: 'a'.repeat(32), name: 'seed-0', model: { onnx } },
        { runId: 'b'.repeat(32), name: 'seed-0-again', model: { onnx } },
      ],
      registered: { name: 'twins', versions: [{ version: 1, runId: 'a'.repeat(32) }] },
    });
    const first = expectData(await run({ trackingUri: store })).importMlflow;
    expect(first.failed).toBe(0);
    const linkedRun = async () =>
      (
        await t.app.db.prisma.modelVersion.findFirstOrThrow({
          where: { model: { name: 'twins' } },
          include: { mlflowRun: true },
        })
      ).mlflowRun?.runId;
    expect(await linkedRun()).toBe('a'.repeat(32));
    for (let i = 0; i < 2; i++) {
      const again = expectData(await run({ trackingUri: store })).importMlflow;
      expect([again.created, again.updated, again.failed]).toEqual([0, 0, 0]);
      expect(await linkedRun()).toBe('a'.repeat(32));
    }
  });

  it('reports deleted runs and experiments as skipped, lists the experiments for an unknown --experiment, and keeps NaN and infinite metric values', async () => {
    await registerGray(t);
    const store = path.join(dir, 'mlruns');
    const nonFinite: [string, number | string, number, number][] = [
      ['loss', 'nan', 1700000001000, 0],
      ['loss', 'inf', 1700000002000, 1],
      ['loss', '-inf', 1700000003000, 2],
      ['loss', 0.25, 1700000004000, 3],
    ];
    writeMlflowStore(store, {
      experimentId: '3',
      experiment: 'wheat',
      runs: [
        { runId: 'a'.repeat(32), name: 'kept', metrics: nonFinite, model: { onnx } },
        // A logged model whose onnx flavor names a file that is not there: seen and said.
        { runId: 'd'.repeat(32), name: 'half-logged', model: {} },
        { runId: 'b'.repeat(32), name: 'gone-1' },
        { runId: 'c'.repeat(32), name: 'gone-2' },
      ],
    });
    const lifecycle = (file: string, stage: string) =>
      writeFileSync(file, readFileSync(file, 'utf8').replace('lifecycle_stage: active', `lifecycle_stage: ${stage}`));
    for (const id of ['b', 'c']) lifecycle(path.join(store, '3', id.repeat(32), 'meta.yaml'), 'deleted');
    // A deleted experiment still in place (MLflow moves it to .trash/ only on gc of the file store).
    writeMlflowStore(store, { experimentId: '4', experiment: 'old', runs: [] });
    lifecycle(path.join(store, '4', 'meta.yaml'), 'deleted');
    const report = expectData(await run({ trackingUri: store })).importMlflow;
    expect(report.items.filter((i: any) => i.action === 'skipped')).toEqual([
      { kind: 'experiment', name: 'old', version: null, action: 'skipped', reason: 'deleted in MLflow: not imported' },
      {
        kind: 'experiment',
        name: 'wheat',
        version: null,
        action: 'skipped',
        reason: '2 of its 4 runs are deleted in MLflow: not imported',
      },
      {
        kind: 'artifact',
        name: 'half-logged/model',
        version: null,
        action: 'skipped',
        reason: "its onnx flavor names model.onnx, which is not among the logged model's files",
      },
    ]);
    expect(
      report.items
        .filter((i: any) => i.kind === 'run')
        .map((i: any) => i.name)
        .sort(),
    ).toEqual(['half-logged', 'kept']);
    const history = await t.app.db.prisma.mlflowMetric.findMany({ orderBy: { step: 'asc' } });
    expect(history.map((m) => m.value)).toEqual([NaN, Infinity, -Infinity, 0.25]);
    expect(await counts()).toEqual([2, 0, 1]);
    // GraphQL's Float has no NaN or Infinity: the value is null and nonFinite says which it was.
    const { modelVersion } = expectData(
      await t.gql(
        `{ modelVersion(ref: { model: "gray", version: 1 }) { mlflowRun { runName metricHistory { step value nonFinite } } } }`,
        {},
        t.keys.viewer,
      ),
    );
    expect(modelVersion.mlflowRun.runName).toBe('kept');
    expect(modelVersion.mlflowRun.metricHistory).toEqual([
      { step: 0, value: null, nonFinite: 'NaN' },
      { step: 1, value: null, nonFinite: 'Infinity' },
      { step: 2, value: null, nonFinite: '-Infinity' },
      { step: 3, value: 0.25, nonFinite: null },
    ]);
    const again = expectData(await run({ trackingUri: store })).importMlflow;
    expect([again.created, again.updated, again.failed, again.unchanged]).toEqual([0, 0, 0, 2]);

    expect(expectError(await run({ trackingUri: store, experiment: 'whaet' }), 'NOT_FOUND').message).toBe(
      `no experiment "whaet" in ${store}; experiments there: "Default", "wheat"`,
    );
  });

  describe('pointing at the wrong folder', () => {
    const refused = async (trackingUri: string) => {
      const message = expectError(await run({ trackingUri }), 'BAD_USER_INPUT').message;
      expect(await counts()).toEqual([0, 0, 0]);
      return message;
    };

    it('names the mlruns/ inside a project root, and refuses a DVC repository, an experiment folder, an empty folder and a folder without experiments or models/', async () => {
      const repo = path.join(dir, 'project');
      // An experiment with a run: each run folder has a meta.yaml of its own, as real stores have.
      writeMlflowStore(path.join(repo, 'mlruns'), {
        experimentId: '1',
        experiment: 'e',
        runs: [{ runId: 'e'.repeat(32), name: 'r' }],
      });
      mkdirSync(path.join(repo, 'src'));
      expect(await refused(repo)).toBe(
        `${repo} is not an MLflow FileStore but holds one: did you mean ${path.join(repo, 'mlruns')}?`,
      );
      expect(await refused(`${pathToFileURL(repo).href}/`)).toContain(`did you mean ${path.join(repo, 'mlruns')}?`);

      const dvc = path.join(dir, 'dvc-repo');
      writeDvcProject(dvc, { workspace: false, models: [], datasets: [] });
      expect(await refused(dvc)).toBe(
        `${dvc} is a DVC repository, not an MLflow FileStore (import it with \`import dvc\`): expected an MLflow ` +
          'FileStore (an mlruns/ folder) holding experiment folders (<id>/meta.yaml) or a model registry (models/<name>/meta.yaml)',
      );

      expect(await refused(path.join(repo, 'mlruns', '1'))).toBe(
        `${path.join(repo, 'mlruns', '1')} is one experiment's folder, not the FileStore: did you mean ${path.join(repo, 'mlruns')}?`,
      );

      // MLflow's trash of deleted experiments holds experiment folders too.
      mkdirSync(path.join(repo, 'mlruns', '.trash'));
      cpSync(path.join(repo, 'mlruns', '1'), path.join(repo, 'mlruns', '.trash', '2'), { recursive: true });
      expect(await refused(path.join(repo, 'mlruns', '.trash'))).toBe(
        `${path.join(repo, 'mlruns', '.trash')} is MLflow's trash of deleted experiments, not the FileStore: did you mean ${path.join(repo, 'mlruns')}?`,
      );

      const empty = path.join(dir, 'empty');
      mkdirSync(empty);
      expect(await refused(empty)).toMatch(/ is an empty folder: expected an MLflow FileStore/);

      const other = path.join(dir, 'other');
      mkdirSync(path.join(other, 'notes'), { recursive: true });
      mkdirSync(path.join(other, 'models'), { recursive: true });
      writeFileSync(path.join(other, 'models', 'model.onnx'), onnx);
      writeFileSync(path.join(other, 'notes', 'readme.txt'), 'x');
      expect(await refused(other)).toBe(
        `${other} is not an MLflow FileStore: it has no experiment folders (<id>/meta.yaml) and no models/; ` +
          'expected an MLflow FileStore (an mlruns/ folder) holding experiment folders (<id>/meta.yaml) or a model registry (models/<name>/meta.yaml)',
      );
    });

    it('still imports a registry-only FileStore (models/ without experiments), as the 2023 MLflow 2.x sample is', async () => {
      const store = path.join(dir, 'mlruns');
      cpSync(path.join(MLFLOW, 'registry-filestore-mlflow2.x-2023-05', 'mlruns'), store, { recursive: true });
      const report = expectData(await run({ trackingUri: store })).importMlflow;
      expect(report.failed).toBe(0);
      expect(report.items.filter((i: any) => i.kind === 'registered-model').length).toBeGreaterThan(0);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Tracking servers, through a protocol double: an in-test HTTP server replaying MLflow's recorded wire
// shapes (tests/fixtures/formats/mlflow/rest/constructed) and, for logged-models/{id}, a body
// rendered from the real 3.5 FileStore's LoggedModel meta.yaml. No MLflow server runs here.

const REST = path.join(MLFLOW, 'rest', 'constructed');
const load = (name: string) => JSON.parse(readFileSync(path.join(REST, name), 'utf8'));

/** GET logged-models/{id}: LoggedModelInfo as MLflow 3 serialises it, from the real FileStore meta.yaml. */
function loggedModelBody(modelId: string) {
  const meta = YAML.parse(readFileSync(path.join(REAL_35, EXPERIMENT_35, 'models', modelId, 'meta.yaml'), 'utf8'));
  return {
    model: {
      info: {
        model_id: meta.model_id,
        experiment_id: meta.experiment_id,
        name: meta.name,
        creation_timestamp_ms: meta.creation_timestamp,
        last_updated_timestamp_ms: meta.last_updated_timestamp,
        artifact_uri: meta.artifact_location,
        status: 'LOGGED_MODEL_READY',
        source_run_id: meta.source_run_id,
      },
      data: {},
    },
  };
}

interface Double {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

async function listen(handler: http.RequestListener): Promise<Double> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** An MLflow 3 server whose version 16 of iris-classifier has an empty run_id and names LoggedModel m-2b15a173…. */
function mlflow3Server(): Promise<Double> {
  const experiment = load('experiments-get-by-name.json').experiment;
  const runs = [...load('runs-search.json').runs, load('runs-get.json').run];
  const registered = load('registered-models-get.json').registered_model;
  const v16 = { ...load('model-versions-get.json').model_version, run_id: '' };
  const mlmodel = `artifact_path: model\nflavors:\n  onnx:\n    data: model.onnx\n    onnx_version: 1.15.0\nmodel_id: ${MODEL_V16}\n`;
  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  return listen((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const p = url.pathname;
    const missing = () => json(res, 404, load('error-resource-does-not-exist.json'));
    if (p === '/api/2.0/mlflow/experiments/search') return json(res, 200, { experiments: [experiment] });
    if (p === '/api/2.0/mlflow/runs/search') return json(res, 200, { runs });
    if (p === '/api/2.0/mlflow/runs/get') {
      const found = runs.find((r) => r.info.run_id === url.searchParams.get('run_id'));
      return found ? json(res, 200, { run: found }) : missing();
    }
    if (p === '/api/2.0/mlflow/metrics/get-history')
      return json(res, 200, {
        metrics: [{ key: url.searchParams.get('metric_key'), value: 0.5, timestamp: 1, step: 0 }],
      });
    if (p === '/api/2.0/mlflow/registered-models/search') return json(res, 200, { registered_models: [registered] });
    if (p === '/api/2.0/mlflow/registered-models/get')
      return url.searchParams.get('name') === registered.name
        ? json(res, 200, { registered_model: registered })
        : missing();
    if (p === '/api/2.0/mlflow/model-versions/search') return json(res, 200, { model_versions: [v16] });
    if (p === `/api/2.0/mlflow/logged-models/${MODEL_V16}`) return json(res, 200, loggedModelBody(MODEL_V16));
    if (p.startsWith('/api/2.0/mlflow/logged-models/')) return missing();
    if (p === '/api/2.0/mlflow/model-versions/get-download-uri')
      return json(res, 200, { artifact_uri: `mlflow-artifacts:/${EXPERIMENT_35}/models/${MODEL_V16}/artifacts` });
    if (p === '/api/2.0/mlflow/artifacts/list') return json(res, 200, {});
    const file = url.searchParams.get('artifact_file_path') ?? url.searchParams.get('path');
    // Only LoggedModel m-2b15a173… (registered as v16) holds files here; the others are not served.
    if (
      p === `/ajax-api/2.0/mlflow/logged-models/${MODEL_V16}/artifacts/files` ||
      p === '/model-versions/get-artifact'
    ) {
      if (file !== 'MLmodel' && file !== 'model.onnx') return missing();
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      return res.end(file === 'MLmodel' ? mlmodel : onnx);
    }
    json(res, 404, { error_code: 'ENDPOINT_NOT_FOUND', message: `no ${p}` });
  });
}

describe(`MLflow tracking servers as real ones behave, against a protocol double (${dbKind()})`, () => {
  let t: TestApp;
  let server: Double;
  const run = (input: Record<string, unknown>) =>
    t.gql(IMPORT, { input: { trackingUri: server.url, ...input } }, t.keys.admin);

  beforeEach(async () => {
    server = await mlflow3Server();
    t = await createTestApp({
      config: {
        mlflow: {
          allowedHosts: [new URL(server.url).host],
          token: undefined,
          username: undefined,
          password: undefined,
          timeoutMs: 1500,
        },
      },
    });
    await t.app.services.models.register(t.app.localActor(), { ...GRAY_MODEL, name: 'iris-classifier' });
  });
  afterEach(async () => {
    await t.close();
    await server.close();
  });

  it('links a version with an empty run_id to its LoggedModel’s source_run_id (GET logged-models/{id}), importing only that model’s runs (MLflow REST protocol double)', async () => {
    const report = expectData(await run({ registeredModel: 'iris-classifier' })).importMlflow;
    expect(report.failed).toBe(0);
    expect(server.requests).toContain(`GET /api/2.0/mlflow/logged-models/${MODEL_V16}`);
    expect(server.requests).toContain(`GET /api/2.0/mlflow/runs/get?run_id=${RUN_V16}`);
    expect(server.requests.some((r) => r.includes('runs/search'))).toBe(false);
    expect(report.items.map((i: any) => [i.kind, i.name, i.action])).toEqual([
      ['run', 'single_model_training', 'created'],
      ['version', 'iris-classifier v16', 'created'],
      ['registered-model', 'iris-classifier', 'created'],
      ['alias', 'iris-classifier@champion', 'updated'],
    ]);
    const rows = await t.app.db.prisma.mlflowModelVersion.findMany({ include: { run: true } });
    expect(rows.map((v) => [v.version, v.run?.runId])).toEqual([[16, RUN_V16]]);
    const { modelVersion } = expectData(
      await t.gql(
        `{ modelVersion(ref: { model: "iris-classifier", alias: "champion" }) { version mlflowRun { runId trackingUri } } }`,
        {},
        t.keys.viewer,
      ),
    );
    expect(modelVersion).toEqual({ version: 1, mlflowRun: { runId: RUN_V16, trackingUri: server.url } });
  });

  it('keys a server by its normalised URL: scheme case and a trailing slash do not make a second store (MLflow REST protocol double)', async () => {
    const first = expectData(await run({})).importMlflow;
    expect(first.failed).toBe(0);
    const runs = await t.app.db.prisma.mlflowRun.count();
    expect(runs).toBeGreaterThan(1);
    const port = new URL(server.url).port;
    for (const spelling of [`${server.url}/`, `HTTP://127.0.0.1:${port}//`]) {
      const again = expectData(await run({ trackingUri: spelling })).importMlflow;
      expect([spelling, again.created, again.updated, again.failed]).toEqual([spelling, 0, 0, 0]);
      expect(await t.app.db.prisma.mlflowRun.count()).toBe(runs);
    }
    const stored = await t.app.db.prisma.mlflowRun.findMany({
      select: { trackingUri: true },
      distinct: ['trackingUri'],
    });
    expect(stored).toEqual([{ trackingUri: server.url }]);
  });

  it('refuses an unknown registered model naming the known ones, before any run is stored (MLflow REST protocol double)', async () => {
    expect(expectError(await run({ registeredModel: 'iris' }), 'BAD_USER_INPUT').message).toBe(
      `no registered model "iris" in ${server.url}; registered models there include "iris-classifier"`,
    );
    expect(server.requests.some((r) => r.includes('runs/'))).toBe(false);
    expect(await t.app.db.prisma.mlflowRun.count()).toBe(0);
    expect(await t.app.db.prisma.mlflowModelVersion.count()).toBe(0);
  });

  it('refuses a URL that is not an MLflow server: a 404 page, an HTML app, JSON of another API (protocol doubles of non-MLflow servers)', async () => {
    const html = '<!doctype html><html><body>Not Found</body></html>';
    const cases: [number, string, string, string][] = [
      [404, 'text/html', html, 'answered HTTP 404'],
      [200, 'text/html', html, 'answered with something that is not JSON (an HTML page)'],
      [200, 'application/json', '[1, 2]', 'answered JSON that is not an experiments/search result'],
    ];
    for (const [status, type, body, what] of cases) {
      const other = await listen((_req, res) => {
        res.writeHead(status, { 'content-type': type });
        res.end(body);
      });
      try {
        t.app.services.mlflowImporter['deps'].allowedHosts = [new URL(other.url).host];
        const error = expectError(
          await t.gql(IMPORT, { input: { trackingUri: other.url } }, t.keys.admin),
          'BAD_USER_INPUT',
        );
        expect(error.message).toBe(
          `${other.url} is not an MLflow tracking server: POST ${other.url}/api/2.0/mlflow/experiments/search ${what}; ` +
            "expected MLflow's REST API (JSON under /api/2.0/mlflow/; include any path prefix the server is mounted under)",
        );
        expect(other.requests).toEqual(['POST /api/2.0/mlflow/experiments/search']);
      } finally {
        await other.close();
      }
    }
    expect(await t.app.db.prisma.mlflowRun.count()).toBe(0);
  });
});
