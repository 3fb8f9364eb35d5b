import path from 'node:path';
import { Worker } from 'node:worker_threads';

/**
 * One onnxruntime-node run in a worker thread. Jest runs tests in a vm context whose typed arrays are
 * not onnxruntime's, so in-process sessions fail on their own outputs; the gateway runs its sessions
 * in worker threads too.
 */
export function ortRun(
  model: Uint8Array,
  input: { name: string; data: Float32Array; dims: number[] },
  outputNames: string[],
  options: { optimizedModelFilePath?: string } = {},
): Promise<Record<string, Float32Array>> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(path.join(__dirname, 'ort-worker.cjs'), {
      workerData: {
        model: Uint8Array.from(model),
        input: { ...input, data: Float32Array.from(input.data) },
        outputNames,
        options,
      },
    });
    worker.once('message', (m: { ok: boolean; outputs?: Record<string, Float32Array>; error?: string }) =>
      m.ok ? resolve(m.outputs!) : reject(new Error(m.error)),
    );
    worker.once('error', reject);
  });
}
