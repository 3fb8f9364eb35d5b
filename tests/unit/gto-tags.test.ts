import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseGtoTag } from '../../src/importers/dvc/git';
import { FIXTURES } from '../helpers/test-app';

describe('GTO tag names', () => {
  // Every tag of real public GTO repositories (git for-each-ref dumps in tests/fixtures/formats/dvc/gto).
  const dir = path.join(FIXTURES, 'formats', 'dvc', 'gto');
  const tags = readdirSync(dir)
    .filter((f) => f.endsWith('.tags.txt'))
    .flatMap((f) =>
      [...readFileSync(path.join(dir, f), 'utf8').matchAll(/^[0-9a-f]{40} tag refs\/tags\/(\S+)/gm)].map((m) => m[1]!),
    );

  it('parses every GTO tag of the recorded repositories and ignores the others', () => {
    const parsed = Object.fromEntries(tags.map((t) => [t, parseGtoTag(t)]));
    expect(parsed['text-classification@v1.2.0']).toEqual({
      artifact: 'text-classification',
      kind: 'version',
      value: 'v1.2.0',
      negated: false,
    });
    expect(parsed['churn#staging#2']).toEqual({
      artifact: 'churn',
      kind: 'stage',
      value: 'staging',
      negated: false,
      counter: 2,
    });
    expect(parsed['pool-segmentation#dev!#3']).toEqual({
      artifact: 'pool-segmentation',
      kind: 'stage',
      value: 'dev',
      negated: true,
      counter: 3,
    });
    expect(parsed['7-ml-pipeline']).toBeNull();
    expect(parsed['baseline-experiment']).toBeNull();
    const gto = tags.filter((t) => /[@#]/.test(t));
    expect(gto.length).toBeGreaterThan(10);
    for (const t of gto) expect([t, parseGtoTag(t) !== null]).toEqual([t, true]);
  });

  it('reads artifacts of dvc.yaml files in a subfolder (dir=name) and deregistrations', () => {
    expect(parseGtoTag('models=fashion@v1.0.0!')).toEqual({
      artifact: 'models:fashion',
      kind: 'version',
      value: 'v1.0.0',
      negated: true,
    });
    expect(parseGtoTag('x@1.0.0')).toBeNull();
  });
});
