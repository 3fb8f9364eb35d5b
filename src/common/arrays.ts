/**
 * Extremes of data-sized arrays. `Math.max(...values)` passes every value as an argument and throws
 * a RangeError past about 100,000 of them: these loop instead.
 */

/** The largest of `values` and `initial` (-Infinity when both are empty). */
export function maxOf(values: Iterable<number>, initial = -Infinity): number {
  let max = initial;
  for (const v of values) if (v > max) max = v;
  return max;
}

/** Index of the smallest value (the first, on ties); -1 when there is none. */
export function argmin(values: ArrayLike<number>): number {
  if (values.length === 0) return -1;
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! < values[best]!) best = i;
  return best;
}
