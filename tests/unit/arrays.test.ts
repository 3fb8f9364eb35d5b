import { argmin, maxOf } from '../../src/common/arrays';

describe('array extremes', () => {
  it('finds the maximum of data-sized arrays (a million values: too many for Math.max(...values))', () => {
    const big = Array.from({ length: 1_000_000 }, (_, i) => i % 1000);
    expect(maxOf(big)).toBe(999);
    expect(maxOf([], 3)).toBe(3);
    expect(maxOf([1, 7, 2], 3)).toBe(7);
    expect(maxOf([])).toBe(-Infinity);
  });

  it('finds the index of the smallest value, the first on ties', () => {
    expect(argmin([3, 1, 2, 1])).toBe(1);
    expect(argmin([])).toBe(-1);
  });
});
