import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { planAdmission, freeLaunchSlots, compareWaiting, type WaitingJob } from '../../../core/admission/plan.ts';
import { ValidationError } from '../../../core/errors.ts';

const w = (jobId: number, priority: number, since: number): WaitingJob => ({ jobId, priority, since });
const limits = { launching: 0, running: 0, maxLaunching: 8, maxRunning: 200 };

describe('planAdmission (docs/behaviour.md §4)', () => {
  it('highest priority first, then oldest, whatever the input order', () => {
    const waiting = [w(1, 0, 100), w(2, 10, 300), w(3, 10, 200), w(4, -5, 50), w(5, 0, 90)];
    expect(planAdmission({ ...limits, waiting })).toEqual([3, 2, 5, 1, 4]);
  });

  it('equal priority and age: lowest job id first (deterministic)', () => {
    expect(planAdmission({ ...limits, waiting: [w(9, 0, 1), w(7, 0, 1), w(8, 0, 1)] })).toEqual([7, 8, 9]);
  });

  it('never exceeds the launch limit', () => {
    const waiting = Array.from({ length: 20 }, (_, i) => w(i + 1, 0, i));
    expect(planAdmission({ ...limits, launching: 5, waiting })).toEqual([1, 2, 3]);
  });

  it('counts launching and granted jobs against the run limit too (they will run without asking again)', () => {
    const waiting = Array.from({ length: 20 }, (_, i) => w(i + 1, 0, i));
    // 8 launch slots free, but 195 running + 3 launching leaves room for 2 more running jobs.
    expect(planAdmission({ ...limits, launching: 3, running: 195, maxLaunching: 11, waiting })).toEqual([1, 2]);
  });

  it('grants nothing when full, and never preempts for priority', () => {
    expect(planAdmission({ ...limits, running: 200, waiting: [w(1, 1000, 0)] })).toEqual([]);
    expect(planAdmission({ ...limits, launching: 8, waiting: [w(1, 1000, 0)] })).toEqual([]);
  });

  it('a limit lowered below the current count grants nothing (and frees nothing)', () => {
    expect(freeLaunchSlots({ launching: 10, running: 0, maxLaunching: 4, maxRunning: 100 })).toBe(0);
    expect(freeLaunchSlots({ launching: 0, running: 300, maxLaunching: 4, maxRunning: 100 })).toBe(0);
  });

  it('a job listed twice (duplicate events) is granted once', () => {
    expect(planAdmission({ ...limits, waiting: [w(1, 0, 5), w(1, 0, 5), w(2, 0, 6)] })).toEqual([1, 2]);
  });

  it('recoveries queue like first launches: by priority, then how long they have waited', () => {
    // job 7 is a recovery that started waiting at t=50; job 3 a first launch waiting since t=80.
    expect(planAdmission({ ...limits, maxLaunching: 1, waiting: [w(3, 0, 80), w(7, 0, 50)] })).toEqual([7]);
  });

  it.each([
    ['negative launching', { ...limits, launching: -1, waiting: [] }],
    ['fractional limit', { ...limits, maxRunning: 1.5, waiting: [] }],
    ['bad waiting entry', { ...limits, waiting: [w(1, Number.NaN, 0)] }],
  ])('rejects %s', (_name, input) => {
    expect(() => planAdmission(input)).toThrow(ValidationError);
  });
});

const waitingArb = fc.array(
  fc.record({ jobId: fc.integer({ min: 1, max: 60 }), priority: fc.integer({ min: -1000, max: 1000 }), since: fc.integer({ min: 0, max: 1e6 }) }),
  { maxLength: 80 },
);

describe('property: admission', () => {
  it('never exceeds either limit, grants as many as fit, and follows priority-then-age order', () => {
    fc.assert(
      fc.property(
        waitingArb,
        fc.nat({ max: 20 }),
        fc.nat({ max: 50 }),
        fc.nat({ max: 20 }),
        fc.nat({ max: 60 }),
        (waiting, launching, running, maxLaunching, maxRunning) => {
          const granted = planAdmission({ waiting, launching, running, maxLaunching, maxRunning });
          // Limits: granted jobs are launching now and will be running later.
          if (granted.length > 0) {
            expect(launching + granted.length).toBeLessThanOrEqual(maxLaunching);
            expect(launching + running + granted.length).toBeLessThanOrEqual(maxRunning);
          }
          expect(new Set(granted).size).toBe(granted.length);
          // Maximal: as many as the free slots and the distinct waiting jobs allow.
          const distinct = new Set(waiting.map((x) => x.jobId)).size;
          const free = Math.max(0, Math.min(maxLaunching - launching, maxRunning - launching - running));
          expect(granted.length).toBe(Math.min(free, distinct));
          // Order: each granted job's best entry precedes every entry of any job not granted.
          const best = new Map<number, WaitingJob>();
          for (const x of [...waiting].sort(compareWaiting)) if (!best.has(x.jobId)) best.set(x.jobId, x);
          const grantedEntries = granted.map((id) => best.get(id)!);
          for (let i = 1; i < grantedEntries.length; i++) {
            expect(compareWaiting(grantedEntries[i - 1], grantedEntries[i])).toBeLessThan(0);
          }
          const lastGranted = grantedEntries[grantedEntries.length - 1];
          for (const [id, entry] of best) {
            if (granted.includes(id)) continue;
            if (lastGranted) {
              expect(entry.priority < lastGranted.priority || (entry.priority === lastGranted.priority && entry.since >= lastGranted.since)).toBe(true);
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
