export interface BatchResult {
  /** This request's row of the output. */
  output: Float32Array;
  /** Dims of one row (the batch dimension removed). */
  dims: number[];
  batchSize: number;
  queueMs: number;
  inferenceMs: number;
}

export interface BatchRunner {
  /** Runs `n` inputs stacked along a new first dimension; returns the output with its dims. */
  (input: Float32Array, n: number): Promise<{ data: Float32Array; dims: number[]; ms: number }>;
}

interface Waiting {
  data: Float32Array;
  enqueued: number;
  resolve: (r: BatchResult) => void;
  reject: (e: unknown) => void;
}

/**
 * Dynamic batching for one model version. While a batch runs the next one gathers, up to
 * `maxBatchSize`: under load batches fill without anyone waiting on purpose, and a request that
 * finds the version idle runs at once (with `maxQueueDelayMs` > 0 it waits that long for company
 * first). One batch runs at a time: a version's session runs its batches one after the other anyway.
 */
export class Batcher {
  private queue: Waiting[] = [];
  private running = false;
  /** The pending flush, when one is scheduled. */
  private timer: { cancel(): void } | null = null;

  constructor(
    private readonly runner: BatchRunner,
    readonly maxBatchSize: number,
    readonly maxQueueDelayMs: number,
    /** Told of every batch that ran (metrics). */
    private readonly onBatch: (size: number, ms: number) => void = () => undefined,
  ) {}

  get pending(): number {
    return this.queue.length;
  }

  submit(data: Float32Array): Promise<BatchResult> {
    return new Promise<BatchResult>((resolve, reject) => {
      this.queue.push({ data, enqueued: performance.now(), resolve, reject });
      if (this.running) return;
      if (this.queue.length >= this.maxBatchSize) this.flush();
      // Idle: run at once (after the requests of this same turn), or wait for company if configured.
      else if (!this.timer) this.timer = this.schedule();
    });
  }

  private schedule(): { cancel(): void } {
    if (this.maxQueueDelayMs > 0) {
      const t = setTimeout(() => this.flush(), this.maxQueueDelayMs);
      return { cancel: () => clearTimeout(t) };
    }
    const i = setImmediate(() => this.flush());
    return { cancel: () => clearImmediate(i) };
  }

  private flush(): void {
    this.timer?.cancel();
    this.timer = null;
    if (this.running || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.maxBatchSize);
    this.running = true;
    void this.execute(batch).finally(() => {
      this.running = false;
      // Whatever arrived while the batch ran has waited long enough.
      if (this.queue.length) this.flush();
    });
  }

  private async execute(batch: Waiting[]): Promise<void> {
    const started = performance.now();
    const size = batch[0]!.data.length;
    const input = new Float32Array(size * batch.length);
    batch.forEach((w, i) => input.set(w.data, i * size));
    try {
      const out = await this.runner(input, batch.length);
      const [n, ...rowDims] = out.dims;
      if (n !== batch.length) throw new Error(`the model returned ${n} rows for a batch of ${batch.length}`);
      const row = out.data.length / batch.length;
      this.onBatch(batch.length, out.ms);
      batch.forEach((w, i) =>
        w.resolve({
          output: out.data.slice(i * row, (i + 1) * row),
          dims: rowDims,
          batchSize: batch.length,
          queueMs: started - w.enqueued,
          inferenceMs: out.ms,
        }),
      );
    } catch (e) {
      for (const w of batch) w.reject(e);
    }
  }

  /** Fails everything still waiting (the version is being unloaded). */
  drain(error: Error): void {
    this.timer?.cancel();
    this.timer = null;
    for (const w of this.queue.splice(0)) w.reject(error);
  }
}
