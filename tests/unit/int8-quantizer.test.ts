import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onnx } from 'onnx-proto';
import { graphOps, isWeightOnlyQuantized } from '../../src/inference/graph-ops';
import { SLICE_VALUES, TensorRange, uint8Params } from '../../src/optimization/calibration';
import {
  buildInt8,
  Calibrator,
  int8Refusal,
  planInt8,
  QuantizationRefused,
  type CalibrationMethod,
} from '../../src/optimization/int8';
import { ortRun } from '../helpers/ort';
import { encodeModel, floatOutput, floatTensor, int8Tensor, node } from '../../src/optimization/onnx-model';

/** A seeded generator, so that weights and inputs are the same on every run. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function weights(rand: () => number, dims: number[], scale: number): Float32Array {
  const n = dims.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
}

function model(nodes: onnx.NodeProto[], inits: onnx.TensorProto[], inputDims: number[], opset = 13): Uint8Array {
  const input = onnx.ValueInfoProto.create({
    name: 'input',
    type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: onnx.TensorShapeProto.create({
          dim: inputDims.map((d, i) =>
            i === 0 ? onnx.TensorShapeProto.Dimension.create({ dimParam: 'batch' }) : { dimValue: d },
          ),
        }),
      }),
    }),
  });
  return encodeModel({
    irVersion: 7,
    opsetImport: [{ domain: '', version: opset }],
    graph: { name: 'test', node: nodes, initializer: inits, input: [input], output: [floatOutput('logits')] },
  });
}

/** Conv+Relu, MaxPool, a residual Add, GlobalAveragePool, Flatten and Gemm: a ResNet in miniature. */
function residualNet(seed = 1): Uint8Array {
  const r = random(seed);
  return model(
    [
      node('Conv', ['input', 'w1', 'b1'], ['c1'], 'conv1', { group: 1 }),
      node('Relu', ['c1'], ['r1'], 'relu1'),
      node('MaxPool', ['r1'], ['p1'], 'pool1'),
      node('Conv', ['p1', 'w2', 'b2'], ['c2'], 'conv2'),
      node('Relu', ['c2'], ['r2'], 'relu2'),
      node('Conv', ['r2', 'w3', 'b3'], ['c3'], 'conv3'),
      node('Add', ['c3', 'p1'], ['a1'], 'add1'),
      node('Relu', ['a1'], ['r3'], 'relu3'),
      node('GlobalAveragePool', ['r3'], ['g1'], 'gap'),
      node('Flatten', ['g1'], ['f1'], 'flatten'),
      node('Gemm', ['f1', 'wfc', 'bfc'], ['logits'], 'fc', { transB: 1 }),
    ].map((n) => {
      if (n.opType === 'Conv') n.attribute.push(...ints({ kernel_shape: [3, 3], pads: [1, 1, 1, 1] }));
      if (n.opType === 'MaxPool') n.attribute.push(...ints({ kernel_shape: [2, 2], strides: [2, 2] }));
      return n;
    }),
    [
      floatTensor('w1', [8, 1, 3, 3], weights(r, [8, 1, 3, 3], 0.5)),
      floatTensor('b1', [8], weights(r, [8], 0.1)),
      floatTensor('w2', [8, 8, 3, 3], weights(r, [8, 8, 3, 3], 0.2)),
      floatTensor('b2', [8], weights(r, [8], 0.1)),
      floatTensor('w3', [8, 8, 3, 3], weights(r, [8, 8, 3, 3], 0.2)),
      floatTensor('b3', [8], weights(r, [8], 0.1)),
      floatTensor('wfc', [5, 8], weights(r, [5, 8], 1)),
      floatTensor('bfc', [5], weights(r, [5], 0.1)),
    ],
    [1, 1, 8, 8],
  );
}

/** Two branches (Conv and AveragePool) concatenated, then MatMul and Add. */
function concatNet(seed = 2): Uint8Array {
  const r = random(seed);
  return model(
    [
      node('Conv', ['input', 'w1'], ['c1'], 'conv1'),
      node('AveragePool', ['input'], ['a1'], 'avg', {}),
      node('Concat', ['c1', 'a1'], ['cat'], 'concat', { axis: 1 }),
      node('Relu', ['cat'], ['rc'], 'relu'),
      node('GlobalAveragePool', ['rc'], ['g'], 'gap'),
      node('Flatten', ['g'], ['f'], 'flatten'),
      node('MatMul', ['f', 'wm'], ['logits'], 'matmul'),
    ].map((n) => {
      if (n.opType === 'Conv') n.attribute.push(...ints({ kernel_shape: [3, 3], pads: [1, 1, 1, 1] }));
      if (n.opType === 'AveragePool') n.attribute.push(...ints({ kernel_shape: [3, 3], pads: [1, 1, 1, 1] }));
      return n;
    }),
    [floatTensor('w1', [4, 2, 3, 3], weights(r, [4, 2, 3, 3], 0.5)), floatTensor('wm', [6, 3], weights(r, [6, 3], 1))],
    [1, 2, 6, 6],
  );
}

function ints(attrs: Record<string, number[]>): onnx.AttributeProto[] {
  return Object.entries(attrs).map(([name, values]) =>
    onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: values }),
  );
}

async function run(bytes: Uint8Array, data: Float32Array, dims: number[]): Promise<Float32Array> {
  return (await ortRun(bytes, { name: 'input', data, dims }, ['logits'])).logits!;
}

/** Calibrates `source` on `n` seeded inputs run through the calibration graph in onnxruntime. */
async function quantize(source: Uint8Array, dims: number[], method: CalibrationMethod = 'MINMAX', n = 64) {
  const plan = planInt8(source);
  const calibrator = new Calibrator(plan);
  const r = random(99);
  for (let i = 0; i < n; i += 16) {
    const batch = [16, ...dims.slice(1)];
    const out = await ortRun(plan.calibrationModel, { name: plan.inputName, data: weights(r, batch, 1), dims: batch }, [
      ...plan.tensors,
    ]);
    const outputs: Record<string, { data: Float32Array; dims: number[] }> = {};
    for (const t of plan.tensors) outputs[t] = { data: out[t]!, dims: [] };
    calibrator.add(outputs, 16);
  }
  return { plan, result: buildInt8(plan, calibrator, method) };
}

/** The ops onnxruntime actually runs, from the optimized graph it writes out. */
async function fusedOps(bytes: Uint8Array): Promise<Set<string>> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'modelgate-int8-'));
  try {
    const file = path.join(dir, 'optimized.onnx');
    await ortRun(bytes, { name: 'input', data: new Float32Array(64), dims: [1, 1, 8, 8] }, ['logits'], {
      optimizedModelFilePath: file,
    });
    return await graphOps(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the int8 static quantizer', () => {
  const cases = [
    { name: 'Conv, Relu, MaxPool, residual Add, GlobalAveragePool, Gemm', make: residualNet, dims: [1, 8, 8], c: 1 },
    { name: 'Conv and AveragePool branches, Concat, MatMul', make: concatNet, dims: [2, 6, 6], c: 2 },
  ];

  // Stated tolerance: each output within 5% of the largest fp32 output magnitude of its batch.
  it.each(cases)('$name: onnxruntime loads the QDQ graph and its outputs stay within 5% of fp32', async (c) => {
    const source = c.make();
    const { result } = await quantize(source, [16, ...c.dims]);
    const dims = [32, ...c.dims];
    const x = weights(random(7), dims, 1);
    const fp32 = await run(source, x.slice(), dims);
    const int8 = await run(result.model, x, dims);
    const scale = Math.max(...fp32.map(Math.abs));
    const worst = Math.max(...fp32.map((v, i) => Math.abs(v - int8[i]!)));
    expect(worst).toBeLessThanOrEqual(0.05 * scale);
    // Not a copy of the fp32 graph: the weights are int8 now (float32 is left for scales only).
    const inits = onnx.ModelProto.decode(result.model).graph!.initializer!;
    const count = (type: number) =>
      inits
        .filter((t) => t.dataType === type)
        .reduce((n, t) => n + t.dims!.reduce<number>((a, d) => a * Number(d), 1), 0);
    expect(count(onnx.TensorProto.DataType.INT8)).toBeGreaterThan(4 * count(onnx.TensorProto.DataType.FLOAT));
    expect(result.quantizedNodes).toBeGreaterThan(3);
  });

  it('writes graphs that onnxruntime fuses into integer kernels, and that are served with them', async () => {
    const { result } = await quantize(residualNet(), [16, 1, 8, 8]);
    const ops = await fusedOps(result.model);
    expect([...ops]).toEqual(expect.arrayContaining(['QLinearConv', 'QLinearAdd', 'QGemm']));
    // Session options follow the graph: never disable_quant_qdq for a static int8 graph.
    const written = mkdtempSync(path.join(os.tmpdir(), 'modelgate-int8-'));
    try {
      const file = path.join(written, 'int8.onnx');
      writeFileSync(file, result.model);
      expect(isWeightOnlyQuantized(await graphOps(file))).toBe(false);
    } finally {
      rmSync(written, { recursive: true, force: true });
    }
  });

  it('folds weight-only DequantizeLinear back to fp32 before calibrating', async () => {
    // The fp32 residual net with its first conv's weights stored as int8 + per-channel scales.
    const r = random(3);
    const q = Int8Array.from({ length: 72 }, () => Math.round((r() * 2 - 1) * 127));
    const scales = Float32Array.from({ length: 8 }, (_, c) => 0.001 * (c + 1));
    const source = onnx.ModelProto.decode(residualNet());
    const graph = source.graph!;
    graph.initializer = graph.initializer!.filter((t) => t.name !== 'w1');
    graph.initializer.push(
      int8Tensor('w1_q', [8, 1, 3, 3], q),
      floatTensor('w1_s', [8], scales),
      int8Tensor('w1_z', [8], new Int8Array(8)),
    );
    graph.node!.unshift(node('DequantizeLinear', ['w1_q', 'w1_s', 'w1_z'], ['w1'], 'dq', { axis: 0 }));
    const weightOnly = encodeModel(source);
    const plan = planInt8(weightOnly);
    expect(plan.foldedDequantize).toBe(1);
    const dims = [4, 1, 8, 8];
    const x = weights(random(5), dims, 1);
    const folded = await run(plan.calibrationModel, x.slice(), dims);
    const original = await run(weightOnly, x, dims);
    folded.forEach((v, i) => expect(v).toBeCloseTo(original[i]!, 5));
  });

  it('refuses an already statically quantized graph', async () => {
    const { result } = await quantize(residualNet(), [16, 1, 8, 8]);
    expect(() => planInt8(result.model)).toThrow(QuantizationRefused);
    try {
      planInt8(result.model);
    } catch (e) {
      expect((e as QuantizationRefused).reason).toBe('ALREADY_STATIC');
    }
  });

  it('refuses operators it cannot quantize safely, listing them, and old opsets', () => {
    const lstm = int8Refusal(new Set(['Conv', 'LSTM', 'If', 'Relu']));
    expect(lstm?.reason).toBe('UNSUPPORTED_OPERATORS');
    expect(lstm?.operators).toEqual(['If', 'LSTM']);
    expect(lstm?.message).toMatch(/If, LSTM/);
    expect(int8Refusal(new Set(['QLinearConv', 'Conv']))?.reason).toBe('ALREADY_STATIC');
    expect(int8Refusal(new Set(['Relu', 'Softmax']))?.reason).toBe('UNSUPPORTED_OPERATORS');
    expect(int8Refusal(new Set(['Conv', 'DequantizeLinear', 'Relu']))).toBeNull();

    const custom = onnx.ModelProto.decode(residualNet());
    custom.graph!.node![1]!.domain = 'com.example';
    expect(() => planInt8(encodeModel(custom))).toThrow(/com\.example:Relu/);
    const old = onnx.ModelProto.decode(residualNet());
    old.opsetImport[0]!.version = 11;
    expect(() => planInt8(encodeModel(old))).toThrow(/opset 11/);
    expect(() => planInt8(Uint8Array.of(1, 2, 3))).toThrow(QuantizationRefused);
  });
});

describe('calibration ranges', () => {
  it('MinMax keeps the extremes; percentile clips a rare outlier; entropy stays inside the range', () => {
    const r = new TensorRange();
    const values = Float32Array.from({ length: 100_000 }, (_, i) => (i % 1000) / 1000);
    values[0] = 50; // one outlier
    r.add(values.subarray(0, 50_000));
    r.add(values.subarray(50_000)); // a second batch: the histogram keeps its range
    expect(r.range('MINMAX')).toEqual({ min: 0, max: 50 });
    const p = r.range('PERCENTILE');
    expect(p.min).toBeCloseTo(0);
    expect(p.max).toBeGreaterThan(0.99);
    expect(p.max).toBeLessThan(1.1);
    const e = r.range('ENTROPY');
    expect(e.max).toBeGreaterThan(0.5);
    expect(e.max).toBeLessThanOrEqual(50);
  });

  it('grows its histogram when a later batch is wider, without losing counts', () => {
    const r = new TensorRange();
    r.add(Float32Array.from({ length: 1000 }, (_, i) => i / 1000));
    r.add(Float32Array.from({ length: 1000 }, (_, i) => -i / 100));
    expect(r.range('MINMAX')).toEqual({ min: Math.fround(-9.99), max: Math.fround(0.999) });
    const p = r.range('PERCENTILE');
    expect(p.min).toBeLessThan(-9.9);
    expect(p.max).toBeGreaterThan(0.99);
  });

  it('fills its histograms a slice at a time (the job, between turns of the event loop) exactly as at once', async () => {
    const rand = random(11);
    const batches = [3.5, 80, 0.01].map((scale) =>
      Float32Array.from({ length: 2 * SLICE_VALUES + 123 }, () => (rand() * 2 - 0.7) * scale),
    );
    const atOnce = new TensorRange();
    const sliced = new TensorRange();
    let pauses = 0;
    for (const b of batches) {
      atOnce.add(b);
      await sliced.addInSlices(b, async () => void pauses++);
    }
    // Two pauses while finding the range and two while counting, per batch of just over two slices.
    expect(pauses).toBe(batches.length * 4);
    for (const method of ['MINMAX', 'PERCENTILE', 'ENTROPY'] as const)
      expect(sliced.range(method)).toEqual(atOnce.range(method));
    // A non-finite value is refused before anything is counted, as add() refuses it.
    const bad = new Float32Array(SLICE_VALUES * 2).fill(1);
    bad[SLICE_VALUES + 5] = Infinity;
    await expect(sliced.addInSlices(bad, async () => undefined)).rejects.toThrow(/non-finite/);
    expect(sliced.range('PERCENTILE')).toEqual(atOnce.range('PERCENTILE'));
  });

  it('uint8 parameters represent zero exactly and clip negatives of a Relu output', () => {
    expect(uint8Params({ min: 0, max: 2.55 })).toEqual({ scale: Math.fround(0.01), zeroPoint: 0 });
    const { scale, zeroPoint } = uint8Params({ min: -1, max: 3 });
    expect(zeroPoint).toBe(Math.round(1 / scale));
    expect(uint8Params({ min: 0, max: 0 })).toEqual({ scale: 1, zeroPoint: 0 });
  });
});
