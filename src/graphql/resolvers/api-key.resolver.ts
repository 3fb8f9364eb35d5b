import { Arg, Ctx, Int, Mutation, Query, Resolver } from 'type-graphql';
import { PAGES } from '../../common/paging';
import type { ApiKeyRecord } from '../../auth/api-key.repository';
import type { CreatedApiKey as CreatedApiKeyRecord } from '../../auth/api-key.service';
import type { GraphQLContext } from '../context';
import { listCost } from '../cost';
import { ApiKey, ApiKeyRole, CreatedApiKey, Viewer } from '../types/api-key.type';

@Resolver()
export class ApiKeyResolver {
  @Query(() => Viewer, { description: 'The caller as the server sees it.' })
  viewer(@Ctx() ctx: GraphQLContext): Viewer {
    return { name: ctx.actor.name, role: ctx.actor.role as ApiKeyRole | null };
  }

  @Query(() => [ApiKey], {
    description: 'Admin only. Oldest first (the first `first`, default 100).',
    complexity: listCost(PAGES.apiKeys),
  })
  apiKeys(
    @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
  ): Promise<ApiKeyRecord[]> {
    return ctx.services.apiKeys.list(ctx.actor, first);
  }

  @Mutation(() => CreatedApiKey, { description: 'Admin only. The key is returned once.' })
  createApiKey(
    @Ctx() ctx: GraphQLContext,
    @Arg('name', () => String) name: string,
    @Arg('role', () => ApiKeyRole) role: ApiKeyRole,
  ): Promise<CreatedApiKeyRecord> {
    return ctx.services.apiKeys.create(ctx.actor, name, role);
  }

  @Mutation(() => ApiKey, { description: 'Admin only. Takes effect at once.' })
  revokeApiKey(@Ctx() ctx: GraphQLContext, @Arg('name', () => String) name: string): Promise<ApiKeyRecord> {
    return ctx.services.apiKeys.revoke(ctx.actor, name);
  }
}
