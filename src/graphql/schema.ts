import 'reflect-metadata';
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { buildSchemaSync, type PubSub } from 'type-graphql';
import { AliasResolver } from './resolvers/alias.resolver';
import { ApiKeyResolver } from './resolvers/api-key.resolver';
import { ComparisonResolver } from './resolvers/comparison.resolver';
import { DatasetResolver } from './resolvers/dataset.resolver';
import { ExperimentArmResolver, ExperimentResolver } from './resolvers/experiment.resolver';
import { ImportResolver } from './resolvers/import.resolver';
import { MetricPointResolver, MlflowRunResolver } from './resolvers/mlflow-run.resolver';
import { ModelResolver } from './resolvers/model.resolver';
import { DerivationResolver, OptimizationResolver } from './resolvers/optimization.resolver';
import { PredictionResolver } from './resolvers/prediction.resolver';
import { SpeedProfileResolver, VersionSpeedResolver } from './resolvers/speed.resolver';
import { VersionResolver } from './resolvers/version.resolver';
import { DateTimeScalar } from './scalars';

let cached: GraphQLSchema | undefined;

const NO_PUB_SUB: PubSub = {
  publish() {
    throw new Error('no PubSub: subscriptions bring their own subscribe function');
  },
  subscribe() {
    throw new Error('no PubSub: subscriptions bring their own subscribe function');
  },
};

/** The executable schema, built once per process from the resolver classes. */
export function buildGatewaySchema(): GraphQLSchema {
  cached ??= buildSchemaSync({
    resolvers: [
      ModelResolver,
      VersionResolver,
      AliasResolver,
      DatasetResolver,
      ApiKeyResolver,
      ImportResolver,
      MlflowRunResolver,
      MetricPointResolver,
      PredictionResolver,
      ComparisonResolver,
      OptimizationResolver,
      DerivationResolver,
      VersionSpeedResolver,
      SpeedProfileResolver,
      ExperimentResolver,
      ExperimentArmResolver,
    ],
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    // Required by type-graphql as soon as there is a @Subscription, even though each brings its own
    // `subscribe` (comparisonProgress polls the database): nothing publishes, nothing subscribes here.
    pubSub: NO_PUB_SUB,
    // Services validate every input themselves (the CLI and importers call them directly too).
    validate: false,
  });
  return cached;
}

export const SCHEMA_HEADER =
  '# Generated from the resolver classes by `npm run schema`. Do not edit: a test fails when it is stale.\n\n';

/** The SDL committed as schema.graphql: sorted, so diffs show real changes only. */
export function printGatewaySchema(): string {
  return SCHEMA_HEADER + printSchema(lexicographicSortSchema(buildGatewaySchema())) + '\n';
}
