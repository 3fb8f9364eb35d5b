import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { JSONScalar } from '../scalars';

export enum VersionStatus {
  PENDING = 'PENDING',
  READY = 'READY',
  FAILED = 'FAILED',
  ARCHIVED = 'ARCHIVED',
}
registerEnumType(VersionStatus, { name: 'VersionStatus' });

export enum RemoteProtocol {
  BINARY = 'BINARY',
  JSON = 'JSON',
}
registerEnumType(RemoteProtocol, {
  name: 'RemoteProtocol',
  description: "How tensors travel to a remote engine: the binary tensor data extension (Triton's, KServe's) or JSON.",
});

@ObjectType({
  description:
    'A remote engine serving the version over the Open Inference Protocol v2 (Triton, KServe) instead of the local runtime.',
})
export class RemoteBackend {
  @Field(() => String, { description: 'Base URL of the server (the /v2/... paths are appended).' })
  url!: string;

  @Field(() => String, { description: "The model's name on the remote server." })
  model!: string;

  @Field(() => String, { nullable: true, description: "The remote model's version; null: the server chooses." })
  modelVersion!: string | null;

  @Field(() => RemoteProtocol)
  protocol!: RemoteProtocol;

  @Field(() => Int, { description: 'Deadline of one request in milliseconds (retries have their own).' })
  timeoutMs!: number;
}

@InputType({ description: 'Where a remote Open Inference Protocol engine serves the version.' })
export class RemoteBackendInput {
  @Field(() => String, { description: 'http(s) base URL, e.g. "http://triton:8000".' })
  url!: string;

  @Field(() => String)
  model!: string;

  @Field(() => String, { nullable: true })
  modelVersion?: string | null;

  @Field(() => RemoteProtocol, { nullable: true, description: 'Default BINARY.' })
  protocol?: RemoteProtocol | null;

  @Field(() => Int, { nullable: true, description: 'Default 10000.' })
  timeoutMs?: number | null;
}

@ObjectType({ description: 'Where a DVC-tracked artifact came from.' })
export class DvcProvenance {
  @Field(() => String, { description: 'Repository path or URL.' })
  repo!: string;

  @Field(() => String, { nullable: true, description: 'Git revision (commit) the artifact was read at.' })
  rev!: string | null;

  @Field(() => String, { description: 'Path of the output inside the repository.' })
  path!: string;

  @Field(() => String, { description: 'DVC md5 of the output.' })
  md5!: string;

  @Field(() => String, { nullable: true, description: 'DVC remote the bytes were fetched from.' })
  remote!: string | null;

  @Field(() => Boolean, { description: 'Whether tracked files differed from the revision when imported.' })
  dirty!: boolean;
}

@ObjectType({ description: 'One logged value of a metric.' })
export class MetricPoint {
  @Field(() => String)
  key!: string;

  // `value` and `nonFinite` are resolved (MetricPointResolver): GraphQL's Float has no NaN or Infinity.
  value!: number;

  @Field(() => Float, { description: 'Milliseconds since the epoch.' })
  timestamp!: number;

  @Field(() => Float)
  step!: number;
}

@ObjectType({ description: 'The MLflow run that produced a version.' })
export class MlflowRun {
  @Field(() => String, { nullable: true, description: 'RUNNING, SCHEDULED, FINISHED, FAILED or KILLED.' })
  status!: string | null;

  @Field(() => Date, { nullable: true })
  startTime!: Date | null;

  @Field(() => Date, { nullable: true })
  endTime!: Date | null;

  @Field(() => String)
  runId!: string;

  @Field(() => String)
  experimentId!: string;

  @Field(() => String, { nullable: true })
  experimentName!: string | null;

  @Field(() => String, { nullable: true })
  runName!: string | null;

  @Field(() => String)
  trackingUri!: string;

  @Field(() => JSONScalar)
  params!: unknown;

  @Field(() => JSONScalar, { description: 'Latest value per metric key.' })
  metrics!: unknown;

  @Field(() => JSONScalar)
  tags!: unknown;
}

@ObjectType({ description: 'One numbered version of a model: an ONNX file with its hashes and provenance.' })
export class ModelVersion {
  @Field(() => ID)
  id!: number;

  @Field(() => Int)
  version!: number;

  @Field(() => VersionStatus)
  status!: VersionStatus;

  @Field(() => String, { nullable: true, description: 'Why the version is FAILED or ARCHIVED.' })
  statusReason!: string | null;

  @Field(() => String, { description: '"onnx"' })
  format!: string;

  @Field(() => String, { description: 'Where the artifact came from (file://, dvc://, runs:/ ...).' })
  artifactUri!: string;

  @Field(() => String)
  sha256!: string;

  @Field(() => String)
  md5!: string;

  @Field(() => JSONScalar, { description: 'Inputs and outputs of the graph as loaded: names, element types, shapes.' })
  signature!: unknown;

  @Field(() => JSONScalar)
  tags!: unknown;

  @Field(() => Date)
  createdAt!: Date;
}
