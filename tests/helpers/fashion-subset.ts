import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { writeDvcProject, type ProjectModel } from './dvc-project';

const DEMO = path.resolve(__dirname, '..', '..', 'models');

/** A file of the demo's DVC remote by md5 (DVC 3's layout: files/md5/ab/cdef…). */
const fromRemote = (md5: string) =>
  readFileSync(path.join(DEMO, 'dvc-remote', 'files', 'md5', md5.slice(0, 2), md5.slice(2)));

function lockedMd5(out: string): string {
  const lock = YAML.parse(readFileSync(path.join(DEMO, 'dvc.lock'), 'utf8')) as {
    stages: Record<string, { outs?: { path: string; md5: string }[] }>;
  };
  for (const stage of Object.values(lock.stages)) for (const o of stage.outs ?? []) if (o.path === out) return o.md5;
  throw new Error(`the demo's dvc.lock has no output ${out}`);
}

/**
 * A DVC project (tests/helpers/dvc-project.ts) with two of the demo's real models, the small CNN and
 * the batch-norm CNN (versions 1 and 2 of fashion-classifier), and the first `items` images of its
 * evaluation set as the dataset fashion-eval: the demo's real bytes, without its ResNet-50 and
 * MLflow runs, so importing it takes a second or two rather than half a minute.
 */
export function writeFashionSubset(root: string, items: number): void {
  const spec = YAML.parse(readFileSync(path.join(DEMO, 'dvc.yaml'), 'utf8')) as {
    artifacts: Record<string, { path: string; meta: Record<string, unknown> }>;
  };
  const model = (name: string): ProjectModel => {
    const a = spec.artifacts[name]!;
    const { registeredModel, modelDescription, labels, inputSpec } = a.meta;
    return {
      name,
      path: a.path,
      bytes: fromRemote(lockedMd5(a.path)),
      meta: { registeredModel, modelDescription, labels, inputSpec },
    };
  };
  const evalSet = spec.artifacts['fashion-eval']!;
  const manifest = JSON.parse(fromRemote(lockedMd5(evalSet.path)).toString()) as { md5: string; relpath: string }[];
  const byPath = new Map(manifest.map((e) => [e.relpath, e.md5]));
  const [header, ...rows] = fromRemote(byPath.get('labels.csv')!).toString().trim().split('\n');
  const kept = rows.slice(0, items);
  const files: Record<string, Buffer | string> = { 'labels.csv': [header, ...kept].join('\n') + '\n' };
  for (const row of kept) {
    const rel = row.split(',')[0]!;
    files[rel] = fromRemote(byPath.get(rel)!);
  }
  writeDvcProject(root, {
    models: [model('fashion-small-cnn'), model('fashion-bn-cnn')],
    datasets: [{ name: 'fashion-eval', path: evalSet.path, files, meta: evalSet.meta }],
  });
}
