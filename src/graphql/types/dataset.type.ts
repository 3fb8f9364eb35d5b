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

@ObjectType({ description: 'One labeled image of a dataset version.' })
export class DatasetItem {
  @Field(() => Int, {
    description: '0-based position: GET /datasets/<name>/items/<ordinal>/image?version=N serves its image.',
  })
  ordinal!: number;

  @Field(() => String, { description: 'Its path in the source (e.g. the DVC-tracked folder).' })
  path!: string;

  @Field(() => String)
  label!: string;

  @Field(() => String)
  sha256!: string;
}
