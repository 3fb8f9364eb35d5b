import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { argmin } from '../common/arrays';
import { DomainError, internalError, modelNotReady, timedOut } from '../common/errors';
import type { Logger } from '../common/logger';
import { InvalidModelFileError, type GraphSignature } from '../registry/model-inspector';
import type {
  BackendLoaded,
  BackendLoadOptions,
  BackendOutput,
  BackendOutputs,
  BenchmarkOptions,
  BenchmarkResult,
  InferenceBackend,
} from './backend';

/** What an entry of onnxruntime-node's `executionProviders` session option may be. */
export type ExecutionProviderConfig = string | { name: string; deviceId?: number };

/**
 * The `executionProviders` entry for one provider. onnxruntime-node 1.30's binding
 * (js/node/src/session_options_helper.cc) reads only `deviceId` for cuda and tensorrt: gpu_mem_limit,
 * the TensorRT engine cache and other CUDA/TensorRT options cannot be set from Node. The webgpu
 * entry must not carry `deviceId` (the binding refuses options it does not know for it); it picks
 * Dawn's default adapter. The CPU provider takes no options.
 */
export function executionProviderConfig(provider: string, gpu: { cudaDeviceId: number }): ExecutionProviderConfig {
  if (provider === 'cuda' || provider === 'tensorrt') return { name: provider, deviceId: gpu.cudaDeviceId };
  return provider;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/** One worker thread and the requests waiting on it. */
class WorkerHandle {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  readonly keys = new Set<string>();
  dead = false;
  /** Closing on purpose: its exit is not a crash. */
  private closing = false;

  constructor(
    file: string,
    private readonly logger: Logger,
    private readonly onExit: (w: WorkerHandle) => void,
    nice: number,
  ) {
    this.worker = new Worker(file, { workerData: { nice } });
    this.worker.on('message', (msg: { id: number; ok: boolean; result?: unknown; error?: string }) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new Error(msg.error));
    });
    const fail = (reason: string) => {
      if (this.dead) return;
      this.abandon(internalError(`the inference worker stopped: ${reason}`));
      this.onExit(this);
    };
    this.worker.on('error', (e) => {
      this.logger.error({ err: e }, 'inference worker crashed');
      fail(e.message);
    });
    this.worker.on('exit', (code) => {
      if (!this.closing) fail(`exit code ${code}`);
    });
  }

  get load(): number {
    return this.pending.size;
  }

  call<T>(msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.dead) return Promise.reject(internalError('the inference worker stopped'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...msg, id }, transfer);
    });
  }

  /**
   * Gives up on a worker stuck in a run: everything waiting on it fails with `error`, its models are
   * lost (they load again elsewhere on next use), and it is asked to end once the run returns. It is
   * not terminated: terminating a thread inside onnxruntime's run() aborts the whole process.
   */
  retire(error: DomainError): void {
    if (this.dead) return;
    this.abandon(error);
    this.worker.postMessage({ type: 'close', id: 0 });
    // A run that never returns must not keep the process alive either.
    this.worker.unref();
    this.onExit(this);
  }

  /** Asks the worker to finish what it was sent, release its sessions and end; terminates it only if it does not. */
  async close(timeoutMs = 10_000): Promise<void> {
    if (this.dead) return;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    const asked = this.call({ type: 'close' }).catch(() => undefined);
    this.closing = true;
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
    if ((await Promise.race([asked.then(() => exited), timer])) === 'timeout') await this.worker.terminate();
    this.abandon(modelNotReady('the inference runtime is stopping'));
  }

  /** Marks the worker dead and fails everything still waiting on it. */
  private abandon(error: DomainError): void {
    this.dead = true;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }
}

/**
 * onnxruntime-node in worker threads, so that a running model never blocks the event loop that
 * serves GraphQL. Each model lives in one worker (sessions are not shared); a model goes to the
 * worker holding the fewest. A worker that dies fails its requests and forgets its models, which
 * then load again on next use.
 */
export class OnnxBackend implements InferenceBackend {
  readonly name = 'onnxruntime-node';
  private readonly workers: (WorkerHandle | null)[];
  private readonly file = path.join(__dirname, 'onnx-worker.cjs');
  private closed = false;

  constructor(
    workers: number,
    private readonly logger: Logger,
    /** Told when a worker dies, with the models it held (they must be loaded again). */
    private readonly onLost: (keys: string[]) => void = () => undefined,
    private readonly options: { nice?: number; runTimeoutMs?: number; cudaDeviceId?: number } = {},
  ) {
    this.workers = Array.from({ length: Math.max(1, workers) }, () => null);
  }

  private worker(index: number): WorkerHandle {
    let w = this.workers[index];
    if (!w || w.dead) {
      w = new WorkerHandle(
        this.file,
        this.logger,
        (dead) => {
          if (this.workers[index] === dead) this.workers[index] = null;
          if (!this.closed && dead.keys.size) this.onLost([...dead.keys]);
        },
        this.options.nice ?? 0,
      );
      this.workers[index] = w;
    }
    return w;
  }

  private holder(key: string): WorkerHandle | null {
    return this.workers.find((w) => w && !w.dead && w.keys.has(key)) ?? null;
  }

  async providers(): Promise<{ name: string; bundled: boolean }[]> {
    return this.worker(0).call({ type: 'providers' });
  }

  async inspect(file: string): Promise<GraphSignature> {
    const counts = this.workers.map((w) => (w && !w.dead ? w.load : 0));
    const r = await this.worker(argmin(counts)).call<{ signature?: GraphSignature; error?: string }>({
      type: 'inspect',
      file,
    });
    if (r.error !== undefined) throw new InvalidModelFileError(r.error);
    return r.signature!;
  }

  async load(key: string, file: string, options: BackendLoadOptions): Promise<BackendLoaded> {
    let target = this.holder(key);
    if (!target) {
      const counts = this.workers.map((w) => (w && !w.dead ? w.keys.size : 0));
      target = this.worker(argmin(counts));
    }
    const result = await target.call<{
      provider: string;
      warnings: string[];
      rssDelta: number;
      inputs: BackendLoaded['inputs'];
      outputs: string[];
    }>({
      type: 'load',
      key,
      file,
      ...options,
      // Tried one at a time in this order: the worker reports the first that creates the session.
      providers: options.providers.map((p) => ({
        name: p,
        config: executionProviderConfig(p, { cudaDeviceId: this.options.cudaDeviceId ?? 0 }),
      })),
    });
    target.keys.add(key);
    return {
      provider: result.provider,
      warnings: result.warnings,
      memoryBytes: result.rssDelta,
      inputs: result.inputs,
      outputs: result.outputs,
    };
  }

  run(
    key: string,
    input: { name: string; data: Float32Array; dims: number[] },
    outputName: string,
  ): Promise<BackendOutput> {
    return this.call(key, input, { type: 'run', outputName });
  }

  runOutputs(
    key: string,
    input: { name: string; data: Float32Array; dims: number[] },
    outputNames: string[],
  ): Promise<BackendOutputs> {
    return this.call(key, input, { type: 'runOutputs', outputNames });
  }

  benchmark(
    key: string,
    input: { name: string; dims: number[] },
    outputName: string,
    options: BenchmarkOptions,
  ): Promise<BenchmarkResult> {
    const w = this.holder(key);
    if (!w) throw modelNotReady(`model ${key} is not loaded`);
    const limit = this.options.runTimeoutMs;
    // Each run may take up to INFERENCE_TIMEOUT_S, and the timed runs stop after options.maxMs.
    return this.deadline(
      w,
      key,
      w.call<BenchmarkResult>({ type: 'benchmark', key, inputName: input.name, dims: input.dims, outputName, options }),
      limit ? options.maxMs + 2 * limit : undefined,
    );
  }

  private async call<T>(
    key: string,
    input: { name: string; data: Float32Array; dims: number[] },
    msg: Record<string, unknown>,
  ): Promise<T> {
    const w = this.holder(key);
    if (!w) throw modelNotReady(`model ${key} is not loaded`);
    // The input buffer is transferred, not copied: callers hand over a tensor they no longer need.
    const run = w.call<T>({ ...msg, key, inputName: input.name, data: input.data, dims: input.dims }, [
      input.data.buffer as ArrayBuffer,
    ]);
    return this.deadline(w, key, run, this.options.runTimeoutMs);
  }

  /** `run`, or TIMEOUT after `limit` ms (then the worker is replaced: a run cannot be stopped). */
  private async deadline<T>(w: WorkerHandle, key: string, run: Promise<T>, limit: number | undefined): Promise<T> {
    if (!limit) return run;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = timedOut(
          `inference did not finish within INFERENCE_TIMEOUT_S (${limit / 1000} s); the models of its worker load again on next use`,
        );
        this.logger.error(
          { key, timeoutMs: limit, models: [...w.keys] },
          'inference run timed out: replacing its worker',
        );
        w.retire(error);
        reject(error);
      }, limit);
    });
    try {
      return await Promise.race([run, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  async unload(key: string): Promise<void> {
    const w = this.holder(key);
    if (!w) return;
    w.keys.delete(key);
    await w.call({ type: 'unload', key });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w?.close()));
  }
}
