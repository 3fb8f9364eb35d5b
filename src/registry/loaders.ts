import DataLoader from 'dataloader';
import type { AliasEventRecord, AliasRecord, AliasRepository } from './alias.repository';
import type { DatasetRecord, DatasetRepository } from './dataset.repository';
import type { ModelRecord, ModelRepository } from './model.repository';
import type { DvcRecord, MlflowRunRecord, VersionRecord, VersionRepository } from './version.repository';

function byKey<K, V>(keys: readonly K[], rows: V[], key: (row: V) => K): (V | null)[] {
  const map = new Map(rows.map((r) => [key(r), r]));
  return keys.map((k) => map.get(k) ?? null);
}

function groupBy<K, V>(keys: readonly K[], rows: V[], key: (row: V) => K): V[][] {
  const map = new Map<K, V[]>(keys.map((k) => [k, []]));
  for (const r of rows) map.get(key(r))?.push(r);
  return keys.map((k) => map.get(k)!);
}

/**
 * Per-request batch loaders: however many models, versions, aliases and datasets a query walks,
 * each kind of record costs one query per level of nesting.
 */
export function createRegistryLoaders(repos: {
  models: ModelRepository;
  versions: VersionRepository;
  aliases: AliasRepository;
  datasets: DatasetRepository;
}) {
  const versionById = new DataLoader<number, VersionRecord | null>(async (ids) =>
    byKey(ids, await repos.versions.findByIds(ids), (v) => v.id),
  );
  return {
    modelById: new DataLoader<number, ModelRecord | null>(async (ids) =>
      byKey(ids, await repos.models.findByIds(ids), (m) => m.id),
    ),
    versionById,
    versionsByModelId: new DataLoader<number, VersionRecord[]>(async (ids) => {
      const rows = await repos.versions.findByModelIds(ids);
      for (const v of rows) versionById.prime(v.id, v);
      return groupBy(ids, rows, (v) => v.modelId);
    }),
    /** Versions derived from each version (ModelVersion.children). */
    childrenByVersionId: new DataLoader<number, VersionRecord[]>(async (ids) =>
      groupBy(ids, await repos.versions.findByParentIds(ids), (v) => v.parentId!),
    ),
    aliasesByModelId: new DataLoader<number, AliasRecord[]>(async (ids) =>
      groupBy(ids, await repos.aliases.findByModelIds(ids), (a) => a.modelId),
    ),
    aliasEventsByModelId: new DataLoader<number, AliasEventRecord[]>(async (ids) =>
      groupBy(ids, await repos.aliases.historyByModelIds(ids), (e) => e.modelId),
    ),
    aliasesByVersionId: new DataLoader<number, AliasRecord[]>(async (ids) =>
      groupBy(ids, await repos.aliases.findByVersionIds(ids), (a) => a.versionId),
    ),
    dvcByVersionId: new DataLoader<number, DvcRecord | null>(async (ids) =>
      byKey(ids, await repos.versions.findDvcByVersionIds(ids), (d) => d.versionId),
    ),
    mlflowRunById: new DataLoader<number, MlflowRunRecord | null>(async (ids) =>
      byKey(ids, await repos.versions.findMlflowRunsByIds(ids), (r) => r.id),
    ),
    datasetById: new DataLoader<number, DatasetRecord | null>(async (ids) =>
      byKey(ids, await repos.datasets.findByIds(ids), (d) => d.id),
    ),
    /** Items per label, in the order of the dataset's labels (0 for a label without items). */
    classCountsByDataset: new DataLoader<DatasetRecord, number[], number>(
      async (datasets) => {
        const counts = new Map(datasets.map((d) => [d.id, new Array<number>(d.labels.length).fill(0)]));
        for (const r of await repos.datasets.classCounts(datasets.map((d) => d.id))) {
          const row = counts.get(r.datasetId);
          if (row && r.labelIndex < row.length) row[r.labelIndex] = r.count;
        }
        return datasets.map((d) => counts.get(d.id)!);
      },
      { cacheKeyFn: (d) => d.id },
    ),
  };
}

export type RegistryLoaders = ReturnType<typeof createRegistryLoaders>;
