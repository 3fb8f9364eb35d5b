import sharp from 'sharp';
import type { ComparisonRecord } from '../../src/evaluation/comparison.repository';
import { comparisonView, renderReport, type Disagreement } from '../../src/evaluation/report';
import {
  confusionMatrices,
  confusionMatrix,
  css,
  disagreementGallery,
  divergingColour,
  esc,
  F1_MAX_CLASSES,
  forestPlot,
  forestTitle,
  MATRIX_MAX_CLASSES,
  matrixDifference,
  niceScale,
  perClassF1,
  pngSize,
  reliabilityDiagram,
  sequentialColour,
  signed,
  type ForestInput,
} from '../../src/evaluation/report-charts';
import { calibration, pairedComparison, versionMetrics, type ItemOutcome } from '../../src/evaluation/statistics';
import { chart, chartKinds, dataOf, galleryImages, matrixCells, PNG_SIGNATURE } from '../helpers/report-html';

const EVIL = '<script>alert("x")</script> & \'quotes\'';
const LABELS = ['circle', EVIL, '=SUM(A1)'];
const NAMES = { baseline: 'v1 (baseline)', candidate: 'v2 <b>' };

/** What every chart must be: an accessible, script-free, self-contained SVG. */
function expectWellFormed(svg: string) {
  expect(svg).toMatch(
    /^<svg class="chart" data-chart="[a-z0-9-]+" role="img" aria-label="[^"<>]+" viewBox="0 0 [\d.]+ [\d.]+"/,
  );
  expect(svg).toMatch(/<title>[^<]+<\/title>/);
  expect(svg).not.toMatch(/<script|href=|url\(/i);
  expect(svg.endsWith('</svg>')).toBe(true);
}

describe('formatting and scales', () => {
  it('escapes the characters that would let a label open a tag or leave an attribute', () => {
    expect(esc(EVIL)).toBe('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#39;quotes&#39;');
  });

  it('signs numbers with a real minus, and never shows −0', () => {
    expect([signed(2.44), signed(-1), signed(-0.04), signed(0), signed(0.1234, 3)]).toEqual([
      '+2.4',
      '−1.0',
      '+0.0',
      '+0.0',
      '+0.123',
    ]);
  });

  it('chooses round ticks that cover the range', () => {
    expect(niceScale(-5.3, 12.1)).toMatchObject({ min: -10, max: 15, step: 5, ticks: [-10, -5, 0, 5, 10, 15] });
    expect(niceScale(-1.2, 0.7, 6).ticks).toEqual([-1.5, -1, -0.5, 0, 0.5, 1]);
    expect(niceScale(-0.9, 0.6, 6).ticks).toEqual([-1, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75]);
    expect(niceScale(0, 0).ticks.length).toBeGreaterThan(1);
  });

  it('centres the diverging scale on white and starts the sequential one at white', () => {
    expect(css(divergingColour(0, 5))).toBe('#f7f7f7');
    expect(css(divergingColour(0, 0))).toBe('#f7f7f7');
    expect(css(divergingColour(5, 5))).toBe('#b2182b'); // red: candidate more
    expect(css(divergingColour(-5, 5))).toBe('#2166ac'); // blue: candidate fewer
    expect(css(sequentialColour(0, 10))).toBe('#f7fbff');
    expect(css(sequentialColour(10, 10))).toBe('#08519c');
  });
});

describe('forest plot', () => {
  const input: ForestInput = {
    accuracy: { delta: 0.024, ci95: [0.011, 0.037] },
    macroF1: { delta: -0.004, ci95: [-0.02, 0.012] },
    margin: null,
    verdict: 'CANDIDATE_BETTER',
    mcnemarP: 0.0004,
    alpha: 0.05,
  };

  it('states the finding in its title, worded by the verdict', () => {
    expect(forestTitle(input)).toBe('Candidate is more accurate: +2.4 pts (95% CI +1.1 to +3.7)');
    expect(forestTitle({ ...input, verdict: 'BASELINE_BETTER' })).toMatch(/^Candidate is less accurate: /);
    expect(
      forestTitle({ ...input, verdict: 'NO_SIGNIFICANT_DIFFERENCE', mcnemarP: 0.07, accuracy: input.macroF1 }),
    ).toBe('No significant accuracy difference at alpha 0.05 (McNemar p = 0.070): −0.4 pts (95% CI −2.0 to +1.2)');
    expect(forestTitle({ ...input, margin: 0.01 })).toMatch(/; non-inferior within the 1\.0-pt margin$/);
    expect(forestTitle({ ...input, margin: 0.005, accuracy: { delta: 0, ci95: [-0.01, 0.01] } })).toMatch(
      /; NOT shown non-inferior within the 0\.5-pt margin$/,
    );
  });

  it('draws each difference with its CI, a rule at 0, and the margin only when there is one', () => {
    const html = forestPlot(input);
    const svg = chart(html, 'forest');
    expectWellFormed(svg);
    expect(html).toContain(`<figcaption>${forestTitle(input)}</figcaption>`);
    expect(dataOf(svg, 'row')).toEqual([
      { metric: 'accuracy', delta: '0.024', lo: '0.011', hi: '0.037' },
      { metric: 'macroF1', delta: '-0.004', lo: '-0.02', hi: '0.012' },
    ]);
    expect(svg).toContain('+2.4 (+1.1 to +3.7)');
    expect(svg).toContain('candidate − baseline, percentage points');
    expect(svg).toContain('class="zero"');
    expect(svg).not.toContain('class="margin"');
    const withMargin = chart(forestPlot({ ...input, margin: 0.03 }), 'forest');
    expect(withMargin).toMatch(/class="margin" data-margin="0.03"[^>]*stroke-dasharray/);
    // The rule sits left of 0, at −3 points on the axis.
    const at = (re: RegExp) => Number(re.exec(withMargin)![1]);
    expect(at(/class="margin"[^>]*x1="([\d.]+)"/)).toBeLessThan(at(/class="zero" x1="([\d.]+)"/));
  });
});

describe('confusion matrices', () => {
  const baseline = [
    [5, 1, 0],
    [2, 3, 1],
    [0, 0, 4],
  ];
  const candidate = [
    [6, 0, 0],
    [1, 5, 0],
    [0, 1, 3],
  ];

  it('draws the counts in the cells, rows = true label, columns = predicted, with escaped labels', () => {
    const svg = chart(
      confusionMatrix({ kind: 'confusion-baseline', title: 'T', labels: LABELS, matrix: baseline, max: 6 }),
      'confusion-baseline',
    );
    expectWellFormed(svg);
    expect(matrixCells(svg)).toEqual(baseline);
    expect(svg).toContain('predicted label');
    expect(svg).toContain('true label');
    expect(svg).not.toContain('<script');
    expect(svg).toContain('&#60;script&#62;');
  });

  it('draws the two versions side by side and their difference on a diverging scale', () => {
    const html = confusionMatrices(LABELS, baseline, candidate, NAMES);
    expect(chartKinds(html)).toEqual(['confusion-baseline', 'confusion-candidate', 'confusion-difference']);
    expect(matrixCells(chart(html, 'confusion-candidate'))).toEqual(candidate);
    const diff = chart(html, 'confusion-difference');
    expect(matrixCells(diff)).toEqual(matrixDifference(candidate, baseline));
    expect(matrixCells(diff)[1]).toEqual([-1, 2, -1]);
    expect(diff).toContain('>−1<'); // a real minus sign on the chart
    expect(diff).toContain('red: candidate more');
    expect(diff).toContain('blue: candidate fewer');
    // The shared scale: a count of 6 is the darkest in both.
    expect(html).toContain('0 to 6, square-root scale');
    expect(html).toContain(
      `<figcaption>Candidate − baseline: +2 correct predictions; biggest shift: circle as ${esc(EVIL)} −1</figcaption>`,
    );
    expect(html).not.toContain('<script');
  });

  it('leaves out matrices too large to read, saying so', () => {
    const k = MATRIX_MAX_CLASSES + 1;
    const m = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => (i === j ? 1 : 0)));
    const labels = Array.from({ length: k }, (_, i) => `c${i}`);
    const html = confusionMatrices(labels, m, m, NAMES);
    expect(html).not.toContain('<svg');
    expect(html).toContain(`${k} classes are too many to draw`);
  });
});

describe('reliability diagram', () => {
  it('draws every bin with its count and accuracy, the diagonal, and the ECE in the title', () => {
    const conf = [0.95, 0.95, 0.9, 0.6, 0.55, 0.3];
    const correct = [1, 1, 0, 1, 0, 0];
    const { ece, bins } = calibration(conf, correct);
    const html = reliabilityDiagram({
      kind: 'reliability-candidate',
      name: NAMES.candidate,
      metrics: { ece, accuracy: 0.5, meanConfidence: 0.708, reliability: bins },
    });
    const svg = chart(html, 'reliability-candidate');
    expectWellFormed(svg);
    expect(svg).toContain(`ECE ${ece.toFixed(3)}, over-confident`);
    expect(svg).toContain('v2 &#60;b&#62;: ECE');
    const drawn = dataOf(svg, 'bin');
    expect(drawn).toHaveLength(15);
    expect(drawn.map((b) => Number(b.count))).toEqual(bins.map((b) => b.count));
    expect(drawn.map((b) => (b.accuracy === '' ? null : Number(b.accuracy)))).toEqual(bins.map((b) => b.accuracy));
    expect(svg).toContain('stroke-dasharray="4 4"'); // y = x
    expect(svg).toContain('confidence (top-1 probability)');
  });
});

describe('per-class F1', () => {
  const classes = LABELS.map((label, i) => ({ label, baseline: [0.5, 0.8, null][i]!, candidate: [0.7, 0.75, 0][i]! }));

  it('draws both versions per class, states the change, and escapes labels and names', () => {
    const html = perClassF1(classes, NAMES);
    const svg = chart(html, 'per-class-f1');
    expectWellFormed(svg);
    expect(html).toContain(
      `<figcaption>Candidate&#39;s F1 is higher on 1 of 3 classes and lower on 1; biggest gain: circle +0.200; biggest drop: ${esc(EVIL)} −0.050</figcaption>`,
    );
    expect(dataOf(svg, 'class')).toEqual([
      { label: 'circle', baseline: '0.5', candidate: '0.7' },
      { label: esc(EVIL), baseline: '0.8', candidate: '0.75' },
      { label: '=SUM(A1)', baseline: '', candidate: '0' },
    ]);
    expect(svg).toContain('n/a');
    expect(svg).toContain('v2 &#60;b&#62;');
    expect(html).not.toContain('<script');
  });

  it('draws only the classes that changed most when there are many', () => {
    const many = Array.from({ length: F1_MAX_CLASSES + 10 }, (_, i) => ({
      label: `c${i}`,
      baseline: 0.5,
      candidate: 0.5 + (i % 2 ? i / 1000 : 0),
    }));
    const html = perClassF1(many, NAMES);
    expect(dataOf(chart(html, 'per-class-f1'), 'class')).toHaveLength(F1_MAX_CLASSES);
    expect(html).toContain(`the ${F1_MAX_CLASSES} of ${F1_MAX_CLASSES + 10} classes whose F1 changed most`);
  });
});

describe('disagreement gallery', () => {
  const item = (ordinal: number, png: Buffer | null) => ({
    ordinal,
    path: `img/<${ordinal}>.png`,
    label: EVIL,
    baselineLabel: EVIL,
    baselineProbability: 0.9,
    candidateLabel: 'circle',
    candidateProbability: 0.61,
    png,
  });

  it('inlines each image as a PNG data: URI with its true label and both predictions', async () => {
    const png = await sharp({ create: { width: 96, height: 64, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    expect(pngSize(png)).toEqual({ width: 96, height: 64 });
    expect(pngSize(Buffer.from('not a png at all, not at all'))).toBeNull();
    const html = disagreementGallery([item(3, png), item(7, null)], 2, NAMES);
    const images = galleryImages(html);
    expect(images).toHaveLength(1);
    expect(images[0]!.equals(png)).toBe(true);
    expect(html).toContain('width="96" height="64"');
    expect(html).toContain('image unavailable');
    expect(html).toContain(`✓ v1 (baseline): ${esc(EVIL)} 90.0%`);
    expect(html).toContain('✗ v2 &#60;b&#62;: circle 61.0%');
    expect(html).toContain('#3 img/&#60;3&#62;.png');
    expect(html).toContain('All 2 disagreements');
    expect(html).not.toContain('<script');
  });

  it('says when it shows only the first of the disagreements', () => {
    expect(disagreementGallery([item(0, null)], 312, NAMES)).toContain('Showing the first 1 of 312 disagreements');
    expect(disagreementGallery([], 0, NAMES)).toContain('agree on every item');
  });
});

describe('the whole HTML report', () => {
  // Six items of three classes; the versions disagree on items 1, 2 and 5.
  const ITEMS = [
    { label: 0, b: 0, c: 0 },
    { label: 1, b: 1, c: 2 },
    { label: 2, b: 0, c: 2 },
    { label: 1, b: 1, c: 1 },
    { label: 2, b: 2, c: 2 },
    { label: 0, b: 1, c: 0 },
  ];
  const outcomes = (side: 'b' | 'c'): ItemOutcome[] =>
    ITEMS.map((i) => ({
      label: i.label,
      predicted: i[side],
      probabilities: [0, 1, 2].map((k) => (k === i[side] ? 0.8 : 0.1)),
      latencyMs: 1,
    }));
  const results = JSON.parse(
    JSON.stringify({
      baseline: { ...versionMetrics(outcomes('b'), LABELS), sizeBytes: 1000 },
      candidate: { ...versionMetrics(outcomes('c'), LABELS), sizeBytes: 2000 },
      paired: pairedComparison(outcomes('b'), outcomes('c'), LABELS, { nonInferiorityMargin: 0.02 }),
    }),
  );
  const record = {
    id: 1,
    status: 'SUCCEEDED',
    results,
    options: { alpha: 0.05, limit: null, labelMapping: {}, nonInferiorityMargin: 0.02 },
    done: 6,
    total: 6,
    elapsedMs: 10,
    error: null,
    createdAt: new Date(0),
    finishedAt: new Date(0),
  } as unknown as ComparisonRecord;
  const view = comparisonView(record);
  const names = { model: 'gray', baseline: NAMES.baseline, candidate: NAMES.candidate, dataset: 'shapes@1' };
  const disagreements: Disagreement[] = [1, 2, 5].map((ordinal) => ({
    ordinal,
    path: `${ordinal}.png`,
    sha256: '0'.repeat(64),
    label: LABELS[ITEMS[ordinal]!.label]!,
    baselineLabel: LABELS[ITEMS[ordinal]!.b]!,
    baselineProbability: 0.8,
    candidateLabel: LABELS[ITEMS[ordinal]!.c]!,
    candidateProbability: 0.8,
  }));

  it('carries every chart and the gallery in one file with no script, and escapes user data', async () => {
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } })
      .png()
      .toBuffer();
    const html = renderReport(view, names, disagreements, 'html', [png, null, png]);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(chartKinds(html)).toEqual([
      'forest',
      'confusion-baseline',
      'confusion-candidate',
      'confusion-difference',
      'reliability-baseline',
      'reliability-candidate',
      'per-class-f1',
    ]);
    for (const kind of chartKinds(html)) expectWellFormed(chart(html, kind));
    expect(html).not.toMatch(/<script|<link|<iframe|src="http|href="http|@import/i);
    expect(matrixCells(chart(html, 'confusion-candidate'))).toEqual(results.candidate.confusionMatrix);
    expect(matrixCells(chart(html, 'confusion-difference'))).toEqual(
      matrixDifference(results.candidate.confusionMatrix, results.baseline.confusionMatrix),
    );
    expect(chart(html, 'forest')).toContain('data-margin="0.02"');
    const images = galleryImages(html);
    expect(images).toHaveLength(2);
    for (const image of images) expect(image.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(html).toContain('All 3 disagreements');
    expect(html).toContain(esc(EVIL));
    expect(html).toContain('<meta name="viewport"');
  });

  it('keeps the Markdown report without charts, pointing to the HTML one', () => {
    const md = renderReport(view, names, disagreements, 'markdown');
    expect(md).toContain('| accuracy |');
    expect(md).toContain('adds the charts and the disagreeing images');
    expect(md).not.toContain('<svg');
  });
});
