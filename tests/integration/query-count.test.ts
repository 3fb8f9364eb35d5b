import { pairedComparison, versionMetrics, type ItemOutcome } from '../../src/evaluation/statistics';
import { createTestApp, dbKind, expectData, fixture, GRAY_MODEL, type TestApp } from '../helpers/test-app';

const LIST = `{ models(first: 100) {
  name labels
  aliases(first: 5) { name updatedAt version { version sha256 model { name } } }
  versions(first: 5) { id version status sizeBytes aliases model { name } parent { version } dvc { md5 } mlflowRun { runId } }
} }`;

const COMPARISONS = `{ comparisons(first: 100) {
  id status summary report(format: MARKDOWN)
  dataset { name version classCounts }
  baseline { version aliases model { name } }
  candidate { version model { name } mlflowRun { runId metricHistory(first: 3) { key step value } } }
  disagreements(first: 5) { ordinal path label baselineLabel candidateLabel }
} }`;

/** Four items of the gray model's classes: the versions disagree on two of them. */
const ITEMS = [
  { label: 0, baseline: 0, candidate: 0 },
  { label: 1, baseline: 1, candidate: 2 },
  { label: 2, baseline: 0, candidate: 2 },
  { label: 1, baseline: 1, candidate: 1 },
];
const probs = (top: number) => [0, 1, 2].map((k) => (k === top ? 0.8 : 0.1));

describe(`listing costs a constant number of queries (${dbKind()})`, () => {
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

  /** The statements one operation sends, as the viewer. */
  async function measure(query: string): Promise<{ queries: number; data: any }> {
    // Warm the key so that only the operation is counted: its first use records lastUsedAt, and the
    // notifications of the writes above may still be arriving (PostgreSQL).
    for (let i = 0; i < 2; i++) {
      await t.app.authenticate(`Bearer ${t.keys.viewer}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    queries = [];
    const data = expectData(await t.gql(query, {}, t.keys.viewer));
    return { queries: queries.length, data };
  }

  async function count(): Promise<{ queries: number; models: number; versions: number }> {
    const { queries: n, data } = await measure(LIST);
    return {
      queries: n,
      models: data.models.length,
      versions: data.models.reduce((s: number, m: any) => s + m.versions.length, 0),
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

  describe('comparisons', () => {
    const outcomes = (side: 'baseline' | 'candidate'): ItemOutcome[] =>
      ITEMS.map((i) => ({ label: i.label, predicted: i[side], probabilities: probs(i[side]), latencyMs: 1 }));
    // As the runner stores them (JSON).
    const results = JSON.parse(
      JSON.stringify({
        baseline: { ...versionMetrics(outcomes('baseline'), GRAY_MODEL.labels), sizeBytes: 1000 },
        candidate: { ...versionMetrics(outcomes('candidate'), GRAY_MODEL.labels), sizeBytes: 1000 },
        paired: pairedComparison(outcomes('baseline'), outcomes('candidate'), GRAY_MODEL.labels),
      }),
    );
    let baselineId: number | undefined;

    /**
     * Adds finished comparisons straight into the database (running them would only be slower):
     * each of a new candidate version with its own MLflow run, on its own dataset, against cmp-a's
     * baseline (half of the candidates are versions of cmp-b).
     */
    async function addComparisons(from: number, to: number) {
      const actor = t.app.localActor();
      const prisma = t.app.db.prisma;
      const file = fixture('gray8x8-3class.onnx');
      if (baselineId === undefined) {
        await t.app.services.models.register(actor, { ...GRAY_MODEL, name: 'cmp-a' });
        await t.app.services.models.register(actor, { ...GRAY_MODEL, name: 'cmp-b' });
        baselineId = (await t.app.services.versions.register(actor, { model: 'cmp-a', artifactPath: file })).id;
        await t.app.services.aliases.set(actor, 'cmp-a', 'baseline', 1);
      }
      for (let i = from; i < to; i++) {
        const model = i % 2 ? 'cmp-b' : 'cmp-a';
        const candidate = await t.app.services.versions.register(actor, { model, artifactPath: file });
        const run = await prisma.mlflowRun.create({
          data: {
            trackingUri: 'file:///query-count/mlruns',
            experimentId: '1',
            runId: `run-${i}`,
            history: {
              create: [0, 1, 2, 3].map((step) => ({
                key: 'loss',
                value: 1 / (step + 1),
                timestamp: BigInt(1_700_000_000_000 + step),
                step: BigInt(step),
              })),
            },
          },
        });
        await prisma.modelVersion.update({ where: { id: candidate.id }, data: { mlflowRunId: run.id } });
        const dataset = await prisma.dataset.create({
          data: {
            name: `set-${String(i).padStart(3, '0')}`,
            version: 1,
            labels: GRAY_MODEL.labels,
            itemCount: ITEMS.length,
            digest: `digest-${i}`,
            storageUri: 'file:///query-count/datasets',
            items: {
              create: ITEMS.map((item, ordinal) => ({
                ordinal,
                path: `item-${ordinal}.png`,
                labelIndex: item.label,
                sha256: String(ordinal),
              })),
            },
          },
          include: { items: { orderBy: { ordinal: 'asc' } } },
        });
        await prisma.comparison.create({
          data: {
            status: 'SUCCEEDED',
            baselineId,
            candidateId: candidate.id,
            datasetId: dataset.id,
            options: { alpha: 0.05, limit: null, labelMapping: {}, nonInferiorityMargin: null },
            requestKey: `query-count-${i}`,
            total: ITEMS.length,
            done: ITEMS.length,
            results,
            createdBy: actor.name,
            finishedAt: new Date(),
            items: {
              create: ITEMS.map((item, ordinal) => ({
                ordinal,
                datasetItemId: dataset.items[ordinal]!.id,
                label: item.label,
                baselineTop1: item.baseline,
                candidateTop1: item.candidate,
                baselineProbs: probs(item.baseline),
                candidateProbs: probs(item.candidate),
                baselineMs: 1,
                candidateMs: 1,
              })),
            },
          },
        });
      }
    }

    async function countComparisons() {
      const { queries: n, data } = await measure(COMPARISONS);
      const list: any[] = data.comparisons;
      // Each comparison gets its own rows back from the batches.
      for (const c of list) {
        const candidate = `${c.candidate.model.name} v${c.candidate.version}`;
        const baseline = c.candidate.model.name === 'cmp-a' ? 'v1 (baseline)' : 'cmp-a v1 (baseline)';
        expect(c.summary.startsWith(`${candidate} `)).toBe(true);
        expect(c.summary).toContain(` ${baseline} `);
        expect(c.summary.endsWith(` of ${c.dataset.name}@1.`)).toBe(true);
        expect(c.report).toContain(c.summary);
        expect(c.disagreements).toEqual([
          { ordinal: 1, path: 'item-1.png', label: 'square', baselineLabel: 'square', candidateLabel: 'triangle' },
          { ordinal: 2, path: 'item-2.png', label: 'triangle', baselineLabel: 'circle', candidateLabel: 'triangle' },
        ]);
        expect(c.candidate.mlflowRun.metricHistory.map((p: any) => p.step)).toEqual([0, 1, 2]);
        expect(c.dataset.classCounts).toEqual([1, 2, 1]);
      }
      return {
        queries: n,
        comparisons: list.length,
        datasets: new Set(list.map((c) => c.dataset.name)).size,
        runs: new Set(list.map((c) => c.candidate.mlflowRun.runId)).size,
      };
    }

    it('is the same for 5 and for 40 with their datasets, reports, summaries and MLflow metric histories', async () => {
      await addComparisons(0, 5);
      const small = await countComparisons();
      expect(small).toMatchObject({ comparisons: 5, datasets: 5, runs: 5 });
      await addComparisons(5, 40);
      const large = await countComparisons();
      expect(large).toMatchObject({ comparisons: 40, datasets: 40, runs: 40 });
      expect(large.queries).toBe(small.queries);
      // Comparisons, versions, datasets, the datasets' class counts, models, MLflow runs, metric
      // histories, alias names (twice: the baseline's field, then the report's names), and
      // disagreements twice (the report's 48, the field's 5). Per-row loading would add four per comparison.
      expect(large.queries).toBeLessThanOrEqual(11);
    }, 240_000);
  });
});
