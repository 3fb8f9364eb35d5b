import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DvcObjects } from '../../src/importers/dvc/objects';
import { loadDvcProject } from '../../src/importers/dvc/project';

const run = promisify(execFile);
const MODELS = path.resolve(__dirname, '..', '..', 'models');

/**
 * Reruns the committed ONNX files (resolved from the DVC remote by their md5, as a fresh clone has
 * them) on the smoke set with onnxruntime-node, through the same script that measured the figures
 * in metrics/evaluation.json: a broken export or a preprocessing mismatch moves accuracy by far
 * more than 3 points.
 */
describe('the demo models in models/', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'modelgate-demo-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reach their recorded smoke-set accuracy within 3 points, and stay small', async () => {
    const project = await loadDvcProject(MODELS);
    // Ignore workspace copies: read only what git and the DVC remote hold.
    const objects = new DvcObjects(project.root, project.config);
    const recorded = JSON.parse(readFileSync(path.join(MODELS, 'metrics', 'evaluation.json'), 'utf8'));
    const smoke = project.artifacts.find((a) => a.name === 'fashion-smoke')!;
    const smokeDir = path.join(dir, 'smoke');
    for (const f of (await objects.locateDir('smoke', project.outs.get(smoke.path)!, null)).files) {
      mkdirSync(path.dirname(path.join(smokeDir, f.relpath)), { recursive: true });
      copyFileSync(f.file, path.join(smokeDir, f.relpath));
    }
    const models = project.artifacts.filter((a) => a.type === 'model');
    expect(models.map((a) => a.name).sort()).toEqual(['fashion-bn-cnn', 'fashion-resnet50', 'fashion-small-cnn']);
    for (const a of models) {
      const out = project.outs.get(a.path)!;
      const { file, source } = await objects.locate(a.name, out.md5, {
        legacy: out.legacy,
        size: out.size,
        remote: out.remote,
      });
      expect([a.name, source]).toEqual([a.name, 'remote:local']);
      const { stdout } = await run(process.execPath, [
        path.join(MODELS, 'pipeline', 'evaluate.mjs'),
        '--print',
        file,
        smokeDir,
        a.name,
      ]);
      const measured = JSON.parse(stdout) as { accuracy: number; total: number };
      expect(measured.total).toBe(100);
      const expected = recorded[a.name].smoke.accuracy as number;
      expect([a.name, Math.abs(measured.accuracy - expected) <= 0.03]).toEqual([a.name, true]);
      expect(statSync(file).size).toBe(recorded[a.name].sizeBytes);
    }
  }, 120_000);

  it('keeps every tracked part under 10 MB: larger files are split under models/split/ and joined by npm ci to their md5', async () => {
    const { stdout } = await run('git', ['ls-files', '-z', 'models'], { cwd: path.dirname(MODELS) });
    const tracked = stdout.split('\0').filter(Boolean);
    const big = tracked.filter((f) => statSync(path.join(path.dirname(MODELS), f)).size > 10 * 1024 * 1024);
    expect(big).toEqual([]);
    const parts = tracked.filter((f) => f.startsWith('models/split/') && f.endsWith('.00'));
    expect(parts.length).toBeGreaterThan(0);
    for (const first of parts) {
      const joined = path.join(MODELS, first.slice('models/split/'.length, -'.00'.length));
      const name = joined.split(path.sep).slice(-2).join('');
      expect([joined, createHash('md5').update(readFileSync(joined)).digest('hex')]).toEqual([joined, name]);
    }
  });
});
