import { Field, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'A named pointer to one version of a model, e.g. "baseline" or "champion".' })
export class Alias {
  @Field(() => String)
  name!: string;

  @Field(() => Date)
  updatedAt!: Date;
}

@ObjectType({ description: 'One move of an alias: set (from null), moved, or removed (to null).' })
export class AliasEvent {
  @Field(() => String)
  alias!: string;

  @Field(() => Int, { nullable: true })
  fromVersion!: number | null;

  @Field(() => Int, { nullable: true })
  toVersion!: number | null;

  @Field(() => String, { description: 'API key name or local user that made the move.' })
  actor!: string;

  @Field(() => String, {
    nullable: true,
    description: 'Why, when the move was not a direct setAlias: e.g. the experiment that promoted the version.',
  })
  reason!: string | null;

  @Field(() => Date)
  createdAt!: Date;
}
