import { requireRole, type Actor } from '../auth/actor';
import { badInput, DomainError, ErrorCode, internalError, modelNotReady, payloadTooLarge } from '../common/errors';
import type { Config } from '../config/config';
import { parseInputSpec, type InputSpec } from '../registry/input-spec';
import type { ModelRecord } from '../registry/model.repository';
import type { VersionRecord } from '../registry/version.repository';
import type { ResolvedVersion, VersionRef, VersionService } from '../registry/version.service';
import type { Admission } from './admission';
import type { BatchResult } from './batcher';
import type { ImagePool } from './image/image-pool';
import { bytesFromBase64 } from './image/image-input';
import type { Preprocessed } from './image/preprocess';
import type { LoadedVersion, ModelManager, Target } from './model-manager';
import { probabilities, topK, type ClassScore } from './postprocess';
import type { PredictionRouting, RoutedPrediction } from './routing';
import type { InferenceTelemetry } from './telemetry';

/** An image as a client sends it: raw bytes (multipart upload) or base64 (plain or a data: URL). */
export interface ImageSource {
  bytes?: Buffer | null;
  base64?: string | null;
}

export interface PredictionResult {
  /** Set when the prediction was logged (routed by an experiment). */
  id: string | null;
  model: ModelRecord;
  version: VersionRecord;
  resolvedBy: string;
  top: ClassScore[];
  executionProvider: string;
  timingsMs: { decode: number; preprocess: number; queue: number; inference: number; total: number; batchSize: number };
}

export interface RuntimeSettings {
  memoryBudgetBytes: number;
  executionProviders: string[];
  pinnedAliases: string[];
}

/** Images one predictBatch may carry (and multipart files one request may carry). */
export const MAX_BATCH_IMAGES = 64;
/** All of a predictBatch's image files together. */
export const MAX_BATCH_BYTES = 100 * 1024 * 1024;
const round = (ms: number) => Math.round(ms * 1000) / 1000;
const checkK = (k: number) => {
  if (!Number.isInteger(k) || k < 1) throw badInput(`topK must be a positive integer, got ${k}`, { field: 'topK' });
};

/** predict and predictBatch: resolve the version, preprocess as it expects, run it, read its scores. */
export class InferenceService {
  constructor(
    private readonly deps: {
      versions: VersionService;
      manager: ModelManager;
      images: ImagePool;
      admission: Admission;
      config: Config;
      telemetry?: InferenceTelemetry;
    },
  ) {}

  get maxImageBytes(): number {
    return this.deps.config.inference.image.maxBytes;
  }

  private bytes(image: ImageSource): Buffer {
    const { maxBytes } = this.deps.config.inference.image;
    const given = [image.bytes != null, image.base64 != null].filter(Boolean).length;
    if (given !== 1) throw badInput('give the image as exactly one of base64 or upload', { field: 'image' });
    if (image.bytes) {
      if (image.bytes.length > maxBytes) {
        throw payloadTooLarge(`the image is ${image.bytes.length} bytes, more than MAX_IMAGE_BYTES (${maxBytes})`);
      }
      return image.bytes;
    }
    return bytesFromBase64(image.base64!, maxBytes);
  }

  /** Parsed input specs of the (cached, immutable) model records requests resolve to. */
  private readonly specs = new WeakMap<ModelRecord, InputSpec>();

  private target(resolved: ResolvedVersion): Target {
    const { version, model } = resolved;
    if (version.status !== 'READY' && version.status !== 'FAILED') {
      throw modelNotReady(`${model.name} v${version.version} is ${version.status}, not READY`);
    }
    return this.toTarget(resolved);
  }

  private toTarget({ model, version }: ResolvedVersion): Target {
    let inputSpec = this.specs.get(model);
    if (!inputSpec) this.specs.set(model, (inputSpec = parseInputSpec(model.inputSpec)));
    return { record: version, model: { name: model.name, inputSpec } };
  }

  private routing: PredictionRouting | null = null;

  /** Experiments route unversioned predictions (set once at startup: the router needs this service too). */
  setRouting(routing: PredictionRouting): void {
    this.routing = routing;
  }

  /** A ref that names only the model goes to its running experiment, if any; explicit refs never do. */
  private route(actor: Actor, ref: VersionRef, routingKey: string | null): Promise<RoutedPrediction | null> {
    if (!this.routing || ref.version != null || ref.alias != null) return Promise.resolve(null);
    return this.routing.route(actor, ref.model, routingKey);
  }

  async predict(
    actor: Actor,
    ref: VersionRef,
    image: ImageSource,
    k = 5,
    routingKey: string | null = null,
  ): Promise<PredictionResult> {
    requireRole(actor, 'viewer', 'running a prediction');
    const started = performance.now();
    const bytes = this.bytes(image);
    checkK(k);
    const route = await this.route(actor, ref, routingKey);
    if (route) return this.runRouted(route, bytes, k, started);
    const resolved = await this.deps.versions.resolve(actor, ref);
    return this.run(resolved, bytes, k, started);
  }

  private async runRouted(
    route: RoutedPrediction,
    bytes: Buffer,
    k: number,
    started: number,
  ): Promise<PredictionResult> {
    let result: PredictionResult;
    try {
      result = await this.run(route.resolved, bytes, k, started);
    } catch (e) {
      const errorCode = e instanceof DomainError ? e.code : ErrorCode.INTERNAL_SERVER_ERROR;
      route.finish({ top: null, latencyMs: performance.now() - started, errorCode, bytes });
      throw e;
    }
    result.id = route.finish({ top: result.top, latencyMs: result.timingsMs.total, errorCode: null, bytes });
    return result;
  }

  /** A shadow run: the version's top class for an image, and how long the run took. */
  async top1(resolved: ResolvedVersion, bytes: Buffer): Promise<{ label: string; probability: number; ms: number }> {
    const started = performance.now();
    const { probs } = await this.score(this.target(resolved), bytes);
    const [best] = topK(probs, resolved.model.labels, 1);
    return { label: best!.label, probability: best!.probability, ms: performance.now() - started };
  }

  /** Every image through the same version; they share batches with each other and other requests. */
  async predictBatch(
    actor: Actor,
    ref: VersionRef,
    images: ImageSource[],
    k = 5,
    routingKey: string | null = null,
  ): Promise<PredictionResult[]> {
    requireRole(actor, 'viewer', 'running a prediction');
    if (images.length === 0) throw badInput('images is empty', { field: 'images' });
    if (images.length > MAX_BATCH_IMAGES)
      throw badInput(`at most ${MAX_BATCH_IMAGES} images per predictBatch, got ${images.length}`, { field: 'images' });
    const started = performance.now();
    const all = images.map((i) => this.bytes(i));
    const total = all.reduce((sum, b) => sum + b.length, 0);
    if (total > MAX_BATCH_BYTES)
      throw payloadTooLarge(
        `the images add up to ${total} bytes, more than the ${MAX_BATCH_BYTES} a predictBatch may carry`,
      );
    checkK(k);
    // Each image is its own routed prediction (the same routing key sends them all to one arm).
    const routes = await Promise.all(all.map(() => this.route(actor, ref, routingKey)));
    const resolved = routes.every(Boolean) ? null : await this.deps.versions.resolve(actor, ref);
    return Promise.all(
      all.map((bytes, i) => {
        const route = routes[i];
        return route ? this.runRouted(route, bytes, k, started) : this.run(resolved!, bytes, k, started);
      }),
    );
  }

  private async run(resolved: ResolvedVersion, bytes: Buffer, k: number, started: number): Promise<PredictionResult> {
    const { probs, image, out, provider, ms } = await this.score(this.target(resolved), bytes);
    this.deps.telemetry?.prediction({ model: resolved.model.name, version: resolved.version.version, provider, ms });
    if (probs.length !== resolved.model.labels.length) {
      throw internalError(
        `${resolved.model.name} v${resolved.version.version} returned ${probs.length} scores for ${resolved.model.labels.length} labels`,
      );
    }
    return {
      id: null,
      model: resolved.model,
      version: resolved.version,
      resolvedBy: resolved.resolvedBy,
      top: topK(probs, resolved.model.labels, k),
      executionProvider: provider,
      timingsMs: {
        decode: round(image.timings.decode),
        preprocess: round(image.timings.preprocess),
        queue: round(out.queueMs),
        inference: round(out.inferenceMs),
        total: round(performance.now() - started),
        batchSize: out.batchSize,
      },
    };
  }

  /**
   * One image through a version: preprocessed as it expects, batched with other requests, scored.
   * `ms` runs from the loaded version in hand to the scores (loading is not latency). Predictions
   * and comparisons both come through here.
   */
  async score(
    target: Target,
    bytes: Buffer,
  ): Promise<{ probs: Float64Array; image: Preprocessed; out: BatchResult; provider: string; ms: number }> {
    // Refused at once (RESOURCE_EXHAUSTED) when the version's queue or the whole runtime is full.
    const release = this.deps.admission.enter(target.record.id, `${target.model.name} v${target.record.version}`);
    try {
      return await this.deps.manager.use(target, async (model) => {
        const started = performance.now();
        const image = await this.deps.images.preprocess(bytes, target.model.inputSpec);
        const out = await model.run(image.data);
        return {
          probs: probabilities(out.output, target.model.inputSpec.output),
          image,
          out,
          provider: model.provider,
          ms: performance.now() - started,
        };
      });
    } finally {
      release();
    }
  }

  loaded(actor: Actor): LoadedVersion[] {
    requireRole(actor, 'viewer', 'listing loaded versions');
    return this.deps.manager.list();
  }

  /** What the runtime works with: its memory budget, provider preference and the aliases never unloaded. */
  settings(actor: Actor): RuntimeSettings {
    requireRole(actor, 'viewer', 'reading the runtime settings');
    const { config } = this.deps;
    return {
      memoryBudgetBytes: config.inference.memoryBudgetBytes,
      executionProviders: [...config.inference.providers],
      pinnedAliases: [...config.pinnedAliases],
    };
  }

  /** Loads (or reloads a FAILED) version now, instead of on first use. */
  async load(actor: Actor, ref: VersionRef): Promise<LoadedVersion> {
    requireRole(actor, 'admin', 'loading a version');
    const target = this.toTarget(await this.deps.versions.resolve(actor, ref));
    return this.deps.manager.load(target);
  }

  /**
   * Serves a version from a remote Open Inference Protocol engine, or locally again with null (admin).
   * The version is unloaded at once: its next use loads it where the new setting says.
   */
  async setRemote(actor: Actor, ref: VersionRef, remote: unknown): Promise<VersionRecord> {
    const record = await this.deps.versions.setRemote(actor, ref, remote);
    await this.deps.manager.unload(record.id);
    return record;
  }

  async unload(actor: Actor, ref: VersionRef): Promise<boolean> {
    requireRole(actor, 'admin', 'unloading a version');
    const { version } = await this.deps.versions.resolve(actor, ref);
    return this.deps.manager.unload(version.id);
  }

  /**
   * Sets (empty or null: clears) the version's execution-provider preference. The names must be
   * providers the runtime knows (BAD_USER_INPUT otherwise; one not bundled here, like cuda without
   * its install, is accepted and falls back at load). A loaded version is unloaded, so that the next
   * request loads it with the new preference.
   */
  async setExecutionProviders(actor: Actor, ref: VersionRef, providers: string[] | null): Promise<VersionRecord> {
    requireRole(actor, 'admin', 'setting the execution providers of a version');
    const list = [...new Set((providers ?? []).map((p) => p.trim()))];
    const known = await this.deps.manager.knownProviders();
    const unknown = list.filter((p) => !known.includes(p));
    if (unknown.length)
      throw badInput(`unknown execution provider ${unknown.join(', ')}: known are ${known.join(', ')}`, {
        field: 'providers',
      });
    const { version } = await this.deps.versions.resolve(actor, ref);
    const updated = await this.deps.versions.setExecutionProviders(version.id, list);
    await this.deps.manager.unload(version.id);
    return updated;
  }

  /** Stops running models: requests still queued fail with MODEL_NOT_READY and the inference workers end. */
  close(): Promise<void> {
    return this.deps.manager.close();
  }
}
