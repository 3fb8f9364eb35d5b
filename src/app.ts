import os from 'node:os';
import path from 'node:path';
import { ArtifactStore } from './artifacts/artifact-store';
import { S3ArtifactStore } from './artifacts/s3-store';
import { anonymousActor, localActor, type Actor } from './auth/actor';
import { ApiKeyRepository } from './auth/api-key.repository';
import { ApiKeyService } from './auth/api-key.service';
import { SessionRepository } from './auth/session.repository';
import { SessionService } from './auth/session.service';
import { unauthenticated } from './common/errors';
import { createLogger, type Logger } from './common/logger';
import type { Config } from './config/config';
import { RegistryCache } from './db/registry-cache';
import { openDatabase, type Database, type DatabaseOptions } from './db/database';
import { AliasRepository } from './registry/alias.repository';
import { AliasService } from './registry/alias.service';
import { DatasetRepository } from './registry/dataset.repository';
import { DatasetService } from './registry/dataset.service';
import { DvcImporter } from './importers/dvc/dvc-importer';
import { MlflowImporter } from './importers/mlflow/mlflow-importer';
import { MlflowRepository } from './registry/mlflow.repository';
import { MlflowRunService } from './registry/mlflow-run.service';
import { createRegistryLoaders, type RegistryLoaders } from './registry/loaders';
import type { ModelInspector } from './registry/model-inspector';
import { ModelRepository } from './registry/model.repository';
import { ModelService } from './registry/model.service';
import { VersionRepository } from './registry/version.repository';
import { VersionService } from './registry/version.service';
import { ComparisonRepository } from './evaluation/comparison.repository';
import { createComparisonRunner } from './evaluation/comparison-runner';
import { ComparisonService } from './evaluation/comparison.service';
import { SpeedRepository } from './evaluation/speed.repository';
import { SpeedService } from './evaluation/speed.service';
import type { InferenceBackend } from './inference/backend';
import { InferenceService } from './inference/inference.service';
import { Admission } from './inference/admission';
import { ImagePool } from './inference/image/image-pool';
import { ModelManager } from './inference/model-manager';
import { GatewayMetrics } from './http/metrics';
import { StreamLimits } from './http/streams';
import { OnnxBackend } from './inference/onnx-backend';
import { OptimizationRepository } from './optimization/optimization.repository';
import { createOptimizationRunner, type Int8Quantizer } from './optimization/optimization-runner';
import { OptimizationService } from './optimization/optimization.service';
import { ExperimentMonitor } from './experiments/experiment-monitor';
import { ExperimentRepository } from './experiments/experiment.repository';
import { ExperimentRouter } from './experiments/experiment-router';
import { ExperimentService } from './experiments/experiment.service';
import { LOG_LIMITS, PredictionLog } from './experiments/prediction-log';

export interface Services {
  models: ModelService;
  versions: VersionService;
  aliases: AliasService;
  datasets: DatasetService;
  apiKeys: ApiKeyService;
  /** Browser sessions (POST /auth/session): a key exchanged for an HttpOnly cookie. */
  sessions: SessionService;
  dvcImporter: DvcImporter;
  mlflowImporter: MlflowImporter;
  mlflowRuns: MlflowRunService;
  inference: InferenceService;
  comparisons: ComparisonService;
  /** optimizeVersion: derived (static int8) versions, made by a durable job. */
  optimizations: OptimizationService;
  /** Versions' speed in isolation and parameter counts. */
  speed: SpeedService;
  /** Online A/B experiments: routing, the prediction log, feedback and the sequential test. */
  experiments: ExperimentService;
}

/** The composition root shared by the HTTP server, the CLI and the tests. */
export interface App {
  readonly config: Config;
  readonly logger: Logger;
  readonly db: Database;
  readonly services: Services;
  readonly artifacts: ArtifactStore;
  /** Starts the background job runners, comparisons and optimizations (the server does; the CLI's one-shot commands do not). */
  startWorkers(): void;
  /** Fresh batch loaders: one set per request, never shared. */
  createLoaders(): RegistryLoaders;
  /**
   * Resolves an Authorization header value; no header means the anonymous actor. `verifyWait`
   * (ms until the caller may have a key verified, 0: now) throttles slow verifications.
   */
  authenticate(authorization: string | undefined, opts?: { verifyWait?: () => number }): Promise<Actor>;
  /** Prometheus metrics of this app (served at /metrics). */
  readonly metrics: GatewayMetrics;
  /** Open progress streams, capped per key and in all. */
  readonly streams: StreamLimits;
  /** The operating-system user of a local CLI command. */
  localActor(): Actor;
  close(): Promise<void>;
}

export interface AppOptions {
  logger?: Logger;
  inspector?: ModelInspector;
  /** The inference runtime (default: onnxruntime-node in worker threads). */
  backend?: InferenceBackend;
  /** Test seams: count queries, reuse a PGlite instance, skip migrations. */
  database?: Pick<DatabaseOptions, 'onQuery' | 'pglite' | 'migrate'>;
  /** The int8 quantizer optimizations use (default: src/optimization/quantizer.ts). */
  quantizer?: Int8Quantizer;
}

export async function createApp(config: Config, opts: AppOptions = {}): Promise<App> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const db = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    logger,
    timeouts: config.databaseTimeouts,
    ...opts.database,
  });
  const repos = {
    models: new ModelRepository(db.prisma),
    versions: new VersionRepository(db.prisma),
    aliases: new AliasRepository(db.prisma),
    datasets: new DatasetRepository(db.prisma),
    apiKeys: new ApiKeyRepository(db.prisma),
  };
  const shared = config.artifactStore;
  const artifacts = new ArtifactStore(config.dataDir, shared.kind === 's3' ? new S3ArtifactStore(shared) : null);
  // API keys and version references resolve on every request: kept until the registry changes.
  const cache = new RegistryCache(db.changes);
  // Models run (and are inspected) in worker threads; a worker that dies takes its models with it
  // (they reload on next use).
  const backend =
    opts.backend ??
    new OnnxBackend(config.inference.workers, logger, (keys) => manager.forget(keys), {
      nice: config.inference.nice,
      runTimeoutMs: config.inference.runTimeoutMs,
      cudaDeviceId: config.inference.cudaDeviceId,
    });
  const models = new ModelService(repos.models);
  const versions = new VersionService({
    models,
    versions: repos.versions,
    aliases: repos.aliases,
    artifacts,
    inspector: opts.inspector ?? backend,
    importRoots: config.importRoots,
    cache,
  });
  const aliases = new AliasService({
    models,
    versions: repos.versions,
    aliases: repos.aliases,
    pinned: config.pinnedAliases,
  });
  const datasets = new DatasetService(repos.datasets, artifacts, config.inference.image);
  const mlflowRuns = new MlflowRunService(new MlflowRepository(db.prisma));
  const metrics = new GatewayMetrics();
  const manager = new ModelManager({
    backend,
    versions,
    artifacts,
    config,
    logger,
    telemetry: metrics,
  });
  const images = await ImagePool.create({
    workers: config.inference.preprocessWorkers,
    nice: config.inference.nice,
    limits: config.inference.image,
    logger,
  });
  const admission = new Admission({ perVersion: config.limits.queuePerVersion, total: config.limits.queueTotal });
  const inference = new InferenceService({ versions, manager, images, admission, config, telemetry: metrics });
  const comparisonRepo = new ComparisonRepository(db.prisma);
  const speed = new SpeedService({
    runtime: manager,
    speeds: new SpeedRepository(db.prisma),
    versions,
    inspector: opts.inspector ?? backend,
    artifacts,
    logger,
  });
  const runner = createComparisonRunner({
    comparisons: comparisonRepo,
    versions,
    models,
    datasets,
    inference,
    speed,
    artifacts,
    logger,
    concurrency: config.comparisons.concurrency,
    leaseMs: config.comparisons.leaseMs,
    pollMs: 1000,
    singleProcess: db.kind === 'pglite',
  });
  const comparisons = new ComparisonService({
    comparisons: comparisonRepo,
    versions,
    models,
    datasets,
    kick: () => runner.kick(),
    maxActivePerKey: config.comparisons.maxActivePerKey,
  });
  const optimizationRepo = new OptimizationRepository(db.prisma);
  // Optimizations share the comparisons' settings: one job at a time, the same lease and per-key cap.
  const optimizationRunner = createOptimizationRunner({
    optimizations: optimizationRepo,
    versions,
    models,
    datasets,
    comparisons,
    backend,
    images,
    artifacts,
    ...(opts.quantizer ? { quantizer: opts.quantizer } : {}),
    tmpDir: path.join(config.dataDir, 'tmp'),
    intraOpThreads: config.inference.intraOpThreads,
    spinning: config.inference.spinning,
    calibrationMemoryBytes: config.comparisons.calibrationMemoryBytes,
    logger,
    concurrency: config.comparisons.concurrency,
    leaseMs: config.comparisons.leaseMs,
    pollMs: 1000,
    singleProcess: db.kind === 'pglite',
  });
  const experimentRepo = new ExperimentRepository(db.prisma, db.copyRows);
  const predictionLog = new PredictionLog((rows) => experimentRepo.logPredictions(rows), {
    flushMs: config.experiments.logFlushMs,
    ...LOG_LIMITS,
    logger,
  });
  const router = new ExperimentRouter({
    experiments: experimentRepo,
    versions,
    cache,
    log: predictionLog,
    top1: (resolved, bytes) => inference.top1(resolved, bytes),
    inProgress: () => admission.stats().total,
    shadowConcurrency: config.experiments.shadowConcurrency,
    // Past a few images per inference worker, real requests are queueing: shadow work would add to the wait.
    shadowBusy: Math.max(4, config.inference.workers * 4),
    telemetry: metrics,
    logger,
  });
  inference.setRouting(router);
  const monitor = new ExperimentMonitor({
    experiments: experimentRepo,
    aliases,
    flushLog: () => predictionLog.flush(),
    intervalMs: config.experiments.monitorMs,
    retentionMs: config.experiments.retentionMs,
    logger,
  });
  const streams = new StreamLimits({ perKey: config.limits.ssePerKey, total: config.limits.sseTotal });
  metrics.readFrom({
    queue: () => admission.stats(),
    loaded: () => manager.list(),
    comparisonsByStatus: () => comparisonRepo.countByStatus(),
    streams: () => streams.open,
    predictionLog: () => predictionLog.stats,
  });
  const apiKeys = new ApiKeyService(repos.apiKeys, logger, cache);
  const services: Services = {
    models,
    versions,
    aliases,
    datasets,
    apiKeys,
    sessions: new SessionService(new SessionRepository(db.prisma), apiKeys, logger, config.sessions),
    dvcImporter: new DvcImporter({
      models,
      versions,
      aliases,
      datasets,
      artifacts,
      importRoots: config.importRoots,
      remotes: {
        allowedRemotes: config.dvc.allowedRemotes,
        maxBytes: config.dvc.remoteMaxBytes,
        timeoutMs: config.dvc.remoteTimeoutMs,
        downloadDir: path.join(config.dataDir, 'tmp'),
      },
      logger,
    }),
    mlflowImporter: new MlflowImporter({
      models,
      versions,
      aliases,
      mlflowRuns,
      importRoots: config.importRoots,
      allowedHosts: config.mlflow.allowedHosts,
      auth: { token: config.mlflow.token, username: config.mlflow.username, password: config.mlflow.password },
      timeoutMs: config.mlflow.timeoutMs,
      downloadDir: path.join(config.dataDir, 'tmp'),
      logger,
    }),
    mlflowRuns,
    inference,
    comparisons,
    optimizations: new OptimizationService({
      optimizations: optimizationRepo,
      versions,
      models,
      datasets,
      artifacts,
      images,
      kick: () => optimizationRunner.kick(),
      maxActivePerKey: config.comparisons.maxActivePerKey,
    }),
    speed,
    experiments: new ExperimentService({
      experiments: experimentRepo,
      models,
      versions,
      aliases,
      log: predictionLog,
      monitor,
    }),
  };
  return {
    config,
    logger,
    db,
    services,
    artifacts,
    createLoaders: () => createRegistryLoaders(repos),
    metrics,
    streams,
    authenticate: async (authorization, opts) => {
      if (!authorization) return anonymousActor(config.anonymousRead);
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (!match) throw unauthenticated('malformed Authorization header: expected "Bearer <api key>"');
      return services.apiKeys.authenticate(match[1]!, opts);
    },
    localActor: () => localActor(os.userInfo().username),
    startWorkers: () => {
      runner.start();
      optimizationRunner.start();
      monitor.start();
    },
    close: async () => {
      await Promise.all([runner.stop(), optimizationRunner.stop(), monitor.stop(), router.drain()]);
      await predictionLog.close();
      await images.close();
      await manager.close();
      await db.close();
      artifacts.remote?.close();
    },
  };
}
