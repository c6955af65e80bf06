// Step APPLY_OUTCOME: applies an attempt's recorded outcome (or the job's cancel) to its task, exactly
// once — the task's `decidedAttempt` fences a second decision. The rules are core/recovery/decide.ts's.

import type { AttemptOutcome, JobEvent, TaskState } from '../../job/records.ts';
import { isTerminal } from '../../job/status.ts';
import { transitionTask } from '../../job/transitions.ts';
import { decideAfterAttempt } from '../../recovery/decide.ts';
import { currentTask, transition, withTask } from '../../workflow/changes.ts';
import type { Deps } from '../deps.ts';
import { mutateJob } from '../mutate.ts';
import { recordOutcome } from '../completers.ts';

export async function applyOutcome(deps: Deps, jobId: number, attemptNo: number): Promise<void> {
  const job0 = await deps.store.getJob(jobId);
  if (!job0) return;
  let attempt = await deps.store.getAttempt(jobId, job0.currentTask, attemptNo);
  if (!attempt) return;
  if (!attempt.outcome && job0.cancelRequested && attempt.state !== 'ENDED') {
    // The cancel stops this attempt only if nothing ended it first: record CANCELLED as its outcome
    // (first writer wins), so that a run that finished meanwhile keeps its real status and the
    // decision below always agrees with the stored outcome.
    await recordOutcome(deps, jobId, job0.currentTask, attemptNo, { kind: 'CANCELLED' }, `cancelled by ${job0.cancelRequested.by}`);
    attempt = (await deps.store.getAttempt(jobId, job0.currentTask, attemptNo)) ?? attempt;
  }
  const decided = attempt;
  const result = await mutateJob(deps, jobId, (job) => {
    const t = currentTask(job);
    if (t.attempt !== attemptNo || t.decidedAttempt === attemptNo || isTerminal(t.status)) return null;
    const outcome: AttemptOutcome | undefined = decided.outcome ?? (job.cancelRequested ? { kind: 'CANCELLED' } : undefined);
    if (!outcome) return null;
    const now = deps.clock.now();
    const decision = decideAfterAttempt({
      recovery: job.spec.tasks[t.index].resources.jobRecovery,
      outcome,
      restartCount: t.restartCount,
      cancelRequested: job.cancelRequested !== undefined,
    });
    const events: JobEvent[] = [];
    let j = job;
    let patch: Partial<TaskState> = { decidedAttempt: attemptNo };
    switch (decision.action) {
      case 'SUCCEED':
        j = transition(j, t.index, 'SUCCEEDED', 'every node exited 0', now, events);
        break;
      case 'FAIL':
        j = transition(j, t.index, decision.status, decision.reason, now, events);
        break;
      case 'CANCEL':
        if (t.status !== 'CANCELLING') j = transition(j, t.index, 'CANCELLING', 'cancel requested', now, events);
        break;
      case 'RECOVER': {
        // transitionTask counts the recovery (and the restart, when counted); RECOVERING → RECOVERING
        // is a new recovery of a task that was still relaunching.
        const r = transitionTask(j, t.index, 'RECOVERING', decision.reason, now, { countedRestart: decision.counted });
        events.push(r.event);
        j = r.job;
        patch = {
          ...patch,
          lostRegion: outcome.kind === 'LOST' ? { cloud: decided.candidate.cloud, region: decided.candidate.region } : j.tasks[t.index].lostRegion,
          blocked: [],
          blockedRounds: 0,
          nextLaunchAt: undefined,
        };
        break;
      }
    }
    j = withTask(j, patch, t.index);
    return { job: { ...j, slot: 'NONE', slotSince: now, wait: undefined }, events };
  });
  if (result.changed) await deps.wakeScheduler();
}
