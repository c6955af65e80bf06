import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { backoffSeconds, backoffBaseSeconds, DEFAULT_BACKOFF } from '../../../core/recovery/backoff.ts';
import { ValidationError } from '../../../core/errors.ts';

const fixed = (r: number) => () => r;

describe('back-off between all-blocked launch walks (docs/behaviour.md §3: 60 s × 1.6, cap 300 s, ±40%)', () => {
  it.each([
    [0, 60],
    [1, 96],
    [2, 153.6],
    [3, 245.76],
    [4, 300], // 393.216 capped
    [50, 300],
    [100_000, 300], // 1.6^100000 overflows to Infinity; the cap still holds
  ])('round %i has base %f s', (round, base) => {
    expect(backoffBaseSeconds(round)).toBeCloseTo(base, 9);
  });

  it('jitter spans ±40% of the base; the cap applies before the jitter (as SkyPilot)', () => {
    expect(backoffSeconds(0, fixed(0))).toBeCloseTo(36, 9);
    expect(backoffSeconds(0, fixed(0.5))).toBeCloseTo(60, 9);
    expect(backoffSeconds(0, fixed(0.999999))).toBeCloseTo(84, 3);
    expect(backoffSeconds(10, fixed(0))).toBeCloseTo(180, 9);
    expect(backoffSeconds(10, fixed(0.999999))).toBeGreaterThan(300);
    expect(backoffSeconds(10, fixed(0.999999))).toBeLessThan(420);
  });

  it('takes local/test settings', () => {
    const local = { initial: 1, factor: 2, max: 5, jitter: 0 };
    expect([0, 1, 2, 3, 4].map((r) => backoffSeconds(r, fixed(0.9), local))).toEqual([1, 2, 4, 5, 5]);
    expect(backoffSeconds(0, fixed(0), { initial: 2 })).toBeCloseTo(1.2, 9);
  });

  it.each([
    ['negative round', () => backoffSeconds(-1, fixed(0.5)), /round/],
    ['fractional round', () => backoffSeconds(1.5, fixed(0.5)), /round/],
    ['rng returning 1', () => backoffSeconds(0, fixed(1)), /rng/],
    ['rng returning NaN', () => backoffSeconds(0, fixed(Number.NaN)), /rng/],
    ['initial 0', () => backoffSeconds(0, fixed(0.5), { initial: 0 }), /initial/],
    ['factor below 1', () => backoffSeconds(0, fixed(0.5), { factor: 0.5 }), /factor/],
    ['max below initial', () => backoffSeconds(0, fixed(0.5), { max: 10 }), /max/],
    ['jitter 1', () => backoffSeconds(0, fixed(0.5), { jitter: 1 }), /jitter/],
  ])('rejects %s', (_name, call, message) => {
    expect(call).toThrow(ValidationError);
    expect(call).toThrow(message);
  });

  it('property: every round and rng value stays within [0.6, 1.4] × base, base within [60, 300]', () => {
    fc.assert(
      fc.property(fc.nat({ max: 10_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (round, r) => {
        const base = backoffBaseSeconds(round);
        const s = backoffSeconds(round, fixed(r));
        expect(base).toBeGreaterThanOrEqual(DEFAULT_BACKOFF.initial);
        expect(base).toBeLessThanOrEqual(DEFAULT_BACKOFF.max);
        expect(s).toBeGreaterThanOrEqual(base * 0.6 - 1e-9);
        expect(s).toBeLessThanOrEqual(base * 1.4 + 1e-9);
        expect(s).toBeGreaterThanOrEqual(36 - 1e-9);
        expect(s).toBeLessThanOrEqual(420 + 1e-9);
        if (round > 0) expect(base).toBeGreaterThanOrEqual(backoffBaseSeconds(round - 1));
      }),
    );
  });
});
