const dateTime = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });

export const fmtDate = (iso: string | null | undefined): string =>
  iso ? `${dateTime.format(new Date(iso))} UTC` : '—';

export function fmtBytes(bytes: number | string): string {
  const b = Number(bytes);
  if (b >= 2 ** 20) return `${(b / 2 ** 20).toFixed(1)} MB`;
  if (b >= 1024) return `${(b / 1024).toFixed(1)} KB`;
  return `${b} B`;
}

export const pct = (x: number | null | undefined, digits = 1): string =>
  x == null ? '—' : `${(x * 100).toFixed(digits)}%`;

/** A difference of two proportions in percentage points, signed. */
export const pts = (x: number | null | undefined, digits = 1): string =>
  x == null ? '—' : `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(digits)} pts`;

export const num = (x: number | null | undefined, digits = 3): string => (x == null ? '—' : x.toFixed(digits));

export const ms = (x: number | null | undefined): string => (x == null ? '—' : `${x.toFixed(1)} ms`);

/** A measured duration with three significant digits: "0.412 ms", "5.80 ms", "112 ms". */
export const fmtMs = (x: number | null | undefined): string =>
  x == null ? '—' : `${x >= 100 ? x.toFixed(0) : x.toPrecision(3)} ms`;

/** A count with thousands separators ("23,493,130"); a 64-bit count may come as a string. */
export const fmtCount = (x: number | string | null | undefined): string =>
  x == null ? '—' : Number(x).toLocaleString('en-US');

export const VERDICT_WORDS: Record<string, string> = {
  CANDIDATE_BETTER: 'Candidate better',
  BASELINE_BETTER: 'Baseline better',
  NO_SIGNIFICANT_DIFFERENCE: 'No significant difference',
};

/** "3", "v3" → { version: 3 }; anything else names an alias; "" → the model's default routing. */
export function parseRef(model: string, ref: string | undefined): { model: string; version?: number; alias?: string } {
  const r = (ref ?? '').trim();
  if (r === '' || r === 'default') return { model };
  const m = /^v?(\d+)$/.exec(r);
  return m ? { model, version: Number(m[1]) } : { model, alias: r };
}

/** A p-value as people quote it, two significant digits: "0.003", "0.051", "1", "2.1e-5"; "< 1e-300" below what a double holds. */
export const fmtP = (p: number | null | undefined): string =>
  p == null ? '—' : p >= 0.001 ? String(Number(p.toPrecision(2))) : p >= 1e-300 ? p.toExponential(1) : '< 1e-300';

/** "p = 0.003", or "p < 1e-300". */
export const pIs = (p: number | null | undefined): string => {
  const f = fmtP(p);
  return f.startsWith('<') ? `p ${f}` : `p = ${f}`;
};

/** An online experiment's decision in words (ExperimentDecision). */
export const DECISION_WORDS: Record<string, string> = {
  CANDIDATE_BETTER: 'Candidate better',
  CONTROL_BETTER: 'Control better',
  CONTINUE: 'No decision yet',
  GUARDRAIL_BREACHED: 'Guardrail breached',
  STOPPED: 'Stopped without a decision',
};

export const decisionTone = (d: string): string =>
  ({ CANDIDATE_BETTER: 'ok', CONTROL_BETTER: 'bad', GUARDRAIL_BREACHED: 'bad', STOPPED: 'muted' })[d] ?? 'warn';

/** An experiment arm as people name it: "v3", or "fast (v3)" when the arm's name is not its version. */
export const armLabel = (a: { name: string; modelVersion: { version: number } }): string =>
  a.name === `v${a.modelVersion.version}` ? a.name : `${a.name} (v${a.modelVersion.version})`;

/** SPLIT: the arm's share of requests (weights are normalised); SHADOW: the share of requests it also runs on. */
export function armShare(mode: string, arms: readonly { weight: number }[], a: { weight: number }): number {
  if (mode === 'SHADOW') return a.weight;
  const sum = arms.reduce((s, b) => s + b.weight, 0);
  return sum > 0 ? a.weight / sum : 0;
}
