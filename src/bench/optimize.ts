/**
 * `npm run bench:optimize`: what int8 static quantization (optimizeVersion INT8_STATIC) buys on the
 * demo models, measured side by side in one run on this machine. A benchmark, not a test: it asserts
 * nothing and exits 0 when it could measure; it prints each goal as met or not met.
 *
 * For the ResNet-50 baseline (v1) and the candidate (v3): the source graph as fp32 (v1's committed
 * file is weight-only int8, folded back to fp32 exactly as the quantizer does first) against the
 * int8 graph the quantizer makes, calibrated on the first 200 images of fashion-eval preprocessed as
 * the gateway does, with each calibration method. Accuracy is on all 2,000 fashion-eval images at
 * the demo's 28x28; speed is batch-1 latency and batch-32 throughput at 28x28 and, for ResNet-50, at
 * 224x224 (its graph has dynamic height and width), fp32 and int8 measured side by side with
 * the gateway's session options (intraOpNumThreads = INFERENCE_THREADS, default 2), in alternating
 * blocks of runs.
 *
 * BENCH_SCALE (default 1) scales the number of timed runs, for quick trial runs.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { DvcObjects } from '../importers/dvc/objects';
import { loadDvcProject } from '../importers/dvc/project';
import { preprocess } from '../inference/image/preprocess';
import { argmax } from '../inference/postprocess';
import { parseInputSpec, type InputSpec } from '../registry/input-spec';
import {
  buildInt8,
  Calibrator,
  floatModel,
  planInt8,
  type CalibrationMethod,
  type Int8Plan,
} from '../optimization/int8';
import { commit, machine } from './machine';
import { sessionOptions } from './main-thread-backend';
import { fmt, median, table } from './stats';

const ROOT = path.resolve(__dirname, '..', '..');
const MODELS = path.join(ROOT, 'models');
const SCALE = Number(process.env.BENCH_SCALE ?? '1') > 0 ? Number(process.env.BENCH_SCALE ?? '1') : 1;
const THREADS = Number(process.env.INFERENCE_THREADS ?? '2');
const CALIBRATION_ITEMS = 200;
const METHODS: CalibrationMethod[] = ['MINMAX', 'PERCENTILE', 'ENTROPY'];

interface Item {
  data: Float32Array;
  label: number;
}

async function main(): Promise<void> {
  const project = await loadDvcProject(MODELS);
  const objects = new DvcObjects(project.root, project.config);
  const artifact = (name: string) => project.artifacts.find((a) => a.name === name)!;
  const file = async (name: string) => {
    const a = artifact(name);
    const out = project.outs.get(a.path)!;
    return (await objects.locate(a.name, out.md5, { legacy: out.legacy, size: out.size, remote: out.remote })).file;
  };
  const spec = parseInputSpec(artifact('fashion-resnet50').meta?.inputSpec);
  const items = await evalSet(objects, project, spec);

  console.log(`# bench:optimize at ${commit()}`);
  for (const line of machine()) console.log(line);
  console.log(
    `intraOpNumThreads ${THREADS}, ${items.length} evaluation images, calibration on the first ${CALIBRATION_ITEMS}\n`,
  );

  const rows: string[][] = [];
  const speedRows: string[][] = [];
  const goals: string[] = [];
  for (const [label, name, sizes] of [
    ['v1 ResNet-50 (baseline)', 'fashion-resnet50', [224, 28]],
    ['v3 BN-CNN (candidate)', 'fashion-bn-cnn', [28]],
  ] as const) {
    const source = readFileSync(await file(name));
    const plan = planInt8(source);
    const fp32 = floatModel(plan);
    const calibrator = await calibrate(plan, items.slice(0, CALIBRATION_ITEMS), spec);
    const fp32Session = await InferenceSession.create(Buffer.from(fp32), options());
    const fp32Acc = await accuracy(fp32Session, items, spec);
    rows.push([label, 'fp32', `${fmt(fp32.byteLength / 1e6, 2)} MB`, '1.00x', `${fmt(100 * fp32Acc, 2)}%`, '']);
    let best: { method: CalibrationMethod; model: Uint8Array; acc: number } | null = null;
    for (const method of METHODS) {
      const { model } = buildInt8(plan, calibrator, method);
      const s = await InferenceSession.create(Buffer.from(model), options());
      const acc = await accuracy(s, items, spec);
      await s.release();
      rows.push([
        label,
        `int8 ${method.toLowerCase()}`,
        `${fmt(model.byteLength / 1e6, 2)} MB`,
        `1/${fmt(fp32.byteLength / model.byteLength, 2)}`,
        `${fmt(100 * acc, 2)}%`,
        `${acc >= fp32Acc ? '+' : ''}${fmt(100 * (acc - fp32Acc), 2)}`,
      ]);
      if (!best || acc > best.acc) best = { method, model, acc };
    }
    const int8Session = await InferenceSession.create(Buffer.from(best!.model), options());
    for (const size of sizes) {
      const b1 = await sideBySide(fp32Session, int8Session, [1, spec.channels, size, size], scaled(40));
      const b32 = await sideBySide(
        fp32Session,
        int8Session,
        [32, spec.channels, size, size],
        scaled(size > 100 ? 6 : 20),
      );
      speedRows.push([
        label,
        `${size}x${size}`,
        `int8 ${best!.method.toLowerCase()}`,
        fmt(b1.a, 2),
        fmt(b1.b, 2),
        `${fmt(b1.a / b1.b, 2)}x`,
        fmt((32 * 1000) / b32.a, 0),
        fmt((32 * 1000) / b32.b, 0),
        `${fmt(b32.a / b32.b, 2)}x`,
      ]);
      if (name === 'fashion-resnet50' && size === 224)
        goals.push(
          `ResNet-50 224x224 batch-1 throughput int8/fp32 ${fmt(b1.a / b1.b, 2)}x (goal >= 2.5x): ${b1.a / b1.b >= 2.5 ? 'met' : 'NOT met'}`,
        );
    }
    if (name === 'fashion-resnet50') {
      const loss = 100 * (fp32Acc - best!.acc);
      goals.push(
        `ResNet-50 accuracy loss ${fmt(loss, 2)} points with ${best!.method.toLowerCase()} (goal <= 1): ${loss <= 1 ? 'met' : 'NOT met'}`,
      );
      const ratio = fp32.byteLength / best!.model.byteLength;
      goals.push(`ResNet-50 file 1/${fmt(ratio, 2)} of fp32 (goal <= 1/3.5): ${ratio >= 3.5 ? 'met' : 'NOT met'}`);
    }
    await fp32Session.release();
    await int8Session.release();
  }
  console.log('Accuracy on fashion-eval (2,000 images, 28x28) and file size, by calibration method\n');
  console.log(table([['version', 'graph', 'file', 'size vs fp32', 'accuracy', 'points vs fp32'], ...rows]));
  console.log('\nSpeed, fp32 vs the most accurate int8 graph, measured in alternating blocks of runs (medians)\n');
  console.log(
    table([
      [
        'version',
        'input',
        'int8 graph',
        'batch-1 fp32 ms',
        'batch-1 int8 ms',
        'batch-1 speedup',
        'batch-32 fp32 img/s',
        'batch-32 int8 img/s',
        'batch-32 speedup',
      ],
      ...speedRows,
    ]),
  );
  console.log('\nGoals');
  for (const g of goals) console.log(`- ${g}`);
}

const scaled = (n: number) => Math.max(3, Math.round(n * SCALE));
const options = () => sessionOptions({ intraOpNumThreads: THREADS, disableQuantQdq: false });

async function evalSet(
  objects: DvcObjects,
  project: Awaited<ReturnType<typeof loadDvcProject>>,
  spec: InputSpec,
): Promise<Item[]> {
  const a = project.artifacts.find((x) => x.name === 'fashion-eval')!;
  const dir = await objects.locateDir('fashion-eval', project.outs.get(a.path)!, null);
  const byPath = new Map(dir.files.map((f) => [f.relpath, f.file]));
  const labels = readFileSync(byPath.get('labels.csv')!, 'utf8').trim().split('\n').slice(1);
  const items: Item[] = [];
  for (const line of labels) {
    const [p, label] = line.split(',');
    const f = byPath.get(p!);
    if (!f || !existsSync(f)) throw new Error(`fashion-eval: ${p} is missing`);
    items.push({ data: (await preprocess(readFileSync(f), spec)).data, label: Number(label) });
  }
  return items;
}

function batchOf(items: Item[], spec: InputSpec): { data: Float32Array; dims: number[] } {
  const per = spec.channels * spec.height * spec.width;
  const data = new Float32Array(items.length * per);
  items.forEach((it, i) => data.set(it.data, i * per));
  return { data, dims: [items.length, spec.channels, spec.height, spec.width] };
}

/** The calibration the optimizeVersion job runs, here with in-process sessions. */
async function calibrate(plan: Int8Plan, items: Item[], spec: InputSpec): Promise<Calibrator> {
  const session = await InferenceSession.create(Buffer.from(plan.calibrationModel), options());
  const calibrator = new Calibrator(plan);
  for (let i = 0; i < items.length; i += 8) {
    const b = batchOf(items.slice(i, i + 8), spec);
    const out = await session.run({ [plan.inputName]: new Tensor('float32', b.data, b.dims) }, [...plan.tensors]);
    const outputs: Record<string, { data: Float32Array; dims: number[] }> = {};
    for (const t of plan.tensors) outputs[t] = { data: out[t]!.data as Float32Array, dims: [...out[t]!.dims] };
    calibrator.add(outputs, b.dims[0]!);
  }
  await session.release();
  return calibrator;
}

async function accuracy(session: InferenceSession, items: Item[], spec: InputSpec): Promise<number> {
  let correct = 0;
  for (let i = 0; i < items.length; i += 100) {
    const chunk = items.slice(i, i + 100);
    const b = batchOf(chunk, spec);
    const out = await session.run({ [session.inputNames[0]!]: new Tensor('float32', b.data, b.dims) });
    const logits = out[session.outputNames[0]!]!.data as Float32Array;
    const classes = logits.length / chunk.length;
    chunk.forEach((it, k) => {
      if (argmax(logits.subarray(k * classes, (k + 1) * classes)) === it.label) correct++;
    });
  }
  return correct / items.length;
}

/**
 * Median ms per run of two sessions on the same input, measured in alternating blocks of runs (five
 * blocks each), the first run of every block left out: onnxruntime's pool threads keep spinning for
 * a moment after a run, and on two cores that would slow the other session's next run.
 */
async function sideBySide(
  a: InferenceSession,
  b: InferenceSession,
  dims: number[],
  runs: number,
): Promise<{ a: number; b: number }> {
  const n = dims.reduce((x, y) => x * y, 1);
  const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
  const block = async (s: InferenceSession, count: number, into: number[]) => {
    for (let i = 0; i <= count; i++) {
      const t = performance.now();
      await s.run({ [s.inputNames[0]!]: new Tensor('float32', x, dims) });
      if (i > 0) into.push(performance.now() - t);
    }
  };
  await block(a, 2, []);
  await block(b, 2, []);
  const ta: number[] = [];
  const tb: number[] = [];
  const per = Math.max(1, Math.ceil(runs / 5));
  for (let round = 0; round < 5; round++) {
    await block(a, per, ta);
    await block(b, per, tb);
  }
  return { a: median(ta), b: median(tb) };
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
