import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { JSONScalar } from '../scalars';
import { Dataset } from './dataset.type';
import { VersionRefInput } from './inputs';
import { SpeedProfile } from './speed.type';
import { ModelVersion } from './version.type';

export enum JobStatus {
  QUEUED = 'QUEUED',
  RUNNING = 'RUNNING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
}
registerEnumType(JobStatus, { name: 'JobStatus' });

export enum Verdict {
  CANDIDATE_BETTER = 'CANDIDATE_BETTER',
  BASELINE_BETTER = 'BASELINE_BETTER',
  NO_SIGNIFICANT_DIFFERENCE = 'NO_SIGNIFICANT_DIFFERENCE',
}
registerEnumType(Verdict, { name: 'Verdict' });

export enum ReportFormat {
  MARKDOWN = 'MARKDOWN',
  HTML = 'HTML',
}
registerEnumType(ReportFormat, { name: 'ReportFormat' });

@ObjectType({ description: 'One version over the dataset.' })
export class VersionMetrics {
  @Field(() => Int) n!: number;
  @Field(() => Float) accuracy!: number;
  @Field(() => Float, { nullable: true, description: 'Null with fewer than 5 classes.' }) top5Accuracy!: number | null;
  @Field(() => Float) macroF1!: number;
  @Field(() => Float, { description: 'Mean probability of the top-1 class.' }) meanConfidence!: number;
  @Field(() => Float, { description: 'Expected calibration error, 15 equal-width bins.' }) ece!: number;
  @Field(() => JSONScalar, {
    description: 'The 15 bins of the reliability diagram: lower, upper, count, accuracy, confidence.',
  })
  reliability!: unknown;
  @Field(() => Float, { description: 'Negative log-likelihood of the true class (mean).' }) nll!: number;
  @Field(() => Float, { description: 'Multi-class Brier score (mean).' }) brier!: number;
  @Field(() => SpeedProfile, {
    nullable: true,
    description:
      'Speed in isolation on the runtime that serves the version, on its input size, measured once the items were evaluated; null when it was not measured.',
  })
  speed!: unknown;
  @Field(() => Float, { description: 'Model file size in bytes.' }) sizeBytes!: number;
  @Field(() => Float, {
    nullable: true,
    description:
      "Weights in the graph: its initializers' elements, leaving out QuantizeLinear/DequantizeLinear scales and zero points; null when unknown.",
  })
  parameters!: number | null;
  @Field(() => Float, {
    description:
      "Median wall time (ms) of a request inside the comparison's batched, queued run (queueing and batching included, both versions sharing the runtime): not the model's speed, see speed.",
  })
  queuedLatencyMsP50!: number;
  @Field(() => Float, { description: '95th percentile of the same queued wall time (ms).' })
  queuedLatencyMsP95!: number;
  @Field(() => Float, { description: '99th percentile of the same queued wall time (ms).' })
  queuedLatencyMsP99!: number;
  @Field(() => Float, {
    nullable: true,
    description: "Items per second over the comparison's queued run (both versions shared the runtime).",
  })
  queuedThroughput!: number | null;
  @Field(() => Float, { deprecationReason: 'The queued wall time, not the speed: use queuedLatencyMsP50, or speed.' })
  latencyMsP50!: number;
  @Field(() => Float, { deprecationReason: 'Use queuedLatencyMsP95.' }) latencyMsP95!: number;
  @Field(() => Float, { deprecationReason: 'Use queuedLatencyMsP99.' }) latencyMsP99!: number;
  @Field(() => Float, {
    nullable: true,
    deprecationReason: 'Use queuedThroughput, or speed.batch32ImagesPerSecond.',
  })
  throughput!: number | null;
  @Field(() => JSONScalar, { description: '[{label, precision, recall, f1, support}]' }) perClass!: unknown;
  @Field(() => [[Int]], { description: 'Rows = true label, columns = predicted label.' }) confusionMatrix!: number[][];
}

@ObjectType({ description: 'A dataset item the two versions classified differently.' })
export class ComparisonItem {
  @Field(() => Int) ordinal!: number;
  @Field(() => String) path!: string;
  @Field(() => String) label!: string;
  @Field(() => String) baselineLabel!: string;
  @Field(() => Float) baselineProbability!: number;
  @Field(() => String) candidateLabel!: string;
  @Field(() => Float) candidateProbability!: number;
}

@ObjectType({ description: 'A paired comparison of a candidate version against a baseline on one dataset.' })
export class Comparison {
  @Field(() => ID) id!: string;
  @Field(() => JobStatus) status!: JobStatus;
  @Field(() => Float, { description: '0..1' }) progress!: number;
  @Field(() => Int) itemsDone!: number;
  @Field(() => Int) total!: number;
  @Field(() => Float, { nullable: true, description: 'Seconds left at the current pace, while it runs.' }) etaSeconds!:
    number | null;
  @Field(() => ModelVersion) baseline!: unknown;
  @Field(() => ModelVersion) candidate!: unknown;
  @Field(() => Dataset) dataset!: unknown;
  @Field(() => Float) alpha!: number;
  @Field(() => Int, { nullable: true }) n!: number | null;
  @Field(() => VersionMetrics, { nullable: true }) baselineMetrics!: unknown;
  @Field(() => VersionMetrics, { nullable: true }) candidateMetrics!: unknown;
  @Field(() => Float, { nullable: true, description: 'candidate - baseline' }) accuracyDelta!: number | null;
  @Field(() => [Float], { nullable: true, description: 'Paired bootstrap 95% CI.' }) accuracyDeltaCi95!:
    number[] | null;
  @Field(() => Float, { nullable: true }) macroF1Delta!: number | null;
  @Field(() => [Float], { nullable: true }) macroF1DeltaCi95!: number[] | null;
  @Field(() => Int, { nullable: true, description: 'b: baseline right, candidate wrong.' }) discordantBaselineOnly!:
    number | null;
  @Field(() => Int, { nullable: true, description: 'c: candidate right, baseline wrong.' }) discordantCandidateOnly!:
    number | null;
  @Field(() => Float, { nullable: true, description: "McNemar's exact (binomial) two-sided p-value." }) mcnemarPValue!:
    number | null;
  @Field(() => Float, { nullable: true, description: "McNemar's mid-p variant." }) mcnemarMidP!: number | null;
  @Field(() => Float, { nullable: true, description: 'Share of items with the same top-1.' }) agreement!: number | null;
  @Field(() => Verdict, { nullable: true }) verdict!: Verdict | null;
  @Field(() => Boolean, {
    nullable: true,
    description: 'With nonInferiorityMargin: whether the CI lower bound is above -margin.',
  })
  nonInferior!: boolean | null;
  @Field(() => Float, { nullable: true, description: 'The margin the comparison was asked to test, if any.' })
  nonInferiorityMargin!: number | null;
  @Field(() => String, { nullable: true, description: 'The verdict in one sentence.' }) summary!: string | null;
  @Field(() => String, { nullable: true }) error!: string | null;
  @Field(() => Date) createdAt!: Date;
  @Field(() => Date, { nullable: true }) finishedAt!: Date | null;
}

@ObjectType({
  description:
    "A comparison's progress, as the comparisonProgress subscription sends it (and GET /comparisons/{id}/events).",
})
export class ComparisonProgress {
  @Field(() => ID) id!: string;
  @Field(() => JobStatus) status!: JobStatus;
  @Field(() => Float, { description: '0..1' }) progress!: number;
  @Field(() => Int) itemsDone!: number;
  @Field(() => Int) total!: number;
  @Field(() => Float, { nullable: true, description: 'Seconds left at the current pace, while it runs.' }) etaSeconds!:
    number | null;
  @Field(() => Verdict, { nullable: true, description: 'Once it succeeded.' }) verdict!: Verdict | null;
}

@InputType()
export class StartComparisonInput {
  @Field(() => VersionRefInput) candidate!: VersionRefInput;
  @Field(() => VersionRefInput, {
    nullable: true,
    description: 'Default: the "baseline" alias of the candidate\'s model.',
  })
  baseline?: VersionRefInput | null;
  @Field(() => String, { description: '"name" (latest version) or "name@version".' }) dataset!: string;
  @Field(() => Float, { nullable: true, description: 'Default 0.05.' }) alpha?: number | null;
  @Field(() => Int, { nullable: true, description: 'Evaluate the first N items only.' }) limit?: number | null;
  @Field(() => JSONScalar, {
    nullable: true,
    description: 'Model label → dataset label, for models that name the classes differently.',
  })
  labelMapping?: Record<string, string> | null;
  @Field(() => Float, { nullable: true, description: 'Non-inferiority margin on the accuracy difference (e.g. 0.01).' })
  nonInferiorityMargin?: number | null;
  @Field(() => Boolean, { nullable: true, description: 'Recompute even when an identical comparison exists.' }) force?:
    boolean | null;
}
