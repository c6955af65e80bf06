// Cancel. By job IDs: each job at once, in one request. By selector (`-a`, `-u`, `-n`, `-p`): the
// request is RECORDED first (a CancelRequest), so that from that moment nothing it covers launches —
// admission (scheduler grant), the launch step and submission all check it — and then the first
// SYNC_CANCEL_LIMIT jobs are cancelled before the answer and the scheduler's sweep cancels the rest,
// bounded per pass. The answer therefore costs the same for 10 jobs as for 100,000.
//
// A PENDING job is CANCELLED at once (nothing to tear down); any other goes CANCELLING, and its
// workflow tears the attempt down and then records CANCELLED. The stored flag, not the signal, is
// the truth: a lost signal is found when the workflow settles.

import { isTerminal } from '../job/status.ts';
import type { CancelRequest, CancelSelector, JobRecord } from '../job/records.ts';
import { cancelIdle } from '../job/transitions.ts';
import type { Deps } from './deps.ts';
import { mutateJob } from './mutate.ts';
import { signalWait } from './completers.ts';
import { NotFoundError } from '../errors.ts';

export interface CancelResult {
  cancelled: number[];
  alreadyFinished: number[];
  notFound: number[];
  /** A bulk cancel: its record, and whether jobs it covers remain for the background sweep. */
  request?: { id: string; at: number; background: boolean };
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
 * Jobs cancelled at once by one request. On AWS a request must answer within API Gateway's 29 s,
 * so by-ID requests are bounded by the IDs a user types, and bulk cancels by SYNC_CANCEL_LIMIT.
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

// ---- bulk cancels -------------------------------------------------------------------------------

/** Jobs a bulk cancel cancels before answering; the rest are the sweep's. */
export const SYNC_CANCEL_LIMIT = 64;
/** Jobs one sweep pass cancels at most (the scheduler tick that runs it must stay short). */
export const SWEEP_CANCEL_LIMIT = 4_000;
/**
 * A finished request is kept this long: a submission received before the cancel may still be
 * writing its job (API Gateway allows 29 s); submission checks the requests after writing.
 */
export const CANCEL_REQUEST_RETENTION_MS = 10 * 60_000;

/** The one selector rule: does `sel` select `job`? (Ownership and pools plug in here.) */
export function selects(sel: CancelSelector, job: Pick<JobRecord, 'user' | 'name' | 'pool'>): boolean {
  return (sel.user === undefined || job.user === sel.user) && (sel.name === undefined || job.name === sel.name) && (sel.pool === undefined || job.pool === sel.pool);
}

/** The request covering `job`: it selects the job, the job was submitted by its time, and the job is unfinished. */
export function coveringRequest(requests: CancelRequest[], job: JobRecord): CancelRequest | undefined {
  if (isTerminal(job.status) || job.cancelRequested) return undefined;
  return requests.find((r) => job.submittedAt <= r.at && selects(r.selector, job));
}

/** Cancels `jobs` covered by a recorded request; returns the IDs it cancelled (for admission and launch to skip). */
export async function honourCancelRequests(deps: Deps, jobs: JobRecord[], requests?: CancelRequest[]): Promise<Set<number>> {
  const reqs = requests ?? (await deps.store.listCancelRequests());
  const hit = new Set<number>();
  if (!reqs.length) return hit;
  for (const job of jobs) {
    const r = coveringRequest(reqs, job);
    if (!r) continue;
    await cancelOne(deps, job.jobId, r.by);
    hit.add(job.jobId);
  }
  return hit;
}

/** Records a bulk cancel, cancels its first jobs, and answers; the scheduler's sweep does the rest. */
export async function requestCancel(deps: Deps, selector: CancelSelector, by: string): Promise<CancelResult> {
  const request: CancelRequest = { id: deps.ids.uuid(), selector, by, at: deps.clock.now() };
  await deps.store.putCancelRequest(request);
  const { ids, more } = await coveredJobIds(deps, request, SYNC_CANCEL_LIMIT);
  const result = await cancelJobs(deps, ids, by); // wakes the scheduler, whose sweep continues
  return { ...result, request: { id: request.id, at: request.at, background: more } };
}

/** Up to `limit` unfinished jobs `request` covers, newest first; `more` when the listing did not end. */
async function coveredJobIds(deps: Deps, request: CancelRequest, limit: number): Promise<{ ids: number[]; more: boolean }> {
  const ids: number[] = [];
  let cursor: string | undefined;
  do {
    const page = await deps.store.listJobs({ limit: Math.min(1000, limit - ids.length), cursor, skipFinished: true, ...request.selector });
    ids.push(...page.jobs.filter((j) => coveringRequest([request], j)).map((j) => j.jobId));
    cursor = page.nextCursor;
  } while (cursor && ids.length < limit);
  return { ids, more: cursor !== undefined };
}

/**
 * One bounded pass over the recorded bulk cancels (run by the scheduler tick): cancels up to
 * SWEEP_CANCEL_LIMIT covered jobs; a request with none left is marked done, and dropped after
 * CANCEL_REQUEST_RETENTION_MS. Returns how many jobs it cancelled and whether work remains.
 */
export async function sweepCancelRequests(deps: Deps, limit = SWEEP_CANCEL_LIMIT): Promise<{ cancelled: number; more: boolean }> {
  const requests = await deps.store.listCancelRequests();
  const now = deps.clock.now();
  let cancelled = 0;
  let more = false;
  for (const r of requests) {
    if (r.doneAt !== undefined) {
      if (now - r.doneAt > CANCEL_REQUEST_RETENTION_MS) await deps.store.deleteCancelRequest(r);
      continue;
    }
    if (cancelled >= limit) {
      more = true;
      continue;
    }
    const { ids, more: left } = await coveredJobIds(deps, r, limit - cancelled);
    if (ids.length) cancelled += (await cancelJobs(deps, ids, r.by)).cancelled.length;
    if (!ids.length && !left) await deps.store.putCancelRequest({ ...r, doneAt: now });
    else more = true;
  }
  return { cancelled, more };
}
