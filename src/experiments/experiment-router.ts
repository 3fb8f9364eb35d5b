import { createHash, randomUUID } from 'node:crypto';
import type { Actor } from '../auth/actor';
import { ErrorCode } from '../common/errors';
import type { Logger } from '../common/logger';
import type { RegistryCache } from '../db/registry-cache';
import type { PredictionRouting, RoutedPrediction, RouteOutcome } from '../inference/routing';
import type { ResolvedVersion, VersionService } from '../registry/version.service';
import { SHADOW_DROPPED, type ExperimentRepository, type RunningExperiment } from './experiment.repository';
import type { PredictionLog } from './prediction-log';

/** A running experiment as routing sees it (cached until the registry or an experiment changes). */
interface RouteTable {
  id: number;
  seed: number;
  mode: 'SPLIT' | 'SHADOW';
  guardrails: { maxErrorRate: number | null; maxLatencyP99Ms: number | null; minRequests: number };
  control: RouteArm;
  arms: RouteArm[];
  /** SPLIT: each arm's share of [0, 1), in arm order, fixed for the experiment's life (stickiness). */
  bounds: number[];
}

interface RouteArm {
  id: number;
  name: string;
  weight: number;
  active: boolean;
  isControl: boolean;
  resolved: ResolvedVersion;
}

/** What the router reports as it works (per-arm metrics). */
export interface ExperimentTelemetry {
  routed(e: { experiment: number; arm: string; shadow: boolean; errorCode: string | null; ms: number }): void;
  shadowDropped(e: { experiment: number; arm: string }): void;
  guardrailBreached(e: { experiment: number; arm: string; guardrail: string }): void;
}

/** Error codes that say the request was bad, not the arm: they do not count against a guardrail. */
const CLIENT_ERRORS: ReadonlySet<string> = new Set([
  ErrorCode.BAD_USER_INPUT,
  ErrorCode.INVALID_IMAGE,
  ErrorCode.PAYLOAD_TOO_LARGE,
  ErrorCode.RESOURCE_EXHAUSTED,
]);

/** How many of an arm's latest requests its guardrails judge. */
export const GUARDRAIL_WINDOW = 1000;

/** An arm's recent requests on this gateway: a ring of latencies and failures. */
class ArmHealth {
  private readonly latency = new Float64Array(GUARDRAIL_WINDOW);
  private readonly failed = new Uint8Array(GUARDRAIL_WINDOW);
  private next = 0;
  private filled = 0;
  private failures = 0;
  requests = 0;

  record(ms: number, failed: boolean): void {
    if (this.filled === GUARDRAIL_WINDOW) this.failures -= this.failed[this.next]!;
    this.latency[this.next] = ms;
    this.failed[this.next] = failed ? 1 : 0;
    this.failures += failed ? 1 : 0;
    this.next = (this.next + 1) % GUARDRAIL_WINDOW;
    this.filled = Math.min(GUARDRAIL_WINDOW, this.filled + 1);
    this.requests++;
  }

  errorRate(): number {
    return this.filled ? this.failures / this.filled : 0;
  }

  /** p99()'s largest answered latencies, ascending (the p99 of 1000 is the 11th largest). */
  private readonly top = new Float64Array(GUARDRAIL_WINDOW - Math.ceil(0.99 * GUARDRAIL_WINDOW) + 1);

  /**
   * p99 of the answered requests in the window (nearest rank). It runs every 10th request on the
   * gateway's thread: the k largest latencies are kept in a small sorted array in one pass, instead
   * of sorting the whole window (30 times faster for 1000; bench:experiments).
   */
  p99(): number | null {
    let n = 0;
    for (let i = 0; i < this.filled; i++) n += this.failed[i] ? 0 : 1;
    if (!n) return null;
    // Nearest rank ceil(0.99 n) from the bottom is the k-th largest.
    const k = n - Math.ceil(0.99 * n) + 1;
    const top = this.top;
    let kept = 0;
    for (let i = 0; i < this.filled; i++) {
      if (this.failed[i]) continue;
      const v = this.latency[i]!;
      if (kept < k) {
        let j = kept++;
        for (; j > 0 && top[j - 1]! > v; j--) top[j] = top[j - 1]!;
        top[j] = v;
      } else if (v > top[0]!) {
        let j = 0;
        for (; j + 1 < k && top[j + 1]! < v; j++) top[j] = top[j + 1]!;
        top[j] = v;
      }
    }
    return top[0]!;
  }
}

/** A number in [0, 1) from a hash: the same key and experiment always give the same number. */
export function keyPoint(experimentId: number, key: string, salt = ''): number {
  const digest = createHash('sha256').update(`${experimentId}\0${salt}\0${key}`).digest();
  // 52 bits: exact in a double.
  return (digest.readUInt32BE(0) * 2 ** 20 + (digest.readUInt32BE(4) >>> 12)) / 2 ** 52;
}

/** mulberry32: a small seeded generator for requests without a routing key. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Arm shares of [0, 1) in arm order: cumulative upper bounds of the normalised weights. */
export function armBounds(weights: number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  let sum = 0;
  return weights.map((w, i) => (i === weights.length - 1 ? 1 : (sum += w / total)));
}

/**
 * Routes unversioned predictions on models with a running experiment, logs every routed answer
 * (and shadow run), and watches each candidate arm's guardrails on this gateway's traffic.
 */
export class ExperimentRouter implements PredictionRouting {
  private readonly random = new Map<number, () => number>();
  private readonly health = new Map<number, ArmHealth>();
  /** Arms this gateway stopped (a breached guardrail) before the database says so. */
  private readonly stopped = new Set<number>();
  private shadowInFlight = 0;
  /** Shadow runs this gateway dropped (also logged, and counted in metrics). */
  shadowDropped = 0;
  private readonly shadows = new Set<Promise<void>>();

  constructor(
    private readonly deps: {
      experiments: ExperimentRepository;
      versions: VersionService;
      cache: RegistryCache;
      log: PredictionLog;
      /** A shadow run: the version's top class for the image. */
      top1: (resolved: ResolvedVersion, bytes: Buffer) => Promise<{ label: string; probability: number; ms: number }>;
      /** Images the runtime has in progress (real and shadow). */
      inProgress: () => number;
      shadowConcurrency: number;
      /** Real images in progress past which shadow runs are dropped: they would wait behind, or delay, real ones. */
      shadowBusy: number;
      telemetry?: ExperimentTelemetry;
      logger: Logger;
    },
  ) {}

  private table(actor: Actor, model: string): Promise<RouteTable | null> {
    return this.deps.cache.get(`experiment\0${model}`, async () => {
      const experiment = await this.deps.experiments.findRunningByModelName(model);
      return experiment ? this.build(actor, model, experiment) : null;
    });
  }

  private async build(actor: Actor, model: string, e: RunningExperiment): Promise<RouteTable> {
    const arms = await Promise.all(
      e.arms.map(async (a) => {
        const resolved = await this.deps.versions.resolve(actor, { model, version: a.version.version });
        return {
          id: a.id,
          name: a.name,
          weight: a.weight,
          active: a.active,
          isControl: a.isControl,
          resolved: { ...resolved, resolvedBy: `experiment:${e.id}/${a.name}` },
        };
      }),
    );
    return {
      id: e.id,
      seed: e.seed,
      mode: e.mode,
      guardrails: {
        maxErrorRate: e.maxErrorRate,
        maxLatencyP99Ms: e.maxLatencyP99Ms,
        minRequests: e.guardrailMinRequests,
      },
      control: arms.find((a) => a.isControl)!,
      arms,
      bounds: armBounds(arms.map((a) => a.weight)),
    };
  }

  private serving(arm: RouteArm): boolean {
    return arm.isControl || (arm.active && !this.stopped.has(arm.id));
  }

  private draw(table: RouteTable, key: string | null, salt = ''): number {
    if (key != null) return keyPoint(table.id, key, salt);
    let random = this.random.get(table.id);
    if (!random) this.random.set(table.id, (random = seededRandom(table.seed)));
    return random();
  }

  async route(actor: Actor, model: string, routingKey: string | null): Promise<RoutedPrediction | null> {
    const table = await this.table(actor, model);
    if (!table) return null;
    let arm = table.control;
    if (table.mode === 'SPLIT') {
      const u = this.draw(table, routingKey);
      const chosen = table.arms[table.bounds.findIndex((b) => u < b)] ?? table.control;
      // A stopped arm's share goes to the control; every other key keeps its arm.
      if (this.serving(chosen)) arm = chosen;
    }
    // Salted with the experiment: the same user can be counted within one, never followed across.
    const keyHash =
      routingKey == null ? null : createHash('sha256').update(`${table.id}\0${routingKey}`).digest('hex').slice(0, 32);
    return {
      resolved: arm.resolved,
      finish: (outcome) => this.finish(table, arm, routingKey, keyHash, outcome),
    };
  }

  private finish(
    table: RouteTable,
    arm: RouteArm,
    routingKey: string | null,
    keyHash: string | null,
    outcome: RouteOutcome,
  ): string {
    const id = randomUUID();
    const top = outcome.top?.[0];
    this.record(table, arm, {
      id,
      groupId: id,
      shadow: false,
      keyHash,
      label: top?.label ?? null,
      confidence: top?.probability ?? null,
      ms: outcome.latencyMs,
      errorCode: outcome.errorCode,
    });
    if (table.mode === 'SHADOW' && top) {
      for (const candidate of table.arms) {
        if (candidate.isControl || !this.serving(candidate)) continue;
        if (this.draw(table, routingKey, candidate.name) >= Math.min(1, candidate.weight)) continue;
        this.shadow(table, candidate, outcome.bytes, id, keyHash);
      }
    }
    return id;
  }

  /** Off the response path: runs now only if it cannot delay real traffic, else dropped and counted. */
  private shadow(table: RouteTable, arm: RouteArm, bytes: Buffer, groupId: string, keyHash: string | null): void {
    const real = this.deps.inProgress() - this.shadowInFlight;
    if (this.shadowInFlight >= this.deps.shadowConcurrency || real >= this.deps.shadowBusy) {
      this.shadowDropped++;
      this.deps.telemetry?.shadowDropped({ experiment: table.id, arm: arm.name });
      // Logged too (no run, no latency), so every gateway's drops add up in ExperimentArm.shadowDropped.
      this.deps.log.add({
        ...this.row(table, arm, randomUUID(), groupId, true, keyHash),
        latencyMs: 0,
        errorCode: SHADOW_DROPPED,
      });
      return;
    }
    this.shadowInFlight++;
    const started = performance.now();
    let done!: () => void;
    const running = new Promise<void>((resolve) => (done = resolve));
    this.shadows.add(running);
    setImmediate(() => {
      this.deps
        .top1(arm.resolved, bytes)
        .then(
          (r) => ({ label: r.label, confidence: r.probability, ms: r.ms, errorCode: null }),
          (e: unknown) => ({
            label: null,
            confidence: null,
            ms: performance.now() - started,
            errorCode: (e as { code?: string }).code ?? ErrorCode.INTERNAL_SERVER_ERROR,
          }),
        )
        .then((r) => this.record(table, arm, { id: randomUUID(), groupId, shadow: true, keyHash, ...r }))
        .finally(() => {
          this.shadowInFlight--;
          this.shadows.delete(running);
          done();
        });
    });
  }

  /** At shutdown: shadow runs in progress finish (and are logged) before the log closes. */
  async drain(): Promise<void> {
    while (this.shadows.size) await Promise.all([...this.shadows]);
  }

  private record(
    table: RouteTable,
    arm: RouteArm,
    row: {
      id: string;
      groupId: string;
      shadow: boolean;
      keyHash: string | null;
      label: string | null;
      confidence: number | null;
      ms: number;
      errorCode: string | null;
    },
  ): void {
    this.deps.log.add({
      ...this.row(table, arm, row.id, row.groupId, row.shadow, row.keyHash),
      topLabel: row.label,
      confidence: row.confidence,
      latencyMs: row.ms,
      errorCode: row.errorCode,
    });
    this.deps.telemetry?.routed({
      experiment: table.id,
      arm: arm.name,
      shadow: row.shadow,
      errorCode: row.errorCode,
      ms: row.ms,
    });
    if (!arm.isControl) this.watch(table, arm, row.ms, row.errorCode);
  }

  private row(table: RouteTable, arm: RouteArm, id: string, groupId: string, shadow: boolean, keyHash: string | null) {
    return {
      id,
      groupId,
      experimentId: table.id,
      armId: arm.id,
      versionId: arm.resolved.version.id,
      shadow,
      routingKeyHash: keyHash,
      topLabel: null,
      confidence: null,
      createdAt: new Date(),
    };
  }

  /** Guardrails: a breach stops the arm here at once (the control serves) and in the database for every gateway. */
  private watch(table: RouteTable, arm: RouteArm, ms: number, errorCode: string | null): void {
    const { maxErrorRate, maxLatencyP99Ms, minRequests } = table.guardrails;
    if (maxErrorRate == null && maxLatencyP99Ms == null) return;
    if (errorCode && CLIENT_ERRORS.has(errorCode)) return;
    let health = this.health.get(arm.id);
    if (!health) this.health.set(arm.id, (health = new ArmHealth()));
    health.record(ms, errorCode != null);
    if (health.requests < minRequests || this.stopped.has(arm.id)) return;
    // The p99 sorts the window: judged every 10th request (and on every failure for the error rate).
    let breach: string | null = null;
    const rate = health.errorRate();
    if (maxErrorRate != null && rate > maxErrorRate)
      breach = `maxErrorRate: ${(rate * 100).toFixed(1)}% of the last ${Math.min(health.requests, GUARDRAIL_WINDOW)} requests failed (limit ${(maxErrorRate * 100).toFixed(1)}%)`;
    else if (maxLatencyP99Ms != null && health.requests % 10 === 0) {
      const p99 = health.p99();
      if (p99 != null && p99 > maxLatencyP99Ms)
        breach = `maxLatencyP99Ms: p99 ${p99.toFixed(1)} ms over the last ${Math.min(health.requests, GUARDRAIL_WINDOW)} requests (limit ${maxLatencyP99Ms} ms)`;
    }
    if (!breach) return;
    this.stopped.add(arm.id);
    this.deps.telemetry?.guardrailBreached({ experiment: table.id, arm: arm.name, guardrail: breach.split(':')[0]! });
    this.deps.logger.warn(
      { experiment: table.id, arm: arm.name, breach },
      'experiment guardrail breached: arm stopped',
    );
    this.deps.experiments
      .stopArm(table.id, arm.id, arm.name, `guardrail ${breach}`)
      .catch((e: unknown) =>
        this.deps.logger.error({ err: e, experiment: table.id }, 'could not record a guardrail breach'),
      );
  }
}
