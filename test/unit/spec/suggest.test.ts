import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { didYouMean, editDistance, suggest } from '../../../core/spec/suggest.ts';
import { ACCELERATORS } from '../../../core/catalog/accelerators.ts';

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['abc', '', 3],
    ['kitten', 'sitting', 3],
    ['setpu', 'setup', 1], // one swap of neighbours
    ['a1000', 'a100', 1],
    ['k8s', 'aws', 2],
  ])('%s ~ %s = %i', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });

  it('is zero exactly for equal strings and never above the longer length', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b) => {
        const d = editDistance(a, b);
        expect(d === 0).toBe(a === b);
        expect(d).toBeLessThanOrEqual(Math.max(a.length, b.length));
        expect(d).toBeGreaterThanOrEqual(Math.abs(a.length - b.length));
      }),
    );
  });
});

describe('suggest', () => {
  it('finds near keys, case-insensitively', () => {
    expect(suggest('setpu', ['setup', 'run', 'name'])).toBe('setup');
    expect(suggest('Run', ['setup', 'run'])).toBe('run');
    expect(suggest('num_node', ['num_nodes', 'name'])).toBe('num_nodes');
  });

  it('canonicalizes accelerator spelling in its answer', () => {
    expect(suggest('A1000', ACCELERATORS)).toBe('A100');
    expect(suggest('a100-80g', ACCELERATORS)).toBe('A100-80GB');
  });

  it('breaks ties by the longest shared prefix', () => {
    // H10 is one edit from both A10 and H100; the user started with H.
    expect(suggest('H10', ACCELERATORS)).toBe('H100');
    expect(suggest('B100', ACCELERATORS)).toBe('B200');
    // A1O0 (letter O) is one edit from both A10 and A100; a swapped character beats a surplus one.
    expect(suggest('A1O0', ACCELERATORS)).toBe('A100');
  });

  it('says nothing when no candidate is close', () => {
    expect(suggest('k8s', ['aws', 'gcp', 'local'])).toBeUndefined();
    expect(suggest('kubernetes', ['aws', 'gcp', 'local'])).toBeUndefined();
    expect(suggest('zzz', [])).toBeUndefined();
  });

  it('always returns one of the candidates', () => {
    const clouds = ['aws', 'gcp', 'local'];
    fc.assert(
      fc.property(fc.string({ maxLength: 8 }), (word) => {
        const near = suggest(word, clouds);
        if (near !== undefined) expect(clouds).toContain(near);
      }),
    );
  });
});

describe('didYouMean', () => {
  it('suggests the near candidate, else lists all', () => {
    expect(didYouMean('gpc', ['aws', 'gcp', 'local'])).toBe('; did you mean gcp?');
    expect(didYouMean('k8s', ['aws', 'gcp', 'local'])).toBe('; expected one of: aws, gcp, local');
  });
});
