import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { badInput } from '../../common/errors';

/**
 * A tracking store is one store however its URI is written. Imported runs and registered versions
 * are keyed by (store identity, id), so `file:///x/mlruns/`, `/x/mlruns`, `/x/mlruns/` and a
 * symlink to it must give the same identity, and so must `HTTP://Host:80/` and `http://host`.
 */

/** A FileStore's identity: its real path (symlinks resolved, no trailing slash) as a file:// URL. */
export async function fileStoreIdentity(root: string): Promise<string> {
  const resolved = path.resolve(root);
  const real = await realpath(resolved).catch(() => resolved);
  return pathToFileURL(real).href;
}

/**
 * A tracking server's identity: scheme and host lower-cased, the scheme's default port left out,
 * the path without trailing slashes; query and fragment dropped (requests never carry them).
 */
export function serverIdentity(uri: string): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw badInput(`${uri} is not a valid URL`, { field: 'trackingUri' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw badInput(`${uri} is not an http(s) tracking server URL`, { field: 'trackingUri' });
  // WHATWG URL parsing already lower-cases the scheme and host and drops a default port.
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}
