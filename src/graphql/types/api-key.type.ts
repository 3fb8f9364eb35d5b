import { Field, ObjectType, registerEnumType } from 'type-graphql';

export enum ApiKeyRole {
  VIEWER = 'viewer',
  OPERATOR = 'operator',
  ADMIN = 'admin',
}
registerEnumType(ApiKeyRole, { name: 'ApiKeyRole', description: 'viewer < operator < admin' });

@ObjectType()
export class ApiKey {
  @Field(() => String)
  name!: string;

  @Field(() => String, { description: 'The first characters of the key, to recognise it.' })
  prefix!: string;

  @Field(() => ApiKeyRole)
  role!: ApiKeyRole;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  lastUsedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  revokedAt!: Date | null;
}

@ObjectType()
export class CreatedApiKey {
  @Field(() => String, { description: 'The secret. Shown only now: it is stored hashed.' })
  key!: string;

  @Field(() => ApiKey)
  apiKey!: ApiKey;
}

@ObjectType({ description: 'Who the server takes the caller to be.' })
export class Viewer {
  @Field(() => String)
  name!: string;

  @Field(() => ApiKeyRole, { nullable: true })
  role!: ApiKeyRole | null;
}
