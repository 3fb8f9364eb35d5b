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
