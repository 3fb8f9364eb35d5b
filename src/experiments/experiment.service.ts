import { randomInt } from 'node:crypto';
import { requireRole, type Actor } from '../auth/actor';
import { badInput, conflict, notFound } from '../common/errors';
import type { AliasService } from '../registry/alias.service';
import type { ModelService } from '../registry/model.service';
import { DEFAULT_ALIAS, type ResolvedVersion, type VersionRef, type VersionService } from '../registry/version.service';
import type { ExperimentMonitor } from './experiment-monitor';
import type {
  ArmWithVersion,
  ExperimentMode,
  ExperimentRepository,
  ExperimentStatus,
  ExperimentWithArms,
  PointRecord,
} from './experiment.repository';
import type { PredictionLog } from './prediction-log';
import { initialPaired, initialSplit, type PairedState, type SplitState } from './sequential';

/** The alias an experiment's control defaults to. */
export const BASELINE_ALIAS = 'baseline';
export const MAX_ARMS = 8;
export const MAX_FEEDBACK_BATCH = 1000;
const ARM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface StartExperimentInput {
  model: string;
  name: string;
  mode?: ExperimentMode | null;
  arms: { name: string; ref: VersionRef; weight: number }[];
  /** The control arm's name; default: the arm on the baseline alias's version (added when none is). */
  control?: string | null;
  alpha?: number | null;
  minSamples?: number | null;
  guardrails?: { maxErrorRate?: number | null; maxLatencyP99Ms?: number | null; minRequests?: number | null } | null;
  autoPromote?: boolean | null;
  seed?: number | null;
}

export interface FeedbackResult {
  predictionId: string;
  label: string;
  /** False when the same feedback was recorded before (repeats are idempotent). */
  created: boolean;
  recordedAt: Date;
}

/** One arm with its traffic and the test against the control, as clients see it. */
export interface ArmView {
  id: number;
  name: string;
  versionId: number;
  version: number;
  weight: number;
  isControl: boolean;
  active: boolean;
  stoppedReason: string | null;
  decision: string;
  requests: number;
  errors: number;
  shadowDropped: number;
  errorsByCode: Record<string, number>;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  feedbackCount: number;
  correct: number;
  accuracy: number | null;
  agreement: number | null;
  test: (SplitState | PairedState) | null;
}

/** What SequentialTest.method says, per mode. */
export function testMethod(mode: string): string {
  return mode === 'SHADOW'
    ? 'paired: beta-binomial mixture SPRT on discordant pairs (Robbins 1970; Howard et al. 2021)'
    : 'mSPRT for two proportions, normal mixture (Johari, Koomen, Pekelis & Walsh 2017)';
}

export function parseExperimentId(id: string): number {
  if (!/^\d{1,9}$/.test(id)) throw badInput(`experiment id "${id}" is not a number`, { field: 'id' });
  return Number(id);
}

/** A candidate's estimated accuracy difference against the control (0 before there is one). */
const estimate = (arm: ArmWithVersion) => (arm.test as unknown as SplitState | PairedState | null)?.estimate ?? 0;
const within = (v: number, lo: number, hi: number) => Number.isFinite(v) && v >= lo && v <= hi;

/** startExperiment, stopExperiment, experiment(s), recordFeedback: the rules; routing and the test run elsewhere. */
export class ExperimentService {
  constructor(
    private readonly deps: {
      experiments: ExperimentRepository;
      models: ModelService;
      versions: VersionService;
      aliases: AliasService;
      log: PredictionLog;
      monitor: ExperimentMonitor;
    },
  ) {}

  async start(actor: Actor, input: StartExperimentInput): Promise<ExperimentWithArms> {
    requireRole(actor, 'operator', 'starting an experiment');
    if (input.autoPromote) this.deps.aliases.checkMove(actor, DEFAULT_ALIAS);
    const name = input.name.trim();
    if (!name || name.length > 100) throw badInput('name must be 1 to 100 characters', { field: 'name' });
    const mode = input.mode ?? 'SPLIT';
    const alpha = input.alpha ?? 0.05;
    if (!within(alpha, 1e-6, 0.5)) throw badInput(`alpha must be in (0, 0.5], got ${alpha}`, { field: 'alpha' });
    const minSamples = input.minSamples ?? 100;
    if (!Number.isInteger(minSamples) || minSamples < 1 || minSamples > 1_000_000)
      throw badInput(`minSamples must be a whole number from 1 to 1000000, got ${minSamples}`, { field: 'minSamples' });
    const g = input.guardrails ?? {};
    if (g.maxErrorRate != null && !within(g.maxErrorRate, 0, 1))
      throw badInput(`guardrails.maxErrorRate must be in [0, 1], got ${g.maxErrorRate}`, {
        field: 'guardrails.maxErrorRate',
      });
    if (g.maxLatencyP99Ms != null && !(Number.isFinite(g.maxLatencyP99Ms) && g.maxLatencyP99Ms > 0))
      throw badInput(`guardrails.maxLatencyP99Ms must be positive, got ${g.maxLatencyP99Ms}`, {
        field: 'guardrails.maxLatencyP99Ms',
      });
    const minRequests = g.minRequests ?? 100;
    if (!Number.isInteger(minRequests) || minRequests < 1 || minRequests > 1_000_000)
      throw badInput(`guardrails.minRequests must be a whole number from 1 to 1000000, got ${minRequests}`, {
        field: 'guardrails.minRequests',
      });
    const seed = input.seed ?? randomInt(2 ** 31 - 1);
    if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 31 - 1)
      throw badInput(`seed must be a whole number from 0 to 2147483647, got ${seed}`, { field: 'seed' });

    const model = await this.deps.models.require(input.model);
    const arms = await this.arms(actor, model.name, mode, input);
    const test = () => (mode === 'SHADOW' ? initialPaired() : initialSplit());
    return this.deps.experiments.create({
      modelId: model.id,
      name,
      mode,
      alpha,
      minSamples,
      maxErrorRate: g.maxErrorRate ?? null,
      maxLatencyP99Ms: g.maxLatencyP99Ms ?? null,
      guardrailMinRequests: minRequests,
      autoPromote: input.autoPromote ?? false,
      seed,
      createdBy: actor.name,
      arms: arms.map((a) => ({
        name: a.name,
        versionId: a.resolved.version.id,
        weight: a.weight,
        isControl: a.isControl,
        test: a.isControl ? null : test(),
      })),
    });
  }

  /** The arms as stored: every ref a READY version of the model, the control found or added. */
  private async arms(actor: Actor, model: string, mode: ExperimentMode, input: StartExperimentInput) {
    if (!input.arms.length) throw badInput('give at least one arm', { field: 'arms' });
    if (input.arms.length > MAX_ARMS) throw badInput(`at most ${MAX_ARMS} arms`, { field: 'arms' });
    const arms: { name: string; weight: number; isControl: boolean; resolved: ResolvedVersion }[] = [];
    for (const [i, a] of input.arms.entries()) {
      const field = `arms[${i}]`;
      if (!ARM_NAME.test(a.name))
        throw badInput(`arm name "${a.name}" must be 1 to 40 letters, digits, ".", "_" or "-"`, {
          field: `${field}.name`,
        });
      if (arms.some((b) => b.name === a.name))
        throw badInput(`two arms are named "${a.name}"`, { field: `${field}.name` });
      if (a.ref.model !== model)
        throw badInput(`arm "${a.name}" names model "${a.ref.model}": every arm must be a version of "${model}"`, {
          field: `${field}.ref.model`,
        });
      if (!within(a.weight, 0, mode === 'SHADOW' ? 1 : 1e6) || (mode === 'SPLIT' && a.weight === 0))
        throw badInput(
          mode === 'SHADOW'
            ? `arm "${a.name}": in SHADOW mode weight is the share of requests also run on it, in [0, 1]; got ${a.weight}`
            : `arm "${a.name}": weight must be positive, got ${a.weight}`,
          { field: `${field}.weight` },
        );
      arms.push({ name: a.name, weight: a.weight, isControl: false, resolved: await this.ready(actor, a.ref, a.name) });
    }
    let control = input.control != null ? arms.find((a) => a.name === input.control) : undefined;
    if (input.control != null && !control)
      throw badInput(`control "${input.control}" is not one of the arms (${arms.map((a) => a.name).join(', ')})`, {
        field: 'control',
      });
    if (!control) {
      const baseline = await this.deps.versions.resolve(actor, { model, alias: BASELINE_ALIAS }).catch(() => {
        throw badInput(`"${model}" has no "${BASELINE_ALIAS}" alias: set it, or name the control arm (control)`, {
          field: 'control',
        });
      });
      control = arms.find((a) => a.resolved.version.id === baseline.version.id);
      if (!control) {
        const rest = 1 - arms.reduce((sum, a) => sum + a.weight, 0);
        if (mode === 'SPLIT' && !(rest > 1e-9))
          throw badInput(
            `the arms' weights add up to 1 or more, leaving no traffic for the control (the "${BASELINE_ALIAS}" alias, v${baseline.version.version}): give weights below 1 in all, or add the control as an arm`,
            { field: 'arms' },
          );
        if (arms.some((a) => a.name === 'control'))
          throw badInput('an arm is named "control" but is not the baseline: name the control arm (control)', {
            field: 'control',
          });
        control = {
          name: 'control',
          weight: mode === 'SPLIT' ? rest : 1,
          isControl: true,
          resolved: await this.ready(actor, { model, alias: BASELINE_ALIAS }, 'control'),
        };
        arms.unshift(control);
      }
    }
    control.isControl = true;
    const seen = new Map<number, string>();
    for (const a of arms) {
      const other = seen.get(a.resolved.version.id);
      if (other)
        throw badInput(`arms "${other}" and "${a.name}" are the same version (v${a.resolved.version.version})`, {
          field: 'arms',
        });
      seen.set(a.resolved.version.id, a.name);
    }
    if (arms.length < 2) throw badInput('an experiment needs a candidate arm besides the control', { field: 'arms' });
    return arms;
  }

  private async ready(actor: Actor, ref: VersionRef, arm: string): Promise<ResolvedVersion> {
    const resolved = await this.deps.versions.resolve(actor, ref);
    if (resolved.version.status !== 'READY')
      throw badInput(
        `arm "${arm}": ${ref.model} v${resolved.version.version} is ${resolved.version.status}, not READY`,
        {
          field: 'arms',
          status: resolved.version.status,
        },
      );
    return resolved;
  }

  async get(actor: Actor, id: number): Promise<ExperimentWithArms | null> {
    requireRole(actor, 'viewer', 'reading an experiment');
    return this.deps.experiments.find(id);
  }

  async list(
    actor: Actor,
    filter: { model?: string | null; status?: ExperimentStatus | null; first: number },
  ): Promise<ExperimentWithArms[]> {
    requireRole(actor, 'viewer', 'listing experiments');
    const modelId = filter.model != null ? (await this.deps.models.require(filter.model)).id : undefined;
    return this.deps.experiments.list({ modelId, status: filter.status ?? undefined, first: filter.first });
  }

  /**
   * Ends a running experiment after taking in the feedback recorded so far. `promote` moves
   * `champion` to the candidate the test found better (refused when none is).
   */
  async stop(actor: Actor, id: number, promote = false): Promise<ExperimentWithArms> {
    requireRole(actor, 'operator', 'stopping an experiment');
    if (promote) this.deps.aliases.checkMove(actor, DEFAULT_ALIAS);
    const before = await this.deps.experiments.find(id);
    if (!before) throw notFound(`no experiment ${id}`, { id });
    if (before.status !== 'RUNNING') throw conflict(`experiment ${id} is already stopped`, { id });
    await this.deps.monitor.settle();
    const current = (await this.deps.experiments.find(id))!;
    if (current.status !== 'RUNNING') return current;
    let winner: ArmWithVersion | undefined;
    if (promote) {
      winner = current.arms
        .filter((a) => !a.isControl && a.decision === 'CANDIDATE_BETTER')
        .sort((a, b) => estimate(b) - estimate(a))[0];
      if (!winner)
        throw badInput(
          `no arm of experiment ${id} is significantly better than the control yet: stop it without promote, or move "${DEFAULT_ALIAS}" with setAlias`,
          { field: 'promote' },
        );
    }
    const decision = current.decision === 'CONTINUE' ? 'STOPPED' : current.decision;
    const reason = winner
      ? `stopped by ${actor.name}, who promoted ${winner.name} (v${winner.version.version}) to "${DEFAULT_ALIAS}"`
      : `stopped by ${actor.name}${current.decisionReason ? `; ${current.decisionReason}` : ''}`;
    const stopped = await this.deps.experiments.stop(id, {
      decision,
      reason,
      by: actor.name,
      promotedVersion: winner?.version.version ?? null,
    });
    if (!stopped) throw conflict(`experiment ${id} is already stopped`, { id });
    if (winner)
      await this.deps.aliases.setReporting(
        actor,
        current.model.name,
        DEFAULT_ALIAS,
        winner.version.version,
        `experiment ${id} "${current.name}": ${winner.name} better than the control, promoted by ${actor.name}`,
      );
    return stopped;
  }

  /**
   * Ground truth for predictions clients hold, all or nothing: every id must be a logged answer
   * and every label one of its model's. Repeating feedback is idempotent; a different label for a
   * prediction that has one is a CONFLICT.
   */
  async feedback(actor: Actor, items: { predictionId: string; label: string }[]): Promise<FeedbackResult[]> {
    requireRole(actor, 'operator', 'recording feedback');
    if (!items.length) throw badInput('give at least one feedback item', { field: 'feedback' });
    if (items.length > MAX_FEEDBACK_BATCH)
      throw badInput(`at most ${MAX_FEEDBACK_BATCH} feedback items per call, got ${items.length}`, {
        field: 'feedback',
      });
    const given = new Map<string, string>();
    for (const [i, item] of items.entries()) {
      if (!UUID.test(item.predictionId))
        throw badInput(`"${item.predictionId}" is not a prediction id (a UUID)`, {
          field: `feedback[${i}].predictionId`,
        });
      const id = item.predictionId.toLowerCase();
      if (given.has(id) && given.get(id) !== item.label)
        throw badInput(`prediction ${id} is given two labels`, { field: `feedback[${i}]` });
      given.set(id, item.label);
    }
    const ids = [...given.keys()];
    // A prediction may still be waiting in this gateway's log.
    await this.deps.log.flush();
    const answered = new Map((await this.deps.experiments.answered(ids)).map((a) => [a.id, a]));
    for (const [id, label] of given) {
      const prediction = answered.get(id);
      if (!prediction)
        throw notFound(
          `no logged prediction ${id} (only predictions routed by an experiment are logged, and kept for the retention period)`,
          {
            predictionId: id,
          },
        );
      if (!prediction.labels.includes(label))
        throw badInput(
          `"${label}" is not a label of the model (${prediction.labels.slice(0, 20).join(', ')}${prediction.labels.length > 20 ? ', …' : ''})`,
          { field: 'label', predictionId: id },
        );
    }
    const before = new Map((await this.deps.experiments.feedbackFor(ids)).map((f) => [f.predictionId, f]));
    for (const [id, label] of given) {
      const had = before.get(id);
      if (had && had.label !== label)
        throw conflict(`prediction ${id} already has feedback "${had.label}"`, { predictionId: id, label: had.label });
    }
    await this.deps.experiments.addFeedback(
      ids
        .filter((id) => !before.has(id))
        .map((id) => ({
          predictionId: id,
          experimentId: answered.get(id)!.experimentId,
          label: given.get(id)!,
          actor: actor.name,
        })),
    );
    this.deps.monitor.kick();
    const after = new Map((await this.deps.experiments.feedbackFor(ids)).map((f) => [f.predictionId, f]));
    return ids.map((id) => {
      const f = after.get(id)!;
      if (f.label !== given.get(id))
        throw conflict(`prediction ${id} already has feedback "${f.label}"`, { predictionId: id, label: f.label });
      return { predictionId: id, label: f.label, created: !before.has(id), recordedAt: f.createdAt };
    });
  }

  /** Waits until the feedback recorded so far is in the tests (the log flushed first). */
  settle(): Promise<void> {
    return this.deps.monitor.settle();
  }

  /** Each arm's traffic (from the log), feedback and test. */
  async armViews(experiment: ExperimentWithArms): Promise<ArmView[]> {
    const [traffic, errors, agreement] = await Promise.all([
      this.deps.experiments.traffic(experiment.id),
      this.deps.experiments.errorsByCode(experiment.id),
      experiment.mode === 'SHADOW' ? this.deps.experiments.agreement(experiment.id) : Promise.resolve([]),
    ]);
    return experiment.arms.map((arm) => {
      const t = traffic.find((r) => r.armId === arm.id);
      const a = agreement.find((r) => r.armId === arm.id);
      return {
        id: arm.id,
        name: arm.name,
        versionId: arm.versionId,
        version: arm.version.version,
        weight: arm.weight,
        isControl: arm.isControl,
        active: arm.active,
        stoppedReason: arm.stoppedReason,
        decision: arm.decision,
        requests: t?.requests ?? 0,
        errors: t?.errors ?? 0,
        shadowDropped: t?.shadowDropped ?? 0,
        errorsByCode: Object.fromEntries(errors.filter((e) => e.armId === arm.id).map((e) => [e.code, e.count])),
        latencyP50Ms: t?.latencyP50Ms ?? null,
        latencyP99Ms: t?.latencyP99Ms ?? null,
        feedbackCount: arm.feedbackCount,
        correct: arm.correctCount,
        accuracy: arm.feedbackCount ? arm.correctCount / arm.feedbackCount : null,
        agreement: a && a.shared ? a.agreed / a.shared : null,
        test: arm.test as unknown as SplitState | PairedState | null,
      };
    });
  }

  /** Cumulative figures per arm over time, at most `max` points per arm (evenly thinned, last kept). */
  async series(experiment: ExperimentWithArms, max: number): Promise<(PointRecord & { arm: string })[]> {
    const points = await this.deps.experiments.points(experiment.id);
    const names = new Map(experiment.arms.map((a) => [a.id, a.name]));
    const byArm = new Map<number, PointRecord[]>();
    for (const p of points) {
      let list = byArm.get(p.armId);
      if (!list) byArm.set(p.armId, (list = []));
      list.push(p);
    }
    const out: (PointRecord & { arm: string })[] = [];
    for (const [armId, list] of byArm) {
      const step = Math.max(1, Math.ceil(list.length / max));
      list.forEach((p, i) => {
        if (i % step === 0 || i === list.length - 1) out.push({ ...p, arm: names.get(armId) ?? String(armId) });
      });
    }
    return out.sort((a, b) => a.id - b.id);
  }
}
