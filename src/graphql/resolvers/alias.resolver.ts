import { Arg, Ctx, FieldResolver, Int, Mutation, Resolver, Root } from 'type-graphql';
import { internalError } from '../../common/errors';
import type { AliasRecord } from '../../registry/alias.repository';
import type { VersionRecord } from '../../registry/version.repository';
import type { GraphQLContext } from '../context';
import { Alias } from '../types/alias.type';
import { ModelVersion } from '../types/version.type';

@Resolver(() => Alias)
export class AliasResolver {
  @Mutation(() => Alias, { description: 'Points an alias at a READY version of the model. Pinned aliases need admin.' })
  setAlias(
    @Ctx() ctx: GraphQLContext,
    @Arg('model', () => String) model: string,
    @Arg('alias', () => String) alias: string,
    @Arg('version', () => Int) version: number,
  ): Promise<AliasRecord> {
    return ctx.services.aliases.set(ctx.actor, model, alias, version);
  }

  @Mutation(() => Boolean, { description: 'False when the alias did not exist.' })
  removeAlias(
    @Ctx() ctx: GraphQLContext,
    @Arg('model', () => String) model: string,
    @Arg('alias', () => String) alias: string,
  ): Promise<boolean> {
    return ctx.services.aliases.remove(ctx.actor, model, alias);
  }

  @FieldResolver(() => ModelVersion)
  async version(@Root() alias: AliasRecord, @Ctx() ctx: GraphQLContext): Promise<VersionRecord> {
    // Through the model's versions: listing models loads those anyway, so aliases add no query.
    const version = (await ctx.loaders.versionsByModelId.load(alias.modelId)).find((v) => v.id === alias.versionId);
    if (!version) throw internalError(`alias ${alias.name} points at a missing version`);
    return version;
  }
}
