import { Field, InputType, Int } from 'type-graphql';
import { JSONScalar } from '../scalars';

@InputType({
  description: "Which version to use: an explicit number, an alias, or (neither) the model's default routing.",
})
export class VersionRefInput {
  @Field(() => String)
  model!: string;

  @Field(() => Int, { nullable: true })
  version?: number | null;

  @Field(() => String, { nullable: true, description: 'e.g. "baseline", "champion"' })
  alias?: string | null;
}

@InputType()
export class RegisterModelInput {
  @Field(() => String)
  name!: string;

  @Field(() => String, { nullable: true, description: 'Default "image-classification".' })
  task?: string | null;

  @Field(() => [String])
  labels!: string[];

  @Field(() => JSONScalar)
  inputSpec!: unknown;

  @Field(() => String, { nullable: true })
  description?: string | null;
}

@InputType()
export class RegisterVersionInput {
  @Field(() => String)
  model!: string;

  @Field(() => String, { description: "Path of an ONNX file on the gateway's machine." })
  artifactPath!: string;

  @Field(() => JSONScalar, { nullable: true })
  tags?: unknown;
}
