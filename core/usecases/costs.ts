// Spend over a time range, from the recorded attempts: an ended attempt's cost (set at teardown from
// its price, node count and duration) is counted on the UTC day it ended; a live attempt is counted
// as an estimate so far (price × nodes × time since launch), flagged as such.
//
// Bounded work: jobs are read newest first, a page at a time, and the scan stops at the first job
// submitted more than COST_LOOKBACK_MS before `from` (job IDs grow with submission time, so older
// ones cannot be newer), or after COST_MAX_JOBS jobs; the answer says which bound ended it, so a
// partial sum never passes for a complete one.

import type { AttemptRecord, JobRecord } from '../job/records.ts';
import { ValidationError } from '../errors.ts';
import type { Deps } from './deps.ts';

export const COST_MAX_JOBS = 5_000;
/** Jobs submitted up to this long before the range may still have attempts ending in it. */
export const COST_LOOKBACK_MS = 14 * 24 * 3_600_000;
export const COST_MAX_RANGE_MS = 92 * 24 * 3_600_000;
const DAY_MS = 24 * 3_600_000;

export interface CostQuery {
  from: number;
  to: number;
  /** Only this user's jobs (all users when undefined). */
  user?: string;
}

export interface CostReport {
  from: number;
  to: number;
  totalUsd: number;
  /** One entry per UTC day of the range, oldest first (zero days included, for charts). */
  days: { day: string; usd: number }[];
  byUser: { user: string; usd: number }[];
  byPool: { pool: string; usd: number }[];
  /** Part of totalUsd that is live attempts' cost so far (not final). */
  estimatedUsd: number;
  attempts: number;
  jobsScanned: number;
  /** Set when the scan stopped at COST_MAX_JOBS rather than at the start of the range. */
  truncated: boolean;
}

export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The attempt's cost and the time it is counted at: final when ended, an estimate when live. */
export function attemptCost(a: AttemptRecord, now: number): { usd: number; at: number; estimated: boolean } {
  if (a.state === 'ENDED' && a.costUsd !== undefined) return { usd: a.costUsd, at: a.endedAt ?? a.startedAt, estimated: false };
  const hours = Math.max(0, (a.endedAt ?? now) - a.startedAt) / 3_600_000;
  return { usd: a.candidate.hourlyPrice * Math.max(1, a.nodes.length) * hours, at: a.endedAt ?? now, estimated: a.state !== 'ENDED' };
}

export async function costReport(deps: Deps, q: CostQuery): Promise<CostReport> {
  if (!(q.to > q.from)) throw new ValidationError('to must be after from');
  if (q.to - q.from > COST_MAX_RANGE_MS) throw new ValidationError(`the range may span at most ${COST_MAX_RANGE_MS / DAY_MS} days`);
  const now = deps.clock.now();
  const perDay = new Map<string, number>();
  for (let d = Math.floor(q.from / DAY_MS) * DAY_MS; d < q.to; d += DAY_MS) perDay.set(utcDay(d), 0);
  const perUser = new Map<string, number>();
  const perPool = new Map<string, number>();
  let total = 0;
  let estimated = 0;
  let attempts = 0;
  let scanned = 0;
  let truncated = false;
  let cursor: string | undefined;
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  scan: do {
    const page = await deps.store.listJobs({ limit: 200, cursor, user: q.user });
    for (const job of page.jobs) {
      if (job.submittedAt < q.from - COST_LOOKBACK_MS) break scan;
      if (scanned >= COST_MAX_JOBS) {
        truncated = true;
        break scan;
      }
      scanned++;
      if (job.submittedAt >= q.to || !launched(job)) continue;
      for (const a of await deps.store.listAttempts(job.jobId)) {
        const c = attemptCost(a, now);
        if (c.at < q.from || c.at >= q.to || c.usd === 0) continue;
        attempts++;
        total += c.usd;
        if (c.estimated) estimated += c.usd;
        add(perDay, utcDay(c.at), c.usd);
        add(perUser, job.user, c.usd);
        if (job.pool) add(perPool, job.pool, c.usd);
      }
    }
    cursor = page.nextCursor;
  } while (cursor);
  const sorted = <K extends string>(m: Map<string, number>, key: K) =>
    [...m].sort((a, b) => b[1] - a[1]).map(([k, usd]) => ({ [key]: k, usd }) as { [P in K]: string } & { usd: number });
  return {
    from: q.from,
    to: q.to,
    totalUsd: total,
    days: [...perDay].map(([day, usd]) => ({ day, usd })),
    byUser: sorted(perUser, 'user'),
    byPool: sorted(perPool, 'pool'),
    estimatedUsd: estimated,
    attempts,
    jobsScanned: scanned,
    truncated,
  };
}

function launched(job: JobRecord): boolean {
  return job.tasks.some((t) => t.attempt > 0);
}
