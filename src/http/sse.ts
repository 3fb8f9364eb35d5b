import type { Request, Response } from 'express';
import type { App } from '../app';
import { notFound } from '../common/errors';
import { parseComparisonId } from '../evaluation/comparison.service';
import { comparisonView } from '../evaluation/report';
import type { ComparisonRecord } from '../evaluation/comparison.repository';
import { requestActor, sendError, type Guard } from './guard';

const TICK_MS = 1000;

interface Admitted {
  comparison: ComparisonRecord;
  release: () => void;
}

/**
 * GET /comparisons/<id>/events: a comparison's progress as server-sent events, one `progress`
 * event a second while it runs, then `done`. Streams count against SSE_MAX_PER_KEY and
 * SSE_MAX_TOTAL; the caller's key (or session cookie: a browser's EventSource sends it) is checked
 * again every tick, so a stream ends (with an `error` event carrying the code) as soon as its key
 * is revoked or its session ends.
 */
export function comparisonEvents(app: App, guard: Guard) {
  return async (req: Request, res: Response): Promise<void> => {
    let admitted: Admitted;
    try {
      admitted = await admit(app, guard, req);
    } catch (e) {
      // Before the stream opens a refusal is an ordinary HTTP error, with the status its code maps to.
      return sendError(app, res, e);
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const stream = { open: true };
    req.on('close', () => {
      stream.open = false;
      admitted.release();
    });
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    try {
      await follow(app, req, admitted.comparison, stream, send);
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'INTERNAL_SERVER_ERROR';
      if (stream.open)
        send('error', {
          code,
          message: code === 'INTERNAL_SERVER_ERROR' ? 'Internal server error' : (e as Error).message,
        });
      if (code === 'INTERNAL_SERVER_ERROR')
        app.logger.error({ err: e, requestId: res.locals.requestId }, 'progress stream failed');
    } finally {
      admitted.release();
      res.end();
    }
  };
}

/** The caller, the comparison it may see, and a stream slot: all before a byte of the stream is sent. */
async function admit(app: App, guard: Guard, req: Request): Promise<Admitted> {
  const actor = await guard.admit(req);
  const id = String(req.params.id ?? '');
  const comparison = await app.services.comparisons.get(actor, parseComparisonId(id));
  if (!comparison) throw notFound(`no comparison ${id}`);
  try {
    const who = actor.kind === 'key' ? actor.name : `anonymous@${req.socket.remoteAddress}`;
    return { comparison, release: app.streams.acquire(who) };
  } catch (e) {
    app.metrics.rejected('stream_cap');
    throw e;
  }
}

/** Sends the comparison's progress each tick until it finishes, the client leaves or the caller may no longer see it. */
async function follow(
  app: App,
  req: Request,
  first: ComparisonRecord,
  stream: { open: boolean },
  send: (event: string, data: unknown) => void,
): Promise<void> {
  let c: ComparisonRecord | null = first;
  while (stream.open && c) {
    const view = comparisonView(c);
    const done = !['QUEUED', 'RUNNING'].includes(c.status);
    send(done ? 'done' : 'progress', {
      id: view.id,
      status: view.status,
      progress: view.progress,
      itemsDone: view.itemsDone,
      total: view.total,
      etaSeconds: view.etaSeconds,
      verdict: view.verdict,
    });
    if (done) break;
    await new Promise((r) => setTimeout(r, TICK_MS));
    // The same credentials again: a revoked key, an ended session (or a changed role) ends the stream here.
    const actor = await requestActor(app, req);
    c = await app.services.comparisons.get(actor, c.id);
  }
}
