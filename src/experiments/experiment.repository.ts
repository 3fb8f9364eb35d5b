import type { CopyRows, Prisma } from '../db/database';
import type {
  Experiment,
  ExperimentArm,
  ExperimentDecision,
  ExperimentMode,
  ExperimentPoint,
  ExperimentStatus,
} from '../db/generated/client';
import { translatePrismaError } from '../db/prisma-errors';

/** The log's errorCode for a shadow run dropped so as not to delay real traffic: not an error of the arm. */
export const SHADOW_DROPPED = 'SHADOW_DROPPED';

export type ExperimentRecord = Experiment;
export type ArmRecord = ExperimentArm;
export type PointRecord = ExperimentPoint;
export type { ExperimentDecision, ExperimentMode, ExperimentStatus };
/** An arm with its version's number. */
export type ArmWithVersion = ArmRecord & { version: { version: number } };
export type ExperimentWithArms = Experiment & { arms: ArmWithVersion[]; model: { name: string } };
export type RunningExperiment = ExperimentWithArms;

const withArms = {
  arms: { orderBy: { id: 'asc' as const }, include: { version: { select: { version: true } } } },
  model: { select: { name: true } },
};

export interface NewExperiment {
  modelId: number;
  name: string;
  mode: ExperimentMode;
  alpha: number;
  minSamples: number;
  maxErrorRate: number | null;
  maxLatencyP99Ms: number | null;
  guardrailMinRequests: number;
  autoPromote: boolean;
  seed: number;
  createdBy: string;
  arms: { name: string; versionId: number; weight: number; isControl: boolean; test: object | null }[];
}

/** One row of the prediction log. */
/** The log's columns, in the order logPredictions writes them. */
const LOG_COLUMNS = [
  'id',
  'groupId',
  'experimentId',
  'armId',
  'versionId',
  'shadow',
  'routingKeyHash',
  'topLabel',
  'confidence',
  'latencyMs',
  'errorCode',
  'createdAt',
] as const;

export interface LoggedPrediction {
  id: string;
  groupId: string;
  experimentId: number;
  armId: number;
  versionId: number;
  shadow: boolean;
  routingKeyHash: string | null;
  topLabel: string | null;
  confidence: number | null;
  latencyMs: number;
  errorCode: string | null;
  createdAt: Date;
}

export interface FeedbackRecord {
  predictionId: string;
  experimentId: number;
  label: string;
  createdAt: Date;
}

/** What the test takes in: feedback not yet processed, with every logged answer for its image. */
export interface PendingFeedback {
  id: number;
  predictionId: string;
  label: string;
  answers: { armId: number; shadow: boolean; topLabel: string | null }[];
}

export interface ArmTraffic {
  armId: number;
  requests: number;
  errors: number;
  shadowDropped: number;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
}

/** The change the sequential test makes to an experiment after taking in feedback. */
export interface TestUpdate {
  feedbackIds: number[];
  arms: {
    id: number;
    feedbackCount: number;
    correctCount: number;
    test: object | null;
    decision: ExperimentDecision;
  }[];
  points: {
    armId: number;
    feedback: number;
    correct: number;
    pValue: number | null;
    csLow: number | null;
    csHigh: number | null;
  }[];
  /** Set when the experiment ends with this update (a significant winner under autoPromote). */
  stop?: { decision: ExperimentDecision; reason: string; promotedVersion: number | null };
  /** Set when the overall decision changes while it keeps running. */
  decision?: { decision: ExperimentDecision; reason: string | null };
}

const running = (modelId: number) => ({ modelId, status: 'RUNNING' as const });

/** Experiments, their arms, the prediction log and feedback (the only Prisma user of src/experiments). */
export class ExperimentRepository {
  constructor(
    private readonly prisma: Prisma,
    /** The embedded database's COPY (Database.copyRows): the log's cheapest write there. */
    private readonly copyRows?: CopyRows,
  ) {}

  /** The partial unique index (migration 20261215100000) admits one running experiment per model. */
  async create(data: NewExperiment): Promise<ExperimentWithArms> {
    const { arms, ...experiment } = data;
    try {
      return await this.prisma.experiment.create({
        data: { ...experiment, arms: { create: arms.map((a) => ({ ...a, test: a.test ?? undefined })) } },
        include: withArms,
      });
    } catch (e) {
      throw translatePrismaError(e, { unique: 'the model already has a running experiment: stop it first' });
    }
  }

  find(id: number): Promise<ExperimentWithArms | null> {
    return this.prisma.experiment.findUnique({ where: { id }, include: withArms });
  }

  findRunning(modelId: number): Promise<ExperimentWithArms | null> {
    return this.prisma.experiment.findFirst({ where: running(modelId), include: withArms });
  }

  /** Routing's read: the model's running experiment with its arms' version numbers. */
  findRunningByModelName(model: string): Promise<RunningExperiment | null> {
    return this.prisma.experiment.findFirst({
      where: { status: 'RUNNING', model: { name: model } },
      include: withArms,
    });
  }

  runningIds(): Promise<number[]> {
    return this.prisma.experiment
      .findMany({ where: { status: 'RUNNING' }, select: { id: true }, orderBy: { id: 'asc' } })
      .then((rows) => rows.map((r) => r.id));
  }

  list(filter: { modelId?: number; status?: ExperimentStatus; first: number }): Promise<ExperimentWithArms[]> {
    return this.prisma.experiment.findMany({
      where: { modelId: filter.modelId, status: filter.status },
      include: withArms,
      orderBy: { id: 'desc' },
      take: filter.first,
    });
  }

  /** Ends a running experiment; null when it was not running (already stopped). */
  async stop(
    id: number,
    end: { decision: ExperimentDecision; reason: string | null; by: string; promotedVersion?: number | null },
  ): Promise<ExperimentWithArms | null> {
    const { count } = await this.prisma.experiment.updateMany({
      where: { id, status: 'RUNNING' },
      data: {
        status: 'STOPPED',
        decision: end.decision,
        decisionReason: end.reason,
        stoppedAt: new Date(),
        stoppedBy: end.by,
        promotedVersion: end.promotedVersion ?? null,
      },
    });
    return count ? this.find(id) : null;
  }

  setPromoted(id: number, version: number | null, reason: string): Promise<unknown> {
    return this.prisma.experiment.update({ where: { id }, data: { promotedVersion: version, decisionReason: reason } });
  }

  /**
   * Stops one arm's traffic (a guardrail); false when it was already stopped. With no other
   * candidate left serving, the experiment's decision becomes GUARDRAIL_BREACHED.
   */
  async stopArm(experimentId: number, armId: number, armName: string, reason: string): Promise<boolean> {
    return this.prisma.$transaction(async (tx) => {
      const { count } = await tx.experimentArm.updateMany({
        where: { id: armId, experimentId, active: true },
        data: { active: false, stoppedReason: reason, decision: 'GUARDRAIL_BREACHED' },
      });
      if (!count) return false;
      const left = await tx.experimentArm.count({ where: { experimentId, active: true, isControl: false } });
      if (left === 0) {
        // The control keeps serving the experiment's traffic (logged) until someone stops it.
        await tx.experiment.updateMany({
          where: { id: experimentId, status: 'RUNNING' },
          data: { decision: 'GUARDRAIL_BREACHED', decisionReason: `${armName}: ${reason}` },
        });
      }
      return true;
    });
  }

  /**
   * One statement for a whole batch of the log. On the embedded database a COPY (its rows parsed by
   * PostgreSQL, nothing through Prisma: the INSERT below cost the gateway's thread about twice as
   * much per row there, where it runs on that thread); on a server one INSERT of 12 array
   * parameters, the same statement whatever the batch's size (createMany had Prisma's query
   * compiler build a plan from every row's values on every write). Numbers and times travel as
   * text: PostgreSQL parses them itself, exactly. A retried batch cannot duplicate rows: a failed
   * COPY writes nothing, and over a network, where a write may commit unseen, conflicts are skipped.
   */
  async logPredictions(rows: LoggedPrediction[]): Promise<void> {
    if (!rows.length) return;
    const text = (x: number | null) => (x == null ? null : String(x));
    const values = rows.map((r) => [
      r.id,
      r.groupId,
      String(r.experimentId),
      String(r.armId),
      String(r.versionId),
      String(r.shadow),
      r.routingKeyHash,
      r.topLabel,
      text(r.confidence),
      String(r.latencyMs),
      r.errorCode,
      r.createdAt.toISOString(),
    ]);
    if (this.copyRows) return this.copyRows('ExperimentPrediction', LOG_COLUMNS, values);
    const col = (i: number) => values.map((v) => v[i]!);
    await this.prisma.$executeRaw`
      INSERT INTO "ExperimentPrediction" ("id", "groupId", "experimentId", "armId", "versionId", "shadow",
        "routingKeyHash", "topLabel", "confidence", "latencyMs", "errorCode", "createdAt")
      SELECT * FROM unnest(
        ${col(0)}::text[]::uuid[], ${col(1)}::text[]::uuid[], ${col(2)}::text[]::int4[], ${col(3)}::text[]::int4[],
        ${col(4)}::text[]::int4[], ${col(5)}::text[]::bool[], ${col(6)}::text[], ${col(7)}::text[],
        ${col(8)}::text[]::float8[], ${col(9)}::text[]::float8[], ${col(10)}::text[], ${col(11)}::text[]::timestamptz[])
      ON CONFLICT DO NOTHING`;
  }

  /** The answered (not shadow) logged predictions with these ids, with their experiment's model labels. */
  async answered(ids: string[]): Promise<{ id: string; experimentId: number; labels: string[] }[]> {
    const rows = await this.prisma.experimentPrediction.findMany({
      where: { id: { in: ids }, shadow: false },
      select: { id: true, experimentId: true },
    });
    const experiments = await this.prisma.experiment.findMany({
      where: { id: { in: [...new Set(rows.map((r) => r.experimentId))] } },
      select: { id: true, model: { select: { labels: true } } },
    });
    const labels = new Map(experiments.map((e) => [e.id, e.model.labels]));
    return rows.filter((r) => labels.has(r.experimentId)).map((r) => ({ ...r, labels: labels.get(r.experimentId)! }));
  }

  feedbackFor(ids: string[]): Promise<FeedbackRecord[]> {
    return this.prisma.experimentFeedback.findMany({
      where: { predictionId: { in: ids } },
      select: { predictionId: true, experimentId: true, label: true, createdAt: true },
    });
  }

  /** Inserts the feedback not yet recorded; an id already recorded keeps its first label. */
  async addFeedback(
    rows: { predictionId: string; experimentId: number; label: string; actor: string }[],
  ): Promise<void> {
    await this.prisma.experimentFeedback.createMany({ data: rows, skipDuplicates: true });
  }

  /** Feedback the test has not taken in, oldest first, with the answers it applies to. */
  async pendingFeedback(experimentId: number, limit: number): Promise<PendingFeedback[]> {
    const feedback = await this.prisma.experimentFeedback.findMany({
      where: { experimentId, processedAt: null },
      orderBy: { id: 'asc' },
      take: limit,
      select: { id: true, predictionId: true, label: true },
    });
    if (!feedback.length) return [];
    const answers = await this.prisma.experimentPrediction.findMany({
      where: { groupId: { in: feedback.map((f) => f.predictionId) } },
      select: { groupId: true, armId: true, shadow: true, topLabel: true },
    });
    const byGroup = new Map<string, PendingFeedback['answers']>();
    for (const a of answers) {
      const list = byGroup.get(a.groupId) ?? [];
      list.push({ armId: a.armId, shadow: a.shadow, topLabel: a.topLabel });
      byGroup.set(a.groupId, list);
    }
    return feedback.map((f) => ({ ...f, answers: byGroup.get(f.predictionId) ?? [] }));
  }

  /**
   * Applies what the test made of new feedback, under a lock on the experiment row so that two
   * gateways never take in the same feedback twice; false when the experiment is no longer
   * running or its test state moved meanwhile (`expectFeedback`: the arms' counts read before).
   */
  async applyTest(experimentId: number, expect: Map<number, number>, update: TestUpdate): Promise<boolean> {
    return this.prisma.$transaction(async (tx) => {
      const [row] = await tx.$queryRaw<{ status: string }[]>`
        SELECT status::text AS status FROM "Experiment" WHERE id = ${experimentId} FOR UPDATE`;
      if (row?.status !== 'RUNNING') return false;
      const arms = await tx.experimentArm.findMany({
        where: { experimentId },
        select: { id: true, feedbackCount: true },
      });
      if (arms.some((a) => (expect.get(a.id) ?? a.feedbackCount) !== a.feedbackCount)) return false;
      const { count } = await tx.experimentFeedback.updateMany({
        where: { id: { in: update.feedbackIds }, processedAt: null },
        data: { processedAt: new Date() },
      });
      if (count !== update.feedbackIds.length) return false;
      for (const arm of update.arms) {
        await tx.experimentArm.update({
          where: { id: arm.id },
          data: {
            feedbackCount: arm.feedbackCount,
            correctCount: arm.correctCount,
            test: arm.test ?? undefined,
            decision: arm.decision,
          },
        });
      }
      if (update.points.length)
        await tx.experimentPoint.createMany({ data: update.points.map((p) => ({ ...p, experimentId })) });
      if (update.stop) {
        await tx.experiment.update({
          where: { id: experimentId },
          data: {
            status: 'STOPPED',
            decision: update.stop.decision,
            decisionReason: update.stop.reason,
            promotedVersion: update.stop.promotedVersion,
            stoppedAt: new Date(),
            stoppedBy: 'experiment test',
          },
        });
      } else if (update.decision) {
        await tx.experiment.update({
          where: { id: experimentId },
          data: { decision: update.decision.decision, decisionReason: update.decision.reason },
        });
      }
      return true;
    });
  }

  /** Requests, errors and latency per arm, from the log. */
  async traffic(experimentId: number): Promise<ArmTraffic[]> {
    const rows = await this.prisma.$queryRaw<
      { armId: number; requests: bigint; errors: bigint; dropped: bigint; p50: number | null; p99: number | null }[]
    >`
      SELECT "armId",
        count(*) FILTER (WHERE "errorCode" IS DISTINCT FROM ${SHADOW_DROPPED}) AS requests,
        count(*) FILTER (WHERE "errorCode" <> ${SHADOW_DROPPED}) AS errors,
        count(*) FILTER (WHERE "errorCode" = ${SHADOW_DROPPED}) AS dropped,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY "latencyMs") FILTER (WHERE "errorCode" IS NULL) AS p50,
        percentile_cont(0.99) WITHIN GROUP (ORDER BY "latencyMs") FILTER (WHERE "errorCode" IS NULL) AS p99
      FROM "ExperimentPrediction" WHERE "experimentId" = ${experimentId} GROUP BY "armId"`;
    return rows.map((r) => ({
      armId: r.armId,
      requests: Number(r.requests),
      errors: Number(r.errors),
      shadowDropped: Number(r.dropped),
      latencyP50Ms: r.p50,
      latencyP99Ms: r.p99,
    }));
  }

  async errorsByCode(experimentId: number): Promise<{ armId: number; code: string; count: number }[]> {
    const rows = await this.prisma.experimentPrediction.groupBy({
      by: ['armId', 'errorCode'],
      where: { experimentId, errorCode: { not: null, notIn: [SHADOW_DROPPED] } },
      _count: { _all: true },
    });
    return rows.map((r) => ({ armId: r.armId, code: r.errorCode!, count: r._count._all }));
  }

  /** Per shadow arm: images both it and the control answered, and how many got the same top label. */
  async agreement(experimentId: number): Promise<{ armId: number; shared: number; agreed: number }[]> {
    const rows = await this.prisma.$queryRaw<{ armId: number; shared: bigint; agreed: bigint }[]>`
      SELECT s."armId", count(*) AS shared, count(*) FILTER (WHERE s."topLabel" = c."topLabel") AS agreed
      FROM "ExperimentPrediction" s JOIN "ExperimentPrediction" c ON c.id = s."groupId"
      WHERE s."experimentId" = ${experimentId} AND s.shadow AND s."topLabel" IS NOT NULL AND c."topLabel" IS NOT NULL
      GROUP BY s."armId"`;
    return rows.map((r) => ({ armId: r.armId, shared: Number(r.shared), agreed: Number(r.agreed) }));
  }

  points(experimentId: number): Promise<PointRecord[]> {
    return this.prisma.experimentPoint.findMany({ where: { experimentId }, orderBy: { id: 'asc' } });
  }

  /** Retention: the log and feedback older than `before` go (the tests' running state stays). */
  async prune(before: Date): Promise<{ predictions: number; feedback: number }> {
    const predictions = await this.prisma.experimentPrediction.deleteMany({ where: { createdAt: { lt: before } } });
    const feedback = await this.prisma.experimentFeedback.deleteMany({
      where: { createdAt: { lt: before }, processedAt: { not: null } },
    });
    return { predictions: predictions.count, feedback: feedback.count };
  }
}
