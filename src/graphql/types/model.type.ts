import { Field, ObjectType } from 'type-graphql';
import { JSONScalar } from '../scalars';

@ObjectType({ description: 'A registered model: one task, one label set, one input spec; many versions.' })
export class Model {
  @Field(() => String)
  name!: string;

  @Field(() => String, { description: '"image-classification"' })
  task!: string;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => [String], { description: 'Class names in index order.' })
  labels!: string[];

  @Field(() => JSONScalar, { description: 'How an image becomes the input tensor (see README), defaults filled in.' })
  inputSpec!: unknown;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
}
