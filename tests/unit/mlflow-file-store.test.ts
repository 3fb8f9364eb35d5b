import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DomainError } from '../../src/common/errors';
import { FileStoreSource, MAX_WALK_DEPTH, MAX_WALK_ENTRIES } from '../../src/importers/mlflow/file-store';
import { writeMlflowStore } from '../helpers/mlflow-store';

describe('MLflow FileStore walks are bounded', () => {
  let dir: string;
  const runId = 'c'.repeat(32);

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'modelgate-filestore-'));
    writeMlflowStore(dir, {
      experimentId: '1',
      experiment: 'wide',
      runs: [{ runId, name: 'wide', params: { a: '1' } }],
    });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('stops a walk past MAX_WALK_ENTRIES with BAD_USER_INPUT naming the limit (a smaller limit stands in for 100,000)', async () => {
    expect([MAX_WALK_ENTRIES, MAX_WALK_DEPTH]).toEqual([100_000, 16]);
    // Entries of nested folders count together: 3 folders of 10 files pass 25 in one walk.
    for (const sub of ['x', 'y', 'z']) {
      mkdirSync(path.join(dir, '1', runId, 'params', sub));
      for (let i = 0; i < 10; i++) writeFileSync(path.join(dir, '1', runId, 'params', sub, `p${i}`), String(i));
    }
    const walk = new FileStoreSource(dir, { maxEntries: 25 }).runs('1');
    await expect(walk).rejects.toBeInstanceOf(DomainError);
    await expect(walk).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      message: expect.stringMatching(/: more than 25 entries in one walk \(MAX_WALK_ENTRIES\)$/),
    });
    // Within the limit the same store reads, nested keys included.
    const [run] = await new FileStoreSource(dir, { maxEntries: 40 }).runs('1');
    expect(Object.keys(run!.params)).toHaveLength(31);
    expect(run!.params['x/p3']).toBe('3');
  });

  it('refuses folders nested past the depth limit, and reads those at it', async () => {
    const nested = (depth: number) => path.join(dir, '1', runId, 'tags', ...Array<string>(depth).fill('n'));
    mkdirSync(nested(3), { recursive: true });
    writeFileSync(path.join(nested(3), 'deep'), 'ok');
    const [run] = await new FileStoreSource(dir, { maxDepth: 3 }).runs('1');
    expect(run!.tags['n/n/n/deep']).toBe('ok');
    mkdirSync(nested(4), { recursive: true });
    await expect(new FileStoreSource(dir, { maxDepth: 3 }).runs('1')).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      message: expect.stringMatching(/: folders nested more than 3 deep \(MAX_WALK_DEPTH\)$/),
    });
  });
});

describe('MLflow FileStore run names across versions', () => {
  let dir: string;
  const runId = 'd'.repeat(32);

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'modelgate-filestore-'));
    writeMlflowStore(dir, { experimentId: '2', experiment: 'old', runs: [{ runId, name: 'unused' }] });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("reads an MLflow 1.x run's name from its mlflow.runName tag (1.x writes `name: ''` and no run_name)", async () => {
    // meta.yaml as MLflow 1.26's FileStore writes it.
    writeFileSync(
      path.join(dir, '2', runId, 'meta.yaml'),
      [
        `artifact_uri: file:///home/u/mlruns/2/${runId}/artifacts`,
        'end_time: 1650000100000',
        "entry_point_name: ''",
        "experiment_id: '2'",
        'lifecycle_stage: active',
        "name: ''",
        `run_id: ${runId}`,
        `run_uuid: ${runId}`,
        "source_name: ''",
        'source_type: 4',
        "source_version: ''",
        'start_time: 1650000000000',
        'status: 3',
        'tags: []',
        'user_id: u',
        '',
      ].join('\n'),
    );
    mkdirSync(path.join(dir, '2', runId, 'tags'), { recursive: true });
    writeFileSync(path.join(dir, '2', runId, 'tags', 'mlflow.runName'), 'resnet-finetune');
    const [run] = await new FileStoreSource(dir).runs('2');
    expect(run!.runName).toBe('resnet-finetune');
  });

  it('keeps run_name when MLflow 2.x/3.x wrote one, and has no name when neither exists', async () => {
    const [named] = await new FileStoreSource(dir).runs('2');
    expect(named!.runName).toBe('unused');
    const meta = path.join(dir, '2', runId, 'meta.yaml');
    const { readFileSync } = await import('node:fs');
    writeFileSync(meta, readFileSync(meta, 'utf8').replace(/^run_name: .*$/m, "run_name: ''"));
    rmSync(path.join(dir, '2', runId, 'tags', 'mlflow.runName'), { force: true });
    const [unnamed] = await new FileStoreSource(dir).runs('2');
    expect(unnamed!.runName).toBeNull();
  });
});
