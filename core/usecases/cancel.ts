// Cancel: one request for any number of jobs. A PENDING job is CANCELLED at once (nothing to tear
// down); any other goes CANCELLING, and its workflow tears the attempt down and then records
// CANCELLED. The stored flag, not the signal, is the truth: a lost signal is found by Advance.

import { isTerminal } from '../job/status.ts';
import type { JobRecord } from '../job/records.ts';
import type { Deps } from './deps.ts';
import { mutateJob } from './mutate.ts';
import { cancelAllIdle, signalWait } from './workflow-steps.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { assertCanAccess, ownerFilter, type Caller } from './ownership.ts';

export interface CancelResult {
  cancelled: number[];
  alreadyFinished: number[];
  notFound: number[];
}

async function cancelOne(deps: Deps, jobId: number, by: string, caller?: Caller): Promise<'cancelled' | 'finished'> {
  // The wait the workflow is parked in when the change is written: cancelling a PENDING job clears
  // it from the record, but the workflow must still be woken (to finalize) through its token.
  let parked: JobRecord['wait'];
  const { job } = await mutateJob(deps, jobId, (j) => {
    parked = j.wait;
    // Ownership is checked on the record the change is computed from: no window between check and write.
    if (caller) assertCanAccess(caller, j, 'cancelling');
    if (isTerminal(j.status)) return null;
    const now = deps.clock.now();
    const flagged: JobRecord = j.cancelRequested ? j : { ...j, cancelRequested: { at: now, by } };
    const t = flagged.tasks[flagged.currentTask];
    // Nothing is launched while PENDING (waiting for a slot, or backing off): cancel right here.
    if (t.status === 'PENDING') {
      const r = cancelAllIdle(flagged, now);
      if (r) return r;
    }
    return flagged === j ? null : { job: flagged, events: [{ jobId, time: now, task: flagged.currentTask, reason: `cancel requested by ${by}` }] };
  });
  if (isTerminal(job.status) && !job.cancelRequested) return 'finished';
  await signalWait(deps, job.wait ? job : { ...job, wait: parked }, ['SLOT', 'NODES', 'RUN'], undefined, { cancel: true });
  return 'cancelled';
}

/**
 * Jobs cancelled at once by one request. On AWS the request must answer within API Gateway's 29 s:
 * 10,000 jobs × (read + conditional write + event append + token completion ≈ 60 ms) / 64 ≈ 10 s,
 * where 16 would take ≈ 40 s (bench/scale.ts measures it).
 */
export const CANCEL_CONCURRENCY = 64;

/**
 * Cancels `jobIds`. `by` is a Caller for a user's request (each job's owner is checked; the whole
 * request fails with ForbiddenError on the first job the caller may not touch, before or after
 * cancelling its own), or a name for internal callers that act for the system.
 */
export async function cancelJobs(deps: Deps, jobIds: number[], by: string | Caller, concurrency = CANCEL_CONCURRENCY): Promise<CancelResult> {
  const caller = typeof by === 'string' ? undefined : by;
  const who = typeof by === 'string' ? by : by.principal;
  const result: CancelResult = { cancelled: [], alreadyFinished: [], notFound: [] };
  const queue = [...jobIds];
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      try {
        const r = await cancelOne(deps, id, who, caller);
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

export type CancelSelector = { jobIds: number[] } | { name: string; all?: boolean } | { pool: string } | { all: true; allUsers?: boolean };

/**
 * The jobs a user's cancel request names (ownership applied where they are selected): by ID as given
 * (cancelJobs checks each owner), by name / pool / all among the caller's own active jobs, or every
 * user's with `allUsers` (admins only). A name matching several jobs is refused unless `all` says
 * "every one of them" (SkyPilot's `cancel -n NAME` asks which; a non-interactive call must say).
 */
export async function selectForCancel(deps: Deps, caller: Caller, sel: CancelSelector): Promise<number[]> {
  if ('jobIds' in sel) {
    // All or nothing: a list naming another user's job cancels none (cancelOne checks again on write).
    if (!caller.admin) {
      for (let i = 0; i < sel.jobIds.length; i += CANCEL_CONCURRENCY) {
        const jobs = await Promise.all(sel.jobIds.slice(i, i + CANCEL_CONCURRENCY).map((id) => deps.store.getJob(id)));
        for (const j of jobs) if (j) assertCanAccess(caller, j, 'cancelling');
      }
    }
    return sel.jobIds;
  }
  if ('name' in sel) {
    const ids = await activeJobIds(deps, { name: sel.name, user: caller.principal });
    if (ids.length > 1 && !sel.all) {
      throw new ValidationError(`${ids.length} active managed jobs are named '${sel.name}' (IDs ${ids.slice(0, 10).join(', ')}${ids.length > 10 ? ', …' : ''}); cancel them by ID, or add --all to cancel every one`, { jobIds: ids });
    }
    return ids;
  }
  if ('pool' in sel) return activeJobIds(deps, { pool: sel.pool, user: caller.principal });
  return activeJobIds(deps, { user: ownerFilter(caller, sel.allUsers === true, 'cancelling') });
}
