import type { Request, Response } from 'express';
import type { App } from '../app';
import { followComparison, isFinished, type ProgressSnapshot } from '../evaluation/progress';
import { sendError, type Guard } from './guard';
import { streamTransport } from './streams';

/**
 * GET /comparisons/<id>/events: a comparison's progress as server-sent events, one `progress`
 * event a second while it runs, then `done`. Streams count against SSE_MAX_PER_KEY and
 * SSE_MAX_TOTAL; the caller's key (or session cookie: a browser's EventSource sends it) is checked
 * again every tick, so a stream ends (with an `error` event carrying the code) as soon as its key
 * is revoked or its session ends. The comparisonProgress subscription streams the same (progress.ts).
 */
export function comparisonEvents(app: App, guard: Guard) {
  return async (req: Request, res: Response): Promise<void> => {
    let stream: AsyncGenerator<ProgressSnapshot, void, undefined>;
    try {
      const actor = await guard.admit(req);
      stream = await followComparison(
        app.services.comparisons,
        actor,
        streamTransport(app, req, actor),
        String(req.params.id ?? ''),
      );
    } catch (e) {
      // Before the stream opens a refusal is an ordinary HTTP error, with the status its code maps to.
      return sendError(app, res, e);
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    let open = true;
    req.on('close', () => {
      open = false;
      // Gives the stream slot back at once.
      void stream.return(undefined);
    });
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    try {
      for await (const snapshot of stream) send(isFinished(snapshot.status) ? 'done' : 'progress', snapshot);
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
      res.end();
    }
  };
}
