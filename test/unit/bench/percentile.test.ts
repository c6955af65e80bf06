import { describe, expect, it } from 'vitest';
import { percentile } from '../../../bench/stats.ts';

describe('percentile (nearest rank)', () => {
  it.each([
    ['p50 of 1..10', [10, 1, 9, 2, 8, 3, 7, 4, 6, 5], 50, 5],
    ['p95 of 1..10', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95, 10],
    ['p90 of 1..10', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90, 9],
    ['p100 is the max', [3, 1, 2], 100, 3],
    ['a tiny p is the min', [3, 1, 2], 0.1, 1],
    ['one value', [42], 50, 42],
  ])('%s', (_name, values, p, expected) => {
    expect(percentile(values, p)).toBe(expected);
  });

  it('is NaN for no values, and refuses p outside (0, 100]', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });

  it('does not reorder its input', () => {
    const xs = [3, 1, 2];
    percentile(xs, 50);
    expect(xs).toEqual([3, 1, 2]);
  });
});
