import { InferenceSession, Tensor, listSupportedBackends } from 'onnxruntime-node';
import type {
  BackendLoaded,
  BackendLoadOptions,
  BackendOutput,
  BackendOutputs,
  BenchmarkOptions,
  BenchmarkResult,
  InferenceBackend,
} from '../inference/backend';
import { countParameters } from '../inference/parameter-count';
import { benchmarkInput, benchmarkRuns } from '../inference/speed-benchmark';
import { readFile } from 'node:fs/promises';
import { InvalidModelFileError, type GraphSignature, type TensorInfo } from '../registry/model-inspector';

/** The session options the gateway's worker (src/inference/onnx-worker.cjs) uses, for in-process baselines. */
export function sessionOptions(o: {
  intraOpNumThreads: number;
  disableQuantQdq: boolean;
  allowSpinning?: boolean;
  provider?: string;
}): InferenceSession.SessionOptions {
  return {
    executionProviders: [o.provider ?? 'cpu'],
    intraOpNumThreads: o.intraOpNumThreads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    extra: {
      session: {
        intra_op: { allow_spinning: o.allowSpinning === false ? '0' : '1' },
        ...(o.disableQuantQdq ? { disable_quant_qdq: '1' } : {}),
      },
    },
  };
}

/**
 * BENCHMARK CONTRAST ONLY: onnxruntime-node on the main thread, as a gateway without worker threads
 * would run it. `session.run()` blocks the event loop for the whole inference, so every other
 * request waits; the benchmark plugs this into createApp({ backend }) to show what that costs.
 */
export class MainThreadBackend implements InferenceBackend {
  readonly name = 'onnxruntime-node (main thread)';
  private readonly sessions = new Map<string, InferenceSession>();

  async providers(): Promise<{ name: string; bundled: boolean }[]> {
    return listSupportedBackends();
  }

  /** As the worker's inspect (src/inference/onnx-worker.cjs), on this thread. */
  async inspect(file: string): Promise<GraphSignature> {
    let session: InferenceSession;
    try {
      session = await InferenceSession.create(file, {
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'disabled',
      });
    } catch (e) {
      throw new InvalidModelFileError(
        `not a loadable ONNX graph: ${String(e instanceof Error ? e.message : e)
          .split('\n')[0]!
          .trim()}`,
      );
    }
    const describe = (m: InferenceSession.ValueMetadata): TensorInfo =>
      m.isTensor
        ? {
            name: m.name,
            type: m.type,
            shape: m.shape.map((d) => (typeof d === 'number' ? (d >= 0 ? d : '?') : d || '?')),
          }
        : { name: m.name, type: null, shape: [] };
    try {
      return {
        inputs: session.inputMetadata.map(describe),
        outputs: session.outputMetadata.map(describe),
        parameters: await readFile(file)
          .then((bytes) => countParameters(bytes))
          .catch(() => null),
      };
    } finally {
      await session.release();
    }
  }

  async load(key: string, file: string, options: BackendLoadOptions): Promise<BackendLoaded> {
    const session = await InferenceSession.create(
      file,
      sessionOptions({
        intraOpNumThreads: options.intraOpNumThreads,
        disableQuantQdq: options.disableQuantQdq,
        allowSpinning: options.allowSpinning,
      }),
    );
    await this.sessions.get(key)?.release();
    this.sessions.set(key, session);
    return {
      provider: 'cpu',
      warnings: [],
      memoryBytes: 0,
      inputs: session.inputMetadata.map((m) => ({ name: m.name, shape: m.isTensor ? m.shape : [] })),
      outputs: session.outputNames,
    };
  }

  async run(
    key: string,
    input: { name: string; data: Float32Array; dims: number[] },
    outputName: string,
  ): Promise<BackendOutput> {
    const { outputs, ms } = await this.runOutputs(key, input, [outputName]);
    return { ...outputs[outputName]!, ms };
  }

  async runOutputs(
    key: string,
    input: { name: string; data: Float32Array; dims: number[] },
    outputNames: string[],
  ): Promise<BackendOutputs> {
    const session = this.sessions.get(key);
    if (!session) throw new Error(`model ${key} is not loaded`);
    const started = performance.now();
    const result = await session.run({ [input.name]: new Tensor('float32', input.data, input.dims) }, outputNames);
    const outputs: BackendOutputs['outputs'] = {};
    for (const name of outputNames) {
      const out = result[name]!;
      outputs[name] = { data: new Float32Array(out.data as Float32Array), dims: [...out.dims] };
    }
    return { outputs, ms: performance.now() - started };
  }

  async benchmark(
    key: string,
    input: { name: string; dims: number[] },
    outputName: string,
    options: BenchmarkOptions,
  ): Promise<BenchmarkResult> {
    const session = this.sessions.get(key);
    if (!session) throw new Error(`model ${key} is not loaded`);
    const feeds = { [input.name]: new Tensor('float32', benchmarkInput(input.dims), input.dims) };
    return benchmarkRuns(() => session.run(feeds, [outputName]), options);
  }

  async unload(key: string): Promise<void> {
    const s = this.sessions.get(key);
    this.sessions.delete(key);
    await s?.release();
  }

  async close(): Promise<void> {
    for (const key of [...this.sessions.keys()]) await this.unload(key);
  }
}
