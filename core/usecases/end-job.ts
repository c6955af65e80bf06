// How a job's control ends: `finalize` (every task has ended: release its files and slot) and
// `failController` (the last resort when the control plane itself failed: tear down what exists and
// record FAILED_CONTROLLER). The workflow's steps and the scheduler (a stalled launch slot) use them.

import type { JobRecord, JobEvent } from '../job/records.ts';
import { isTerminal } from '../job/status.ts';
import { cancelLaterTasks } from '../job/transitions.ts';
import { currentTask, transition } from '../workflow/changes.ts';
import type { Deps } from './deps.ts';
import { providerFor } from './deps.ts';
import { mutateJob } from './mutate.ts';
import { endAttempt } from './completers.ts';
import { submissionJobIds } from './uploads.ts';
import { deleteJobBuckets } from './buckets.ts';

/** Returns whether the job is finalized (false: it has not ended). */
export async function finalize(deps: Deps, jobId: number): Promise<boolean> {
  const job = await deps.store.getJob(jobId);
  if (!job) return true;
  if (!isTerminal(job.status)) return false;
  if (job.finalizedAt) return true;
  // A `--num-jobs` array shares one upload: the last of its jobs to end deletes it. Each job is
  // terminal before it gets here, so of two ending at once at least one sees the other ended.
  const lastOfArray = await siblingsEnded(deps, job);
  if (job.filesPrefix && lastOfArray) await deps.objects.deletePrefix(job.filesPrefix);
  // Buckets this job created with `persistent: false` (an array's siblings may still use them).
  if (lastOfArray) await deleteJobBuckets(deps, job);
  await mutateJob(deps, job.jobId, (j) => (j.finalizedAt ? null : { job: { ...j, finalizedAt: deps.clock.now(), slot: 'NONE', wait: undefined } }));
  await deps.wakeScheduler();
  return true;
}

async function siblingsEnded(deps: Deps, job: JobRecord): Promise<boolean> {
  for (const id of submissionJobIds(job)) {
    if (id === job.jobId) continue;
    const sibling = await deps.store.getJob(id);
    if (sibling && sibling.filesPrefix === job.filesPrefix && !isTerminal(sibling.status)) return false;
  }
  return true;
}

export interface ControllerError {
  Error?: string;
  Cause?: string;
}

/** The last resort: tear down what exists (best effort) and record why the control plane failed. */
export async function failController(deps: Deps, jobId: number, error: ControllerError | undefined): Promise<void> {
  const reason = `controller error: ${error?.Error ?? 'unknown'}${error?.Cause ? `: ${String(error.Cause).slice(0, 500)}` : ''}`;
  const job = await deps.store.getJob(jobId);
  if (!job) return;
  const t = currentTask(job);
  if (t.attempt > 0) {
    const attempt = await deps.store.getAttempt(job.jobId, t.index, t.attempt);
    if (!attempt || attempt.state !== 'ENDED') {
      // Without an attempt record (the step failed between the provider's launch and storing its
      // answer) the instances are known only to the cloud, by their tags: ask every provider.
      const targets = attempt
        ? [{ provider: providerFor(deps, attempt.candidate.cloud), region: attempt.candidate.region as string | undefined }]
        : Object.values(deps.providers).flatMap((p) => (p ? [{ provider: p, region: undefined }] : []));
      let terminated = true;
      for (const { provider, region } of targets) {
        try {
          await provider.terminate(job.jobId, t.index, t.attempt, region);
        } catch (err) {
          terminated = false;
          deps.log?.('teardown after controller failure failed; the janitor will retry', { jobId: job.jobId, cloud: provider.cloud, error: String(err) });
        }
      }
      if (attempt && terminated) await endAttempt(deps, attempt, { reason });
    }
  }
  await mutateJob(deps, job.jobId, (j) => {
    const now = deps.clock.now();
    const tt = currentTask(j);
    const ev: JobEvent[] = [];
    let next = j;
    if (tt.status !== 'FAILED_CONTROLLER') next = transition(next, tt.index, 'FAILED_CONTROLLER', reason, now, ev);
    const r = cancelLaterTasks(next, tt.index, now);
    ev.push(...r.events);
    if (!ev.length) return null;
    return { job: { ...r.job, slot: 'NONE', slotSince: now, wait: undefined }, events: ev };
  });
  await finalize(deps, jobId);
}
