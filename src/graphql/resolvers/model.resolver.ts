import { Arg, Ctx, FieldResolver, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { firstPage, PAGES, pageSize } from '../../common/paging';
import type { AliasEventRecord, AliasRecord } from '../../registry/alias.repository';
import type { ModelRecord } from '../../registry/model.repository';
import type { VersionRecord } from '../../registry/version.repository';
import type { GraphQLContext } from '../context';
import { listCost } from '../cost';
import { Alias, AliasEvent } from '../types/alias.type';
import { RegisterModelInput } from '../types/inputs';
import { Model } from '../types/model.type';
import { ModelVersion } from '../types/version.type';

@Resolver(() => Model)
export class ModelResolver {
  @Query(() => [Model], {
    description: 'Models ordered by name. `after`: the last name of the previous page.',
    complexity: listCost(PAGES.models),
  })
  models(
    @Ctx() ctx: GraphQLContext,
    @Arg('search', () => String, { nullable: true }) search?: string | null,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ): Promise<ModelRecord[]> {
    return ctx.services.models.list(ctx.actor, { search: search ?? null, first: first ?? null, after: after ?? null });
  }

  @Query(() => Model, { nullable: true, description: 'An unknown name is a NOT_FOUND error.' })
  model(@Ctx() ctx: GraphQLContext, @Arg('name', () => String) name: string): Promise<ModelRecord> {
    return ctx.services.models.get(ctx.actor, name);
  }

  @Mutation(() => Model)
  registerModel(
    @Ctx() ctx: GraphQLContext,
    @Arg('input', () => RegisterModelInput) input: RegisterModelInput,
  ): Promise<ModelRecord> {
    return ctx.services.models.register(ctx.actor, input);
  }

  @FieldResolver(() => [ModelVersion], {
    description: 'Versions, oldest first (the first `first`, default 100).',
    complexity: listCost(PAGES.versions),
  })
  async versions(
    @Root() model: ModelRecord,
    @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
  ): Promise<VersionRecord[]> {
    return firstPage(await ctx.loaders.versionsByModelId.load(model.id), first, PAGES.versions);
  }

  @FieldResolver(() => [Alias], { complexity: listCost(PAGES.aliases) })
  async aliases(
    @Root() model: ModelRecord,
    @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
  ): Promise<AliasRecord[]> {
    return firstPage(await ctx.loaders.aliasesByModelId.load(model.id), first, PAGES.aliases);
  }

  @FieldResolver(() => [AliasEvent], {
    description: "The latest `first` (default 100) moves of the model's aliases (or of one alias), oldest first.",
    complexity: listCost(PAGES.aliasHistory),
  })
  async aliasHistory(
    @Root() model: ModelRecord,
    @Ctx() ctx: GraphQLContext,
    @Arg('alias', () => String, { nullable: true }) alias?: string | null,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
  ): Promise<AliasEventRecord[]> {
    const n = pageSize(first, PAGES.aliasHistory);
    const events = await ctx.loaders.aliasEventsByModelId.load(model.id);
    return (alias == null ? events : events.filter((e) => e.alias === alias)).slice(-n);
  }
}
