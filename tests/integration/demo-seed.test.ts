import { seedDemo } from '../../src/importers/demo';
import { createTestApp, dbKind, expectData, type TestApp } from '../helpers/test-app';

describe(`seeding an empty registry with the demo project (${dbKind()})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('imports fashion-classifier v1-v3 with DVC provenance, MLflow runs, aliases and both datasets, once', async () => {
    const result = await seedDemo(t.app);
    expect(result).not.toBeNull();
    expect([result!.dvc.failed, result!.mlflow.failed]).toEqual([0, 0]);
    const { model, datasets } = expectData(
      await t.gql(
        `{ model(name: "fashion-classifier") { labels
            aliases { name version { version } }
            versions { version status sha256 sizeBytes dvc { path md5 remote } mlflowRun { runName experimentName params metrics tags } } }
           datasets { name version size labels } }`,
        {},
        t.keys.viewer,
      ),
    );
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
    for (const v of model.versions) {
      expect(v.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(v.mlflowRun.experimentName).toBe('fashion-mnist');
      expect(v.mlflowRun.params).toHaveProperty('epochs');
      expect(v.mlflowRun.metrics.eval_accuracy).toBeGreaterThan(0.8);
      expect(v.mlflowRun.tags['mlflow.source.git.commit']).toMatch(/^[0-9a-f]{40}$/);
    }
    expect(datasets.map((d: any) => [d.name, d.version, d.size])).toEqual([
      ['fashion-eval', 1, 2000],
      ['fashion-smoke', 1, 100],
    ]);
    // Not again: the registry is no longer empty.
    expect(await seedDemo(t.app)).toBeNull();
  }, 180_000);
});
