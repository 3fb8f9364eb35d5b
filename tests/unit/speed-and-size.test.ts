import { readFileSync } from 'node:fs';
import { onnx } from 'onnx-proto';
import type { ComparisonRecord } from '../../src/evaluation/comparison.repository';
import { comparisonView, renderReport, speedAndSize, type VersionSize } from '../../src/evaluation/report';
import type { SpeedProfile } from '../../src/evaluation/speed.service';
import { pairedComparison, versionMetrics, type ItemOutcome } from '../../src/evaluation/statistics';
import { countParameters } from '../../src/inference/parameter-count';
import { benchmarkInput, benchmarkRuns, median, throughputBatch } from '../../src/inference/speed-benchmark';
import { FIXTURES } from '../helpers/test-app';

const { TensorProto } = onnx;

/** An initializer of `dims` (its values do not matter to the count). */
const tensor = (name: string, dims: number[], dataType = TensorProto.DataType.FLOAT) =>
  onnx.TensorProto.create({ name, dims, dataType, rawData: new Uint8Array(0) });
const node = (opType: string, input: string[], output: string[]) => onnx.NodeProto.create({ opType, input, output });
const model = (nodes: onnx.INodeProto[], initializer: onnx.ITensorProto[]) =>
  onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: { name: 'g', node: nodes, initializer, output: [{ name: 'logits' }] },
    }),
  ).finish();

describe('the parameter count of an ONNX graph', () => {
  // A convolution (8x1x3x3 + 8) and a linear layer (10x8 + 10): 72 + 8 + 80 + 10 = 170 weights.
  const WEIGHTS = 170;
  const fp32 = model(
    [
      node('Conv', ['input', 'conv.w', 'conv.b'], ['c']),
      node('GlobalAveragePool', ['c'], ['p']),
      node('Flatten', ['p'], ['f']),
      node('Gemm', ['f', 'fc.w', 'fc.b'], ['logits']),
    ],
    [tensor('conv.w', [8, 1, 3, 3]), tensor('conv.b', [8]), tensor('fc.w', [10, 8]), tensor('fc.b', [10])],
  );
  const INT8 = TensorProto.DataType.INT8;

  it('counts every initializer element of a float graph', () => {
    expect(countParameters(fp32)).toBe(WEIGHTS);
  });

  it('counts a weight-only int8 graph as its fp32 source: scales and zero points are not weights', () => {
    const weightOnly = model(
      [
        node('DequantizeLinear', ['conv.wq', 'conv.scale', 'conv.zp'], ['conv.w']),
        node('Conv', ['input', 'conv.w', 'conv.b'], ['c']),
        node('GlobalAveragePool', ['c'], ['p']),
        node('Flatten', ['p'], ['f']),
        node('DequantizeLinear', ['fc.wq', 'fc.scale', 'fc.zp'], ['fc.w']),
        node('Gemm', ['f', 'fc.w', 'fc.b'], ['logits']),
      ],
      [
        tensor('conv.wq', [8, 1, 3, 3], INT8),
        tensor('conv.scale', [8]),
        tensor('conv.zp', [8], INT8),
        tensor('conv.b', [8]),
        tensor('fc.wq', [10, 8], INT8),
        tensor('fc.scale', [10]),
        tensor('fc.zp', [10], INT8),
        tensor('fc.b', [10]),
      ],
    );
    expect(countParameters(weightOnly)).toBe(WEIGHTS);
  });

  it('counts a static int8 QDQ graph as its fp32 source, scalar scales shared by Q and DQ included', () => {
    const qdq = model(
      [
        node('QuantizeLinear', ['input', 'in.scale', 'in.zp'], ['in.q']),
        node('DequantizeLinear', ['in.q', 'in.scale', 'in.zp'], ['in.dq']),
        node('DequantizeLinear', ['conv.wq', 'conv.scale'], ['conv.w']),
        node('Conv', ['in.dq', 'conv.w', 'conv.b'], ['c']),
        node('GlobalAveragePool', ['c'], ['p']),
        node('Flatten', ['p'], ['f']),
        node('DequantizeLinear', ['fc.wq', 'fc.scale', 'fc.zp'], ['fc.w']),
        node('Gemm', ['f', 'fc.w', 'fc.b'], ['logits']),
      ],
      [
        tensor('in.scale', []),
        tensor('in.zp', [], TensorProto.DataType.UINT8),
        tensor('conv.wq', [8, 1, 3, 3], INT8),
        tensor('conv.scale', [8]),
        tensor('conv.b', [8]),
        tensor('fc.wq', [10, 8], INT8),
        tensor('fc.scale', [10]),
        tensor('fc.zp', [10], INT8),
        tensor('fc.b', [10]),
      ],
    );
    expect(countParameters(qdq)).toBe(WEIGHTS);
  });

  it('counts an initializer used as a scale and as a weight, and a scalar as one', () => {
    const shared = model(
      [
        node('DequantizeLinear', ['x', 's'], ['y']),
        node('Mul', ['y', 's'], ['z']),
        node('Add', ['z', 'one'], ['logits']),
      ],
      [tensor('x', [4], INT8), tensor('s', [4]), tensor('one', [])],
    );
    expect(countParameters(shared)).toBe(4 + 4 + 1);
  });

  it('counts the test fixture (a 64x3 linear layer) and refuses bytes that are not ONNX', () => {
    expect(countParameters(readFileSync(`${FIXTURES}/gray8x8-3class.onnx`))).toBe(64 * 3 + 3);
    expect(() => countParameters(readFileSync(`${FIXTURES}/png-renamed.onnx`))).toThrow();
  });
});

describe('the speed benchmark', () => {
  it('measures throughput at batch 32, at a fixed batch size below it, or at what fits 2 s for a slow model', () => {
    expect(throughputBatch(null, 0.4)).toBe(32);
    expect(throughputBatch(1, 0.4)).toBe(1);
    expect(throughputBatch(8, 0.4)).toBe(8);
    expect(throughputBatch(null, 46)).toBe(32);
    expect(throughputBatch(null, 500)).toBe(4);
    expect(throughputBatch(null, 5000)).toBe(1);
  });

  it('uses one deterministic input', () => {
    const a = benchmarkInput([2, 1, 4, 4]);
    expect(a).toHaveLength(32);
    expect(a).toEqual(benchmarkInput([2, 1, 4, 4]));
    expect(new Set(a).size).toBeGreaterThan(16);
  });

  it('warms up, then times at least minRuns, stopping at maxRuns, and returns the median', async () => {
    let calls = 0;
    const once = async () => void calls++;
    const r = await benchmarkRuns(once, { warmupRuns: 2, minRuns: 7, minMs: 0, maxRuns: 100, maxMs: 60_000 });
    expect([r.runs, calls]).toEqual([7, 9]);
    calls = 0;
    // minMs too long to reach: the run cap ends it.
    const capped = await benchmarkRuns(once, { warmupRuns: 0, minRuns: 1, minMs: 60_000, maxRuns: 30, maxMs: 60_000 });
    expect([capped.runs, calls]).toEqual([30, 30]);
    expect(capped.minMs).toBeLessThanOrEqual(capped.medianMs);
    expect(capped.medianMs).toBeLessThanOrEqual(capped.maxMs);
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('speed and size in the summary sentence and the report', () => {
  const speed = (batch1Ms: number): SpeedProfile => ({
    batch1Ms,
    batch1Runs: 20,
    batch32ImagesPerSecond: 32_000 / (batch1Ms * 20),
    batch32Runs: 5,
    throughputBatchSize: 32,
    executionProvider: 'cpu',
    threads: 2,
    input: { width: 28, height: 28, channels: 1, layout: 'NCHW' },
    measuredAt: '2026-12-10T10:00:00.000Z',
  });
  const size = (sizeBytes: number, batch1Ms?: number): VersionSize => ({
    sizeBytes,
    parameters: 1000,
    speed: batch1Ms === undefined ? null : speed(batch1Ms),
  });

  it('says how many times faster or slower, smaller or larger, and nothing about speed unmeasured', () => {
    expect(speedAndSize(size(23_742_704, 5.8), size(1_153_438, 0.41))).toBe('14x faster and 21x smaller');
    expect(speedAndSize(size(83_155, 0.2), size(1_153_438, 0.46))).toBe('2.3x slower and 14x larger');
    expect(speedAndSize(size(1000, 1), size(1020, 1.03))).toBe('about as fast and about the same size');
    expect(speedAndSize(size(2000), size(1000, 1))).toBe('2.0x smaller');
  });

  // Six items of three classes: the candidate gets one more right than the baseline.
  const ITEMS = [0, 1, 2, 0, 1, 2];
  const outcomes = (wrong: number[]): ItemOutcome[] =>
    ITEMS.map((label, i) => {
      const predicted = wrong.includes(i) ? (label + 1) % 3 : label;
      return {
        label,
        predicted,
        probabilities: [0, 1, 2].map((k) => (k === predicted ? 0.8 : 0.1)),
        latencyMs: 90,
      };
    });
  const view = (baseline: VersionSize, candidate: VersionSize) =>
    comparisonView({
      id: 1,
      status: 'SUCCEEDED',
      results: JSON.parse(
        JSON.stringify({
          baseline: { ...versionMetrics(outcomes([1, 2]), ['a', 'b', 'c']), ...baseline },
          candidate: { ...versionMetrics(outcomes([2]), ['a', 'b', 'c']), ...candidate },
          paired: pairedComparison(outcomes([1, 2]), outcomes([2]), ['a', 'b', 'c']),
        }),
      ),
      options: { alpha: 0.05, limit: null, labelMapping: {}, nonInferiorityMargin: null },
      done: 6,
      total: 6,
      elapsedMs: 10,
      error: null,
      createdAt: new Date(0),
      finishedAt: new Date(0),
    } as unknown as ComparisonRecord);
  const names = { model: 'fashion-classifier', baseline: 'v1 (baseline)', candidate: 'v3', dataset: 'fashion-eval@1' };

  it('puts the ratios in the sentence, after the difference and its CI', () => {
    const v = view(size(23_742_704, 5.8), size(1_153_438, 0.41));
    expect(renderReport(v, names, [], 'sentence')).toBe(
      'fashion-classifier v3 is not significantly different from v1 (baseline) (+16.7 pts, 95% CI +0.0..+50.0) ' +
        'and is 14x faster and 21x smaller: accuracy 83.3% vs 66.7%, McNemar p = 1.0 on 6 paired images of fashion-eval@1.',
    );
    // Results stored before speed was measured: only the size.
    const old = view({ sizeBytes: 23_742_704 }, { sizeBytes: 1_153_438 });
    expect(renderReport(old, names, [], 'sentence')).toContain('95% CI +0.0..+50.0) and is 21x smaller: accuracy');
    expect(old.candidateMetrics).toMatchObject({ speed: null, parameters: null, queuedLatencyMsP50: 90 });
    // The wording of a significant difference either way.
    const better = view(size(23_742_704, 5.8), size(1_153_438, 0.41));
    better.results!.paired.verdict = 'CANDIDATE_BETTER';
    expect(renderReport(better, names, [], 'sentence')).toMatch(
      /^fashion-classifier v3 beats v1 \(baseline\) by \+16\.7 pts \(95% CI \+0\.0\.\.\+50\.0\) and is 14x faster and 21x smaller: /,
    );
    better.results!.paired.verdict = 'BASELINE_BETTER';
    expect(renderReport(better, names, [], 'sentence')).toMatch(
      /^fashion-classifier v3 is worse than v1 \(baseline\) by /,
    );
  });

  it('shows speed, throughput, parameters and file size per version, and names the queued latency as such', () => {
    const md = renderReport(view(size(23_742_704, 5.8), size(1_153_438, 0.41)), names, [], 'markdown');
    expect(md).toContain('| speed: batch 1, ms per image (median, in isolation) | 5.80 (20 runs) | 0.410 (20 runs) |');
    expect(md).toContain('| throughput: batch 32, images/s (median, in isolation) | 276 | 3902 |');
    expect(md).toContain('| speed measured on | cpu, 2 threads, input 1x28x28 | cpu, 2 threads, input 1x28x28 |');
    expect(md).toContain('| parameters | 1,000 | 1,000 |');
    expect(md).toContain('| model file | 23.74 MB | 1.15 MB |');
    expect(md).toContain('| queued latency p50 / p95 / p99 (ms) in this run | 90.0 / 90.0 / 90.0 |');
    expect(md).toContain("inside this comparison's batched, queued run");
    const unmeasured = renderReport(view({ sizeBytes: 2 }, { sizeBytes: 1 }), names, [], 'html');
    expect(unmeasured).toContain('<td>parameters</td><td>unknown</td><td>unknown</td>');
    expect(unmeasured).toContain(
      '<td>speed: batch 1, ms per image (median, in isolation)</td><td>not measured</td><td>not measured</td>',
    );
  });
});
