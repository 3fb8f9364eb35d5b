import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import type { z } from 'zod';
import { parseDvcConfig } from '../../src/importers/dvc/config';
import { parseGtoTag } from '../../src/importers/dvc/git';
import { DvcObjects, type DvcOut } from '../../src/importers/dvc/objects';
import { loadDvcProject, type DvcProject } from '../../src/importers/dvc/project';
import { FileStoreSource } from '../../src/importers/mlflow/file-store';
import * as payloads from '../../src/importers/mlflow/rest-payloads';
import {
  latestMetrics,
  runStatus,
  type MlflowExperiment,
  type MlflowRegisteredModel,
  type MlflowRunData,
} from '../../src/importers/mlflow/source';

/*
 * Every file of tests/fixtures/formats (real DVC and MLflow files; its README.md gives each file's
 * repository, path and commit) is parsed here, by the importers' own parsers where
 * the gateway reads that format, else as what it is (YAML, JSON, TSV, tag dumps), with assertions on
 * values read from the files. A file that no dispatch entry handles, or that no test parsed, fails
 * the last test of this file.
 */

const FORMATS = path.resolve(__dirname, '..', 'fixtures', 'formats');
const abs = (rel: string) => path.join(FORMATS, ...rel.split('/'));
const text = (rel: string) => readFileSync(abs(rel), 'utf8');
const yamlOf = (rel: string): any => YAML.parse(text(rel));
const jsonOf = (rel: string): any => JSON.parse(text(rel));

function walk(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const rel = `${prefix}${e.name}`;
    if (e.isDirectory()) return walk(path.join(dir, e.name), `${rel}/`);
    if (e.isFile()) return [rel];
    throw new Error(`${rel}: not a plain file or folder`);
  });
}
const ALL = walk(FORMATS).sort();

type Kind =
  | 'prose'
  | 'mlflow-filestore'
  | 'mlflow-rest'
  | 'mlflow-mlmodel'
  | 'mlflow-env'
  | 'mlflow-registered-model-meta'
  | 'dvc-dir-manifest'
  | 'gto-tags'
  | 'gto-json'
  | 'gto-legacy-artifacts'
  | 'dvc-config'
  | 'dvc-project'
  | 'dvc-params'
  | 'dvc-metrics'
  | 'dvclive-tsv'
  | 'dvc-exp-refs';

/** Files that are prose (documentation, proto excerpts, ignore files), not data: read, not parsed. */
const PROSE = new Set([
  'README.md',
  'dvc/NOTES.md',
  'mlflow/NOTES.md',
  'mlflow/proto/model_registry.proto.excerpt.txt',
  'mlflow/proto/service.proto.excerpt.txt',
  'dvc/example-get-started/head-dvc3/data/dot-gitignore.txt',
  'dvc/example-get-started/head-dvc3/dot-dvc/dot-gitignore.txt',
  'dvc/example-get-started/head-dvc3/dot-dvcignore.txt',
  'dvc/example-get-started-experiments/head-dvc3/models/dot-gitignore.txt',
]);

/** The dispatch table: the first entry whose pattern matches a file's path decides how it is parsed. */
const DISPATCH: [RegExp | Set<string>, Kind][] = [
  [PROSE, 'prose'],
  [/^mlflow\/(?:filestore-[^/]+|registry-filestore-[^/]+)\/mlruns\//, 'mlflow-filestore'],
  [/^mlflow\/rest\/(?:constructed|real)\/[^/]+\.json$/, 'mlflow-rest'],
  [/^mlflow\/mlmodel\/[^/]+\/MLmodel$/, 'mlflow-mlmodel'],
  [/^mlflow\/mlmodel\/[^/]+\/(?:conda\.yaml|python_env\.yaml|requirements\.txt)$/, 'mlflow-env'],
  [/^mlflow\/mlmodel\/[^/]+\/registered_model_meta$/, 'mlflow-registered-model-meta'],
  [/^dvc\/cache-layout\/files\/md5\/[0-9a-f]{2}\/[0-9a-f]{30}\.dir$/, 'dvc-dir-manifest'],
  [/^dvc\/gto\/[^/]+\.tags\.txt$/, 'gto-tags'],
  [/^dvc\/gto\/[^/]+\.json$/, 'gto-json'],
  [/^dvc\/gto\/[^/]+\.dvc\.yaml$/, 'dvc-project'],
  [/^dvc\/gto\/[^/]+\.legacy-artifacts\.yaml$/, 'gto-legacy-artifacts'],
  [/^dvc\/[^/]+\/[^/]+\/dot-dvc\/config$/, 'dvc-config'],
  [/^dvc\/[^/]+\/[^/]+\/(?:dvc\.yaml|dvc\.lock|.+\.dvc)$/, 'dvc-project'],
  [/^dvc\/[^/]+\/[^/]+\/(?:.+\/)?params\.yaml$/, 'dvc-params'],
  [/^dvc\/[^/]+\/[^/]+\/(?:.+\/)?(?:metrics|scores)\.json$/, 'dvc-metrics'],
  [/^dvc\/[^/]+\/[^/]+\/(?:.+\/)?plots\/metrics\/.+\.tsv$/, 'dvclive-tsv'],
  [/^dvc\/[^/]+\/exp-refs\.txt$/, 'dvc-exp-refs'],
];

function kindOf(rel: string): Kind | null {
  for (const [pattern, kind] of DISPATCH)
    if (pattern instanceof Set ? pattern.has(rel) : pattern.test(rel)) return kind;
  return null;
}
const filesOf = (kind: Kind) => ALL.filter((f) => kindOf(f) === kind);

/** Files some test below has parsed (and asserted on). */
const parsed = new Set<string>();
const mark = (rel: string) => {
  if (!ALL.includes(rel)) throw new Error(`${rel} is not in tests/fixtures/formats`);
  parsed.add(rel);
};

const temps: string[] = [];
const tmp = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'modelgate-formats-'));
  temps.push(dir);
  return dir;
};
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

const md5 = (s: string | Buffer) => createHash('md5').update(s).digest('hex');
/** A value at a dotted key of a params file (`train.n_est`). */
const at = (obj: any, dotted: string) => dotted.split('.').reduce((o, k) => o?.[k], obj);
/** A metric value as Python writes it (`repr(float)`: nan, inf and -inf included). */
const pyFloat = (v: string) => ({ nan: NaN, inf: Infinity, '-inf': -Infinity })[v.toLowerCase()] ?? Number(v);
/** `<timestamp> <value> <step>[ <run id>]` lines of a FileStore metric file. */
const metricLines = (rel: string) =>
  text(rel)
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.trim().split(/\s+/));

describe('tests/fixtures/formats: every real DVC, GTO and MLflow file, parsed', () => {
  it('is a complete mirror: README.md lists every other file, and every file has a dispatch entry', () => {
    mark('README.md');
    const listed = [...text('README.md').matchAll(/^- `([^`]+)` — /gm)].map((m) => m[1]!).sort();
    expect(listed).toEqual(ALL.filter((f) => f !== 'README.md'));
    // A new file that no entry handles fails here: add a dispatch entry and a test that parses it.
    expect(ALL.filter((f) => kindOf(f) === null)).toEqual([]);
    // And an entry that no longer matches anything is stale.
    expect(
      DISPATCH.filter(([pattern]) => !ALL.some((f) => (pattern instanceof Set ? pattern.has(f) : pattern.test(f)))).map(
        ([p]) => String(p),
      ),
    ).toEqual([]);
    expect([...PROSE].filter((f) => !ALL.includes(f))).toEqual([]);
  });

  it('reads the prose files (notes, proto excerpts, ignore files) as text', () => {
    for (const f of filesOf('prose')) {
      expect([f, text(f).trim().length > 0]).toEqual([f, true]);
      mark(f);
    }
    expect(text('mlflow/proto/model_registry.proto.excerpt.txt')).toMatch(/message ModelVersion \{/);
    expect(text('mlflow/proto/service.proto.excerpt.txt')).toMatch(/message Metric \{/);
    expect(text('dvc/example-get-started/head-dvc3/dot-dvc/dot-gitignore.txt').split('\n').filter(Boolean)).toEqual([
      '/config.local',
      '/tmp',
      '/cache',
    ]);
    expect(
      text('dvc/example-get-started-experiments/head-dvc3/models/dot-gitignore.txt').split('\n').filter(Boolean),
    ).toEqual(['/model.pkl', '/model.pth']);
  });

  // ---------------------------------------------------------------------------------------- DVC

  describe('DVC', () => {
    const out = (md5sum: string, size: number | null, nfiles: number | null, legacy: boolean) => ({
      md5: md5sum,
      size,
      nfiles,
      legacy,
      remote: null,
    });

    /** dot-dvc/config of each snapshot, read by parseDvcConfig. */
    const CONFIGS: Record<string, { defaultRemote: string; url: string }> = {
      'dvc/example-get-started/2019-09-03-dvc0/dot-dvc/config': {
        defaultRemote: 'storage',
        url: 'https://remote.dvc.org/get-started',
      },
      'dvc/example-get-started/2022-10-29-dvc2/dot-dvc/config': {
        defaultRemote: 'storage',
        url: 'https://remote.dvc.org/get-started',
      },
      'dvc/example-get-started/head-dvc3/dot-dvc/config': {
        defaultRemote: 'public-s3',
        url: 'https://remote.dvc.org/get-started',
      },
      'dvc/example-get-started-experiments/head-dvc3/dot-dvc/config': {
        defaultRemote: 'storage',
        url: 'https://remote.dvc.org/get-started-pools',
      },
    };

    /** dvc.yaml artifacts and every output of dvc.lock (and the artifacts' .dvc files) per snapshot. */
    const PROJECTS: Record<
      string,
      {
        artifacts: { name: string; type: string | null; path: string; desc: string | null; labels: string[] }[];
        outs: Record<string, ReturnType<typeof out>>;
      }
    > = {
      'dvc/example-get-started/2020-06-19-dvc1': {
        artifacts: [],
        outs: {
          // DVC 1.0 lock: stages at the top level, no `schema`, md5 only.
          'data/prepared': out('20b786b6e6f80e2b3fcf17827ad18597.dir', null, null, true),
          'data/features': out('2d1764cb0fc973f68f31f5ff90ee0883.dir', null, null, true),
          'model.pkl': out('ab349c2b5fa2a0f66d6f33f94424aebe', null, null, true),
          'prc.json': out('cd433c034acfa2ebd5679a3838b65c7c', null, null, true),
          'scores.json': out('06df1f4765480cd62052eab00517a8d2', null, null, true),
        },
      },
      'dvc/example-get-started/2022-10-29-dvc2': {
        artifacts: [],
        outs: {
          'data/prepared': out('153aad06d376b6595932470e459ef42a.dir', 8437363, 2, true),
          'data/features': out('f8f5cbc3188008a7542d02d63054d9d2.dir', 1556290, 2, true),
          'model.pkl': out('7f04c0d9e3cf5787e29d8c9b1dc8bef3', 1670980, null, true),
          'evaluation/metrics.json': out('c75c857c8efd2832d3423b0d8c0a560e', 73, null, true),
          'evaluation/plots/importance.png': out('b5928e1c65a51b406c0926e5e665c472', 29454, null, true),
          'evaluation/plots/metrics': out('396ff4e70f17513b08ff26f1e855e138.dir', 69, 2, true),
          'evaluation/plots/prc.json': out('8e2eac846b030259892f4f3ca6255f33', 150526, null, true),
          'evaluation/plots/sklearn/confusion_matrix.json': out('38c0fe3deeb244747ead298413feca52', 122246, null, true),
          'evaluation/plots/sklearn/roc.json': out('4851de309592ee7a47e1a844827b8396', 45013, null, true),
        },
      },
      'dvc/example-get-started/head-dvc3': {
        artifacts: [
          {
            name: 'stackoverflow-dataset',
            type: 'dataset',
            path: 'data/data.xml',
            desc: 'Initial XML StackOverflow dataset (raw data)',
            labels: [],
          },
          {
            name: 'text-classification',
            type: 'model',
            path: 'model.pkl',
            desc: 'Detect whether the given stackoverflow question should have R language tag',
            labels: ['nlp', 'classification', 'stackoverflow'],
          },
        ],
        outs: {
          'data/prepared': out('153aad06d376b6595932470e459ef42a.dir', 8437363, 2, false),
          'data/features': out('f35d4cc2c552ac959ae602162b8543f3.dir', 2232588, 2, false),
          'model.pkl': out('d1f6e055f7f5e2827fcfae68d9b64d4c', 1958115, null, false),
          eval: out('80a081570c800c60b9b98ca4b3c91dd7.dir', 1292342, 8, false),
          // Not in dvc.lock: read from data/data.xml.dvc, the stackoverflow-dataset artifact's .dvc file.
          'data/data.xml': out('22a1a2931c8370d3aeedd7183606fd7f', 14445097, null, false),
        },
      },
      'dvc/example-get-started-experiments/2024-01-27-notebook-dvclive': {
        artifacts: [
          {
            name: 'pool-segmentation',
            type: 'model',
            path: 'models/model.pkl',
            desc: "This is a Computer Vision (CV) model that's segmenting out swimming pools from satellite images.",
            labels: ['cv', 'segmentation', 'satellite-images', 'unet'],
          },
        ],
        // No dvc.lock: the model comes from models/model.pkl.dvc.
        outs: { 'models/model.pkl': out('896c99a4f50e5051bf6617413c3baff2', 201213, null, false) },
      },
      'dvc/example-get-started-experiments/head-dvc3': {
        artifacts: [
          {
            name: 'pool-segmentation',
            type: 'model',
            path: 'models/model.pkl',
            desc: "This is a Computer Vision (CV) model that's segmenting out swimming pools from satellite images.",
            labels: ['cv', 'segmentation', 'satellite-images', 'shufflenet_v2_x2_0'],
          },
        ],
        outs: {
          'data/test_data': out('1bb16eb1219b47a8bf711ade27c476e4.dir', 2087761, 24, false),
          'data/train_data': out('a28a7e4d342c27c1d7ad3c17ec1dfa7a.dir', 16905965, 158, false),
          'models/model.pkl': out('63cb30df484bfa1d6ea2cdebac74876c', 201725, null, false),
          'models/model.pth': out('07b113fe1ab01de2d8a5453dccacdd3e', 165147, null, false),
          'results/train': out('a26429ff680d9b01c7e92043821bf41c.dir', 955, 5, false),
          'results/evaluate': out('34985c391291e22ac0cfdf6e83ec7268.dir', 1257936, 11, false),
          'model.tar.gz': out('c615b812da343d71fcda080597a24525', 145778, null, false),
        },
      },
      // A dvc.yaml holding only `artifacts:` (GTO's example repository): local and s3:// paths.
      'dvc/gto/example-gto.dvc.yaml': {
        artifacts: [
          { name: 'churn', type: 'model', path: 'models/churn.pkl', desc: null, labels: [] },
          {
            name: 'segment',
            type: 'model',
            path: 's3://mycorp/proj-ml/segm-model-2022-04-15.pt',
            desc: null,
            labels: [],
          },
          { name: 'cv-class', type: 'model', path: 's3://mycorp/proj-ml/classif-v2.pt', desc: null, labels: [] },
        ],
        outs: {},
      },
    };

    /** Each .dvc file: the output it records (path relative to the snapshot). */
    const DVC_FILES: Record<string, [string, ReturnType<typeof out>]> = {
      // DVC 0.x `dvc add`: 0.x keys (wdir, cache, metric, persist), md5 only.
      'dvc/example-get-started/2019-09-03-dvc0/data/data.xml.dvc': [
        'data/data.xml',
        out('a304afb96060aad90176268345e10355', null, null, true),
      ],
      // DVC 1.0 import stage (deps.repo) and DVC 1.x `dvc add` (no size).
      'dvc/example-get-started/2020-06-19-dvc1/data/data.xml.dvc': [
        'data/data.xml',
        out('a304afb96060aad90176268345e10355', null, null, true),
      ],
      'dvc/example-get-started/2020-08-01-dvc1-add/data/data.xml.dvc': [
        'data/data.xml',
        out('a304afb96060aad90176268345e10355', null, null, true),
      ],
      // DVC 2: size, no `hash`; DVC 3: `hash: md5`.
      'dvc/example-get-started/2022-10-29-dvc2/data/data.xml.dvc': [
        'data/data.xml',
        out('22a1a2931c8370d3aeedd7183606fd7f', 14445097, null, true),
      ],
      'dvc/example-get-started/head-dvc3/data/data.xml.dvc': [
        'data/data.xml',
        out('22a1a2931c8370d3aeedd7183606fd7f', 14445097, null, false),
      ],
      // Directories: md5 ending .dir, nfiles.
      'dvc/example-get-started-experiments/2023-06-27-dvc2-dir/data/pool_data.dvc': [
        'data/pool_data',
        out('14d187e749ee5614e105741c719fa185.dir', 18999874, 183, true),
      ],
      'dvc/example-get-started-experiments/head-dvc3/data/pool_data.dvc': [
        'data/pool_data',
        out('14d187e749ee5614e105741c719fa185.dir', 18999874, 183, false),
      ],
      'dvc/example-get-started-experiments/2024-01-27-notebook-dvclive/models/model.pkl.dvc': [
        'models/model.pkl',
        out('896c99a4f50e5051bf6617413c3baff2', 201213, null, false),
      ],
    };

    /** `dvc/<repo>/<snapshot>` (or the single file of a dvc.yaml kept under dvc/gto). */
    const snapshotOf = (rel: string) => (rel.startsWith('dvc/gto/') ? rel : rel.split('/').slice(0, 3).join('/'));

    /**
     * A DVC project in a temporary folder from one snapshot's real files: dot-dvc/config as
     * .dvc/config (empty when the snapshot has none), dvc.yaml, dvc.lock, params.yaml and the .dvc
     * files at their paths. `only` keeps just these files (and writes `dvcYaml` as dvc.yaml).
     */
    function materialize(snapshot: string, opts: { only?: string[]; dvcYaml?: string } = {}): string {
      const dir = tmp();
      mkdirSync(path.join(dir, '.dvc'));
      const config = `${snapshot}/dot-dvc/config`;
      writeFileSync(path.join(dir, '.dvc', 'config'), ALL.includes(config) ? readFileSync(abs(config)) : '');
      if (snapshot.startsWith('dvc/gto/')) {
        copyFileSync(abs(snapshot), path.join(dir, 'dvc.yaml'));
        return dir;
      }
      const files =
        opts.only ??
        ALL.filter(
          (f) =>
            f.startsWith(`${snapshot}/`) &&
            /(?:^|\/)(?:dvc\.yaml|dvc\.lock|params\.yaml|[^/]+\.dvc)$/.test(f.slice(snapshot.length + 1)),
        );
      for (const f of files) {
        const target = path.join(dir, f.slice(snapshot.length + 1));
        mkdirSync(path.dirname(target), { recursive: true });
        copyFileSync(abs(f), target);
      }
      if (opts.dvcYaml !== undefined) writeFileSync(path.join(dir, 'dvc.yaml'), opts.dvcYaml);
      return dir;
    }

    const projects = new Map<string, Promise<DvcProject>>();
    const projectOf = (snapshot: string) => {
      if (!projects.has(snapshot)) projects.set(snapshot, loadDvcProject(materialize(snapshot)));
      return projects.get(snapshot)!;
    };

    it('reads every dot-dvc/config with parseDvcConfig (DVC 0.x unindented, 2.x/3.x quoted sections)', async () => {
      const files = filesOf('dvc-config');
      expect(files.filter((f) => !CONFIGS[f])).toEqual([]);
      for (const f of files) {
        const config = parseDvcConfig(text(f));
        const want = CONFIGS[f]!;
        expect([
          f,
          config.defaultRemote,
          [...config.remotes.keys()],
          config.remotes.get(want.defaultRemote)?.url,
          config.cacheDir,
        ]).toEqual([f, want.defaultRemote, [want.defaultRemote], want.url, null]);
        // The remote is https: objects missing from the workspace and cache need it in DVC_ALLOWED_REMOTES.
        const objects = new DvcObjects(tmp(), config);
        await expect(
          objects.locate('model.pkl', 'd1f6e055f7f5e2827fcfae68d9b64d4c', { legacy: false }),
        ).rejects.toThrow(
          `remote "${want.defaultRemote}" (${want.url}): host remote.dvc.org is not in DVC_ALLOWED_REMOTES (empty); tried cache: absent`,
        );
        mark(f);
      }
    });

    it('loads every snapshot with dvc.yaml / dvc.lock through loadDvcProject: artifacts and outputs', async () => {
      const snapshots = [
        ...new Set(
          filesOf('dvc-project')
            .filter((f) => /(?:dvc\.yaml|dvc\.lock)$/.test(f))
            .map(snapshotOf),
        ),
      ].sort();
      expect(snapshots).toEqual(Object.keys(PROJECTS).sort());
      for (const snapshot of snapshots) {
        const want = PROJECTS[snapshot]!;
        const project = await projectOf(snapshot);
        expect([snapshot, project.git]).toEqual([snapshot, null]);
        expect([
          snapshot,
          project.artifacts.map((a) => ({ name: a.name, type: a.type, path: a.path, desc: a.desc, labels: a.labels })),
        ]).toEqual([snapshot, want.artifacts]);
        expect(project.artifacts.every((a) => a.id === a.name)).toBe(true);
        for (const [p, o] of Object.entries(want.outs))
          expect([snapshot, project.outs.get(p)]).toMatchObject([snapshot, { path: p, ...o }]);
        // Beyond dvc.lock and the artifacts' .dvc files, only outputs of the snapshot's other .dvc
        // files may be there (a loader may read every .dvc file), with the values those files hold.
        const others = Object.fromEntries(
          Object.entries(DVC_FILES)
            .filter(([f]) => snapshotOf(f) === snapshot)
            .map(([, [p, o]]) => [p, o]),
        );
        const extra = [...project.outs.keys()].filter((p) => !(p in want.outs));
        expect([snapshot, extra.filter((p) => !(p in others))]).toEqual([snapshot, []]);
        for (const p of extra)
          expect([snapshot, project.outs.get(p)]).toMatchObject([snapshot, { path: p, ...others[p] }]);
        for (const f of ALL.filter((x) => snapshotOf(x) === snapshot && /(?:^|\/)(?:dvc\.yaml|dvc\.lock)$/.test(x)))
          mark(f);
        if (snapshot.startsWith('dvc/gto/')) mark(snapshot);
      }
    });

    it('reads every .dvc file (DVC 0.x to 3, files and directories) through loadDvcProject', async () => {
      const files = filesOf('dvc-project').filter((f) => f.endsWith('.dvc'));
      expect(files.sort()).toEqual(Object.keys(DVC_FILES).sort());
      for (const f of files) {
        const snapshot = snapshotOf(f);
        const [outPath, want] = DVC_FILES[f]!;
        // loadDvcProject reads the .dvc file of a dvc.yaml artifact: declare one for this output.
        const dir = materialize(snapshot, {
          only: [f],
          dvcYaml: YAML.stringify({ artifacts: { probe: { path: outPath } } }),
        });
        const project = await loadDvcProject(dir);
        expect([f, [...project.outs.keys()]]).toEqual([f, [outPath]]);
        expect([f, project.outs.get(outPath)]).toMatchObject([f, { path: outPath, ...want }]);
        // The .dvc file's own YAML says the same (its out path is relative to the file's folder).
        const raw = yamlOf(f);
        expect(path.posix.join(path.posix.dirname(f.slice(snapshot.length + 1)), raw.outs[0].path)).toBe(outPath);
        mark(f);
      }
      // The artifact path a real dvc.yaml names is read from its .dvc file when dvc.lock lacks it.
      expect((await projectOf('dvc/example-get-started/head-dvc3')).outs.get('data/data.xml')?.md5).toBe(
        DVC_FILES['dvc/example-get-started/head-dvc3/data/data.xml.dvc']![1].md5,
      );
    });

    it("resolves the .dir manifests of DVC's own tests with DvcObjects.locateDir, file by file", async () => {
      // Contents of the files the test vectors list (tests/func/api/test_data.py, test_commit.py).
      const MANIFESTS: Record<string, Record<string, string>> = {
        'dvc/cache-layout/files/md5/1a/ca2c799df82929bbdd976557975546.dir': {
          bar: 'bar',
          foo: 'foo',
          'subdir/subbar': 'subbar',
          'subdir/subfoo': 'subfoo',
        },
        'dvc/cache-layout/files/md5/5f/c28ea78987408341668eba6525ebd1.dir': {
          bar: 'bar',
          foo: 'foo',
          'nested/file': 'file',
        },
      };
      const files = filesOf('dvc-dir-manifest');
      expect(files).toEqual(Object.keys(MANIFESTS).sort());
      for (const f of files) {
        const want = MANIFESTS[f]!;
        const dir = tmp();
        const cache = path.join(dir, '.dvc', 'cache');
        const rel = f.slice('dvc/cache-layout/'.length);
        mkdirSync(path.dirname(path.join(cache, rel)), { recursive: true });
        copyFileSync(abs(f), path.join(cache, rel));
        for (const content of Object.values(want)) {
          const h = md5(content);
          mkdirSync(path.join(cache, 'files', 'md5', h.slice(0, 2)), { recursive: true });
          writeFileSync(path.join(cache, 'files', 'md5', h.slice(0, 2), h.slice(2)), content);
        }
        const name = f.split('/').slice(-2).join('');
        expect(md5(readFileSync(abs(f)))).toBe(name.replace(/\.dir$/, ''));
        const dvcOut: DvcOut = {
          path: 'data',
          md5: name,
          size: Object.values(want).join('').length,
          nfiles: Object.keys(want).length,
          legacy: false,
          remote: null,
        };
        const result = await new DvcObjects(dir, parseDvcConfig('')).locateDir('data', dvcOut, null);
        expect(result.source).toBe('cache');
        expect(Object.fromEntries(result.files.map((x) => [x.relpath, readFileSync(x.file, 'utf8')]))).toEqual(want);
        expect(result.files.map((x) => x.md5)).toEqual(Object.values(want).map((c) => md5(c)));
        mark(f);
      }
    });

    it('reads params.yaml files as YAML; they hold the values the sibling dvc.lock recorded', async () => {
      const WANT: Record<string, [string, unknown][]> = {
        'dvc/example-get-started/2020-06-19-dvc1/params.yaml': [
          ['train.n_estimators', 50],
          ['prepare.split', 0.2],
          ['featurize.max_features', 1500],
        ],
        'dvc/example-get-started/2022-10-29-dvc2/params.yaml': [
          ['train.n_est', 50],
          ['train.min_split', 0.01],
          ['featurize.max_features', 100],
          ['featurize.ngrams', 1],
        ],
        'dvc/example-get-started/head-dvc3/params.yaml': [
          ['featurize.max_features', 200],
          ['featurize.ngrams', 2],
          ['prepare.seed', 20170428],
        ],
        'dvc/example-get-started-experiments/head-dvc3/params.yaml': [
          ['train.arch', 'shufflenet_v2_x2_0'],
          ['train.fine_tune_args.base_lr', 0.01],
          ['data_split.test_regions', ['REGION_1']],
        ],
        // DVCLive's logged params of the notebook run.
        'dvc/example-get-started-experiments/2024-01-27-notebook-dvclive/results/train/params.yaml': [
          ['train_arch', 'shufflenet_v2_x2_0'],
          ['epochs', 8],
          ['base_lr', 0.01],
          ['frozen', false],
        ],
      };
      const files = filesOf('dvc-params');
      expect(files).toEqual(Object.keys(WANT).sort());
      for (const f of files) {
        const params = yamlOf(f);
        for (const [key, value] of WANT[f]!) expect([f, key, at(params, key)]).toEqual([f, key, value]);
        const lock = `${path.posix.dirname(f)}/dvc.lock`;
        if (ALL.includes(lock)) {
          const parsedLock = yamlOf(lock);
          const stages = parsedLock.schema ? parsedLock.stages : parsedLock;
          let checked = 0;
          for (const stage of Object.values(stages) as any[]) {
            for (const [key, value] of Object.entries(stage.params?.['params.yaml'] ?? {})) {
              expect([f, key, at(params, key)]).toEqual([f, key, value]);
              checked++;
            }
          }
          expect(checked).toBeGreaterThan(0);
        }
        mark(f);
      }
      // The experiments project's model is labelled with the architecture it was trained with.
      expect(PROJECTS['dvc/example-get-started-experiments/head-dvc3']!.artifacts[0]!.labels).toContain(
        at(yamlOf('dvc/example-get-started-experiments/head-dvc3/params.yaml'), 'train.arch'),
      );
    });

    it('reads metrics JSON; those dvc.lock records are the bytes dvc.lock hashed (DvcObjects.locate, workspace)', async () => {
      const WANT: Record<string, unknown> = {
        'dvc/example-get-started/2020-06-19-dvc1/scores.json': { auc: 0.5417487597055675 },
        'dvc/example-get-started/2022-10-29-dvc2/evaluation/metrics.json': {
          avg_prec: 0.9014016422240393,
          roc_auc: 0.9319648794149968,
        },
        'dvc/example-get-started-experiments/2024-01-27-notebook-dvclive/results/evaluate/metrics.json': {
          dice_multi: 0.8695227490639182,
        },
        'dvc/example-get-started-experiments/2024-01-27-notebook-dvclive/results/train/metrics.json': {
          train: { loss: 0.03174786642193794 },
          eval: { loss: 0.01930679939687252 },
          dice_multi: 0.9135811575962693,
          step: 8,
        },
      };
      const files = filesOf('dvc-metrics');
      expect(files).toEqual(Object.keys(WANT).sort());
      let verified = 0;
      for (const f of files) {
        expect([f, jsonOf(f)]).toEqual([f, WANT[f]]);
        const snapshot = snapshotOf(f);
        if (ALL.includes(`${snapshot}/dvc.lock`)) {
          const project = await projectOf(snapshot);
          const rel = f.slice(snapshot.length + 1);
          const lockOut = project.outs.get(rel)!;
          expect(lockOut).toBeDefined();
          // The workspace copy of the output: the real file, at its path in the project.
          const workspace = path.join(project.root, rel);
          mkdirSync(path.dirname(workspace), { recursive: true });
          copyFileSync(abs(f), workspace);
          const located = await new DvcObjects(project.root, project.config).locate(rel, lockOut.md5, {
            legacy: lockOut.legacy,
            size: lockOut.size,
            workspace,
          });
          expect([f, located.source]).toEqual([f, 'workspace']);
          verified++;
        }
        mark(f);
      }
      expect(verified).toBe(2);
    });

    it('reads DVCLive plot histories (TSV with a step column); their last rows are metrics.json', () => {
      const dir = 'dvc/example-get-started-experiments/2024-01-27-notebook-dvclive/results/train';
      const WANT: Record<string, { column: string; first: number; last: number }> = {
        [`${dir}/plots/metrics/dice_multi.tsv`]: {
          column: 'dice_multi',
          first: 0.49546190815419455,
          last: 0.9135811575962693,
        },
        [`${dir}/plots/metrics/eval/loss.tsv`]: {
          column: 'loss',
          first: 0.2541651725769043,
          last: 0.01930679939687252,
        },
        [`${dir}/plots/metrics/train/loss.tsv`]: {
          column: 'loss',
          first: 0.49795928597450256,
          last: 0.03174786642193794,
        },
      };
      const files = filesOf('dvclive-tsv');
      expect(files).toEqual(Object.keys(WANT).sort());
      const metrics = jsonOf(`${dir}/metrics.json`);
      for (const f of files) {
        const [header, ...rows] = text(f)
          .trim()
          .split('\n')
          .map((l) => l.split('\t'));
        expect([f, header]).toEqual([f, ['step', WANT[f]!.column]]);
        const table = rows.map((r) => r.map(Number));
        expect(table.map((r) => r[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
        expect(table.every((r) => r.length === 2 && Number.isFinite(r[1]))).toBe(true);
        expect([table[0]![1], table.at(-1)![1]]).toEqual([WANT[f]!.first, WANT[f]!.last]);
        // metrics.json holds the last step of every series (train/loss.tsv -> metrics.train.loss).
        const key = f
          .slice(`${dir}/plots/metrics/`.length)
          .replace(/\.tsv$/, '')
          .split('/');
        expect(at(metrics, key.join('.'))).toBe(table.at(-1)![1]);
        expect(metrics.step).toBe(table.at(-1)![0]);
        mark(f);
      }
    });

    it('reads the DVC experiment refs dump: refs/exps/<baseline[0:2]>/<baseline[2:]>/<name>, parent = baseline', () => {
      const [f] = filesOf('dvc-exp-refs');
      expect(f).toBe('dvc/example-get-started-experiments/exp-refs.txt');
      const refs = [
        ...text(f!).matchAll(/^([0-9a-f]{40}) commit refs\/exps\/([0-9a-f]{2})\/([0-9a-f]{38})\/(\S+)$/gm),
      ].map((m) => ({ commit: m[1]!, baseline: m[2]! + m[3]!, name: m[4]! }));
      expect(refs.map((r) => r.name)).toEqual([
        'dutch-heck',
        'kinky-sera',
        'staid-hask',
        'crumb-hobo',
        'faced-keys',
        'newsy-jigs',
        'amiss-roam',
      ]);
      const parents = new Map(
        [...text(f!).matchAll(/^([0-9a-f]{40}) parent=([0-9a-f]{40}) /gm)].map((m) => [m[1]!, m[2]!]),
      );
      for (const r of refs) expect([r.name, parents.get(r.commit)]).toEqual([r.name, r.baseline]);
      // Experiments of the snapshot HEAD afdf89b1 (the head-dvc3 files).
      expect(refs.filter((r) => r.baseline === 'afdf89b183b5cc9cbeee273b1f33faca10ffd5d0').map((r) => r.name)).toEqual([
        'crumb-hobo',
        'faced-keys',
        'newsy-jigs',
      ]);
      mark(f!);
    });
  });

  // ---------------------------------------------------------------------------------------- GTO

  describe('GTO', () => {
    it('parses every tag of the recorded repositories with parseGtoTag; each agrees with its tag message', () => {
      const WANT: Record<string, { refs: number; gto: string[] }> = {
        'dvc/gto/example-get-started-experiments.tags.txt': {
          refs: 6,
          gto: [
            'pool-segmentation#dev!#3',
            'pool-segmentation#dev#1',
            'pool-segmentation#prod#2',
            'pool-segmentation@v1.0.0',
          ],
        },
        'dvc/gto/example-get-started.tags.txt': {
          refs: 21,
          gto: [
            'text-classification#dev#3',
            'text-classification#prod#1',
            'text-classification#stage#2',
            'text-classification@v1.0.0',
            'text-classification@v1.1.0',
            'text-classification@v1.2.0',
          ],
        },
        'dvc/gto/example-gto.tags.txt': {
          refs: 9,
          gto: [
            'churn#dev#1',
            'churn#dev#4',
            'churn#prod#3',
            'churn#staging#2',
            'churn@v3.0.0',
            'churn@v3.1.0',
            'cv-class@v0.1.13',
            'segment#dev#1',
            'segment@v0.4.1',
          ],
        },
      };
      const files = filesOf('gto-tags');
      expect(files).toEqual(Object.keys(WANT).sort());
      for (const f of files) {
        const body = text(f);
        const refs = [...body.matchAll(/^([0-9a-f]{40}) (tag|commit) refs\/tags\/(\S+) -> ([0-9a-f]{40})$/gm)].map(
          (m) => ({ name: m[3]!, commit: m[4]! }),
        );
        expect([f, refs.length]).toEqual([f, WANT[f]!.refs]);
        expect([f, refs.filter((r) => parseGtoTag(r.name) !== null).map((r) => r.name)]).toEqual([f, WANT[f]!.gto]);
        // Every GTO tag's annotation (git cat-file -p) names the same artifact, stage or version.
        const blocks = [
          ...body.matchAll(
            /^## git cat-file -p refs\/tags\/(\S+)\nobject ([0-9a-f]{40})\ntype commit\ntag (\S+)\ntagger [^\n]+\n\n([^\n]+)$/gm,
          ),
        ];
        expect([f, blocks.map((b) => b[1])]).toEqual([f, WANT[f]!.gto]);
        for (const [, name, object, tag, message] of blocks) {
          expect(tag).toBe(name);
          expect(object).toBe(refs.find((r) => r.name === name)!.commit);
          const q = "'?([^' ]+)'?";
          const reg = new RegExp(`^(Registering|Deregistering) artifact ${q} version ${q}$`).exec(message!);
          const stage = new RegExp(`^(Assigning|Unassigning) stage ${q} to artifact ${q} version ${q}$`).exec(message!);
          const want = reg
            ? { artifact: reg[2], kind: 'version', value: reg[3], negated: reg[1] === 'Deregistering' }
            : stage
              ? { artifact: stage[3], kind: 'stage', value: stage[2], negated: stage[1] === 'Unassigning' }
              : null;
          expect([name, message, parseGtoTag(name!)]).toMatchObject([name, message, want ?? 'unknown message']);
        }
        mark(f);
      }
      expect(parseGtoTag('pool-segmentation#dev!#3')).toMatchObject({
        artifact: 'pool-segmentation',
        kind: 'stage',
        value: 'dev',
        negated: true,
      });
      expect(parseGtoTag('2-dvc-pipeline')).toBeNull();
    });

    it("reads GTO's expected-registry and history JSON; each event's ref parses to the same artifact, stage or version", () => {
      const files = filesOf('gto-json');
      expect(files).toEqual([
        'dvc/gto/gto-tests-sample_remote_repo_expected_history_churn.json',
        'dvc/gto/gto-tests-sample_remote_repo_expected_registry.json',
      ]);
      const registry = jsonOf('dvc/gto/gto-tests-sample_remote_repo_expected_registry.json');
      expect(Object.keys(registry)).toEqual(['churn', 'segment', 'cv-class', 'model-a']);
      expect(registry.churn).toEqual({
        version: 'v3.1.0',
        stage: { dev: null, prod: 'v3.0.0', staging: 'v3.1.0' },
        registered: true,
        active: true,
      });
      expect(registry.segment.stage.dev).toBe('v0.4.1');
      const history = jsonOf('dvc/gto/gto-tests-sample_remote_repo_expected_history_churn.json') as any[];
      expect(history.map((e) => [e.event, e.ref])).toEqual([
        ['assignment', 'churn#prod#2'],
        ['assignment', 'churn#staging#1'],
        ['registration', 'churn@v3.1.0'],
        ['registration', 'churn@v3.0.0'],
      ]);
      for (const e of history) {
        const tag = parseGtoTag(e.ref);
        expect([e.ref, tag]).toMatchObject([
          e.ref,
          e.event === 'registration'
            ? { artifact: e.artifact, kind: 'version', value: e.version, negated: false }
            : { artifact: e.artifact, kind: 'stage', value: e.stage, negated: false },
        ]);
      }
      // The registry's stages are the history's latest assignments.
      expect(registry.churn.stage.prod).toBe(history.find((e) => e.stage === 'prod').version);
      expect(registry.churn.stage.staging).toBe(history.find((e) => e.stage === 'staging').version);
      files.forEach(mark);
    });

    it("reads the legacy artifacts.yaml: the same artifacts as example-gto's dvc.yaml (loadDvcProject)", async () => {
      const [f] = filesOf('gto-legacy-artifacts');
      expect(f).toBe('dvc/gto/example-gto.legacy-artifacts.yaml');
      const legacy = yamlOf(f!);
      expect(legacy.churn).toEqual({ path: 'models/churn.pkl', type: 'model', virtual: false });
      const dir = tmp();
      mkdirSync(path.join(dir, '.dvc'));
      writeFileSync(path.join(dir, '.dvc', 'config'), '');
      copyFileSync(abs('dvc/gto/example-gto.dvc.yaml'), path.join(dir, 'dvc.yaml'));
      const project = await loadDvcProject(dir);
      expect(Object.fromEntries(project.artifacts.map((a) => [a.name, { path: a.path, type: a.type }]))).toEqual(
        Object.fromEntries(
          Object.entries(legacy as Record<string, any>).map(([name, a]) => [name, { path: a.path, type: a.type }]),
        ),
      );
      mark(f!);
    });
  });

  // ------------------------------------------------------------------------------------- MLflow

  describe('MLflow', () => {
    const STORE_35 = 'mlflow/filestore-mlflow3.5/mlruns';
    const STORE_28 = 'mlflow/filestore-mlflow2.8-eof-fixed/mlruns';
    const STORE_REGISTRY = 'mlflow/registry-filestore-mlflow2.x-2023-05/mlruns';

    interface Store {
      source: FileStoreSource;
      experiments: MlflowExperiment[];
      runs: MlflowRunData[];
      registered: MlflowRegisteredModel[];
    }
    const stores = new Map<string, Promise<Store>>();
    const storeOf = (root: string) => {
      if (!stores.has(root)) {
        stores.set(
          root,
          (async () => {
            const source = new FileStoreSource(abs(root));
            await source.check();
            const experiments = await source.experiments();
            const runs = (await Promise.all(experiments.map((e) => source.runs(e.id)))).flat();
            return { source, experiments, runs, registered: await source.registeredModels() };
          })(),
        );
      }
      return stores.get(root)!;
    };
    const runById = (s: Store, id: string) => {
      const run = s.runs.find((r) => r.runId === id);
      if (!run) throw new Error(`no run ${id}`);
      return run;
    };
    const points = (run: MlflowRunData, key: string) =>
      run.metrics
        .filter((m) => m.key === key)
        .map(({ key: k, value, timestamp, step }) => ({ key: k, value, timestamp, step }));
    /** Params and tags files: the value is the file's text (a trailing newline some repos add is not). */
    const value = (rel: string) => text(rel).replace(/\r?\n$/, '');

    /** conda.yaml, python_env.yaml and requirements.txt of a model folder agree with each other and its MLmodel. */
    function checkEnvFile(rel: string) {
      const dir = path.posix.dirname(rel);
      const requirements = text(`${dir}/requirements.txt`).split('\n').filter(Boolean);
      expect(requirements.every((r) => /^[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*$/.test(r))).toBe(true);
      const conda = yamlOf(`${dir}/conda.yaml`);
      const pythonEnv = yamlOf(`${dir}/python_env.yaml`);
      const condaPython = conda.dependencies
        .find((d: unknown) => typeof d === 'string' && d.startsWith('python='))
        ?.slice('python='.length);
      expect([rel, conda.name, conda.channels, conda.dependencies.find((d: any) => d?.pip)?.pip]).toEqual([
        rel,
        'mlflow-env',
        ['conda-forge'],
        requirements,
      ]);
      expect([rel, pythonEnv.python, pythonEnv.dependencies]).toEqual([rel, condaPython, ['-r requirements.txt']]);
      if (ALL.includes(`${dir}/MLmodel`)) {
        const mlmodel = yamlOf(`${dir}/MLmodel`);
        expect([rel, mlmodel.flavors.python_function.python_version, `mlflow==${mlmodel.mlflow_version}`]).toEqual([
          rel,
          pythonEnv.python,
          requirements[0],
        ]);
        expect(mlmodel.flavors.python_function.env).toEqual({ conda: 'conda.yaml', virtualenv: 'python_env.yaml' });
      }
      mark(rel);
    }

    /**
     * Files of a FileStore tree, each checked against what FileStoreSource made of it (or, for the
     * MLflow 3 files it does not read, parsed here and checked against what it read from the run).
     */
    async function checkStoreFile(root: string, rel: string): Promise<void> {
      const s = await storeOf(root);
      const r = rel.slice(root.length + 1);
      let m: RegExpExecArray | null;
      if ((m = /^(\d+)\/meta\.yaml$/.exec(r))) {
        const meta = yamlOf(rel);
        expect(s.experiments.find((e) => e.id === m![1])).toMatchObject({
          id: String(meta.experiment_id),
          name: meta.name,
          artifactLocation: meta.artifact_location,
          lifecycleStage: meta.lifecycle_stage,
        });
      } else if ((m = /^(\d+)\/tags\/(.+)$/.exec(r))) {
        // Experiment tags: MlflowExperiment has none; the value is the file's text.
        expect(value(rel)).toMatch(/^\S+$/);
      } else if ((m = /^(\d+)\/([0-9a-f]{32})\/meta\.yaml$/.exec(r))) {
        const meta = yamlOf(rel);
        expect(runById(s, m[2]!)).toMatchObject({
          runId: meta.run_id,
          experimentId: m[1],
          runName: meta.run_name,
          status: runStatus(meta.status),
          startTime: meta.start_time,
          endTime: meta.end_time,
          userId: meta.user_id,
          lifecycleStage: meta.lifecycle_stage,
        });
        expect([rel, runStatus(meta.status)]).toEqual([rel, 'FINISHED']);
      } else if ((m = /^(\d+)\/([0-9a-f]{32})\/(params|tags)\/(.+)$/.exec(r))) {
        const run = runById(s, m[2]!);
        expect([rel, (m[3] === 'params' ? run.params : run.tags)[m[4]!]]).toEqual([rel, value(rel)]);
      } else if ((m = /^(\d+)\/([0-9a-f]{32})\/metrics\/(.+)$/.exec(r))) {
        const want = metricLines(rel).map(([ts, v, step]) => ({
          key: m![3]!,
          value: pyFloat(v!),
          timestamp: Number(ts),
          step: Number(step ?? 0),
        }));
        expect([rel, points(runById(s, m[2]!), m[3]!)]).toEqual([rel, want]);
      } else if ((m = /^(\d+)\/([0-9a-f]{32})\/outputs\/(m-[0-9a-f]{32})\/meta\.yaml$/.exec(r))) {
        // MLflow 3: the run's link to the LoggedModel it produced.
        expect(yamlOf(rel)).toEqual({
          destination_id: m[3],
          destination_type: 'MODEL_OUTPUT',
          source_id: m[3],
          source_type: 'RUN_OUTPUT',
          step: 0,
          tags: {},
        });
        expect([rel, runById(s, m[2]!)]).toMatchObject([rel, { loggedModels: expect.arrayContaining([m[3]]) }]);
      } else if ((m = /^(\d+)\/([0-9a-f]{32})\/artifacts\/(?:(.+)\/)?MLmodel$/.exec(r))) {
        const run = runById(s, m[2]!);
        const artifacts = await s.source.modelArtifacts(run);
        const artifact = artifacts.find((a) => a.artifactPath === (m![3] ?? ''));
        expect([rel, artifact?.mlmodel]).toEqual([rel, yamlOf(rel)]);
        expect([rel, artifact?.mlmodel.run_id]).toEqual([rel, run.runId]);
      } else if (
        /^(\d+)\/([0-9a-f]{32})\/artifacts\/(?:.+\/)?(?:conda\.yaml|python_env\.yaml|requirements\.txt)$/.test(r)
      ) {
        checkEnvFile(rel);
        return;
      } else if ((m = /^(\d+)\/models\/(m-[0-9a-f]{32})\/(.+)$/.exec(r))) {
        // MLflow 3 LoggedModel: checked against its source run, as FileStoreSource read it.
        const [, exp, modelId, file] = m;
        const meta = yamlOf(`${root}/${exp}/models/${modelId}/meta.yaml`);
        expect(meta).toMatchObject({ model_id: modelId, experiment_id: exp, name: 'model', status: 2 });
        const run = runById(s, meta.source_run_id);
        let f: RegExpExecArray | null;
        if (file === 'meta.yaml') {
          expect(meta.artifact_location).toMatch(new RegExp(`/mlruns/${exp}/models/${modelId}/artifacts$`));
          expect([rel, run]).toMatchObject([rel, { loggedModels: expect.arrayContaining([modelId]) }]);
        } else if ((f = /^metrics\/(.+)$/.exec(file!))) {
          // LoggedModel metric lines carry the run id as a 4th field.
          for (const [ts, v, step, runId] of metricLines(rel)) {
            expect(runId).toBe(run.runId);
            expect(points(run, f[1]!)).toContainEqual({
              key: f[1],
              value: pyFloat(v!),
              timestamp: Number(ts),
              step: Number(step),
            });
          }
        } else if ((f = /^params\/(.+)$/.exec(file!))) {
          expect([rel, value(rel)]).toEqual([rel, run.params[f[1]!]]);
        } else if (file === 'tags/mlflow.modelVersions') {
          for (const mv of JSON.parse(value(rel)) as { name: string; version: number }[]) {
            const version = s.registered
              .find((x) => x.name === mv.name)
              ?.versions.find((v) => v.version === mv.version);
            expect([rel, version]).toMatchObject([rel, { runId: run.runId, source: `models:/${modelId}` }]);
          }
        } else if ((f = /^tags\/(.+)$/.exec(file!))) {
          expect([rel, value(rel)]).toEqual([rel, run.tags[f[1]!]]);
        } else if (file === 'artifacts/MLmodel') {
          expect(yamlOf(rel)).toMatchObject({
            model_id: modelId,
            model_uuid: modelId,
            run_id: run.runId,
            artifact_path: meta.artifact_location,
          });
          // FileStoreSource.modelArtifacts gives a run's LoggedModels with their MLmodel.
          expect([rel, await s.source.modelArtifacts(run)]).toEqual([
            rel,
            expect.arrayContaining([
              expect.objectContaining({ artifactPath: '', modelId, mlmodel: yamlOf(rel), onnxFile: null }),
            ]),
          ]);
        } else if (/^artifacts\/(?:conda\.yaml|python_env\.yaml|requirements\.txt)$/.test(file!)) {
          checkEnvFile(rel);
          return;
        } else {
          throw new Error(`${rel}: a LoggedModel file no test reads`);
        }
      } else if ((m = /^models\/([^/]+)\/meta\.yaml$/.exec(r))) {
        const meta = yamlOf(rel);
        const model = s.registered.find((x) => x.name === meta.name);
        expect([rel, model?.description]).toEqual([rel, meta.description || null]);
        // meta.yaml's aliases map is the aliases/ folder FileStoreSource reads.
        const fromVersions = Object.fromEntries(
          model!.versions.flatMap((v) => v.aliases.map((a) => [a, String(v.version)])),
        );
        expect([rel, fromVersions]).toEqual([rel, meta.aliases ?? {}]);
      } else if ((m = /^models\/([^/]+)\/version-(\d+)\/meta\.yaml$/.exec(r))) {
        const meta = yamlOf(rel);
        const version = s.registered.find((x) => x.name === m![1])?.versions.find((v) => v.version === Number(m![2]));
        if (meta.current_stage === 'Deleted_Internal') expect(version).toBeUndefined();
        else {
          expect([rel, version]).toMatchObject([
            rel,
            {
              name: meta.name,
              version: meta.version,
              source: meta.source,
              runId: meta.run_id,
              modelId: meta.model_id || null,
              storageLocation: meta.storage_location || null,
              status: meta.status,
              currentStage: meta.current_stage,
              description: meta.description || null,
            },
          ]);
        }
      } else if ((m = /^models\/([^/]+)\/aliases\/(.+)$/.exec(r))) {
        const version = s.registered
          .find((x) => x.name === m![1])
          ?.versions.find((v) => v.version === Number(value(rel)));
        expect([rel, version?.aliases]).toEqual([rel, expect.arrayContaining([m[2]])]);
      } else {
        throw new Error(`${rel}: a FileStore file no test reads`);
      }
      mark(rel);
    }

    it('reads the MLflow 2.8 FileStore with FileStoreSource: the run, its "max error" metric and its logged model', async () => {
      const s = await storeOf(STORE_28);
      expect(s.experiments).toMatchObject([
        { id: '0', name: 'Default', artifactLocation: 'file:///home/zakhar/mlops/mlruns/0', lifecycleStage: 'active' },
      ]);
      expect(s.runs).toHaveLength(1);
      const run = s.runs[0]!;
      expect(run).toMatchObject({
        runId: '53de31024b0c48d7b6e25e6bcb898fac',
        experimentId: '0',
        runName: 'flawless-hog-304',
        status: 'FINISHED',
        startTime: 1701598982710,
        endTime: 1701598985194,
        userId: 'zakhar',
        lifecycleStage: 'active',
      });
      // The repository's end-of-file fixer added a newline to every file: the values are without it.
      expect(run.params).toEqual({ d: "{'t_s': 0.33, 'r_s': 42}", mlflow: "{'url': 'blablablabla'}" });
      expect(Object.keys(run.tags).sort()).toEqual([
        'mlflow.log-model.history',
        'mlflow.runName',
        'mlflow.source.git.commit',
        'mlflow.source.name',
        'mlflow.source.type',
        'mlflow.user',
      ]);
      expect(run.tags['mlflow.source.git.commit']).toBe('d473df90cffe5ce219c51245489d43785d60e608');
      // A metric key with a space is a file named "max error".
      expect(points(run, 'max error')).toEqual([
        { key: 'max error', value: 152.7042694091797, timestamp: 1701598982732, step: 0 },
      ]);
      expect(latestMetrics(run.metrics)).toEqual({
        MAPE: 0.3551085889339447,
        RMSE: 53.08303029659055,
        'max error': 152.7042694091797,
      });
      const artifacts = await s.source.modelArtifacts(run);
      const joblib = artifacts.find((a) => a.artifactPath === '1.joblib');
      expect(joblib).toMatchObject({ artifactPath: '1.joblib', onnxFile: null });
      expect(joblib!.mlmodel).toHaveProperty('flavors.sklearn', {
        code: null,
        pickled_model: 'model.pkl',
        serialization_format: 'cloudpickle',
        sklearn_version: '1.3.1',
      });
      // mlflow.log-model.history records the same model.
      const history = JSON.parse(run.tags['mlflow.log-model.history']!);
      expect(history).toHaveLength(1);
      expect([history[0].artifact_path, history[0].model_uuid]).toEqual(['1.joblib', joblib!.mlmodel.model_uuid]);
      expect(joblib!.mlmodel.model_uuid).toBe('cbcfb0e4ec16438a8dcbf8c092ae9841');
      expect(s.registered).toEqual([]);
    });

    it('reads the MLflow 3.5 FileStore with FileStoreSource: nested runs, duplicate metric points, the registry and its champion alias', async () => {
      const s = await storeOf(STORE_35);
      expect(s.experiments).toMatchObject([
        { id: '0', name: 'Default', artifactLocation: 'mlflow-artifacts:/0', lifecycleStage: 'active' },
        {
          id: '643442710647968416',
          name: 'iris-classification',
          artifactLocation: 'file:///Users/vaibhavgupta/Developer/MLOps/Week5/mlruns/643442710647968416',
          lifecycleStage: 'active',
        },
      ]);
      expect(await s.source.runs('0')).toEqual([]);
      expect(s.runs.map((r) => [r.runId, r.runName, r.startTime])).toEqual([
        ['b923f0c310424625bd88a002bddce3bd', 'single_model_training', 1761930286834],
        ['8d148b6f41a94b1cb0bde290d325afaf', 'hyperparameter_tuning', 1761930416180],
        ['00724ea0333b4ece90281d5d0ff3326a', 'cv_fold_4', 1761930420133],
        ['bbf71be5a32f439e965d92b7db72f973', 'single_model_training', 1762380536160],
      ]);
      // A nested run names its parent, a run of the same experiment.
      const fold = runById(s, '00724ea0333b4ece90281d5d0ff3326a');
      expect(fold.tags['mlflow.parentRunId']).toBe('8d148b6f41a94b1cb0bde290d325afaf');
      expect(runById(s, fold.tags['mlflow.parentRunId']!).runName).toBe('hyperparameter_tuning');
      expect(fold.params).toEqual({ criterion: 'gini', max_depth: '2', min_samples_leaf: '2', min_samples_split: '5' });
      expect(latestMetrics(fold.metrics)).toEqual({ mean_test_score: 0.9, std_test_score: 0.033333333333333305 });
      // MLflow 3.5 logged each point twice: the history keeps both, the latest value is the same.
      const tuning = runById(s, '8d148b6f41a94b1cb0bde290d325afaf');
      expect(points(tuning, 'best_cv_score')).toEqual([
        { key: 'best_cv_score', value: 0.9, timestamp: 1761930420051, step: 0 },
        { key: 'best_cv_score', value: 0.9, timestamp: 1761930420051, step: 0 },
      ]);
      expect(tuning.params.param_grid).toBe(
        "{'max_depth': [2, 3, 4, 5, 6], 'min_samples_split': [2, 5, 10], 'min_samples_leaf': [1, 2, 4], 'criterion': ['gini', 'entropy']}",
      );
      expect(latestMetrics(tuning.metrics)).toEqual({ best_cv_score: 0.9, train_accuracy: 0.95 });

      expect(s.registered.map((m) => [m.name, m.description])).toEqual([['iris-classifier', null]]);
      const versions = s.registered[0]!.versions;
      expect(versions.map((v) => [v.version, v.source, v.runId, v.aliases])).toEqual([
        [1, 'models:/m-197681d0d2da401fbad8300ec11df9b7', 'b923f0c310424625bd88a002bddce3bd', []],
        [14, 'models:/m-044f039f656a43e18d196147f99f2e2c', '858ff021ad134df697b9ee597ca12e0e', []],
        [15, 'models:/iris-classifier/14', '858ff021ad134df697b9ee597ca12e0e', []],
        [16, 'models:/m-2b15a1738b31476690c10f51565a6f79', 'bbf71be5a32f439e965d92b7db72f973', ['champion']],
        [17, 'models:/iris-classifier/16', 'bbf71be5a32f439e965d92b7db72f973', []],
      ]);
      // current_stage is MLflow's stage named "None"; an empty description is none.
      expect(versions.every((v) => v.status === 'READY' && v.currentStage === 'None' && v.description === null)).toBe(
        true,
      );
      expect(versions.some((v) => v.currentStage === 'Deleted_Internal')).toBe(false);
      // A version's files: v1 is LoggedModel m-19768...; v17, a copy of v16 (models:/iris-classifier/16), is v16's.
      expect(await s.source.versionArtifact(versions[0]!)).toMatchObject({
        modelId: 'm-197681d0d2da401fbad8300ec11df9b7',
        mlmodel: {
          model_id: 'm-197681d0d2da401fbad8300ec11df9b7',
          run_id: 'b923f0c310424625bd88a002bddce3bd',
          flavors: { sklearn: { sklearn_version: '1.7.2' } },
        },
        onnxFile: null,
      });
      expect(await s.source.versionArtifact(versions.find((v) => v.version === 17)!)).toMatchObject({
        modelId: 'm-2b15a1738b31476690c10f51565a6f79',
        onnxFile: null,
      });
    });

    it('reads the MLflow 2.x registry-only FileStore: a Production version, no aliases, no experiments', async () => {
      const s = await storeOf(STORE_REGISTRY);
      expect(s.experiments).toEqual([]);
      expect(s.registered).toMatchObject([
        {
          name: 'sk-learn-random-forest-reg-model',
          description: null,
          versions: [
            {
              name: 'sk-learn-random-forest-reg-model',
              version: 4,
              source: 'mlflow-artifacts:/0/1a3c30a3fc464ce783540a93b69f941a/artifacts/sklearn-model',
              runId: '1a3c30a3fc464ce783540a93b69f941a',
              status: 'READY',
              currentStage: 'Production',
              description: null,
              aliases: [],
            },
          ],
        },
      ]);
      expect(s.registered[0]!.versions).toHaveLength(1);
    });

    it('checks every file of the three FileStores against what FileStoreSource read (MLflow 3 LoggedModel files against their run)', async () => {
      const files = filesOf('mlflow-filestore');
      const roots = [...new Set(files.map((f) => f.split('/').slice(0, 3).join('/')))].sort();
      expect(roots).toEqual([STORE_28, STORE_35, STORE_REGISTRY]);
      for (const f of files)
        await checkStoreFile(
          roots.find((root) => f.startsWith(`${root}/`))!,
          f,
        );
      // The files of MLflow 3 that the gateway's FileStore import has no field for yet.
      expect(value(`${STORE_35}/643442710647968416/tags/mlflow.experimentKind`)).toBe('custom_model_development');
      expect(
        metricLines(`${STORE_35}/643442710647968416/models/m-2b15a1738b31476690c10f51565a6f79/metrics/train_accuracy`),
      ).toEqual([['1762380536173', '0.95', '0', 'bbf71be5a32f439e965d92b7db72f973']]);
    });

    it('reads the standalone MLmodel files (YAML; FileStoreSource.modelArtifacts of their folder)', async () => {
      const files = filesOf('mlflow-mlmodel');
      expect(files).toEqual([
        'mlflow/mlmodel/onnx-mlflow2.8.1-save_model/MLmodel',
        'mlflow/mlmodel/sklearn-mlflow1.30.1-tests-resources/MLmodel',
      ]);
      const s = await storeOf(STORE_28);
      for (const f of files) {
        // A run whose artifacts folder is the model folder: the MLmodel is at its root. The source
        // reads only inside its own folder, so it is rooted at the model folder's parent.
        const run: MlflowRunData = { ...s.runs[0]!, artifactUri: path.dirname(abs(f)), loggedModels: [] };
        const artifacts = await new FileStoreSource(path.dirname(path.dirname(abs(f)))).modelArtifacts(run);
        expect([f, artifacts.map((a) => [a.artifactPath, a.mlmodel, a.onnxFile])]).toEqual([
          f,
          [['', yamlOf(f), null]],
        ]);
        mark(f);
      }
      const onnx = yamlOf('mlflow/mlmodel/onnx-mlflow2.8.1-save_model/MLmodel');
      expect(onnx.flavors.onnx).toEqual({
        code: null,
        data: 'model.onnx',
        onnx_session_options: null,
        onnx_version: '1.15.0',
        providers: ['CUDAExecutionProvider', 'CPUExecutionProvider'],
      });
      expect(onnx.flavors.python_function).toMatchObject({ data: 'model.onnx', loader_module: 'mlflow.onnx' });
      expect([onnx.mlflow_version, onnx.model_uuid]).toEqual(['2.8.1', 'dee6c8aa41614ea88cc567b295cb1df1']);
      const sklearn = yamlOf('mlflow/mlmodel/sklearn-mlflow1.30.1-tests-resources/MLmodel');
      // MLflow 1.x: python_function.env is the conda file's name, not a map.
      expect(sklearn.flavors.python_function.env).toBe('conda.yaml');
      expect([sklearn.mlflow_version, sklearn.flavors.sklearn.sklearn_version]).toEqual(['1.30.1', '1.5.2']);
    });

    it('reads the model environment files (conda.yaml, python_env.yaml, requirements.txt) of the ONNX model', () => {
      const files = filesOf('mlflow-env');
      expect(files).toEqual(
        ['conda.yaml', 'python_env.yaml', 'requirements.txt'].map(
          (n) => `mlflow/mlmodel/onnx-mlflow2.8.1-save_model/${n}`,
        ),
      );
      files.forEach(checkEnvFile);
      expect(text('mlflow/mlmodel/onnx-mlflow2.8.1-save_model/requirements.txt').split('\n').filter(Boolean)).toEqual([
        'mlflow==2.8.1',
        'numpy==1.26.0',
        'onnx==1.15.0',
        'onnxruntime==1.16.3',
      ]);
    });

    it('reads registered_model_meta (YAML)', () => {
      const [f] = filesOf('mlflow-registered-model-meta');
      expect(yamlOf(f!)).toEqual({ model_name: 'rag.sunish.test_mflow', model_version: '1' });
      mark(f!);
    });

    describe('REST bodies', () => {
      const REST = 'mlflow/rest/constructed';
      const kv = (list: { key: string; value: string }[]) => Object.fromEntries(list.map((e) => [e.key, e.value]));

      /** A run as runs/get and runs/search send it, against the same run read from the 3.5 FileStore. */
      function expectSameRun(body: any, run: MlflowRunData) {
        expect(body.info).toEqual({
          run_uuid: run.runId,
          experiment_id: run.experimentId,
          run_name: run.runName,
          user_id: run.userId,
          status: run.status,
          start_time: run.startTime,
          end_time: run.endTime,
          artifact_uri: expect.stringMatching(new RegExp(`/mlruns/${run.experimentId}/${run.runId}/artifacts$`)),
          lifecycle_stage: run.lifecycleStage,
          run_id: run.runId,
        });
        expect(kv(body.data.params)).toEqual(run.params);
        expect(kv(body.data.tags)).toEqual(run.tags);
        // runs/get and runs/search send the latest value of each metric.
        expect(Object.fromEntries(body.data.metrics.map((m: any) => [m.key, m.value]))).toEqual(
          latestMetrics(run.metrics),
        );
        for (const m of body.data.metrics) expect(points(run, m.key)).toContainEqual(m);
        expect(body.inputs).toEqual({});
      }

      it('the constructed OSS wire shapes say what the 3.5 FileStore they were rendered from says', async () => {
        const files = filesOf('mlflow-rest').filter((f) => f.startsWith(`${REST}/`));
        expect(files.map((f) => path.posix.basename(f))).toEqual([
          'error-resource-does-not-exist.json',
          'experiments-get-by-name.json',
          'metrics-get-history.json',
          'model-versions-get.json',
          'model-versions-get.mlflow3-copy-version.json',
          'registered-models-alias-get.json',
          'registered-models-get.json',
          'runs-get.json',
          'runs-search.json',
        ]);
        const s = await storeOf(STORE_35);
        const versions = s.registered.find((m) => m.name === 'iris-classifier')!.versions;
        const version = (n: number) => versions.find((v) => v.version === n)!;
        /** A ModelVersion body against the FileStore's version (version is a string on the wire). */
        const expectSameVersion = (body: any, n: number) => {
          const v = version(n);
          expect(body).toMatchObject({
            name: v.name,
            version: String(v.version),
            current_stage: v.currentStage,
            source: v.source,
            run_id: v.runId,
            status: v.status,
          });
          expect(body.aliases ?? []).toEqual(v.aliases);
          const meta = yamlOf(`${STORE_35}/models/iris-classifier/version-${n}/meta.yaml`);
          expect([body.creation_timestamp, body.last_updated_timestamp, body.model_id]).toEqual([
            meta.creation_timestamp,
            meta.last_updated_timestamp,
            meta.model_id || undefined,
          ]);
        };

        expect(jsonOf(`${REST}/error-resource-does-not-exist.json`)).toEqual({
          error_code: 'RESOURCE_DOES_NOT_EXIST',
          message: 'Registered Model with name=does-not-exist not found',
        });

        const experiment = jsonOf(`${REST}/experiments-get-by-name.json`).experiment;
        expect(experiment).toMatchObject({
          experiment_id: '643442710647968416',
          name: 'iris-classification',
          lifecycle_stage: 'active',
          creation_time: 1761930286654,
        });
        expect(s.experiments.find((e) => e.id === experiment.experiment_id)).toMatchObject({
          name: experiment.name,
          artifactLocation: experiment.artifact_location,
        });
        expect(kv(experiment.tags)).toEqual({
          'mlflow.experimentKind': value(`${STORE_35}/643442710647968416/tags/mlflow.experimentKind`),
        });

        const history = jsonOf(`${REST}/metrics-get-history.json`).metrics;
        expect(history).toEqual(points(runById(s, 'b923f0c310424625bd88a002bddce3bd'), 'train_accuracy'));
        expect(history).toHaveLength(2);

        const runGet = jsonOf(`${REST}/runs-get.json`).run;
        expectSameRun(runGet, runById(s, 'b923f0c310424625bd88a002bddce3bd'));
        expect(runGet.outputs).toEqual({
          model_outputs: [{ model_id: 'm-197681d0d2da401fbad8300ec11df9b7', step: 0 }],
        });
        expect(ALL).toContain(
          `${STORE_35}/643442710647968416/b923f0c310424625bd88a002bddce3bd/outputs/m-197681d0d2da401fbad8300ec11df9b7/meta.yaml`,
        );

        const search = jsonOf(`${REST}/runs-search.json`);
        expect(search.runs.map((r: any) => r.info.run_id)).toEqual([
          'bbf71be5a32f439e965d92b7db72f973',
          '8d148b6f41a94b1cb0bde290d325afaf',
        ]);
        for (const r of search.runs) {
          expectSameRun(r, runById(s, r.info.run_id));
          const [output] = r.outputs.model_outputs;
          expect(ALL).toContain(`${STORE_35}/643442710647968416/${r.info.run_id}/outputs/${output.model_id}/meta.yaml`);
        }
        expect(JSON.parse(Buffer.from(search.next_page_token, 'base64').toString())).toEqual({ offset: 2 });

        const v16 = jsonOf(`${REST}/model-versions-get.json`).model_version;
        expectSameVersion(v16, 16);
        expect([v16.aliases, v16.model_id]).toEqual([['champion'], 'm-2b15a1738b31476690c10f51565a6f79']);
        expect(jsonOf(`${REST}/registered-models-alias-get.json`)).toEqual(jsonOf(`${REST}/model-versions-get.json`));
        const v17 = jsonOf(`${REST}/model-versions-get.mlflow3-copy-version.json`).model_version;
        expectSameVersion(v17, 17);
        expect([v17.source, 'aliases' in v17, 'model_id' in v17]).toEqual(['models:/iris-classifier/16', false, false]);

        const registered = jsonOf(`${REST}/registered-models-get.json`).registered_model;
        const meta = yamlOf(`${STORE_35}/models/iris-classifier/meta.yaml`);
        expect(registered).toMatchObject({
          name: meta.name,
          creation_timestamp: meta.creation_timestamp,
          last_updated_timestamp: meta.last_updated_timestamp,
        });
        // latest_versions: the newest version per stage (all are in stage "None": v17).
        expect(registered.latest_versions).toHaveLength(1);
        expectSameVersion(registered.latest_versions[0], Math.max(...versions.map((v) => v.version)));
        expect(registered.aliases).toEqual(
          versions.flatMap((v) => v.aliases.map((alias) => ({ alias, version: String(v.version) }))),
        );
        expect(registered.aliases).toEqual([{ alias: 'champion', version: '16' }]);
        files.forEach(mark);
      });

      it('the real captures: a raw Databricks runs/get and mlflow-export-import run and model exports', () => {
        const files = filesOf('mlflow-rest').filter((f) => f.startsWith('mlflow/rest/real/'));
        expect(files).toEqual([
          'mlflow/rest/real/mlflow-export-import.model.json',
          'mlflow/rest/real/mlflow-export-import.run.json',
          'mlflow/rest/real/runs-get.databricks-mlflow2.4.1.raw_run.json',
        ]);
        const raw = jsonOf('mlflow/rest/real/runs-get.databricks-mlflow2.4.1.raw_run.json').run;
        expect(raw.info).toMatchObject({
          run_id: '38c0395ef5694d6aae3766cf3e1731e9',
          run_uuid: '38c0395ef5694d6aae3766cf3e1731e9',
          experiment_id: '3336498746253572',
          run_name: 'placid-bee-827',
          status: 'FINISHED',
          start_time: 1686602849523,
          end_time: 1686602916915,
        });
        expect(runStatus(raw.info.status)).toBe('FINISHED');
        expect(Object.keys(raw.data)).toEqual(['tags']);
        expect(raw.data.tags).toHaveLength(16);
        expect(kv(raw.data.tags)['mlflow.runName']).toBe('placid-bee-827');
        expect(raw.inputs).toEqual({});

        const run = jsonOf('mlflow/rest/real/mlflow-export-import.run.json').mlflow;
        expect(run.info).toMatchObject({
          run_id: 'eb66c160957d4a28b11d3f1b968df9cd',
          experiment_id: '1',
          status: 'FINISHED',
          start_time: 1684623849419,
          end_time: 1684623853222,
        });
        expect(run.params).toEqual({ max_depth: '4', max_leaf_nodes: '32' });
        expect(run.metrics.rmse).toEqual([{ value: 0.7367947360663162, timestamp: 1684623849570, step: 0 }]);
        const logged = JSON.parse(run.tags['mlflow.log-model.history']);
        expect(logged.map((m: any) => [m.artifact_path, Object.keys(m.flavors).sort()])).toEqual([
          ['model', ['python_function', 'sklearn']],
          ['onnx-model', ['onnx', 'python_function']],
        ]);
        expect(logged[1].flavors.onnx).toMatchObject({ data: 'model.onnx', onnx_version: '1.13.0' });

        const model = jsonOf('mlflow/rest/real/mlflow-export-import.model.json').mlflow.registered_model;
        expect(model.name).toBe('sklearn_wine');
        expect(model.aliases).toEqual([
          { alias: 'about-ready', version: '2' },
          { alias: 'good-to-go', version: '1' },
          { alias: 'just-in-case', version: '3' },
        ]);
        expect(model.versions.map((v: any) => [v.version, v.current_stage, v.status, v.aliases])).toEqual([
          ['1', 'Production', 'READY', []],
          ['2', 'Staging', 'READY', []],
          ['3', 'None', 'READY', []],
        ]);
        files.forEach(mark);
      });

      it("the importer's payload schemas (rest-payloads.ts) read every body, real ones included, as the importer reads it", () => {
        /** The body as the schema reads it (unknown keys dropped), failing on the first issue. */
        const ok = (schema: z.ZodType, body: unknown): any => {
          const r = schema.safeParse(body);
          expect(r.success ? null : payloads.firstIssue(r.error)).toBeNull();
          return r.data;
        };
        const search = ok(payloads.runsPage, jsonOf(`${REST}/runs-search.json`));
        expect(search.runs.map((r: any) => r.info.run_id)).toEqual([
          'bbf71be5a32f439e965d92b7db72f973',
          '8d148b6f41a94b1cb0bde290d325afaf',
        ]);
        expect(search.runs[0].outputs.model_outputs).toEqual([{ model_id: 'm-2b15a1738b31476690c10f51565a6f79' }]);
        ok(payloads.runById, jsonOf(`${REST}/runs-get.json`));
        // Databricks sends no user_id, no metrics and no params.
        const raw = ok(payloads.runById, jsonOf('mlflow/rest/real/runs-get.databricks-mlflow2.4.1.raw_run.json'));
        expect([raw.run.info.user_id, raw.run.data.params, raw.run.data.tags]).toEqual([
          undefined,
          undefined,
          expect.arrayContaining([{ key: 'mlflow.runName', value: 'placid-bee-827' }]),
        ]);
        expect(ok(payloads.metricHistoryPage, jsonOf(`${REST}/metrics-get-history.json`)).metrics).toHaveLength(2);
        expect(ok(payloads.experimentByName, jsonOf(`${REST}/experiments-get-by-name.json`)).experiment).toEqual({
          experiment_id: '643442710647968416',
          name: 'iris-classification',
          artifact_location: expect.stringMatching(/\/mlruns\/643442710647968416$/),
          lifecycle_stage: 'active',
        });
        const registered = jsonOf(`${REST}/registered-models-get.json`);
        expect(ok(payloads.registeredModelByName, registered).registered_model.aliases).toEqual([
          { alias: 'champion', version: '16' },
        ]);
        const versions = [
          jsonOf(`${REST}/model-versions-get.json`).model_version,
          jsonOf(`${REST}/model-versions-get.mlflow3-copy-version.json`).model_version,
          ...registered.registered_model.latest_versions,
        ];
        expect(
          ok(payloads.modelVersionsPage, { model_versions: versions }).model_versions.map((v: any) => [
            v.version,
            v.source,
            v.aliases,
          ]),
        ).toEqual([
          ['16', 'models:/m-2b15a1738b31476690c10f51565a6f79', ['champion']],
          ['17', 'models:/iris-classifier/16', undefined],
          ['17', 'models:/iris-classifier/16', undefined],
        ]);
        // The OSS 2.3.2 export keeps MLflow's own registered model and version fields (beside its `_` ones).
        const exported = jsonOf('mlflow/rest/real/mlflow-export-import.model.json').mlflow.registered_model;
        ok(payloads.registeredModelByName, { registered_model: exported });
        expect(
          ok(payloads.modelVersionsPage, { model_versions: exported.versions }).model_versions.map(
            (v: any) => v.version,
          ),
        ).toEqual(['1', '2', '3']);
        expect(ok(payloads.errorBody, jsonOf(`${REST}/error-resource-does-not-exist.json`))).toEqual({
          error_code: 'RESOURCE_DOES_NOT_EXIST',
          message: 'Registered Model with name=does-not-exist not found',
        });
        // 1.x servers send int64 fields as strings; a malformed field is named with where it is.
        const old = ok(payloads.runsPage, {
          runs: [{ info: { run_uuid: 'a'.repeat(32), start_time: '1684623849419' } }],
        });
        expect(old.runs[0].info.start_time).toBe('1684623849419');
        const bad = payloads.runsPage.safeParse({ runs: [{ info: { run_id: 'x', end_time: 'soon' } }] });
        expect(bad.success ? null : payloads.firstIssue(bad.error)).toBe(
          'runs[0].info.end_time: expected an integer (a number or a numeric string)',
        );
      });
    });
  });

  it('parsed every file of tests/fixtures/formats', () => {
    expect(ALL.filter((f) => !parsed.has(f))).toEqual([]);
    expect(existsSync(FORMATS)).toBe(true);
  });
});
