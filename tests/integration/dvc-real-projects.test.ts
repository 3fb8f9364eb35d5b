import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { writeDvcProject } from '../helpers/dvc-project';
import { gitIn } from '../helpers/git';
import { createTestApp, dbKind, expectData, expectError, fixture, GRAY_MODEL, type TestApp } from '../helpers/test-app';

/**
 * What real DVC repositories contain, as the DVC and GTO example repositories write it (see
 * tests/fixtures/formats/dvc): unannotated outputs of .dvc files (with `wdir`) and dvc.lock stages,
 * GTO artifacts that are plain git files, single-file datasets, and folders that are not projects.
 */
const IMPORT_DVC =
  `mutation($input: ImportDvcInput!) { importDvc(input: $input) ` +
  `{ created updated unchanged failed items { kind name version action reason } } }`;

const onnx = readFileSync(fixture('gray8x8-3class.onnx'));
const onnxB1 = readFileSync(fixture('gray8x8-3class-batch1.onnx'));
const png = readFileSync(fixture('png-renamed.onnx')); // a real 8x8 PNG
const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

describe(`DVC projects as real repositories have them (${dbKind()})`, () => {
  let t: TestApp;
  let dir: string;
  const importDvc = (input: Record<string, unknown>) => t.gql(IMPORT_DVC, { input }, t.keys.admin);
  const rows = (report: any) => report.items.map((i: any) => [i.kind, i.name, i.version, i.action]);
  const item = (report: any, name: string) => report.items.find((i: any) => i.name === name);
  const models = async () =>
    expectData(
      await t.gql(
        `{ models { name versions { version tags dvc { path md5 rev remote dirty } aliases } } }`,
        {},
        t.keys.viewer,
      ),
    ).models;

  beforeEach(async () => {
    t = await createTestApp();
    dir = mkdtempSync(path.join(os.tmpdir(), 'modelgate-dvc-real-'));
  });
  afterEach(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * A project whose outputs carry no `type:`: a `dvc add`ed model in models/ (a DVC 0.x-style .dvc
   * file with `wdir: .`), and a pipeline whose dvc.lock stages write a model, an image folder and
   * an XML file. Objects sit in the project cache (DVC 3 layout), as after `dvc repro`.
   */
  function unannotated() {
    const root = path.join(dir, 'repo');
    const cache = (bytes: Buffer | string, hash: string) => {
      const file = path.join(root, '.dvc', 'cache', 'files', 'md5', hash.slice(0, 2), hash.slice(2));
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, bytes);
    };
    mkdirSync(path.join(root, 'models'), { recursive: true });
    mkdirSync(path.join(root, '.dvc'), { recursive: true });
    writeFileSync(path.join(root, '.dvc', 'config'), '');
    cache(onnx, md5(onnx));
    writeFileSync(
      path.join(root, 'models', 'gray.onnx.dvc'),
      YAML.stringify({ wdir: '.', outs: [{ md5: md5(onnx), size: onnx.length, hash: 'md5', path: 'gray.onnx' }] }),
    );
    cache(onnxB1, md5(onnxB1));
    const xml = '<posts>\n</posts>\n';
    cache(xml, md5(xml));
    const files = { 'circle/a.png': png, 'square/b.png': Buffer.concat([png, Buffer.from([0])]) };
    const entries = Object.entries(files).map(([relpath, bytes]) => ({ md5: md5(bytes), relpath, bytes }));
    for (const e of entries) cache(e.bytes, e.md5);
    const manifest = '[' + entries.map((e) => `{"md5": "${e.md5}", "relpath": "${e.relpath}"}`).join(', ') + ']';
    cache(manifest, `${md5(manifest)}.dir`);
    writeFileSync(
      path.join(root, 'dvc.yaml'),
      YAML.stringify({
        stages: {
          prepare: { cmd: 'python prepare.py', outs: ['data/data.xml', 'data/images'] },
          train: { cmd: 'python train.py', outs: ['out/model.onnx'] },
        },
      }),
    );
    writeFileSync(
      path.join(root, 'dvc.lock'),
      YAML.stringify({
        schema: '2.0',
        stages: {
          prepare: {
            cmd: 'python prepare.py',
            outs: [
              { path: 'data/data.xml', hash: 'md5', md5: md5(xml), size: xml.length },
              {
                path: 'data/images',
                hash: 'md5',
                md5: `${md5(manifest)}.dir`,
                size: entries.reduce((s, e) => s + e.bytes.length, 0),
                nfiles: entries.length,
              },
            ],
          },
          train: {
            cmd: 'python train.py',
            outs: [{ path: 'out/model.onnx', hash: 'md5', md5: md5(onnxB1), size: onnxB1.length }],
          },
        },
      }),
    );
    return root;
  }

  it('reports every output it does not import as skipped, saying why and how to import it', async () => {
    const root = unannotated();
    const report = expectData(await importDvc({ repoPath: root })).importDvc;
    expect([report.created, report.failed]).toEqual([0, 0]);
    expect(rows(report)).toEqual([
      ['artifact', 'models/gray.onnx', null, 'skipped'],
      ['artifact', 'data/data.xml', null, 'skipped'],
      ['artifact', 'data/images', null, 'skipped'],
      ['artifact', 'out/model.onnx', null, 'skipped'],
    ]);
    expect(item(report, 'models/gray.onnx').reason).toBe(
      'tracked by models/gray.onnx.dvc but not an artifact: import it with --model-path models/gray.onnx --model <name> (modelPath) or declare it under dvc.yaml artifacts: with type: model',
    );
    expect(item(report, 'out/model.onnx').reason).toMatch(
      /^output of stage train in dvc\.lock, not an artifact: import it with --model-path out\/model\.onnx/,
    );
    expect(item(report, 'data/images').reason).toMatch(
      /^output of stage prepare in dvc\.lock, not an artifact: a directory; .*--dataset-path data\/images/,
    );
    expect(item(report, 'data/data.xml').reason).toBe(
      'output of stage prepare in dvc.lock, not an artifact: a single .xml file: neither an ONNX model nor a directory of images',
    );
  });

  it('reads no dvc.lock entry of a stage dvc.yaml no longer defines, and says when a .dvc file and dvc.lock disagree', async () => {
    const root = unannotated();
    // As in a real repository: a removed stage's lock entry left behind, and the model later `dvc add`ed.
    const lock = YAML.parse(readFileSync(path.join(root, 'dvc.lock'), 'utf8'));
    lock.stages.conversion_to_onnx = {
      cmd: 'python convert.py',
      outs: [{ path: 'out/old.onnx', hash: 'md5', md5: md5(onnx), size: onnx.length }],
    };
    writeFileSync(path.join(root, 'dvc.lock'), YAML.stringify(lock));
    mkdirSync(path.join(root, 'out'), { recursive: true });
    writeFileSync(
      path.join(root, 'out', 'model.onnx.dvc'),
      YAML.stringify({ outs: [{ md5: md5(onnx), size: onnx.length, hash: 'md5', path: 'model.onnx' }] }),
    );
    const report = expectData(await importDvc({ repoPath: root })).importDvc;
    expect(item(report, 'out/old.onnx')).toMatchObject({
      action: 'skipped',
      reason:
        'output of stage conversion_to_onnx in dvc.lock, which dvc.yaml no longer defines: a stale record, not read',
    });
    expect(item(report, 'out/model.onnx (out/model.onnx.dvc)')).toMatchObject({
      action: 'skipped',
      reason: `out/model.onnx.dvc records md5 ${md5(onnx)}, stage train in dvc.lock ${md5(onnxB1)}: DVC refuses an output tracked twice; the dvc.lock record is used`,
    });
    const named = await importDvc({ repoPath: root, modelPath: 'out/old.onnx', model: 'gray' });
    expect(named.errors![0]!.message).toMatch(/^modelPath out\/old\.onnx: no DVC output has this path/);
  });

  it('imports an unannotated ONNX output named by --model-path, with labels and input spec given, then from the existing model', async () => {
    const root = unannotated();
    // A .dvc file's output (wdir: .), into a model that does not exist yet.
    const first = expectData(
      await importDvc({
        repoPath: root,
        modelPath: './models/gray.onnx',
        model: 'gray',
        labels: GRAY_MODEL.labels,
        inputSpec: GRAY_MODEL.inputSpec,
      }),
    ).importDvc;
    expect(first.failed).toBe(0);
    expect(rows(first).slice(0, 2)).toEqual([
      ['model', 'gray', null, 'created'],
      ['version', 'gray <- models/gray.onnx', 1, 'created'],
    ]);
    // The named output is no longer reported as skipped; the others still are.
    expect(item(first, 'models/gray.onnx')).toBeUndefined();
    expect(item(first, 'out/model.onnx').action).toBe('skipped');
    // A stage output into the now existing model: its labels and input spec apply.
    const second = expectData(
      await importDvc({ repoPath: root, modelPath: 'out/model.onnx', model: 'gray' }),
    ).importDvc;
    expect(rows(second).slice(0, 1)).toEqual([['version', 'gray <- out/model.onnx', 2, 'created']]);
    const [gray] = await models();
    expect(gray.versions.map((v: any) => [v.version, v.dvc.path, v.dvc.md5, v.tags['dvc.artifact']])).toEqual([
      [1, 'models/gray.onnx', md5(onnx), 'models/gray.onnx'],
      [2, 'out/model.onnx', md5(onnxB1), 'out/model.onnx'],
    ]);
    // Again: unchanged.
    const again = expectData(await importDvc({ repoPath: root, modelPath: 'out/model.onnx', model: 'gray' })).importDvc;
    expect(rows(again)[0]).toEqual(['version', 'gray <- out/model.onnx', 2, 'unchanged']);
  });

  it('a named model that does not exist yet needs labels and an input spec; labels that contradict the model are refused', async () => {
    const root = unannotated();
    const missing = expectData(
      await importDvc({ repoPath: root, modelPath: 'out/model.onnx', model: 'gray' }),
    ).importDvc;
    expect(item(missing, 'out/model.onnx')).toMatchObject({
      kind: 'version',
      action: 'failed',
      reason: expect.stringContaining('no model "gray" to attach out/model.onnx to'),
    });
    expect(await models()).toEqual([]);
    expectData(
      await importDvc({
        repoPath: root,
        modelPath: 'out/model.onnx',
        model: 'gray',
        labels: GRAY_MODEL.labels,
        inputSpec: GRAY_MODEL.inputSpec,
      }),
    );
    const wrong = expectData(
      await importDvc({ repoPath: root, modelPath: 'models/gray.onnx', model: 'gray', labels: ['a', 'b', 'c'] }),
    ).importDvc;
    expect(item(wrong, 'models/gray.onnx')).toMatchObject({
      action: 'failed',
      reason: 'models/gray.onnx: meta.labels differ from the labels of the registered model "gray"',
    });
  });

  it('imports an unannotated image directory named by --dataset-path (its name defaults to the folder)', async () => {
    const root = unannotated();
    const report = expectData(await importDvc({ repoPath: root, datasetPath: 'data/images' })).importDvc;
    expect(rows(report)[0]).toEqual(['dataset', 'images', 1, 'created']);
    const { datasets } = expectData(await t.gql(`{ datasets { name labels size provenance } }`, {}, t.keys.viewer));
    const dataset = datasets.find((d: any) => d.name === 'images');
    expect(dataset).toMatchObject({ labels: ['circle', 'square'], size: 2 });
    expect(dataset.provenance.dvc).toMatchObject({ path: 'data/images', artifact: 'data/images' });
    const named = expectData(
      await importDvc({ repoPath: root, datasetPath: 'data/images', dataset: 'shapes-eval', dryRun: true }),
    ).importDvc;
    expect(rows(named)[0]).toEqual(['dataset', 'shapes-eval', null, 'would-create']);
  });

  it('refuses a named path that nothing tracks, a path leaving the repository, and half a pair, before writing anything', async () => {
    const root = unannotated();
    const none = await importDvc({ repoPath: root, modelPath: 'models/other.onnx', model: 'gray' });
    expectError(none, 'BAD_USER_INPUT');
    expect(none.errors![0]!.message).toBe(
      'modelPath models/other.onnx: no DVC output has this path (no dvc.lock stage output or .dvc file names it) and git does not track such a file at the working tree',
    );
    const outside = await importDvc({ repoPath: root, modelPath: '../x.onnx', model: 'gray' });
    expect(outside.errors![0]!.message).toBe('modelPath "../x.onnx" must be a path inside the repository');
    const noName = await importDvc({ repoPath: root, modelPath: 'out/model.onnx' });
    expect(noName.errors![0]!.message).toBe(
      'modelPath out/model.onnx needs model (--model): the registered model it becomes a version of',
    );
    const noPath = await importDvc({ repoPath: root, dataset: 'x' });
    expectError(noPath, 'BAD_USER_INPUT');
    expect(await models()).toEqual([]);
  });

  it('says why a single-file dataset artifact cannot be imported', async () => {
    const root = unannotated();
    const dvcYaml = YAML.parse(readFileSync(path.join(root, 'dvc.yaml'), 'utf8'));
    writeFileSync(
      path.join(root, 'dvc.yaml'),
      YAML.stringify({ ...dvcYaml, artifacts: { posts: { path: 'data/data.xml', type: 'dataset' } } }),
    );
    const report = expectData(await importDvc({ repoPath: root })).importDvc;
    expect(item(report, 'posts')).toMatchObject({
      kind: 'dataset',
      action: 'failed',
      reason:
        'data/data.xml is a single file (.xml, not images): a dataset must be a directory of labeled images (one folder per class, or a labels file)',
    });
  });

  describe('GTO artifacts that are plain git files', () => {
    const git = (root: string, ...args: string[]) => gitIn(root)(...args);

    /** A GTO-only repository like iterative/example-gto: artifacts.yaml, the model committed to git, no .dvc/. */
    function gtoRepo() {
      const root = path.join(dir, 'gto');
      mkdirSync(path.join(root, 'models'), { recursive: true });
      writeFileSync(
        path.join(root, 'artifacts.yaml'),
        YAML.stringify({
          churn: {
            path: 'models/churn.onnx',
            type: 'model',
            virtual: false,
            custom: { registeredModel: 'shapes', labels: GRAY_MODEL.labels, inputSpec: GRAY_MODEL.inputSpec },
          },
          segment: { path: 'gs://mycorp/proj-ml/segm-model-2022-04-15.onnx', type: 'model' },
          pickled: { path: 'models/churn.pkl', type: 'model', virtual: false },
        }),
      );
      writeFileSync(path.join(root, 'models', 'churn.onnx'), onnx);
      git(root, 'init', '-q');
      git(root, 'add', '.');
      git(root, 'commit', '-qm', 'v1');
      const first = git(root, 'rev-parse', 'HEAD');
      git(root, 'tag', '-a', 'churn@v1.0.0', '-m', 'Registering artifact churn version v1.0.0');
      git(root, 'tag', '-a', 'churn#prod#1', '-m', 'Assigning stage prod to artifact churn version v1.0.0');
      // The next commit changes the file.
      writeFileSync(path.join(root, 'models', 'churn.onnx'), onnxB1);
      git(root, 'commit', '-qam', 'v2');
      return { root, first };
    }

    it('reads the file from git at the revision, hashes it, and keeps GTO version and stage', async () => {
      const { root, first } = gtoRepo();
      const report = expectData(await importDvc({ repoPath: root, rev: 'churn@v1.0.0' })).importDvc;
      expect(rows(report).slice(0, 3)).toEqual([
        ['model', 'shapes', null, 'created'],
        ['version', 'shapes <- churn', 1, 'created'],
        ['alias', 'shapes@prod', 1, 'updated'],
      ]);
      const [shapes] = await models();
      expect(shapes.versions[0]).toMatchObject({
        tags: { 'dvc.artifact': 'churn', 'dvc.source': 'git', 'gto.version': 'v1.0.0' },
        dvc: { path: 'models/churn.onnx', md5: md5(onnx), rev: first, remote: null },
        aliases: ['prod'],
      });
      const { modelVersion } = expectData(
        await t.gql(`{ modelVersion(ref: { model: "shapes", version: 1 }) { sha256 } }`, {}, t.keys.viewer),
      );
      expect(modelVersion.sha256).toBe(createHash('sha256').update(onnx).digest('hex'));
      // The URL artifact's scheme is named.
      expect(item(report, 'segment')).toMatchObject({
        action: 'failed',
        reason: expect.stringMatching(/^UNSUPPORTED_REMOTE: .*gs:\/\//),
      });
      // A pickle is named as such, before anything is read.
      expect(item(report, 'pickled')).toMatchObject({
        action: 'failed',
        reason:
          'models/churn.pkl is a .pkl file, not ONNX: export the model to ONNX (torch.onnx.export, tf2onnx, skl2onnx) and track the .onnx file',
      });
      // Again at the same revision: unchanged.
      const again = expectData(await importDvc({ repoPath: root, rev: first })).importDvc;
      expect(rows(again)[0]).toEqual(['version', 'shapes <- churn', 1, 'unchanged']);
    });

    it('reads the working tree when no revision is given (a tracked file, changed and uncommitted)', async () => {
      const { root } = gtoRepo();
      expectData(await importDvc({ repoPath: root }));
      writeFileSync(path.join(root, 'models', 'churn.onnx'), onnx);
      expectData(await importDvc({ repoPath: root }));
      const [shapes] = await models();
      expect(shapes.versions.map((v: any) => [v.version, v.dvc.md5, v.dvc.dirty])).toEqual([
        [1, md5(onnxB1), false],
        [2, md5(onnx), true],
      ]);
    });

    it('a file git ignores is not a plain git artifact', async () => {
      const { root } = gtoRepo();
      git(root, 'rm', '-q', '--cached', 'models/churn.onnx');
      writeFileSync(path.join(root, '.gitignore'), 'models/\n');
      const report = expectData(await importDvc({ repoPath: root })).importDvc;
      expect(item(report, 'churn')).toMatchObject({
        action: 'failed',
        reason:
          'models/churn.onnx has no md5 in dvc.lock or models/churn.onnx.dvc: run the pipeline or dvc add it first',
      });
    });
  });

  it('says what a folder that is not a DVC project looks like instead', async () => {
    // An MLflow store.
    const mlruns = path.join(dir, 'mlruns');
    mkdirSync(path.join(mlruns, '0'), { recursive: true });
    writeFileSync(path.join(mlruns, '0', 'meta.yaml'), 'experiment_id: "0"\nname: Default\n');
    const store = await importDvc({ repoPath: mlruns });
    expectError(store, 'BAD_USER_INPUT');
    expect(store.errors![0]!.message).toBe(
      `${mlruns} is not a DVC project (no .dvc/config, dvc.yaml or artifacts.yaml): it looks like an MLflow tracking store; import it with \`modelgate import mlflow\``,
    );
    // A folder holding the project one level down.
    const parent = path.join(dir, 'work');
    writeDvcProject(path.join(parent, 'classifier'), {});
    const above = await importDvc({ repoPath: parent });
    expect(above.errors![0]!.message).toBe(
      `${parent} is not a DVC project: no .dvc/config, dvc.yaml or artifacts.yaml; did you mean ${path.join(parent, 'classifier')}?`,
    );
    // A folder inside the project (MLOps-Basics keeps one .dvc/ above its week_N/ folders).
    const inner = path.join(parent, 'classifier', 'week_4');
    mkdirSync(inner);
    const below = await importDvc({ repoPath: inner });
    expect(below.errors![0]!.message).toBe(
      `${inner} is not a DVC project: no .dvc/config, dvc.yaml or artifacts.yaml; it is inside the DVC project ${path.join(parent, 'classifier')}: import that (its outputs under week_4/ are in its report)`,
    );
  });
});
