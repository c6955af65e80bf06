import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  startWalk,
  nextCandidate,
  onLaunchError,
  walkResult,
  isBlocked,
  type WalkState,
} from '../../../core/recovery/launch-walk.ts';
import { CapacityError, PrecheckError, TransientError, ValidationError } from '../../../core/errors.ts';
import type { BlockedScope, Candidate } from '../../../core/optimizer/types.ts';
import type { Cloud } from '../../../core/spec/types.ts';

function cand(cloud: Cloud, region: string, zones: string[], instanceType = 'm6i.large', spot = false): Candidate {
  return { cloud, region, zones, instanceType, vcpus: 2, memoryGb: 8, spot, hourlyPrice: 0.1, requestIndex: 0 };
}

const zoneError = (c: Candidate, zone: string) =>
  new CapacityError(`InsufficientInstanceCapacity in ${zone}`, 'zone', { cloud: c.cloud, region: c.region, zone });
const regionError = (c: Candidate) => new CapacityError(`quota exceeded in ${c.region}`, 'region', { cloud: c.cloud, region: c.region });
const cloudError = (cloud: string) => new CapacityError(`no access to ${cloud}`, 'cloud', { cloud });
const limits = { blockedRounds: 0 };

describe('launch walk (docs/behaviour.md §3)', () => {
  const useast1a = cand('aws', 'us-east-1', ['us-east-1a'], 'g5.xlarge', true);
  const useast1od = cand('aws', 'us-east-1', ['us-east-1a', 'us-east-1b', 'us-east-1c'], 'g5.xlarge');
  const uswest2 = cand('aws', 'us-west-2', ['us-west-2a', 'us-west-2b']);
  const gcp = cand('gcp', 'us-central1', ['us-central1-a'], 'g2-standard-4');

  it('an empty candidate list before any attempt → FAILED_PRECHECKS', () => {
    expect(walkResult([], startWalk(), limits)).toMatchObject({ kind: 'FAILED_PRECHECKS', reason: expect.stringMatching(/no feasible/) });
  });

  it('tries candidates in order', () => {
    expect(walkResult([useast1a, uswest2], startWalk(), limits)).toEqual({ kind: 'TRY', index: 0, candidate: useast1a });
  });

  it('a zone capacity error blocks that zone: a spot candidate is skipped, an on-demand one retries its other zones', () => {
    let s = onLaunchError(startWalk(), zoneError(useast1a, 'us-east-1a'), 0, useast1a);
    expect(s.blocked).toEqual([{ scope: 'zone', cloud: 'aws', region: 'us-east-1', zone: 'us-east-1a' }]);
    const step = walkResult([useast1a, useast1od, uswest2], s, limits);
    expect(step).toEqual({ kind: 'TRY', index: 1, candidate: { ...useast1od, zones: ['us-east-1b', 'us-east-1c'] } });
    s = onLaunchError(s, zoneError(useast1od, 'us-east-1b'), 1, { ...useast1od, zones: ['us-east-1b', 'us-east-1c'] });
    expect(walkResult([useast1a, useast1od, uswest2], s, limits)).toMatchObject({ kind: 'TRY', index: 1, candidate: { zones: ['us-east-1c'] } });
  });

  it('a region capacity error blocks every candidate of the region', () => {
    const s = onLaunchError(startWalk(), regionError(useast1a), 0, useast1a);
    expect(walkResult([useast1a, useast1od, uswest2], s, limits)).toMatchObject({ kind: 'TRY', index: 2 });
  });

  it('a cloud-scoped error (global quota, auth) blocks the whole cloud', () => {
    const s = onLaunchError(startWalk(), cloudError('aws'), 0, useast1a);
    expect(walkResult([useast1a, uswest2, gcp], s, limits)).toMatchObject({ kind: 'TRY', index: 2 });
  });

  it('a zone error without a zone blocks the region (never retry a failing place forever)', () => {
    const s = onLaunchError(startWalk(), new CapacityError('no capacity', 'zone', { cloud: 'aws', region: 'us-east-1' }), 1, useast1od);
    expect(s.blocked).toEqual([{ scope: 'region', cloud: 'aws', region: 'us-east-1' }]);
  });

  it('a capacity error naming another place still moves the walk on (the candidate is ruled out)', () => {
    const s = onLaunchError(startWalk(), regionError(uswest2), 0, useast1a);
    expect(s.ruledOut).toEqual([0]);
    expect(walkResult([useast1a, uswest2], s, limits)).toEqual({ kind: 'BACKOFF', blockedRounds: 1, reason: expect.any(String) });
  });

  it('a precheck error rules out only that candidate', () => {
    const s = onLaunchError(startWalk(), new PrecheckError('InvalidAMIID.NotFound'), 0, useast1a);
    expect(s.blocked).toEqual([]);
    expect(walkResult([useast1a, useast1od], s, limits)).toMatchObject({ kind: 'TRY', index: 1, candidate: useast1od });
  });

  it('only precheck failures → FAILED_PRECHECKS, with the reasons', () => {
    let s: WalkState = startWalk();
    s = onLaunchError(s, new PrecheckError('bad image'), 0, useast1a);
    s = onLaunchError(s, new PrecheckError('unauthorized'), 1, gcp);
    expect(walkResult([useast1a, gcp], s, limits)).toEqual({
      kind: 'FAILED_PRECHECKS',
      reason: 'every candidate failed its precheck: bad image; unauthorized',
    });
  });

  it('all blocked with any capacity failure → BACKOFF, counting the round', () => {
    let s: WalkState = startWalk();
    s = onLaunchError(s, new PrecheckError('bad image'), 0, useast1a);
    s = onLaunchError(s, cloudError('gcp'), 1, gcp);
    expect(walkResult([useast1a, gcp], s, { blockedRounds: 4 })).toMatchObject({ kind: 'BACKOFF', blockedRounds: 5 });
  });

  it('forever by default; FAILED_NO_RESOURCE once max_launch_attempts walks ended all-blocked', () => {
    const s = onLaunchError(startWalk(), regionError(useast1a), 0, useast1a);
    expect(walkResult([useast1a], s, { blockedRounds: 10_000 })).toMatchObject({ kind: 'BACKOFF', blockedRounds: 10_001 });
    expect(walkResult([useast1a], s, { blockedRounds: 1, maxLaunchAttempts: 3 })).toMatchObject({ kind: 'BACKOFF', blockedRounds: 2 });
    expect(walkResult([useast1a], s, { blockedRounds: 2, maxLaunchAttempts: 3 })).toMatchObject({
      kind: 'FAILED_NO_RESOURCE',
      blockedRounds: 3,
      reason: expect.stringMatching(/^no capacity after 3 launch attempt\(s\) \(max_launch_attempts: 3\): quota exceeded in us-east-1/),
    });
    expect(walkResult([useast1a], s, { blockedRounds: 0, maxLaunchAttempts: 1 })).toMatchObject({ kind: 'FAILED_NO_RESOURCE' });
  });

  it('a walk can start from scopes already blocked', () => {
    const blocked: BlockedScope[] = [{ scope: 'cloud', cloud: 'aws' }];
    expect(walkResult([useast1a, gcp], startWalk(blocked), limits)).toMatchObject({ kind: 'TRY', index: 1 });
    expect(isBlocked(useast1a, blocked)).toBe(true);
    expect(isBlocked(gcp, blocked)).toBe(false);
  });

  it('rethrows throttling and unknown errors unchanged (the caller retries or fails the controller)', () => {
    const throttled = new TransientError('RequestLimitExceeded');
    expect(() => onLaunchError(startWalk(), throttled, 0, useast1a)).toThrow(throttled);
    const bug = new TypeError('undefined is not a function');
    expect(() => onLaunchError(startWalk(), bug, 0, useast1a)).toThrow(bug);
  });

  it('does not duplicate an identical blocked scope', () => {
    let s = onLaunchError(startWalk(), regionError(useast1a), 0, useast1a);
    s = onLaunchError(s, regionError(useast1a), 0, useast1a);
    expect(s.blocked).toHaveLength(1);
  });

  it('rejects bad limits', () => {
    expect(() => walkResult([useast1a], startWalk(), { blockedRounds: -1 })).toThrow(ValidationError);
    expect(() => walkResult([useast1a], startWalk(), { blockedRounds: 0, maxLaunchAttempts: 0 })).toThrow(/max_launch_attempts/);
  });

  it('nextCandidate is undefined when nothing is left', () => {
    expect(nextCandidate([useast1a], startWalk([{ scope: 'zone', cloud: 'aws', region: 'us-east-1', zone: 'us-east-1a' }]))).toBeUndefined();
  });
});

// ---- property: a walk never tries anything inside a blocked scope, and always ends ----

const REGIONS: Record<string, string[]> = { r1: ['r1a', 'r1b', 'r1c'], r2: ['r2a', 'r2b'], r3: ['r3a'] };
const candidateArb = fc
  .record({
    cloud: fc.constantFrom<Cloud>('aws', 'gcp'),
    region: fc.constantFrom('r1', 'r2', 'r3'),
    spot: fc.boolean(),
    pick: fc.nat(),
    type: fc.constantFrom('a', 'b'),
  })
  .map(({ cloud, region, spot, pick, type }) => {
    const zones = REGIONS[region];
    return cand(cloud, region, spot ? [zones[pick % zones.length]] : zones, type, spot);
  });

type ErrorPick = { kind: 'zone' | 'region' | 'cloud' | 'precheck' | 'elsewhere'; pick: number };
const errorArb = fc.record({ kind: fc.constantFrom<ErrorPick['kind']>('zone', 'region', 'cloud', 'precheck', 'elsewhere'), pick: fc.nat() });

function covers(scope: BlockedScope, c: Candidate, zone: string | undefined): boolean {
  if (scope.cloud !== c.cloud) return false;
  if (scope.scope === 'cloud') return true;
  if (scope.region !== c.region) return false;
  return scope.scope === 'region' || scope.zone === zone;
}

describe('property: launch walk', () => {
  it('blocked scopes never reappear, ruled-out candidates are never retried, and the walk ends', () => {
    fc.assert(
      fc.property(fc.array(candidateArb, { maxLength: 12 }), fc.array(errorArb, { maxLength: 80 }), (candidates, errors) => {
        let state = startWalk();
        const bound = candidates.reduce((n, c) => n + Math.max(1, c.zones.length), 0);
        let tries = 0;
        for (;;) {
          const step = walkResult(candidates, state, { blockedRounds: 0 });
          if (step.kind !== 'TRY') {
            if (candidates.length === 0 || (state.failures.length > 0 && state.failures.every((f) => f.kind === 'PRECHECK'))) {
              expect(step.kind).toBe('FAILED_PRECHECKS');
            } else {
              expect(step).toMatchObject({ kind: 'BACKOFF', blockedRounds: 1 });
            }
            break;
          }
          tries++;
          expect(tries).toBeLessThanOrEqual(bound);
          expect(state.ruledOut).not.toContain(step.index);
          for (const scope of state.blocked) {
            for (const zone of step.candidate.zones) expect(covers(scope, step.candidate, zone)).toBe(false);
          }
          expect(step.candidate.zones.every((z) => candidates[step.index].zones.includes(z))).toBe(true);
          // The candidate launched: the walk is over.
          if (tries > errors.length) break;
          const e = errors[tries - 1];
          const c = step.candidate;
          const error =
            e.kind === 'zone'
              ? zoneError(c, c.zones[e.pick % c.zones.length])
              : e.kind === 'region'
                ? regionError(c)
                : e.kind === 'cloud'
                  ? cloudError(c.cloud)
                  : e.kind === 'precheck'
                    ? new PrecheckError('invalid request')
                    : new CapacityError('elsewhere', 'region', { cloud: c.cloud, region: 'r9' });
          state = onLaunchError(state, error, step.index, c);
        }
      }),
      { numRuns: 500 },
    );
  });
});
