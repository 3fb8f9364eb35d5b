/**
 * How a version's speed is measured, shared by the inference worker (onnx-worker.cjs) and the
 * in-process backend of the benchmarks: one fixed input, warm-up runs, then timed runs until there
 * are at least `minRuns` AND at least `minMs` have passed (or a cap is reached); the median run time
 * is the result. Nothing else runs on the session meanwhile (the worker handles one message at a time).
 */
export interface BenchmarkOptions {
  /** Untimed runs first: the first run at a new shape allocates and plans. */
  warmupRuns: number;
  minRuns: number;
  minMs: number;
  /** Caps: timing stops at either (with at least one timed run). */
  maxRuns: number;
  maxMs: number;
}

export interface BenchmarkResult {
  /** Median wall time of one run, in ms. */
  medianMs: number;
  /** Timed runs (after the warm-up). */
  runs: number;
  /** Fastest and slowest timed run, in ms. */
  minMs: number;
  maxMs: number;
}

/** Batch 1: latency, from many short runs. */
export const BATCH1_BENCHMARK: BenchmarkOptions = {
  warmupRuns: 3,
  minRuns: 20,
  minMs: 1000,
  maxRuns: 2000,
  maxMs: 3000,
};
/** Batch 32: throughput, from fewer long runs. */
export const BATCH32_BENCHMARK: BenchmarkOptions = {
  warmupRuns: 1,
  minRuns: 5,
  minMs: 1000,
  maxRuns: 200,
  maxMs: 10_000,
};
/** The batch size throughput is measured at (or the graph's fixed batch size, when smaller). */
export const THROUGHPUT_BATCH = 32;
/**
 * A model so slow that a batch of 32 would run longer than this (judged by its batch-1 median) is
 * measured at the largest batch that fits: the worker does nothing else meanwhile.
 */
export const THROUGHPUT_RUN_BUDGET_MS = 2000;

/** The batch size to measure throughput at: 32, or less for a fixed batch size or a very slow model. */
export function throughputBatch(fixedBatch: number | null, batch1Ms: number): number {
  const fits = Math.max(1, Math.floor(THROUGHPUT_RUN_BUDGET_MS / Math.max(batch1Ms, 1e-3)));
  return Math.min(THROUGHPUT_BATCH, fixedBatch ?? THROUGHPUT_BATCH, fits);
}

/** A deterministic input tensor: the same values on every machine and every run, roughly normalized pixels. */
export function benchmarkInput(dims: readonly number[]): Float32Array {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.sin(i * 12.9898) * 1.5;
  return data;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs `once` as the options say and returns the median of the timed runs. */
export async function benchmarkRuns(once: () => Promise<unknown>, o: BenchmarkOptions): Promise<BenchmarkResult> {
  const begun = performance.now();
  // The warm-up counts against the cap too, so a very slow graph is not warmed up for minutes.
  for (let i = 0; i < o.warmupRuns && (i === 0 || performance.now() - begun < o.maxMs / 2); i++) await once();
  const times: number[] = [];
  const started = performance.now();
  for (;;) {
    const t = performance.now();
    await once();
    times.push(performance.now() - t);
    const elapsed = performance.now() - started;
    if ((times.length >= o.minRuns && elapsed >= o.minMs) || times.length >= o.maxRuns || elapsed >= o.maxMs) break;
  }
  return { medianMs: median(times), runs: times.length, minMs: Math.min(...times), maxMs: Math.max(...times) };
}
