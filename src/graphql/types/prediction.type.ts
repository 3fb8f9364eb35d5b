import { GraphQLUpload } from 'graphql-upload-minimal';
import { Field, Float, ID, InputType, Int, ObjectType } from 'type-graphql';
import { JSONScalar } from '../scalars';
import { ModelVersion } from './version.type';

/** What the multipart middleware hands a resolver for an Upload variable. */
export interface FileUpload {
  filename: string;
  mimetype: string;
  encoding: string;
  createReadStream(): NodeJS.ReadableStream;
}

@InputType({ description: 'An image: exactly one of base64 (raw file bytes, or a data: URL) or a multipart upload.' })
export class ImageInput {
  @Field(() => String, {
    nullable: true,
    description: 'PNG, JPEG, WebP, TIFF, GIF or AVIF file bytes, base64-encoded; data: URLs accepted.',
  })
  base64?: string | null;

  @Field(() => GraphQLUpload, {
    nullable: true,
    description: 'The GraphQL multipart request spec; send the header apollo-require-preflight: true.',
  })
  upload?: Promise<FileUpload> | null;
}

@ObjectType()
export class ClassScore {
  @Field(() => Int)
  index!: number;

  @Field(() => String)
  label!: string;

  @Field(() => Float)
  probability!: number;
}

@ObjectType()
export class Prediction {
  @Field(() => ID, {
    nullable: true,
    description:
      'Set when the prediction is logged (routed by an experiment): give it to recordFeedback with the true label.',
  })
  id?: string | null;

  @Field(() => ModelVersion, { description: 'The version that actually answered.' })
  modelVersion!: unknown;

  @Field(() => String, { description: '"version", "alias:<name>", "default", "experiment:<id>/<arm>".' })
  resolvedBy!: string;

  @Field(() => [ClassScore], { description: 'Sorted by probability, topK long.' })
  top!: ClassScore[];

  @Field(() => String, { description: 'The execution provider that ran the model: cpu, cuda, tensorrt, webgpu.' })
  executionProvider!: string;

  @Field(() => JSONScalar, {
    description: 'decode, preprocess, queue, inference, total (ms), and the batchSize the request ran in.',
  })
  timingsMs!: object;
}

@ObjectType({ description: 'A version held by the inference runtime.' })
export class LoadedVersion {
  @Field(() => ModelVersion)
  modelVersion!: unknown;

  @Field(() => String, { description: 'LOADING, READY or FAILED.' })
  state!: string;

  @Field(() => String, { nullable: true })
  reason!: string | null;

  @Field(() => String, { nullable: true, description: 'The execution provider it runs on.' })
  executionProvider!: string | null;

  @Field(() => Float, { description: 'Estimated resident memory, in MB.' })
  memoryMB!: number;

  @Field(() => Float, { nullable: true })
  loadMs!: number | null;

  @Field(() => Date, { nullable: true })
  loadedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  lastUsed!: Date | null;

  @Field(() => Int, { description: 'Predictions served since it was loaded.' })
  requests!: number;

  @Field(() => Int)
  maxBatchSize!: number;

  @Field(() => Boolean, { description: 'A pinned alias points at it: never unloaded to make room.' })
  pinned!: boolean;
}

@ObjectType({ description: 'What the inference runtime works with.' })
export class RuntimeSettings {
  @Field(() => Float, { description: 'Loaded versions beyond this are unloaded, least recently used first.' })
  memoryBudgetMB!: number;

  @Field(() => [String], { description: 'Execution providers in preference order (CPU is the last resort).' })
  executionProviders!: string[];

  @Field(() => [String], { description: 'Aliases that need admin to move, and whose versions are never unloaded.' })
  pinnedAliases!: string[];
}
