import {
  Arg,
  Ctx,
  FieldResolver,
  ID,
  Int,
  Mutation,
  Query,
  Resolver,
  Root,
  Subscription,
  type SubscribeResolverData,
} from 'type-graphql';
import { badInput } from '../../common/errors';
import { PAGES } from '../../common/paging';
import { parseComparisonId } from '../../evaluation/comparison.service';
import { followComparison, type ProgressSnapshot } from '../../evaluation/progress';
import { comparisonView, renderReport, REPORT_DISAGREEMENTS, type ComparisonView } from '../../evaluation/report';
import type { GraphQLContext } from '../context';
import { listCost } from '../cost';
import {
  Comparison,
  ComparisonItem,
  ComparisonProgress,
  ReportFormat,
  StartComparisonInput,
} from '../types/comparison.type';
import { Dataset } from '../types/dataset.type';
import { ModelVersion } from '../types/version.type';

/** Rendering a report reads the results and 48 disagreements: priced like 100 objects. */
const REPORT_COST = 100;
/** The HTML one also decodes and resizes up to 48 stored images for its gallery. */
const HTML_REPORT_COST = 1000;

@Resolver(() => Comparison)
export class ComparisonResolver {
  @Mutation(() => Comparison, {
    description:
      'Queues a paired comparison and returns at once; an identical earlier one is returned instead unless force.',
  })
  async startComparison(
    @Ctx() ctx: GraphQLContext,
    @Arg('input', () => StartComparisonInput) input: StartComparisonInput,
  ): Promise<ComparisonView> {
    return comparisonView(await ctx.services.comparisons.start(ctx.actor, input));
  }

  @Mutation(() => Comparison, { description: 'Stops a queued or running comparison (at its next checkpoint).' })
  async cancelComparison(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string): Promise<ComparisonView> {
    return comparisonView(await ctx.services.comparisons.cancel(ctx.actor, parseComparisonId(id)));
  }

  @Query(() => Comparison, { nullable: true })
  async comparison(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string): Promise<ComparisonView | null> {
    const c = await ctx.services.comparisons.get(ctx.actor, parseComparisonId(id));
    return c && comparisonView(c);
  }

  @Query(() => [Comparison], {
    description:
      'Newest first (the first `first`, default 50); optionally only those whose candidate belongs to the model.',
    complexity: listCost(PAGES.comparisons),
  })
  async comparisons(
    @Ctx() ctx: GraphQLContext,
    @Arg('model', () => String, { nullable: true }) model?: string | null,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
  ): Promise<ComparisonView[]> {
    return (await ctx.services.comparisons.list(ctx.actor, { model: model ?? null, first: first ?? null })).map(
      comparisonView,
    );
  }

  @Subscription(() => ComparisonProgress, {
    description:
      "A comparison's progress: now, then once a second while it is queued or running, then its final state; then the stream completes. Over WebSocket (graphql-ws) at /graphql.",
    subscribe: ({ args, context }: SubscribeResolverData<unknown, { id: string }, GraphQLContext>) => {
      if (!context.stream) throw badInput('subscriptions are served over WebSocket (graphql-ws) at /graphql');
      return followComparison(context.services.comparisons, context.actor, context.stream, args.id);
    },
  })
  comparisonProgress(
    @Root() snapshot: ProgressSnapshot,
    // Read by `subscribe` above; declared here for the schema.
    @Arg('id', () => ID) _id: string,
  ): ProgressSnapshot {
    return snapshot;
  }

  @FieldResolver(() => ModelVersion)
  baseline(@Root() c: ComparisonView, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.versionById.load(c.record.baselineId);
  }

  @FieldResolver(() => ModelVersion)
  candidate(@Root() c: ComparisonView, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.versionById.load(c.record.candidateId);
  }

  @FieldResolver(() => Dataset)
  dataset(@Root() c: ComparisonView, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.datasetById.load(c.record.datasetId);
  }

  @FieldResolver(() => String, {
    nullable: true,
    description:
      'A self-contained report once the comparison succeeded: Markdown, or HTML with inline SVG charts and the disagreeing images.',
    complexity: ({ args, childComplexity }) =>
      (args.format === ReportFormat.HTML ? HTML_REPORT_COST : REPORT_COST) + childComplexity,
  })
  async report(
    @Root() c: ComparisonView,
    @Ctx() ctx: GraphQLContext,
    @Arg('format', () => ReportFormat, { defaultValue: ReportFormat.MARKDOWN }) format: ReportFormat,
  ): Promise<string | null> {
    if (!c.results) return null;
    const names = await ctx.services.comparisons.names(c.record, ctx.loaders);
    const disagreements = await ctx.loaders.disagreements(REPORT_DISAGREEMENTS).load(c.record);
    if (format !== ReportFormat.HTML) return renderReport(c, names, disagreements, 'markdown');
    const thumbnails = await ctx.services.comparisons.thumbnails(ctx.actor, disagreements);
    return renderReport(c, names, disagreements, 'html', thumbnails);
  }

  @FieldResolver(() => String, { nullable: true })
  async summary(@Root() c: ComparisonView, @Ctx() ctx: GraphQLContext): Promise<string | null> {
    return c.results
      ? renderReport(c, await ctx.services.comparisons.names(c.record, ctx.loaders), [], 'sentence')
      : null;
  }

  @FieldResolver(() => [ComparisonItem], {
    description: 'Items the versions classified differently, in dataset order.',
    complexity: listCost(PAGES.disagreements),
  })
  disagreements(
    @Root() c: ComparisonView,
    @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, { defaultValue: 20 }) first: number,
  ) {
    return ctx.loaders.disagreements(first).load(c.record);
  }
}
