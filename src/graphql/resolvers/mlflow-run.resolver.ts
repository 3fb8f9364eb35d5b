import { Arg, Ctx, FieldResolver, Int, Resolver, Root } from 'type-graphql';
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
