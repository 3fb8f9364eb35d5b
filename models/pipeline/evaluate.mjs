// Stage `evaluate`: accuracy of every model artifact declared in dvc.yaml on the evaluation and
// smoke sets, by running the ONNX files with onnxruntime-node, the runtime the gateway serves with.
//
//   node pipeline/evaluate.mjs                 # writes metrics/evaluation.json
//   node pipeline/evaluate.mjs --print FILE SET # one file on one set, prints JSON (tests use it)
//
// Preprocessing follows each artifact's inputSpec (28x28 grayscale, x/255, (x-mean)/std, NCHW):
// the demo images are already 28x28, so no resizing happens.
import { readFileSync, writeFileSync, mkdirSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');
const sharp = require('sharp');
const YAML = require('yaml');

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function readLabels(setDir) {
  const lines = readFileSync(path.join(setDir, 'labels.csv'), 'utf8').trim().split('\n').slice(1);
  return lines.map((line) => {
    const [file, label] = line.split(',');
    return { file, label: Number(label) };
  });
}

async function tensorFor(items, setDir, spec) {
  const { width, height, mean, std, scale } = spec;
  const data = new Float32Array(items.length * width * height);
  await Promise.all(
    items.map(async (item, n) => {
      const { data: pixels, info } = await sharp(path.join(setDir, item.file)).greyscale().raw().toBuffer({ resolveWithObject: true });
      if (info.width !== width || info.height !== height || info.channels !== 1) {
        throw new Error(`${item.file}: ${info.width}x${info.height}x${info.channels}, expected ${width}x${height}x1`);
      }
      for (let i = 0; i < pixels.length; i++) data[n * pixels.length + i] = (pixels[i] / scale - mean[0]) / std[0];
    }),
  );
  return new ort.Tensor('float32', data, [items.length, 1, height, width]);
}

/** Top-1 accuracy of one ONNX file on one labeled image set. */
export async function accuracy(modelFile, setDir, spec, batch = 100) {
  const session = await ort.InferenceSession.create(modelFile, { intraOpNumThreads: 2, extra: { session: { disable_quant_qdq: '1' } } });
  const items = readLabels(setDir);
  let correct = 0;
  for (let i = 0; i < items.length; i += batch) {
    const chunk = items.slice(i, i + batch);
    const out = await session.run({ [session.inputNames[0]]: await tensorFor(chunk, setDir, spec) });
    const logits = out[session.outputNames[0]].data;
    const classes = logits.length / chunk.length;
    chunk.forEach((item, n) => {
      let best = 0;
      for (let c = 1; c < classes; c++) if (logits[n * classes + c] > logits[n * classes + best]) best = c;
      if (best === item.label) correct++;
    });
  }
  await session.release();
  return { correct, total: items.length, accuracy: correct / items.length };
}

async function main() {
  const args = process.argv.slice(2);
  const dvc = YAML.parse(readFileSync(path.join(ROOT, 'dvc.yaml'), 'utf8'));
  const models = Object.entries(dvc.artifacts).filter(([, a]) => a.type === 'model');
  if (args[0] === '--print') {
    const [, file, set, artifact] = args;
    const spec = (dvc.artifacts[artifact] ?? models[0][1]).meta.inputSpec;
    console.log(JSON.stringify(await accuracy(file, set, spec)));
    return;
  }
  const sets = { eval: path.join(ROOT, 'data/fashion-eval'), smoke: path.join(ROOT, 'data/fashion-smoke') };
  const result = {};
  for (const [name, a] of models) {
    const spec = a.meta.inputSpec;
    const committed = path.join(ROOT, a.path);
    const fp32 = path.join(ROOT, a.meta.fp32Path ?? a.path);
    const entry = { file: a.path, sizeBytes: statSync(committed).size };
    entry.eval = await accuracy(committed, sets.eval, spec);
    entry.smoke = await accuracy(committed, sets.smoke, spec);
    if (fp32 !== committed && existsSync(fp32)) {
      entry.fp32 = { file: a.meta.fp32Path, sizeBytes: statSync(fp32).size, eval: await accuracy(fp32, sets.eval, spec) };
      entry.fp32MinusCommittedPoints = Number(((entry.fp32.eval.accuracy - entry.eval.accuracy) * 100).toFixed(2));
    }
    result[name] = entry;
    console.error(`${name}: eval ${(entry.eval.accuracy * 100).toFixed(2)}%, smoke ${(entry.smoke.accuracy * 100).toFixed(0)}%` +
      (entry.fp32 ? `, fp32 eval ${(entry.fp32.eval.accuracy * 100).toFixed(2)}%` : ''));
  }
  mkdirSync(path.join(ROOT, 'metrics'), { recursive: true });
  writeFileSync(path.join(ROOT, 'metrics', 'evaluation.json'), JSON.stringify(result, null, 2) + '\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
