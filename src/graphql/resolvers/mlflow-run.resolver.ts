import { Arg, Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { MetricPoint as MetricPointRecord } from '../../registry/mlflow-run.service';
import type { MlflowRunRecord } from '../../registry/version.repository';
import type { GraphQLContext } from '../context';
import { MetricPoint, MlflowRun } from '../types/version.type';

@Resolver(() => MlflowRun)
export class MlflowRunResolver {
  @FieldResolver(() => [MetricPoint], { description: 'Every logged value, by key then step: the full history MLflow kept.' })
  metricHistory(
    @Root() run: MlflowRunRecord,
    @Ctx() ctx: GraphQLContext,
    @Arg('key', () => String, { nullable: true }) key?: string | null,
  ): Promise<MetricPointRecord[]> {
    return ctx.services.mlflowRuns.history(ctx.actor, run.id, key);
  }
}
