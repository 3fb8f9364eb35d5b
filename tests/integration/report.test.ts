import { writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { mulberry32 } from '../../src/evaluation/statistics';
import { REPORT_DISAGREEMENTS } from '../../src/evaluation/report';
import { matrixDifference } from '../../src/evaluation/report-charts';
import { startServer, type RunningServer } from '../../src/http/server';
import { chart, chartKinds, dataOf, galleryImages, matrixCells, PNG_SIGNATURE } from '../helpers/report-html';
import { createTestApp, dbKind, expectData, fixture, GRAY_MODEL, type TestApp } from '../helpers/test-app';

/** Labels are user data: one would open a tag in HTML, one would be a formula in a spreadsheet. */
const LABELS = ['circle', '<script>alert("x")</script> & co', '=HYPERLINK("http://evil")'];
const ITEMS = 90;
/** An item path a spreadsheet would take for a formula, with a comma and quotes to quote. */
const ODD_PATH = '-odd,"name".png';

const METRICS = 'accuracy macroF1 ece meanConfidence confusionMatrix reliability perClass';
const GET = `query($id: ID!) { comparison(id: $id) {
  id status n agreement accuracyDelta accuracyDeltaCi95 macroF1Delta macroF1DeltaCi95
  baselineMetrics { ${METRICS} } candidateMetrics { ${METRICS} }
  disagreements(first: 1000) { ordinal path label baselineLabel baselineProbability candidateLabel candidateProbability }
} }`;
const REPORT = `query($id: ID!) { comparison(id: $id) { report(format: HTML) } }`;
const START = `mutation($input: StartComparisonInput!) { startComparison(input: $input) { id status } }`;

/** RFC 4180, as a spreadsheet reads it: quoted fields may hold commas, doubled quotes and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted && c === '"' && text[i + 1] === '"') {
      field += '"';
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (!quoted && c === ',') {
      row.push(field);
      field = '';
    } else if (!quoted && c === '\r' && text[i + 1] === '\n') {
      rows.push([...row, field]);
      row = [];
      field = '';
      i++;
    } else {
      field += c;
    }
  }
  if (field || row.length) throw new Error('the CSV does not end with CRLF');
  return rows;
}

describe(`the HTML report's charts and gallery, the items CSV and class counts (${dbKind()})`, () => {
  let t: TestApp;
  let server: RunningServer;
  let url: string;
  let id: string;
  let c: any;

  beforeAll(async () => {
    t = await createTestApp();
    const admin = t.app.localActor();
    // Two versions with different (random) weights of the gray 8x8 model: they disagree on some images.
    await t.app.services.models.register(admin, { ...GRAY_MODEL, labels: LABELS });
    await t.app.services.versions.register(admin, { model: 'gray', artifactPath: fixture('gray8x8-3class.onnx') });
    await t.app.services.versions.register(admin, {
      model: 'gray',
      artifactPath: fixture('gray8x8-3class-batch1.onnx'),
    });
    // Noise images from a fixed seed: the same dataset, and the same numbers, on every run.
    const random = mulberry32(7);
    const items = [];
    for (let i = 0; i < ITEMS; i++) {
      const pixels = Buffer.from(Array.from({ length: 64 }, () => Math.floor(random() * 256)));
      const file = path.join(t.dataDir, `noise-${i}.png`);
      writeFileSync(
        file,
        await sharp(pixels, { raw: { width: 8, height: 8, channels: 1 } })
          .png()
          .toBuffer(),
      );
      const { sha256 } = await t.app.artifacts.commit(await t.app.artifacts.stage(file));
      items.push({
        path: i === 1 ? ODD_PATH : `noise/${i}.png`,
        labelIndex: i % 9 < 4 ? 0 : i % 9 < 7 ? 1 : 2,
        sha256,
      });
    }
    await t.app.services.datasets.create(admin, {
      name: 'noise',
      labels: LABELS,
      storageUri: 'artifacts/sha256',
      items,
    });
    server = await startServer(t.app, { port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${server.port}`;
    // Queued while no runner works: the CSV is refused until it has succeeded.
    id = expectData(
      await t.gql(
        START,
        {
          input: {
            candidate: { model: 'gray', version: 2 },
            baseline: { model: 'gray', version: 1 },
            dataset: 'noise',
            nonInferiorityMargin: 0.05,
          },
        },
        t.keys.operator,
      ),
    ).startComparison.id;
    const queued = await csv(id);
    expect(queued.status).toBe(409);
    expect(((await queued.json()) as any).errors[0].extensions.code).toBe('CONFLICT');
    t.app.startWorkers();
    for (;;) {
      c = expectData(await t.gql(GET, { id }, t.keys.viewer)).comparison;
      if (!['QUEUED', 'RUNNING'].includes(c.status)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(c.status).toBe('SUCCEEDED');
    // The fixture's weights and images disagree on some items, but not all.
    expect(c.disagreements.length).toBeGreaterThan(0);
    expect(c.disagreements.length).toBeLessThan(ITEMS);
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await t?.close();
  });

  const csv = (comparison: string, headers: Record<string, string> = { authorization: `Bearer ${t.keys.viewer}` }) =>
    fetch(`${url}/comparisons/${comparison}/items.csv`, { headers });

  describe('the HTML report', () => {
    let html: string;
    beforeAll(async () => {
      html = expectData(await t.gql(REPORT, { id }, t.keys.viewer)).comparison.report;
    });

    it('draws every chart as inline SVG, with no script and nothing to fetch', () => {
      expect(chartKinds(html).sort()).toEqual(
        [
          'confusion-baseline',
          'confusion-candidate',
          'confusion-difference',
          'forest',
          'per-class-f1',
          'reliability-baseline',
          'reliability-candidate',
        ].sort(),
      );
      expect(html).not.toMatch(/<script/i);
      expect(html).not.toMatch(/(src|href)="(?!data:)/);
      for (const kind of chartKinds(html))
        expect(chart(html, kind)).toMatch(/^<svg [^>]*role="img" aria-label="[^"]+"/);
    });

    it('draws the numbers the API returns', () => {
      expect(matrixCells(chart(html, 'confusion-baseline'))).toEqual(c.baselineMetrics.confusionMatrix);
      expect(matrixCells(chart(html, 'confusion-candidate'))).toEqual(c.candidateMetrics.confusionMatrix);
      expect(matrixCells(chart(html, 'confusion-difference'))).toEqual(
        matrixDifference(c.candidateMetrics.confusionMatrix, c.baselineMetrics.confusionMatrix),
      );
      expect(dataOf(chart(html, 'forest'), 'row').map((r) => [r.delta, r.lo, r.hi].map(Number))).toEqual([
        [c.accuracyDelta, ...c.accuracyDeltaCi95],
        [c.macroF1Delta, ...c.macroF1DeltaCi95],
      ]);
      expect(chart(html, 'forest')).toContain('data-margin="0.05"');
      for (const side of ['baseline', 'candidate']) {
        const bins = dataOf(chart(html, `reliability-${side}`), 'bin');
        const metrics = c[`${side}Metrics`];
        expect(bins.map((b) => Number(b.count))).toEqual(metrics.reliability.map((b: any) => b.count));
        expect(bins.map((b) => (b.accuracy === '' ? null : Number(b.accuracy)))).toEqual(
          metrics.reliability.map((b: any) => b.accuracy),
        );
        expect(chart(html, `reliability-${side}`)).toContain(`ECE ${metrics.ece.toFixed(3)}`);
      }
      expect(
        dataOf(chart(html, 'per-class-f1'), 'class').map((r) => [r.baseline, r.candidate].map((f) => Number(f))),
      ).toEqual(c.baselineMetrics.perClass.map((b: any, i: number) => [b.f1, c.candidateMetrics.perClass[i].f1]));
    });

    it('shows each disagreeing image (up to the cap) as an inline PNG with its labels, escaped', async () => {
      const shown = Math.min(c.disagreements.length, REPORT_DISAGREEMENTS);
      const images = galleryImages(html);
      expect(images).toHaveLength(shown);
      for (const png of images) {
        expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
        // The 8x8 image enlarged to the gallery's 96 px.
        expect(await sharp(png).metadata()).toMatchObject({ format: 'png', width: 96, height: 96 });
      }
      const ordinals = [...html.matchAll(/<figure class="item" data-ordinal="(\d+)"/g)].map((m) => Number(m[1]));
      expect(ordinals).toEqual(c.disagreements.slice(0, shown).map((d: any) => d.ordinal));
      expect(html).toContain(
        c.disagreements.length > shown
          ? `Showing the first ${shown} of ${c.disagreements.length} disagreements`
          : `All ${shown} disagreement`,
      );
      expect(html).toContain('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; co');
    });
  });

  describe('GET /comparisons/<id>/items.csv', () => {
    it('lists every item with a header row, as the API counts them, quoted and safe to open', async () => {
      const res = await csv(id);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(res.headers.get('content-disposition')).toBe(`attachment; filename="comparison-${id}-items.csv"`);
      const text = await res.text();
      const [header, ...rows] = parseCsv(text);
      expect(header).toEqual([
        'ordinal',
        'path',
        'label',
        'baselineLabel',
        'baselineProbability',
        'candidateLabel',
        'candidateProbability',
        'agree',
        'baselineCorrect',
        'candidateCorrect',
        'baselineMs',
        'candidateMs',
      ]);
      expect(rows).toHaveLength(ITEMS);
      expect(rows.map((r) => Number(r[0]))).toEqual([...Array(ITEMS).keys()]);
      // A cell that starts like a formula is made text with a leading quote; commas and quotes are quoted.
      const shown = (label: string) => (label.startsWith('=') ? `'${label}` : label);
      expect(text).toContain(`,"'-odd,""name"".png",`);
      expect(rows[1]![1]).toBe(`'${ODD_PATH}`);
      expect(text).toContain(`"'=HYPERLINK(""http://evil"")"`);
      expect(text).not.toMatch(/(^|,)=/m);
      // The rows that disagree are exactly the API's disagreements, with the same numbers.
      const disagreeing = rows.filter((r) => r[7] === 'false');
      expect(disagreeing.map((r) => [Number(r[0]), r[1], r[2], r[3], Number(r[4]), r[5], Number(r[6])])).toEqual(
        c.disagreements.map((d: any) => [
          d.ordinal,
          d.path === ODD_PATH ? `'${ODD_PATH}` : d.path,
          shown(d.label),
          shown(d.baselineLabel),
          d.baselineProbability,
          shown(d.candidateLabel),
          d.candidateProbability,
        ]),
      );
      expect(1 - disagreeing.length / ITEMS).toBeCloseTo(c.agreement, 12);
      // Right and wrong as the metrics count them.
      const right = (col: number) => rows.filter((r) => r[col] === 'true').length / ITEMS;
      expect(right(8)).toBeCloseTo(c.baselineMetrics.accuracy, 12);
      expect(right(9)).toBeCloseTo(c.candidateMetrics.accuracy, 12);
      for (const r of rows) {
        expect(r[7]).toBe(String(r[3] === r[5]));
        expect(Number(r[10])).toBeGreaterThanOrEqual(0);
        expect(Number(r[11])).toBeGreaterThanOrEqual(0);
      }
    });

    it('pages through the database: the same rows whatever the page size', async () => {
      const record = (await t.app.services.comparisons.get(t.app.localActor(), Number(id)))!;
      const all = [];
      for await (const page of await t.app.services.comparisons.itemPages(t.app.localActor(), record, 7)) {
        expect(page.length).toBeLessThanOrEqual(7);
        all.push(...page);
      }
      expect(all.map((r) => r.ordinal)).toEqual([...Array(ITEMS).keys()]);
    });

    it('refuses without credentials, an unknown comparison and a malformed id, with stable codes', async () => {
      const code = async (res: Response) => ((await res.json()) as any).errors[0].extensions.code;
      const anonymous = await csv(id, {});
      expect([anonymous.status, await code(anonymous)]).toEqual([401, 'UNAUTHENTICATED']);
      const unknown = await csv('999999');
      expect([unknown.status, await code(unknown)]).toEqual([404, 'NOT_FOUND']);
      const malformed = await csv('abc');
      expect([malformed.status, await code(malformed)]).toEqual([400, 'BAD_USER_INPUT']);
    });
  });

  it("counts a dataset's items per label, in the order of its labels", async () => {
    const { datasets } = expectData(await t.gql(`{ datasets { name size labels classCounts } }`, {}, t.keys.viewer));
    expect(datasets).toEqual([{ name: 'noise', size: ITEMS, labels: LABELS, classCounts: [40, 30, 20] }]);
    const { comparison } = expectData(
      await t.gql(`query($id: ID!) { comparison(id: $id) { dataset { classCounts } } }`, { id }, t.keys.viewer),
    );
    expect(comparison.dataset.classCounts.reduce((a: number, b: number) => a + b, 0)).toBe(ITEMS);
  });
});
