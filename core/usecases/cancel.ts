// Cancel: one request for any number of jobs. A PENDING job is CANCELLED at once (nothing to tear
// down); any other goes CANCELLING, and its workflow tears the attempt down and then records
// CANCELLED. The stored flag, not the signal, is the truth: a lost signal is found by Advance.

import { isTerminal } from '../job/status.ts';
import type { JobRecord } from '../job/records.ts';
import type { Deps } from './deps.ts';
import { mutateJob } from './mutate.ts';
import { signalWait } from './completers.ts';
import { cancelIdle } from '../job/transitions.ts';
import { NotFoundError } from '../errors.ts';

export interface CancelResult {
  cancelled: number[];
  alreadyFinished: number[];
  notFound: number[];
}

async function cancelOne(deps: Deps, jobId: number, by: string): Promise<'cancelled' | 'finished'> {
  // The wait the workflow is parked in when the change is written: cancelling a PENDING job clears
  // it from the record, but the workflow must still be woken (to finalize) through its token.
  let parked: JobRecord['wait'];
  const { job } = await mutateJob(deps, jobId, (j) => {
    parked = j.wait;
    if (isTerminal(j.status)) return null;
    const now = deps.clock.now();
    const flagged: JobRecord = j.cancelRequested ? j : { ...j, cancelRequested: { at: now, by } };
    const t = flagged.tasks[flagged.currentTask];
    // Nothing is launched while PENDING (waiting for a slot, or backing off): cancel right here.
    if (t.status === 'PENDING') {
      const r = cancelIdle(flagged, now);
      if (r) return r;
    }
    return flagged === j ? null : { job: flagged, events: [{ jobId, time: now, task: flagged.currentTask, reason: `cancel requested by ${by}` }] };
  });
  if (isTerminal(job.status) && !job.cancelRequested) return 'finished';
  await signalWait(deps, job.wait ? job : { ...job, wait: parked }, ['SLOT', 'NODES', 'RUN']);
  return 'cancelled';
}

/**
 * Jobs cancelled at once by one request. On AWS the request must answer within API Gateway's 29 s:
 * 10,000 jobs × (read + conditional write + event append + token completion ≈ 60 ms) / 64 ≈ 10 s,
 * where 16 would take ≈ 40 s (bench/scale.ts measures it).
 */
export const CANCEL_CONCURRENCY = 64;

export async function cancelJobs(deps: Deps, jobIds: number[], by: string, concurrency = CANCEL_CONCURRENCY): Promise<CancelResult> {
  const result: CancelResult = { cancelled: [], alreadyFinished: [], notFound: [] };
  const queue = [...jobIds];
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      try {
        const r = await cancelOne(deps, id, by);
        (r === 'cancelled' ? result.cancelled : result.alreadyFinished).push(id);
      } catch (err) {
        if (err instanceof NotFoundError) result.notFound.push(id);
        else throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, jobIds.length)) }, worker));
  for (const list of [result.cancelled, result.alreadyFinished, result.notFound]) list.sort((a, b) => a - b);
  await deps.wakeScheduler();
  return result;
}

/** IDs selected by name / all (for `cancel -n NAME` and `cancel -a`), paging through active jobs. */
export async function activeJobIds(deps: Deps, filter: { name?: string; user?: string; pool?: string }): Promise<number[]> {
  const ids: number[] = [];
  let cursor: string | undefined;
  do {
    const page = await deps.store.listJobs({ limit: 1000, cursor, skipFinished: true, name: filter.name, user: filter.user, pool: filter.pool });
    ids.push(...page.jobs.map((j) => j.jobId));
    cursor = page.nextCursor;
  } while (cursor);
  return ids;
}
