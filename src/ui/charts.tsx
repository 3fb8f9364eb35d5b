import * as Plot from '@observablehq/plot';
import { useEffect, useRef, useState } from 'react';

// Charts are drawn with Observable Plot from the numbers the API returned; each figure's caption states the finding.

type Make = (width: number) => SVGSVGElement | HTMLElement;

/** A titled figure that redraws at its container's width. */
export function Figure({ title, make, name }: { title: string; make: Make; name?: string }) {
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const observer = new ResizeObserver(([entry]) => setWidth(Math.floor(entry!.contentRect.width)));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  useEffect(() => {
    const el = box.current;
    if (!el || width === 0) return;
    const chart = make(width);
    // The caption and the label carry the meaning for assistive technology; the drawing itself is hidden from it.
    chart.setAttribute('aria-hidden', 'true');
    el.replaceChildren(chart);
    return () => chart.remove();
  }, [make, width]);
  return (
    <figure className="chart" data-chart={name}>
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={title} />
    </figure>
  );
}

export interface Cell {
  truth: string;
  predicted: string;
  value: number;
}

export function matrixCells(labels: readonly string[], m: readonly (readonly number[])[]): Cell[] {
  return m.flatMap((row, i) => row.map((value, j) => ({ truth: labels[i]!, predicted: labels[j]!, value })));
}

/** Rows = true label, columns = predicted; counts in the cells. `diverging` for a difference matrix. */
export function confusionChart(labels: readonly string[], cells: Cell[], diverging = false): Make {
  const extent = Math.max(1, ...cells.map((c) => Math.abs(c.value)));
  return (width) => {
    const size = Math.min(width, 520);
    return Plot.plot({
      width: size,
      height: size,
      marginLeft: 90,
      marginBottom: 80,
      padding: 0.04,
      x: { label: 'Predicted', domain: labels, tickRotate: -40 },
      y: { label: 'True label', domain: labels },
      color: diverging
        ? // Red where the candidate has more, blue where it has fewer: the HTML report's convention.
          { type: 'diverging', scheme: 'rdbu', reverse: true, domain: [-extent, extent], pivot: 0, legend: false }
        : { type: 'linear', scheme: 'blues', domain: [0, extent] },
      marks: [
        Plot.cell(cells, { x: 'predicted', y: 'truth', fill: 'value', inset: 0.5 }),
        Plot.text(cells, {
          x: 'predicted',
          y: 'truth',
          text: (d: Cell) => (diverging && d.value > 0 ? `+${d.value}` : String(d.value)),
          fill: (d: Cell) => (Math.abs(d.value) > extent * 0.55 ? 'white' : 'black'),
          fontSize: labels.length > 12 ? 8 : 11,
          className: 'cell-value',
        }),
      ],
    });
  };
}

export interface Interval {
  name: string;
  estimate: number;
  lower: number;
  upper: number;
}

/** Candidate − baseline with 95% CIs, in percentage points; a rule at 0 and, if given, at −margin. */
export function forestChart(rows: Interval[], margin: number | null): Make {
  const p = rows.map((r) => ({ ...r, estimate: r.estimate * 100, lower: r.lower * 100, upper: r.upper * 100 }));
  return (width) =>
    Plot.plot({
      width,
      height: 60 + 50 * rows.length,
      marginLeft: 110,
      x: { label: 'Candidate − baseline (percentage points, 95% CI)', grid: true, nice: true },
      y: { label: null, domain: p.map((r) => r.name) },
      marks: [
        Plot.ruleX([0], { stroke: '#333' }),
        ...(margin ? [Plot.ruleX([-margin * 100], { stroke: '#b45309', strokeDasharray: '4,3' })] : []),
        Plot.ruleY(p, { y: 'name', x1: 'lower', x2: 'upper', strokeWidth: 3, stroke: '#1d4ed8' }),
        Plot.dot(p, { y: 'name', x: 'estimate', r: 6, fill: '#1d4ed8' }),
        Plot.text(p, {
          y: 'name',
          x: 'estimate',
          dy: -14,
          text: (d: Interval) =>
            `${d.estimate >= 0 ? '+' : ''}${d.estimate.toFixed(1)} (${d.lower.toFixed(1)} to ${d.upper.toFixed(1)})`,
        }),
      ],
    });
}

export interface Bin {
  lower: number;
  upper: number;
  count: number;
  accuracy: number;
  confidence: number;
}

/** Accuracy per confidence bin against the diagonal; dot area shows how many items fell in the bin. */
export function reliabilityChart(bins: readonly Bin[]): Make {
  const used = bins.filter((b) => b.count > 0);
  return (width) =>
    Plot.plot({
      width: Math.min(width, 420),
      height: Math.min(width, 420),
      x: { label: 'Confidence', domain: [0, 1], grid: true },
      y: { label: 'Accuracy', domain: [0, 1], grid: true },
      r: { range: [2, 12] },
      marks: [
        Plot.line(
          [
            [0, 0],
            [1, 1],
          ],
          { stroke: '#999', strokeDasharray: '4,3' },
        ),
        Plot.line(used, { x: 'confidence', y: 'accuracy', stroke: '#1d4ed8' }),
        Plot.dot(used, { x: 'confidence', y: 'accuracy', r: 'count', fill: '#1d4ed8', fillOpacity: 0.7 }),
      ],
    });
}

export interface Bar {
  label: string;
  group: string;
  value: number;
}

/** Horizontal bars per label, one colour per group (e.g. per-class F1 of both versions, grouped by class). */
export function groupedBars(rows: Bar[], xLabel: string, domain?: [number, number]): Make {
  const groups = [...new Set(rows.map((r) => r.group))];
  const labels = [...new Set(rows.map((r) => r.label))];
  const x = { label: xLabel, grid: true, ...(domain ? { domain } : {}) };
  return (width) =>
    groups.length > 1
      ? Plot.plot({
          width,
          marginLeft: 100,
          height: 40 + rows.length * 12 + labels.length * 4,
          x,
          y: { axis: null, domain: groups },
          fy: { label: null, domain: labels },
          color: { domain: groups, range: ['#9ca3af', '#1d4ed8', '#b45309'], legend: true },
          marks: [Plot.barX(rows, { x: 'value', y: 'group', fy: 'label', fill: 'group' }), Plot.ruleX([0])],
        })
      : Plot.plot({
          width,
          marginLeft: 100,
          height: 40 + rows.length * 20,
          x,
          y: { label: null, domain: labels },
          marks: [Plot.barX(rows, { x: 'value', y: 'label', fill: '#1d4ed8' }), Plot.ruleX([0])],
        });
}

export interface Point {
  x: number;
  y: number;
  series?: string;
}

/** A line over steps or versions, with a tooltip per point. */
export function lineChart(points: Point[], xLabel: string, yLabel: string, opts: { versions?: boolean } = {}): Make {
  // Versions are whole numbers: one tick each, written "v3".
  const versionTicks = opts.versions
    ? { ticks: [...new Set(points.map((p) => p.x))], tickFormat: (d: number) => `v${d}` }
    : {};
  return (width) =>
    Plot.plot({
      width,
      height: 240,
      x: { label: xLabel, grid: true, ...versionTicks },
      y: { label: yLabel, grid: true },
      color: { legend: points.some((p) => p.series) },
      marks: [
        Plot.line(points, { x: 'x', y: 'y', stroke: points.some((p) => p.series) ? 'series' : '#1d4ed8' }),
        Plot.dot(points, { x: 'x', y: 'y', fill: points.some((p) => p.series) ? 'series' : '#1d4ed8', r: 3 }),
        Plot.tip(points, Plot.pointer({ x: 'x', y: 'y' })),
      ],
    });
}

/** One colour per arm, the same in every chart of an experiment: the control grey, candidates in turn. */
export interface ArmColors {
  domain: string[];
  range: string[];
}

const CANDIDATE_COLOURS = ['#1d4ed8', '#b45309', '#7c3aed', '#047857', '#be185d', '#0e7490', '#4d7c0f'];

export function armColors(arms: readonly { name: string; isControl: boolean }[]): ArmColors {
  let next = 0;
  return {
    domain: arms.map((a) => a.name),
    range: arms.map((a) => (a.isControl ? '#6b7280' : CANDIDATE_COLOURS[next++ % CANDIDATE_COLOURS.length]!)),
  };
}

/** A value of one arm after `feedback` judged answers (a cumulative series). */
export interface ArmPoint {
  arm: string;
  feedback: number;
  value: number;
}

/** The last point of each arm: where its line ends, labelled. */
const lastOfEach = <T extends { arm: string }>(points: readonly T[]): T[] => [
  ...new Map(points.map((p) => [p.arm, p])).values(),
];

// The experiment charts share a frame, so that their end labels can be placed in pixels.
const FRAME = { height: 280, marginTop: 24, marginBottom: 36, marginLeft: 56, marginRight: 92 };

const shortName = (s: string) => (s.length > 12 ? `${s.slice(0, 11)}…` : s);

/**
 * Each arm's label in the right margin at the height of its line's end, nudged apart (at least 13 px)
 * so that arms that end close together stay readable. `at` is the label's position on the y range
 * from 0 (bottom) to 1 (top).
 */
function endLabels<T extends { arm: string }>(ends: T[], at: (d: T) => number, text: (d: T) => string) {
  const inner = FRAME.height - FRAME.marginTop - FRAME.marginBottom;
  const px = ends.map((d) => FRAME.marginTop + (1 - Math.max(0, Math.min(1, at(d)))) * inner);
  const dy = ends.map(() => 0);
  let last = -Infinity;
  for (const i of px.map((_, i) => i).sort((a, b) => px[a]! - px[b]!)) {
    const y = Math.max(px[i]!, last + 13);
    dy[i] = y - px[i]!;
    last = y;
  }
  return ends.map((d, i) =>
    Plot.text([d], {
      frameAnchor: 'top-right',
      dy: px[i]! + dy[i]! - FRAME.marginTop,
      dx: 6,
      textAnchor: 'start',
      lineAnchor: 'middle',
      fill: 'arm',
      fontWeight: 600,
      text: (x: T) => `${shortName(x.arm)} ${text(x)}`,
    }),
  );
}

const pText = (v: number) =>
  v >= 0.001 ? String(Number(v.toPrecision(2))) : v >= 1e-300 ? v.toExponential(1) : '<1e-300';

/**
 * The always-valid p-value of each candidate over its judged answers, on a log axis, with the alpha
 * line: it never rises, and a candidate whose line reaches the line has a significant difference.
 */
export function pValueChart(points: ArmPoint[], alpha: number, colors: ArmColors): Make {
  // Far below alpha the exact value no longer matters: such points sit on the floor (the tip and label say the value).
  const floor = alpha * 1e-6;
  const shown = points.map((p) => ({ ...p, y: Math.max(p.value, floor) }));
  const lowest = Math.min(alpha, ...shown.map((p) => p.y));
  const domain: [number, number] = [lowest / 4, 1];
  // Ticks people read as p-values (1, 0.5, 0.2, 0.1, …; every few powers of ten over many decades), not "300m".
  const decades = Math.ceil(-Math.log10(domain[0]));
  const step = Math.max(1, Math.ceil(decades / 6));
  const ticks = Array.from({ length: decades + 1 }, (_, k) =>
    decades <= 3 ? [1, 0.5, 0.2].map((m) => m * 10 ** -k) : k % step === 0 ? [10 ** -k] : [],
  )
    .flat()
    .filter((t) => t >= domain[0] && t <= 1);
  const ends = lastOfEach(shown);
  const at = (d: { y: number }) => Math.log(d.y / domain[0]) / Math.log(1 / domain[0]);
  return (width) =>
    Plot.plot({
      ...FRAME,
      width,
      x: { label: 'Judged answers of the candidate →', grid: true, nice: true },
      y: {
        type: 'log',
        label: '↑ Always-valid p-value (log scale)',
        domain,
        grid: true,
        ticks,
        tickFormat: (d: number) => (d >= 0.001 ? String(Number(d.toPrecision(2))) : d.toExponential(0)),
      },
      color: colors,
      marks: [
        Plot.ruleY([alpha], { stroke: '#a40e26', strokeDasharray: '5,4' }),
        Plot.text([alpha], {
          y: (d: number) => d,
          frameAnchor: 'left',
          textAnchor: 'start',
          dx: 4,
          dy: -7,
          fill: '#a40e26',
          text: () => `alpha = ${alpha}: significant below`,
        }),
        Plot.line(shown, { x: 'feedback', y: 'y', stroke: 'arm', curve: 'step-after', strokeWidth: 2 }),
        Plot.dot(ends, { x: 'feedback', y: 'y', fill: 'arm', r: 4 }),
        // In the margin, short: the caption and the tip give the exact value.
        ...endLabels(ends, at, (d) => (d.value < 1e-6 ? 'p < 1e-6' : `p = ${pText(d.value)}`)),
        Plot.tip(
          shown,
          Plot.pointerX({
            x: 'feedback',
            y: 'y',
            stroke: 'arm',
            title: (d: ArmPoint) => `${d.arm} after ${d.feedback} judged answers\np = ${pText(d.value)}`,
          }),
        ),
      ],
    });
}

/** A candidate's confidence sequence for (candidate − control) accuracy, in points, after `feedback` answers. */
export interface BandPoint {
  arm: string;
  feedback: number;
  low: number;
  high: number;
  /** The observed difference then (null where it cannot be derived). */
  estimate: number | null;
}

/**
 * The confidence sequence of each candidate's accuracy difference from the control, as a band that
 * only narrows, with the zero line and the observed difference; a band clear of zero has decided.
 */
export function confidenceSequenceChart(
  rows: BandPoint[],
  current: ArmPoint[],
  level: number,
  colors: ArmColors,
): Make {
  // A difference of two accuracies lies within ±100 points, whatever the bound says early on.
  const toPts = (x: number) => Math.max(-100, Math.min(100, x * 100));
  const band = rows.map((r) => ({
    ...r,
    low: toPts(r.low),
    high: toPts(r.high),
    estimate: r.estimate == null ? null : toPts(r.estimate),
  }));
  const observed = band.filter((r) => r.estimate != null);
  const now = current.map((c) => ({ ...c, value: toPts(c.value) }));
  const values = [0, ...band.flatMap((r) => [r.low, r.high]), ...now.map((n) => n.value)];
  const pad = 2;
  const domain: [number, number] = [Math.min(...values) - pad, Math.max(...values) + pad];
  const sign = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(1)}`;
  return (width) =>
    Plot.plot({
      ...FRAME,
      width,
      x: { label: 'Judged answers of the candidate →', grid: true, nice: true },
      y: { label: `↑ Candidate − control accuracy (points, ${Math.round(level * 100)}% sequence)`, grid: true, domain },
      color: colors,
      marks: [
        Plot.areaY(band, {
          x: 'feedback',
          y1: 'low',
          y2: 'high',
          fill: 'arm',
          fillOpacity: 0.16,
          curve: 'step-after',
        }),
        Plot.line(band, { x: 'feedback', y: 'low', stroke: 'arm', curve: 'step-after', strokeOpacity: 0.7 }),
        Plot.line(band, { x: 'feedback', y: 'high', stroke: 'arm', curve: 'step-after', strokeOpacity: 0.7 }),
        Plot.ruleY([0], { stroke: '#1f2328' }),
        Plot.line(observed, { x: 'feedback', y: 'estimate', stroke: 'arm', strokeDasharray: '3,3' }),
        Plot.dot(now, { x: 'feedback', y: 'value', fill: 'arm', r: 5 }),
        ...endLabels(
          now,
          (d) => (d.value - domain[0]) / (domain[1] - domain[0]),
          (d) => `${sign(d.value)} pts`,
        ),
        Plot.tip(
          band,
          Plot.pointerX({
            x: 'feedback',
            y: 'high',
            stroke: 'arm',
            title: (d: BandPoint) =>
              `${d.arm} after ${d.feedback} judged answers\n${sign(d.low)} to ${sign(d.high)} pts` +
              (d.estimate == null ? '' : `\nobserved ${sign(d.estimate)} pts`),
          }),
        ),
      ],
    });
}

/** Each arm's cumulative accuracy (in %) over its own judged answers. */
export function cumulativeAccuracyChart(points: ArmPoint[], colors: ArmColors): Make {
  const pctPoints = points.map((p) => ({ ...p, value: p.value * 100 }));
  const ends = lastOfEach(pctPoints);
  const values = pctPoints.map((p) => p.value);
  const domain: [number, number] = [
    Math.max(0, Math.floor(Math.min(...values)) - 1),
    Math.min(100, Math.ceil(Math.max(...values)) + 1),
  ];
  return (width) =>
    Plot.plot({
      ...FRAME,
      width,
      x: { label: 'Judged answers of the arm →', grid: true, nice: true },
      y: { label: '↑ Accuracy so far (%)', grid: true, domain },
      color: colors,
      marks: [
        Plot.line(pctPoints, { x: 'feedback', y: 'value', stroke: 'arm', strokeWidth: 2 }),
        Plot.dot(ends, { x: 'feedback', y: 'value', fill: 'arm', r: 4 }),
        ...endLabels(
          ends,
          (d) => (d.value - domain[0]) / (domain[1] - domain[0]),
          (d) => `${d.value.toFixed(1)}%`,
        ),
        Plot.tip(
          pctPoints,
          Plot.pointerX({
            x: 'feedback',
            y: 'value',
            stroke: 'arm',
            title: (d: ArmPoint) => `${d.arm} after ${d.feedback} judged answers\n${d.value.toFixed(1)}% right`,
          }),
        ),
      ],
    });
}
