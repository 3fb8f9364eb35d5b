import { exhausted } from '../common/errors';

/**
 * Bounds the images in inference (from preprocessing to result) per version and in all: past
 * either bound a request fails at once with RESOURCE_EXHAUSTED and a `retryAfterMs` of about the
 * time a request of that version takes now, instead of queueing without limit and growing memory.
 */
export class Admission {
  private total = 0;
  private readonly perVersion = new Map<number, number>();
  /** Smoothed duration of a request, per version (ms). */
  private readonly latency = new Map<number, number>();
  private rejectedCount = 0;

  constructor(private readonly limits: { perVersion: number; total: number }) {}

  /** Admits one image for `versionId`; the returned function releases it (call it exactly once). */
  enter(versionId: number, label: string): () => void {
    const mine = this.perVersion.get(versionId) ?? 0;
    if (mine >= this.limits.perVersion || this.total >= this.limits.total) {
      this.rejectedCount++;
      const which =
        mine >= this.limits.perVersion
          ? `${label} has ${mine} images in progress (INFERENCE_QUEUE_PER_VERSION ${this.limits.perVersion})`
          : `${this.total} images are in progress (INFERENCE_QUEUE_TOTAL ${this.limits.total})`;
      throw exhausted(`the inference queue is full: ${which}; retry later`, this.retryAfterMs(versionId), {
        queued: mine,
        total: this.total,
      });
    }
    this.perVersion.set(versionId, mine + 1);
    this.total++;
    const started = performance.now();
    return () => {
      const left = (this.perVersion.get(versionId) ?? 1) - 1;
      if (left > 0) this.perVersion.set(versionId, left);
      else this.perVersion.delete(versionId);
      this.total--;
      const ms = performance.now() - started;
      const before = this.latency.get(versionId);
      this.latency.set(versionId, before === undefined ? ms : before * 0.9 + ms * 0.1);
    };
  }

  private retryAfterMs(versionId: number): number {
    return Math.min(30_000, Math.max(100, this.latency.get(versionId) ?? 1000));
  }

  /** For metrics: images in progress per version id and in all, and refusals so far. */
  stats(): { total: number; perVersion: ReadonlyMap<number, number>; rejected: number } {
    return { total: this.total, perVersion: this.perVersion, rejected: this.rejectedCount };
  }
}
