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
