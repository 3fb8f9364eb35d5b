/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/** viewer < operator < admin */
export type ApiKeyRole =
  | 'ADMIN'
  | 'OPERATOR'
  | 'VIEWER';

export type CalibrationInput = {
  /** Dataset whose images calibrate: "name" or "name@version". */
  dataset: string;
  /** Its first N images (by ordinal). */
  limit?: number | null | undefined;
  /** Default PERCENTILE (the most accurate on the demo ResNet-50: see BENCHMARKS.md). */
  method?: CalibrationMethod | null | undefined;
};

/** How activation ranges are chosen from the calibration images. */
export type CalibrationMethod =
  | 'ENTROPY'
  | 'MINMAX'
  | 'PERCENTILE';

export type ExperimentArmInput = {
  /** Letters, digits, ".", "_", "-"; at most 40. */
  name: string;
  /** A READY version of the experiment's model. */
  ref: VersionRefInput;
  /** SPLIT: the arm's share of traffic (weights are normalised; a control the arms leave out gets 1 minus their sum). SHADOW: the share of requests also run on the arm, in [0, 1]. */
  weight: number;
};

/** What the always-valid test (or a guardrail, or a person) decided. */
export type ExperimentDecision =
  /** A candidate is more accurate than the control: always-valid p ≤ alpha. */
  | 'CANDIDATE_BETTER'
  /** No significant difference yet (or fewer than minSamples observations). */
  | 'CONTINUE'
  /** The control is more accurate: always-valid p ≤ alpha. */
  | 'CONTROL_BETTER'
  /** A guardrail stopped the arm's traffic (stoppedReason says which). */
  | 'GUARDRAIL_BREACHED'
  /** Stopped by a person before a significant difference. */
  | 'STOPPED';

/** How an experiment uses the traffic of the model. */
export type ExperimentMode =
  /** The control answers every request; each candidate also runs on a share (its weight) of them, off the response path. */
  | 'SHADOW'
  /** Each request is answered by one arm, drawn by weight (or by the routing key). */
  | 'SPLIT';

export type ExperimentStatus =
  | 'RUNNING'
  | 'STOPPED';

export type GuardrailsInput = {
  /** Stop a candidate's traffic when more than this share of its latest requests fail (0..1). */
  maxErrorRate?: number | null | undefined;
  /** Stop a candidate's traffic when the p99 latency of its latest requests is above this (ms). */
  maxLatencyP99Ms?: number | null | undefined;
  /** Requests an arm must have served (on a gateway) before its guardrails judge it; default 100. */
  minRequests?: number | null | undefined;
};

/** An image: exactly one of base64 (raw file bytes, or a data: URL) or a multipart upload. */
export type ImageInput = {
  /** PNG, JPEG, WebP, TIFF, GIF or AVIF file bytes, base64-encoded; data: URLs accepted. */
  base64?: string | null | undefined;
  /** The GraphQL multipart request spec; send the header apollo-require-preflight: true. */
  upload?: File | null | undefined;
};

export type ImportDvcInput = {
  /** The dataset's name (default: the folder's name). */
  dataset?: string | null | undefined;
  /** A directory output of labeled images with no type: annotation, imported as a dataset. */
  datasetPath?: string | null | undefined;
  dryRun?: boolean | null | undefined;
  /** The inputSpec for a model `model` that does not exist yet (see README). */
  inputSpec?: unknown;
  /** Class names: for a model `model` that does not exist yet, and the dataset's classes. */
  labels?: Array<string> | null | undefined;
  /** A labels file inside the `datasetPath` directory (default: one folder per class). */
  labelsFile?: string | null | undefined;
  /** The registered model `modelPath` becomes a version of. */
  model?: string | null | undefined;
  /** An ONNX file tracked by a .dvc file, a dvc.lock stage output or git, with no type: annotation, imported as a version of `model`. */
  modelPath?: string | null | undefined;
  /** Path of the DVC project (the folder holding .dvc/) on the gateway's machine. */
  repoPath: string;
  /** Git revision to read (default: the working tree at HEAD). */
  rev?: string | null | undefined;
};

export type ImportMlflowInput = {
  dryRun?: boolean | null | undefined;
  /** Experiment name or id (default: all). */
  experiment?: string | null | undefined;
  /** Only this registered model's versions and the runs they name (default: all). An unknown name is BAD_USER_INPUT, and nothing is written. */
  registeredModel?: string | null | undefined;
  /** An mlruns/ directory, a file:// URI or an http(s) tracking server. One store however it is written (a trailing slash, a symlink, host case, a default port): runs and versions are keyed by its real path or normalised URL. */
  trackingUri: string;
};

export type JobStatus =
  | 'CANCELLED'
  | 'FAILED'
  | 'QUEUED'
  | 'RUNNING'
  | 'SUCCEEDED';

/** How a derived version is made from its parent. */
export type OptimizationMethod =
  /** Static int8 (QDQ): int8 weights per output channel, uint8 activations calibrated on a dataset. */
  | 'INT8_STATIC';

export type OptimizeVersionInput = {
  calibration: CalibrationInput;
  /** Queue a comparison of the result against its parent. */
  compare?: boolean | null | undefined;
  /** That comparison's dataset (default: the calibration dataset). */
  comparisonDataset?: string | null | undefined;
  /** Compare on the first N items only (default: all). */
  comparisonLimit?: number | null | undefined;
  method: OptimizationMethod;
  /** That comparison's non-inferiority margin on accuracy (default 0.01: one point). */
  nonInferiorityMargin?: number | null | undefined;
  ref: VersionRefInput;
};

/** How tensors travel to a remote engine: the binary tensor data extension (Triton's, KServe's) or JSON. */
export type RemoteProtocol =
  | 'BINARY'
  | 'JSON';

export type ReportFormat =
  | 'HTML'
  | 'MARKDOWN';

export type StartComparisonInput = {
  /** Default 0.05. */
  alpha?: number | null | undefined;
  /** Default: the "baseline" alias of the candidate's model. */
  baseline?: VersionRefInput | null | undefined;
  candidate: VersionRefInput;
  /** "name" (latest version) or "name@version". */
  dataset: string;
  /** Recompute even when an identical comparison exists. */
  force?: boolean | null | undefined;
  /** Model label → dataset label, for models that name the classes differently. */
  labelMapping?: unknown;
  /** Evaluate the first N items only. */
  limit?: number | null | undefined;
  /** Non-inferiority margin on the accuracy difference (e.g. 0.01). */
  nonInferiorityMargin?: number | null | undefined;
};

export type StartExperimentInput = {
  /** Significance level of the always-valid test; default 0.05. */
  alpha?: number | null | undefined;
  /** The arms, at most 8. The control arm defaults to the one on the model's "baseline" alias, added (as "control") when no arm is. */
  arms: Array<ExperimentArmInput>;
  /** Move "champion" to a significantly better candidate and stop (needs the right to move champion). */
  autoPromote?: boolean | null | undefined;
  /** The control arm's name (default: the baseline's arm). */
  control?: string | null | undefined;
  guardrails?: GuardrailsInput | null | undefined;
  /** Observations each compared arm needs (pairs in SHADOW) before the test may decide; default 100. */
  minSamples?: number | null | undefined;
  mode?: ExperimentMode | null | undefined;
  model: string;
  name: string;
  /** Seeds the draw of requests without a routing key (default: random). */
  seed?: number | null | undefined;
};

export type Verdict =
  | 'BASELINE_BETTER'
  | 'CANDIDATE_BETTER'
  | 'NO_SIGNIFICANT_DIFFERENCE';

/** Which version to use: an explicit number, an alias, or (neither) the model's default routing. */
export type VersionRefInput = {
  /** e.g. "baseline", "champion" */
  alias?: string | null | undefined;
  model: string;
  version?: number | null | undefined;
};

export type VersionStatus =
  | 'ARCHIVED'
  | 'FAILED'
  | 'PENDING'
  | 'READY';

export type UiSetAliasMutationVariables = Exact<{
  model: string;
  alias: string;
  version: number;
}>;


export type UiSetAliasMutation = { setAlias: { name: string, version: { version: number } } };

export type UiRemoveAliasMutationVariables = Exact<{
  model: string;
  alias: string;
}>;


export type UiRemoveAliasMutation = { removeAlias: boolean };

export type UiStartComparisonMutationVariables = Exact<{
  input: StartComparisonInput;
}>;


export type UiStartComparisonMutation = { startComparison: { id: string, status: JobStatus } };

export type UiOptimizeVersionMutationVariables = Exact<{
  input: OptimizeVersionInput;
}>;


export type UiOptimizeVersionMutation = { optimizeVersion: { id: string, status: JobStatus } };

export type UiRuntimeSettingsQueryVariables = Exact<{ [key: string]: never; }>;


export type UiRuntimeSettingsQuery = { runtime: { pinnedAliases: Array<string>, memoryBudgetMB: number, executionProviders: Array<string> } };

export type UiModelChoicesQueryVariables = Exact<{ [key: string]: never; }>;


export type UiModelChoicesQuery = { models: Array<{ name: string, aliases: Array<{ name: string, version: { version: number } }>, versions: Array<{ version: number, status: VersionStatus }> }>, datasets: Array<{ name: string, version: number, size: number }> };

export type UiMetricsFragment = { n: number, accuracy: number, macroF1: number, top5Accuracy: number | null, ece: number, nll: number, brier: number, meanConfidence: number, queuedLatencyMsP50: number, queuedLatencyMsP95: number, queuedThroughput: number | null, sizeBytes: number, parameters: number | null, confusionMatrix: Array<Array<number>>, perClass: unknown, reliability: unknown, speed: { batch1Ms: number, batch1Runs: number, batch32ImagesPerSecond: number, throughputBatchSize: number, executionProvider: string, threads: number | null, width: number, height: number, channels: number } | null };

export type UiComparisonQueryVariables = Exact<{
  id: string | number;
}>;


export type UiComparisonQuery = { comparison: { id: string, status: JobStatus, progress: number, itemsDone: number, total: number, etaSeconds: number | null, alpha: number, n: number | null, verdict: Verdict | null, summary: string | null, error: string | null, nonInferior: boolean | null, nonInferiorityMargin: number | null, createdAt: string, finishedAt: string | null, accuracyDelta: number | null, accuracyDeltaCi95: Array<number> | null, macroF1Delta: number | null, macroF1DeltaCi95: Array<number> | null, mcnemarPValue: number | null, mcnemarMidP: number | null, agreement: number | null, discordantBaselineOnly: number | null, discordantCandidateOnly: number | null, candidate: { version: number, aliases: Array<string>, model: { name: string } }, baseline: { version: number, aliases: Array<string> }, dataset: { name: string, version: number, labels: Array<string> }, baselineMetrics: { n: number, accuracy: number, macroF1: number, top5Accuracy: number | null, ece: number, nll: number, brier: number, meanConfidence: number, queuedLatencyMsP50: number, queuedLatencyMsP95: number, queuedThroughput: number | null, sizeBytes: number, parameters: number | null, confusionMatrix: Array<Array<number>>, perClass: unknown, reliability: unknown, speed: { batch1Ms: number, batch1Runs: number, batch32ImagesPerSecond: number, throughputBatchSize: number, executionProvider: string, threads: number | null, width: number, height: number, channels: number } | null } | null, candidateMetrics: { n: number, accuracy: number, macroF1: number, top5Accuracy: number | null, ece: number, nll: number, brier: number, meanConfidence: number, queuedLatencyMsP50: number, queuedLatencyMsP95: number, queuedThroughput: number | null, sizeBytes: number, parameters: number | null, confusionMatrix: Array<Array<number>>, perClass: unknown, reliability: unknown, speed: { batch1Ms: number, batch1Runs: number, batch32ImagesPerSecond: number, throughputBatchSize: number, executionProvider: string, threads: number | null, width: number, height: number, channels: number } | null } | null, disagreements: Array<{ ordinal: number, path: string, label: string, baselineLabel: string, baselineProbability: number, candidateLabel: string, candidateProbability: number }> } | null };

export type UiComparisonReportQueryVariables = Exact<{
  id: string | number;
  format: ReportFormat;
}>;


export type UiComparisonReportQuery = { comparison: { report: string | null } | null };

export type UiCancelComparisonMutationVariables = Exact<{
  id: string | number;
}>;


export type UiCancelComparisonMutation = { cancelComparison: { id: string, status: JobStatus } };

export type UiComparisonsQueryVariables = Exact<{
  model?: string | null | undefined;
}>;


export type UiComparisonsQuery = { comparisons: Array<{ id: string, status: JobStatus, progress: number, itemsDone: number, total: number, verdict: Verdict | null, accuracyDelta: number | null, createdAt: string, candidate: { version: number, model: { name: string } }, baseline: { version: number }, dataset: { name: string, version: number } }> };

export type UiDatasetsQueryVariables = Exact<{ [key: string]: never; }>;


export type UiDatasetsQuery = { datasets: Array<{ name: string, version: number, size: number, digest: string, labels: Array<string>, storageUri: string, createdAt: string, classCounts: Array<number> }> };

export type UiExperimentQueryVariables = Exact<{
  id: string | number;
}>;


export type UiExperimentQuery = { experiment: { id: string, name: string, mode: ExperimentMode, status: ExperimentStatus, decision: ExperimentDecision, decisionReason: string | null, alpha: number, minSamples: number, autoPromote: boolean, promotedVersion: number | null, createdBy: string, startedAt: string, stoppedAt: string | null, stoppedBy: string | null, guardrails: { maxErrorRate: number | null, maxLatencyP99Ms: number | null, minRequests: number }, model: { name: string }, control: { name: string }, arms: Array<{ name: string, weight: number, isControl: boolean, active: boolean, stoppedReason: string | null, requests: number, errors: number, errorsByCode: unknown, shadowDropped: number, latencyP50Ms: number | null, latencyP99Ms: number | null, feedbackCount: number, correct: number, accuracy: number | null, agreement: number | null, modelVersion: { version: number, aliases: Array<string> }, test: { method: string, pValue: number, estimate: number | null, confidenceSequence: Array<number> | null, samples: number, controlOnlyRight: number | null, candidateOnlyRight: number | null, decision: ExperimentDecision } | null }>, series: Array<{ arm: string, at: string, feedback: number, correct: number, accuracy: number | null, pValue: number | null, csLow: number | null, csHigh: number | null }> } | null };

export type UiStopExperimentMutationVariables = Exact<{
  id: string | number;
  promote?: boolean | null | undefined;
}>;


export type UiStopExperimentMutation = { stopExperiment: { id: string, status: ExperimentStatus, decision: ExperimentDecision, promotedVersion: number | null } };

export type UiExperimentsQueryVariables = Exact<{
  model?: string | null | undefined;
}>;


export type UiExperimentsQuery = { experiments: Array<{ id: string, name: string, mode: ExperimentMode, status: ExperimentStatus, decision: ExperimentDecision, startedAt: string, stoppedAt: string | null, promotedVersion: number | null, model: { name: string }, arms: Array<{ name: string, weight: number, isControl: boolean, active: boolean, feedbackCount: number, modelVersion: { version: number } }> }> };

export type UiStartExperimentMutationVariables = Exact<{
  input: StartExperimentInput;
}>;


export type UiStartExperimentMutation = { startExperiment: { id: string, status: ExperimentStatus } };

export type UiImportReportFragment = { created: number, updated: number, unchanged: number, failed: number, items: Array<{ action: string, kind: string, name: string, version: number | null, reason: string | null }> };

export type UiImportDvcMutationVariables = Exact<{
  input: ImportDvcInput;
}>;


export type UiImportDvcMutation = { importDvc: { created: number, updated: number, unchanged: number, failed: number, items: Array<{ action: string, kind: string, name: string, version: number | null, reason: string | null }> } };

export type UiImportMlflowMutationVariables = Exact<{
  input: ImportMlflowInput;
}>;


export type UiImportMlflowMutation = { importMlflow: { created: number, updated: number, unchanged: number, failed: number, items: Array<{ action: string, kind: string, name: string, version: number | null, reason: string | null }> } };

export type UiKeysQueryVariables = Exact<{ [key: string]: never; }>;


export type UiKeysQuery = { apiKeys: Array<{ name: string, role: ApiKeyRole, prefix: string, createdAt: string, lastUsedAt: string | null, revokedAt: string | null }> };

export type UiCreateKeyMutationVariables = Exact<{
  name: string;
  role: ApiKeyRole;
}>;


export type UiCreateKeyMutation = { createApiKey: { key: string, apiKey: { name: string, role: ApiKeyRole } } };

export type UiRevokeKeyMutationVariables = Exact<{
  name: string;
}>;


export type UiRevokeKeyMutation = { revokeApiKey: { name: string, revokedAt: string | null } };

export type UiModelQueryVariables = Exact<{
  name: string;
}>;


export type UiModelQuery = { model: { name: string, description: string | null, task: string, labels: Array<string>, aliases: Array<{ name: string, updatedAt: string, version: { version: number } }>, aliasHistory: Array<{ alias: string, fromVersion: number | null, toVersion: number | null, actor: string, reason: string | null, createdAt: string }>, versions: Array<{ id: string, version: number, status: VersionStatus, statusReason: string | null, aliases: Array<string>, sizeBytes: string, parameters: string | null, createdAt: string, speed: { batch1Ms: number, width: number, height: number, channels: number, executionProvider: string, threads: number | null, measuredAt: string } | null, parent: { version: number } | null, dvc: { path: string, rev: string | null } | null, mlflowRun: { runId: string, runName: string | null, metrics: unknown } | null }> } | null, experiments: Array<{ id: string, name: string, mode: ExperimentMode, startedAt: string }>, comparisons: Array<{ id: string, status: JobStatus, finishedAt: string | null, candidate: { version: number }, baseline: { version: number }, dataset: { name: string, version: number }, candidateMetrics: { accuracy: number } | null, baselineMetrics: { accuracy: number } | null }> };

export type UiModelsQueryVariables = Exact<{
  search?: string | null | undefined;
}>;


export type UiModelsQuery = { models: Array<{ name: string, description: string | null, task: string, labels: Array<string>, updatedAt: string, aliases: Array<{ name: string, version: { version: number } }>, versions: Array<{ version: number, status: VersionStatus, tags: unknown, createdAt: string }> }> };

export type UiPredictBatchQueryVariables = Exact<{
  ref: VersionRefInput;
  images: Array<ImageInput> | ImageInput;
  topK?: number | null | undefined;
}>;


export type UiPredictBatchQuery = { predictBatch: Array<{ resolvedBy: string, executionProvider: string, timingsMs: unknown, modelVersion: { version: number }, top: Array<{ label: string, probability: number }> }> };

export type UiRuntimeQueryVariables = Exact<{ [key: string]: never; }>;


export type UiRuntimeQuery = { runtime: { memoryBudgetMB: number, executionProviders: Array<string>, pinnedAliases: Array<string> }, loadedVersions: Array<{ state: string, executionProvider: string | null, memoryMB: number, pinned: boolean, requests: number, lastUsed: string | null, loadedAt: string | null, loadMs: number | null, reason: string | null, maxBatchSize: number, modelVersion: { id: string, version: number, model: { name: string } } }>, models: Array<{ name: string, versions: Array<{ version: number, status: VersionStatus }> }> };

export type UiLoadVersionMutationVariables = Exact<{
  ref: VersionRefInput;
}>;


export type UiLoadVersionMutation = { loadVersion: { state: string } };

export type UiUnloadVersionMutationVariables = Exact<{
  ref: VersionRefInput;
}>;


export type UiUnloadVersionMutation = { unloadVersion: boolean };

export type UiVersionQueryVariables = Exact<{
  ref: VersionRefInput;
}>;


export type UiVersionQuery = { modelVersion: { id: string, version: number, status: VersionStatus, statusReason: string | null, artifactUri: string, format: string, md5: string, sha256: string, sizeBytes: string, parameters: string | null, executionProviders: Array<string> | null, createdAt: string, aliases: Array<string>, tags: unknown, signature: unknown, remote: { url: string, model: string, modelVersion: string | null, protocol: RemoteProtocol, timeoutMs: number } | null, speed: { batch1Ms: number, batch1Runs: number, batch32ImagesPerSecond: number, throughputBatchSize: number, executionProvider: string, threads: number | null, width: number, height: number, channels: number, measuredAt: string } | null, parent: { version: number } | null, children: Array<{ version: number, status: VersionStatus }>, derivation: { method: OptimizationMethod, calibrationDataset: string | null, calibrationItems: number | null, calibrationMethod: CalibrationMethod | null, tool: string | null, quantizedNodes: number | null, foldedDequantize: number | null, optimization: { id: string, comparison: { id: string, status: JobStatus, verdict: Verdict | null, nonInferior: boolean | null } | null } | null } | null, model: { name: string, inputSpec: unknown, labels: Array<string> }, dvc: { repo: string, rev: string | null, path: string, md5: string, remote: string | null, dirty: boolean } | null, mlflowRun: { runId: string, runName: string | null, experimentId: string, experimentName: string | null, status: string | null, startTime: string | null, endTime: string | null, params: unknown, metrics: unknown, tags: unknown, trackingUri: string, metricHistory: Array<{ key: string, step: number, value: number | null }> } | null } | null, loadedVersions: Array<{ state: string, executionProvider: string | null, memoryMB: number, requests: number, lastUsed: string | null, reason: string | null, modelVersion: { id: string } }>, datasets: Array<{ name: string, version: number, size: number }> };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const UiMetricsFragmentDoc = new TypedDocumentString(`
    fragment UiMetrics on VersionMetrics {
  n
  accuracy
  macroF1
  top5Accuracy
  ece
  nll
  brier
  meanConfidence
  queuedLatencyMsP50
  queuedLatencyMsP95
  queuedThroughput
  sizeBytes
  parameters
  speed {
    batch1Ms
    batch1Runs
    batch32ImagesPerSecond
    throughputBatchSize
    executionProvider
    threads
    width
    height
    channels
  }
  confusionMatrix
  perClass
  reliability
}
    `, {"fragmentName":"UiMetrics"}) as unknown as TypedDocumentString<UiMetricsFragment, unknown>;
export const UiImportReportFragmentDoc = new TypedDocumentString(`
    fragment UiImportReport on ImportReport {
  created
  updated
  unchanged
  failed
  items {
    action
    kind
    name
    version
    reason
  }
}
    `, {"fragmentName":"UiImportReport"}) as unknown as TypedDocumentString<UiImportReportFragment, unknown>;
export const UiSetAliasDocument = new TypedDocumentString(`
    mutation UiSetAlias($model: String!, $alias: String!, $version: Int!) {
  setAlias(model: $model, alias: $alias, version: $version) {
    name
    version {
      version
    }
  }
}
    `) as unknown as TypedDocumentString<UiSetAliasMutation, UiSetAliasMutationVariables>;
export const UiRemoveAliasDocument = new TypedDocumentString(`
    mutation UiRemoveAlias($model: String!, $alias: String!) {
  removeAlias(model: $model, alias: $alias)
}
    `) as unknown as TypedDocumentString<UiRemoveAliasMutation, UiRemoveAliasMutationVariables>;
export const UiStartComparisonDocument = new TypedDocumentString(`
    mutation UiStartComparison($input: StartComparisonInput!) {
  startComparison(input: $input) {
    id
    status
  }
}
    `) as unknown as TypedDocumentString<UiStartComparisonMutation, UiStartComparisonMutationVariables>;
export const UiOptimizeVersionDocument = new TypedDocumentString(`
    mutation UiOptimizeVersion($input: OptimizeVersionInput!) {
  optimizeVersion(input: $input) {
    id
    status
  }
}
    `) as unknown as TypedDocumentString<UiOptimizeVersionMutation, UiOptimizeVersionMutationVariables>;
export const UiRuntimeSettingsDocument = new TypedDocumentString(`
    query UiRuntimeSettings {
  runtime {
    pinnedAliases
    memoryBudgetMB
    executionProviders
  }
}
    `) as unknown as TypedDocumentString<UiRuntimeSettingsQuery, UiRuntimeSettingsQueryVariables>;
export const UiModelChoicesDocument = new TypedDocumentString(`
    query UiModelChoices {
  models(first: 100) {
    name
    aliases {
      name
      version {
        version
      }
    }
    versions(first: 100) {
      version
      status
    }
  }
  datasets(first: 100) {
    name
    version
    size
  }
}
    `) as unknown as TypedDocumentString<UiModelChoicesQuery, UiModelChoicesQueryVariables>;
export const UiComparisonDocument = new TypedDocumentString(`
    query UiComparison($id: ID!) {
  comparison(id: $id) {
    id
    status
    progress
    itemsDone
    total
    etaSeconds
    alpha
    n
    verdict
    summary
    error
    nonInferior
    nonInferiorityMargin
    createdAt
    finishedAt
    accuracyDelta
    accuracyDeltaCi95
    macroF1Delta
    macroF1DeltaCi95
    mcnemarPValue
    mcnemarMidP
    agreement
    discordantBaselineOnly
    discordantCandidateOnly
    candidate {
      version
      aliases
      model {
        name
      }
    }
    baseline {
      version
      aliases
    }
    dataset {
      name
      version
      labels
    }
    baselineMetrics {
      ...UiMetrics
    }
    candidateMetrics {
      ...UiMetrics
    }
    disagreements(first: 48) {
      ordinal
      path
      label
      baselineLabel
      baselineProbability
      candidateLabel
      candidateProbability
    }
  }
}
    fragment UiMetrics on VersionMetrics {
  n
  accuracy
  macroF1
  top5Accuracy
  ece
  nll
  brier
  meanConfidence
  queuedLatencyMsP50
  queuedLatencyMsP95
  queuedThroughput
  sizeBytes
  parameters
  speed {
    batch1Ms
    batch1Runs
    batch32ImagesPerSecond
    throughputBatchSize
    executionProvider
    threads
    width
    height
    channels
  }
  confusionMatrix
  perClass
  reliability
}`) as unknown as TypedDocumentString<UiComparisonQuery, UiComparisonQueryVariables>;
export const UiComparisonReportDocument = new TypedDocumentString(`
    query UiComparisonReport($id: ID!, $format: ReportFormat!) {
  comparison(id: $id) {
    report(format: $format)
  }
}
    `) as unknown as TypedDocumentString<UiComparisonReportQuery, UiComparisonReportQueryVariables>;
export const UiCancelComparisonDocument = new TypedDocumentString(`
    mutation UiCancelComparison($id: ID!) {
  cancelComparison(id: $id) {
    id
    status
  }
}
    `) as unknown as TypedDocumentString<UiCancelComparisonMutation, UiCancelComparisonMutationVariables>;
export const UiComparisonsDocument = new TypedDocumentString(`
    query UiComparisons($model: String) {
  comparisons(first: 50, model: $model) {
    id
    status
    progress
    itemsDone
    total
    verdict
    accuracyDelta
    createdAt
    candidate {
      version
      model {
        name
      }
    }
    baseline {
      version
    }
    dataset {
      name
      version
    }
  }
}
    `) as unknown as TypedDocumentString<UiComparisonsQuery, UiComparisonsQueryVariables>;
export const UiDatasetsDocument = new TypedDocumentString(`
    query UiDatasets {
  datasets(first: 100) {
    name
    version
    size
    digest
    labels
    storageUri
    createdAt
    classCounts
  }
}
    `) as unknown as TypedDocumentString<UiDatasetsQuery, UiDatasetsQueryVariables>;
export const UiExperimentDocument = new TypedDocumentString(`
    query UiExperiment($id: ID!) {
  experiment(id: $id) {
    id
    name
    mode
    status
    decision
    decisionReason
    alpha
    minSamples
    autoPromote
    promotedVersion
    createdBy
    startedAt
    stoppedAt
    stoppedBy
    guardrails {
      maxErrorRate
      maxLatencyP99Ms
      minRequests
    }
    model {
      name
    }
    control {
      name
    }
    arms {
      name
      weight
      isControl
      active
      stoppedReason
      requests
      errors
      errorsByCode
      shadowDropped
      latencyP50Ms
      latencyP99Ms
      feedbackCount
      correct
      accuracy
      agreement
      modelVersion {
        version
        aliases
      }
      test {
        method
        pValue
        estimate
        confidenceSequence
        samples
        controlOnlyRight
        candidateOnlyRight
        decision
      }
    }
    series(points: 200) {
      arm
      at
      feedback
      correct
      accuracy
      pValue
      csLow
      csHigh
    }
  }
}
    `) as unknown as TypedDocumentString<UiExperimentQuery, UiExperimentQueryVariables>;
export const UiStopExperimentDocument = new TypedDocumentString(`
    mutation UiStopExperiment($id: ID!, $promote: Boolean) {
  stopExperiment(id: $id, promote: $promote) {
    id
    status
    decision
    promotedVersion
  }
}
    `) as unknown as TypedDocumentString<UiStopExperimentMutation, UiStopExperimentMutationVariables>;
export const UiExperimentsDocument = new TypedDocumentString(`
    query UiExperiments($model: String) {
  experiments(first: 100, model: $model) {
    id
    name
    mode
    status
    decision
    startedAt
    stoppedAt
    promotedVersion
    model {
      name
    }
    arms {
      name
      weight
      isControl
      active
      feedbackCount
      modelVersion {
        version
      }
    }
  }
}
    `) as unknown as TypedDocumentString<UiExperimentsQuery, UiExperimentsQueryVariables>;
export const UiStartExperimentDocument = new TypedDocumentString(`
    mutation UiStartExperiment($input: StartExperimentInput!) {
  startExperiment(input: $input) {
    id
    status
  }
}
    `) as unknown as TypedDocumentString<UiStartExperimentMutation, UiStartExperimentMutationVariables>;
export const UiImportDvcDocument = new TypedDocumentString(`
    mutation UiImportDvc($input: ImportDvcInput!) {
  importDvc(input: $input) {
    ...UiImportReport
  }
}
    fragment UiImportReport on ImportReport {
  created
  updated
  unchanged
  failed
  items {
    action
    kind
    name
    version
    reason
  }
}`) as unknown as TypedDocumentString<UiImportDvcMutation, UiImportDvcMutationVariables>;
export const UiImportMlflowDocument = new TypedDocumentString(`
    mutation UiImportMlflow($input: ImportMlflowInput!) {
  importMlflow(input: $input) {
    ...UiImportReport
  }
}
    fragment UiImportReport on ImportReport {
  created
  updated
  unchanged
  failed
  items {
    action
    kind
    name
    version
    reason
  }
}`) as unknown as TypedDocumentString<UiImportMlflowMutation, UiImportMlflowMutationVariables>;
export const UiKeysDocument = new TypedDocumentString(`
    query UiKeys {
  apiKeys(first: 100) {
    name
    role
    prefix
    createdAt
    lastUsedAt
    revokedAt
  }
}
    `) as unknown as TypedDocumentString<UiKeysQuery, UiKeysQueryVariables>;
export const UiCreateKeyDocument = new TypedDocumentString(`
    mutation UiCreateKey($name: String!, $role: ApiKeyRole!) {
  createApiKey(name: $name, role: $role) {
    key
    apiKey {
      name
      role
    }
  }
}
    `) as unknown as TypedDocumentString<UiCreateKeyMutation, UiCreateKeyMutationVariables>;
export const UiRevokeKeyDocument = new TypedDocumentString(`
    mutation UiRevokeKey($name: String!) {
  revokeApiKey(name: $name) {
    name
    revokedAt
  }
}
    `) as unknown as TypedDocumentString<UiRevokeKeyMutation, UiRevokeKeyMutationVariables>;
export const UiModelDocument = new TypedDocumentString(`
    query UiModel($name: String!) {
  model(name: $name) {
    name
    description
    task
    labels
    aliases {
      name
      updatedAt
      version {
        version
      }
    }
    aliasHistory(first: 100) {
      alias
      fromVersion
      toVersion
      actor
      reason
      createdAt
    }
    versions(first: 100) {
      id
      version
      status
      statusReason
      aliases
      sizeBytes
      parameters
      speed {
        batch1Ms
        width
        height
        channels
        executionProvider
        threads
        measuredAt
      }
      createdAt
      parent {
        version
      }
      dvc {
        path
        rev
      }
      mlflowRun {
        runId
        runName
        metrics
      }
    }
  }
  experiments(model: $name, status: RUNNING, first: 1) {
    id
    name
    mode
    startedAt
  }
  comparisons(model: $name, first: 50) {
    id
    status
    finishedAt
    candidate {
      version
    }
    baseline {
      version
    }
    dataset {
      name
      version
    }
    candidateMetrics {
      accuracy
    }
    baselineMetrics {
      accuracy
    }
  }
}
    `) as unknown as TypedDocumentString<UiModelQuery, UiModelQueryVariables>;
export const UiModelsDocument = new TypedDocumentString(`
    query UiModels($search: String) {
  models(first: 100, search: $search) {
    name
    description
    task
    labels
    updatedAt
    aliases {
      name
      version {
        version
      }
    }
    versions(first: 100) {
      version
      status
      tags
      createdAt
    }
  }
}
    `) as unknown as TypedDocumentString<UiModelsQuery, UiModelsQueryVariables>;
export const UiPredictBatchDocument = new TypedDocumentString(`
    query UiPredictBatch($ref: VersionRefInput!, $images: [ImageInput!]!, $topK: Int) {
  predictBatch(ref: $ref, images: $images, topK: $topK) {
    resolvedBy
    executionProvider
    timingsMs
    modelVersion {
      version
    }
    top {
      label
      probability
    }
  }
}
    `) as unknown as TypedDocumentString<UiPredictBatchQuery, UiPredictBatchQueryVariables>;
export const UiRuntimeDocument = new TypedDocumentString(`
    query UiRuntime {
  runtime {
    memoryBudgetMB
    executionProviders
    pinnedAliases
  }
  loadedVersions(first: 100) {
    state
    executionProvider
    memoryMB
    pinned
    requests
    lastUsed
    loadedAt
    loadMs
    reason
    maxBatchSize
    modelVersion {
      id
      version
      model {
        name
      }
    }
  }
  models(first: 100) {
    name
    versions(first: 100) {
      version
      status
    }
  }
}
    `) as unknown as TypedDocumentString<UiRuntimeQuery, UiRuntimeQueryVariables>;
export const UiLoadVersionDocument = new TypedDocumentString(`
    mutation UiLoadVersion($ref: VersionRefInput!) {
  loadVersion(ref: $ref) {
    state
  }
}
    `) as unknown as TypedDocumentString<UiLoadVersionMutation, UiLoadVersionMutationVariables>;
export const UiUnloadVersionDocument = new TypedDocumentString(`
    mutation UiUnloadVersion($ref: VersionRefInput!) {
  unloadVersion(ref: $ref)
}
    `) as unknown as TypedDocumentString<UiUnloadVersionMutation, UiUnloadVersionMutationVariables>;
export const UiVersionDocument = new TypedDocumentString(`
    query UiVersion($ref: VersionRefInput!) {
  modelVersion(ref: $ref) {
    id
    version
    status
    statusReason
    artifactUri
    format
    md5
    sha256
    sizeBytes
    parameters
    executionProviders
    remote {
      url
      model
      modelVersion
      protocol
      timeoutMs
    }
    speed {
      batch1Ms
      batch1Runs
      batch32ImagesPerSecond
      throughputBatchSize
      executionProvider
      threads
      width
      height
      channels
      measuredAt
    }
    createdAt
    aliases
    tags
    signature
    parent {
      version
    }
    children {
      version
      status
    }
    derivation {
      method
      calibrationDataset
      calibrationItems
      calibrationMethod
      tool
      quantizedNodes
      foldedDequantize
      optimization {
        id
        comparison {
          id
          status
          verdict
          nonInferior
        }
      }
    }
    model {
      name
      inputSpec
      labels
    }
    dvc {
      repo
      rev
      path
      md5
      remote
      dirty
    }
    mlflowRun {
      runId
      runName
      experimentId
      experimentName
      status
      startTime
      endTime
      params
      metrics
      tags
      trackingUri
      metricHistory(first: 1000) {
        key
        step
        value
      }
    }
  }
  loadedVersions(first: 100) {
    state
    executionProvider
    memoryMB
    requests
    lastUsed
    reason
    modelVersion {
      id
    }
  }
  datasets(first: 100) {
    name
    version
    size
  }
}
    `) as unknown as TypedDocumentString<UiVersionQuery, UiVersionQueryVariables>;