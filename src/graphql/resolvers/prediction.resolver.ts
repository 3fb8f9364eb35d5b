import { Arg, Ctx, Int, Mutation, Query, Resolver } from 'type-graphql';
import { DomainError } from '../../common/errors';
import type { ImageSource, PredictionResult } from '../../inference/inference.service';
import type { LoadedVersion as Loaded } from '../../inference/model-manager';
import type { GraphQLContext } from '../context';
import { VersionRefInput } from '../types/inputs';
import { ImageInput, LoadedVersion, Prediction } from '../types/prediction.type';

/** Reads an uploaded file into memory, refusing it past `max` bytes without reading further. */
async function uploadBytes(input: ImageInput, max: number): Promise<ImageSource> {
  if (!input.upload) return { base64: input.base64 ?? null };
  if (input.base64 != null) return { bytes: Buffer.alloc(0), base64: input.base64 };
  let upload;
  try {
    upload = await input.upload;
  } catch (e) {
    throw new DomainError('BAD_USER_INPUT', `the upload could not be read: ${(e as Error).message}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of upload.createReadStream() as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > max) throw new DomainError('PAYLOAD_TOO_LARGE', `the upload ${upload.filename} is more than MAX_IMAGE_BYTES (${max} bytes)`);
      chunks.push(chunk);
    }
  } catch (e) {
    if (e instanceof DomainError) throw e;
    // The multipart middleware stops a file at its size limit with a 413 error.
    if ((e as { status?: number }).status === 413) throw new DomainError('PAYLOAD_TOO_LARGE', `the upload ${upload.filename} is more than MAX_IMAGE_BYTES (${max} bytes)`);
    throw new DomainError('BAD_USER_INPUT', `the upload ${upload.filename} could not be read: ${(e as Error).message}`);
  }
  return { bytes: Buffer.concat(chunks) };
}

const toPrediction = (r: PredictionResult) => ({ modelVersion: r.version, resolvedBy: r.resolvedBy, top: r.top, executionProvider: r.executionProvider, timingsMs: r.timingsMs, id: null });

@Resolver()
export class PredictionResolver {
  @Query(() => Prediction, { description: 'Classifies one image with the version the ref selects.' })
  async predict(
    @Ctx() ctx: GraphQLContext,
    @Arg('ref', () => VersionRefInput) ref: VersionRefInput,
    @Arg('image', () => ImageInput) image: ImageInput,
    @Arg('topK', () => Int, { nullable: true, defaultValue: 5 }) topK: number | null,
    @Arg('routingKey', () => String, { nullable: true, description: 'Sticky routing for experiments (reserved).' }) _routingKey?: string | null,
  ) {
    const source = await uploadBytes(image, ctx.services.inference.maxImageBytes);
    return toPrediction(await ctx.services.inference.predict(ctx.actor, ref, source, topK ?? 5));
  }

  @Query(() => [Prediction], { description: 'Classifies several images with one version; they share batches.' })
  async predictBatch(
    @Ctx() ctx: GraphQLContext,
    @Arg('ref', () => VersionRefInput) ref: VersionRefInput,
    @Arg('images', () => [ImageInput]) images: ImageInput[],
    @Arg('topK', () => Int, { nullable: true, defaultValue: 5 }) topK: number | null,
  ) {
    const max = ctx.services.inference.maxImageBytes;
    const sources = [];
    for (const image of images) sources.push(await uploadBytes(image, max));
    return (await ctx.services.inference.predictBatch(ctx.actor, ref, sources, topK ?? 5)).map(toPrediction);
  }

  @Query(() => [LoadedVersion], { description: 'Versions the inference runtime holds, with state, memory and use.' })
  async loadedVersions(@Ctx() ctx: GraphQLContext) {
    const loaded = ctx.services.inference.loaded(ctx.actor);
    const records = await Promise.all(loaded.map((l) => ctx.loaders.versionById.load(l.versionId)));
    return loaded.map((l, i) => toLoaded(l, records[i]));
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
  return { ...l, modelVersion: record, executionProvider: l.provider, memoryMB: Math.round((l.memoryBytes / 2 ** 20) * 10) / 10 };
}
