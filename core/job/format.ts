// Queue cell formats (docs/behaviour.md §7), matching what `sky jobs queue` prints so that a SkyPilot user reads
// the same words. SkyPilot formats times with pendulum (`log_utils.readable_time_duration`): SUBMITTED
// is `diff_for_humans` with "second/minute/hour" shortened to "sec/min/hr"; durations are
// `Period.in_words` with the units shortened to s/m/h/d/w/mo. Both work on a calendar difference in
// UTC (years and months are calendar months, not fixed lengths); calendarDiff below reproduces
// pendulum's `precise_diff` for UTC instants.

import type { AttemptOutcome, JobRecord, TaskState } from './records.ts';
import type { TaskSpec } from '../spec/types.ts';
import { isFailure, isTerminal, type TaskStatus } from './status.ts';

/** The signed calendar difference between two instants, in UTC (pendulum's `precise_diff`). */
export interface CalendarDiff {
  years: number;
  months: number;
  /** Days beyond whole months (0–30). */
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
  milliseconds: number;
  /** True when `end` is before `start`; every field above is then the magnitude. */
  invert: boolean;
}

const MS_PER_SECOND = 1000;

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Days in `month` (1–12) of `year`. */
function daysInMonth(year: number, month: number): number {
  return [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

export function calendarDiff(startMs: number, endMs: number): CalendarDiff {
  let invert = false;
  let a = startMs;
  let b = endMs;
  if (a > b) {
    [a, b] = [b, a];
    invert = true;
  }
  const d1 = new Date(a);
  const d2 = new Date(b);
  let msDiff = d2.getUTCMilliseconds() - d1.getUTCMilliseconds() + (b - Math.floor(b)) - (a - Math.floor(a));
  let secDiff = d2.getUTCSeconds() - d1.getUTCSeconds();
  let minDiff = d2.getUTCMinutes() - d1.getUTCMinutes();
  let hourDiff = d2.getUTCHours() - d1.getUTCHours();
  let dayDiff = 0;
  if (msDiff < 0) {
    msDiff += MS_PER_SECOND;
    secDiff -= 1;
  }
  if (secDiff < 0) {
    secDiff += 60;
    minDiff -= 1;
  }
  if (minDiff < 0) {
    minDiff += 60;
    hourDiff -= 1;
  }
  if (hourDiff < 0) {
    hourDiff += 24;
    dayDiff -= 1;
  }
  const y2 = d2.getUTCFullYear();
  const m2 = d2.getUTCMonth() + 1;
  let yearDiff = y2 - d1.getUTCFullYear();
  let monthDiff = m2 - (d1.getUTCMonth() + 1);
  dayDiff += d2.getUTCDate() - d1.getUTCDate();
  if (dayDiff < 0) {
    const lastMonth = m2 === 1 ? 12 : m2 - 1;
    const lastMonthYear = m2 === 1 ? y2 - 1 : y2;
    const daysInLastMonth = daysInMonth(lastMonthYear, lastMonth);
    const daysInThisMonth = daysInMonth(y2, m2);
    if (dayDiff < daysInThisMonth - daysInLastMonth) {
      // Not a full month: count the days.
      dayDiff += daysInLastMonth < d1.getUTCDate() ? d1.getUTCDate() : daysInLastMonth;
    } else if (dayDiff === daysInThisMonth - daysInLastMonth) {
      // Exactly a full month.
      dayDiff = 0;
      monthDiff += 1;
    } else {
      dayDiff += daysInLastMonth;
    }
    monthDiff -= 1;
  }
  if (monthDiff < 0) {
    monthDiff += 12;
    yearDiff -= 1;
  }
  return {
    years: yearDiff,
    months: monthDiff,
    days: dayDiff,
    hours: hourDiff,
    minutes: minDiff,
    seconds: secDiff,
    milliseconds: msDiff,
    invert,
  };
}

function plural(count: number, unit: string): string {
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

/**
 * How long ago `thenMs` was, as the SUBMITTED column shows it: `a few secs ago`, `45 secs ago`,
 * `1 min ago`, `2 hrs ago`, `3 days ago`, `2 weeks ago`, `1 month ago`, `1 year ago`.
 * Rounding follows pendulum: hours and minutes truncate; 22 h or more rounds a day up, more than 3
 * days rounds a week up, 27 days or more round a month up, more than 6 months round a year up.
 * Less than one second either way is `< 1 sec`; a time in the future (clock skew) reads `in a few
 * secs`, `in 2 mins`, as SkyPilot prints it.
 */
export function formatAgo(thenMs: number, nowMs: number): string {
  if (!Number.isFinite(thenMs) || !Number.isFinite(nowMs)) return '-';
  if (Math.abs(nowMs - thenMs) < MS_PER_SECOND) return '< 1 sec';
  const d = calendarDiff(thenMs, nowMs);
  const weeks = Math.floor(d.days / 7);
  const remainingDays = d.days % 7;
  let unit: string;
  let count: number;
  if (d.years > 0) {
    unit = 'year';
    count = d.years + (d.months > 6 ? 1 : 0);
  } else if (d.months === 11 && weeks * 7 + remainingDays > 15) {
    unit = 'year';
    count = 1;
  } else if (d.months > 0) {
    unit = 'month';
    count = d.months + (weeks * 7 + remainingDays >= 27 ? 1 : 0);
  } else if (weeks > 0) {
    unit = 'week';
    count = weeks + (remainingDays > 3 ? 1 : 0);
  } else if (remainingDays > 0) {
    unit = 'day';
    count = remainingDays + (d.hours >= 22 ? 1 : 0);
  } else if (d.hours > 0) {
    unit = 'hr';
    count = d.hours;
  } else if (d.minutes > 0) {
    unit = 'min';
    count = d.minutes;
  } else if (d.seconds > 10) {
    unit = 'sec';
    count = d.seconds;
  } else {
    return d.invert ? 'in a few secs' : 'a few secs ago';
  }
  return d.invert ? `in ${plural(count, unit)}` : `${plural(count, unit)} ago`;
}

/**
 * A duration as the TOT. DURATION / JOB DURATION columns show it: `2h 47m 18s`, `5m 2s`, `12s`,
 * `1d 2h 3m`, `1w 2d 3h`, `1mo 4d`, `1 year 2mo` (SkyPilot leaves years unabbreviated). Zero units are
 * left out. `-` for exactly zero with no anchor (SkyPilot's "not started yet"); `< 1s` below a second.
 * A negative duration (clock skew) prints its magnitude, as pendulum's absolute difference does.
 *
 * Months and years are calendar units counted from `anchorMs` (default the epoch, which is what
 * SkyPilot does for JOB DURATION; pass the submission time for TOT. DURATION to match it there too).
 * They only matter for durations of four weeks and more.
 */
export function formatDuration(ms: number, anchorMs = 0): string {
  if (!Number.isFinite(ms) || !Number.isFinite(anchorMs)) return '-';
  if (ms === 0 && anchorMs === 0) return '-';
  if (Math.abs(ms) < MS_PER_SECOND) return '< 1s';
  const d = calendarDiff(anchorMs, anchorMs + ms);
  const parts: [number, string][] = [
    [d.years, d.years === 1 ? ' year' : ' years'],
    [d.months, 'mo'],
    [Math.floor(d.days / 7), 'w'],
    [d.days % 7, 'd'],
    [d.hours, 'h'],
    [d.minutes, 'm'],
    [d.seconds, 's'],
  ];
  return parts
    .filter(([count]) => count > 0)
    .map(([count, unit]) => `${count}${unit}`)
    .join(' ');
}

function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toFixed(6)));
}

/**
 * The REQUESTED column: `<nodes>x[<demand>]<market>` as SkyPilot's get_task_resources_str renders a
 * managed job before it is launched.
 *  - demand: the accelerators of every candidate (`A100:1, L4:1`, duplicates once, first-seen order);
 *    with none, `CPU:<cpus>` — the single request's cpus (`CPU:4`, `CPU:4+`), `CPU:1+` when unset,
 *    and for several candidates the smallest, as at-least (`CPU:2+`).
 *  - market: `[Spot]` when every candidate is spot, `[On-demand|Spot]` when they mix, nothing when all
 *    are on-demand.
 * Deviations, on purpose: SkyPilot prints a set in hash order (we keep the user's order) and prints
 * the several-candidates minimum as a float (`CPU:2.0+`); we print `CPU:2+`.
 */
export function formatRequested(task: Pick<TaskSpec, 'numNodes' | 'resources'>): string {
  const requests = task.resources.requests;
  const accelerators: string[] = [];
  let minCpus = Infinity;
  const markets = new Set<'On-demand' | 'Spot'>();
  for (const r of requests) {
    minCpus = Math.min(minCpus, r.cpus?.value ?? 1);
    markets.add(r.useSpot ? 'Spot' : 'On-demand');
    if (r.accelerator) {
      const label = `${r.accelerator.name}:${formatNumber(r.accelerator.count)}`;
      if (!accelerators.includes(label)) accelerators.push(label);
    }
  }
  let demand: string;
  if (accelerators.length > 0) {
    demand = accelerators.join(', ');
  } else if (requests.length === 1) {
    const cpus = requests[0].cpus;
    demand = cpus ? `CPU:${formatNumber(cpus.value)}${cpus.atLeast ? '+' : ''}` : 'CPU:1+';
  } else {
    demand = `CPU:${formatNumber(Number.isFinite(minCpus) ? minCpus : 1)}+`;
  }
  const market = markets.has('Spot') ? `[${[...markets].sort().join('|')}]` : '';
  return `${task.numNodes}x[${demand}]${market}`;
}

export interface Durations {
  /** Submission to end (or to now while not ended). */
  totalMs: number;
  /** Time spent RUNNING only (docs/behaviour.md §2 job_duration), including the current RUNNING stretch. */
  jobMs: number;
}

/** TOT. DURATION and JOB DURATION of one task, in milliseconds. */
export function taskDurations(
  task: Pick<TaskState, 'submittedAt' | 'endedAt' | 'runningSince' | 'jobDurationMs'>,
  nowMs: number,
): Durations {
  const end = task.endedAt ?? nowMs;
  const running = task.runningSince !== undefined ? Math.max(0, end - task.runningSince) : 0;
  return { totalMs: Math.max(0, end - task.submittedAt), jobMs: task.jobDurationMs + running };
}

/**
 * The aggregate row of a job (SkyPilot's format_job_table): submitted at the earliest task
 * submission; total duration to the latest task end once every task has ended, else to now; job
 * duration and recoveries summed over tasks.
 */
export function jobDurations(job: Pick<JobRecord, 'tasks'>, nowMs: number): Durations & { submittedAt: number; recoveries: number } {
  const submittedAt = Math.min(...job.tasks.map((t) => t.submittedAt));
  const allEnded = job.tasks.every((t) => t.endedAt !== undefined);
  const end = allEnded ? Math.max(...job.tasks.map((t) => t.endedAt as number)) : nowMs;
  let jobMs = 0;
  let recoveries = 0;
  for (const t of job.tasks) {
    jobMs += taskDurations(t, nowMs).jobMs;
    recoveries += t.recoveryCount;
  }
  return { submittedAt, totalMs: Math.max(0, end - submittedAt), jobMs, recoveries };
}

/**
 * Every exit code of the skyless CLI, the one definition (docs/behaviour.md, "Exit codes"). A job
 * outcome (`jobs launch`, `jobs logs`) uses SkyPilot's 0/100-103; other commands 0, 1 or 2. USAGE
 * covers every "the input is wrong" case: bad flags, an invalid or missing spec, resources no
 * instance can satisfy. cli/io.ts EXIT names the generic ones for commands.
 */
export const EXIT_CODES = {
  SUCCEEDED: 0,
  FAILURE: 1,
  USAGE: 2,
  FAILED: 100,
  NOT_FINISHED: 101,
  NOT_FOUND: 102,
  CANCELLED: 103,
} as const;

/** 0 SUCCEEDED, 100 any failure status, 101 not finished, 102 not found (undefined), 103 CANCELLED. */
export function exitCodeFor(status: TaskStatus | undefined): number {
  if (status === undefined) return EXIT_CODES.NOT_FOUND;
  if (status === 'SUCCEEDED') return EXIT_CODES.SUCCEEDED;
  if (status === 'CANCELLED') return EXIT_CODES.CANCELLED;
  if (isFailure(status)) return EXIT_CODES.FAILED;
  if (!isTerminal(status)) return EXIT_CODES.NOT_FINISHED;
  throw new Error(`exitCodeFor: terminal status ${status} has no exit code`);
}

/** One attempt's outcome in words (the controller log). */
export function describeOutcome(o: AttemptOutcome): string {
  switch (o.kind) {
    case 'SUCCEEDED':
      return 'succeeded';
    case 'SETUP_FAILED':
      return `setup failed, exit codes [${o.exitCodes.map((c) => c ?? '-').join(', ')}]`;
    case 'RUN_FAILED':
      return `run failed, exit codes [${o.exitCodes.map((c) => c ?? '-').join(', ')}]`;
    case 'LOST':
      return `lost: ${o.reason}`;
    case 'CANCELLED':
      return 'cancelled';
  }
}
