import { Arg, Ctx, FieldResolver, Int, Mutation, Resolver, Root } from 'type-graphql';
import type { SpeedProfile as Speed } from '../../evaluation/speed.service';
import type { VersionRecord } from '../../registry/version.repository';
import type { GraphQLContext } from '../context';
import { VersionRefInput } from '../types/inputs';
import { SpeedProfile } from '../types/speed.type';
import { ModelVersion } from '../types/version.type';

@Resolver(() => SpeedProfile)
export class SpeedProfileResolver {
  @FieldResolver(() => Int, { description: "The input measured (the model's inputSpec): width." })
  width(@Root() s: Speed): number {
    return s.input.width;
  }

  @FieldResolver(() => Int)
  height(@Root() s: Speed): number {
    return s.input.height;
  }

  @FieldResolver(() => Int)
  channels(@Root() s: Speed): number {
    return s.input.channels;
  }

  @FieldResolver(() => Date)
  measuredAt(@Root() s: Speed): Date {
    return new Date(s.measuredAt);
  }
}

/** A version's size and speed: the parameter count, its latest speed measurement, and measuring it now. */
@Resolver(() => ModelVersion)
export class VersionSpeedResolver {
  @FieldResolver(() => String, {
    nullable: true,
    description:
      "Weights in the graph (64-bit, as a string): its initializers' elements, leaving out QuantizeLinear/DequantizeLinear scales and zero points. Null for a version registered before they were counted, until a comparison or measureVersionSpeed counts them.",
  })
  parameters(@Root() v: VersionRecord): string | null {
    return v.parameterCount === null ? null : v.parameterCount.toString();
  }

  @FieldResolver(() => SpeedProfile, {
    nullable: true,
    description:
      'Its most recent speed measurement (by a comparison or measureVersionSpeed), with the input size and when; null when never measured.',
  })
  speed(@Root() v: VersionRecord, @Ctx() ctx: GraphQLContext): Promise<Speed | null> {
    return ctx.loaders.speedByVersionId.load(v.id);
  }

  @Mutation(() => SpeedProfile, {
    description:
      "Measures the version's speed now, in isolation on the runtime that serves it, on its model's input size, and records it as its latest measurement (operator). Requests for versions on the same inference worker wait meanwhile (seconds).",
  })
  async measureVersionSpeed(
    @Ctx() ctx: GraphQLContext,
    @Arg('ref', () => VersionRefInput) ref: VersionRefInput,
  ): Promise<Speed> {
    return (await ctx.services.speed.measureVersion(ctx.actor, ref)).speed;
  }
}
