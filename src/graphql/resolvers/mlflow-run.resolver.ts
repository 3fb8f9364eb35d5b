import { Arg, Ctx, FieldResolver, Float, Int, Resolver, Root } from 'type-graphql';
import { PAGES } from '../../common/paging';
import type { MetricPoint as MetricPointRecord } from '../../registry/mlflow-run.service';
import type { MlflowRunRecord } from '../../registry/version.repository';
import type { GraphQLContext } from '../context';
import { listCost } from '../cost';
import { MetricPoint, MlflowRun } from '../types/version.type';

@Resolver(() => MlflowRun)
export class MlflowRunResolver {
  @FieldResolver(() => [MetricPoint], {
    description: 'Logged values by key then step: the full history MLflow kept (the first `first`, default 1000).',
    complexity: listCost(PAGES.metricHistory),
  })
  metricHistory(
    @Root() run: MlflowRunRecord,
    @Ctx() ctx: GraphQLContext,
    @Arg('key', () => String, { nullable: true }) key?: string | null,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
  ): Promise<MetricPointRecord[]> {
    return ctx.loaders.metricHistory([key ?? null, first ?? null]).load(run.id);
  }
}

/** MLflow logs NaN and ±Infinity (a diverged loss); GraphQL's Float cannot carry them. */
@Resolver(() => MetricPoint)
export class MetricPointResolver {
  @FieldResolver(() => Float, { nullable: true, description: 'The value; null when it is not finite (see nonFinite).' })
  value(@Root() point: MetricPointRecord): number | null {
    return Number.isFinite(point.value) ? point.value : null;
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: '"NaN", "Infinity" or "-Infinity" when MLflow logged such a value; null for a finite one.',
  })
  nonFinite(@Root() point: MetricPointRecord): string | null {
    return Number.isFinite(point.value) ? null : String(point.value);
  }
}
