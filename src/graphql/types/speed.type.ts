import { Field, Float, Int, ObjectType } from 'type-graphql';

@ObjectType({
  description:
    'A version\'s speed measured in isolation on the runtime that serves it, warm, on one input size: a fixed input, warm-up runs, then the median of timed runs (see "Speed and size" in the README).',
})
export class SpeedProfile {
  @Field(() => Float, { description: 'Median ms of one run of a batch of 1.' })
  batch1Ms!: number;

  @Field(() => Float, {
    description:
      'Images per second running batches of 32, from the median run (a graph with a fixed batch size under 32: batches of that size, see throughputBatchSize).',
  })
  batch32ImagesPerSecond!: number;

  @Field(() => String, { description: '"cpu", "cuda", "webgpu"...: the execution provider that ran it.' })
  executionProvider!: string;

  @Field(() => Int, { nullable: true, description: "onnxruntime's intra-op threads for the session." })
  threads!: number | null;

  @Field(() => Int, { description: 'Timed batch-1 runs.' })
  batch1Runs!: number;

  @Field(() => Int, { description: 'Timed runs of the throughput batch.' })
  batch32Runs!: number;

  @Field(() => Int, {
    description: "The batch size batch32ImagesPerSecond was measured at: 32, or the graph's fixed batch size.",
  })
  throughputBatchSize!: number;

  @Field(() => Int, { description: "The input measured (the model's inputSpec): width." })
  width!: number;

  @Field(() => Int)
  height!: number;

  @Field(() => Int)
  channels!: number;

  @Field(() => Date)
  measuredAt!: Date;
}
