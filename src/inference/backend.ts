import type { ModelInspector } from '../registry/model-inspector';
import type { BenchmarkOptions, BenchmarkResult } from './speed-benchmark';

export type { BenchmarkOptions, BenchmarkResult } from './speed-benchmark';

/**
 * What the gateway needs from an inference runtime. The registry and the GraphQL layer only see
 * this interface; onnxruntime-node lives behind it (onnx-backend.ts).
 */
export interface BackendLoadOptions {
  /** Execution providers in order of preference; the first that loads the model is used. */
  providers: string[];
  intraOpNumThreads: number;
  interOpNumThreads: number;
  /** Fold weight-only int8 DequantizeLinear nodes into fp32 weights (never for static int8 graphs). */
  disableQuantQdq: boolean;
  /** Let the intra-op pool spin between the parallel sections of a run (onnxruntime's default). */
  allowSpinning: boolean;
}

export interface BackendLoaded {
  /** The execution provider that loaded the model. */
  provider: string;
  /** Providers that were tried first and failed, with the reason. */
  warnings: string[];
  /** Resident memory the load added (an estimate: the process shares one heap). */
  memoryBytes: number;
  inputs: { name: string; shape: readonly (number | string)[] }[];
  outputs: readonly string[];
}

export interface BackendOutput {
  data: Float32Array;
  dims: number[];
  /** Time the runtime spent running the graph. */
  ms: number;
}

export interface BackendOutputs {
  outputs: Record<string, { data: Float32Array; dims: number[] }>;
  ms: number;
}

export interface InferenceBackend extends ModelInspector {
  readonly name: string;
  /** Providers this runtime was built with (whether they work on this machine is known at load). */
  providers(): Promise<{ name: string; bundled: boolean }[]>;
  load(key: string, file: string, options: BackendLoadOptions): Promise<BackendLoaded>;
  run(
    key: string,
    input: { name: string; data: Float32Array; dims: number[] },
    outputName: string,
  ): Promise<BackendOutput>;
  /** One run returning several named outputs (calibration reads intermediate tensors this way). */
  runOutputs(
    key: string,
    input: { name: string; data: Float32Array; dims: number[] },
    outputNames: string[],
  ): Promise<BackendOutputs>;
  /**
   * Times the loaded model on a fixed input of `dims` (speed-benchmark.ts): warm-up runs, then timed
   * runs, nothing else running on its session meanwhile; the median run time.
   */
  benchmark(
    key: string,
    input: { name: string; dims: number[] },
    outputName: string,
    options: BenchmarkOptions,
  ): Promise<BenchmarkResult>;
  unload(key: string): Promise<void>;
  close(): Promise<void>;
}
