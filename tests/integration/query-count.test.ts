import { createTestApp, dbKind, expectData, fixture, GRAY_MODEL, type TestApp } from '../helpers/test-app';

const LIST = `{ models(first: 100) {
  name labels
  aliases(first: 5) { name updatedAt version { version sha256 model { name } } }
  versions(first: 5) { id version status sizeBytes aliases model { name } parent { version } dvc { md5 } mlflowRun { runId } }
} }`;

describe(`listing models costs a constant number of queries (${dbKind()})`, () => {
  let t: TestApp;
  let queries: string[] = [];

  beforeAll(async () => {
    t = await createTestApp({ database: { onQuery: (sql) => queries.push(sql) } });
  });
  afterAll(() => t.close());

  /** Adds models (3 versions each, derived chains, two aliases) straight through the services. */
  async function addModels(from: number, to: number) {
    const actor = t.app.localActor();
    const file = fixture('gray8x8-3class.onnx');
    for (let i = from; i < to; i++) {
      const name = `model-${String(i).padStart(3, '0')}`;
      await t.app.services.models.register(actor, { ...GRAY_MODEL, name });
      await t.app.services.versions.register(actor, { model: name, artifactPath: file });
      await t.app.services.versions.register(actor, { model: name, artifactPath: file, parentVersion: 1 });
      await t.app.services.versions.register(actor, { model: name, artifactPath: file, parentVersion: 2 });
      await t.app.services.aliases.set(actor, name, 'champion', 2);
      await t.app.services.aliases.set(actor, name, 'baseline', 1);
    }
  }

  async function count(): Promise<{ queries: number; models: number; versions: number }> {
    // Warm the key so that only the listing is counted: its first use records lastUsedAt, and the
    // notifications of the writes above may still be arriving (PostgreSQL).
    for (let i = 0; i < 2; i++) {
      await t.app.authenticate(`Bearer ${t.keys.viewer}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    queries = [];
    const { models } = expectData(await t.gql(LIST, {}, t.keys.viewer));
    const n = queries.length;
    return {
      queries: n,
      models: models.length,
      versions: models.reduce((s: number, m: any) => s + m.versions.length, 0),
    };
  }

  it('is the same for 10 and for 100 models with their versions and aliases', async () => {
    await addModels(0, 10);
    const small = await count();
    expect(small).toMatchObject({ models: 10, versions: 30 });
    await addModels(10, 100);
    const large = await count();
    expect(large).toMatchObject({ models: 100, versions: 300 });
    expect(large.queries).toBe(small.queries);
    // One per kind of record: models, versions (alias targets and parents come from them), aliases,
    // alias names per version, models by id, DVC provenance (the API key's row is cached).
    // Per-row loading would add hundreds.
    expect(large.queries).toBeLessThanOrEqual(6);
  }, 240_000);
});
