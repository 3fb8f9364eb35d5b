import type { Request, Response } from 'express';
import type { App } from '../app';
import { notFound } from '../common/errors';
import { parseComparisonId } from '../evaluation/comparison.service';
import { ITEM_CSV_HEADER, itemCsvRows, type ItemResult } from '../evaluation/items-csv';
import { sendError, type Guard } from './guard';

/**
 * GET /comparisons/<id>/items.csv: every item of a succeeded comparison as CSV, one row each, for a
 * spreadsheet or pandas. Who may read it exactly as GET /comparisons/<id>/events (Bearer key or
 * session cookie, viewer or above); CONFLICT (409) until the comparison has SUCCEEDED. Streamed a
 * page of rows at a time, waiting for the client to take each, so a large comparison is never held
 * whole and a client that leaves stops the reads.
 */
export function comparisonItemsCsv(app: App, guard: Guard) {
  return async (req: Request, res: Response): Promise<void> => {
    let id: number;
    let pages: AsyncGenerator<ItemResult[], void, undefined>;
    let first: IteratorResult<ItemResult[], void>;
    try {
      const actor = await guard.admit(req);
      const raw = String(req.params.id ?? '');
      id = parseComparisonId(raw);
      const comparison = await app.services.comparisons.get(actor, id);
      if (!comparison) throw notFound(`no comparison ${raw}`);
      pages = await app.services.comparisons.itemPages(actor, comparison);
      // The first page before the headers: a failing read is still an ordinary error answer.
      first = await pages.next();
    } catch (e) {
      return sendError(app, res, e);
    }
    res.status(200);
    res.setHeader('content-type', 'text/csv; charset=utf-8');
    res.setHeader('content-disposition', `attachment; filename="comparison-${id}-items.csv"`);
    let gone = false;
    res.on('close', () => {
      gone = true;
    });
    try {
      await write(res, ITEM_CSV_HEADER);
      for (let page = first; !page.done && !gone; page = await pages.next()) await write(res, itemCsvRows(page.value));
      if (!gone) res.end();
    } catch (e) {
      // Mid-body: nothing to answer with but a cut connection (the client sees a truncated download).
      app.logger.error({ err: e, requestId: res.locals.requestId }, 'streaming comparison items failed');
      res.destroy();
    } finally {
      await pages.return();
    }
  };
}

/** Writes a chunk, waiting for the socket to drain when its buffer is full (or for the client to leave). */
function write(res: Response, chunk: string): Promise<void> {
  if (res.write(chunk)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
