import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { badInput } from '../common/errors';

/** Whether `file` is `root` or below it (both absolute, already resolved). */
export function isInside(root: string, file: string): boolean {
  const rel = path.relative(root, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Files the gateway reads on a caller's behalf (model files, DVC projects, MLflow stores) must lie
 * under one of IMPORT_ROOTS, symlinks resolved: an operator key must not turn the gateway into a
 * reader of any file it can open. The refusal does not say whether the path exists.
 */
export async function allowedPath(roots: readonly string[], given: string, what: string): Promise<string> {
  const resolved = path.resolve(given);
  const refuse = () =>
    badInput(`${what} ${resolved} is outside the folders the gateway may read (IMPORT_ROOTS: ${roots.join(', ')})`, {
      field: what,
    });
  if (!roots.some((r) => isInside(r, resolved))) throw refuse();
  const real = await realpath(resolved).catch(() => null);
  if (real === null) return resolved;
  const realRoots = await Promise.all(roots.map((r) => realpath(r).catch(() => r)));
  if (!realRoots.some((r) => isInside(r, real))) throw refuse();
  return resolved;
}
