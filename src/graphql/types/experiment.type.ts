import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { JSONScalar } from '../scalars';
import { VersionRefInput } from './inputs';

export enum ExperimentMode {
  SPLIT = 'SPLIT',
  SHADOW = 'SHADOW',
}
registerEnumType(ExperimentMode, {
  name: 'ExperimentMode',
  description: 'How an experiment uses the traffic of the model.',
  valuesConfig: {
    SPLIT: { description: 'Each request is answered by one arm, drawn by weight (or by the routing key).' },
    SHADOW: {
      description:
        'The control answers every request; each candidate also runs on a share (its weight) of them, off the response path.',
    },
  },
});

export enum ExperimentStatus {
  RUNNING = 'RUNNING',
  STOPPED = 'STOPPED',
}
registerEnumType(ExperimentStatus, { name: 'ExperimentStatus' });

export enum ExperimentDecision {
  CONTINUE = 'CONTINUE',
  CANDIDATE_BETTER = 'CANDIDATE_BETTER',
  CONTROL_BETTER = 'CONTROL_BETTER',
  GUARDRAIL_BREACHED = 'GUARDRAIL_BREACHED',
  STOPPED = 'STOPPED',
}
registerEnumType(ExperimentDecision, {
  name: 'ExperimentDecision',
  description: 'What the always-valid test (or a guardrail, or a person) decided.',
  valuesConfig: {
    CONTINUE: { description: 'No significant difference yet (or fewer than minSamples observations).' },
    CANDIDATE_BETTER: { description: 'A candidate is more accurate than the control: always-valid p ≤ alpha.' },
    CONTROL_BETTER: { description: 'The control is more accurate: always-valid p ≤ alpha.' },
    GUARDRAIL_BREACHED: { description: "A guardrail stopped the arm's traffic (stoppedReason says which)." },
    STOPPED: { description: 'Stopped by a person before a significant difference.' },
  },
});

@InputType()
export class ExperimentArmInput {
  @Field(() => String, { description: 'Letters, digits, ".", "_", "-"; at most 40.' })
  name!: string;

  @Field(() => VersionRefInput, { description: "A READY version of the experiment's model." })
  ref!: VersionRefInput;

  @Field(() => Float, {
    description:
      "SPLIT: the arm's share of traffic (weights are normalised; a control the arms leave out gets 1 minus their sum). SHADOW: the share of requests also run on the arm, in [0, 1].",
  })
  weight!: number;
}

@InputType()
export class GuardrailsInput {
  @Field(() => Float, {
    nullable: true,
    description: "Stop a candidate's traffic when more than this share of its latest requests fail (0..1).",
  })
  maxErrorRate?: number | null;

  @Field(() => Float, {
    nullable: true,
    description: "Stop a candidate's traffic when the p99 latency of its latest requests is above this (ms).",
  })
  maxLatencyP99Ms?: number | null;

  @Field(() => Int, {
    nullable: true,
    description: 'Requests an arm must have served (on a gateway) before its guardrails judge it; default 100.',
  })
  minRequests?: number | null;
}

@InputType()
export class StartExperimentInput {
  @Field(() => String)
  model!: string;

  @Field(() => String)
  name!: string;

  @Field(() => ExperimentMode, { nullable: true, defaultValue: ExperimentMode.SPLIT })
  mode?: ExperimentMode | null;

  @Field(() => [ExperimentArmInput], {
    description:
      'The arms, at most 8. The control arm defaults to the one on the model\'s "baseline" alias, added (as "control") when no arm is.',
  })
  arms!: ExperimentArmInput[];

  @Field(() => String, { nullable: true, description: "The control arm's name (default: the baseline's arm)." })
  control?: string | null;

  @Field(() => Float, { nullable: true, description: 'Significance level of the always-valid test; default 0.05.' })
  alpha?: number | null;

  @Field(() => Int, {
    nullable: true,
    description: 'Observations each compared arm needs (pairs in SHADOW) before the test may decide; default 100.',
  })
  minSamples?: number | null;

  @Field(() => GuardrailsInput, { nullable: true })
  guardrails?: GuardrailsInput | null;

  @Field(() => Boolean, {
    nullable: true,
    defaultValue: false,
    description: 'Move "champion" to a significantly better candidate and stop (needs the right to move champion).',
  })
  autoPromote?: boolean | null;

  @Field(() => Int, {
    nullable: true,
    description: 'Seeds the draw of requests without a routing key (default: random).',
  })
  seed?: number | null;
}

@InputType()
export class FeedbackInput {
  @Field(() => ID, { description: 'A Prediction.id a routed prediction returned.' })
  predictionId!: string;

  @Field(() => String, { description: "The true label: one of the model's labels." })
  label!: string;
}

@ObjectType({ description: 'The true label recorded for a prediction.' })
export class Feedback {
  @Field(() => ID)
  predictionId!: string;

  @Field(() => String)
  label!: string;

  @Field(() => Boolean, {
    description: 'False when the same feedback had been recorded before (repeats change nothing).',
  })
  created!: boolean;

  @Field(() => Date)
  recordedAt!: Date;
}

@ObjectType({ description: "The guardrails a candidate arm is held to (on each gateway's latest requests)." })
export class Guardrails {
  @Field(() => Float, { nullable: true })
  maxErrorRate!: number | null;

  @Field(() => Float, { nullable: true })
  maxLatencyP99Ms!: number | null;

  @Field(() => Int)
  minRequests!: number;
}

@ObjectType({
  description:
    "A candidate's always-valid test against the control: valid however often it is looked at (see the README's experiments section).",
})
export class SequentialTest {
  @Field(() => String, { description: 'The method, with its reference.' })
  method!: string;

  @Field(() => Float, { description: 'Always-valid p-value: never increases as data arrives.' })
  pValue!: number;

  @Field(() => Float, {
    nullable: true,
    description: "Candidate's accuracy minus the control's, as observed (null before both have data).",
  })
  estimate!: number | null;

  @Field(() => [Float], {
    nullable: true,
    description:
      'The (1 − alpha) confidence sequence for that difference, [low, high]: it only narrows. Null before it is bounded.',
  })
  confidenceSequence!: number[] | null;

  @Field(() => Int, { description: 'Observations the test has taken in (pairs in SHADOW).' })
  samples!: number;

  @Field(() => Int, {
    nullable: true,
    description: 'SHADOW: pairs only the control got right (b, as in McNemar).',
  })
  controlOnlyRight!: number | null;

  @Field(() => Int, { nullable: true, description: 'SHADOW: pairs only the candidate got right (c).' })
  candidateOnlyRight!: number | null;

  @Field(() => ExperimentDecision)
  decision!: ExperimentDecision;
}

@ObjectType({ description: 'One arm of an experiment, with its traffic, feedback and test.' })
export class ExperimentArm {
  @Field(() => String)
  name!: string;

  @Field(() => Float)
  weight!: number;

  @Field(() => Boolean)
  isControl!: boolean;

  @Field(() => Boolean, { description: 'False once a guardrail stopped its traffic.' })
  active!: boolean;

  @Field(() => String, { nullable: true, description: 'The guardrail that stopped it, with the figures.' })
  stoppedReason!: string | null;

  @Field(() => Int, { description: 'Requests it answered (or shadow runs), errors included, in the retained log.' })
  requests!: number;

  @Field(() => Int)
  errors!: number;

  @Field(() => Int, {
    description:
      'SHADOW: runs dropped so as not to delay real traffic (EXPERIMENT_SHADOW_CONCURRENCY, or real requests queueing).',
  })
  shadowDropped!: number;

  @Field(() => JSONScalar, { description: 'Errors by code, e.g. {"MODEL_LOAD_FAILED": 3}.' })
  errorsByCode!: Record<string, number>;

  @Field(() => Float, { nullable: true })
  latencyP50Ms!: number | null;

  @Field(() => Float, { nullable: true })
  latencyP99Ms!: number | null;

  @Field(() => Int, { description: 'Its answers that feedback has judged (and the test has taken in).' })
  feedbackCount!: number;

  @Field(() => Int)
  correct!: number;

  @Field(() => Float, { nullable: true, description: 'correct / feedbackCount.' })
  accuracy!: number | null;

  @Field(() => Float, {
    nullable: true,
    description: "SHADOW: the share of images on which it gave the control's top label.",
  })
  agreement!: number | null;

  @Field(() => SequentialTest, { nullable: true, description: 'Null for the control.' })
  test!: SequentialTest | null;
}

@ObjectType({ description: "An arm's cumulative figures when the test took in feedback (for charts)." })
export class ExperimentPoint {
  @Field(() => String)
  arm!: string;

  @Field(() => Date)
  at!: Date;

  @Field(() => Int)
  feedback!: number;

  @Field(() => Int)
  correct!: number;

  @Field(() => Float, { nullable: true })
  accuracy!: number | null;

  @Field(() => Float, { nullable: true, description: 'The always-valid p-value then (candidates only).' })
  pValue!: number | null;

  @Field(() => Float, { nullable: true })
  csLow!: number | null;

  @Field(() => Float, { nullable: true })
  csHigh!: number | null;
}

@ObjectType({ description: 'An online A/B experiment on a model.' })
export class Experiment {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => ExperimentMode)
  mode!: ExperimentMode;

  @Field(() => ExperimentStatus)
  status!: ExperimentStatus;

  @Field(() => ExperimentDecision)
  decision!: ExperimentDecision;

  @Field(() => String, { nullable: true })
  decisionReason!: string | null;

  @Field(() => Float)
  alpha!: number;

  @Field(() => Int)
  minSamples!: number;

  @Field(() => Guardrails)
  guardrails!: Guardrails;

  @Field(() => Boolean)
  autoPromote!: boolean;

  @Field(() => Int, { nullable: true, description: 'The version moved to "champion" when the experiment ended.' })
  promotedVersion!: number | null;

  @Field(() => String)
  createdBy!: string;

  @Field(() => Date)
  startedAt!: Date;

  @Field(() => Date, { nullable: true })
  stoppedAt!: Date | null;

  @Field(() => String, { nullable: true })
  stoppedBy!: string | null;
}
