import { Batcher, type BatchRunner } from '../../src/inference/batcher';
import { graphOps, isWeightOnlyQuantized } from '../../src/inference/graph-ops';
import { probabilities, topK } from '../../src/inference/postprocess';
import { fixture } from '../helpers/test-app';

/** A model that outputs [sum, first value] per input row of 3 values. */
const runner =
  (calls: number[]): BatchRunner =>
  async (input, n) => {
    calls.push(n);
    const out = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) {
      const row = input.subarray(i * 3, i * 3 + 3);
      out[i * 2] = row[0]! + row[1]! + row[2]!;
      out[i * 2 + 1] = row[0]!;
    }
    return { data: out, dims: [n, 2], ms: 1 };
  };

describe('dynamic batching', () => {
  it('groups concurrent requests up to maxBatchSize and gives each its own row', async () => {
    const calls: number[] = [];
    const b = new Batcher(runner(calls), 4, 5);
    const results = await Promise.all(Array.from({ length: 9 }, (_, i) => b.submit(new Float32Array([i, 1, 1]))));
    expect(calls).toEqual([4, 4, 1]);
    results.forEach((r, i) => {
      expect([...r.output]).toEqual([i + 2, i]);
      expect(r.dims).toEqual([2]);
    });
    expect(results.map((r) => r.batchSize)).toEqual([4, 4, 4, 4, 4, 4, 4, 4, 1]);
  });

  it('runs a request alone after the queue delay, and one at a time with a fixed batch of 1', async () => {
    const calls: number[] = [];
    const b = new Batcher(runner(calls), 1, 0);
    await Promise.all([b.submit(new Float32Array([1, 2, 3])), b.submit(new Float32Array([4, 5, 6]))]);
    expect(calls).toEqual([1, 1]);
    const single = await new Batcher(runner(calls), 8, 1).submit(new Float32Array([1, 1, 1]));
    expect(single.batchSize).toBe(1);
  });

  it('fails every request of a batch whose run fails or returns the wrong number of rows', async () => {
    const failing = new Batcher(async () => Promise.reject(new Error('boom')), 4, 1);
    await expect(
      Promise.all([failing.submit(new Float32Array(3)), failing.submit(new Float32Array(3))]),
    ).rejects.toThrow('boom');
    const wrong = new Batcher(async () => ({ data: new Float32Array(2), dims: [1, 2], ms: 0 }), 4, 1);
    const both = [wrong.submit(new Float32Array(3)), wrong.submit(new Float32Array(3))];
    for (const p of both) await expect(p).rejects.toThrow('returned 1 rows for a batch of 2');
  });
});

describe('graph inspection and scores', () => {
  it('reads operator types from the ONNX wire format', async () => {
    expect([...(await graphOps(fixture('gray8x8-3class.onnx')))].sort()).toEqual(['Flatten', 'Gemm']);
    await expect(graphOps(fixture('png-renamed.onnx'))).rejects.toThrow();
  });

  it('tells weight-only int8 graphs from statically quantized ones', () => {
    expect(isWeightOnlyQuantized(new Set(['DequantizeLinear', 'Conv', 'Gemm']))).toBe(true);
    expect(isWeightOnlyQuantized(new Set(['QuantizeLinear', 'DequantizeLinear', 'Conv']))).toBe(false);
    expect(isWeightOnlyQuantized(new Set(['QLinearConv', 'DequantizeLinear']))).toBe(false);
    expect(isWeightOnlyQuantized(new Set(['Conv', 'Gemm']))).toBe(false);
  });

  it('turns logits into probabilities and ranks them', () => {
    const p = probabilities(new Float32Array([1000, 1000, 0]), 'logits');
    expect([...p].map((v) => +v.toFixed(6))).toEqual([0.5, 0.5, 0]);
    expect(topK(p, ['a', 'b', 'c'], 2)).toEqual([
      { index: 0, label: 'a', probability: 0.5 },
      { index: 1, label: 'b', probability: 0.5 },
    ]);
    expect(
      topK(probabilities(new Float32Array([0.2, 0.7, 0.1]), 'probabilities'), ['a', 'b', 'c'], 9).map((s) => s.label),
    ).toEqual(['b', 'a', 'c']);
  });
});
