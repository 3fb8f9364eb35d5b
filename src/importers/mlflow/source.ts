/** MLflow entities as both sources (FileStore directory, tracking server) deliver them. */
export interface MlflowExperiment {
  id: string;
  name: string;
  artifactLocation: string | null;
  lifecycleStage: string;
}

export interface MlflowMetricPoint {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

export interface MlflowRunData {
  runId: string;
  experimentId: string;
  runName: string | null;
  /** RUNNING, SCHEDULED, FINISHED, FAILED or KILLED. */
  status: string;
  startTime: number | null;
  endTime: number | null;
  artifactUri: string | null;
  userId: string | null;
  lifecycleStage: string;
  params: Record<string, string>;
  tags: Record<string, string>;
  /** The full history of every metric. */
  metrics: MlflowMetricPoint[];
  /** MLflow 3 LoggedModels the run produced (`m-<id>`). */
  loggedModels: string[];
}

export interface MlflowRegisteredVersion {
  name: string;
  version: number;
  source: string;
  runId: string | null;
  /** MLflow 3: the LoggedModel registered (`m-<id>`), when the source is one. */
  modelId: string | null;
  /** Where the version's files are (`storage_location`, or what get-download-uri answers). */
  storageLocation: string | null;
  status: string;
  currentStage: string | null;
  description: string | null;
  aliases: string[];
}

export interface MlflowRegisteredModel {
  name: string;
  description: string | null;
  versions: MlflowRegisteredVersion[];
}

/** An MLflow 3 LoggedModel (`m-<id>`): the run that produced it and where its files are. */
export interface MlflowLoggedModel {
  modelId: string;
  experimentId: string | null;
  /** The run that logged it; null for a model logged outside a run. */
  sourceRunId: string | null;
  name: string | null;
  /** `artifact_location` (FileStore meta.yaml) or `artifact_uri` (REST): as the producing machine wrote it. */
  artifactLocation: string | null;
}

/** A logged model folder: its MLmodel (parsed), and a local ONNX file when one is there. */
export interface MlflowModelArtifact {
  /** The folder inside the run's artifacts ("" for a LoggedModel's own artifacts). */
  artifactPath: string;
  /** The MLflow 3 LoggedModel holding it, or null for a model logged into run artifacts (2.x). */
  modelId: string | null;
  mlmodel: Record<string, unknown>;
  onnxFile: string | null;
  /** Where the files live upstream, when the source says (a registered version's download URI). */
  location?: string | null;
}

export interface MlflowSource {
  readonly trackingUri: string;
  /**
   * The store's identity, however the URI was written: the real path as a file:// URL (symlinks
   * resolved, no trailing slash) or the normalised server URL. Runs and versions are keyed by it.
   */
  identity(): Promise<string>;
  /** Fails early with a clear error when the source cannot be read, or is not an MLflow store at all. */
  check(): Promise<void>;
  /** All experiments, or the one named (by name or id) when the source can look it up directly. */
  experiments(filter?: string | null): Promise<MlflowExperiment[]>;
  runs(experimentId: string): Promise<MlflowRunData[]>;
  /** One run by id, wherever its experiment is; null when the source has none. */
  run(runId: string): Promise<MlflowRunData | null>;
  /** All registered models, or only the one named. */
  registeredModels(name?: string | null): Promise<MlflowRegisteredModel[]>;
  /** Up to `limit` registered model names (for an error that names what is there). */
  registeredModelNames(limit: number): Promise<string[]>;
  /** An MLflow 3 LoggedModel by id; null when the store has none (or predates LoggedModels). */
  loggedModel(modelId: string): Promise<MlflowLoggedModel | null>;
  /** Every logged model of a run: artifact folders holding an MLmodel, and its LoggedModels. */
  modelArtifacts(run: MlflowRunData): Promise<MlflowModelArtifact[]>;
  /** The model files a registered version points at (its `source`), whatever form that takes. */
  versionArtifact(version: MlflowRegisteredVersion): Promise<MlflowModelArtifact | null>;
  /** Releases temporary files (downloaded artifacts). */
  close(): Promise<void>;
}

const STATUS: Record<number, string> = { 1: 'RUNNING', 2: 'SCHEDULED', 3: 'FINISHED', 4: 'FAILED', 5: 'KILLED' };

/** Run status as FileStore stores it (an int enum) or as REST sends it (the name). */
export function runStatus(raw: unknown): string {
  if (typeof raw === 'number') return STATUS[raw] ?? String(raw);
  if (typeof raw === 'string') return raw;
  return 'RUNNING';
}

/** An int64 field: a number (FileStore YAML, current servers) or a numeric string (1.x servers); null when unset. */
export function int64(raw: unknown): number | null {
  return raw === undefined || raw === null || raw === '' ? null : Number(raw);
}

/** Metric values are Python float reprs: nan, inf and -inf included. */
export function metricValue(raw: string): number {
  const v = raw.trim().toLowerCase();
  if (v === 'nan') return NaN;
  if (v === 'inf' || v === 'infinity') return Infinity;
  if (v === '-inf' || v === '-infinity') return -Infinity;
  return Number(raw);
}

/** MLflow's "latest" value per key (FileStore rule): the max by (step, timestamp, value). */
export function latestMetrics(points: MlflowMetricPoint[]): Record<string, number> {
  const best = new Map<string, MlflowMetricPoint>();
  for (const p of points) {
    const b = best.get(p.key);
    if (
      !b ||
      p.step > b.step ||
      (p.step === b.step && (p.timestamp > b.timestamp || (p.timestamp === b.timestamp && p.value > b.value)))
    )
      best.set(p.key, p);
  }
  return Object.fromEntries([...best].map(([k, p]) => [k, p.value]));
}
