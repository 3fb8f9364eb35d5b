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
}

export interface MlflowRegisteredVersion {
  name: string;
  version: number;
  source: string;
  runId: string | null;
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

/** A logged model folder: its MLmodel (parsed), and a local ONNX file when one is there. */
export interface MlflowModelArtifact {
  artifactPath: string;
  mlmodel: Record<string, any>;
  onnxFile: string | null;
}

export interface MlflowSource {
  readonly trackingUri: string;
  /** Fails early with a clear error when the source cannot be read. */
  check(): Promise<void>;
  /** All experiments, or the one named (by name or id) when the source can look it up directly. */
  experiments(filter?: string | null): Promise<MlflowExperiment[]>;
  runs(experimentId: string): Promise<MlflowRunData[]>;
  registeredModels(): Promise<MlflowRegisteredModel[]>;
  /** Every logged model of a run (artifact folders holding an MLmodel). */
  modelArtifacts(run: MlflowRunData): Promise<MlflowModelArtifact[]>;
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
    if (!b || p.step > b.step || (p.step === b.step && (p.timestamp > b.timestamp || (p.timestamp === b.timestamp && p.value > b.value)))) best.set(p.key, p);
  }
  return Object.fromEntries([...best].map(([k, p]) => [k, p.value]));
}
