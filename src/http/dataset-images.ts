import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import type { App } from '../app';
import { badInput } from '../common/errors';
import { sniffImageType, THUMBNAIL_MAX, THUMBNAIL_MIN } from '../inference/image/thumbnail';
import { sendError, type Guard } from './guard';

/** (dataset, version, ordinal) never changes: cached for an hour, never revalidated. */
const IMMUTABLE = 'private, max-age=3600, immutable';
/** "The latest version" may change: revalidated with the ETag on every use. */
const REVALIDATE = 'private, no-cache';

/**
 * GET /datasets/<name>/items/<ordinal>/image[?version=N][&size=N]: a dataset item's stored image, for
 * the admin UI's gallery of disagreements (viewer or above, Bearer key or session cookie, rate-limited
 * like any request). Without `size` the stored bytes as they are (PNG, JPEG or WebP by their magic
 * bytes, anything else as an attachment); with it a PNG thumbnail whose longest side is `size` px.
 * The ETag is the item's sha256 (and size), so a browser's If-None-Match is answered 304.
 */
export function datasetItemImage(app: App, guard: Guard) {
  return async (req: Request, res: Response): Promise<void> => {
    try {
      const actor = await guard.admit(req);
      const ordinal = wholeNumber(req.params.ordinal, 'item ordinal');
      const version = req.query.version === undefined ? undefined : wholeNumber(req.query.version, 'version');
      const size = req.query.size === undefined ? undefined : thumbnailSize(req.query.size);
      const { item, file } = await app.services.datasets.itemImage(
        actor,
        String(req.params.name ?? ''),
        ordinal,
        version,
      );
      const etag = `"${item.sha256}${size === undefined ? '' : `-${size}`}"`;
      res.setHeader('cache-control', version === undefined ? REVALIDATE : IMMUTABLE);
      res.setHeader('etag', etag);
      if (matches(req.header('if-none-match'), etag)) {
        res.status(304).end();
        return;
      }
      if (size !== undefined) {
        const png = await app.services.datasets.thumbnail(item.sha256, size);
        res.status(200).type('image/png').setHeader('content-length', String(png.length));
        res.end(png);
        return;
      }
      await sendStored(res, file, item.path);
    } catch (e) {
      if (res.headersSent) {
        // Mid-body: nothing to answer with but a cut connection. A client that left is no failure.
        if ((e as { code?: string }).code !== 'ERR_STREAM_PREMATURE_CLOSE')
          app.logger.error({ err: e, requestId: res.locals.requestId }, 'sending a dataset image failed');
        res.destroy();
        return;
      }
      res.removeHeader('etag');
      res.removeHeader('cache-control');
      sendError(app, res, e);
    }
  };
}

/** The stored file as it is: its type from its magic bytes; an unknown type is a download, never rendered. */
async function sendStored(res: Response, file: string, itemPath: string): Promise<void> {
  const fh = await open(file, 'r');
  let size: number;
  let type: string | null;
  try {
    size = (await fh.stat()).size;
    const head = Buffer.alloc(12);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    type = sniffImageType(head.subarray(0, bytesRead));
  } catch (e) {
    await fh.close();
    throw e;
  }
  res.status(200).setHeader('content-length', String(size));
  if (type) res.type(type);
  else {
    const name = path.posix.basename(itemPath).replace(/[^A-Za-z0-9._-]/g, '_') || 'item';
    res.type('application/octet-stream').setHeader('content-disposition', `attachment; filename="${name}"`);
  }
  // The stream owns (and closes) the file handle.
  await pipeline(createReadStream('', { fd: fh }), res);
}

function wholeNumber(raw: unknown, what: string): number {
  if (typeof raw !== 'string' || !/^\d{1,10}$/.test(raw)) throw badInput(`${what} must be a whole number`);
  return Number(raw);
}

function thumbnailSize(raw: unknown): number {
  const n = typeof raw === 'string' && /^\d{1,4}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= THUMBNAIL_MIN && n <= THUMBNAIL_MAX))
    throw badInput(`size must be a whole number of pixels from ${THUMBNAIL_MIN} to ${THUMBNAIL_MAX}`, {
      min: THUMBNAIL_MIN,
      max: THUMBNAIL_MAX,
    });
  return n;
}

/** Whether If-None-Match names this (strong) ETag: `*`, or a list in which it appears, weak or not. */
function matches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag === etag || tag === `W/${etag}`;
  });
}
