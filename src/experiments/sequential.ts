// TEMPORARY (replaced by the sequential-statistics helper's module on merge).
export const DEFAULT_TAU = 0.05;
export const PAIRED_PRIOR_A = 1;
export type Decision = 'CONTINUE' | 'CANDIDATE_BETTER' | 'CONTROL_BETTER';
export interface SequentialParams {
  alpha: number;
  minSamples: number;
  tau?: number;
}
export interface SplitState {
  controlN: number;
  controlCorrect: number;
  candidateN: number;
  candidateCorrect: number;
  pValue: number;
  csLow: number | null;
  csHigh: number | null;
  estimate: number | null;
}
export interface PairedState {
  n: number;
  bothRight: number;
  b: number;
  c: number;
  bothWrong: number;
  pValue: number;
  csLow: number | null;
  csHigh: number | null;
  estimate: number | null;
}
export const initialSplit = (): SplitState => ({
  controlN: 0,
  controlCorrect: 0,
  candidateN: 0,
  candidateCorrect: 0,
  pValue: 1,
  csLow: null,
  csHigh: null,
  estimate: null,
});
export const initialPaired = (): PairedState => ({
  n: 0,
  bothRight: 0,
  b: 0,
  c: 0,
  bothWrong: 0,
  pValue: 1,
  csLow: null,
  csHigh: null,
  estimate: null,
});
function cs(est: number, v: number, alpha: number, tau: number) {
  const t2 = tau * tau;
  const r = Math.sqrt(((v * (v + t2)) / t2) * (2 * Math.log(1 / alpha) + Math.log((v + t2) / v)));
  return [est - r, est + r];
}
export function stepSplit(
  s: SplitState,
  o: { arm: 'control' | 'candidate'; correct: boolean },
  p: SequentialParams,
): SplitState {
  const n = { ...s };
  if (o.arm === 'control') {
    n.controlN++;
    if (o.correct) n.controlCorrect++;
  } else {
    n.candidateN++;
    if (o.correct) n.candidateCorrect++;
  }
  if (!n.controlN || !n.candidateN) return n;
  const a = (n.controlCorrect + 0.5) / (n.controlN + 1),
    b = (n.candidateCorrect + 0.5) / (n.candidateN + 1);
  const v = (a * (1 - a)) / n.controlN + (b * (1 - b)) / n.candidateN;
  const t2 = (p.tau ?? DEFAULT_TAU) ** 2;
  const est = n.candidateCorrect / n.candidateN - n.controlCorrect / n.controlN;
  n.estimate = est;
  const lam = Math.sqrt(v / (v + t2)) * Math.exp((t2 * est * est) / (2 * v * (v + t2)));
  n.pValue = Math.min(n.pValue, 1 / lam, 1);
  const [lo, hi] = cs(est, v, p.alpha, p.tau ?? DEFAULT_TAU);
  n.csLow = n.csLow == null ? lo : Math.max(n.csLow, lo);
  n.csHigh = n.csHigh == null ? hi : Math.min(n.csHigh, hi);
  return n;
}
export function stepPaired(
  s: PairedState,
  o: { control: boolean; candidate: boolean },
  _p: SequentialParams,
): PairedState {
  const n = { ...s };
  n.n++;
  if (o.control && o.candidate) n.bothRight++;
  else if (o.control) n.b++;
  else if (o.candidate) n.c++;
  else n.bothWrong++;
  n.estimate = (n.c - n.b) / n.n;
  const lg = (x: number) => {
    let r = 0;
    while (x < 7) {
      r -= Math.log(x);
      x++;
    }
    return r + (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * x) - 1 / (360 * x ** 3);
  };
  const logLam = lg(n.c + 1) + lg(n.b + 1) - lg(n.b + n.c + 2) + (n.b + n.c) * Math.log(2);
  n.pValue = Math.min(n.pValue, Math.exp(-logLam), 1);
  return n;
}
export function decide(s: SplitState | PairedState, p: SequentialParams): Decision {
  const enough = 'n' in s ? s.n >= p.minSamples : s.controlN >= p.minSamples && s.candidateN >= p.minSamples;
  if (!enough || s.pValue > p.alpha) return 'CONTINUE';
  return (s.estimate ?? 0) > 0 ? 'CANDIDATE_BETTER' : 'CONTROL_BETTER';
}
