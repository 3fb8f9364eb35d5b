import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { GitTag } from '../../src/importers/dvc/git';
import { GtoRegistry } from '../../src/importers/dvc/gto';
import { FIXTURES } from '../helpers/test-app';

/** The refs of a recorded repository (`git for-each-ref` lines, annotated tags peeled with ->). */
function recordedTags(file: string): GitTag[] {
  const text = readFileSync(path.join(FIXTURES, 'formats', 'dvc', 'gto', file), 'utf8');
  return [...text.matchAll(/^([0-9a-f]{40}) (tag|commit) refs\/tags\/(\S+)(?: -> ([0-9a-f]{40}))?$/gm)].map((m) => ({
    name: m[3]!,
    commit: m[4] ?? m[1]!,
    created: 0,
  }));
}

describe("GTO registry state from all of a repository's tags", () => {
  it('follows stage moves by event counter (iterative/example-gto)', () => {
    const gto = new GtoRegistry(recordedTags('example-gto.tags.txt'));
    // churn#dev#1 put dev on v3.0.0; churn#dev#4 moved it to v3.1.0.
    expect(gto.at('churn', '8a1eb65b338b194b1579b3436cbba09fb7edb0c7')).toEqual({
      version: 'v3.1.0',
      stages: ['dev', 'staging'],
    });
    expect(gto.at('churn', '5561a3bda81b18d0b0ca24bc2ced0bb9ca2ac720')).toEqual({
      version: 'v3.0.0',
      stages: ['prod'],
    });
    expect(gto.at('segment', '5561a3bda81b18d0b0ca24bc2ced0bb9ca2ac720')).toEqual({
      version: 'v0.4.1',
      stages: ['dev'],
    });
    expect(gto.at('cv-class', '8a1eb65b338b194b1579b3436cbba09fb7edb0c7')).toEqual({ version: null, stages: [] });
  });

  it('drops an unassigned stage (iterative/example-get-started-experiments: dev#1, prod#2, dev!#3)', () => {
    const gto = new GtoRegistry(recordedTags('example-get-started-experiments.tags.txt'));
    expect(gto.at('pool-segmentation', 'afdf89b183b5cc9cbeee273b1f33faca10ffd5d0')).toEqual({
      version: 'v1.0.0',
      stages: ['prod'],
    });
  });

  it('hands an unassigned stage back to the previous holder, and ignores deregistered versions', () => {
    const [c1, c2, c3] = ['1', '2', '3'].map((d) => d.repeat(40)) as [string, string, string];
    const tags = (names: [string, string][]) => names.map(([name, commit], i) => ({ name, commit, created: 1000 + i }));
    const base: [string, string][] = [
      ['m@v1.0.0', c1],
      ['m@v2.0.0', c2],
      ['m#prod#1', c1],
      ['m#prod#2', c2],
    ];
    expect(new GtoRegistry(tags(base)).stages('m')).toEqual(new Map([['prod', c2]]));
    expect(new GtoRegistry(tags([...base, ['m#prod!#3', c2]])).at('m', c1)).toEqual({
      version: 'v1.0.0',
      stages: ['prod'],
    });
    const deregistered = new GtoRegistry(tags([...base, ['m@v2.0.0!', c2]]));
    expect(deregistered.at('m', c2)).toEqual({ version: null, stages: [] });
    expect(deregistered.at('m', c1).stages).toEqual(['prod']);
    // A stage assigned to a commit with no version tag still names that commit (GTO's unregistered version).
    expect(new GtoRegistry(tags([['m#dev#1', c3]])).at('m', c3)).toEqual({ version: null, stages: ['dev'] });
    // Subfolder artifacts are tagged dir=name and read as dir:name.
    expect(new GtoRegistry(tags([['models=m@v1.0.0', c1]])).at('models:m', c1).version).toBe('v1.0.0');
  });
});
