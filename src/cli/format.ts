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

/** A speed measurement in one line: "0.412 ms at batch 1, 2,431 images/s at batch 32 (cpu, 2 threads, input 1x28x28)". */
export function speedText(
  s: {
    batch1Ms: number;
    batch32ImagesPerSecond: number;
    throughputBatchSize: number;
    executionProvider: string;
    threads: number | null;
    width: number;
    height: number;
    channels: number;
  } | null,
): string {
  if (!s) return 'not measured';
  const ms = s.batch1Ms >= 100 ? s.batch1Ms.toFixed(0) : s.batch1Ms.toPrecision(3);
  const ips = Math.round(s.batch32ImagesPerSecond).toLocaleString('en-US');
  const threads = s.threads === null ? '' : `, ${s.threads} threads`;
  return (
    `${ms} ms at batch 1, ${ips} images/s at batch ${s.throughputBatchSize} ` +
    `(${s.executionProvider}${threads}, input ${s.channels}x${s.height}x${s.width})`
  );
}
