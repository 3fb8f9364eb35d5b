/**
 * The benchmark's HTTP load generator, run in a worker thread of the benchmark process so that its
 * timers and fetch calls do not share (or wait for) the gateway's event loop.
 *
 * - `closed`: N clients, each sending its next request when the previous one answered.
 * - `open`: one request every `intervalMs`, whether or not earlier ones answered; latency is counted
 *   from the scheduled send time (a late timer counts against the response, not silently skipped).
 *
 * Only requests that complete inside the measured window (after `warmupMs`) are counted.
 *
 * - `mix` (the soak and fault benches): several clients, each with its own key, rate and weighted
 *   mix of operations, open loop with a cap on requests in flight; every request is returned as a
 *   sample (operation, scheduled send time, latency, outcome), so the bench can split the figures
 *   by operation, client, error code and second. A `{ stop: true }` message ends it early.
 */
import { isMainThread, parentPort } from 'node:worker_threads';

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
    const json = (await res.json()) as {
      data?: Record<string, { timingsMs?: PredictTimings } | null> | null;
      errors?: { message: string }[];
    };
    if (!res.ok || json.errors?.length)
      return { ok: false, error: `HTTP ${res.status}: ${json.errors?.[0]?.message ?? 'no data'}` };
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
  const result: LoadResult = {
    latencies: [],
    batchSizes: [],
    serverMs: [],
    completed: 0,
    errors: 0,
    firstError: null,
    windowMs: job.durationMs,
  };
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
      result.serverMs.push({
        queue: r.timings.queue ?? 0,
        inference: r.timings.inference ?? 0,
        total: r.timings.total ?? 0,
      });
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
  const result: LoadResult = {
    latencies: [],
    batchSizes: [],
    serverMs: [],
    completed: 0,
    errors: 0,
    firstError: null,
    windowMs: job.durationMs,
  };
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

/** One kind of request in a mix. */
export interface MixOp {
  /** Row name in the bench's tables, e.g. "predict v1". */
  name: string;
  /** JSON request bodies (GraphQL operations), sent in turn. */
  bodies: string[];
  /** Share of the client's requests, relative to the other ops' weights. */
  weight: number;
  /** Per body, a string a correct answer contains (e.g. '"label":"Bag"'); an answer without it is WRONG_ANSWER. */
  expect?: (string | null)[];
}

export interface MixClient {
  /** Names the client in results (e.g. "viewer-1", "abusive"). */
  label: string;
  key: string;
  ops: MixOp[];
  /** Requests per second, scheduled at a fixed interval whether or not earlier ones answered. */
  ratePerSecond: number;
  /** At most this many requests in flight: a send due while they are pending is skipped and counted. */
  maxInFlight: number;
}

export interface MixJob {
  kind: 'mix';
  url: string;
  clients: MixClient[];
  durationMs: number;
  /** A request with no answer after this long counts as CLIENT_TIMEOUT. */
  timeoutMs: number;
}

/** Every request one client sent, as parallel arrays (cheap to post back for ~10^5 requests). */
export interface MixSamples {
  label: string;
  /** Op names; `op` holds indexes into it. */
  ops: string[];
  /** Outcome names (OK, an error code, HTTP_<status>, NETWORK, CLIENT_TIMEOUT, WRONG_ANSWER); `outcome` holds indexes into it. */
  outcomes: string[];
  op: number[];
  outcome: number[];
  /** Scheduled send time, epoch ms (performance.timeOrigin-based, comparable across threads). */
  sentAt: number[];
  /** Latency from the scheduled send time, ms. */
  ms: number[];
  /** Sends skipped because maxInFlight requests were pending. */
  skipped: number;
  /** The first message seen per outcome other than OK. */
  firstMessage: Record<string, string>;
}

let stopRequested = false;

const epochNow = () => performance.timeOrigin + performance.now();

/** Deterministic weighted choice (a fixed-seed LCG): the same mix in every run. */
function chooser(weights: number[], seed: number): () => number {
  const total = weights.reduce((s, w) => s + w, 0);
  let state = seed >>> 0 || 1;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    let r = (state / 2 ** 32) * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i]!;
      if (r < 0) return i;
    }
    return weights.length - 1;
  };
}

async function mixRequest(
  url: string,
  key: string,
  body: string,
  expect: string | null,
  timeoutMs: number,
): Promise<{ outcome: string; message?: string }> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    type Body = { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] } | null;
    let json: Body = null;
    try {
      json = JSON.parse(text) as Body;
    } catch {
      // not JSON: HTTP_<status> below
    }
    const first = json?.errors?.[0];
    if (first) return { outcome: first.extensions?.code ?? `HTTP_${res.status}`, message: first.message };
    if (!res.ok || !json?.data) return { outcome: `HTTP_${res.status}`, message: text.slice(0, 200) };
    if (expect !== null && !text.includes(expect))
      return { outcome: 'WRONG_ANSWER', message: `expected ${expect} in ${text.slice(0, 200)}` };
    return { outcome: 'OK' };
  } catch (e) {
    const timedOut = (e as Error).name === 'TimeoutError';
    return { outcome: timedOut ? 'CLIENT_TIMEOUT' : 'NETWORK', message: (e as Error).message };
  }
}

async function runMixClient(job: MixJob, client: MixClient, seed: number): Promise<MixSamples> {
  const s: MixSamples = {
    label: client.label,
    ops: client.ops.map((o) => o.name),
    outcomes: [],
    op: [],
    outcome: [],
    sentAt: [],
    ms: [],
    skipped: 0,
    firstMessage: {},
  };
  const outcomeIndex = new Map<string, number>();
  const next = chooser(
    client.ops.map((o) => o.weight),
    seed,
  );
  const turn = client.ops.map(() => 0);
  const interval = 1000 / client.ratePerSecond;
  const start = performance.now();
  const end = start + job.durationMs;
  const inflight = new Set<Promise<void>>();
  for (let i = 0; ; i++) {
    const scheduled = start + i * interval;
    if (scheduled >= end || stopRequested) break;
    const wait = scheduled - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (stopRequested) break;
    if (inflight.size >= client.maxInFlight) {
      s.skipped++;
      continue;
    }
    const opIndex = next();
    const op = client.ops[opIndex]!;
    const b = turn[opIndex]!++ % op.bodies.length;
    const sentAt = performance.timeOrigin + scheduled;
    const p = mixRequest(job.url, client.key, op.bodies[b]!, op.expect?.[b] ?? null, job.timeoutMs).then((r) => {
      let o = outcomeIndex.get(r.outcome);
      if (o === undefined) {
        o = s.outcomes.push(r.outcome) - 1;
        outcomeIndex.set(r.outcome, o);
      }
      if (r.outcome !== 'OK') s.firstMessage[r.outcome] ??= r.message ?? '';
      s.op.push(opIndex);
      s.outcome.push(o);
      s.sentAt.push(sentAt);
      s.ms.push(epochNow() - sentAt);
      inflight.delete(p);
    });
    inflight.add(p);
  }
  await Promise.all(inflight);
  return s;
}

/** Every client of the job at once; one sample set per client, in the job's order. */
export async function runMix(job: MixJob): Promise<MixSamples[]> {
  stopRequested = false;
  return Promise.all(job.clients.map((c, i) => runMixClient(job, c, 12345 + i * 7919)));
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  port.on('message', (job: LoadJob | MixJob | { stop: true }) => {
    if ('stop' in job) {
      stopRequested = true;
      return;
    }
    const run = job.kind === 'mix' ? runMix(job) : job.kind === 'open' ? runOpen(job) : runClosed(job);
    run.then(
      (r) => port.postMessage({ ok: true, result: r }),
      (e: Error) => port.postMessage({ ok: false, error: e.message }),
    );
  });
}
