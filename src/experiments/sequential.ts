/**
 * Always-valid sequential tests for online A/B experiments on accuracy (Bernoulli feedback). The
 * p-values and confidence sequences (CS) stay valid when they are looked at after every
 * observation and the experiment is stopped whenever they say so. Pure and O(1) per observation.
 *
 * SPLIT (each request goes to one arm): the mixture SPRT (mSPRT) of Johari, Koomen, Pekelis & Walsh,
 * "Peeking at A/B tests: why it matters, and what to do about it" (KDD 2017) and "Always Valid
 * Inference: Continuous Monitoring of A/B Tests" (Operations Research 70(3), 2022). For the
 * difference theta = p_candidate - p_control with the normal mixture N(theta0, tau^2):
 *   Lambda_n(theta0) = sqrt(V/(V+tau^2)) exp(tau^2 (D - theta0)^2 / (2 V (V+tau^2))),
 * D = observed difference, V = plug-in variance of D. p_n = min(p_{n-1}, 1/Lambda_n(0)); the CS is
 * the running intersection of {theta0 : Lambda_n(theta0) < 1/alpha}. V uses the Agresti-Caffo
 * adjusted proportions (x+1)/(n+2) (Agresti & Caffo 2000, Am. Stat. 54:280), so it is never 0 and
 * is pulled up (conservative) exactly where the plug-in is least trustworthy: small n, accuracy
 * near 0 or 1. The estimate and the centre of the CS stay the raw difference. The test is
 * asymptotic (plug-in variance, normal approximation); the A/A simulations in
 * tests/unit/sequential.test.ts measure its false-positive rate.
 *
 * SHADOW (every request runs on both arms, so outcomes are paired): only discordant pairs carry
 * evidence, b = control right & candidate wrong, c = the reverse. With q = P(candidate wins a
 * discordant pair), H0: q = 1/2, and the Beta(a, a) mixture martingale (Robbins 1970, "Statistical
 * methods related to the law of the iterated logarithm", Ann. Math. Stat. 41:1397; Howard,
 * Ramdas, McAuliffe & Sekhon 2021, "Time-uniform, nonparametric, nonasymptotic confidence
 * sequences", Ann. Stat. 49:1055)
 *   Lambda(q0) = B(c+a, b+a) / B(a, a) / (q0^c (1-q0)^b)
 * is a nonnegative martingale under q = q0, so P(sup_n Lambda_n >= 1/alpha) <= alpha (Ville): the
 * paired p-value is exact, not asymptotic. The CS for the accuracy difference
 * delta = P(c) - P(b) = d (2q - 1), d = P(discordant), combines the inversion of the same mixture
 * for q (level alpha) with a Beta(1/2, 1/2) mixture CS for d (level alpha / 10, Bonferroni):
 * delta lies in {d (2q - 1)} whenever both cover, so the coverage is >= 1 - 1.1 alpha. d's
 * uncertainty is multiplied by |2q - 1| (small for the differences of interest), so it costs
 * little width; and because the q-CS is the exact inversion of the p-value's martingale, the CS
 * excludes 0 exactly when p <= alpha (d > 0 once a discordant pair is seen). A plug-in d-hat
 * would be cheaper but collapses the CS to {0} while no discordant pair has been seen, and the
 * running intersection would keep it there.
 *
 * Both running minima (p) and intersections (CS) cover the whole sequence from the first
 * observation, so the guarantee does not depend on minSamples, which only delays decide().
 */

// Math's members as module constants: inside jest's vm sandbox every global lookup goes through an
// interceptor and costs ~20x the call itself (plain Node does not care).
const { LN2, PI, SQRT2, abs, asin, exp, expm1, log, log1p, max, min, sin, sqrt } = Math;
const { isFinite: finite } = Number;

/**
 * Mixing scale of the SPLIT mSPRT, in accuracy units. The normal-mixture boundary is tightest
 * where tau^2 / V = r solves r = 2 ln(1/alpha) + ln(1 + r) (r ~ 8.2 at alpha = 0.05); there its
 * half-width is sqrt((1 + r) V). Setting that half-width to an effect delta gives tau ~ 0.94 delta,
 * so tau = 0.03 makes the test sharpest for accuracy differences of about three points (Johari et
 * al. advise matching the mixture to the anticipated effect sizes). By the boundary-crossing
 * integral of the tests, at 85 % accuracy and 3000-5000 observations per arm its power for 2- and
 * 3-point gains is within 0.5 points of the best tau in 0.005-0.1; tau = 0.01 or 0.1 lose 3-21 points.
 */
export const DEFAULT_TAU = 0.03;

/**
 * Beta(a, a) prior on q of the paired test. Beta(a, a) has sd 1 / (2 sqrt(2a + 1)), and the
 * argument for tau (normal approximation) wants that sd near the anticipated |q - 1/2|. A 3-point
 * accuracy gain with 10-15 % discordant predictions is q - 1/2 = delta / (2 d) ~ 0.1-0.15; a = 10
 * gives sd 0.109. By exact crossing probabilities, a = 10 is within 0.5 points of the most
 * powerful a in 0.5-80 for 2-4 point gains at 7-16 % discordance; a = 1 loses up to 11 points.
 */
export const PAIRED_PRIOR_A = 10;

/** Beta(1/2, 1/2) (Krichevsky-Trofimov) mixture for the discordance rate d of the paired CS. */
const DISCORDANCE_PRIOR_A = 0.5;
/** Share of alpha spent on the discordance-rate CS (Bonferroni). */
const DISCORDANCE_ALPHA_SHARE = 0.1;

export type Decision = 'CONTINUE' | 'CANDIDATE_BETTER' | 'CONTROL_BETTER';

export interface SequentialParams {
  /** Significance level, in (0, 1). Keep it fixed over an experiment: the CS is built with it. */
  alpha: number;
  /** decide() says CONTINUE until each arm (SPLIT) or the pair count (SHADOW) reaches this. */
  minSamples: number;
  /** SPLIT mixing scale; DEFAULT_TAU when absent. */
  tau?: number;
}

/** JSON-serialisable (stored in a database JSON column): finite numbers or null only. */
export interface SplitState {
  controlN: number;
  controlCorrect: number;
  candidateN: number;
  candidateCorrect: number;
  /** Always-valid p-value of H0: equal accuracy; never increases. */
  pValue: number;
  /** CS for p_candidate - p_control; null until both arms have an observation. */
  csLow: number | null;
  csHigh: number | null;
  /** p_candidate - p_control observed; null until both arms have an observation. */
  estimate: number | null;
}

export interface PairedState {
  n: number;
  bothRight: number;
  /** Control right, candidate wrong. */
  b: number;
  /** Control wrong, candidate right. */
  c: number;
  bothWrong: number;
  pValue: number;
  csLow: number | null;
  csHigh: number | null;
  /** (c - b) / n; null before the first pair. */
  estimate: number | null;
}

// ---------------------------------------------------------------------------------------------
// Special functions

const HALF_LN_2PI = 0.5 * log(2 * PI);
// Lanczos approximation, g = 7, n = 9 (Godfrey's coefficients; ~1e-15 relative for Gamma).
const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln |Gamma(x)|; Infinity at the poles (0, -1, -2, ...). */
export function lgamma(x: number): number {
  if (x < 0.5) {
    // Reflection: Gamma(x) Gamma(1 - x) = pi / sin(pi x).
    const s = sin(PI * x);
    if (s === 0) return Infinity;
    return log(PI / abs(s)) - lgamma(1 - x);
  }
  const z = x - 1;
  let sum = LANCZOS[0]!;
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i]! / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return HALF_LN_2PI + (z + 0.5) * log(t) - t + log(sum);
}

/** ln B(x, y). */
export function lnBeta(x: number, y: number): number {
  return lgamma(x) + lgamma(y) - lgamma(x + y);
}

/** Upper tail of the standard normal, P(Z > z): series for erf near 0, Lentz continued fraction beyond. */
function normalUpperTail(z: number): number {
  if (z < 0) return 1 - normalUpperTail(-z);
  const x = z / SQRT2;
  if (x < 2) {
    // erf(x) = 2/sqrt(pi) sum (-1)^k x^(2k+1) / (k! (2k+1)); fine up to x = 2 (terms < 1e2).
    let term = x;
    let sum = x;
    for (let k = 1; k < 200; k++) {
      term *= (-x * x) / k;
      const add = term / (2 * k + 1);
      sum += add;
      if (abs(add) < 1e-17 * abs(sum)) break;
    }
    return 0.5 * (1 - (2 / sqrt(PI)) * sum);
  }
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))).
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 500; k++) {
    const an = k / 2;
    d = x + an * d;
    d = d === 0 ? tiny : 1 / d;
    c = x + an / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (abs(delta - 1) < 1e-16) break;
  }
  return (0.5 * exp(-x * x)) / (sqrt(PI) * f);
}

// ---------------------------------------------------------------------------------------------
// SPLIT: mSPRT for a difference of two proportions

/** ln Lambda of the normal-mixture SPRT for an estimate with variance `variance`. */
export function msprtLogLambda(estimate: number, variance: number, tau: number, theta0 = 0): number {
  const t2 = tau * tau;
  const s = variance + t2;
  const d = estimate - theta0;
  return 0.5 * log(variance / s) + (t2 * d * d) / (2 * variance * s);
}

/** Lambda of the normal-mixture SPRT (Infinity once it overflows; the states use the log). */
export function msprtLambda(estimate: number, variance: number, tau: number, theta0 = 0): number {
  return exp(msprtLogLambda(estimate, variance, tau, theta0));
}

/** Half-width of {theta0 : Lambda(theta0) < 1/alpha} around the estimate. */
export function msprtHalfWidth(variance: number, tau: number, alpha: number): number {
  const t2 = tau * tau;
  const s = variance + t2;
  return sqrt(((variance * s) / t2) * (2 * log(1 / alpha) + log(s / variance)));
}

/** Plug-in variance of p_candidate - p_control from Agresti-Caffo adjusted proportions; both n >= 1. */
export function splitVariance(
  controlN: number,
  controlCorrect: number,
  candidateN: number,
  candidateCorrect: number,
): number {
  const pa = (controlCorrect + 1) / (controlN + 2);
  const pb = (candidateCorrect + 1) / (candidateN + 2);
  return (pa * (1 - pa)) / controlN + (pb * (1 - pb)) / candidateN;
}

// ---------------------------------------------------------------------------------------------
// SHADOW: beta-binomial mixture on discordant pairs

const LN_BETA_PRIOR_CACHE = new Map<number, number>();
function lnBetaPrior(a: number): number {
  let v = LN_BETA_PRIOR_CACHE.get(a);
  if (v === undefined) {
    v = lnBeta(a, a);
    if (LN_BETA_PRIOR_CACHE.size < 64) LN_BETA_PRIOR_CACHE.set(a, v);
  }
  return v;
}

/** ln Lambda of the Beta(a, a) mixture against q = 1/2 after b control wins and c candidate wins. */
export function pairedLogLambda(b: number, c: number, a = PAIRED_PRIOR_A): number {
  return lnBeta(c + a, b + a) - lnBetaPrior(a) + (b + c) * LN2;
}

/** C of {x : C - k ln x - (n-k) ln(1-x) < 0}, the Beta(a, a)-mixture CS for a Bernoulli rate. */
function mixtureConstant(k: number, n: number, a: number, alpha: number): number {
  return lnBeta(k + a, n - k + a) - lnBetaPrior(a) - log(1 / alpha);
}

/**
 * The lower (side -1) or upper (side 1) end of {x : C - k ln x - (n-k) ln(1-x) < 0}, n >= 1. The
 * function is convex with its minimum (<= -ln(1/alpha) < 0: a mixture never beats the maximum
 * likelihood) at k/n, so Newton from the outer side converges monotonically; an inner iterate
 * overshoots outwards and is bisected back into the bracket when it leaves it. Returns an
 * outer-side point, so the interval is never narrower than the exact one.
 */
function mixtureEnd(k: number, n: number, C: number, side: -1 | 1): number {
  // All successes or none: closed form on the open side.
  if (side < 0 && k === 0) return 0;
  if (side > 0 && k === n) return 1;
  if (k === 0) return -expm1(C / n);
  if (k === n) return exp(C / n);
  const xhat = k / n;
  const depth = -(C - k * log(xhat) - (n - k) * log1p(-xhat));
  let inner = xhat;
  let outer = side < 0 ? 0 : 1;
  // Start from n KL(xhat || x) ~ 2 n (asin sqrt xhat - asin sqrt x)^2, the variance-stabilised quadratic.
  const u = asin(sqrt(xhat)) + side * sqrt(depth / (2 * n));
  let x = sin(u) ** 2;
  for (let i = 0; i < 100; i++) {
    if (!(side < 0 ? x > outer && x < inner : x > inner && x < outer)) x = 0.5 * (inner + outer);
    const fx = C - k * log(x) - (n - k) * log1p(-x);
    if (fx >= 0) outer = x;
    else inner = x;
    const step = fx / ((n - k) / (1 - x) - k / x);
    const scale = min(x, 1 - x);
    if (fx >= 0 && abs(step) <= 1e-13 * scale) return x;
    if (abs(outer - inner) <= 1e-14 * scale) return outer;
    x -= step;
  }
  return outer;
}

/** Time-uniform Beta(a, a)-mixture CS at level alpha for a Bernoulli rate after k successes in n trials. */
export function mixtureInterval(k: number, n: number, a: number, alpha: number): [number, number] {
  if (n === 0) return [0, 1];
  const C = mixtureConstant(k, n, a, alpha);
  return [mixtureEnd(k, n, C, -1), mixtureEnd(k, n, C, 1)];
}

// ---------------------------------------------------------------------------------------------
// States

function checkParams(p: SequentialParams): number {
  if (!(p.alpha > 0 && p.alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${p.alpha}`);
  if (!(p.minSamples >= 0)) throw new RangeError(`minSamples must be >= 0, got ${p.minSamples}`);
  const tau = p.tau ?? DEFAULT_TAU;
  if (!(tau > 0 && finite(tau))) throw new RangeError(`tau must be positive and finite, got ${tau}`);
  return tau;
}

/**
 * Running intersection. Disjoint intervals (probability <= alpha while the model holds; in
 * practice a sign that accuracy drifted) collapse to the violated end of the old interval, so
 * csLow never decreases and csHigh never increases.
 */
function intersect(prevLo: number | null, prevHi: number | null, lo: number, hi: number): [number, number] {
  if (prevLo === null || prevHi === null) return [lo, hi];
  const nlo = max(prevLo, lo);
  const nhi = min(prevHi, hi);
  if (nlo <= nhi) return [nlo, nhi];
  const point = lo > prevHi ? prevHi : prevLo;
  return [point, point];
}

export function initialSplit(): SplitState {
  return {
    controlN: 0,
    controlCorrect: 0,
    candidateN: 0,
    candidateCorrect: 0,
    pValue: 1,
    csLow: null,
    csHigh: null,
    estimate: null,
  };
}

export function stepSplit(
  s: SplitState,
  obs: { arm: 'control' | 'candidate'; correct: boolean },
  p: SequentialParams,
): SplitState {
  const tau = checkParams(p);
  const hit = obs.correct ? 1 : 0;
  const control = obs.arm === 'control';
  const controlN = s.controlN + (control ? 1 : 0);
  const controlCorrect = s.controlCorrect + (control ? hit : 0);
  const candidateN = s.candidateN + (control ? 0 : 1);
  const candidateCorrect = s.candidateCorrect + (control ? 0 : hit);
  if (controlN === 0 || candidateN === 0) {
    return { ...s, controlN, controlCorrect, candidateN, candidateCorrect };
  }
  const estimate = candidateCorrect / candidateN - controlCorrect / controlN;
  const v = splitVariance(controlN, controlCorrect, candidateN, candidateCorrect);
  const pValue = min(s.pValue, exp(-msprtLogLambda(estimate, v, tau)));
  const w = msprtHalfWidth(v, tau, p.alpha);
  const [csLow, csHigh] = intersect(s.csLow, s.csHigh, max(-1, estimate - w), min(1, estimate + w));
  return { controlN, controlCorrect, candidateN, candidateCorrect, pValue, csLow, csHigh, estimate };
}

export function initialPaired(): PairedState {
  return { n: 0, bothRight: 0, b: 0, c: 0, bothWrong: 0, pValue: 1, csLow: null, csHigh: null, estimate: null };
}

export function stepPaired(
  s: PairedState,
  obs: { control: boolean; candidate: boolean },
  p: SequentialParams,
): PairedState {
  checkParams(p);
  const n = s.n + 1;
  const bothRight = s.bothRight + (obs.control && obs.candidate ? 1 : 0);
  const b = s.b + (obs.control && !obs.candidate ? 1 : 0);
  const c = s.c + (!obs.control && obs.candidate ? 1 : 0);
  const bothWrong = s.bothWrong + (!obs.control && !obs.candidate ? 1 : 0);
  const m = b + c;
  // A concordant pair leaves Lambda unchanged, so the running min is unchanged.
  const pValue = m === s.b + s.c ? s.pValue : min(s.pValue, exp(-pairedLogLambda(b, c)));
  const [qLo, qHi] = mixtureInterval(c, m, PAIRED_PRIOR_A, p.alpha);
  // delta = d (2q - 1): each end is extreme at one end of d's interval; while the q-CS straddles
  // 1/2 (the usual case) only d's upper end is needed, so the other is computed lazily.
  const gLo = 2 * qLo - 1;
  const gHi = 2 * qHi - 1;
  const dC = mixtureConstant(m, n, DISCORDANCE_PRIOR_A, p.alpha * DISCORDANCE_ALPHA_SHARE);
  const dHi = gLo < 0 || gHi > 0 ? mixtureEnd(m, n, dC, 1) : 0;
  const dLo = gLo > 0 || gHi < 0 ? mixtureEnd(m, n, dC, -1) : 0;
  const lo = gLo >= 0 ? dLo * gLo : dHi * gLo;
  const hi = gHi >= 0 ? dHi * gHi : dLo * gHi;
  const [csLow, csHigh] = intersect(s.csLow, s.csHigh, lo, hi);
  return { n, bothRight, b, c, bothWrong, pValue, csLow, csHigh, estimate: (c - b) / n };
}

/**
 * CONTINUE until minSamples is reached and the p-value is <= alpha; the direction comes from the
 * CS (which excludes 0 exactly when p <= alpha at the alpha it was built with), else from the sign
 * of the estimate (when decide() is asked at a different alpha).
 */
export function decide(s: SplitState | PairedState, p: SequentialParams): Decision {
  checkParams(p);
  const enough = 'n' in s ? s.n >= p.minSamples : min(s.controlN, s.candidateN) >= p.minSamples;
  if (!enough || !(s.pValue <= p.alpha)) return 'CONTINUE';
  if (s.csLow !== null && s.csLow > 0) return 'CANDIDATE_BETTER';
  if (s.csHigh !== null && s.csHigh < 0) return 'CONTROL_BETTER';
  if (s.estimate !== null && s.estimate > 0) return 'CANDIDATE_BETTER';
  if (s.estimate !== null && s.estimate < 0) return 'CONTROL_BETTER';
  return 'CONTINUE';
}

// ---------------------------------------------------------------------------------------------
// Naive fixed-horizon tests: wrong under peeking, kept to show by simulation how wrong.

/** Two-sided pooled two-proportion z-test p-value (valid only at one pre-set sample size). */
export function naiveTwoProportionP(
  controlN: number,
  controlCorrect: number,
  candidateN: number,
  candidateCorrect: number,
): number {
  if (controlN === 0 || candidateN === 0) return 1;
  const pooled = (controlCorrect + candidateCorrect) / (controlN + candidateN);
  const se = sqrt(pooled * (1 - pooled) * (1 / controlN + 1 / candidateN));
  if (se === 0) return 1;
  const z = (candidateCorrect / candidateN - controlCorrect / controlN) / se;
  return min(1, 2 * normalUpperTail(abs(z)));
}

/** Two-sided McNemar z-test p-value, z = (c - b) / sqrt(b + c) (valid only at one pre-set n). */
export function naivePairedP(b: number, c: number): number {
  if (b + c === 0) return 1;
  return min(1, 2 * normalUpperTail(abs(c - b) / sqrt(b + c)));
}
