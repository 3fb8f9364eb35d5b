import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Comparison, JobStatus } from './comparison.type';
import { Dataset } from './dataset.type';
import { VersionRefInput } from './inputs';
import { ModelVersion } from './version.type';

export enum OptimizationMethod {
  INT8_STATIC = 'INT8_STATIC',
}
registerEnumType(OptimizationMethod, {
  name: 'OptimizationMethod',
  description: 'How a derived version is made from its parent.',
  valuesConfig: {
    INT8_STATIC: {
      description: 'Static int8 (QDQ): int8 weights per output channel, uint8 activations calibrated on a dataset.',
    },
  },
});

export enum CalibrationMethod {
  MINMAX = 'MINMAX',
  PERCENTILE = 'PERCENTILE',
  ENTROPY = 'ENTROPY',
}
registerEnumType(CalibrationMethod, {
  name: 'CalibrationMethod',
  description: 'How activation ranges are chosen from the calibration images.',
});

export enum OptimizationPhase {
  CALIBRATING = 'CALIBRATING',
  QUANTIZING = 'QUANTIZING',
  REGISTERING = 'REGISTERING',
  COMPARING = 'COMPARING',
  DONE = 'DONE',
}
registerEnumType(OptimizationPhase, {
  name: 'OptimizationPhase',
  description:
    'CALIBRATING (the fp32 graph over the calibration images), QUANTIZING, REGISTERING (the new version), COMPARING (queueing its comparison), DONE.',
});

@InputType()
export class CalibrationInput {
  @Field(() => String, { description: 'Dataset whose images calibrate: "name" or "name@version".' })
  dataset!: string;

  @Field(() => Int, { nullable: true, defaultValue: 200, description: 'Its first N images (by ordinal).' })
  limit?: number | null;

  @Field(() => CalibrationMethod, {
    nullable: true,
    description: 'Default PERCENTILE (the most accurate on the demo ResNet-50: see BENCHMARKS.md).',
  })
  method?: CalibrationMethod | null;
}

@InputType()
export class OptimizeVersionInput {
  @Field(() => VersionRefInput)
  ref!: VersionRefInput;

  @Field(() => OptimizationMethod)
  method!: OptimizationMethod;

  @Field(() => CalibrationInput)
  calibration!: CalibrationInput;

  @Field(() => Boolean, {
    nullable: true,
    defaultValue: true,
    description: 'Queue a comparison of the result against its parent.',
  })
  compare?: boolean | null;

  @Field(() => Float, {
    nullable: true,
    description: "That comparison's non-inferiority margin on accuracy (default 0.01: one point).",
  })
  nonInferiorityMargin?: number | null;

  @Field(() => String, { nullable: true, description: "That comparison's dataset (default: the calibration dataset)." })
  comparisonDataset?: string | null;

  @Field(() => Int, { nullable: true, description: 'Compare on the first N items only (default: all).' })
  comparisonLimit?: number | null;
}

@ObjectType({ description: 'How a derived version was made from its parent.' })
export class Derivation {
  @Field(() => OptimizationMethod)
  method!: OptimizationMethod;

  @Field(() => String, { nullable: true, description: 'The calibration dataset, "name@version".' })
  calibrationDataset!: string | null;

  @Field(() => Int, { nullable: true, description: 'Images the calibration ran.' })
  calibrationItems!: number | null;

  @Field(() => CalibrationMethod, { nullable: true })
  calibrationMethod!: CalibrationMethod | null;

  @Field(() => String, { nullable: true, description: 'The quantizer, with its version.' })
  tool!: string | null;

  @Field(() => Int, { nullable: true, description: 'Nodes that run as int8.' })
  quantizedNodes!: number | null;

  @Field(() => Int, { nullable: true, description: "The parent's weight-only DequantizeLinear nodes folded first." })
  foldedDequantize!: number | null;

  // Resolved (OptimizationResolver): the job that made the version.
  optimizationId!: number | null;
}

@ObjectType({
  description:
    'An optimizeVersion job: calibrates, quantizes, registers the result as the next version of the same model (parent = the source), and queues its comparison against the source.',
})
export class Optimization {
  @Field(() => ID) id!: string;
  @Field(() => JobStatus) status!: JobStatus;
  @Field(() => OptimizationPhase) phase!: OptimizationPhase;
  @Field(() => Float, { description: 'Calibration progress, 0..1 (1 once it succeeded).' }) progress!: number;
  @Field(() => Int, { description: 'Calibration images run so far.' }) itemsDone!: number;
  @Field(() => Int, { description: 'Calibration images to run.' }) total!: number;
  @Field(() => OptimizationMethod) method!: OptimizationMethod;
  @Field(() => CalibrationMethod) calibrationMethod!: CalibrationMethod;
  @Field(() => Int, { description: 'The calibration limit asked for.' }) calibrationLimit!: number;
  @Field(() => Boolean) compare!: boolean;
  @Field(() => Float) nonInferiorityMargin!: number;
  @Field(() => ModelVersion) source!: unknown;
  @Field(() => Dataset, { description: 'The calibration dataset.' }) dataset!: unknown;
  @Field(() => ModelVersion, { nullable: true, description: 'The version it registered.' }) derived!: unknown;
  @Field(() => Comparison, { nullable: true, description: 'The comparison of `derived` against `source`.' })
  comparison!: unknown;
  @Field(() => String, { nullable: true }) error!: string | null;
  @Field(() => Date) createdAt!: Date;
  @Field(() => Date, { nullable: true }) startedAt!: Date | null;
  @Field(() => Date, { nullable: true }) finishedAt!: Date | null;
}
