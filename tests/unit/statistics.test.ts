import { pairedBootstrap } from '../../src/evaluation/bootstrap';
import { logBinomHalfPmf } from '../../src/evaluation/mcnemar';
import {
  calibration,
  DEFAULT_BOOTSTRAP_RESAMPLES,
  DEFAULT_BOOTSTRAP_SEED,
  type ItemOutcome,
  mcnemarExact,
  mulberry32,
  pairedComparison,
  percentile,
  StatisticsInputError,
  versionMetrics,
} from '../../src/evaluation/statistics';

// ---------------------------------------------------------------------------------------------
// Helpers

/** An item whose top-1 `predicted` gets probability `conf`, the rest spread evenly. */
function item(label: number, predicted: number, k: number, conf = 0.9, latencyMs = 1): ItemOutcome {
  const rest = k > 1 ? (1 - conf) / (k - 1) : 0;
  const probabilities = Array.from({ length: k }, (_, j) => (j === predicted ? (k > 1 ? conf : 1) : rest));
  return { label, predicted, probabilities, latencyMs };
}

const names = (k: number) => Array.from({ length: k }, (_, i) => `class${i}`);

/** Exact McNemar p and mid-p from BigInt binomial sums, converted to the nearest-ish double. */
function bruteForceMcnemar(b: number, c: number): { p: number; midP: number } {
  const n = b + c;
  if (n === 0) return { p: 1, midP: 1 };
  const k = Math.min(b, c);
  let coef = 1n; // C(n, i)
  let cdfNum = 0n;
  for (let i = 0; i <= k; i++) {
    if (i > 0) coef = (coef * BigInt(n - i + 1)) / BigInt(i);
    cdfNum += coef;
  }
  const den = 1n << BigInt(n);
  const p = 2n * cdfNum >= den ? 1 : ratio(2n * cdfNum, den);
  const midP = b === c ? 1 - ratio(coef, den) / 2 : ratio(2n * cdfNum - coef, den);
  return { p, midP };
}

/** num / den for BigInts as a double (64 significant bits of quotient, then exact scaling). */
function ratio(num: bigint, den: bigint): number {
  if (num === 0n) return 0;
  const bits = (x: bigint) => x.toString(2).length;
  let shift = 64 - (bits(num) - bits(den));
  const q = shift >= 0 ? (num << BigInt(shift)) / den : num / (den << BigInt(-shift));
  let x = Number(q);
  while (shift > 1000) {
    x *= 2 ** -1000;
    shift -= 1000;
  }
  return x * 2 ** -shift;
}

const relErr = (a: number, b: number) => (a === b ? 0 : Math.abs(a - b) / Math.abs(b));

/** n items over k classes where baseline/candidate right/wrong follow the given counts. */
function pairedItems(counts: { both: number; bOnly: number; cOnly: number; neither: number }, k = 4) {
  const baseline: ItemOutcome[] = [];
  const candidate: ItemOutcome[] = [];
  let i = 0;
  const push = (bRight: boolean, cRight: boolean) => {
    const y = i++ % k;
    const wrong = (y + 1) % k;
    baseline.push(item(y, bRight ? y : wrong, k));
    candidate.push(item(y, cRight ? y : wrong, k));
  };
  for (let j = 0; j < counts.both; j++) push(true, true);
  for (let j = 0; j < counts.bOnly; j++) push(true, false);
  for (let j = 0; j < counts.cOnly; j++) push(false, true);
  for (let j = 0; j < counts.neither; j++) push(false, false);
  return { baseline, candidate, labels: names(k) };
}

/** Synthetic paired run: `accB` / `accC` chance of a right answer, otherwise a random class. */
function syntheticRun(n: number, k: number, accB: number, accC: number, seed = 1) {
  const rand = mulberry32(seed);
  const pick = (y: number, acc: number) => (rand() < acc ? y : Math.floor(rand() * k));
  const baseline: ItemOutcome[] = [];
  const candidate: ItemOutcome[] = [];
  for (let i = 0; i < n; i++) {
    const y = Math.floor(rand() * k);
    baseline.push(item(y, pick(y, accB), k, 0.5 + 0.5 * rand(), 5 + 10 * rand()));
    candidate.push(item(y, pick(y, accC), k, 0.5 + 0.5 * rand(), 5 + 10 * rand()));
  }
  return { baseline, candidate, labels: names(k) };
}

/** sklearn-style macro-F1 written the slow, obvious way (for brute-force cross-checks). */
function naiveMacroF1(yTrue: number[], yPred: number[]): number {
  const present = [...new Set([...yTrue, ...yPred])];
  let sum = 0;
  for (const c of present) {
    const idx = yTrue.map((_, i) => i);
    const tp = idx.filter((i) => yTrue[i] === c && yPred[i] === c).length;
    const fp = idx.filter((i) => yTrue[i] !== c && yPred[i] === c).length;
    const fn = idx.filter((i) => yTrue[i] === c && yPred[i] !== c).length;
    const precision = tp + fp > 0 ? tp / (tp + fp) : 0; // sklearn zero_division=0
    const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
    sum += precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  }
  return sum / present.length;
}

// ---------------------------------------------------------------------------------------------
// McNemar's exact test

describe('mcnemarExact', () => {
  it('matches the published worked examples', () => {
    // Armitage & Berry, Statistical Methods in Medical Research (3rd ed., 1994), p. 127, as worked
    // in the StatsDirect manual ("Exact matched pairs", http://www.statsdirect.com/help/chi_square_tests/mat.htm):
    // two media for culturing M. tuberculosis on 50 sputum specimens, table [[20, 12], [2, 16]],
    // discordant b = 12, c = 2: "P (two sided) = 0.0129".
    // By hand: 2 * (C(14,0) + C(14,1) + C(14,2)) / 2^14 = 2 * (1 + 14 + 91) / 16384 = 212 / 16384.
    const ab = mcnemarExact(12, 2);
    expect(ab.p).toBeCloseTo(0.0129, 4);
    expect(relErr(ab.p, 212 / 16384)).toBeLessThan(1e-13);

    // Fagerland, Lydersen & Laake, "The McNemar test for binary matched-pairs data: mid-p and
    // asymptotic are better than exact conditional", BMC Med Res Methodol 2013;13:91, Table 1
    // (Bentur et al.: airway hyper-responsiveness before/after stem cell transplantation in 21
    // children, [[1, 1], [7, 12]]): discordant 1 and 7. Their supplementary "How to calculate the
    // McNemar mid-p test" gives exact p = 2 * binomcdf(1, 8, 0.5) and
    // mid-p = 2 * binomcdf(1, 8, 0.5) - binompdf(1, 8, 0.5). By hand: binomcdf = (1 + 8) / 256,
    // binompdf = 8 / 256, so exact p = 18/256 = 0.0703 and mid-p = 10/256 = 0.0391.
    const f = mcnemarExact(1, 7);
    expect(relErr(f.p, 18 / 256)).toBeLessThan(1e-13);
    expect(relErr(f.midP, 10 / 256)).toBeLessThan(1e-13);
    expect(mcnemarExact(7, 1)).toEqual(f);
  });

  it('matches the tables of statsmodels and Wikipedia against exact rational arithmetic', () => {
    // statsmodels/stats/tests/test_contingency_tables.py::test_mcnemar checks
    // mcnemar([[23, 15], [19, 31]], exact=True).pvalue against R (binom.test); the R figure lives in
    // results/contingency_table_r_results.csv, which we could not consult, so the reference here is
    // the exact rational 2 * sum_{i<=15} C(34, i) / 2^34 = 0.60759136127308...
    const sm = mcnemarExact(15, 19);
    expect(sm.p).toBeCloseTo(0.6075913612730801, 13);
    expect(relErr(sm.p, bruteForceMcnemar(15, 19).p)).toBeLessThan(1e-13);

    // Wikipedia, "McNemar's test", first example (Hodgkin's disease / tonsillectomy, table
    // [[101, 121], [59, 33]]): the published figure is the chi-squared statistic 21.35; the exact
    // binomial p it implies is 4.4344e-6 (not 4.39e-6), from exact rationals.
    expect((121 - 59) ** 2 / (121 + 59)).toBeCloseTo(21.356, 3); // 3844 / 180, "21.35" truncated
    const w = mcnemarExact(121, 59);
    expect(w.p).toBeCloseTo(4.434449263755176e-6, 18);
    expect(relErr(w.p, bruteForceMcnemar(121, 59).p)).toBeLessThan(1e-12);
    expect(relErr(w.midP, bruteForceMcnemar(121, 59).midP)).toBeLessThan(1e-12);
  });

  it('equals the brute-force BigInt computation for b + c = 0, 1, 25 and 2000', () => {
    const cases: [number, number][] = [
      [0, 0],
      [1, 0],
      [0, 1],
    ];
    for (let b = 0; b <= 25; b++) cases.push([b, 25 - b]);
    cases.push([1000, 1000], [999, 1001], [950, 1050], [900, 1100], [700, 1300], [0, 2000], [2000, 0]);
    for (const [b, c] of cases) {
      const got = mcnemarExact(b, c);
      const want = bruteForceMcnemar(b, c);
      expect([b, c, relErr(got.p, want.p) < 1e-12]).toEqual([b, c, true]);
      expect([b, c, relErr(got.midP, want.midP) < 1e-12]).toEqual([b, c, true]);
    }
  });

  it('handles b + c = 0, b = c, and the p = 1 / mid-p conventions', () => {
    expect(mcnemarExact(0, 0)).toEqual({ p: 1, midP: 1 });
    // one discordant pair: p = 2 * 1/2 = 1; mid-p = 2 * 1/2 - 1/2 = 1/2
    expect(mcnemarExact(1, 0)).toEqual({ p: 1, midP: 0.5 });
    // b = c: exact p = 1; mid-p = 1 - P(X = k) / 2 (Fagerland et al. 2013, supplementary):
    // b = c = 2: P(X = 2) = C(4,2)/16 = 6/16, mid-p = 1 - 3/16 = 0.8125
    expect(mcnemarExact(2, 2).p).toBe(1);
    expect(mcnemarExact(2, 2).midP).toBeCloseTo(0.8125, 14);
    // |b - c| = 1: P(X <= k) = 1/2 exactly, so p = 1 exactly
    expect(mcnemarExact(12, 13).p).toBe(1);
  });

  it('stays finite and accurate for b + c up to 100,000', () => {
    // No timing here: the cdf loop runs at most min(b, c) + 1 cheap steps (see mcnemar.ts).
    const r = mcnemarExact(49_000, 51_000);
    const eq = mcnemarExact(50_000, 50_000);
    const tiny = mcnemarExact(0, 100_000);
    // Reference: scipy.stats.binomtest(49000, 100000).pvalue = 2.5887160383468943e-10 (scipy 1.17.1)
    expect(relErr(r.p, 2.5887160383468943e-10)).toBeLessThan(1e-11);
    expect(eq.p).toBe(1);
    // mid-p at b = c: 1 - P(X = 50000)/2 with P(X = 50000) = exp(logBinomHalfPmf) ~ 0.00252
    expect(eq.midP).toBeCloseTo(1 - Math.exp(logBinomHalfPmf(50_000, 100_000)) / 2, 14);
    // central term C(2m, m) / 4^m = (1 - 1/(8m) + 1/(128 m^2) + O(m^-3)) / sqrt(pi m), m = 50000
    const m = 50_000;
    expect(
      relErr(Math.exp(logBinomHalfPmf(m, 2 * m)), (1 - 1 / (8 * m) + 1 / (128 * m * m)) / Math.sqrt(Math.PI * m)),
    ).toBeLessThan(1e-12);
    expect(tiny).toEqual({ p: 0, midP: 0 }); // 2^-99999 underflows to 0
  });

  it('rejects counts that are not non-negative integers', () => {
    expect(() => mcnemarExact(-1, 3)).toThrow(RangeError);
    expect(() => mcnemarExact(1.5, 3)).toThrow(RangeError);
    expect(() => mcnemarExact(Number.NaN, 3)).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------
// Percentile

describe('percentile (linear interpolation, numpy default)', () => {
  it('matches the published examples', () => {
    // numpy.percentile docs: a = [[10, 7, 4], [3, 2, 1]]; np.percentile(a, 50) -> 3.5
    expect(percentile([10, 7, 4, 3, 2, 1], 50)).toBe(3.5);
    // Wikipedia "Percentile", linear interpolation between closest ranks, C = 1 variant (numpy's):
    // {15, 20, 35, 40, 50}, 40th percentile: x = 0.4 * (5 - 1) = 1.6 -> 20 + 0.6 * (35 - 20) = 29
    expect(percentile([15, 20, 35, 40, 50], 40)).toBeCloseTo(29, 12);
  });

  it('handles the ends, one value, and leaves its input alone', () => {
    const v = [3, 1, 2];
    expect(percentile(v, 0)).toBe(1);
    expect(percentile(v, 100)).toBe(3);
    expect(percentile(v, 25)).toBe(1.5);
    expect(v).toEqual([3, 1, 2]);
    expect(percentile([5], 99)).toBe(5);
    // 99th of 1..100: h = 99 * 0.99 = 98.01 -> 99 + 0.01 * 1 = 99.01
    expect(
      percentile(
        Array.from({ length: 100 }, (_, i) => i + 1),
        99,
      ),
    ).toBeCloseTo(99.01, 12);
  });

  it('rejects an empty array, non-finite values, and q outside [0, 100]', () => {
    expect(() => percentile([], 50)).toThrow(RangeError);
    expect(() => percentile([1, Number.NaN], 50)).toThrow(RangeError);
    expect(() => percentile([1, 2], 101)).toThrow(RangeError);
    expect(() => percentile([1, 2], -1)).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------
// Calibration

describe('calibration / ECE', () => {
  it('reproduces the published step-by-step ECE example (3 bins)', () => {
    // M. Pavlovic, "Expected Calibration Error (ECE): a step-by-step visual explanation"
    // (Towards Data Science, 2023): 9 samples, M = 3 bins, published ECE 0.23778 (rounded).
    // The article bins P(class 1) and scores correctness as (p > 0.5) == label; we feed its
    // (confidence, correct) pairs straight to the binning routine to check the arithmetic:
    //   bin (0, 1/3]:   0.22 ok, 0.15 wrong           acc 1/2, conf 0.185  -> |0.5 - 0.185| * 2/9 = 0.07
    //   bin (1/3, 2/3]: 0.64 ok, 0.42 ok, 0.51 wrong, 0.37 ok
    //                                                 acc 3/4, conf 0.485  -> 0.265 * 4/9 = 0.117778
    //   bin (2/3, 1]:   0.92 wrong, 0.70 ok, 0.83 ok  acc 2/3, conf 0.8167 -> 0.15 * 3/9 = 0.05
    //   ECE = 0.07 + 0.117778 + 0.05 = 0.237778
    const conf = [0.22, 0.64, 0.92, 0.42, 0.51, 0.15, 0.7, 0.37, 0.83];
    const labels = [0, 1, 0, 0, 0, 1, 1, 0, 1];
    const correct = conf.map((p, i) => (p > 0.5 ? 1 : 0) === labels[i]);
    const r = calibration(conf, correct, 3);
    expect(r.ece).toBeCloseTo(0.23778, 5);
    expect(r.bins.map((b) => b.count)).toEqual([2, 4, 3]);
  });

  it('puts edge values in (lower, upper], 0 in the first bin and 1 in the last', () => {
    const r = calibration([0, 1 / 15, 0.4, 0.6, 1], [true, true, true, true, true], 15);
    expect(r.bins[0]!.count).toBe(2); // 0 and exactly 1/15: [0, 1/15]
    expect(r.bins[5]!.count).toBe(1); // 0.4 = 6/15: (5/15, 6/15]
    expect(r.bins[8]!.count).toBe(1); // 0.6 = 9/15: (8/15, 9/15]
    expect(r.bins[14]!.count).toBe(1); // 1: (14/15, 1]
    expect(r.bins[14]).toEqual({ lower: 14 / 15, upper: 1, count: 1, accuracy: 1, confidence: 1 });
    expect(r.bins[3]).toEqual({ lower: 3 / 15, upper: 4 / 15, count: 0, accuracy: null, confidence: null });
  });
});

// ---------------------------------------------------------------------------------------------
// Per-version metrics

describe('versionMetrics', () => {
  // Hand-worked example, 5 items, 3 classes (labels cat, dog, bird), 15 ECE bins of width 1/15:
  //   item  label  predicted  probabilities           top-1 conf  correct  ECE bin
  //   A     0      0          [0.95, 0.03, 0.02]      0.95        yes      14 (14/15, 1]
  //   B     1      0          [0.97, 0.02, 0.01]      0.97        no       14
  //   C     2      2          [0.18, 0.20, 0.62]      0.62        yes       9 (9/15, 10/15]
  //   D     0      1          [0.25, 0.60, 0.15]      0.60        no        8 (8/15, 9/15]: 0.6 = 9/15
  //   E     1      1          [0.30, 0.40, 0.30]      0.40        yes       5 (5/15, 6/15]: 0.4 = 6/15
  // accuracy = 3/5 = 0.6; mean confidence = (0.95 + 0.97 + 0.62 + 0.60 + 0.40) / 5 = 3.54 / 5 = 0.708
  // ECE = |0.5 - 0.96| * 2/5 + |1 - 0.62| * 1/5 + |0 - 0.60| * 1/5 + |1 - 0.40| * 1/5
  //     = 0.184 + 0.076 + 0.12 + 0.12 = 0.5
  // NLL = -(ln 0.95 + ln 0.02 + ln 0.62 + ln 0.25 + ln 0.40) / 5 = -ln(0.001178) / 5 = 1.348787
  // Brier: A (0.95-1)^2 + 0.03^2 + 0.02^2 = 0.0038; B 0.97^2 + (0.02-1)^2 + 0.01^2 = 1.9014;
  //        C 0.18^2 + 0.2^2 + (0.62-1)^2 = 0.2168; D (0.25-1)^2 + 0.6^2 + 0.15^2 = 0.945;
  //        E 0.3^2 + (0.4-1)^2 + 0.3^2 = 0.54; mean = 3.607 / 5 = 0.7214
  // confusion (rows true): [[1, 1, 0], [1, 1, 0], [0, 0, 1]]
  // cat: TP 1, predicted 2, support 2 -> P 0.5, R 0.5, F1 0.5; dog: same; bird: 1, 1, 1
  // macro-F1 = (0.5 + 0.5 + 1) / 3 = 0.666667
  const handItems: ItemOutcome[] = [
    { label: 0, predicted: 0, probabilities: [0.95, 0.03, 0.02], latencyMs: 10 },
    { label: 1, predicted: 0, probabilities: [0.97, 0.02, 0.01], latencyMs: 20 },
    { label: 2, predicted: 2, probabilities: [0.18, 0.2, 0.62], latencyMs: 30 },
    { label: 0, predicted: 1, probabilities: [0.25, 0.6, 0.15], latencyMs: 40 },
    { label: 1, predicted: 1, probabilities: [0.3, 0.4, 0.3], latencyMs: 100 },
  ];

  it('computes the hand-worked example', () => {
    const m = versionMetrics(handItems, ['cat', 'dog', 'bird'], { wallMs: 250 });
    expect(m.n).toBe(5);
    expect(m.accuracy).toBeCloseTo(0.6, 15);
    expect(m.top5Accuracy).toBeNull(); // 3 classes < 5
    expect(m.meanConfidence).toBeCloseTo(0.708, 14);
    expect(m.ece).toBeCloseTo(0.5, 14);
    expect(m.reliability).toHaveLength(15);
    expect(m.reliability.map((b) => b.count)).toEqual([0, 0, 0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 0, 0, 2]);
    expect(m.reliability[14]!.accuracy).toBe(0.5);
    expect(m.reliability[14]!.confidence).toBeCloseTo(0.96, 14);
    expect(m.nll).toBeCloseTo(1.348787, 6);
    expect(m.nll).toBeCloseTo(-Math.log(0.95 * 0.02 * 0.62 * 0.25 * 0.4) / 5, 12);
    expect(m.brier).toBeCloseTo(0.7214, 12);
    expect(m.confusionMatrix).toEqual([
      [1, 1, 0],
      [1, 1, 0],
      [0, 0, 1],
    ]);
    expect(m.perClass).toEqual([
      { label: 'cat', precision: 0.5, recall: 0.5, f1: 0.5, support: 2 },
      { label: 'dog', precision: 0.5, recall: 0.5, f1: 0.5, support: 2 },
      { label: 'bird', precision: 1, recall: 1, f1: 1, support: 1 },
    ]);
    expect(m.macroF1).toBeCloseTo(2 / 3, 14);
    // latencies 10, 20, 30, 40, 100: p50 = 30; p95: h = 3.8 -> 40 + 0.8 * 60 = 88;
    // p99: h = 3.96 -> 40 + 0.96 * 60 = 97.6
    expect(m.latencyMsP50).toBe(30);
    expect(m.latencyMsP95).toBeCloseTo(88, 12);
    expect(m.latencyMsP99).toBeCloseTo(97.6, 12);
    expect(m.throughput).toBeCloseTo(20, 12); // 5 items / 0.25 s
    expect(versionMetrics(handItems, ['cat', 'dog', 'bird']).throughput).toBeNull();
  });

  it("matches sklearn's documented precision/recall/F1 example", () => {
    // scikit-learn docs, sklearn.metrics.f1_score / precision_score / recall_score examples:
    // y_true = [0, 1, 2, 0, 1, 2], y_pred = [0, 2, 1, 0, 0, 1]
    // f1_score(average='macro') = 0.26..., f1_score(average=None) = [0.8, 0, 0]
    // By hand: class 0 TP 2 (items 0, 3), predicted 3 (0, 3, 4), support 2 -> P 2/3, R 1,
    //          F1 = 2 * 2 / (2 + 3) = 0.8; classes 1 and 2: TP 0 -> P 0, R 0, F1 0.
    //          macro-F1 = 0.8 / 3 = 0.2667; macro-precision (2/3)/3 = 0.222; macro-recall 1/3.
    const yTrue = [0, 1, 2, 0, 1, 2];
    const yPred = [0, 2, 1, 0, 0, 1];
    const m = versionMetrics(
      yTrue.map((y, i) => item(y, yPred[i]!, 3)),
      names(3),
    );
    expect(m.macroF1).toBeCloseTo(0.8 / 3, 14);
    expect(m.perClass.map((c) => c.f1)).toEqual([0.8, 0, 0]);
    expect(m.perClass.map((c) => c.precision)).toEqual([2 / 3, 0, 0]);
    expect(m.perClass.map((c) => c.recall)).toEqual([1, 0, 0]);
    expect(m.perClass.map((c) => c.support)).toEqual([2, 2, 2]);
    expect(m.accuracy).toBeCloseTo(1 / 3, 15);
  });

  it('handles a class absent from the dataset, and one only predicted (macro-F1 over labels ∪ predictions)', () => {
    // 4 classes; y_true = [0, 0, 1, 1], y_pred = [0, 3, 1, 1]. Class 2: neither a label nor a
    // prediction; class 3: predicted once, never a label. sklearn's f1_score(average='macro')
    // averages over {0, 1, 3}: class 0 F1 = 2*1/(2+1) = 2/3, class 1 = 1, class 3 = 0
    // -> (2/3 + 1 + 0) / 3 = 0.5556.
    const yTrue = [0, 0, 1, 1];
    const yPred = [0, 3, 1, 1];
    const m = versionMetrics(
      yTrue.map((y, i) => item(y, yPred[i]!, 4)),
      names(4),
    );
    expect(m.perClass[2]).toEqual({ label: 'class2', precision: null, recall: null, f1: null, support: 0 });
    expect(m.perClass[3]).toEqual({ label: 'class3', precision: 0, recall: null, f1: 0, support: 0 });
    expect(m.confusionMatrix[2]).toEqual([0, 0, 0, 0]);
    expect(m.confusionMatrix.map((row) => row[2])).toEqual([0, 0, 0, 0]);
    expect(m.confusionMatrix[0]).toEqual([1, 0, 0, 1]);
    expect(m.macroF1).toBeCloseTo((2 / 3 + 1 + 0) / 3, 14);
    // a class never predicted but present: precision null, recall 0, f1 0
    const m2 = versionMetrics([item(0, 1, 3), item(1, 1, 3)], names(3));
    expect(m2.perClass[0]).toEqual({ label: 'class0', precision: null, recall: 0, f1: 0, support: 1 });
    expect(m2.macroF1).toBeCloseTo((0 + 2 / 3) / 2, 14);
  });

  it('agrees with a brute-force sklearn-style macro-F1 on random small cases', () => {
    const rand = mulberry32(99);
    for (let t = 0; t < 200; t++) {
      const k = 2 + Math.floor(rand() * 6);
      const n = 1 + Math.floor(rand() * 25);
      const yTrue = Array.from({ length: n }, () => Math.floor(rand() * k));
      const yPred = yTrue.map((y) => (rand() < 0.5 ? y : Math.floor(rand() * k)));
      const m = versionMetrics(
        yTrue.map((y, i) => item(y, yPred[i]!, k)),
        names(k),
      );
      expect(m.macroF1).toBeCloseTo(naiveMacroF1(yTrue, yPred), 12);
      expect(m.accuracy).toBeCloseTo(yTrue.filter((y, i) => y === yPred[i]).length / n, 14);
      expect(m.confusionMatrix.flat().reduce((s, v) => s + v, 0)).toBe(n);
    }
  });

  it('all correct', () => {
    const items = [0, 1, 2, 3, 4, 5, 0, 1].map((y) => item(y, y, 6, 1));
    const m = versionMetrics(items, names(6));
    expect(m.accuracy).toBe(1);
    expect(m.top5Accuracy).toBe(1);
    expect(m.macroF1).toBe(1);
    expect(m.ece).toBe(0); // every item conf 1, correct, in the last bin
    expect(m.nll).toBeCloseTo(0, 15);
    expect(m.brier).toBe(0);
    expect(m.perClass.every((c) => c.precision === 1 && c.recall === 1 && c.f1 === 1)).toBe(true);
  });

  it('one item', () => {
    const m = versionMetrics([item(1, 0, 2, 0.7, 12)], ['a', 'b'], { wallMs: 50 });
    expect(m.n).toBe(1);
    expect(m.accuracy).toBe(0);
    expect(m.macroF1).toBe(0);
    expect(m.latencyMsP50).toBe(12);
    expect(m.latencyMsP99).toBe(12);
    expect(m.ece).toBeCloseTo(0.7, 14);
    expect(m.nll).toBeCloseTo(-Math.log(0.3), 14);
    expect(m.brier).toBeCloseTo(0.7 ** 2 + 0.7 ** 2, 14);
    expect(m.throughput).toBeCloseTo(20, 12);
  });

  it('top-5 accuracy ranks by probability, ties by lower class index', () => {
    const k = 7;
    // label 6 ranks 6th (five classes above it): miss; label 4 ranks 5th: hit
    const p = [0.2, 0.19, 0.18, 0.17, 0.16, 0.06, 0.04];
    const miss: ItemOutcome = { label: 6, predicted: 0, probabilities: p, latencyMs: 1 };
    const hit: ItemOutcome = { label: 4, predicted: 0, probabilities: p, latencyMs: 1 };
    expect(versionMetrics([miss, hit], names(k)).top5Accuracy).toBe(0.5);
    // all tied: class 4 is 5th (indices 0..3 above it), class 5 is 6th
    const flat = Array.from({ length: 6 }, () => 1 / 6);
    const t4: ItemOutcome = { label: 4, predicted: 0, probabilities: flat, latencyMs: 1 };
    const t5: ItemOutcome = { label: 5, predicted: 0, probabilities: flat, latencyMs: 1 };
    expect(versionMetrics([t4], names(6)).top5Accuracy).toBe(1);
    expect(versionMetrics([t5], names(6)).top5Accuracy).toBe(0);
    // the top-1 always counts, whatever the probabilities say
    expect(versionMetrics([{ label: 5, predicted: 5, probabilities: flat, latencyMs: 1 }], names(6)).top5Accuracy).toBe(
      1,
    );
  });

  it('clamps probabilities at 1e-12 for NLL', () => {
    const m = versionMetrics([{ label: 1, predicted: 0, probabilities: [1, 0], latencyMs: 1 }], ['a', 'b']);
    expect(m.nll).toBeCloseTo(-Math.log(1e-12), 12);
  });

  it('rejects invalid input', () => {
    const k = 3;
    const bad =
      (items: ItemOutcome[], labels = names(k), opts?: { wallMs?: number }) =>
      () =>
        versionMetrics(items, labels, opts);
    expect(bad([])).toThrow(StatisticsInputError);
    expect(bad([item(0, 0, k)], [])).toThrow(StatisticsInputError);
    expect(bad([{ ...item(0, 0, k), probabilities: [0.5, 0.5] }])).toThrow(/probabilities has 2 entries, expected 3/);
    expect(bad([{ ...item(0, 0, k), probabilities: [0.5, 0.5, 0.5] }])).toThrow(/sum to/);
    expect(bad([{ ...item(0, 0, k), probabilities: [1.2, -0.1, -0.1] }])).toThrow(/>= 0/);
    expect(bad([{ ...item(0, 0, k), probabilities: [Number.NaN, 0.5, 0.5] }])).toThrow(StatisticsInputError);
    expect(bad([item(0, 0, k), { ...item(0, 0, k), label: 3 }])).toThrow(/version item 1: label/);
    expect(bad([{ ...item(0, 0, k), predicted: 1.5 }])).toThrow(/predicted/);
    expect(bad([{ ...item(0, 0, k), latencyMs: -1 }])).toThrow(/latencyMs/);
    expect(bad([item(0, 0, k)], names(k), { wallMs: -1 })).toThrow(/wallMs/);
    expect(bad([item(0, 0, k)], names(k), { wallMs: Number.NaN })).toThrow(/wallMs/);
    expect(versionMetrics([item(0, 0, k)], names(k), { wallMs: 0 }).throughput).toBeNull(); // too fast to time
    expect(bad([item(0, 0, k)])).not.toThrow();
  });
});

// ---------------------------------------------------------------------------------------------
// Paired comparison

describe('pairedComparison', () => {
  it('counts agreement, b and c, and the accuracy delta', () => {
    // 3 both right, 2 baseline only, 5 candidate only, 2 both wrong (same wrong class)
    const { baseline, candidate, labels } = pairedItems({ both: 3, bOnly: 2, cOnly: 5, neither: 2 });
    const r = pairedComparison(baseline, candidate, labels, { resamples: 200 });
    expect(r.n).toBe(12);
    expect(r.b).toBe(2);
    expect(r.c).toBe(5);
    expect(r.agreement).toBeCloseTo(5 / 12, 15); // 3 both right + 2 both wrong with the same class
    expect(r.accuracyDelta).toBeCloseTo(3 / 12, 15);
    expect(r.mcnemarExactP).toBe(mcnemarExact(2, 5).p);
    expect(r.mcnemarMidP).toBe(mcnemarExact(2, 5).midP);
    const mb = versionMetrics(baseline, labels);
    const mc = versionMetrics(candidate, labels);
    expect(r.accuracyDelta).toBeCloseTo(mc.accuracy - mb.accuracy, 14);
    expect(r.macroF1Delta).toBeCloseTo(mc.macroF1 - mb.macroF1, 14);
    expect(r.bootstrap).toEqual({ resamples: 200, seed: DEFAULT_BOOTSTRAP_SEED });
  });

  it('b + c = 0: p = 1, no significant difference, degenerate CIs when both agree on everything', () => {
    const { baseline, labels } = syntheticRun(300, 5, 0.8, 0.8, 3);
    const r = pairedComparison(
      baseline,
      baseline.map((it) => ({ ...it })),
      labels,
    );
    expect(r.b + r.c).toBe(0);
    expect(r.mcnemarExactP).toBe(1);
    expect(r.mcnemarMidP).toBe(1);
    expect(r.verdict).toBe('NO_SIGNIFICANT_DIFFERENCE');
    expect(r.agreement).toBe(1);
    expect(r.accuracyDeltaCi95).toEqual([0, 0]);
    expect(r.macroF1DeltaCi95).toEqual([0, 0]);
    expect(pairedComparison(baseline, baseline, labels, { nonInferiorityMargin: 0 }).nonInferior).toBe(false); // 0 > -0 is false
    expect(pairedComparison(baseline, baseline, labels, { nonInferiorityMargin: 0.01 }).nonInferior).toBe(true);
  });

  it('all correct on both sides', () => {
    const { baseline, candidate, labels } = pairedItems({ both: 40, bOnly: 0, cOnly: 0, neither: 0 });
    const r = pairedComparison(baseline, candidate, labels);
    expect(r).toMatchObject({
      b: 0,
      c: 0,
      accuracyDelta: 0,
      macroF1Delta: 0,
      mcnemarExactP: 1,
      verdict: 'NO_SIGNIFICANT_DIFFERENCE',
    });
    expect(r.accuracyDeltaCi95).toEqual([0, 0]);
  });

  it('one item', () => {
    const r = pairedComparison([item(0, 1, 3)], [item(0, 0, 3)], names(3));
    expect(r).toMatchObject({
      n: 1,
      b: 0,
      c: 1,
      agreement: 0,
      accuracyDelta: 1,
      mcnemarExactP: 1,
      mcnemarMidP: 0.5,
      verdict: 'NO_SIGNIFICANT_DIFFERENCE',
    });
    expect(r.accuracyDeltaCi95).toEqual([1, 1]); // every resample is that one item
    expect(r.macroF1DeltaCi95).toEqual([1, 1]);
  });

  it('verdict rules at alpha', () => {
    // c = 10, b = 0: p = 2 / 2^10 = 0.00195 < 0.05
    const better = pairedItems({ both: 20, bOnly: 0, cOnly: 10, neither: 0 });
    expect(pairedComparison(better.baseline, better.candidate, better.labels, { resamples: 100 }).verdict).toBe(
      'CANDIDATE_BETTER',
    );
    expect(pairedComparison(better.candidate, better.baseline, better.labels, { resamples: 100 }).verdict).toBe(
      'BASELINE_BETTER',
    );
    // b = 1, c = 7: p = 18/256 = 0.0703 -> not significant at 0.05, significant at 0.1
    const close = pairedItems({ both: 20, bOnly: 1, cOnly: 7, neither: 2 });
    const r05 = pairedComparison(close.baseline, close.candidate, close.labels, { resamples: 100 });
    expect(r05.mcnemarExactP).toBeCloseTo(0.0703125, 14);
    expect(r05.verdict).toBe('NO_SIGNIFICANT_DIFFERENCE');
    expect(
      pairedComparison(close.baseline, close.candidate, close.labels, { resamples: 100, alpha: 0.1 }).verdict,
    ).toBe('CANDIDATE_BETTER');
    // the verdict uses the exact p, not the mid-p (mid-p 10/256 = 0.039 < 0.05 here)
    expect(r05.mcnemarMidP).toBeCloseTo(0.0390625, 14);
  });

  it('non-inferiority: CI lower bound > -margin; null without a margin', () => {
    const run = syntheticRun(1000, 10, 0.9, 0.88, 11); // candidate a little worse
    const r = pairedComparison(run.baseline, run.candidate, run.labels);
    expect(r.nonInferior).toBeNull();
    const lo = r.accuracyDeltaCi95[0];
    expect(lo).toBeLessThan(0);
    expect(
      pairedComparison(run.baseline, run.candidate, run.labels, { nonInferiorityMargin: -lo + 0.005 }).nonInferior,
    ).toBe(true);
    expect(
      pairedComparison(run.baseline, run.candidate, run.labels, { nonInferiorityMargin: -lo - 0.005 }).nonInferior,
    ).toBe(false);
  });

  it('bootstrap: same seed reproduces, another seed is close, CI holds the point estimate', () => {
    const run = syntheticRun(2000, 10, 0.85, 0.88, 5);
    const a = pairedComparison(run.baseline, run.candidate, run.labels);
    const again = pairedComparison(run.baseline, run.candidate, run.labels);
    const other = pairedComparison(run.baseline, run.candidate, run.labels, { seed: 7 });
    // A comparison's bootstrap costs resamples x n index draws (the brute-force test below pins n
    // draws per resample): 2,000 resamples by default, as the README says, whatever the dataset size.
    expect(DEFAULT_BOOTSTRAP_RESAMPLES).toBe(2000);
    expect(a.bootstrap).toEqual({ resamples: DEFAULT_BOOTSTRAP_RESAMPLES, seed: 20261126 });
    expect(again).toEqual(a);
    expect(other.bootstrap.seed).toBe(7);
    expect(other.accuracyDeltaCi95).not.toEqual(a.accuracyDeltaCi95);
    for (let i = 0; i < 2; i++) {
      expect(Math.abs(other.accuracyDeltaCi95[i]! - a.accuracyDeltaCi95[i]!)).toBeLessThan(0.005);
      expect(Math.abs(other.macroF1DeltaCi95[i]! - a.macroF1DeltaCi95[i]!)).toBeLessThan(0.005);
    }
    expect(a.accuracyDeltaCi95[0]).toBeLessThanOrEqual(a.accuracyDelta);
    expect(a.accuracyDeltaCi95[1]).toBeGreaterThanOrEqual(a.accuracyDelta);
    expect(a.macroF1DeltaCi95[0]).toBeLessThanOrEqual(a.macroF1Delta);
    expect(a.macroF1DeltaCi95[1]).toBeGreaterThanOrEqual(a.macroF1Delta);
    // The CI half-width is near the normal-theory one for a paired difference of proportions:
    // 1.96 * sqrt((b + c)/n - delta^2) / sqrt(n)
    const se = Math.sqrt(((a.b + a.c) / a.n - a.accuracyDelta ** 2) / a.n);
    expect((a.accuracyDeltaCi95[1] - a.accuracyDeltaCi95[0]) / 2).toBeCloseTo(1.96 * se, 2);
  });

  it('bootstrap equals a brute-force resampling (same PRNG stream, metrics recomputed from scratch)', () => {
    const run = syntheticRun(40, 5, 0.6, 0.7, 21);
    const k = 5;
    const resamples = 150;
    const seed = 12345;
    const toI32 = (xs: ItemOutcome[], f: (x: ItemOutcome) => number) => Int32Array.from(xs.map(f));
    const fast = pairedBootstrap(
      toI32(run.baseline, (x) => x.label),
      toI32(run.baseline, (x) => x.predicted),
      toI32(run.candidate, (x) => x.predicted),
      k,
      resamples,
      seed,
    );
    const rand = mulberry32(seed);
    const n = run.baseline.length;
    const acc: number[] = [];
    const f1: number[] = [];
    for (let r = 0; r < resamples; r++) {
      const idx = Array.from({ length: n }, () => Math.floor(rand() * n));
      const b = idx.map((i) => run.baseline[i]!);
      const c = idx.map((i) => run.candidate[i]!);
      const mb = versionMetrics(b, run.labels);
      const mc = versionMetrics(c, run.labels);
      acc.push(mc.accuracy - mb.accuracy);
      f1.push(
        naiveMacroF1(
          c.map((x) => x.label),
          c.map((x) => x.predicted),
        ) -
          naiveMacroF1(
            b.map((x) => x.label),
            b.map((x) => x.predicted),
          ),
      );
      expect(mc.macroF1 - mb.macroF1).toBeCloseTo(f1[r]!, 12);
    }
    acc.sort((x, y) => x - y);
    f1.sort((x, y) => x - y);
    // Equal to the brute force resample by resample, so each resample drew exactly n indices from
    // the one seeded stream (one draw more or less would shift every later resample).
    expect(fast.accuracyDeltas).toHaveLength(resamples);
    for (let r = 0; r < resamples; r++) {
      expect(fast.accuracyDeltas[r]).toBeCloseTo(acc[r]!, 12);
      expect(fast.macroF1Deltas[r]).toBeCloseTo(f1[r]!, 12);
    }
    expect(fast.accuracyDeltaCi95[0]).toBeCloseTo(percentile(acc, 2.5), 12);
    expect(fast.accuracyDeltaCi95[1]).toBeCloseTo(percentile(acc, 97.5), 12);
    expect(fast.macroF1DeltaCi95[0]).toBeCloseTo(percentile(f1, 2.5), 12);
    expect(fast.macroF1DeltaCi95[1]).toBeCloseTo(percentile(f1, 97.5), 12);
  });

  it('rejects mismatched inputs and bad options', () => {
    const { baseline, candidate, labels } = pairedItems({ both: 5, bOnly: 1, cOnly: 1, neither: 1 });
    expect(() => pairedComparison(baseline, candidate.slice(1), labels)).toThrow(/same items/);
    const relabeled = candidate.map((it, i) => (i === 2 ? { ...it, label: (it.label + 1) % 4 } : it));
    expect(() => pairedComparison(baseline, relabeled, labels)).toThrow(/item 2/);
    const short = candidate.map((it, i) => (i === 3 ? { ...it, probabilities: it.probabilities.slice(1) } : it));
    expect(() => pairedComparison(baseline, short, labels)).toThrow(
      /candidate item 3: probabilities has 3 entries, expected 4/,
    );
    expect(() => pairedComparison([], [], labels)).toThrow(StatisticsInputError);
    expect(() => pairedComparison(baseline, candidate, labels, { alpha: 0 })).toThrow(/alpha/);
    expect(() => pairedComparison(baseline, candidate, labels, { alpha: 1 })).toThrow(/alpha/);
    expect(() => pairedComparison(baseline, candidate, labels, { resamples: 0 })).toThrow(/resamples/);
    expect(() => pairedComparison(baseline, candidate, labels, { resamples: 10.5 })).toThrow(/resamples/);
    expect(() => pairedComparison(baseline, candidate, labels, { seed: -1 })).toThrow(/seed/);
    expect(() => pairedComparison(baseline, candidate, labels, { nonInferiorityMargin: -0.01 })).toThrow(/margin/i);
  });
});
