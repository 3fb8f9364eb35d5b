import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ExperimentTelemetry } from '../experiments/experiment-router';
import type { InferenceTelemetry } from '../inference/telemetry';

/** What the gauges read when Prometheus scrapes: the runtime's own state, never a copy. */
export interface MetricSources {
  queue(): { total: number; perVersion: ReadonlyMap<number, number>; rejected: number };
  loaded(): { model: string; version: number; state: string; provider: string | null; memoryBytes: number }[];
  comparisonsByStatus(): Promise<Record<string, number>>;
  streams(): number;
  /** The prediction log's rows: written, dropped (over its memory bound), waiting. */
  predictionLog(): { written: number; dropped: number; pending: number };
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The gateway's Prometheus metrics (prom-client), in a registry of its own per app: requests by
 * operation and outcome, latencies, predictions by model/version/execution provider, batch sizes,
 * inference queue depth and refusals, loaded versions and their memory, comparison jobs by state,
 * rate-limit refusals, SSE streams, and Node's own (event-loop lag, GC, heap).
 */
export class GatewayMetrics implements InferenceTelemetry, ExperimentTelemetry {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'modelgate_graphql_requests_total',
    help: 'GraphQL operations by operation name and outcome (OK or the first error code)',
    labelNames: ['operation', 'outcome'],
    registers: [this.registry],
  });
  private readonly requestSeconds = new Histogram({
    name: 'modelgate_graphql_request_duration_seconds',
    help: 'GraphQL operation latency',
    labelNames: ['operation'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly predictSeconds = new Histogram({
    name: 'modelgate_predict_duration_seconds',
    help: 'Prediction latency (decode to scores) by model, version and execution provider',
    labelNames: ['model', 'version', 'provider'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly batchSize = new Histogram({
    name: 'modelgate_batch_size',
    help: 'Images per batch run',
    labelNames: ['model', 'version'],
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers: [this.registry],
  });
  private readonly rejections = new Counter({
    name: 'modelgate_rejections_total',
    help: 'Requests refused at the door: rate limits, failed-authentication throttling, a full verification queue, bad or revoked keys, progress-stream caps',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  private readonly armRequests = new Counter({
    name: 'modelgate_experiment_requests_total',
    help: 'Routed predictions and shadow runs by experiment, arm, kind (answer or shadow) and outcome (OK or the error code)',
    labelNames: ['experiment', 'arm', 'kind', 'outcome'],
    registers: [this.registry],
  });
  private readonly armSeconds = new Histogram({
    name: 'modelgate_experiment_latency_seconds',
    help: 'Latency of routed predictions (whole request) and shadow runs (the run) by experiment and arm',
    labelNames: ['experiment', 'arm', 'kind'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly shadowDrops = new Counter({
    name: 'modelgate_experiment_shadow_dropped_total',
    help: 'Shadow runs dropped so as not to delay real traffic, by experiment and arm',
    labelNames: ['experiment', 'arm'],
    registers: [this.registry],
  });
  private readonly breaches = new Counter({
    name: 'modelgate_experiment_guardrail_breaches_total',
    help: 'Arms stopped by a guardrail, by experiment, arm and guardrail',
    labelNames: ['experiment', 'arm', 'guardrail'],
    registers: [this.registry],
  });
  private sources: MetricSources | null = null;
  private defaultsStarted = false;

  constructor() {
    const sources = () => this.sources;
    new Gauge({
      name: 'modelgate_inference_queue_depth',
      help: 'Images in inference (preprocessing to result), in all',
      registers: [this.registry],
      collect() {
        this.set(sources()?.queue().total ?? 0);
      },
    });
    new Gauge({
      name: 'modelgate_inference_queue_rejections',
      help: 'Images refused because an inference queue was full, since start',
      registers: [this.registry],
      collect() {
        this.set(sources()?.queue().rejected ?? 0);
      },
    });
    new Gauge({
      name: 'modelgate_loaded_version_memory_bytes',
      help: 'Estimated resident memory of each loaded version',
      labelNames: ['model', 'version', 'state', 'provider'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const l of sources()?.loaded() ?? [])
          this.set(
            { model: l.model, version: String(l.version), state: l.state, provider: l.provider ?? 'none' },
            l.memoryBytes,
          );
      },
    });
    new Gauge({
      name: 'modelgate_comparison_jobs',
      help: 'Comparison jobs by state',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const [state, n] of Object.entries((await sources()?.comparisonsByStatus()) ?? {})) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'modelgate_experiment_log_rows',
      help: 'Prediction log rows since start: written, dropped (over the memory bound while the database could not take them), pending',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        const log = sources()?.predictionLog();
        if (!log) return;
        for (const state of ['written', 'dropped', 'pending'] as const) this.set({ state }, log[state]);
      },
    });
    new Gauge({
      name: 'modelgate_sse_streams',
      help: 'Open progress streams',
      registers: [this.registry],
      collect() {
        this.set(sources()?.streams() ?? 0);
      },
    });
  }

  /** The live state the gauges read (set once the app is built). */
  readFrom(sources: MetricSources): void {
    this.sources = sources;
  }

  /** Node's own metrics: event-loop lag, GC, heap, handles (once per process's server). */
  startDefaultMetrics(): void {
    if (this.defaultsStarted) return;
    this.defaultsStarted = true;
    collectDefaultMetrics({ register: this.registry, prefix: 'modelgate_' });
  }

  operation(name: string, outcome: string, seconds: number): void {
    this.requests.inc({ operation: name, outcome });
    this.requestSeconds.observe({ operation: name }, seconds);
  }

  rejected(reason: 'rate_limit' | 'auth_throttle' | 'verify_queue' | 'unauthenticated' | 'stream_cap'): void {
    this.rejections.inc({ reason });
  }

  prediction(e: { model: string; version: number; provider: string; ms: number }): void {
    this.predictSeconds.observe({ model: e.model, version: String(e.version), provider: e.provider }, e.ms / 1000);
  }

  batch(e: { model: string; version: number; size: number }): void {
    this.batchSize.observe({ model: e.model, version: String(e.version) }, e.size);
  }

  routed(e: { experiment: number; arm: string; shadow: boolean; errorCode: string | null; ms: number }): void {
    const kind = e.shadow ? 'shadow' : 'answer';
    const labels = { experiment: String(e.experiment), arm: e.arm, kind };
    this.armRequests.inc({ ...labels, outcome: e.errorCode ?? 'OK' });
    if (!e.errorCode) this.armSeconds.observe(labels, e.ms / 1000);
  }

  shadowDropped(e: { experiment: number; arm: string }): void {
    this.shadowDrops.inc({ experiment: String(e.experiment), arm: e.arm });
  }

  guardrailBreached(e: { experiment: number; arm: string; guardrail: string }): void {
    this.breaches.inc({ experiment: String(e.experiment), arm: e.arm, guardrail: e.guardrail });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
