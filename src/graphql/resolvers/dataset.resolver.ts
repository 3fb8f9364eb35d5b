import { Arg, Ctx, FieldResolver, Int, Query, Resolver, Root } from 'type-graphql';
import { pageSize, PAGES } from '../../common/paging';
import { badInput } from '../../common/errors';
import type { DatasetRecord } from '../../registry/dataset.repository';
import type { GraphQLContext } from '../context';
import { listCost } from '../cost';
import { Dataset, DatasetItem } from '../types/dataset.type';

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

  @Query(() => Dataset, { nullable: true, description: 'One dataset: its latest version unless `version` is given.' })
  dataset(
    @Ctx() ctx: GraphQLContext,
    @Arg('name', () => String) name: string,
    @Arg('version', () => Int, { nullable: true }) version?: number | null,
  ): Promise<DatasetRecord | null> {
    return ctx.services.datasets.get(ctx.actor, name, version);
  }

  @FieldResolver(() => [DatasetItem], {
    description: 'Its items with their labels, by ordinal: `first` (default 100, at most 1000) from `offset`.',
    complexity: listCost(PAGES.datasetItems),
  })
  async items(
    @Root() d: DatasetRecord,
    @Ctx() ctx: GraphQLContext,
    @Arg('offset', () => Int, { nullable: true, defaultValue: 0 }) offset: number | null,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
  ) {
    const from = offset ?? 0;
    if (!Number.isInteger(from) || from < 0)
      throw badInput(`offset must be a whole number from 0, not ${from}`, { field: 'offset' });
    const items = await ctx.services.datasets.items(ctx.actor, d, from, pageSize(first, PAGES.datasetItems));
    return items.map((i) => ({ ordinal: i.ordinal, path: i.path, label: d.labels[i.labelIndex]!, sha256: i.sha256 }));
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
