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

  async history(actor: Actor, runRowId: number, key?: string | null, first?: number | null): Promise<MetricPoint[]> {
    requireRole(actor, 'viewer', 'reading metric histories');
    const rows = await this.runs.history(runRowId, key ?? undefined, pageSize(first, PAGES.metricHistory));
    return rows.map((r) => ({ key: r.key, value: r.value, timestamp: Number(r.timestamp), step: Number(r.step) }));
  }
}
