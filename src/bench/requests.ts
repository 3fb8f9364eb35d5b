/** The load generator's samples as one list of requests, and the counts and latencies the benches print. */
import type { MixSamples } from './load-client';
import { fmt, percentile } from './stats';
import { maxOf } from '../common/arrays';

export interface Req {
  client: string;
  op: string;
  outcome: string;
  /** Scheduled send time, epoch ms. */
  sentAt: number;
  ms: number;
}

export function flatten(samples: MixSamples[]): Req[] {
  const out: Req[] = [];
  for (const s of samples) {
    for (let i = 0; i < s.op.length; i++) {
      out.push({
        client: s.label,
        op: s.ops[s.op[i]!]!,
        outcome: s.outcomes[s.outcome[i]!]!,
        sentAt: s.sentAt[i]!,
        ms: s.ms[i]!,
      });
    }
  }
  return out;
}

/** How many items fall under each key, keys in first-seen order. */
export function countBy<T>(items: readonly T[], key: (x: T) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of items) m.set(key(x), (m.get(key(x)) ?? 0) + 1);
  return m;
}

/** p50, p99 and max of latencies in ms, formatted ("-" when there are none). */
export function latencyCells(ms: readonly number[]): string[] {
  return [fmt(percentile(ms, 50)), fmt(percentile(ms, 99)), ms.length ? fmt(maxOf(ms)) : '-'];
}

/** "CODE n, CODE n" for a count map, largest first; "-" when empty. */
export function codes(m: ReadonlyMap<string, number>): string {
  const parts = [...m].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`);
  return parts.join(', ') || '-';
}
