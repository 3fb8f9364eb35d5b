import { seedDemo } from '../../src/importers/demo';
import { createTestApp, dbKind, expectData, type TestApp } from '../helpers/test-app';

/** The seed (three models, one a 23 MB ResNet-50, and 2,100 dataset items) runs once per file, in beforeAll. */
describe(`seeding an empty registry with the demo project (${dbKind()})`, () => {
  let t: TestApp;
  let seeded: Awaited<ReturnType<typeof seedDemo>>;
  let model: any;
  let datasets: any[];
  beforeAll(async () => {
    t = await createTestApp();
    seeded = await seedDemo(t.app);
    ({ model, datasets } = expectData(
      await t.gql(
        `{ model(name: "fashion-classifier") { labels
            aliases { name version { version } }
            versions { version status sha256 sizeBytes dvc { path md5 remote } mlflowRun { runName experimentName params metrics tags } } }
           datasets { name version size labels } }`,
        {},
        t.keys.viewer,
      ),
    ));
  }, 180_000);
  afterAll(() => t.close());

  it('imports everything through the DVC and MLflow importers without a failure', () => {
    expect(seeded).not.toBeNull();
    expect([seeded!.dvc.failed, seeded!.mlflow.failed]).toEqual([0, 0]);
  });

  it('registers fashion-classifier v1-v3 from the DVC project, ready, with baseline=v1 and champion=v2', () => {
    expect(model.labels).toHaveLength(10);
    expect(model.aliases.map((a: any) => [a.name, a.version.version]).sort()).toEqual([
      ['baseline', 1],
      ['champion', 2],
    ]);
    expect(model.versions.map((v: any) => [v.version, v.status, v.dvc.path, v.mlflowRun?.runName])).toEqual([
      [1, 'READY', 'onnx/fashion-resnet50-int8.onnx', 'baseline-resnet50'],
      [2, 'READY', 'onnx/fashion-small-cnn.onnx', 'champion-small-cnn'],
      [3, 'READY', 'onnx/fashion-bn-cnn.onnx', 'candidate-bn-cnn'],
    ]);
    for (const v of model.versions) expect(v.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('links each version to its MLflow run, with params, metrics and the git commit', () => {
    for (const v of model.versions) {
      expect(v.mlflowRun.experimentName).toBe('fashion-mnist');
      expect(v.mlflowRun.params).toHaveProperty('epochs');
      expect(v.mlflowRun.metrics.eval_accuracy).toBeGreaterThan(0.8);
      expect(v.mlflowRun.tags['mlflow.source.git.commit']).toMatch(/^[0-9a-f]{40}$/);
    }
  });

  it('imports both datasets', () => {
    expect(datasets.map((d: any) => [d.name, d.version, d.size])).toEqual([
      ['fashion-eval', 1, 2000],
      ['fashion-smoke', 1, 100],
    ]);
  });

  it('does nothing on a registry that is no longer empty', async () => {
    expect(await seedDemo(t.app)).toBeNull();
  });
});
