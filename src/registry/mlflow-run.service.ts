import { requireRole, type Actor } from '../auth/actor';
import { PAGES, pageSize } from '../common/paging';
import type { MlflowModelVersionRow, MlflowRepository, MlflowRunRow, RunUpsert } from './mlflow.repository';

export interface MetricPoint {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

/**
 * Imported MLflow runs and registered versions: read access beyond what ModelVersion.mlflowRun
 * carries, and the writes of the MLflow importer.
 */
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

  // For the MLflow importer, which has checked the operator role itself. A dry run writes nothing
  // and says what would change.

  /** Stores a run with its full metric history (one transaction); "unchanged" when nothing differs. */
  recordImportedRun(
    data: RunUpsert,
    opts: { dryRun?: boolean } = {},
  ): Promise<{ run: MlflowRunRow | null; action: 'created' | 'updated' | 'unchanged' }> {
    return this.runs.upsertRun(data, opts);
  }

  /**
   * Rows an earlier release stored under another spelling of this store (before keys were
   * canonical: a symlinked FileStore path, a server URL as typed) move to its canonical key.
   */
  async adoptStoreKey(previous: string, identity: string): Promise<number> {
    return previous === identity ? 0 : this.runs.rekeyStore(previous, identity);
  }

  /** A registered version as the last import of this tracking server stored it. */
  findImportedRegisteredVersion(
    trackingUri: string,
    name: string,
    version: number,
  ): Promise<MlflowModelVersionRow | null> {
    return this.runs.findRegisteredVersion(trackingUri, name, version);
  }

  /** Stores a registered version as MLflow describes it; "unchanged" when nothing differs. */
  recordImportedRegisteredVersion(
    data: Omit<MlflowModelVersionRow, 'id' | 'createdAt' | 'updatedAt'>,
    opts: { dryRun?: boolean } = {},
  ): Promise<'created' | 'updated' | 'unchanged'> {
    return this.runs.upsertRegisteredVersion(data, opts);
  }
}
