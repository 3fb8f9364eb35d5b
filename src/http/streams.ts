import type { Request } from 'express';
import type { App } from '../app';
import type { Actor } from '../auth/actor';
import { exhausted } from '../common/errors';
import type { StreamTransport } from '../evaluation/progress';
import { requestActor } from './guard';

/**
 * Open progress streams (SSE and GraphQL subscriptions alike), per key and in all: each holds a
 * connection and polls the database once a second, so their number is capped (SSE_MAX_PER_KEY,
 * SSE_MAX_TOTAL).
 */
export class StreamLimits {
  private total = 0;
  private readonly byKey = new Map<string, number>();

  constructor(private readonly limits: { perKey: number; total: number }) {}

  get open(): number {
    return this.total;
  }

  /** Takes a slot for `who`; the returned function gives it back (once). RESOURCE_EXHAUSTED when full. */
  acquire(who: string): () => void {
    const mine = this.byKey.get(who) ?? 0;
    if (mine >= this.limits.perKey)
      throw exhausted(
        `"${who}" already has ${mine} progress streams open (SSE_MAX_PER_KEY ${this.limits.perKey}); close one`,
        5000,
      );
    if (this.total >= this.limits.total)
      throw exhausted(
        `the gateway has ${this.total} progress streams open (SSE_MAX_TOTAL ${this.limits.total}); retry later`,
        5000,
      );
    this.byKey.set(who, mine + 1);
    this.total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.byKey.get(who) ?? 1) - 1;
      if (left > 0) this.byKey.set(who, left);
      else this.byKey.delete(who);
      this.total--;
    };
  }
}

/**
 * How a progress stream opened by `req` (an SSE request, or a WebSocket's upgrade request) re-checks
 * its caller, the same credentials each tick, and takes its slot: a key and its browser sessions
 * share the key's count, anonymous callers count per address.
 */
export function streamTransport(app: App, req: Request, actor: Actor): StreamTransport {
  return {
    currentActor: () => requestActor(app, req),
    acquireSlot: () => {
      const who = actor.kind === 'key' ? actor.name : `anonymous@${req.socket.remoteAddress}`;
      try {
        return app.streams.acquire(who);
      } catch (e) {
        app.metrics.rejected('stream_cap');
        throw e;
      }
    },
  };
}
