import { Arg, Ctx, Int, Mutation, Query, Resolver } from 'type-graphql';
import { DomainError, badInput, payloadTooLarge } from '../../common/errors';
import { firstPage, PAGES } from '../../common/paging';
import { MAX_BATCH_BYTES, type ImageSource, type PredictionResult } from '../../inference/inference.service';
import type { LoadedVersion as Loaded } from '../../inference/model-manager';
import type { GraphQLContext } from '../context';
import { imageCost, imagesCost, listCost } from '../cost';
import { VersionRefInput } from '../types/inputs';
import { ImageInput, LoadedVersion, Prediction, RuntimeSettings } from '../types/prediction.type';

/**
 * Reads an uploaded file into memory, refusing it past `max` bytes. An upload that will not be used
 * is drained, or the multipart stream would stall the files after it.
 */
async function uploadBytes(input: ImageInput, max: number, request: { bytes: number }): Promise<ImageSource> {
  if (!input.upload) return { base64: input.base64 ?? null };
  let upload;
  try {
    upload = await input.upload;
  } catch (e) {
    throw badInput(`the upload could not be read: ${(e as Error).message}`);
  }
  const stream = upload.createReadStream();
  if (input.base64 != null) {
    stream.resume();
    return { bytes: Buffer.alloc(0), base64: input.base64 };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      request.bytes += chunk.length;
      if (request.bytes > MAX_BATCH_BYTES)
        throw payloadTooLarge(`the uploads add up to more than the ${MAX_BATCH_BYTES} bytes a request may carry`);
      if (size <= max) chunks.push(chunk);
    }
  } catch (e) {
    if (e instanceof DomainError) throw e;
    throw badInput(`the upload ${upload.filename} could not be read: ${(e as Error).message}`);
  }
  // The middleware stops a file one byte past the limit: more than `max` bytes means too large.
  if (size > max) throw payloadTooLarge(`the upload ${upload.filename} is more than MAX_IMAGE_BYTES (${max} bytes)`);
  return { bytes: Buffer.concat(chunks) };
}

/** All of a request's images at once: multipart files arrive in the client's order, not ours. */
async function sources(images: ImageInput[], max: number): Promise<ImageSource[]> {
  const request = { bytes: 0 };
  const settled = await Promise.allSettled(images.map((i) => uploadBytes(i, max, request)));
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return settled.map((r) => (r as PromiseFulfilledResult<ImageSource>).value);
}

const toPrediction = (r: PredictionResult) => ({
  modelVersion: r.version,
  resolvedBy: r.resolvedBy,
  top: r.top,
  executionProvider: r.executionProvider,
  timingsMs: r.timingsMs,
  id: r.id,
});

const ROUTING_KEY_MAX = 256;
function routingKey(key: string | null | undefined): string | null {
  if (key == null) return null;
  if (key.length === 0 || key.length > ROUTING_KEY_MAX)
    throw badInput(`routingKey must be 1 to ${ROUTING_KEY_MAX} characters`, { field: 'routingKey' });
  return key;
}

const ROUTING_KEY_DESCRIPTION =
  'Sticky routing: on a model with a running experiment, the same key always goes to the same arm (hashed with the experiment). Only the hash is logged.';

@Resolver()
export class PredictionResolver {
  @Query(() => Prediction, {
    description:
      'Classifies one image with the version the ref selects. A ref naming only the model, on a model with a running experiment, is routed to one of its arms and logged (Prediction.id).',
    complexity: imageCost,
  })
  async predict(
    @Ctx() ctx: GraphQLContext,
    @Arg('ref', () => VersionRefInput) ref: VersionRefInput,
    @Arg('image', () => ImageInput) image: ImageInput,
    @Arg('topK', () => Int, { nullable: true, defaultValue: 5 }) topK: number | null,
    @Arg('routingKey', () => String, { nullable: true, description: ROUTING_KEY_DESCRIPTION })
    key?: string | null,
  ) {
    const [source] = await sources([image], ctx.services.inference.maxImageBytes);
    return toPrediction(await ctx.services.inference.predict(ctx.actor, ref, source!, topK ?? 5, routingKey(key)));
  }

  @Query(() => [Prediction], {
    description: 'Classifies several images with one version; they share batches.',
    complexity: imagesCost,
  })
  async predictBatch(
    @Ctx() ctx: GraphQLContext,
    @Arg('ref', () => VersionRefInput) ref: VersionRefInput,
    @Arg('images', () => [ImageInput]) images: ImageInput[],
    @Arg('topK', () => Int, { nullable: true, defaultValue: 5 }) topK: number | null,
    @Arg('routingKey', () => String, { nullable: true, description: ROUTING_KEY_DESCRIPTION })
    key?: string | null,
  ) {
    const all = await sources(images, ctx.services.inference.maxImageBytes);
    return (await ctx.services.inference.predictBatch(ctx.actor, ref, all, topK ?? 5, routingKey(key))).map(
      toPrediction,
    );
  }

  @Query(() => [LoadedVersion], {
    description: 'Versions the inference runtime holds, with state, memory and use.',
    complexity: listCost(PAGES.loadedVersions),
  })
  async loadedVersions(@Ctx() ctx: GraphQLContext, @Arg('first', () => Int, { nullable: true }) first?: number | null) {
    const loaded = firstPage(ctx.services.inference.loaded(ctx.actor), first, PAGES.loadedVersions);
    const records = await Promise.all(loaded.map((l) => ctx.loaders.versionById.load(l.versionId)));
    return loaded.map((l, i) => toLoaded(l, records[i]));
  }

  @Query(() => RuntimeSettings, { description: "The runtime's memory budget, provider order and pinned aliases." })
  runtime(@Ctx() ctx: GraphQLContext): RuntimeSettings {
    const { memoryBudgetBytes, ...rest } = ctx.services.inference.settings(ctx.actor);
    return { ...rest, memoryBudgetMB: memoryBudgetBytes / 2 ** 20 };
  }

  @Mutation(() => LoadedVersion, { description: 'Loads a version now (admin); a FAILED version is retried.' })
  async loadVersion(@Ctx() ctx: GraphQLContext, @Arg('ref', () => VersionRefInput) ref: VersionRefInput) {
    const l = await ctx.services.inference.load(ctx.actor, ref);
    return toLoaded(l, await ctx.loaders.versionById.load(l.versionId));
  }

  @Mutation(() => Boolean, { description: 'Unloads a version (admin); false when it was not loaded.' })
  unloadVersion(@Ctx() ctx: GraphQLContext, @Arg('ref', () => VersionRefInput) ref: VersionRefInput): Promise<boolean> {
    return ctx.services.inference.unload(ctx.actor, ref);
  }
}

function toLoaded(l: Loaded, record: unknown) {
  return {
    ...l,
    modelVersion: record,
    executionProvider: l.provider,
    memoryMB: Math.round((l.memoryBytes / 2 ** 20) * 10) / 10,
  };
}
