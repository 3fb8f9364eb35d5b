import { Arg, Ctx, FieldResolver, Int, Query, Resolver, Root } from 'type-graphql';
import { PAGES } from '../../common/paging';
import type { DatasetRecord } from '../../registry/dataset.repository';
import type { GraphQLContext } from '../context';
import { listCost } from '../cost';
import { Dataset } from '../types/dataset.type';

@Resolver(() => Dataset)
export class DatasetResolver {
  @Query(() => [Dataset], {
    description: 'Every version of every dataset, by name then version (the first `first`, default 100).',
    complexity: listCost(PAGES.datasets),
  })
  datasets(
    @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
  ): Promise<DatasetRecord[]> {
    return ctx.services.datasets.list(ctx.actor, first);
  }

  @FieldResolver(() => Int, { description: 'Number of items.' })
  size(@Root() d: DatasetRecord): number {
    return d.itemCount;
  }

  @FieldResolver(() => [Int], { description: 'Items per label, in the order of `labels` (they sum to `size`).' })
  classCounts(@Root() d: DatasetRecord, @Ctx() ctx: GraphQLContext): Promise<number[]> {
    return ctx.loaders.classCountsByDataset.load(d);
  }
}
