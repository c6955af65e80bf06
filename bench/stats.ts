// The one percentile every benchmark reports with.

/**
 * The nearest-rank percentile (0 < p ≤ 100): the smallest value with at least p % of the values at
 * or below it. NaN for no values. Nearest-rank reports a value that was measured (no interpolation).
 */
export function percentile(values: readonly number[], p: number): number {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile: p must be in (0, 100], got ${p}`);
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
