import type { CalibrationMethod } from './int8';

const BINS = 2048;
/** onnxruntime's percentile calibrator default. */
export const PERCENTILE = 99.999;

/**
 * A histogram of magnitudes over [0, width * BINS) that grows by doubling its range (merging bins
 * pairwise), so that it can be filled batch by batch without knowing the final range first (the
 * way TensorRT's and onnxruntime's histogram collectors do).
 */
class Histogram {
  readonly counts = new Float64Array(BINS);
  width = 0;
  total = 0;

  cover(max: number): void {
    if (!(max > 0)) return;
    if (this.width === 0) {
      this.width = max / BINS;
      return;
    }
    while (max >= this.width * BINS) {
      for (let i = 0; i < BINS / 2; i++) this.counts[i] = this.counts[2 * i]! + this.counts[2 * i + 1]!;
      this.counts.fill(0, BINS / 2);
      this.width *= 2;
    }
  }

  add(magnitude: number): void {
    const i = this.width === 0 ? 0 : Math.min(BINS - 1, Math.floor(magnitude / this.width));
    this.counts[i]! += 1;
    this.total += 1;
  }

  /** The smallest bin edge below which `percentile` % of the values lie. */
  percentile(percentile: number): number {
    const target = (this.total * percentile) / 100;
    let sum = 0;
    for (let i = 0; i < BINS; i++) {
      sum += this.counts[i]!;
      if (sum >= target) return (i + 1) * this.width;
    }
    return BINS * this.width;
  }

  /**
   * The clipping threshold that minimises the KL divergence between the distribution and its
   * quantization to `levels` levels (TensorRT's entropy calibration, as in onnxruntime's
   * HistogramCalibrater "entropy" method).
   */
  entropy(levels: number): number {
    if (this.width === 0 || this.total === 0) return 0;
    let last = BINS;
    while (last > 0 && this.counts[last - 1] === 0) last--;
    if (last <= levels) return last * this.width;
    // The exact zeros of a Relu output (most of its values) would dominate the divergence and pull
    // the threshold down to the smallest candidate; the first bin is represented exactly either way.
    const counts = this.counts.slice();
    counts[0] = 0;
    let best = last;
    let bestKl = Infinity;
    const step = Math.max(1, Math.floor((last - levels) / 256));
    for (let i = levels; i <= last; i += step) {
      const kl = klAt(counts, i, levels);
      if (kl < bestKl) {
        bestKl = kl;
        best = i;
      }
    }
    return best * this.width;
  }
}

function klAt(counts: Float64Array, i: number, levels: number): number {
  // P: the first i bins with everything beyond folded into the last one.
  const p = counts.slice(0, i);
  let outliers = 0;
  for (let j = i; j < counts.length; j++) outliers += counts[j]!;
  p[i - 1]! += outliers;
  // Q: the first i bins merged into `levels` levels, each spread evenly over its non-empty bins.
  const q = new Float64Array(i);
  const per = i / levels;
  for (let l = 0; l < levels; l++) {
    const start = Math.floor(l * per);
    const end = l === levels - 1 ? i : Math.floor((l + 1) * per);
    let sum = 0;
    let nonzero = 0;
    for (let j = start; j < end; j++) {
      sum += counts[j]!;
      if (counts[j]! > 0) nonzero++;
    }
    if (nonzero === 0) continue;
    for (let j = start; j < end; j++) if (counts[j]! > 0) q[j] = sum / nonzero;
  }
  let pSum = 0;
  let qSum = 0;
  for (let j = 0; j < i; j++) {
    pSum += p[j]!;
    qSum += q[j]!;
  }
  if (pSum === 0 || qSum === 0) return Infinity;
  let kl = 0;
  for (let j = 0; j < i; j++) {
    const pj = p[j]! / pSum;
    if (pj === 0) continue;
    // A bin that P has but Q lost: smoothed, as onnxruntime does, rather than an infinite divergence.
    const qj = Math.max(q[j]! / qSum, 1e-10);
    kl += pj * Math.log(pj / qj);
  }
  return kl;
}

/**
 * Values addInSlices handles between two turns of the event loop: about a millisecond of work. One
 * calibration tensor can hold tens of millions of values (16M for a 16x1024x1024 activation: a
 * quarter of a second of histogram work on an idle core, seconds on a busy machine), and the
 * optimization job runs on the gateway's thread: requests must not wait that long behind it.
 */
export const SLICE_VALUES = 1 << 16;

/** The value range of one tensor over every calibration batch. */
export class TensorRange {
  min = Infinity;
  max = -Infinity;
  private readonly positive = new Histogram();
  private readonly negative = new Histogram();

  add(values: Float32Array): void {
    for (const _ of this.adding(values, Infinity));
  }

  /**
   * add(), SLICE_VALUES at a time, awaiting `pause` between slices (the calibration job: the next
   * turn of the event loop). The same values in the same order: the same histograms as add().
   */
  async addInSlices(values: Float32Array, pause: () => Promise<unknown>): Promise<void> {
    for (const _ of this.adding(values, SLICE_VALUES)) await pause();
  }

  /** add()'s work, yielding after each `slice` values (the range first, then the histograms). */
  private *adding(values: Float32Array, slice: number): Generator<void, void> {
    const n = values.length;
    let lo = Infinity;
    let hi = -Infinity;
    for (let start = 0; start < n; start += slice) {
      const end = Math.min(n, start + slice);
      for (let i = start; i < end; i++) {
        const v = values[i]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (end < n) yield;
    }
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
      if (n) throw new Error('calibration produced a non-finite activation');
      return;
    }
    this.min = Math.min(this.min, lo);
    this.max = Math.max(this.max, hi);
    this.positive.cover(hi);
    this.negative.cover(-lo);
    for (let start = 0; start < n; start += slice) {
      const end = Math.min(n, start + slice);
      for (let i = start; i < end; i++) {
        const v = values[i]!;
        if (v >= 0) this.positive.add(v);
        else this.negative.add(-v);
      }
      if (end < n) yield;
    }
  }

  /** The range to quantize to, by calibration method (each side of zero clipped on its own). */
  range(method: CalibrationMethod): { min: number; max: number } {
    if (!Number.isFinite(this.min)) return { min: 0, max: 0 };
    if (method === 'MINMAX') return { min: this.min, max: this.max };
    const signed = this.negative.total > 0;
    const side = (h: Histogram, extreme: number): number => {
      if (h.total === 0) return 0;
      const t = method === 'PERCENTILE' ? h.percentile(PERCENTILE) : h.entropy(signed ? 128 : 255);
      return Math.min(t, extreme);
    };
    return { min: -side(this.negative, -this.min), max: side(this.positive, this.max) };
  }
}

/** uint8 asymmetric parameters for a range (zero is always exactly representable). */
export function uint8Params(range: { min: number; max: number }): { scale: number; zeroPoint: number } {
  const rmin = Math.min(0, range.min);
  const rmax = Math.max(0, range.max);
  if (rmax === rmin) return { scale: 1, zeroPoint: 0 };
  const scale = Math.fround((rmax - rmin) / 255);
  const zeroPoint = Math.max(0, Math.min(255, Math.round(-rmin / scale)));
  return { scale, zeroPoint };
}
