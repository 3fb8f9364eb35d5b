import type { Actor } from '../auth/actor';
import type { Logger } from '../common/logger';
import type { AliasService } from '../registry/alias.service';
import { DEFAULT_ALIAS } from '../registry/version.service';
import type {
  ArmWithVersion,
  ExperimentDecision,
  ExperimentRepository,
  ExperimentWithArms,
  TestUpdate,
} from './experiment.repository';
import {
  decide,
  initialPaired,
  initialSplit,
  stepPaired,
  stepSplit,
  type PairedState,
  type SequentialParams,
  type SplitState,
} from './sequential';

/** Feedback taken in per experiment and pass: the test steps through it one observation at a time. */
const BATCH = 5000;

type State = SplitState | PairedState;

/** The actor an automatic promotion is recorded under. */
const promoter = (experimentId: number): Actor => ({
  name: `experiment:${experimentId}`,
  kind: 'local',
  role: 'admin',
});

/** A significant decision the experiment's candidates reached, best first. */
function winners(arms: { arm: ArmWithVersion; state: State; decision: ExperimentDecision }[]) {
  return arms
    .filter((a) => a.decision === 'CANDIDATE_BETTER')
    .sort((a, b) => (b.state.estimate ?? 0) - (a.state.estimate ?? 0));
}

/**
 * Takes feedback into each running experiment's sequential tests, in the order it was recorded, one
 * observation at a time (the always-valid p-value is a running minimum over every look), then
 * decides: a significant winner under autoPromote stops the experiment and moves `champion`.
 * Any gateway may run a pass; the experiment row's lock makes the passes take turns.
 */
export class ExperimentMonitor {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private lastPrune = 0;

  constructor(
    private readonly deps: {
      experiments: ExperimentRepository;
      aliases: AliasService;
      /** Written rows first: feedback may name a prediction still waiting in this gateway's log. */
      flushLog: () => Promise<void>;
      intervalMs: number;
      retentionMs: number;
      logger: Logger;
    },
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.kick(), this.deps.intervalMs);
    this.timer.unref();
  }

  /** A pass soon (after feedback); passes never overlap. */
  kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.passes().finally(() => (this.running = null));
  }

  /** Waits for the pass in progress, then runs one over everything recorded so far. */
  async settle(): Promise<void> {
    while (this.running) await this.running;
    this.running = this.passes().finally(() => (this.running = null));
    await this.running;
  }

  private async passes(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.deps.flushLog();
        for (const id of await this.deps.experiments.runningIds()) await this.process(id);
        await this.prune();
      } catch (e) {
        this.deps.logger.warn({ err: e }, 'experiment monitor pass failed; retrying on the next');
      }
    } while (this.again);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    while (this.running) await this.running;
  }

  private async prune(): Promise<void> {
    if (Date.now() - this.lastPrune < 3_600_000) return;
    this.lastPrune = Date.now();
    const gone = await this.deps.experiments.prune(new Date(Date.now() - this.deps.retentionMs));
    if (gone.predictions || gone.feedback) this.deps.logger.info(gone, 'experiment log retention: old rows deleted');
  }

  /** Takes in the experiment's pending feedback, batch by batch, until none is left. */
  async process(experimentId: number): Promise<void> {
    for (;;) {
      const experiment = await this.deps.experiments.find(experimentId);
      if (!experiment || experiment.status !== 'RUNNING') return;
      const pending = await this.deps.experiments.pendingFeedback(experimentId, BATCH);
      if (!pending.length) return;
      const update = this.step(experiment, pending);
      const expect = new Map(experiment.arms.map((a) => [a.id, a.feedbackCount]));
      // Another gateway took the same feedback in first: read again and carry on from there.
      if (!(await this.deps.experiments.applyTest(experimentId, expect, update))) continue;
      if (update.stop?.promotedVersion != null)
        await this.promote(experiment, update.stop.promotedVersion, update.stop.reason);
      if (update.stop || pending.length < BATCH) return;
    }
  }

  /** The test's new state after `pending`, observation by observation. */
  private step(
    experiment: ExperimentWithArms,
    pending: Awaited<ReturnType<ExperimentRepository['pendingFeedback']>>,
  ): TestUpdate {
    const params: SequentialParams = { alpha: experiment.alpha, minSamples: experiment.minSamples };
    const shadow = experiment.mode === 'SHADOW';
    const arms = new Map(
      experiment.arms.map((arm) => [
        arm.id,
        {
          arm,
          feedback: arm.feedbackCount,
          correct: arm.correctCount,
          state: arm.isControl ? null : ((arm.test as State | null) ?? (shadow ? initialPaired() : initialSplit())),
        },
      ]),
    );
    const control = experiment.arms.find((a) => a.isControl)!;
    const candidates = [...arms.values()].filter((a) => !a.arm.isControl);
    for (const f of pending) {
      const answered = f.answers.find((a) => !a.shadow);
      if (!answered || answered.topLabel == null) continue;
      const answeredRight = answered.topLabel === f.label;
      const own = arms.get(answered.armId);
      if (!own) continue;
      own.feedback++;
      if (answeredRight) own.correct++;
      if (!shadow) {
        // SPLIT: the control's observations count for every candidate's comparison.
        if (own.arm.isControl) {
          for (const c of candidates)
            c.state = stepSplit(c.state as SplitState, { arm: 'control', correct: answeredRight }, params);
        } else {
          own.state = stepSplit(own.state as SplitState, { arm: 'candidate', correct: answeredRight }, params);
        }
        continue;
      }
      // SHADOW: the same image's answers from the control and each candidate that ran on it form a pair.
      for (const s of f.answers) {
        if (!s.shadow || s.topLabel == null) continue;
        const c = arms.get(s.armId);
        if (!c || c.arm.isControl) continue;
        c.feedback++;
        const right = s.topLabel === f.label;
        if (right) c.correct++;
        c.state = stepPaired(c.state as PairedState, { control: answeredRight, candidate: right }, params);
      }
    }
    const judged = candidates.map((c) => ({
      arm: c.arm,
      state: c.state!,
      decision: c.arm.decision === 'GUARDRAIL_BREACHED' ? ('GUARDRAIL_BREACHED' as const) : decide(c.state!, params),
    }));
    const update: TestUpdate = {
      feedbackIds: pending.map((f) => f.id),
      arms: [...arms.values()].map((a) => ({
        id: a.arm.id,
        feedbackCount: a.feedback,
        correctCount: a.correct,
        test: a.state,
        decision: a.arm.isControl ? 'CONTINUE' : judged.find((j) => j.arm.id === a.arm.id)!.decision,
      })),
      points: [...arms.values()].map((a) => ({
        armId: a.arm.id,
        feedback: a.feedback,
        correct: a.correct,
        pValue: a.state?.pValue ?? null,
        csLow: a.state?.csLow ?? null,
        csHigh: a.state?.csHigh ?? null,
      })),
    };
    const live = judged.filter((j) => j.decision !== 'GUARDRAIL_BREACHED' && (j.arm.active || j.arm.isControl));
    const [best] = winners(live);
    let decision: ExperimentDecision = 'CONTINUE';
    let reason: string | null = null;
    if (best) {
      decision = 'CANDIDATE_BETTER';
      reason = `${best.arm.name} is better than ${control.name} (always-valid p = ${best.state.pValue.toPrecision(3)} ≤ alpha ${experiment.alpha})`;
    } else if (live.length && live.every((j) => j.decision === 'CONTROL_BETTER')) {
      decision = 'CONTROL_BETTER';
      reason = `${control.name} is better than ${live.map((j) => j.arm.name).join(', ')} (always-valid p ≤ alpha ${experiment.alpha})`;
    } else if (!live.length) {
      // Every candidate was stopped by a guardrail: that stays the decision.
      decision = 'GUARDRAIL_BREACHED';
      reason = experiment.decisionReason;
    }
    if (best && experiment.autoPromote) {
      update.stop = {
        decision,
        reason: `${reason}; promoted to "${DEFAULT_ALIAS}"`,
        promotedVersion: best.arm.version.version,
      };
    } else if (decision !== experiment.decision || reason !== experiment.decisionReason) {
      update.decision = { decision, reason };
    }
    return update;
  }

  /** Moves `champion` to the winner, recording the experiment as the reason (after the stop is committed). */
  private async promote(experiment: ExperimentWithArms, version: number, reason: string): Promise<void> {
    const arm = experiment.arms.find((a) => a.version.version === version)!;
    try {
      await this.deps.aliases.setReporting(
        promoter(experiment.id),
        experiment.model.name,
        DEFAULT_ALIAS,
        version,
        `experiment ${experiment.id} "${experiment.name}": ${arm.name} won (${reason})`,
      );
    } catch (e) {
      this.deps.logger.error({ err: e, experiment: experiment.id }, 'automatic promotion failed');
      await this.deps.experiments.setPromoted(
        experiment.id,
        null,
        `${reason}; promotion failed: ${(e as Error).message}`,
      );
    }
  }
}
