import type { Logger } from '../common/logger';
import type { LoggedPrediction } from './experiment.repository';

/** A write starts once this many rows wait; each INSERT takes at most `insertRows`; at most `maxPending` wait. */
export const LOG_LIMITS = { batchRows: 1000, insertRows: 100, maxPending: 200_000 } as const;

export interface PredictionLogStats {
  written: number;
  dropped: number;
  pending: number;
}

/**
 * The prediction log's writer: rows wait in memory and go to the database in one INSERT per batch
 * (every `flushMs`, or at once when `batchRows` are waiting), so logging costs a predict an array
 * push, never a round trip. A batch is written `insertRows` at a time with a turn of the event loop
 * between: with PGlite the INSERT runs on the gateway's thread, and one statement of a thousand rows
 * would hold every request up for tens of milliseconds. While the database cannot take them rows
 * keep waiting, up to `maxPending`; past that the oldest are dropped and counted (memory stays bounded).
 */
export class PredictionLog {
  private pending: LoggedPrediction[] = [];
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private closed = false;
  readonly stats: PredictionLogStats = { written: 0, dropped: 0, pending: 0 };

  constructor(
    private readonly write: (rows: LoggedPrediction[]) => Promise<void>,
    private readonly opts: {
      flushMs: number;
      batchRows: number;
      insertRows: number;
      maxPending: number;
      logger: Logger;
    },
  ) {}

  add(row: LoggedPrediction): void {
    this.pending.push(row);
    if (this.pending.length > this.opts.maxPending) {
      const over = this.pending.length - this.opts.maxPending;
      this.pending.splice(0, over);
      this.stats.dropped += over;
    }
    this.stats.pending = this.pending.length;
    if (this.pending.length >= this.opts.batchRows && !this.flushing) void this.flush();
    else this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    // Backs off while writes fail (up to 30 s), so a database outage is not hammered.
    const delay = Math.min(30_000, this.opts.flushMs * 2 ** Math.min(this.failures, 8));
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, delay);
    this.timer.unref();
  }

  /** Writes everything waiting now (and waits for a write in progress); never throws. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (!this.pending.length) return;
    this.flushing = this.writeSome();
    try {
      await this.flushing;
    } finally {
      this.flushing = null;
    }
    if (this.pending.length && !this.failures) {
      await new Promise((resolve) => setImmediate(resolve));
      await this.flush();
    } else if (this.pending.length) this.schedule();
  }

  private async writeSome(): Promise<void> {
    const rows = this.pending.splice(0, this.opts.insertRows);
    try {
      await this.write(rows);
      this.stats.written += rows.length;
      this.failures = 0;
    } catch (e) {
      this.failures++;
      // A row whose experiment was deleted (its model removed) would fail its batch for ever: such a
      // batch is given up after a few tries; anything else is retried.
      if (this.failures > 5 && /foreign key|P2003/i.test(String((e as Error).message ?? e))) {
        this.stats.dropped += rows.length;
        this.opts.logger.warn({ err: e, rows: rows.length }, 'prediction log rows dropped: their experiment is gone');
      } else {
        this.pending.unshift(...rows);
        if (this.failures === 1 || this.failures % 10 === 0)
          this.opts.logger.warn({ err: e, pending: this.pending.length }, 'prediction log write failed; retrying');
      }
    } finally {
      this.stats.pending = this.pending.length;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.failures = 0;
    await this.flush();
  }
}
