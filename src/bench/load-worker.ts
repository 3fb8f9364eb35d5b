/** The bench's handle on a load-generator worker thread (load-client.js), which runs one job at a time. */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { LoadJob, LoadResult, MixJob, MixSamples } from './load-client';

export class LoadWorker {
  private readonly worker = new Worker(path.join(__dirname, 'load-client.js'));

  run(job: LoadJob): Promise<LoadResult>;
  run(job: MixJob): Promise<MixSamples[]>;
  run(job: LoadJob | MixJob): Promise<LoadResult | MixSamples[]> {
    return new Promise((resolve, reject) => {
      this.worker.once('message', (m: { ok: boolean; result?: LoadResult | MixSamples[]; error?: string }) =>
        m.ok ? resolve(m.result!) : reject(new Error(m.error)),
      );
      this.worker.postMessage(job);
    });
  }

  /** Ends a running mix job early: no new sends, in-flight requests still answered and counted. */
  stop(): void {
    this.worker.postMessage({ stop: true });
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }
}
