import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { pageSize, PAGES } from '../../common/paging';
import type { ExperimentWithArms } from '../../experiments/experiment.repository';
import { parseExperimentId, testMethod, type ArmView, type FeedbackResult } from '../../experiments/experiment.service';
import type { ModelRecord } from '../../registry/model.repository';
import type { VersionRecord } from '../../registry/version.repository';
import type { GraphQLContext } from '../context';
import { listCost } from '../cost';
import {
  Experiment,
  ExperimentArm,
  ExperimentPoint,
  ExperimentStatus,
  Feedback,
  FeedbackInput,
  StartExperimentInput,
  type ExperimentDecision,
} from '../types/experiment.type';
import { Model } from '../types/model.type';
import { ModelVersion } from '../types/version.type';

/** An experiment as its resolvers see it: the record, and its arms' figures read once per request. */
interface ExperimentRoot {
  id: string;
  record: ExperimentWithArms;
  arms: () => Promise<ArmView[]>;
}

const view = (ctx: GraphQLContext, record: ExperimentWithArms): ExperimentRoot & Record<string, unknown> => {
  let arms: Promise<ArmView[]> | undefined;
  return {
    ...record,
    id: String(record.id),
    record,
    guardrails: {
      maxErrorRate: record.maxErrorRate,
      maxLatencyP99Ms: record.maxLatencyP99Ms,
      minRequests: record.guardrailMinRequests,
    },
    arms: () => (arms ??= ctx.services.experiments.armViews(record)),
  };
};

const armView = (mode: string, a: ArmView) => {
  const t = a.test;
  return {
    ...a,
    test: t && {
      method: testMethod(mode),
      pValue: t.pValue,
      estimate: t.estimate,
      confidenceSequence: t.csLow != null && t.csHigh != null ? [t.csLow, t.csHigh] : null,
      samples: 'n' in t ? t.n : t.controlN + t.candidateN,
      controlOnlyRight: 'n' in t ? t.b : null,
      candidateOnlyRight: 'n' in t ? t.c : null,
      decision: a.decision as ExperimentDecision,
    },
  };
};

const feedback = (f: FeedbackResult) => f;

@Resolver(() => Experiment)
export class ExperimentResolver {
  @Mutation(() => Experiment, {
    description:
      'Starts an online experiment on a model (operator; autoPromote also needs the right to move "champion"). Unversioned predict/predictBatch calls on the model are routed to its arms until it stops. One running experiment per model (CONFLICT).',
  })
  async startExperiment(
    @Ctx() ctx: GraphQLContext,
    @Arg('input', () => StartExperimentInput) input: StartExperimentInput,
  ) {
    return view(ctx, await ctx.services.experiments.start(ctx.actor, input));
  }

  @Mutation(() => Experiment, {
    description:
      'Stops a running experiment after taking in the feedback recorded so far (operator). promote: move "champion" to the candidate the test found better (BAD_USER_INPUT when none is).',
  })
  async stopExperiment(
    @Ctx() ctx: GraphQLContext,
    @Arg('id', () => ID) id: string,
    @Arg('promote', () => Boolean, { nullable: true, defaultValue: false }) promote: boolean | null,
  ) {
    return view(ctx, await ctx.services.experiments.stop(ctx.actor, parseExperimentId(id), promote ?? false));
  }

  @Mutation(() => Feedback, {
    description:
      "Records the true label of a routed prediction (operator); in SHADOW mode it judges every arm's answer for that image. Repeating it is idempotent; another label is a CONFLICT.",
  })
  async recordFeedback(
    @Ctx() ctx: GraphQLContext,
    @Arg('predictionId', () => ID) predictionId: string,
    @Arg('label', () => String) label: string,
  ) {
    const [result] = await ctx.services.experiments.feedback(ctx.actor, [{ predictionId, label }]);
    return feedback(result!);
  }

  @Mutation(() => [Feedback], {
    description: 'recordFeedback for up to 1000 predictions at once, all or nothing.',
    complexity: listCost(PAGES.feedback),
  })
  async recordFeedbackBatch(
    @Ctx() ctx: GraphQLContext,
    @Arg('feedback', () => [FeedbackInput]) items: FeedbackInput[],
  ) {
    return (await ctx.services.experiments.feedback(ctx.actor, items)).map(feedback);
  }

  @Query(() => Experiment, { nullable: true })
  async experiment(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string) {
    const e = await ctx.services.experiments.get(ctx.actor, parseExperimentId(id));
    return e && view(ctx, e);
  }

  @Query(() => [Experiment], {
    description: "Newest first (the first `first`, default 50); optionally one model's, or those in one status.",
    complexity: listCost(PAGES.experiments),
  })
  async experiments(
    @Ctx() ctx: GraphQLContext,
    @Arg('model', () => String, { nullable: true }) model?: string | null,
    @Arg('status', () => ExperimentStatus, { nullable: true }) status?: ExperimentStatus | null,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
  ) {
    const list = await ctx.services.experiments.list(ctx.actor, {
      model: model ?? null,
      status: status ?? null,
      first: pageSize(first, PAGES.experiments),
    });
    return list.map((e) => view(ctx, e));
  }

  @FieldResolver(() => Model)
  model(@Root() e: ExperimentRoot, @Ctx() ctx: GraphQLContext): Promise<ModelRecord | null> {
    return ctx.loaders.modelById.load(e.record.modelId);
  }

  @FieldResolver(() => [ExperimentArm], {
    description: 'Every arm, the control included, in the order they were given.',
  })
  async arms(@Root() e: ExperimentRoot) {
    return (await e.arms()).map((a) => armView(e.record.mode, a));
  }

  @FieldResolver(() => ExperimentArm)
  async control(@Root() e: ExperimentRoot) {
    return armView(
      e.record.mode,
      (await e.arms()).find((a) => a.isControl)!,
    );
  }

  @FieldResolver(() => [ExperimentPoint], {
    description: "Each arm's cumulative figures over time, at most `points` per arm (default 200, evenly thinned).",
  })
  async series(
    @Root() e: ExperimentRoot,
    @Ctx() ctx: GraphQLContext,
    @Arg('points', () => Int, { nullable: true, defaultValue: 200 }) points: number | null,
  ) {
    const max = pageSize(points, PAGES.experimentPoints, { field: 'points' });
    return (await ctx.services.experiments.series(e.record, max)).map((p) => ({
      ...p,
      accuracy: p.feedback ? p.correct / p.feedback : null,
    }));
  }
}

@Resolver(() => ExperimentArm)
export class ExperimentArmResolver {
  @FieldResolver(() => ModelVersion)
  modelVersion(@Root() a: ArmView, @Ctx() ctx: GraphQLContext): Promise<VersionRecord | null> {
    return ctx.loaders.versionById.load(a.versionId);
  }
}
