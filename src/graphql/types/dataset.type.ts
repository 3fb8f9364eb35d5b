import { Field, Int, ObjectType } from 'type-graphql';
import { JSONScalar } from '../scalars';

@ObjectType({ description: 'A labeled evaluation set, versioned by name.' })
export class Dataset {
  @Field(() => String)
  name!: string;

  @Field(() => Int)
  version!: number;

  @Field(() => [String])
  labels!: string[];

  @Field(() => String, { description: 'sha256 over the labels and the (path, label, sha256) of every item.' })
  digest!: string;

  @Field(() => String, { description: 'Where the item files are stored.' })
  storageUri!: string;

  @Field(() => JSONScalar)
  provenance!: unknown;

  @Field(() => Date)
  createdAt!: Date;
}
