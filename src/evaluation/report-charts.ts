/**
 * The HTML report's charts as inline SVG, and its gallery of disagreeing images: pure functions of
 * the numbers the API returns. No scripts, fonts or external files, so that a report attached to a
 * review renders offline. Labels and version names are user data: every one goes through esc().
 * Each chart is `role="img"` with a <title> (and aria-label) stating its finding; the raw numbers
 * ride along in data-* attributes, so a reader (or a test) can check the picture against the API.
 */
import type { ReliabilityBin } from './metrics';

/** Text and attribute values of HTML and inline SVG. */
export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** "+2.4", "−1.0" (a real minus sign), "+0.0" for anything that rounds to zero. */
export function signed(x: number, digits = 1): string {
  const s = Math.abs(x).toFixed(digits);
  return `${x < 0 && Number(s) !== 0 ? '−' : '+'}${s}`;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
/** Coordinates to a tenth of a unit: the SVG stays small and diffable. */
const n = (x: number) => String(Math.round(x * 10) / 10);
/** Long labels are cut on the chart (the full label is in the cell's or row's <title>). */
const short = (label: string, max = 16) => (label.length > max ? `${label.slice(0, max - 1)}…` : label);

const INK = '#1f2328';
const MUTED = '#57606a';
const GRID = '#e6e9ed';
const BASELINE_COLOUR = '#8c959f';
const CANDIDATE_COLOUR = '#0969da';

function svg(kind: string, title: string, width: number, height: number, body: string): string {
  return (
    `<svg class="chart" data-chart="${kind}" role="img" aria-label="${esc(title)}" ` +
    // Scales down to a phone's width, and up to no more than 1.3 times its own units on a wide screen.
    `viewBox="0 0 ${n(width)} ${n(height)}" style="max-width:${Math.round(width * 1.3)}px" ` +
    `xmlns="http://www.w3.org/2000/svg" font-size="12" fill="${INK}">` +
    `<title>${esc(title)}</title>${body}</svg>`
  );
}

/** A chart with its finding as a visible caption, and an optional note under it. */
function figure(kind: string, title: string, chart: string, note = ''): string {
  return `<figure class="chart-box ${kind}"><figcaption>${esc(title)}</figcaption>${chart}${note}</figure>`;
}

/** About `target` round ticks (steps of 1, 2, 2.5 or 5 times a power of ten) covering [lo, hi]. */
export function niceScale(
  lo: number,
  hi: number,
  target = 6,
): { min: number; max: number; step: number; ticks: number[] } {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / target;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw * 0.999)!;
  const min = Math.floor(lo / step + 1e-9) * step;
  const max = Math.max(Math.ceil(hi / step - 1e-9) * step, min + step);
  const ticks: number[] = [];
  for (let i = 0; min + i * step <= max + step * 1e-9; i++) ticks.push(Number((min + i * step).toFixed(10)));
  return { min, max, step, ticks };
}

/** Decimals that show a tick step exactly (2.5 → 1, 0.25 → 2, 5 → 0). */
const decimalsOf = (step: number) => (String(Number(step.toPrecision(6))).split('.')[1] ?? '').length;

// ---------------------------------------------------------------------------------------------
// Forest plot

export interface PairedDifference {
  /** candidate − baseline, as a proportion (0.024 = 2.4 percentage points). */
  delta: number;
  ci95: readonly [number, number] | readonly number[];
}

export interface ForestInput {
  accuracy: PairedDifference;
  macroF1: PairedDifference;
  /** The non-inferiority margin on accuracy (0.01 = 1 point), or null. */
  margin: number | null;
  /** The comparison's verdict: the title says what it says, so the chart never contradicts the headline. */
  verdict: string;
  mcnemarP: number;
  alpha: number;
}

/** "Candidate is more accurate: +2.4 pts (95% CI +1.1 to +3.7)", worded by the verdict (McNemar at alpha). */
export function forestTitle(f: ForestInput): string {
  const [lo, hi] = f.accuracy.ci95 as [number, number];
  const numbers = `${signed(f.accuracy.delta * 100)} pts (95% CI ${signed(lo * 100)} to ${signed(hi * 100)})`;
  const finding =
    f.verdict === 'CANDIDATE_BETTER'
      ? `Candidate is more accurate: ${numbers}`
      : f.verdict === 'BASELINE_BETTER'
        ? `Candidate is less accurate: ${numbers}`
        : `No significant accuracy difference at alpha ${f.alpha} (McNemar p = ${f.mcnemarP.toPrecision(2)}): ${numbers}`;
  if (f.margin === null) return finding;
  const m = (f.margin * 100).toFixed(1);
  return lo > -f.margin
    ? `${finding}; non-inferior within the ${m}-pt margin`
    : `${finding}; NOT shown non-inferior within the ${m}-pt margin`;
}

/**
 * The paired differences (accuracy and macro-F1, in percentage points) with their 95% CIs: a point,
 * a CI bar, a rule at 0 and, with a non-inferiority margin, a dashed rule at −margin.
 */
export function forestPlot(f: ForestInput): string {
  const title = forestTitle(f);
  const { margin } = f;
  const rows = [
    { metric: 'accuracy', label: 'Accuracy', d: f.accuracy },
    { metric: 'macroF1', label: 'Macro-F1 (×100)', d: f.macroF1 },
  ];
  const values = rows.flatMap((r) => [r.d.delta, ...r.d.ci95].map((x) => x * 100));
  values.push(0);
  if (margin !== null) values.push(-margin * 100);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = Math.max(0.5, (hi - lo) * 0.08);
  const scale = niceScale(lo - pad, hi + pad, 6);
  const [W, x0, x1, top, rowH] = [540, 168, 524, 30, 48];
  const bottom = top + rows.length * rowH;
  const x = (v: number) => x0 + ((v - scale.min) / (scale.max - scale.min)) * (x1 - x0);
  const digits = decimalsOf(scale.step);
  const parts: string[] = [];
  for (const t of scale.ticks) {
    parts.push(
      `<line x1="${n(x(t))}" x2="${n(x(t))}" y1="${top - 8}" y2="${bottom}" stroke="${GRID}"/>`,
      `<text x="${n(x(t))}" y="${bottom + 16}" text-anchor="middle" fill="${MUTED}">${t === 0 ? '0' : signed(t, digits)}</text>`,
    );
  }
  parts.push(`<line x1="${x0}" x2="${x1}" y1="${bottom}" y2="${bottom}" stroke="${MUTED}"/>`);
  parts.push(
    `<line class="zero" x1="${n(x(0))}" x2="${n(x(0))}" y1="${top - 12}" y2="${bottom}" stroke="${INK}" stroke-width="1.5"/>`,
  );
  if (margin !== null) {
    const xm = n(x(-margin * 100));
    parts.push(
      `<line class="margin" data-margin="${margin}" x1="${xm}" x2="${xm}" y1="${top - 12}" y2="${bottom}" ` +
        `stroke="#bf8700" stroke-width="1.5" stroke-dasharray="5 4"/>`,
      `<text x="${xm}" y="${top - 16}" text-anchor="end" fill="#9a6700" font-size="11">margin −${(margin * 100).toFixed(1)}</text>`,
    );
  }
  rows.forEach((r, i) => {
    const [l, h] = r.d.ci95 as [number, number];
    const y = top + i * rowH + rowH / 2;
    const colour = CANDIDATE_COLOUR;
    const text = `${signed(r.d.delta * 100)} (${signed(l * 100)} to ${signed(h * 100)})`;
    parts.push(
      `<g class="row" data-metric="${r.metric}" data-delta="${r.d.delta}" data-lo="${l}" data-hi="${h}">` +
        `<title>${esc(`${r.label}: ${text} points, 95% CI`)}</title>` +
        `<text x="${x0 - 14}" y="${y - 3}" text-anchor="end" font-size="13">${esc(r.label)}</text>` +
        `<text class="value" x="${x0 - 14}" y="${y + 13}" text-anchor="end" font-size="11" fill="${MUTED}">${text}</text>` +
        `<line x1="${n(x(l * 100))}" x2="${n(x(h * 100))}" y1="${y}" y2="${y}" stroke="${colour}" stroke-width="3"/>` +
        `<line x1="${n(x(l * 100))}" x2="${n(x(l * 100))}" y1="${y - 7}" y2="${y + 7}" stroke="${colour}" stroke-width="2"/>` +
        `<line x1="${n(x(h * 100))}" x2="${n(x(h * 100))}" y1="${y - 7}" y2="${y + 7}" stroke="${colour}" stroke-width="2"/>` +
        `<circle cx="${n(x(r.d.delta * 100))}" cy="${y}" r="6" fill="${colour}" stroke="#fff" stroke-width="1.5"/></g>`,
    );
  });
  parts.push(
    `<text x="${(x0 + x1) / 2}" y="${bottom + 36}" text-anchor="middle">candidate − baseline, percentage points</text>`,
    `<text x="${x0}" y="${bottom + 54}" fill="${MUTED}" font-size="11">← baseline better</text>`,
    `<text x="${x1}" y="${bottom + 54}" text-anchor="end" fill="${MUTED}" font-size="11">candidate better →</text>`,
  );
  return figure('forest', title, svg('forest', title, W, bottom + 64, parts.join('')));
}

// ---------------------------------------------------------------------------------------------
// Colour scales

export type Rgb = [number, number, number];
const hex = (h: string): Rgb => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)) as Rgb;
// ColorBrewer "Blues" (sequential) and "RdBu" reversed (blue = fewer, red = more), both colour-blind safe.
const BLUES = ['#f7fbff', '#deebf7', '#c6dbef', '#9ecae1', '#6baed6', '#4292c6', '#2171b5', '#08519c'].map(hex);
const RDBU = ['#2166ac', '#4393c3', '#92c5de', '#d1e5f0', '#f7f7f7', '#fddbc7', '#f4a582', '#d6604d', '#b2182b'].map(
  hex,
);

function interpolate(stops: Rgb[], t: number): Rgb {
  const p = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(p));
  const f = p - i;
  return stops[i]!.map((c, k) => Math.round(c + (stops[i + 1]![k]! - c) * f)) as Rgb;
}
export const css = ([r, g, b]: Rgb) => `#${[r, g, b].map((c) => c.toString(16).padStart(2, '0')).join('')}`;
/** Dark text on light cells, white on dark ones (relative luminance, roughly). */
const inkOn = ([r, g, b]: Rgb) => ((0.2126 * r + 0.7152 * g + 0.0722 * b) / 255 > 0.55 ? INK : '#ffffff');

/** A count on the sequential scale: square root, so that the few errors show next to a full diagonal. */
export const sequentialColour = (count: number, max: number): Rgb =>
  interpolate(BLUES, max > 0 ? Math.sqrt(Math.max(0, count) / max) : 0);
/** A difference on the diverging scale centred on 0 (white): red = candidate more, blue = candidate fewer. */
export const divergingColour = (diff: number, maxAbs: number): Rgb =>
  interpolate(RDBU, maxAbs > 0 ? 0.5 + diff / maxAbs / 2 : 0.5);

// ---------------------------------------------------------------------------------------------
// Confusion matrices

/** Beyond this many classes a matrix is not drawn (unreadable; the API has the numbers). */
export const MATRIX_MAX_CLASSES = 30;

export function matrixDifference(candidate: number[][], baseline: number[][]): number[][] {
  return candidate.map((row, i) => row.map((v, j) => v - (baseline[i]?.[j] ?? 0)));
}

const trace = (m: number[][]) => m.reduce((s, row, i) => s + (row[i] ?? 0), 0);
const total = (m: number[][]) => m.reduce((s, row) => s + row.reduce((a, b) => a + b, 0), 0);

/** The off-diagonal cell with the largest |value| (ties: first in reading order), or null if all are 0. */
function largestOffDiagonal(m: number[][]): { i: number; j: number; v: number } | null {
  let best: { i: number; j: number; v: number } | null = null;
  m.forEach((row, i) =>
    row.forEach((v, j) => {
      if (i !== j && v !== 0 && (!best || Math.abs(v) > Math.abs(best.v))) best = { i, j, v };
    }),
  );
  return best;
}

/** "v1 (baseline): 87 of 100 on the diagonal (87.0%); most confused: Shirt as T-shirt/top (6)". */
export function confusionTitle(name: string, labels: string[], m: number[][]): string {
  const all = total(m);
  const right = trace(m);
  const worst = largestOffDiagonal(m);
  const head = `${name}: ${right} of ${all} on the diagonal (${all ? pct(right / all) : '-'})`;
  return worst
    ? `${head}; most confused: ${labels[worst.i]} as ${labels[worst.j]} (${worst.v})`
    : `${head}; no confusions`;
}

/** "Candidate − baseline: +5 correct; biggest shift: Shirt as T-shirt/top −4". */
export function differenceTitle(labels: string[], diff: number[][]): string {
  const right = trace(diff);
  const shift = largestOffDiagonal(diff);
  if (right === 0 && !shift) return 'Candidate − baseline: identical confusion matrices';
  const head = `Candidate − baseline: ${signed(right, 0)} correct prediction${Math.abs(right) === 1 ? '' : 's'}`;
  return shift
    ? `${head}; biggest shift: ${labels[shift.i]} as ${labels[shift.j]} ${signed(shift.v, 0)}`
    : `${head}; no shift between wrong classes`;
}

/**
 * One confusion matrix, rows = true label, columns = predicted, the count in each cell. `max` is the
 * colour scale's top (shared by the two versions' matrices, so that their colours compare).
 * With `difference`, cells are candidate − baseline on a diverging scale centred on 0.
 */
export function confusionMatrix(opts: {
  kind: string;
  title: string;
  labels: string[];
  matrix: number[][];
  max: number;
  difference?: boolean;
}): string {
  const { labels, matrix, max } = opts;
  const k = labels.length;
  const cell = k <= 4 ? 54 : k <= 10 ? 40 : k <= 20 ? 30 : 24;
  const font = k <= 10 ? 12 : 10;
  const longest = Math.max(...labels.map((l) => short(l).length), 4);
  const labelW = Math.min(118, 10 + 6.6 * longest);
  const left = 24 + labelW;
  const top = 26 + labelW * 0.72;
  const right = labelW * 0.72 + 8;
  // Wide enough for the legend under a small matrix.
  const W = Math.max(left + k * cell + right, 320);
  const legendY = top + k * cell + 24;
  const H = legendY + (opts.difference ? 40 : 10);
  const parts: string[] = [];
  parts.push(
    `<text x="${n(left + (k * cell) / 2)}" y="14" text-anchor="middle" fill="${MUTED}">predicted label</text>`,
    `<text transform="translate(14 ${n(top + (k * cell) / 2)}) rotate(-90)" text-anchor="middle" fill="${MUTED}">true label</text>`,
  );
  labels.forEach((label, i) => {
    const c = top + i * cell + cell / 2;
    parts.push(
      `<text x="${n(left - 6)}" y="${n(c + 4)}" text-anchor="end">${esc(short(label))}<title>${esc(label)}</title></text>`,
      `<text transform="translate(${n(left + i * cell + cell / 2 - 3)} ${n(top - 6)}) rotate(-45)">` +
        `${esc(short(label))}<title>${esc(label)}</title></text>`,
    );
  });
  matrix.forEach((row, i) =>
    row.forEach((v, j) => {
      const rgb = opts.difference ? divergingColour(v, max) : sequentialColour(v, max);
      const shown = opts.difference ? (v === 0 ? '0' : signed(v, 0)) : String(v);
      const ink = v === 0 ? '#8c959f' : inkOn(rgb);
      const tip = `true ${labels[i]}, predicted ${labels[j]}: ${shown}`;
      parts.push(
        `<rect x="${n(left + j * cell)}" y="${n(top + i * cell)}" width="${cell}" height="${cell}" fill="${css(rgb)}" ` +
          `stroke="#fff"${i === j ? ' class="diagonal"' : ''}><title>${esc(tip)}</title></rect>`,
        `<text class="cell" data-row="${i}" data-col="${j}" data-value="${v}" x="${n(left + j * cell + cell / 2)}" ` +
          `y="${n(top + i * cell + cell / 2 + font / 3)}" text-anchor="middle" font-size="${font}" fill="${ink}">${shown}</text>`,
      );
    }),
  );
  // The diagonal (correct predictions) outlined, so it reads at a glance on both scales.
  parts.push(
    labels
      .map(
        (_, i) =>
          `<rect x="${n(left + i * cell + 1)}" y="${n(top + i * cell + 1)}" width="${cell - 2}" height="${cell - 2}" fill="none" stroke="${INK}" stroke-opacity=".35"/>`,
      )
      .join(''),
  );
  if (opts.difference) {
    const swatch = (x: number, colour: string, text: string) =>
      `<rect x="${n(x)}" y="${n(legendY - 10)}" width="12" height="12" fill="${colour}"/>` +
      `<text x="${n(x + 16)}" y="${n(legendY)}" font-size="11">${text}</text>`;
    parts.push(
      swatch(8, css(RDBU[8]!), 'red: candidate more'),
      swatch(150, css(RDBU[0]!), 'blue: candidate fewer'),
      `<text x="8" y="${n(legendY + 20)}" font-size="11" fill="${MUTED}">diagonal: more is better; elsewhere: fewer is better</text>`,
    );
  } else {
    parts.push(
      `<text x="8" y="${n(legendY)}" font-size="11" fill="${MUTED}">darker = more items (0 to ${max}, square-root scale)</text>`,
    );
  }
  return figure(opts.kind, opts.title, svg(opts.kind, opts.title, W, H, parts.join('')));
}

/** The two versions' matrices side by side (one colour scale) and their difference, or a note past MATRIX_MAX_CLASSES. */
export function confusionMatrices(
  labels: string[],
  baseline: number[][],
  candidate: number[][],
  names: { baseline: string; candidate: string },
): string {
  if (labels.length > MATRIX_MAX_CLASSES)
    return `<p class="note">${labels.length} classes are too many to draw legibly (at most ${MATRIX_MAX_CLASSES}); the API's <code>confusionMatrix</code> has the counts.</p>`;
  const max = Math.max(0, ...baseline.flat(), ...candidate.flat());
  const diff = matrixDifference(candidate, baseline);
  const maxAbs = Math.max(0, ...diff.flat().map(Math.abs));
  return (
    `<div class="grid matrices">` +
    confusionMatrix({
      kind: 'confusion-baseline',
      title: confusionTitle(names.baseline, labels, baseline),
      labels,
      matrix: baseline,
      max,
    }) +
    confusionMatrix({
      kind: 'confusion-candidate',
      title: confusionTitle(names.candidate, labels, candidate),
      labels,
      matrix: candidate,
      max,
    }) +
    confusionMatrix({
      kind: 'confusion-difference',
      title: differenceTitle(labels, diff),
      labels,
      matrix: diff,
      max: maxAbs,
      difference: true,
    }) +
    `</div>`
  );
}

// ---------------------------------------------------------------------------------------------
// Reliability diagrams

/** "v3: ECE 0.042, over-confident (mean confidence 95.1%, accuracy 87.0%)". */
export function reliabilityTitle(name: string, m: { ece: number; accuracy: number; meanConfidence: number }): string {
  const gap = m.meanConfidence - m.accuracy;
  const how = gap > 0.005 ? 'over-confident' : gap < -0.005 ? 'under-confident' : 'confidence matches accuracy';
  return `${name}: ECE ${m.ece.toFixed(3)}, ${how} (mean confidence ${pct(m.meanConfidence)}, accuracy ${pct(m.accuracy)})`;
}

/**
 * Accuracy per confidence bin as bars against the y = x diagonal (perfect calibration), with each
 * bin's item count as a bar in the strip underneath.
 */
export function reliabilityDiagram(opts: {
  kind: string;
  name: string;
  metrics: { ece: number; accuracy: number; meanConfidence: number; reliability: ReliabilityBin[] };
}): string {
  const title = reliabilityTitle(opts.name, opts.metrics);
  const bins = opts.metrics.reliability;
  const [W, x0, x1, y0, y1, s0, s1] = [380, 56, 366, 30, 240, 260, 310];
  const x = (v: number) => x0 + v * (x1 - x0);
  const y = (v: number) => y1 - v * (y1 - y0);
  const most = Math.max(1, ...bins.map((b) => b.count));
  const parts: string[] = [];
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(
      `<line x1="${x0}" x2="${x1}" y1="${n(y(t))}" y2="${n(y(t))}" stroke="${GRID}"/>`,
      `<text x="${x0 - 6}" y="${n(y(t) + 4)}" text-anchor="end" fill="${MUTED}" font-size="11">${t * 100}%</text>`,
    );
  }
  for (const t of [0, 0.2, 0.4, 0.6, 0.8, 1])
    parts.push(
      `<text x="${n(x(t))}" y="${s1 + 16}" text-anchor="middle" fill="${MUTED}" font-size="11">${t.toFixed(1)}</text>`,
    );
  for (const b of bins) {
    const attrs =
      `data-lower="${b.lower}" data-upper="${b.upper}" data-count="${b.count}" ` +
      `data-accuracy="${b.accuracy ?? ''}" data-confidence="${b.confidence ?? ''}"`;
    const tip =
      b.count === 0
        ? `confidence ${b.lower.toFixed(2)}–${b.upper.toFixed(2)}: no items`
        : `confidence ${b.lower.toFixed(2)}–${b.upper.toFixed(2)}: ${b.count} items, accuracy ${pct(b.accuracy!)}, mean confidence ${pct(b.confidence!)}`;
    const bx = n(x(b.lower) + 1);
    const bw = n(Math.max(1, x(b.upper) - x(b.lower) - 2));
    const bar =
      b.accuracy === null
        ? ''
        : `<rect x="${bx}" y="${n(y(b.accuracy))}" width="${bw}" height="${n(y1 - y(b.accuracy))}" fill="${CANDIDATE_COLOUR}" fill-opacity=".75"/>` +
          `<line x1="${bx}" x2="${n(x(b.upper) - 1)}" y1="${n(y(b.confidence!))}" y2="${n(y(b.confidence!))}" stroke="#cf222e" stroke-width="1.5"/>`;
    const h = (b.count / most) * (s1 - s0);
    parts.push(
      `<g class="bin" ${attrs}><title>${esc(tip)}</title>${bar}` +
        `<rect class="count" x="${bx}" y="${n(s1 - h)}" width="${bw}" height="${n(h)}" fill="${BASELINE_COLOUR}"/></g>`,
    );
  }
  parts.push(
    `<line x1="${x0}" y1="${y1}" x2="${x1}" y2="${y0}" stroke="${INK}" stroke-dasharray="4 4" stroke-opacity=".7"/>`,
    `<line x1="${x0}" x2="${x1}" y1="${y1}" y2="${y1}" stroke="${MUTED}"/>`,
    `<line x1="${x0}" x2="${x1}" y1="${s1}" y2="${s1}" stroke="${MUTED}"/>`,
    `<line x1="${x0}" x2="${x0 + 18}" y1="10" y2="10" stroke="${INK}" stroke-dasharray="4 4"/>`,
    `<text x="${x0 + 22}" y="14" font-size="10" fill="${MUTED}">perfect calibration</text>`,
    `<rect x="${x0 + 130}" y="4" width="10" height="10" fill="${CANDIDATE_COLOUR}" fill-opacity=".75"/>`,
    `<text x="${x0 + 144}" y="14" font-size="10" fill="${MUTED}">accuracy</text>`,
    `<line x1="${x0 + 200}" x2="${x0 + 214}" y1="10" y2="10" stroke="#cf222e" stroke-width="1.5"/>`,
    `<text x="${x0 + 218}" y="14" font-size="10" fill="${MUTED}">mean confidence</text>`,
    `<text x="${x0 - 6}" y="${s0 + 8}" text-anchor="end" fill="${MUTED}" font-size="10">${most}</text>`,
    `<text x="${x0 - 6}" y="${s1}" text-anchor="end" fill="${MUTED}" font-size="10">0</text>`,
    `<text transform="translate(14 ${(y0 + y1) / 2}) rotate(-90)" text-anchor="middle" fill="${MUTED}">accuracy</text>`,
    `<text transform="translate(14 ${(s0 + s1) / 2}) rotate(-90)" text-anchor="middle" fill="${MUTED}" font-size="10">items</text>`,
    `<text x="${(x0 + x1) / 2}" y="${s1 + 34}" text-anchor="middle" fill="${MUTED}">confidence (top-1 probability)</text>`,
  );
  return figure(opts.kind, title, svg(opts.kind, title, W, s1 + 42, parts.join('')));
}

// ---------------------------------------------------------------------------------------------
// Per-class F1

/** Beyond this many classes only those whose F1 changed most are drawn. */
export const F1_MAX_CLASSES = 40;

interface ClassF1 {
  label: string;
  baseline: number | null;
  candidate: number | null;
}
const change = (c: ClassF1) => (c.candidate ?? 0) - (c.baseline ?? 0);

/** "Candidate's F1 is higher on 7 of 10 classes and lower on 2; biggest gain: Shirt +0.120; biggest drop: Bag −0.030". */
export function perClassF1Title(classes: ClassF1[]): string {
  const EPS = 1e-9;
  const up = classes.filter((c) => change(c) > EPS);
  const down = classes.filter((c) => change(c) < -EPS);
  if (!up.length && !down.length) return `Per-class F1 is the same for both versions on all ${classes.length} classes`;
  const gain = up.reduce<ClassF1 | null>((b, c) => (!b || change(c) > change(b) ? c : b), null);
  const drop = down.reduce<ClassF1 | null>((b, c) => (!b || change(c) < change(b) ? c : b), null);
  return (
    `Candidate's F1 is higher on ${up.length} of ${classes.length} classes and lower on ${down.length}` +
    (gain ? `; biggest gain: ${gain.label} ${signed(change(gain), 3)}` : '') +
    (drop ? `; biggest drop: ${drop.label} ${signed(change(drop), 3)}` : '')
  );
}

/** Both versions' F1 per class as grouped horizontal bars (F1 of null: neither a label nor a prediction). */
export function perClassF1(
  all: ClassF1[],
  names: { baseline: string; candidate: string },
  maxClasses = F1_MAX_CLASSES,
): string {
  const title = perClassF1Title(all);
  let classes = all;
  let note = '';
  if (all.length > maxClasses) {
    const keep = new Set(
      [...all]
        .sort((a, b) => Math.abs(change(b)) - Math.abs(change(a)))
        .slice(0, maxClasses)
        .map((c) => c.label),
    );
    classes = all.filter((c) => keep.has(c.label));
    note = `<p class="note">Drawn: the ${maxClasses} of ${all.length} classes whose F1 changed most; the table below has them all.</p>`;
  }
  const [W, x0, x1, top, rowH] = [490, 136, 440, 40, 30];
  const x = (v: number) => x0 + v * (x1 - x0);
  const bottom = top + classes.length * rowH;
  const parts: string[] = [];
  const legend = (lx: number, colour: string, text: string) =>
    `<rect x="${lx}" y="8" width="12" height="12" fill="${colour}"/><text x="${lx + 16}" y="18" font-size="11">${esc(short(text, 28))}</text>`;
  parts.push(legend(8, BASELINE_COLOUR, names.baseline), legend(W / 2, CANDIDATE_COLOUR, names.candidate));
  for (const t of [0, 0.25, 0.5, 0.75, 1])
    parts.push(
      `<line x1="${n(x(t))}" x2="${n(x(t))}" y1="${top - 6}" y2="${bottom}" stroke="${GRID}"/>`,
      `<text x="${n(x(t))}" y="${bottom + 16}" text-anchor="middle" fill="${MUTED}" font-size="11">${t}</text>`,
    );
  classes.forEach((c, i) => {
    const y = top + i * rowH;
    const bar = (v: number | null, by: number, colour: string) =>
      v === null
        ? `<text x="${x0 + 4}" y="${by + 9}" font-size="10" fill="${MUTED}">n/a</text>`
        : `<rect x="${x0}" y="${by}" width="${n(Math.max(0.5, x(v) - x0))}" height="11" fill="${colour}"/>` +
          `<text x="${n(x(v) + 4)}" y="${by + 9.5}" font-size="10">${v.toFixed(3)}</text>`;
    parts.push(
      `<g class="class" data-label="${esc(c.label)}" data-baseline="${c.baseline ?? ''}" data-candidate="${c.candidate ?? ''}">` +
        `<title>${esc(`${c.label}: F1 ${c.baseline?.toFixed(3) ?? 'n/a'} (${names.baseline}), ${c.candidate?.toFixed(3) ?? 'n/a'} (${names.candidate})`)}</title>` +
        `<text x="${x0 - 8}" y="${y + 18}" text-anchor="end">${esc(short(c.label))}</text>` +
        bar(c.baseline, y + 3, BASELINE_COLOUR) +
        bar(c.candidate, y + 15, CANDIDATE_COLOUR) +
        `</g>`,
    );
  });
  parts.push(
    `<line x1="${x0}" x2="${x0}" y1="${top - 6}" y2="${bottom}" stroke="${MUTED}"/>`,
    `<text x="${(x0 + x1) / 2}" y="${bottom + 34}" text-anchor="middle" fill="${MUTED}">F1 score</text>`,
  );
  return figure('per-class-f1', title, svg('per-class-f1', title, W, bottom + 42, parts.join('')), note);
}

// ---------------------------------------------------------------------------------------------
// Gallery of disagreements

export interface GalleryItem {
  ordinal: number;
  path: string;
  label: string;
  baselineLabel: string;
  baselineProbability: number;
  candidateLabel: string;
  candidateProbability: number;
  /** The thumbnail (PNG), or null when the stored image could not be read. */
  png: Buffer | null;
}

/** Width and height from a PNG's IHDR chunk (null if the bytes are not a PNG). */
export function pngSize(png: Buffer): { width: number; height: number } | null {
  if (png.length < 24 || png.readUInt32BE(0) !== 0x89504e47 || png.toString('latin1', 12, 16) !== 'IHDR') return null;
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/**
 * The disagreeing items as cards: the image inline as a data: URI, the true label and both
 * predictions with their confidence (✓ for the one that is right). `total` is how many items
 * disagree in all; the gallery says so when it shows fewer.
 */
export function disagreementGallery(
  items: GalleryItem[],
  total: number,
  names: { baseline: string; candidate: string },
): string {
  if (items.length === 0) return '<p class="note">The two versions agree on every item.</p>';
  const cards = items.map((d) => {
    const size = d.png && pngSize(d.png);
    const image =
      d.png && size
        ? `<img src="data:image/png;base64,${d.png.toString('base64')}" width="${size.width}" height="${size.height}" alt="${esc(`${d.path}, labeled ${d.label}`)}">`
        : `<div class="missing">image unavailable</div>`;
    const prediction = (who: string, label: string, p: number) => {
      const right = label === d.label;
      return `<span class="${right ? 'ok' : 'bad'}">${right ? '✓' : '✗'} ${esc(who)}: ${esc(label)} ${pct(p)}</span>`;
    };
    return (
      `<figure class="item" data-ordinal="${d.ordinal}">${image}<figcaption>` +
      `<span class="path" title="${esc(d.path)}">#${d.ordinal} ${esc(d.path)}</span>` +
      `<span>true: <b>${esc(d.label)}</b></span>` +
      prediction(names.baseline, d.baselineLabel, d.baselineProbability) +
      prediction(names.candidate, d.candidateLabel, d.candidateProbability) +
      `</figcaption></figure>`
    );
  });
  const shown =
    total > items.length
      ? `<p class="note">Showing the first ${items.length} of ${total} disagreements, in dataset order; ` +
        `the API's <code>disagreements(first)</code> and <code>GET /comparisons/&lt;id&gt;/items.csv</code> have them all.</p>`
      : `<p class="note">All ${total} disagreement${total === 1 ? '' : 's'}, in dataset order.</p>`;
  return `${shown}<div class="gallery">${cards.join('')}</div>`;
}
