/**
 * Building blocks of the per-version metrics: percentiles, calibration bins, per-class counts.
 * Pure functions over plain arrays; statistics.ts validates inputs and assembles them.
 */

/**
 * The q-th percentile (q in [0, 100]) of `values` by linear interpolation between the closest
 * ranks: numpy's default (`np.percentile(..., method='linear')`, Hyndman & Fan type 7). With the
 * values sorted ascending as v[0..n-1], h = (n - 1) q / 100 and the result is
 * v[floor h] + (h - floor h) (v[floor h + 1] - v[floor h]). Throws on an empty array, a non-finite
 * value, or q outside [0, 100].
 */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new RangeError('percentile of an empty array');
  if (!(q >= 0 && q <= 100)) throw new RangeError(`percentile q must be in [0, 100], got ${q}`);
  const sorted = Float64Array.from(values);
  for (const v of sorted) if (!Number.isFinite(v)) throw new RangeError(`percentile of a non-finite value: ${v}`);
  sorted.sort();
  return percentileOfSorted(sorted, q);
}

/** percentile() on values already sorted ascending (no checks, no copy). */
export function percentileOfSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  const h = ((n - 1) * q) / 100;
  const lo = Math.floor(h);
  if (lo >= n - 1) return sorted[n - 1]!;
  const t = h - lo;
  const a = sorted[lo]!;
  const b = sorted[lo + 1]!;
  // numpy's lerp: exact at both ends, monotone in t.
  return t < 0.5 ? a + (b - a) * t : b - (b - a) * (1 - t);
}

export interface ReliabilityBin {
  lower: number;
  upper: number;
  count: number;
  /** Share of correct top-1 predictions among the bin's items; null when the bin is empty. */
  accuracy: number | null;
  /** Mean top-1 confidence of the bin's items; null when the bin is empty. */
  confidence: number | null;
}

/**
 * Expected calibration error (Guo, Pleiss, Sun & Weinberger 2017, "On Calibration of Modern Neural
 * Networks", eq. 3) with `bins` equal-width bins: bin m covers (m/M, (m+1)/M], except the first,
 * which is [0, 1/M] (a confidence of exactly 0 goes there; one above 1 from rounding goes in the
 * last). ECE = sum over bins of |acc(B_m) - conf(B_m)| * |B_m| / n; empty bins contribute 0.
 * Also returns the bins themselves, for a reliability diagram.
 */
export function calibration(
  confidences: ArrayLike<number>,
  correct: ArrayLike<boolean | number>,
  bins = 15,
): { ece: number; bins: ReliabilityBin[] } {
  const n = confidences.length;
  if (correct.length !== n) throw new RangeError('calibration: confidences and correct differ in length');
  if (n === 0) throw new RangeError('calibration of an empty set');
  if (!Number.isInteger(bins) || bins < 1)
    throw new RangeError(`calibration: bins must be a positive integer, got ${bins}`);
  const edges = Array.from({ length: bins + 1 }, (_, i) => i / bins);
  const count = new Float64Array(bins);
  const hits = new Float64Array(bins);
  const confSum = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const c = confidences[i]!;
    let m = Math.min(bins - 1, Math.max(0, Math.ceil(c * bins) - 1));
    // Settle rounding at the edges against the very edges reported: lower < c <= upper.
    while (m > 0 && c <= edges[m]!) m--;
    while (m < bins - 1 && c > edges[m + 1]!) m++;
    count[m]!++;
    confSum[m]! += c;
    if (correct[i]) hits[m]!++;
  }
  let ece = 0;
  const out: ReliabilityBin[] = [];
  for (let m = 0; m < bins; m++) {
    const k = count[m]!;
    const accuracy = k > 0 ? hits[m]! / k : null;
    const confidence = k > 0 ? confSum[m]! / k : null;
    if (k > 0) ece += (k / n) * Math.abs(accuracy! - confidence!);
    out.push({ lower: edges[m]!, upper: edges[m + 1]!, count: k, accuracy, confidence });
  }
  return { ece, bins: out };
}

/**
 * Per-class F1 from counts: F1 = 2 TP / (2 TP + FP + FN) = 2 TP / (support + predicted), null when
 * the class is neither in the labels nor in the predictions (0/0).
 */
export function f1FromCounts(tp: number, support: number, predicted: number): number | null {
  const d = support + predicted;
  return d > 0 ? (2 * tp) / d : null;
}

/**
 * Macro-F1 as sklearn's `f1_score(y_true, y_pred, average='macro')` with its default labels=None:
 * the unweighted mean of per-class F1 over the classes that occur in the true labels OR in the
 * predictions. A class that is predicted but absent from the labels (or present but never
 * predicted correctly) counts with F1 = 0; a class absent from both is left out.
 * `tp`, `support`, `predicted` are per-class counts (same length).
 */
export function macroF1FromCounts(
  tp: ArrayLike<number>,
  support: ArrayLike<number>,
  predicted: ArrayLike<number>,
): number {
  let sum = 0;
  let classes = 0;
  for (let k = 0; k < tp.length; k++) {
    const d = support[k]! + predicted[k]!;
    if (d > 0) {
      sum += (2 * tp[k]!) / d;
      classes++;
    }
  }
  return classes > 0 ? sum / classes : 0;
}
