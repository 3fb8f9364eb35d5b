import type { Request, Response } from 'express';
import type { App } from '../app';
import type { Actor } from '../auth/actor';
import { notFound } from '../common/errors';
import { parseComparisonId } from '../evaluation/comparison.service';
import { comparisonView } from '../evaluation/report';
import { sendError, type Guard } from './guard';

const TICK_MS = 1000;

/**
 * GET /comparisons/<id>/events: a comparison's progress as server-sent events, one `progress`
 * event a second while it runs, then `done`. Streams count against SSE_MAX_PER_KEY and
 * SSE_MAX_TOTAL; the caller's key is checked again every tick, so a stream ends (with an `error`
 * event carrying the code) as soon as its key is revoked.
 */
export function comparisonEvents(app: App, guard: Guard) {
  return async (req: Request, res: Response): Promise<void> => {
    let actor: Actor;
    let release: () => void;
    const id = String(req.params.id ?? '');
    let c;
    try {
      actor = await guard.admit(req);
      const comparisonId = parseComparisonId(id);
      c = await app.services.comparisons.get(actor, comparisonId);
      if (!c) throw notFound(`no comparison ${id}`);
      try {
        release = app.streams.acquire(actor.kind === 'key' ? actor.name : `anonymous@${req.socket.remoteAddress}`);
      } catch (e) {
        app.metrics.rejected('stream_cap');
        throw e;
      }
    } catch (e) {
      return sendError(app, res, e);
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    let open = true;
    req.on('close', () => {
      open = false;
      release();
    });
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    try {
      while (open && c) {
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
        // The same credentials again: a revoked key (or a changed role) ends the stream here.
        actor = await app.authenticate(req.header('authorization'));
        c = await app.services.comparisons.get(actor, c.id);
      }
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'INTERNAL_SERVER_ERROR';
      if (open)
        send('error', {
          code,
          message: code === 'INTERNAL_SERVER_ERROR' ? 'Internal server error' : (e as Error).message,
        });
      if (code === 'INTERNAL_SERVER_ERROR')
        app.logger.error({ err: e, requestId: res.locals.requestId }, 'progress stream failed');
    } finally {
      release();
      res.end();
    }
  };
}
