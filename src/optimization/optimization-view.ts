import type { OptimizationRecord } from './optimization.repository';
import type { OptimizationOptions } from './optimization.service';

/** An optimization as the API shows it: the stored record, its progress and its options. */
export interface OptimizationView {
  record: OptimizationRecord;
  id: string;
  status: string;
  phase: string;
  progress: number;
  itemsDone: number;
  total: number;
  method: string;
  calibrationMethod: string;
  calibrationLimit: number;
  compare: boolean;
  nonInferiorityMargin: number;
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export function optimizationView(record: OptimizationRecord): OptimizationView {
  const o = record.options as unknown as OptimizationOptions;
  return {
    record,
    id: String(record.id),
    status: record.status,
    phase: record.phase,
    progress: record.status === 'SUCCEEDED' || record.total === 0 ? 1 : Math.min(1, record.done / record.total),
    itemsDone: record.done,
    total: record.total,
    method: o.method,
    calibrationMethod: o.calibrationMethod,
    calibrationLimit: o.limit,
    compare: o.compare,
    nonInferiorityMargin: o.margin,
    error: record.error,
    createdAt: record.createdAt,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
  };
}
