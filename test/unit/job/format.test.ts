import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  formatAgo,
  formatDuration,
  formatRequested,
  taskDurations,
  jobDurations,
  exitCodeFor,
  calendarDiff,
} from '../../../core/job/format.ts';
import { TASK_STATUSES, isFailure, isTerminal } from '../../../core/job/status.ts';
import type { ResourceRequest } from '../../../core/spec/types.ts';
import { taskSpec, newJob } from './job-fixture.ts';

// Expected strings below were produced by SkyPilot's log_utils.readable_time_duration running on
// pendulum 3.2 for the same (start, end) pairs, so they pin the exact SkyPilot wording and rounding.
describe('formatAgo (SUBMITTED column)', () => {
  it.each([
    ['0.5 s', 1749988799500, 1749988800000, '< 1 sec'],
    ['5 s', 1749988795000, 1749988800000, 'a few secs ago'],
    ['10 s', 1749988790000, 1749988800000, 'a few secs ago'],
    ['11 s', 1749988789000, 1749988800000, '11 secs ago'],
    ['59 s', 1749988741000, 1749988800000, '59 secs ago'],
    ['60 s', 1749988740000, 1749988800000, '1 min ago'],
    ['119 s', 1749988681000, 1749988800000, '1 min ago'],
    ['5 min', 1749988500000, 1749988800000, '5 mins ago'],
    ['1 h', 1749985200000, 1749988800000, '1 hr ago'],
    ['2h59m', 1749978060000, 1749988800000, '2 hrs ago'],
    ['21h59m', 1749909660000, 1749988800000, '21 hrs ago'],
    ['1 day', 1749902400000, 1749988800000, '1 day ago'],
    ['1d21h', 1749826800000, 1749988800000, '1 day ago'],
    ['1d22h', 1749823200000, 1749988800000, '2 days ago'],
    ['3 days', 1749729600000, 1749988800000, '3 days ago'],
    ['7 days', 1749384000000, 1749988800000, '1 week ago'],
    ['10 days', 1749124800000, 1749988800000, '1 week ago'],
    ['11 days', 1749038400000, 1749988800000, '2 weeks ago'],
    ['Jan31->Feb29 leap', 1706659200000, 1709164800000, '1 month ago'],
    ['Jan15->Feb15', 1705276800000, 1707955200000, '1 month ago'],
    ['Jan1->Feb27', 1735689600000, 1740614400000, '1 month ago'],
    ['11 months 16 days', 1704067200000, 1734393600000, '1 year ago'],
    ['1y7m', 1672531200000, 1722556800000, '2 years ago'],
    ['future 5 s', 1749988805000, 1749988800000, 'in a few secs'],
    ['future 5 min', 1749989100000, 1749988800000, 'in 5 mins'],
  ])('%s → %s', (_name, then, now, expected) => {
    expect(formatAgo(then, now)).toBe(expected);
  });

  it('is "-" for a missing time', () => {
    expect(formatAgo(Number.NaN, 0)).toBe('-');
  });
});

describe('formatDuration (TOT. DURATION / JOB DURATION columns)', () => {
  it.each([
    ['zero, epoch anchor', 0, 0, '-'],
    ['0.4 s', 400, 0, '< 1s'],
    ['12 s', 12000, 0, '12s'],
    ['5m 2s', 302000, 0, '5m 2s'],
    ['2h 47m 18s', 10038000, 0, '2h 47m 18s'],
    ['1h exactly', 3600000, 0, '1h'],
    ['1d 2h 3m', 93780000, 0, '1d 2h 3m'],
    ['9 days', 777601000, 0, '1w 2d 1s'],
    ['31 days from epoch', 2678400000, 0, '1mo'],
    ['30 days from epoch', 2592000000, 0, '4w 2d'],
    ['400 days from epoch', 34560000000, 0, '1 year 1mo 4d'],
    ['31 days from Feb 1 2025', 2678400000, 1738368000000, '1mo 3d'],
    ['0 ms with anchor', 0, 1738368000000, '< 1s'],
    ['1999 ms', 1999, 0, '1s'],
    ['-5 s', -5000, 0, '5s'],
  ])('%s → %s', (_name, ms, anchor, expected) => {
    expect(formatDuration(ms, anchor)).toBe(expected);
  });

  it('property: below four weeks, the parts add back up to the whole seconds', () => {
    const unit: Record<string, number> = { w: 604800, d: 86400, h: 3600, m: 60, s: 1 };
    fc.assert(
      fc.property(fc.integer({ min: 1000, max: 28 * 86400 * 1000 - 1 }), (ms) => {
        const text = formatDuration(ms);
        const total = text.split(' ').reduce((sum, part) => {
          const m = /^(\d+)([wdhms])$/.exec(part);
          expect(m, `part ${part} of ${text}`).not.toBeNull();
          return sum + Number(m![1]) * unit[m![2]];
        }, 0);
        expect(total).toBe(Math.floor(ms / 1000));
      }),
    );
  });
});

describe('calendarDiff', () => {
  it('reports the magnitude and marks an inverted pair', () => {
    expect(calendarDiff(Date.UTC(2024, 0, 31), Date.UTC(2024, 1, 29))).toMatchObject({ years: 0, months: 1, days: 0, invert: false });
    expect(calendarDiff(Date.UTC(2024, 2, 1, 1), Date.UTC(2024, 0, 1))).toMatchObject({ months: 2, days: 0, hours: 1, invert: true });
  });
});

function req(overrides: Partial<ResourceRequest>): ResourceRequest {
  return { infra: {}, useSpot: false, diskSizeGb: 256, ports: [], labels: {}, ...overrides };
}

function spec(requests: ResourceRequest[], numNodes = 1) {
  const t = taskSpec('t', { numNodes });
  return { ...t, resources: { ...t.resources, requests } };
}

describe('formatRequested (REQUESTED column, SkyPilot get_task_resources_str)', () => {
  it.each([
    ['no cpus set', [req({})], 1, '1x[CPU:1+]'],
    ['exact cpus', [req({ cpus: { value: 4, atLeast: false } })], 1, '1x[CPU:4]'],
    ['at-least cpus', [req({ cpus: { value: 8, atLeast: true } })], 3, '3x[CPU:8+]'],
    ['one accelerator, 2 nodes', [req({ accelerator: { name: 'V100', count: 1 } })], 2, '2x[V100:1]'],
    ['spot only', [req({ accelerator: { name: 'V100', count: 8 }, useSpot: true })], 1, '1x[V100:8][Spot]'],
    [
      'mixed markets',
      [req({ accelerator: { name: 'V100', count: 8 }, useSpot: true }), req({ accelerator: { name: 'V100', count: 8 } })],
      1,
      '1x[V100:8][On-demand|Spot]',
    ],
    ['several accelerators, user order', [req({ accelerator: { name: 'A100', count: 1 } }), req({ accelerator: { name: 'L4', count: 1 } })], 1, '1x[A100:1, L4:1]'],
    ['fractional GPU', [req({ accelerator: { name: 'H100', count: 0.5 } })], 1, '1x[H100:0.5]'],
    [
      'several cpu-only candidates: smallest, at least',
      [req({ cpus: { value: 8, atLeast: false } }), req({ cpus: { value: 2, atLeast: false } })],
      1,
      '1x[CPU:2+]',
    ],
    ['several candidates, one without cpus', [req({ cpus: { value: 8, atLeast: false } }), req({})], 1, '1x[CPU:1+]'],
  ] as const)('%s → %s', (_name, requests, nodes, expected) => {
    expect(formatRequested(spec([...requests], nodes))).toBe(expected);
  });
});

describe('taskDurations / jobDurations', () => {
  it('a running task: total from submission to now, job time includes the current RUNNING stretch', () => {
    const t = { submittedAt: 1000, jobDurationMs: 5000, runningSince: 20_000 };
    expect(taskDurations(t, 30_000)).toEqual({ totalMs: 29_000, jobMs: 15_000 });
  });

  it('an ended task: total to endedAt, job time as stored', () => {
    const t = { submittedAt: 1000, endedAt: 61_000, jobDurationMs: 42_000 };
    expect(taskDurations(t, 999_999)).toEqual({ totalMs: 60_000, jobMs: 42_000 });
  });

  it('a pipeline: earliest submission, latest end once all ended, summed job time and recoveries', () => {
    const job = newJob(['a', 'b'], 1000);
    job.tasks[0] = { ...job.tasks[0], status: 'SUCCEEDED', endedAt: 10_000, jobDurationMs: 4000, recoveryCount: 1 };
    job.tasks[1] = { ...job.tasks[1], status: 'RUNNING', runningSince: 12_000, jobDurationMs: 0, recoveryCount: 2 };
    expect(jobDurations(job, 20_000)).toEqual({ submittedAt: 1000, totalMs: 19_000, jobMs: 12_000, recoveries: 3 });
    job.tasks[1] = { ...job.tasks[1], status: 'SUCCEEDED', runningSince: undefined, endedAt: 30_000, jobDurationMs: 18_000 };
    expect(jobDurations(job, 99_000)).toEqual({ submittedAt: 1000, totalMs: 29_000, jobMs: 22_000, recoveries: 3 });
  });
});

describe('exitCodeFor (docs/behaviour.md §2 CLI exit codes)', () => {
  it.each(TASK_STATUSES.map((s) => [s]))('%s', (status) => {
    const expected = status === 'SUCCEEDED' ? 0 : status === 'CANCELLED' ? 103 : isFailure(status) ? 100 : 101;
    expect(exitCodeFor(status)).toBe(expected);
    if (!isTerminal(status)) expect(exitCodeFor(status)).toBe(101);
  });

  it('not found → 102', () => {
    expect(exitCodeFor(undefined)).toBe(102);
  });

  it('spot checks', () => {
    expect(exitCodeFor('FAILED_NO_RESOURCE')).toBe(100);
    expect(exitCodeFor('FAILED_CONTROLLER')).toBe(100);
    expect(exitCodeFor('CANCELLING')).toBe(101);
  });
});
