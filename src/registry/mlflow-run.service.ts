import { requireRole, type Actor } from '../auth/actor';
import { PAGES, pageSize } from '../common/paging';
import type { MlflowRepository } from './mlflow.repository';

export interface MetricPoint {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

/** Read access to imported MLflow runs beyond what ModelVersion.mlflowRun carries. */
export class MlflowRunService {
  constructor(private readonly runs: MlflowRepository) {}

  /** The histories of several runs (the request's loaders batch them), each in the order of runRowIds. */
  async histories(
    actor: Actor,
    runRowIds: readonly number[],
    key?: string | null,
    first?: number | null,
  ): Promise<MetricPoint[][]> {
    requireRole(actor, 'viewer', 'reading metric histories');
    const rows = await this.runs.histories(runRowIds, key ?? undefined, pageSize(first, PAGES.metricHistory));
    const byRun = new Map<number, MetricPoint[]>(runRowIds.map((id) => [id, []]));
    for (const r of rows)
      byRun.get(r.runId)?.push({ key: r.key, value: r.value, timestamp: Number(r.timestamp), step: Number(r.step) });
    return runRowIds.map((id) => byRun.get(id)!);
  }
}
