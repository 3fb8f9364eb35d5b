/** Small helpers for the benchmark's figures and tables. */

import { maxOf } from '../common/arrays';

/** Nearest-rank percentile (p in 0..100) of unsorted samples; NaN when there are none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export const median = (samples: readonly number[]) => percentile(samples, 50);

export function mean(samples: readonly number[]): number {
  return samples.length ? samples.reduce((s, x) => s + x, 0) / samples.length : NaN;
}

/**
 * Mean size of the batches the requests ran in, per batch (not per request): n requests that each
 * report the size b of their batch make up sum(1/b) batches.
 */
export function meanBatchSize(perRequest: readonly number[]): number {
  if (perRequest.length === 0) return NaN;
  const batches = perRequest.reduce((s, b) => s + 1 / b, 0);
  return perRequest.length / batches;
}

export function fmt(x: number, digits = 1): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '-';
}

/** A plain-text table: the first row is the header; numbers should already be formatted. */
export function table(rows: string[][], align: ('l' | 'r')[] = []): string {
  const widths = rows[0]!.map((_, c) => maxOf(rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((cell, c) =>
        (align[c] ?? (c === 0 ? 'l' : 'r')) === 'l' ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!),
      )
      .join('  ')
      .trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/** The smallest of `values` (Infinity when empty), without spreading them into arguments. */
export function minOf(values: Iterable<number>): number {
  let min = Infinity;
  for (const v of values) if (v < min) min = v;
  return min;
}
