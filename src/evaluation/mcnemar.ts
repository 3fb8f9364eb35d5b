/**
 * McNemar's exact (conditional) test for two classifiers scored on the same items.
 *
 * Under H0 (equal accuracy) the discordant count b is Binomial(b + c, 1/2) given b + c. With
 * k = min(b, c) and N = b + c:
 *   exact p = min(1, 2 * P(X <= k))                       (statsmodels `mcnemar(exact=True)`,
 *                                                           R `binom.test(k, N)`)
 *   mid-p   = 2 * P(X <= k) - P(X = k)     when b != c    (Fagerland, Lydersen & Laake 2013,
 *           = 1 - P(X = k) / 2             when b == c     BMC Med Res Methodol 13:91, eq. 2)
 *   both    = 1                            when N == 0     (no discordant pair: no evidence)
 * mid-p is "P(strictly more extreme) + 1/2 P(as extreme)", which gives both branches above.
 *
 * P(X = k) is computed with Loader's saddle-point formula (the one behind R's dbinom), accurate
 * to ~1e-15 relative for any N, so b + c up to 10^5 and beyond neither overflows nor loses
 * precision; the cdf is summed downwards from k in ratios of neighbouring terms and stops once
 * the terms no longer change the sum (at most k + 1 steps). A p-value below ~1e-308 underflows to 0.
 */

const LN_2PI = Math.log(2 * Math.PI);
const HALF_LN_2PI = 0.5 * LN_2PI;

/** stirlerr(n) = ln(n!) - ln(sqrt(2 pi n) (n/e)^n) for n = 0..15, from exact log-factorials. */
const STIRLERR_SMALL: number[] = (() => {
  const out = [0];
  let lnFact = 0;
  for (let n = 1; n <= 15; n++) {
    lnFact += Math.log(n);
    out.push(lnFact - (n + 0.5) * Math.log(n) + n - HALF_LN_2PI);
  }
  return out;
})();

/** Stirling-formula error for integer n >= 0 (Loader 2000, as in R's stirlerr.c). */
function stirlerr(n: number): number {
  if (n <= 15) return STIRLERR_SMALL[n]!;
  const S0 = 1 / 12;
  const S1 = 1 / 360;
  const S2 = 1 / 1260;
  const S3 = 1 / 1680;
  const S4 = 1 / 1188;
  const nn = n * n;
  if (n > 500) return (S0 - S1 / nn) / n;
  if (n > 80) return (S0 - (S1 - S2 / nn) / nn) / n;
  if (n > 35) return (S0 - (S1 - (S2 - S3 / nn) / nn) / nn) / n;
  return (S0 - (S1 - (S2 - (S3 - S4 / nn) / nn) / nn) / nn) / n;
}

/** Deviance term bd0(x, np) = x ln(x / np) + np - x, computed stably when x is near np. */
function bd0(x: number, np: number): number {
  if (Math.abs(x - np) < 0.1 * (x + np)) {
    let v = (x - np) / (x + np);
    let s = (x - np) * v;
    let ej = 2 * x * v;
    v *= v;
    for (let j = 1; j < 1000; j++) {
      ej *= v;
      const s1 = s + ej / (2 * j + 1);
      if (s1 === s) return s1;
      s = s1;
    }
    return s;
  }
  return x * Math.log(x / np) + np - x;
}

/** ln P(X = x) for X ~ Binomial(n, 1/2), integers 0 <= x <= n. */
export function logBinomHalfPmf(x: number, n: number): number {
  if (x === 0 || x === n) return -n * Math.LN2;
  const half = n / 2;
  const lc = stirlerr(n) - stirlerr(x) - stirlerr(n - x) - bd0(x, half) - bd0(n - x, half);
  const lf = LN_2PI + Math.log(x) + Math.log1p(-x / n);
  return lc - 0.5 * lf;
}

/** P(X = k) and P(X <= k) for X ~ Binomial(n, 1/2), with k <= n / 2 (terms decrease below k). */
function binomHalfPmfCdf(k: number, n: number): { pmf: number; cdf: number } {
  const pmf = Math.exp(logBinomHalfPmf(k, n));
  // P(X = i - 1) / P(X = i) = i / (n - i + 1) <= 1 for i <= k <= n / 2.
  let term = 1;
  let sum = 1;
  for (let i = k; i >= 1; i--) {
    term *= i / (n - i + 1);
    const next = sum + term;
    if (next === sum) break;
    sum = next;
  }
  return { pmf, cdf: Math.min(1, pmf * sum) };
}

function checkCount(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative integer, got ${v}`);
}

/**
 * Two-sided McNemar exact test on the discordant counts b (baseline right, candidate wrong) and
 * c (candidate right, baseline wrong). See the file comment for the exact definitions.
 */
export function mcnemarExact(b: number, c: number): { p: number; midP: number } {
  checkCount('b', b);
  checkCount('c', c);
  const n = b + c;
  if (n === 0) return { p: 1, midP: 1 };
  const k = Math.min(b, c);
  const { pmf, cdf } = binomHalfPmfCdf(k, n);
  if (b === c) return { p: 1, midP: 1 - 0.5 * pmf };
  // |b - c| = 1: P(X <= k) = 1/2 exactly by symmetry; say so rather than sum to 0.99999999999999.
  if (Math.abs(b - c) === 1) return { p: 1, midP: 1 - pmf };
  const p = Math.min(1, 2 * cdf);
  const midP = Math.min(1, Math.max(0, 2 * cdf - pmf));
  return { p, midP };
}
