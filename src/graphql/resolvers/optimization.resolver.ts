import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { PAGES } from '../../common/paging';
import { comparisonView, type ComparisonView } from '../../evaluation/report';
import { optimizationView, type OptimizationView } from '../../optimization/optimization-view';
import { parseOptimizationId } from '../../optimization/optimization.service';
import type { DatasetRecord } from '../../registry/dataset.repository';
import type { VersionRecord } from '../../registry/version.repository';
import type { GraphQLContext } from '../context';
import { listCost } from '../cost';
import { Comparison } from '../types/comparison.type';
import { Dataset } from '../types/dataset.type';
import { Derivation, Optimization, OptimizeVersionInput } from '../types/optimization.type';
import { ModelVersion } from '../types/version.type';

@Resolver(() => Optimization)
export class OptimizationResolver {
  @Mutation(() => Optimization, {
    description:
      'Queues an optimization of a version (operator) and returns at once: refused before anything is queued for a graph it cannot quantize (BAD_USER_INPUT, with the operators), an already statically quantized graph (CONFLICT), or a dataset whose images do not fit the version (BAD_USER_INPUT). An identical job still queued or running is returned instead.',
  })
  async optimizeVersion(
    @Ctx() ctx: GraphQLContext,
    @Arg('input', () => OptimizeVersionInput) input: OptimizeVersionInput,
  ): Promise<OptimizationView> {
    return optimizationView(await ctx.services.optimizations.start(ctx.actor, input));
  }

  @Mutation(() => Optimization, { description: 'Stops a queued or running optimization (at its next checkpoint).' })
  async cancelOptimization(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string): Promise<OptimizationView> {
    return optimizationView(await ctx.services.optimizations.cancel(ctx.actor, parseOptimizationId(id)));
  }

  @Query(() => Optimization, { nullable: true })
  async optimization(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string): Promise<OptimizationView | null> {
    const o = await ctx.services.optimizations.get(ctx.actor, parseOptimizationId(id));
    return o && optimizationView(o);
  }

  @Query(() => [Optimization], {
    description: "Newest first (the first `first`, default 50); optionally only those of one model's versions.",
    complexity: listCost(PAGES.comparisons),
  })
  async optimizations(
    @Ctx() ctx: GraphQLContext,
    @Arg('model', () => String, { nullable: true }) model?: string | null,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
  ): Promise<OptimizationView[]> {
    return (await ctx.services.optimizations.list(ctx.actor, { model: model ?? null, first: first ?? null })).map(
      optimizationView,
    );
  }

  @FieldResolver(() => ModelVersion)
  source(@Root() o: OptimizationView, @Ctx() ctx: GraphQLContext): Promise<VersionRecord | null> {
    return ctx.loaders.versionById.load(o.record.sourceId);
  }

  @FieldResolver(() => Dataset)
  dataset(@Root() o: OptimizationView, @Ctx() ctx: GraphQLContext): Promise<DatasetRecord | null> {
    return ctx.loaders.datasetById.load(o.record.datasetId);
  }

  @FieldResolver(() => ModelVersion, { nullable: true })
  derived(@Root() o: OptimizationView, @Ctx() ctx: GraphQLContext): Promise<VersionRecord | null> | null {
    return o.record.derivedId === null ? null : ctx.loaders.versionById.load(o.record.derivedId);
  }

  @FieldResolver(() => Comparison, { nullable: true })
  async comparison(@Root() o: OptimizationView, @Ctx() ctx: GraphQLContext): Promise<ComparisonView | null> {
    if (o.record.comparisonId === null) return null;
    const c = await ctx.services.comparisons.get(ctx.actor, o.record.comparisonId);
    return c && comparisonView(c);
  }
}

@Resolver(() => Derivation)
export class DerivationResolver {
  @FieldResolver(() => Optimization, { nullable: true, description: 'The job that made the version.' })
  async optimization(@Root() d: Derivation, @Ctx() ctx: GraphQLContext): Promise<OptimizationView | null> {
    if (typeof d.optimizationId !== 'number') return null;
    const o = await ctx.services.optimizations.get(ctx.actor, d.optimizationId);
    return o && optimizationView(o);
  }
}
