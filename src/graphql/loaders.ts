import DataLoader from 'dataloader';
import type { Services } from '../app';
import type { Actor } from '../auth/actor';
import type { ComparisonView, Disagreement } from '../evaluation/report';
import type { SpeedProfile } from '../evaluation/speed.service';
import type { RegistryLoaders } from '../registry/loaders';
import type { MetricPoint } from '../registry/mlflow-run.service';

/**
 * Loaders of a field with arguments (a page size, a filter): one DataLoader per distinct arguments,
 * made on first use, so that the fields asked for with the same arguments share a batch.
 */
function loaderPerArgs<A, K, V, C = K>(make: (args: A) => DataLoader<K, V, C>): (args: A) => DataLoader<K, V, C> {
  const loaders = new Map<string, DataLoader<K, V, C>>();
  return (args) => {
    const key = JSON.stringify(args);
    let loader = loaders.get(key);
    if (!loader) loaders.set(key, (loader = make(args)));
    return loader;
  };
}

/**
 * One request's batch loaders: the registry's, and those of reads that go through a service (which
 * checks the actor's role once per batch). Lists with arguments have a loader per argument set.
 */
export function createRequestLoaders(registry: RegistryLoaders, services: Services, actor: Actor) {
  return {
    ...registry,
    /** An MLflow run's metricHistory(key, first), by the run's row id. */
    metricHistory: loaderPerArgs(
      ([key, first]: [key: string | null, first: number | null]) =>
        new DataLoader<number, MetricPoint[]>((runRowIds) =>
          services.mlflowRuns.histories(actor, runRowIds, key, first),
        ),
    ),
    /** A version's latest speed measurement. */
    speedByVersionId: new DataLoader<number, SpeedProfile | null>((ids) => services.speed.latestOf(actor, ids)),
    /** A comparison's first `first` disagreements. */
    disagreements: loaderPerArgs(
      (first: number) =>
        new DataLoader<ComparisonView['record'], Disagreement[], number>(
          (records) => services.comparisons.disagreements(actor, records, first, registry),
          { cacheKeyFn: (r) => r.id },
        ),
    ),
  };
}

export type RequestLoaders = ReturnType<typeof createRequestLoaders>;
