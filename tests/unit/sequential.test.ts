import {
  decide,
  DEFAULT_TAU,
  initialPaired,
  initialSplit,
  lgamma,
  lnBeta,
  mixtureInterval,
  msprtHalfWidth,
  msprtLambda,
  msprtLogLambda,
  naivePairedP,
  naiveTwoProportionP,
  PAIRED_PRIOR_A,
  type PairedState,
  pairedLogLambda,
  type SequentialParams,
  splitVariance,
  type SplitState,
  stepPaired,
  stepSplit,
} from '../../src/experiments/sequential';

// Math's members as module constants: global lookups are slow inside jest's vm sandbox.
const { LN2, PI, abs, ceil, exp, imul, log, log1p, max, min, pow, sqrt } = Math;

// ---------------------------------------------------------------------------------------------
// Seeded PRNG: xoshiro128** seeded through splitmix32.

function splitmix32(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = imul(z ^ (z >>> 16), 0x85ebca6b);
    z = imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function xoshiro128ss(seed: number): () => number {
  const sm = splitmix32(seed);
  let a = sm();
  let b = sm();
  let c = sm();
  let d = sm();
  const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));
  return () => {
    const r = imul(rotl(imul(b, 5), 7), 9);
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return (r >>> 0) / 4294967296;
  };
}

const relErr = (a: number, b: number) => (a === b ? 0 : abs(a - b) / abs(b));
const ALPHA = 0.05;
const PARAMS: SequentialParams = { alpha: ALPHA, minSamples: 100 };

/** Rows of the summary printed after the simulations. */
const report: string[] = [];
const row = (label: string, value: string) => `${label.padEnd(52)}${value}`;
afterAll(() => {
  if (report.length > 0) console.log([row('simulation', 'result'), ...report].join('\n'));
});

// ---------------------------------------------------------------------------------------------
// Independent reference computations

/** ln N(x; mean, variance). */
const lnNormPdf = (x: number, mean: number, variance: number) =>
  -0.5 * log(2 * PI * variance) - ((x - mean) * (x - mean)) / (2 * variance);

/** Agresti-Caffo plug-in variance, written out again. */
function refVariance(nA: number, xA: number, nB: number, xB: number): number {
  const pa = (xA + 1) / (nA + 2);
  const pb = (xB + 1) / (nB + 2);
  return (pa * (1 - pa)) / nA + (pb * (1 - pb)) / nB;
}

/**
 * ln Lambda as a Bayes factor: under the mixture the estimate D is marginally N(theta0, V + tau^2),
 * under H0 N(theta0, V); Lambda is the ratio of the two densities at D.
 */
const bayesFactorLogLambda = (D: number, V: number, tau: number, theta0 = 0) =>
  lnNormPdf(D, theta0, V + tau * tau) - lnNormPdf(D, theta0, V);

/**
 * Lambda from its definition: the likelihood ratio L(theta)/L(theta0) of D ~ N(theta, V) averaged
 * over theta ~ N(theta0, tau^2), by the trapezoid rule, which converges geometrically for a
 * Gaussian integrand on a grid finer than its width (Trefethen & Weideman, SIAM Rev. 2014).
 */
function integratedLambda(D: number, V: number, tau: number, theta0 = 0): number {
  const sv = sqrt(V);
  const lo = min(theta0 - 14 * tau, D - 14 * sv);
  const hi = max(theta0 + 14 * tau, D + 14 * sv);
  const h = min(sv, tau) / 16;
  const steps = ceil((hi - lo) / h);
  const dx = (hi - lo) / steps;
  let sum = 0;
  for (let i = 0; i <= steps; i++) {
    const th = lo + i * dx;
    const lr = exp(((D - theta0) ** 2 - (D - th) ** 2) / (2 * V));
    const prior = exp(-((th - theta0) ** 2) / (2 * tau * tau)) / (tau * sqrt(2 * PI));
    sum += (i === 0 || i === steps ? 0.5 : 1) * lr * prior;
  }
  return sum * dx;
}

/** Both ends of {theta0 : ln Lambda(theta0) < ln(1/alpha)} by bisection on the Bayes-factor form, clipped to [-1, 1]. */
function refSplitInterval(D: number, V: number, tau: number, alpha: number): [number, number] {
  const target = log(1 / alpha);
  const solve = (dir: -1 | 1) => {
    let inner = 0;
    let outer = 4;
    for (let i = 0; i < 200; i++) {
      const mid = 0.5 * (inner + outer);
      if (bayesFactorLogLambda(D, V, tau, D + dir * mid) < target) inner = mid;
      else outer = mid;
    }
    return D + dir * 0.5 * (inner + outer);
  };
  return [max(-1, solve(-1)), min(1, solve(1))];
}

/** The running intersection rule, written out again (no collapse expected in the fixed sequences). */
function intersectRef(prev: [number, number] | null, next: [number, number]): [number, number] {
  return prev === null ? next : [max(prev[0], next[0]), min(prev[1], next[1])];
}

/** Increment of ln of a Beta(a, a)-mixture's marginal likelihood: the sequential predictive probability. */
const predictiveLog = (hitsSoFar: number, trialsSoFar: number, hit: boolean, a: number) =>
  log(((hit ? hitsSoFar : trialsSoFar - hitsSoFar) + a) / (trialsSoFar + 2 * a));

/** ln of the Beta(a, a) mixture marginal of k hits in n trials, as a product of predictive probabilities. */
function predictiveLogMarginal(k: number, n: number, a: number): number {
  let s = 0;
  for (let i = 0; i < k; i++) s += predictiveLog(i, i, true, a);
  for (let j = 0; j < n - k; j++) s += predictiveLog(k, k + j, false, a);
  return s;
}

/** ln of integral q^c (1-q)^b Beta(a, a)(dq), by quadrature of both numerator and normaliser (integer a >= 2). */
function quadratureLogMarginal(c: number, b: number, a: number): number {
  const steps = 200_000;
  const integral = (x: number, y: number) => {
    const mode = (x - 1) / (x + y - 2);
    const logAt = (q: number) => (x - 1) * log(q) + (y - 1) * log1p(-q);
    const top = logAt(mode);
    let sum = 0;
    for (let i = 1; i < steps; i++) sum += exp(logAt(i / steps) - top); // endpoints vanish
    return log(sum / steps) + top;
  };
  return integral(c + a, b + a) - integral(a, a);
}

/** End of {x : lnM - k ln x - (n-k) ln(1-x) < ln(1/alpha)} by bisection; lnM by predictive products. */
function refMixtureInterval(k: number, n: number, lnM: number, alpha: number): [number, number] {
  if (n === 0) return [0, 1];
  const f = (x: number) => lnM - (k > 0 ? k * log(x) : 0) - (n - k > 0 ? (n - k) * log(1 - x) : 0) - log(1 / alpha);
  const xhat = k / n;
  const solve = (inner: number, outer: number) => {
    for (let i = 0; i < 200; i++) {
      const mid = 0.5 * (inner + outer);
      if (f(mid) < 0) inner = mid;
      else outer = mid;
    }
    return 0.5 * (inner + outer);
  };
  return [k === 0 ? 0 : solve(xhat, 0), k === n ? 1 : solve(xhat, 1)];
}

/** Upper normal tail by Simpson integration of the density (independent of the module's erfc). */
function refNormalUpper(z: number): number {
  const steps = 20_000;
  const h = z / steps;
  let s = 0;
  for (let i = 0; i <= steps; i++) {
    const w = i === 0 || i === steps ? 1 : i % 2 === 1 ? 4 : 2;
    s += w * exp(-0.5 * (i * h) ** 2);
  }
  return 0.5 - (s * h) / 3 / sqrt(2 * PI);
}

// ---------------------------------------------------------------------------------------------
// Expected power, computed without simulation

/**
 * Recursive numerical integration (Armitage, McPherson & Rowe 1969; Jennison & Turnbull 2000,
 * ch. 19) of the probability that a Gaussian random walk Z_m = sum of m pair differences, with
 * drift theta and variance sigma2 per pair, leaves |Z_m| < m w_m at some m <= M, w_m the mSPRT
 * half-width at V = sigma2 / m. One look per pair, as the state is checked after every observation.
 * Grid nodes carry probability; the node straddling the boundary is absorbed in proportion.
 */
function gaussianCrossing(theta: number, sigma2: number, tau: number, alpha: number, M: number) {
  const sigma = sqrt(sigma2);
  const h = sigma / 4;
  const boundary = (m: number) => {
    const V = sigma2 / m;
    const t2 = tau * tau;
    return m * sqrt(((V * (V + t2)) / t2) * (2 * log(1 / alpha) + log((V + t2) / V)));
  };
  let bMax = 0;
  for (let m = 1; m <= M; m++) bMax = max(bMax, boundary(m));
  const N = ceil(bMax / h) + 2;
  const size = 2 * N + 1;
  const J = ceil((8 * sigma + abs(theta)) / h);
  const kernel = new Float64Array(2 * J + 1);
  for (let j = -J; j <= J; j++) {
    const z = (j * h - theta) / sigma;
    kernel[j + J] = ((h / sigma) * exp(-0.5 * z * z)) / sqrt(2 * PI);
  }
  let f = new Float64Array(size);
  let g = new Float64Array(size);
  f[N] = 1;
  let lo = N;
  let hi = N;
  let up = 0;
  let down = 0;
  for (let m = 1; m <= M; m++) {
    g.fill(0);
    const nlo = max(0, lo - J);
    const nhi = min(size - 1, hi + J);
    for (let i = lo; i <= hi; i++) {
      const fi = f[i]!;
      if (fi === 0) continue;
      const base = i - J;
      for (let j = max(0, -base); j < kernel.length && base + j < size; j++) g[base + j]! += fi * kernel[j]!;
    }
    const b = boundary(m);
    for (let i = nlo; i <= nhi; i++) {
      const x = (i - N) * h;
      const frac = min(1, max(0, (abs(x) + h / 2 - b) / h));
      if (frac > 0) {
        if (x > 0) up += g[i]! * frac;
        else down += g[i]! * frac;
        g[i]! *= 1 - frac;
      }
    }
    [f, g] = [g, f];
    lo = nlo;
    hi = nhi;
  }
  return { up, down };
}

/**
 * Exact crossing probability of the paired test by dynamic programming over discordant pairs:
 * Lambda depends only on (b, c), the discordant outcomes are iid Bernoulli(q) and their count
 * after N pairs is Binomial(N, d), independent of them. ln Lambda is carried along by predictive
 * probabilities, not by lgamma.
 */
function pairedCrossingExact(N: number, pb: number, pc: number, a: number, alpha: number) {
  const d = pb + pc;
  const q = pc / d;
  const threshold = log(1 / alpha);
  const K = min(N, ceil(N * d + 12 * sqrt(N * d * (1 - d))));
  let alive = new Float64Array([1]);
  let logLam = new Float64Array([0]);
  const upBy = new Float64Array(K + 1);
  const downBy = new Float64Array(K + 1);
  let up = 0;
  let down = 0;
  for (let k = 0; k < K; k++) {
    const nextAlive = new Float64Array(k + 2);
    const nextLog = new Float64Array(k + 2);
    for (let c = 0; c <= k + 1; c++) {
      // (k+1-c, c) reached by a control win from (k-c, c) or, for c = k+1, a candidate win from (0, k).
      nextLog[c] =
        c <= k ? logLam[c]! + predictiveLog(k - c, k, true, a) + LN2 : logLam[k]! + predictiveLog(k, k, true, a) + LN2;
      nextAlive[c] = (c <= k ? alive[c]! * (1 - q) : 0) + (c >= 1 ? alive[c - 1]! * q : 0);
    }
    for (let c = 0; c <= k + 1; c++) {
      if (nextLog[c]! >= threshold && nextAlive[c]! > 0) {
        if (2 * c > k + 1) up += nextAlive[c]!;
        else down += nextAlive[c]!;
        nextAlive[c] = 0;
      }
    }
    alive = nextAlive;
    logLam = nextLog;
    upBy[k + 1] = up;
    downBy[k + 1] = down;
  }
  let pmf = pow(1 - d, N);
  let pUp = 0;
  let pDown = 0;
  for (let k = 0; k <= K; k++) {
    pUp += pmf * upBy[k]!;
    pDown += pmf * downBy[k]!;
    pmf *= ((N - k) / (k + 1)) * (d / (1 - d));
  }
  return { up: pUp, down: pDown };
}

// ---------------------------------------------------------------------------------------------
// Simulations

function splitAA(accuracy: number, experiments: number, horizon: number, batch: number, seed: number) {
  const rng = xoshiro128ss(seed);
  let alwaysValid = 0;
  let naive = 0;
  for (let e = 0; e < experiments; e++) {
    let s = initialSplit();
    let avHit = false;
    let naiveHit = false;
    for (let t = 0; t < horizon;) {
      for (let i = 0; i < batch; i++, t++) {
        s = stepSplit(s, { arm: rng() < 0.5 ? 'control' : 'candidate', correct: rng() < accuracy }, PARAMS);
      }
      if (decide(s, PARAMS) !== 'CONTINUE') avHit = true;
      const enough = min(s.controlN, s.candidateN) >= PARAMS.minSamples;
      if (enough && naiveTwoProportionP(s.controlN, s.controlCorrect, s.candidateN, s.candidateCorrect) <= ALPHA) {
        naiveHit = true;
      }
    }
    if (avHit) alwaysValid++;
    if (naiveHit) naive++;
  }
  return { alwaysValid: alwaysValid / experiments, naive: naive / experiments };
}

/** Outcome probabilities of one shadowed request. */
interface PairProbs {
  bothRight: number;
  b: number;
  c: number;
}

function pairedSim(probs: PairProbs, experiments: number, horizon: number, batch: number, seed: number) {
  const rng = xoshiro128ss(seed);
  const decisions = { CANDIDATE_BETTER: 0, CONTROL_BETTER: 0, CONTINUE: 0 };
  let naive = 0;
  let flips = 0;
  for (let e = 0; e < experiments; e++) {
    let s = initialPaired();
    let first: string = 'CONTINUE';
    let naiveHit = false;
    for (let t = 0; t < horizon;) {
      for (let i = 0; i < batch; i++, t++) {
        const u = rng();
        const control = u < probs.bothRight + probs.b;
        const candidate =
          u < probs.bothRight || (u >= probs.bothRight + probs.b && u < probs.bothRight + probs.b + probs.c);
        s = stepPaired(s, { control, candidate }, PARAMS);
      }
      const dec = decide(s, PARAMS);
      if (first === 'CONTINUE') first = dec;
      else if (dec !== first) flips++;
      if (s.n >= PARAMS.minSamples && naivePairedP(s.b, s.c) <= ALPHA) naiveHit = true;
    }
    decisions[first as keyof typeof decisions]++;
    if (naiveHit) naive++;
  }
  return { decisions, naive: naive / experiments, flips };
}

function splitPowerSim(pControl: number, pCandidate: number, experiments: number, perArm: number, seed: number) {
  const rng = xoshiro128ss(seed);
  const decisions = { CANDIDATE_BETTER: 0, CONTROL_BETTER: 0, CONTINUE: 0 };
  let flips = 0;
  const batch = 100;
  for (let e = 0; e < experiments; e++) {
    let s = initialSplit();
    let first: string = 'CONTINUE';
    for (let t = 0; t < 2 * perArm;) {
      // Alternating arms: one pair of observations per look of the Gaussian walk.
      for (let i = 0; i < batch; i += 2, t += 2) {
        s = stepSplit(s, { arm: 'control', correct: rng() < pControl }, PARAMS);
        s = stepSplit(s, { arm: 'candidate', correct: rng() < pCandidate }, PARAMS);
      }
      const dec = decide(s, PARAMS);
      if (first === 'CONTINUE') first = dec;
      else if (dec !== first) flips++;
    }
    decisions[first as keyof typeof decisions]++;
  }
  return { decisions, flips };
}

const mcBound = (p: number, n: number) => 4 * sqrt((p * (1 - p)) / n);
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

// ---------------------------------------------------------------------------------------------

describe('lgamma', () => {
  // Reference values from mpmath (40 digits), rounded to doubles.
  const known: [number, number][] = [
    [0.5, 0.5723649429247001],
    [3, 0.6931471805599453],
    [10, 12.801827480081469],
    [100.5, 361.4355404677776],
    [1e-5, 11.512919692895826],
    [0.1, 2.252712651734206],
    [1 / 3, 0.9854206469277671],
    [0.25, 1.2880225246980774],
    [7.25, 7.0521854507385395],
    [30.7, 73.63438504676965],
    [1e6, 12815504.569147611],
    [1e10, 220258509288.81058],
    [-0.5, 1.2655121234846454],
    [-2.5, -0.056243716497674054],
  ];

  test('matches high-precision values to 1e-13 relative', () => {
    for (const [x, v] of known) expect(relErr(lgamma(x), v)).toBeLessThan(1e-13);
    expect(relErr(lgamma(0.5), log(sqrt(PI)))).toBeLessThan(1e-15);
  });

  test('is 0 at 1 and 2 (absolute 1e-15), and ln((n-1)!) at integers', () => {
    expect(abs(lgamma(1))).toBeLessThan(1e-15);
    expect(abs(lgamma(2))).toBeLessThan(1e-15);
    let fact = 1n;
    for (let n = 2; n <= 171; n++) {
      fact *= BigInt(n - 1); // (n-1)!, one rounding when converted
      const ref = log(Number(fact));
      expect(abs(lgamma(n) - ref)).toBeLessThanOrEqual(1e-13 * max(1, ref));
    }
  });

  test('Gamma(n + 1/2) = (2n)! sqrt(pi) / (4^n n!) and the recurrence lgamma(x + 1) = lgamma(x) + ln x', () => {
    for (let n = 1; n <= 80; n++) {
      let num = 1n;
      for (let i = 2n; i <= BigInt(2 * n); i++) num *= i;
      let den = 1n;
      for (let i = 2n; i <= BigInt(n); i++) den *= i;
      const ref = log(Number(num)) - n * log(4) - log(Number(den)) + 0.5 * log(PI);
      expect(abs(lgamma(n + 0.5) - ref)).toBeLessThanOrEqual(1e-13 * max(1, abs(ref)));
    }
    const rng = xoshiro128ss(7);
    for (let i = 0; i < 2000; i++) {
      const x = 0.01 + 60 * rng();
      expect(abs(lgamma(x + 1) - lgamma(x) - log(x))).toBeLessThan(1e-13 * max(1, lgamma(x + 1)));
    }
  });

  test('agrees with the Stirling series for large arguments', () => {
    for (const x of [50, 333.3, 1e3, 12345.678, 1e6, 1e9]) {
      const stirling =
        (x - 0.5) * log(x) -
        x +
        0.5 * log(2 * PI) +
        1 / (12 * x) -
        1 / (360 * x ** 3) +
        1 / (1260 * x ** 5) -
        1 / (1680 * x ** 7);
      expect(relErr(lgamma(x), stirling)).toBeLessThan(1e-14);
    }
  });
});

describe('closed forms to 1e-9', () => {
  test('msprtLambda equals the mixture integral of the likelihood ratio and the Bayes-factor form', () => {
    const cases: [number, number, number, number][] = [
      [0.03, 0.000234, 0.03, 0],
      [0.03, 0.000234, 0.03, 0.01],
      [-0.08, 0.0011, 0.05, 0],
      [0.012, 0.00004, 0.03, 0],
      [0.2, 0.002, 0.1, -0.05],
      [0, 0.01, 0.03, 0],
    ];
    for (const [D, V, tau, theta0] of cases) {
      const lam = msprtLambda(D, V, tau, theta0);
      expect(relErr(lam, integratedLambda(D, V, tau, theta0))).toBeLessThan(1e-9);
      expect(relErr(msprtLogLambda(D, V, tau, theta0), bayesFactorLogLambda(D, V, tau, theta0))).toBeLessThan(1e-12);
      expect(relErr(log(lam), bayesFactorLogLambda(D, V, tau, theta0))).toBeLessThan(1e-12);
    }
    // Johari et al.'s equal-n form: Lambda = sqrt(2s2/(2s2 + n tau^2)) exp(n^2 tau^2 D^2 / (4 s2 (2s2 + n tau^2))).
    const [n, s2, D, tau] = [1500, 0.12, 0.021, 0.03];
    const johari =
      sqrt((2 * s2) / (2 * s2 + n * tau * tau)) *
      exp((n * n * tau * tau * D * D) / (4 * s2 * (2 * s2 + n * tau * tau)));
    expect(relErr(msprtLambda(D, (2 * s2) / n, tau), johari)).toBeLessThan(1e-12);
  });

  test('SPLIT values for fixed counts match mpmath (quadrature, 40 digits)', () => {
    // control 850/1000, candidate 880/1000, tau 0.03
    const V = splitVariance(1000, 850, 1000, 880);
    expect(relErr(V, 0.00023416440571949912)).toBeLessThan(1e-12);
    expect(relErr(msprtLambda(0.03, V, 0.03), 2.0878709620401774)).toBeLessThan(1e-9);
    expect(relErr(msprtLambda(0.03, V, 0.03, 0.01), 0.8948899746419093)).toBeLessThan(1e-9);
    expect(relErr(msprtHalfWidth(V, 0.03, 0.05), 0.04726058573148099)).toBeLessThan(1e-9);
    // control 300/400, candidate 560/700, tau 0.05, alpha 0.01
    const V2 = splitVariance(400, 300, 700, 560);
    expect(relErr(V2, 0.0006996038446028736)).toBeLessThan(1e-12);
    expect(relErr(msprtLambda(0.05, V2, 0.05), 1.8887553585226515)).toBeLessThan(1e-9);
    expect(relErr(msprtHalfWidth(V2, 0.05, 0.01), 0.09802037682224192)).toBeLessThan(1e-9);
  });

  test('a SPLIT state equals the running min / intersection recomputed prefix by prefix', () => {
    const rng = xoshiro128ss(11);
    for (const tau of [DEFAULT_TAU, 0.08]) {
      const params = { alpha: 0.1, minSamples: 10, tau };
      let s = initialSplit();
      let nA = 0,
        xA = 0,
        nB = 0,
        xB = 0;
      let p = 1;
      let cs: [number, number] | null = null;
      const worst = { estimate: 0, pRel: 0, cs: 0 };
      for (let t = 0; t < 3000; t++) {
        const arm = rng() < 0.4 ? 'control' : 'candidate';
        const correct = rng() < (arm === 'control' ? 0.8 : 0.86);
        s = stepSplit(s, { arm, correct }, params);
        if (arm === 'control') [nA, xA] = [nA + 1, xA + (correct ? 1 : 0)];
        else [nB, xB] = [nB + 1, xB + (correct ? 1 : 0)];
        if (nA === 0 || nB === 0) continue;
        const D = xB / nB - xA / nA;
        const V = refVariance(nA, xA, nB, xB);
        p = min(p, exp(-bayesFactorLogLambda(D, V, tau)));
        cs = intersectRef(cs, refSplitInterval(D, V, tau, params.alpha));
        worst.estimate = max(worst.estimate, abs(s.estimate! - D));
        worst.pRel = max(worst.pRel, relErr(s.pValue, p));
        worst.cs = max(worst.cs, abs(s.csLow! - cs[0]), abs(s.csHigh! - cs[1]));
      }
      expect(worst.estimate).toBeLessThan(1e-14);
      expect(worst.pRel).toBeLessThan(1e-9);
      expect(worst.cs).toBeLessThan(1e-9);
      expect(s.pValue).toBeLessThan(0.1); // the 6-point gap is found, so the comparison covered small p too
    }
  });

  test('pairedLogLambda equals the beta-binomial mixture by predictive products, by quadrature and by mpmath', () => {
    // mpmath: ln(B(c+a, b+a) / B(a, a)) + (b+c) ln 2 at 40 digits
    const mp: [number, number, number, number][] = [
      [40, 70, 10, 2.5739697944159547],
      [3, 0, 10, 0.13353139262452263],
      [500, 560, 10, -0.33768373149297615],
      [0, 25, 10, 7.130292613957441],
      [12, 7, 0.5, -1.0461058937147547],
      [40, 70, 1, 1.9735664138786921],
    ];
    for (const [b, c, a, v] of mp) expect(abs(pairedLogLambda(b, c, a) - v)).toBeLessThan(1e-9 * max(1, abs(v)));
    for (const [b, c] of [
      [0, 0],
      [1, 0],
      [5, 17],
      [40, 70],
      [333, 290],
      [2000, 2100],
    ] as const) {
      const viaPredictive = predictiveLogMarginal(c, b + c, PAIRED_PRIOR_A) + (b + c) * LN2;
      expect(abs(pairedLogLambda(b, c) - viaPredictive)).toBeLessThan(1e-9 * max(1, abs(viaPredictive)));
    }
    for (const [b, c] of [
      [40, 70],
      [5, 17],
      [0, 12],
    ] as const) {
      const viaQuadrature = quadratureLogMarginal(c, b, PAIRED_PRIOR_A) + (b + c) * LN2;
      expect(abs(pairedLogLambda(b, c) - viaQuadrature)).toBeLessThan(1e-9);
    }
    expect(pairedLogLambda(0, 0)).toBe(0);
    expect(lnBeta(2, 3)).toBeCloseTo(log(1 / 12), 14);
  });

  test('mixtureInterval ends match mpmath bisection', () => {
    const mp: [number, number, number, number, number, number][] = [
      [70, 110, 10, 0.05, 0.4931434497598399, 0.7648677823107881],
      [0, 200, 0.5, 0.005, 0, 0.041707601519829114],
      [110, 1500, 0.5, 0.005, 0.04793822106664899, 0.1056569291604283],
      [7, 7, 10, 0.05, 0.3653906680072861, 1],
      [1, 1, 0.5, 0.005, 0.0025, 1],
      [5000, 55000, 0.5, 0.005, 0.08527323870708467, 0.0967627273128756],
    ];
    for (const [k, n, a, alpha, lo, hi] of mp) {
      const [l, h] = mixtureInterval(k, n, a, alpha);
      expect(abs(l - lo)).toBeLessThan(1e-12);
      expect(abs(h - hi)).toBeLessThan(1e-12);
      expect(l).toBeLessThanOrEqual(lo + 1e-13); // never narrower than exact, up to rounding of f
      expect(h).toBeGreaterThanOrEqual(hi - 1e-13);
    }
    expect(mixtureInterval(0, 0, 10, 0.05)).toEqual([0, 1]);
  });

  test('a PAIRED state equals the running min / intersection recomputed prefix by prefix', () => {
    const rng = xoshiro128ss(12);
    const params = { alpha: 0.1, minSamples: 10 };
    let s = initialPaired();
    let [b, c, n] = [0, 0, 0];
    let lnMq = 0; // Beta(a, a) marginal of the discordant outcomes
    let lnMd = 0; // Beta(1/2, 1/2) marginal of the discordance indicators
    let p = 1;
    let cs: [number, number] | null = null;
    const worst = { estimate: 0, pRel: 0, cs: 0 };
    for (let t = 0; t < 1500; t++) {
      const u = rng();
      const pair = u < 0.8 ? 'rr' : u < 0.84 ? 'b' : u < 0.91 ? 'c' : 'ww';
      s = stepPaired(s, { control: pair === 'rr' || pair === 'b', candidate: pair === 'rr' || pair === 'c' }, params);
      const discordant = pair === 'b' || pair === 'c';
      lnMd += predictiveLog(b + c, n, discordant, 0.5);
      if (discordant) lnMq += predictiveLog(c, b + c, pair === 'c', PAIRED_PRIOR_A);
      if (pair === 'b') b++;
      if (pair === 'c') c++;
      n++;
      p = min(p, exp(-(lnMq + (b + c) * LN2)));
      const [qLo, qHi] = refMixtureInterval(c, b + c, lnMq, params.alpha);
      const [dLo, dHi] = refMixtureInterval(b + c, n, lnMd, params.alpha / 10);
      // delta = d (2q - 1) over the box [dLo, dHi] x [qLo, qHi]: extremes at corners.
      const corners = [dLo * (2 * qLo - 1), dHi * (2 * qLo - 1), dLo * (2 * qHi - 1), dHi * (2 * qHi - 1)];
      cs = intersectRef(cs, [min(...corners), max(...corners)]);
      worst.estimate = max(worst.estimate, abs(s.estimate! - (c - b) / n));
      worst.pRel = max(worst.pRel, relErr(s.pValue, p));
      worst.cs = max(worst.cs, abs(s.csLow! - cs[0]), abs(s.csHigh! - cs[1]));
    }
    expect(worst.estimate).toBeLessThan(1e-15);
    expect(worst.pRel).toBeLessThan(1e-9);
    expect(worst.cs).toBeLessThan(1e-9);
    expect(s.pValue).toBeLessThan(0.1);
    expect(decide(s, params)).toBe('CANDIDATE_BETTER');
  });

  test('naive p-values match the normal tail by quadrature', () => {
    // McNemar z: (c - b) / sqrt(b + c)
    for (const [b, c] of [
      [0, 9],
      [2, 6],
      [1, 0],
      [30, 52],
    ] as const) {
      const z = abs(c - b) / sqrt(b + c);
      expect(relErr(naivePairedP(b, c), 2 * refNormalUpper(z))).toBeLessThan(1e-9);
    }
    expect(relErr(naivePairedP(0, 9), 0.0026997960632601866)).toBeLessThan(1e-12);
    expect(relErr(naivePairedP(1, 0), 0.31731050786291415)).toBeLessThan(1e-12);
    const pooled = (850 + 880) / 2000;
    const z = (0.88 - 0.85) / sqrt(pooled * (1 - pooled) * (2 / 1000));
    expect(relErr(naiveTwoProportionP(1000, 850, 1000, 880), 2 * refNormalUpper(z))).toBeLessThan(1e-9);
    expect(naiveTwoProportionP(0, 0, 10, 5)).toBe(1);
    expect(naiveTwoProportionP(10, 10, 10, 10)).toBe(1);
    expect(naivePairedP(0, 0)).toBe(1);
  });
});

describe('A/A: false-positive rate under continuous monitoring', () => {
  // 100 looks (one per batch); the always-valid state is in fact updated after every observation.
  test('SPLIT at 85 % accuracy, 1000 experiments, 5000 obs per arm', () => {
    const r = splitAA(0.85, 1000, 10_000, 100, 101);
    report.push(row('A/A SPLIT 0.85, mSPRT (always valid)', pct(r.alwaysValid)));
    report.push(row('A/A SPLIT 0.85, naive z-test, 100 peeks', pct(r.naive)));
    expect(r.alwaysValid).toBeLessThanOrEqual(ALPHA);
    expect(r.naive).toBeGreaterThan(0.15);
  });

  test('SPLIT at 97 % accuracy (few errors: the plug-in variance is least reliable)', () => {
    const r = splitAA(0.97, 1000, 10_000, 100, 102);
    report.push(row('A/A SPLIT 0.97, mSPRT (always valid)', pct(r.alwaysValid)));
    report.push(row('A/A SPLIT 0.97, naive z-test, 100 peeks', pct(r.naive)));
    expect(r.alwaysValid).toBeLessThanOrEqual(ALPHA);
    expect(r.naive).toBeGreaterThan(0.15);
  });

  test('SHADOW at 85 % both, 11 % discordant, 1000 experiments, 3000 pairs', () => {
    const r = pairedSim({ bothRight: 0.795, b: 0.055, c: 0.055 }, 1000, 3000, 30, 103);
    const fp = (r.decisions.CANDIDATE_BETTER + r.decisions.CONTROL_BETTER) / 1000;
    report.push(row('A/A SHADOW, beta-binomial mixture (always valid)', pct(fp)));
    report.push(row('A/A SHADOW, naive McNemar z, 100 peeks', pct(r.naive)));
    expect(fp).toBeLessThanOrEqual(ALPHA);
    expect(r.naive).toBeGreaterThan(0.15);
  });
});

describe('power at a 3-point accuracy gain', () => {
  test('SPLIT 0.85 vs 0.88, 3000 per arm: simulated power matches the Gaussian boundary-crossing integral', () => {
    const [pA, pB, perArm, experiments] = [0.85, 0.88, 3000, 1000];
    const expected = gaussianCrossing(pB - pA, pA * (1 - pA) + pB * (1 - pB), DEFAULT_TAU, ALPHA, perArm);
    const r = splitPowerSim(pA, pB, experiments, perArm, 201);
    const power = r.decisions.CANDIDATE_BETTER / experiments;
    report.push(row('power SPLIT 0.85 vs 0.88, 3000 per arm', `${pct(power)} (expected ${pct(expected.up)})`));
    expect(abs(power - expected.up)).toBeLessThanOrEqual(mcBound(expected.up, experiments) + 0.02);
    expect(r.decisions.CONTROL_BETTER / experiments).toBeLessThanOrEqual(max(expected.down, 0) + 0.005);
    expect(r.flips).toBe(0);
  });

  test('SHADOW 0.85 vs 0.88 (4 % / 7 % discordant), 1500 pairs: simulated power matches the exact crossing probability', () => {
    const [N, experiments] = [1500, 1000];
    const expected = pairedCrossingExact(N, 0.04, 0.07, PAIRED_PRIOR_A, ALPHA);
    const r = pairedSim({ bothRight: 0.81, b: 0.04, c: 0.07 }, experiments, N, 30, 202);
    const power = r.decisions.CANDIDATE_BETTER / experiments;
    report.push(row('power SHADOW 0.85 vs 0.88, 1500 pairs', `${pct(power)} (exact ${pct(expected.up)})`));
    expect(abs(power - expected.up)).toBeLessThanOrEqual(mcBound(expected.up, experiments) + 0.002);
    expect(r.decisions.CONTROL_BETTER / experiments).toBeLessThanOrEqual(expected.down + 0.005);
    expect(r.flips).toBe(0);
  });

  test('the exact paired DP and the Gaussian integral check themselves: H0 crossing <= alpha', () => {
    const aa = pairedCrossingExact(3000, 0.055, 0.055, PAIRED_PRIOR_A, ALPHA);
    expect(aa.up + aa.down).toBeLessThanOrEqual(ALPHA);
    expect(abs(aa.up - aa.down)).toBeLessThan(1e-12);
    const g = gaussianCrossing(0, 2 * 0.85 * 0.15, DEFAULT_TAU, ALPHA, 5000);
    expect(g.up + g.down).toBeLessThanOrEqual(ALPHA);
  });
});

describe('invariants and degenerate inputs', () => {
  const finiteOrNull = (s: SplitState | PairedState) =>
    Object.values(s).every((v) => v === null || (typeof v === 'number' && Number.isFinite(v)));

  test('p never increases, csLow never decreases, csHigh never increases, also when accuracy drifts', () => {
    const rng = xoshiro128ss(301);
    const violations: string[] = [];
    let collapsed = 0;
    for (let run = 0; run < 40; run++) {
      const params = { alpha: [0.01, 0.05, 0.2][run % 3]!, minSamples: 0, tau: [0.01, 0.03, 0.2][run % 3]! };
      let s = initialSplit();
      let q = initialPaired();
      // The candidate starts 10 points better and ends 10 points worse: the CS may collapse.
      for (let t = 0; t < 4000; t++) {
        const shift = t < 2000 ? 0.1 : -0.1;
        const arm = rng() < 0.5 ? 'control' : 'candidate';
        const nextS = stepSplit(s, { arm, correct: rng() < 0.8 + (arm === 'candidate' ? shift : 0) }, params);
        const u = rng();
        const nextQ = stepPaired(q, { control: u < 0.8, candidate: u < 0.8 + shift }, params);
        for (const [prev, next] of [
          [s, nextS],
          [q, nextQ],
        ] as const) {
          const bad =
            next.pValue > prev.pValue ||
            (prev.csLow !== null && !(next.csLow! >= prev.csLow)) ||
            (prev.csHigh !== null && !(next.csHigh! <= prev.csHigh)) ||
            (next.csLow !== null && !(next.csLow >= -1 && next.csLow <= next.csHigh! && next.csHigh! <= 1)) ||
            !finiteOrNull(next);
          if (bad) violations.push(JSON.stringify({ run, t, prev, next }));
        }
        s = nextS;
        q = nextQ;
      }
      expect(JSON.parse(JSON.stringify(s))).toEqual(s);
      expect(JSON.parse(JSON.stringify(q))).toEqual(q);
      if (s.csLow === s.csHigh) collapsed++;
      if (q.csLow === q.csHigh) collapsed++;
    }
    expect(violations).toEqual([]);
    expect(collapsed).toBeGreaterThan(0); // the disjoint-intersection path was exercised
  });

  test('zero observations and one empty arm: no estimate, no CS, p = 1, JSON round-trips', () => {
    for (const s0 of [initialSplit(), initialPaired()]) {
      expect(s0.pValue).toBe(1);
      expect(s0.estimate).toBeNull();
      expect(JSON.parse(JSON.stringify(s0))).toEqual(s0);
      expect(decide(s0, { alpha: 0.05, minSamples: 0 })).toBe('CONTINUE');
    }
    let s = initialSplit();
    for (let i = 0; i < 50; i++) s = stepSplit(s, { arm: 'control', correct: i % 2 === 0 }, PARAMS);
    expect(s).toEqual({ ...initialSplit(), controlN: 50, controlCorrect: 25 });
  });

  test('all correct / all wrong in both arms: finite, p = 1, CS around 0', () => {
    for (const correct of [true, false]) {
      let s = initialSplit();
      let q = initialPaired();
      for (let i = 0; i < 5000; i++) {
        s = stepSplit(s, { arm: i % 2 ? 'candidate' : 'control', correct }, PARAMS);
        q = stepPaired(q, { control: correct, candidate: correct }, PARAMS);
        expect(finiteOrNull(s) && finiteOrNull(q)).toBe(true);
      }
      for (const st of [s, q]) {
        expect(st.pValue).toBe(1);
        expect(st.estimate).toBe(0);
        expect(st.csLow!).toBeLessThan(0);
        expect(st.csHigh!).toBeGreaterThan(0);
        expect(decide(st, PARAMS)).toBe('CONTINUE');
        expect(JSON.parse(JSON.stringify(st))).toEqual(st);
      }
      // 5000 concordant pairs bound the discordance rate, hence the difference, near 0.
      expect(q.csHigh!).toBeLessThan(0.0025);
    }
  });

  test('overwhelming evidence: p underflows to 0, never NaN; decide waits for minSamples and points the right way', () => {
    let s = initialSplit();
    let q = initialPaired();
    const params = { alpha: 0.05, minSamples: 200 };
    for (let i = 0; i < 100_000; i++) {
      s = stepSplit(s, { arm: i % 2 ? 'candidate' : 'control', correct: i % 2 === 0 }, params);
      q = stepPaired(q, { control: false, candidate: true }, params);
      if (i === 150) {
        expect(s.pValue).toBeLessThan(1e-6);
        expect(decide(s, params)).toBe('CONTINUE'); // 75 per arm < minSamples
        expect(decide(q, params)).toBe('CONTINUE');
      }
    }
    expect(finiteOrNull(s) && finiteOrNull(q)).toBe(true);
    expect(s.pValue).toBe(0);
    expect(q.pValue).toBe(0);
    expect(decide(s, params)).toBe('CONTROL_BETTER');
    expect(decide(q, params)).toBe('CANDIDATE_BETTER');
    expect(s.csHigh!).toBeLessThan(-0.99);
    expect(q.csLow!).toBeGreaterThan(0.99);
  });

  test('decide at a different alpha than the steps falls back on the sign of the estimate', () => {
    const s: SplitState = {
      ...initialSplit(),
      controlN: 500,
      controlCorrect: 400,
      candidateN: 500,
      candidateCorrect: 430,
    };
    const st = { ...s, pValue: 0.03, csLow: -0.01, csHigh: 0.12, estimate: 0.06 };
    expect(decide(st, { alpha: 0.05, minSamples: 100 })).toBe('CANDIDATE_BETTER');
    expect(decide(st, { alpha: 0.01, minSamples: 100 })).toBe('CONTINUE');
    expect(decide({ ...st, estimate: -0.06 }, { alpha: 0.05, minSamples: 100 })).toBe('CONTROL_BETTER');
  });

  test('invalid parameters throw', () => {
    const obs = { arm: 'control' as const, correct: true };
    expect(() => stepSplit(initialSplit(), obs, { alpha: 0, minSamples: 0 })).toThrow(RangeError);
    expect(() => stepSplit(initialSplit(), obs, { alpha: 1, minSamples: 0 })).toThrow(RangeError);
    expect(() => stepSplit(initialSplit(), obs, { alpha: 0.05, minSamples: 0, tau: 0 })).toThrow(RangeError);
    expect(() =>
      stepPaired(initialPaired(), { control: true, candidate: false }, { alpha: NaN, minSamples: 0 }),
    ).toThrow(RangeError);
  });

  test('one step takes microseconds', () => {
    let s = initialSplit();
    let q = initialPaired();
    const rng = xoshiro128ss(5);
    const t0 = performance.now();
    for (let i = 0; i < 100_000; i++)
      s = stepSplit(s, { arm: rng() < 0.5 ? 'control' : 'candidate', correct: rng() < 0.85 }, PARAMS);
    const t1 = performance.now();
    for (let i = 0; i < 100_000; i++) q = stepPaired(q, { control: rng() < 0.85, candidate: rng() < 0.86 }, PARAMS);
    const t2 = performance.now();
    report.push(
      row('cost per step, SPLIT / SHADOW', `${((t1 - t0) * 10).toFixed(0)} ns / ${((t2 - t1) * 10).toFixed(0)} ns`),
    );
    expect((t1 - t0) / 100_000).toBeLessThan(0.02); // ms, generous for loaded CI machines
    expect((t2 - t1) / 100_000).toBeLessThan(0.05);
  });
});
