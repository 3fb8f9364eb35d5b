import { setTimeout as sleep } from 'node:timers/promises';
import type { Actor } from '../auth/actor';
import { notFound } from '../common/errors';
import type { ComparisonRecord } from './comparison.repository';
import { parseComparisonId, type ComparisonService } from './comparison.service';
import { comparisonView } from './report';

/** How often an open progress stream reads its comparison again. */
export const PROGRESS_TICK_MS = 1000;

/** One message of a progress stream: SSE's `progress` and `done` events, the comparisonProgress subscription's events. */
export interface ProgressSnapshot {
  id: string;
  status: string;
  progress: number;
  itemsDone: number;
  total: number;
  etaSeconds: number | null;
  verdict: string | null;
}

/** Whether a comparison in this state will change no more. */
export const isFinished = (status: string): boolean => status !== 'QUEUED' && status !== 'RUNNING';

export function progressSnapshot(c: ComparisonRecord): ProgressSnapshot {
  const { id, status, progress, itemsDone, total, etaSeconds, verdict } = comparisonView(c);
  return { id, status, progress, itemsDone, total, etaSeconds, verdict };
}

/** What a progress stream needs of the transport that serves it (SSE, the GraphQL WebSocket). */
export interface StreamTransport {
  /** The caller as its credentials say now: throws (UNAUTHENTICATED) once the key is revoked or the session ended. */
  currentActor(): Promise<Actor>;
  /** Takes a progress-stream slot for the caller (RESOURCE_EXHAUSTED when none is left); the function returned gives it back. */
  acquireSlot(): () => void;
}

/**
 * A comparison's progress as a stream: its state now, then once a tick while it is queued or
 * running, then its final state, then the end. Refusals come before anything is streamed:
 * BAD_USER_INPUT (the id), UNAUTHENTICATED or FORBIDDEN (the caller), NOT_FOUND, RESOURCE_EXHAUSTED
 * (no stream slot). Each tick asks for the caller's credentials again, so a revoked key or an
 * ended session ends the stream with that error; a comparison the caller may no longer see ends
 * it quietly.
 *
 * The slot is given back the moment the stream ends or its consumer stops it (`return()`: a client
 * that unsubscribes or leaves), not at the generator's next yield, up to a tick later: a client
 * that closes a stream and opens another must find its slot free.
 */
export async function followComparison(
  comparisons: ComparisonService,
  actor: Actor,
  transport: StreamTransport,
  id: string,
): Promise<AsyncGenerator<ProgressSnapshot, void, undefined>> {
  const first = await comparisons.get(actor, parseComparisonId(id));
  if (!first) throw notFound(`no comparison ${id}`);
  const release = transport.acquireSlot();
  const stopped = new AbortController();
  const stop = () => {
    stopped.abort();
    release();
  };
  const ticks = follow(comparisons, transport, first, stopped.signal);
  const stream: AsyncGenerator<ProgressSnapshot, void, undefined> = {
    async next() {
      try {
        const step = await ticks.next();
        if (step.done) stop();
        return step;
      } catch (e) {
        // After a stop, nothing more: not even an error its last read ran into.
        const wasStopped = stopped.signal.aborted;
        stop();
        if (wasStopped) return { done: true, value: undefined };
        throw e;
      }
    },
    async return() {
      stop();
      return ticks.return(undefined);
    },
    async throw(e: unknown) {
      stop();
      return ticks.throw(e);
    },
    [Symbol.asyncIterator]() {
      return stream;
    },
    async [Symbol.asyncDispose]() {
      await stream.return();
    },
  };
  return stream;
}

async function* follow(
  comparisons: ComparisonService,
  transport: StreamTransport,
  first: ComparisonRecord,
  signal: AbortSignal,
): AsyncGenerator<ProgressSnapshot, void, undefined> {
  let c: ComparisonRecord | null = first;
  while (c && !signal.aborted) {
    const snapshot = progressSnapshot(c);
    yield snapshot;
    if (isFinished(snapshot.status)) return;
    // A stopped stream stops waiting at once (the abort rejects the sleep), and ends without an error.
    await sleep(PROGRESS_TICK_MS, undefined, { signal }).catch(() => undefined);
    if (signal.aborted) return;
    // The same credentials again: a revoked key, an ended session (or a changed role) ends the stream here.
    c = await comparisons.get(await transport.currentActor(), c.id);
  }
}
