/**
 * The benchmark's HTTP load generator, run in a worker thread of the benchmark process so that its
 * timers and fetch calls do not share (or wait for) the gateway's event loop.
 *
 * - `closed`: N clients, each sending its next request when the previous one answered.
 * - `open`: one request every `intervalMs`, whether or not earlier ones answered; latency is counted
 *   from the scheduled send time (a late timer counts against the response, not silently skipped).
 *
 * Only requests that complete inside the measured window (after `warmupMs`) are counted.
 */
import { isMainThread, parentPort, Worker } from 'node:worker_threads';

export interface LoadJob {
  kind: 'closed' | 'open';
  url: string;
  key: string;
  /** The JSON request body (a GraphQL operation). */
  body: string;
  concurrency?: number;
  intervalMs?: number;
  warmupMs: number;
  durationMs: number;
}

export interface LoadResult {
  /** Latency of each counted request, ms. */
  latencies: number[];
  /** timingsMs.batchSize of each counted predict response (empty for other operations). */
  batchSizes: number[];
  /** Server-side timingsMs of each counted predict response. */
  serverMs: { queue: number; inference: number; total: number }[];
  completed: number;
  errors: number;
  firstError: string | null;
  /** Length of the measured window, ms. */
  windowMs: number;
}

interface PredictTimings {
  batchSize?: number;
  queue?: number;
  inference?: number;
  total?: number;
}

async function once(job: LoadJob): Promise<{ ok: boolean; error?: string; timings?: PredictTimings }> {
  try {
    const res = await fetch(job.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${job.key}` },
      body: job.body,
    });
    const json = (await res.json()) as { data?: Record<string, { timingsMs?: PredictTimings } | null> | null; errors?: { message: string }[] };
    if (!res.ok || json.errors?.length) return { ok: false, error: `HTTP ${res.status}: ${json.errors?.[0]?.message ?? 'no data'}` };
    const first = json.data ? Object.values(json.data)[0] : null;
    return { ok: true, timings: first?.timingsMs ?? undefined };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

/** Closed loop: `concurrency` clients, each waiting for its answer before sending again. */
export async function runClosed(job: LoadJob): Promise<LoadResult> {
  const start = performance.now();
  const windowStart = start + job.warmupMs;
  const end = windowStart + job.durationMs;
  const result: LoadResult = { latencies: [], batchSizes: [], serverMs: [], completed: 0, errors: 0, firstError: null, windowMs: job.durationMs };
  const record = (sent: number, r: Awaited<ReturnType<typeof once>>) => {
    const done = performance.now();
    if (done < windowStart || done > end) return;
    if (!r.ok) {
      result.errors++;
      result.firstError ??= r.error ?? 'unknown error';
      return;
    }
    result.completed++;
    result.latencies.push(done - sent);
    if (r.timings?.batchSize != null) {
      result.batchSizes.push(r.timings.batchSize);
      result.serverMs.push({ queue: r.timings.queue ?? 0, inference: r.timings.inference ?? 0, total: r.timings.total ?? 0 });
    }
  };

  const client = async () => {
    while (performance.now() < end) {
      const sent = performance.now();
      record(sent, await once(job));
    }
  };
  await Promise.all(Array.from({ length: job.concurrency ?? 1 }, client));
  return result;
}

/** Open loop: one request every `intervalMs`; every answer to a request sent in the window counts, however late. */
export async function runOpen(job: LoadJob): Promise<LoadResult> {
  const start = performance.now();
  const windowStart = start + job.warmupMs;
  const end = windowStart + job.durationMs;
  const interval = job.intervalMs ?? 20;
  const result: LoadResult = { latencies: [], batchSizes: [], serverMs: [], completed: 0, errors: 0, firstError: null, windowMs: job.durationMs };
  const inflight: Promise<void>[] = [];
  await new Promise((r) => setTimeout(r, Math.max(0, windowStart - performance.now())));
  for (let i = 0; ; i++) {
    const scheduled = windowStart + i * interval;
    if (scheduled >= end) break;
    const wait = scheduled - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inflight.push(
      once(job).then((r) => {
        if (!r.ok) {
          result.errors++;
          result.firstError ??= r.error ?? 'unknown error';
          return;
        }
        result.completed++;
        result.latencies.push(performance.now() - scheduled);
      }),
    );
  }
  await Promise.all(inflight);
  return result;
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  port.on('message', (job: LoadJob) => {
    const run = job.kind === 'open' ? runOpen(job) : runClosed(job);
    run.then(
      (r) => port.postMessage({ ok: true, result: r }),
      (e: Error) => port.postMessage({ ok: false, error: e.message }),
    );
  });
}

/** A load-generator worker thread (load-client.js) that runs one job at a time. */
export class LoadWorker {
  private readonly worker = new Worker(__filename);
  run(job: LoadJob): Promise<LoadResult> {
    return new Promise((resolve, reject) => {
      this.worker.once('message', (m: { ok: boolean; result?: LoadResult; error?: string }) => (m.ok ? resolve(m.result!) : reject(new Error(m.error))));
      this.worker.postMessage(job);
    });
  }
  close(): Promise<number> {
    return this.worker.terminate();
  }
}
