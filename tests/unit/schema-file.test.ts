import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSchema, type GraphQLField, type GraphQLInputField, type GraphQLSchema } from 'graphql';
import { printGatewaySchema } from '../../src/graphql/schema';

describe('schema.graphql', () => {
  it('is what the code generates (run `npm run schema` after changing types or resolvers)', () => {
    const committed = readFileSync(path.resolve(__dirname, '..', '..', 'schema.graphql'), 'utf8');
    expect(committed).toBe(printGatewaySchema());
  });
});

/**
 * The API contract the project started from (the registry and inference operations clients were
 * promised): every operation, argument and field keeps its name, type and nullability.
 */
const CONTRACT = `
scalar DateTime
scalar JSON
scalar Upload
input ImageInput { base64: String upload: Upload }
type ClassScore { index: Int! label: String! probability: Float! }
type Prediction { id: ID modelVersion: ModelVersion! resolvedBy: String! top: [ClassScore!]! executionProvider: String! timingsMs: JSON! }
input VersionRefInput { model: String! version: Int alias: String }
enum VersionStatus { PENDING READY FAILED ARCHIVED }
type Model { name: String! task: String! labels: [String!]! inputSpec: JSON! versions: [ModelVersion!]! aliases: [Alias!]! createdAt: DateTime! }
type Alias { name: String! version: ModelVersion! updatedAt: DateTime! }
type ModelVersion { id: ID! model: Model! version: Int! status: VersionStatus! statusReason: String aliases: [String!]! artifactUri: String!
  sha256: String! sizeBytes: String! dvc: DvcProvenance mlflowRun: MlflowRun parent: ModelVersion tags: JSON! createdAt: DateTime! }
type DvcProvenance { repo: String! rev: String path: String! md5: String! remote: String }
type MlflowRun { runId: String! experimentId: String! experimentName: String runName: String trackingUri: String! params: JSON! metrics: JSON! tags: JSON! }
type Dataset { name: String! version: Int! labels: [String!]! size: Int! digest: String! }
input RegisterModelInput { name: String! task: String labels: [String!]! inputSpec: JSON! description: String }
input RegisterVersionInput { model: String! artifactPath: String! tags: JSON }
type Query {
  models(search: String, first: Int, after: String): [Model!]!
  model(name: String!): Model
  modelVersion(ref: VersionRefInput!): ModelVersion
  datasets: [Dataset!]!
  predict(ref: VersionRefInput!, image: ImageInput!, topK: Int = 5, routingKey: String): Prediction!
  predictBatch(ref: VersionRefInput!, images: [ImageInput!]!, topK: Int = 5): [Prediction!]!
}
type Mutation {
  registerModel(input: RegisterModelInput!): Model!
  registerVersion(input: RegisterVersionInput!): ModelVersion!
  setAlias(model: String!, alias: String!, version: Int!): Alias!
  removeAlias(model: String!, alias: String!): Boolean!
}
`;

describe('the API contract (registry and inference parts)', () => {
  const actual: GraphQLSchema = buildSchema(
    readFileSync(path.resolve(__dirname, '..', '..', 'schema.graphql'), 'utf8'),
  );
  const contract = buildSchema(CONTRACT);
  const typeString = (f: { type: unknown }) => String(f.type);

  for (const type of Object.values(contract.getTypeMap()).filter((t) => !t.name.startsWith('__'))) {
    it(`keeps ${type.name}`, () => {
      const real = actual.getType(type.name);
      expect(real?.constructor.name).toBe(type.constructor.name);
      if ('getFields' in type && real && 'getFields' in real) {
        const realFields = real.getFields() as Record<string, GraphQLField<unknown, unknown> | GraphQLInputField>;
        for (const [name, field] of Object.entries(
          type.getFields() as Record<string, GraphQLField<unknown, unknown> | GraphQLInputField>,
        )) {
          expect([name, realFields[name] && typeString(realFields[name]!)]).toEqual([name, typeString(field)]);
          if ('args' in field) {
            const realArgs = Object.fromEntries(
              ((realFields[name] as GraphQLField<unknown, unknown>).args ?? []).map((a) => [a.name, String(a.type)]),
            );
            for (const arg of field.args)
              expect([name, arg.name, realArgs[arg.name]]).toEqual([name, arg.name, String(arg.type)]);
          }
        }
      }
      if ('getValues' in type && real && 'getValues' in real) {
        expect(
          real
            .getValues()
            .map((v) => v.name)
            .sort(),
        ).toEqual(
          type
            .getValues()
            .map((v) => v.name)
            .sort(),
        );
      }
    });
  }
});
