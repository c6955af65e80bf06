// Completers: what the API (agent reports, cancel), the events handler and the scheduler call to end
// an attempt or a wait. Each writes the stored state first, then completes the workflow's parked
// token if one is parked; the parker checks the stored state after parking (settle.ts), so one of the
// two always sees the other and a lost signal is harmless. No workflow step is imported here.

import type { JobRecord, AttemptRecord, AttemptOutcome } from '../job/records.ts';
import type { WaitKind } from '../workflow/next-step.ts';
import { ConflictError, TokenGoneError } from '../errors.ts';
import type { Deps } from './deps.ts';

/**
 * Completes the job's parked token if it is of one of `kinds` (and of `attempt`, when given), with
 * the resume state its parker stored. Returns whether a token was completed.
 */
export async function signalWait(deps: Deps, job: JobRecord, kinds: WaitKind[], attempt?: number): Promise<boolean> {
  const w = job.wait;
  if (!w || !(kinds as string[]).includes(w.kind) || (attempt !== undefined && w.attempt !== attempt)) return false;
  try {
    await deps.workflows.sendTaskSuccess(w.token, w.resume ?? {});
    return true;
  } catch (err) {
    if (err instanceof TokenGoneError) return false; // spent by a duplicate; harmless
    throw err;
  }
}

/** Records an attempt's outcome; the first writer wins (undefined when it was already decided or ended). */
export async function recordOutcome(deps: Deps, jobId: number, taskIndex: number, attemptNo: number, outcome: AttemptOutcome, reason?: string): Promise<AttemptRecord | undefined> {
  for (let i = 0; i < 12; i++) {
    const a = await deps.store.getAttempt(jobId, taskIndex, attemptNo);
    if (!a || a.state === 'ENDED' || a.outcome) return undefined;
    try {
      return await deps.store.putAttempt({ ...a, outcome, reason: reason ?? a.reason }, a.version);
    } catch (err) {
      if (err instanceof ConflictError) continue;
      throw err;
    }
  }
  throw new ConflictError(`attempt ${jobId}/${taskIndex}/${attemptNo}: too many concurrent writers`);
}

/** A node was lost (heartbeat timeout, never registered, interruption, stopped by someone else). */
export async function markLost(deps: Deps, jobId: number, taskIndex: number, attemptNo: number, reason: string): Promise<boolean> {
  const recorded = await recordOutcome(deps, jobId, taskIndex, attemptNo, { kind: 'LOST', reason }, reason);
  if (!recorded) return false;
  const job = await deps.store.getJob(jobId);
  if (job) {
    await deps.store.appendEvents([{ jobId, time: deps.clock.now(), task: taskIndex, reason: `attempt ${attemptNo} lost: ${reason}`, attempt: attemptNo }]);
    await signalWait(deps, job, ['NODES', 'RUN'], attemptNo);
  }
  return true;
}

/** Marks an attempt ENDED (its instances are gone or going), keeping the first end recorded. */
export async function endAttempt(deps: Deps, attempt: AttemptRecord, patch: Partial<AttemptRecord>): Promise<void> {
  for (let i = 0; i < 12; i++) {
    const a = await deps.store.getAttempt(attempt.jobId, attempt.taskIndex, attempt.attempt);
    if (!a || a.state === 'ENDED') return;
    try {
      await deps.store.putAttempt({ ...a, ...patch, reason: a.reason ?? patch.reason, state: 'ENDED', endedAt: deps.clock.now() }, a.version);
      return;
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
    }
  }
}
