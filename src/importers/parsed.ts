/**
 * Reading what YAML.parse and JSON.parse give (`unknown`) for upstream files (dvc.yaml, dvc.lock,
 * .dvc files, labels files, MLflow FileStore meta.yaml, MLmodel): a field of something that is not
 * an object reads as undefined, so a file of the wrong shape falls back to the same defaults as a
 * file that leaves the field out.
 */

/** The value's fields; {} when it is not an object (null, a string, a number). */
export function fields(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : {};
}

/** `v[k1][k2]...`: undefined from the first step that is not an object on. */
export function dig(v: unknown, ...keys: string[]): unknown {
  let at = v;
  for (const key of keys) at = fields(at)[key];
  return at;
}

/** A scalar as text (YAML reads `name: 2024` as a number); null when absent. */
export function text(v: unknown): string | null {
  return v === undefined || v === null ? null : String(v);
}
