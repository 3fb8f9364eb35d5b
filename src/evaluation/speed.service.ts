import type { ArtifactStore } from '../artifacts/artifact-store';
import { requireRole, type Actor } from '../auth/actor';
import type { Logger } from '../common/logger';
import type { ModelManager, SpeedMeasurement, Target } from '../inference/model-manager';
import type { ModelInspector } from '../registry/model-inspector';
import type { VersionRecord } from '../registry/version.repository';
import type { VersionRef, VersionService } from '../registry/version.service';
import { parseInputSpec } from '../registry/input-spec';
import type { SpeedRecord, SpeedRepository } from './speed.repository';

/**
 * A version's speed, measured in isolation on the runtime that serves it, warm, on one input size
 * (see "Speed and size" in the README). Stored with a comparison's results and as the version's
 * latest measurement for that setting.
 */
export interface SpeedProfile extends SpeedMeasurement {
  /** ISO 8601. */
  measuredAt: string;
}

export const toSpeedProfile = (r: SpeedRecord): SpeedProfile => ({
  batch1Ms: r.batch1Ms,
  batch1Runs: r.batch1Runs,
  batch32ImagesPerSecond: r.batch32ImagesPerSecond,
  batch32Runs: r.batch32Runs,
  throughputBatchSize: r.throughputBatchSize,
  executionProvider: r.executionProvider,
  threads: r.threads,
  input: { width: r.width, height: r.height, channels: r.channels, layout: r.layout },
  measuredAt: r.measuredAt.toISOString(),
});

/** Measures versions' speed and counts their weights where registration did not. */
export class SpeedService {
  constructor(
    private readonly deps: {
      runtime: Pick<ModelManager, 'measureSpeed'>;
      speeds: SpeedRepository;
      versions: Pick<VersionService, 'resolve' | 'recordParameterCount'>;
      inspector: ModelInspector;
      artifacts: ArtifactStore;
      logger: Logger;
    },
  ) {}

  /** Measures the version now and records it as its latest measurement of that setting. */
  async measure(target: Target, comparisonId: number | null = null): Promise<SpeedProfile> {
    const m = await this.deps.runtime.measureSpeed(target);
    const record = await this.deps.speeds.record({
      versionId: target.record.id,
      width: m.input.width,
      height: m.input.height,
      channels: m.input.channels,
      layout: m.input.layout,
      executionProvider: m.executionProvider,
      threads: m.threads,
      batch1Ms: m.batch1Ms,
      batch1Runs: m.batch1Runs,
      batch32ImagesPerSecond: m.batch32ImagesPerSecond,
      batch32Runs: m.batch32Runs,
      throughputBatchSize: m.throughputBatchSize,
      comparisonId,
    });
    return toSpeedProfile(record);
  }

  /**
   * The version's weights: as counted at registration, or counted now (in the inference worker)
   * and stored, for a version registered before they were; null when the graph cannot be decoded.
   */
  async parameters(record: VersionRecord): Promise<number | null> {
    if (record.parameterCount !== null) return Number(record.parameterCount);
    try {
      const { parameters } = await this.deps.inspector.inspect(await this.deps.artifacts.ensure(record));
      if (parameters == null) return null;
      await this.deps.versions.recordParameterCount(record.id, parameters);
      return parameters;
    } catch (err) {
      this.deps.logger.warn({ err, versionId: record.id }, 'could not count the parameters of a version');
      return null;
    }
  }

  /** measureVersionSpeed: an operator measures a version on its model's input size now. */
  async measureVersion(
    actor: Actor,
    ref: VersionRef,
  ): Promise<{ version: VersionRecord; speed: SpeedProfile; parameters: number | null }> {
    requireRole(actor, 'operator', "measuring a version's speed");
    const { model, version } = await this.deps.versions.resolve(actor, ref);
    const speed = await this.measure({
      record: version,
      model: { name: model.name, inputSpec: parseInputSpec(model.inputSpec) },
    });
    return { version, speed, parameters: await this.parameters(version) };
  }

  /** The latest measurement of each version (null where never measured), for the request's loaders. */
  async latestOf(actor: Actor, versionIds: readonly number[]): Promise<(SpeedProfile | null)[]> {
    requireRole(actor, 'viewer', 'reading model versions');
    const rows = new Map((await this.deps.speeds.latestOf(versionIds)).map((r) => [r.versionId, r]));
    return versionIds.map((id) => {
      const r = rows.get(id);
      return r ? toSpeedProfile(r) : null;
    });
  }
}
