import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { DomainError, ErrorCode, internalError, modelNotReady } from '../../common/errors';
import type { Logger } from '../../common/logger';
import type { InputSpec } from '../../registry/input-spec';
import type { ImageLimits } from './decode';
import { loadPngDecoder } from './png';
import { preprocessSmallPng, type Preprocessed } from './preprocess';
import type { PreprocessReply, PreprocessRequest } from './preprocess-job';

/**
 * Simple PNGs up to this many pixels are preprocessed on the gateway's own thread: at 128x128 the
 * whole job (fast-png decode, conversion, resize, normalization) takes well under a millisecond,
 * less than handing it to another thread and back. Everything else goes to the pool.
 */
export const INLINE_MAX_PIXELS = 128 * 128;

interface Job {
  request: Omit<PreprocessRequest, 'id'>;
  transfer: ArrayBuffer[];
  resolve: (p: Preprocessed) => void;
  reject: (e: Error) => void;
}

/** One preprocessing thread and the job it runs (one at a time). */
class PoolWorker {
  readonly worker: Worker;
  job: (Job & { id: number }) | null = null;
  dead = false;

  constructor(file: string, nice: number, logger: Logger, onDone: (w: PoolWorker) => void) {
    this.worker = new Worker(file, { workerData: { nice } });
    this.worker.on('message', (reply: PreprocessReply | { id: 0; note: string }) => {
      if ('note' in reply) return void logger.warn(reply.note);
      const job = this.job;
      if (!job || job.id !== reply.id) return;
      this.job = null;
      if (reply.ok) job.resolve({ data: reply.data, dims: reply.dims, timings: reply.timings, source: reply.source });
      else job.reject(new DomainError(reply.error.code as ErrorCode, reply.error.message, reply.error.details));
      onDone(this);
    });
    const fail = (reason: string) => {
      if (this.dead) return;
      this.dead = true;
      logger.error({ reason }, 'a preprocessing thread stopped');
      this.job?.reject(internalError(`the preprocessing thread stopped: ${reason}`));
      this.job = null;
      onDone(this);
    };
    this.worker.on('error', (e) => fail(e.message));
    this.worker.on('exit', (code) => fail(`exit code ${code}`));
  }
}

/**
 * Image bytes → the input tensor a version expects, off the gateway's thread: PREPROCESS_WORKERS
 * threads at INFERENCE_NICE decode (sharp or fast-png), convert, resize and normalize, one image
 * each at a time, so a 50-megapixel image costs the event loop nothing and at most that many
 * images are decoded at once (a bounded amount of memory). Jobs wait in order of arrival; how many
 * may wait is bounded upstream (InferenceService's admission).
 */
export class ImagePool {
  private readonly workers: PoolWorker[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  private readonly file = path.join(__dirname, 'preprocess-worker.cjs');

  private constructor(private readonly opts: { workers: number; nice: number; limits: ImageLimits; logger: Logger }) {}

  static async create(opts: {
    workers: number;
    nice: number;
    limits: ImageLimits;
    logger: Logger;
  }): Promise<ImagePool> {
    await loadPngDecoder();
    return new ImagePool(opts);
  }

  get waiting(): number {
    return this.queue.length;
  }

  preprocess(bytes: Buffer, spec: InputSpec): Promise<Preprocessed> {
    try {
      const inline = preprocessSmallPng(bytes, spec, this.opts.limits, INLINE_MAX_PIXELS);
      if (inline) return Promise.resolve(inline);
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.closed) return Promise.reject(modelNotReady('the gateway is stopping'));
    // A copy moves to the thread: the caller may use its bytes again (a comparison scores each image with both versions).
    const view = new Uint8Array(bytes);
    return new Promise<Preprocessed>((resolve, reject) => {
      this.queue.push({
        request: { bytes: view, spec, limits: this.opts.limits },
        transfer: [view.buffer as ArrayBuffer],
        resolve,
        reject,
      });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length) {
      const worker = this.idleWorker();
      if (!worker) return;
      const job = this.queue.shift()!;
      worker.job = { ...job, id: this.nextId++ };
      worker.worker.postMessage({ ...job.request, id: worker.job.id } satisfies PreprocessRequest, job.transfer);
    }
  }

  private idleWorker(): PoolWorker | null {
    for (let i = this.workers.length - 1; i >= 0; i--) if (this.workers[i]!.dead) this.workers.splice(i, 1);
    const idle = this.workers.find((w) => !w.job);
    if (idle) return idle;
    if (this.workers.length >= this.opts.workers) return null;
    const w = new PoolWorker(this.file, this.opts.nice, this.opts.logger, () => this.dispatch());
    this.workers.push(w);
    return w;
  }

  /** Fails what waits, lets running jobs finish (a thread inside sharp must not be terminated), then ends the threads. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(modelNotReady('the gateway is stopping'));
    await Promise.all(
      this.workers.map(async (w) => {
        while (w.job && !w.dead) await new Promise((r) => setTimeout(r, 10));
        if (w.dead) return;
        w.dead = true;
        await w.worker.terminate();
      }),
    );
  }
}
