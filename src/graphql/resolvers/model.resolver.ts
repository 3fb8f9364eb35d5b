import { Arg, Ctx, FieldResolver, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { AliasEventRecord, AliasRecord } from '../../registry/alias.repository';
import type { ModelRecord } from '../../registry/model.repository';
import type { VersionRecord } from '../../registry/version.repository';
import type { GraphQLContext } from '../context';
import { Alias, AliasEvent } from '../types/alias.type';
import { RegisterModelInput } from '../types/inputs';
import { Model } from '../types/model.type';
import { ModelVersion } from '../types/version.type';

@Resolver(() => Model)
export class ModelResolver {
  @Query(() => [Model], { description: 'Models ordered by name. `after`: the last name of the previous page.' })
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
  registerModel(@Ctx() ctx: GraphQLContext, @Arg('input', () => RegisterModelInput) input: RegisterModelInput): Promise<ModelRecord> {
    return ctx.services.models.register(ctx.actor, input);
  }

  @FieldResolver(() => [ModelVersion], { description: 'All versions, oldest first.' })
  versions(@Root() model: ModelRecord, @Ctx() ctx: GraphQLContext): Promise<VersionRecord[]> {
    return ctx.loaders.versionsByModelId.load(model.id);
  }

  @FieldResolver(() => [Alias])
  aliases(@Root() model: ModelRecord, @Ctx() ctx: GraphQLContext): Promise<AliasRecord[]> {
    return ctx.loaders.aliasesByModelId.load(model.id);
  }

  @FieldResolver(() => [AliasEvent], { description: 'Every move of the model\'s aliases (or of one alias), oldest first.' })
  async aliasHistory(
    @Root() model: ModelRecord,
    @Ctx() ctx: GraphQLContext,
    @Arg('alias', () => String, { nullable: true }) alias?: string | null,
  ): Promise<AliasEventRecord[]> {
    const events = await ctx.loaders.aliasEventsByModelId.load(model.id);
    return alias == null ? events : events.filter((e) => e.alias === alias);
  }
}
