import { Ctx, FieldResolver, Int, Query, Resolver, Root } from 'type-graphql';
import type { DatasetRecord } from '../../registry/dataset.repository';
import type { GraphQLContext } from '../context';
import { Dataset } from '../types/dataset.type';

@Resolver(() => Dataset)
export class DatasetResolver {
  @Query(() => [Dataset], { description: 'Every version of every dataset, by name then version.' })
  datasets(@Ctx() ctx: GraphQLContext): Promise<DatasetRecord[]> {
    return ctx.services.datasets.list(ctx.actor);
  }

  @FieldResolver(() => Int, { description: 'Number of items.' })
  size(@Root() d: DatasetRecord): number {
    return d.itemCount;
  }
}
