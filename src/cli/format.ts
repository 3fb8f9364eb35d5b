import { maxOf } from '../common/arrays';

/** Plain-text tables for humans; `--json` prints the data as returned instead. */
export function table(rows: Record<string, unknown>[], columns?: string[]): string {
  if (rows.length === 0) return '(none)';
  const cols = columns ?? Object.keys(rows[0]!);
  const cell = (v: unknown) =>
    v === null || v === undefined
      ? '-'
      : Array.isArray(v)
        ? v.join(',')
        : typeof v === 'object'
          ? JSON.stringify(v)
          : String(v);
  const cells = rows.map((r) => cols.map((c) => cell(r[c])));
  const widths = cols.map((c, i) =>
    maxOf(
      cells.map((r) => r[i]!.length),
      c.length,
    ),
  );
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(cols.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n');
}

export function fields(obj: Record<string, unknown>): string {
  const keys = Object.keys(obj);
  const width = maxOf(keys.map((k) => k.length));
  return keys
    .map((k) => {
      const v = obj[k];
      const shown = v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v);
      return `${k.padEnd(width)}  ${shown}`;
    })
    .join('\n');
}
