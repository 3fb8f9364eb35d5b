/**
 * Token buckets by key (an API key's name, a client address): each holds up to `burst` tokens and
 * gains `rate` per second. Only the most recently used `maxKeys` buckets are kept, so a stream of
 * new keys costs bounded memory (a forgotten bucket starts full again).
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly maxKeys = 10_000) {}

  /** Takes one token; 0 when there was one, else how many ms until there will be (nothing taken). */
  take(key: string, rate: number, burst: number, now = performance.now()): number {
    const wait = this.wait(key, rate, burst, now);
    if (wait === 0 && rate > 0) this.buckets.get(key)!.tokens -= 1;
    return wait;
  }

  /** How many ms until `key` has a token (0: it has one now); takes nothing. A rate of 0 never waits. */
  wait(key: string, rate: number, burst: number, now = performance.now()): number {
    if (!(rate > 0)) return 0;
    let b = this.buckets.get(key);
    if (b) {
      this.buckets.delete(key);
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) * rate) / 1000);
      b.at = now;
    } else {
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
      b = { tokens: burst, at: now };
    }
    // Re-inserted: the map's order is the order of last use.
    this.buckets.set(key, b);
    return b.tokens >= 1 ? 0 : Math.ceil(((1 - b.tokens) * 1000) / rate);
  }
}
