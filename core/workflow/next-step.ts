// The workflow's one decision: given the stored job and its current task's attempt, what happens next.
// Pure (no I/O, the clock injected), so every rule is a named table test (test/unit/workflow/).
// The settle loop (core/usecases/workflow/settle.ts) performs the step, re-reads, and asks again,
// until the job waits for something (a launch slot, its nodes, its run), pauses, or is done.

import type { JobRecord, AttemptRecord } from '../job/records.ts';
import { isTerminal } from '../job/status.ts';

/** What the workflow waits for, in the order of one attempt: a launch slot, every node registered, the run. */
export type WaitKind = 'SLOT' | 'NODES' | 'RUN';

export type Step =
  /** Park until a completer (scheduler, agent API, events) signals. */
  | { kind: 'WAIT'; wait: WaitKind; attempt: number }
  /** Back off until `nextLaunchAt`. */
  | { kind: 'PAUSE'; seconds: number; attempt: number }
  /** Holds a launch slot and has no live attempt: walk the candidates. */
  | { kind: 'LAUNCH' }
  /** A live attempt has an outcome (or the job a cancel) not yet applied to the task. */
  | { kind: 'APPLY_OUTCOME'; attempt: number }
  /** A live attempt that was decided (or whose task ended): terminate its instances. */
  | { kind: 'TEARDOWN'; attempt: number }
  /** A pipeline task failed or was cancelled: later tasks still to run are CANCELLED. */
  | { kind: 'CANCEL_LATER_TASKS'; task: number }
  /** A cancel was requested and nothing is live: every unfinished task → CANCELLED. */
  | { kind: 'CANCEL_IDLE' }
  /** The current task succeeded and another follows. */
  | { kind: 'NEXT_TASK'; task: number }
  /** The task has no `run`: it succeeds without a launch. */
  | { kind: 'SUCCEED_WITHOUT_RUN'; task: number }
  /** Every task has ended: release the job's files and slot. */
  | { kind: 'FINALIZE' }
  | { kind: 'DONE' };

/**
 * The next step of a job. `attempt` is the current task's attempt record (of `tasks[currentTask].attempt`),
 * if one exists. Order matters: a live attempt is dealt with before anything else (its instances cost
 * money), and a failed pipeline task's later tasks are cancelled before the job counts as ended.
 */
export function nextStep(job: JobRecord | undefined, attempt: AttemptRecord | undefined, now: number): Step {
  if (!job) return { kind: 'DONE' };
  const t = job.tasks[job.currentTask];
  const live = attempt !== undefined && attempt.attempt === t.attempt && attempt.state !== 'ENDED';

  if (live) {
    if (t.decidedAttempt === attempt.attempt || isTerminal(t.status)) return { kind: 'TEARDOWN', attempt: attempt.attempt };
    if (attempt.outcome || job.cancelRequested) return { kind: 'APPLY_OUTCOME', attempt: attempt.attempt };
    return { kind: 'WAIT', wait: attempt.state === 'PROVISIONING' ? 'NODES' : 'RUN', attempt: attempt.attempt };
  }
  // Before the job-status check: the job's status is already this task's (terminal).
  if (isTerminal(t.status) && t.status !== 'SUCCEEDED' && job.tasks.some((x) => x.index > t.index && !isTerminal(x.status))) {
    return { kind: 'CANCEL_LATER_TASKS', task: t.index };
  }
  if (isTerminal(job.status)) return job.finalizedAt ? { kind: 'DONE' } : { kind: 'FINALIZE' };
  if (job.cancelRequested || t.status === 'CANCELLING') return { kind: 'CANCEL_IDLE' };
  if (t.status === 'SUCCEEDED') return { kind: 'NEXT_TASK', task: t.index };
  if (!job.spec.tasks[t.index].run) return { kind: 'SUCCEED_WITHOUT_RUN', task: t.index };
  if (t.nextLaunchAt && t.nextLaunchAt > now) return { kind: 'PAUSE', seconds: Math.ceil((t.nextLaunchAt - now) / 1000), attempt: t.attempt };
  if (job.slot === 'LAUNCHING') return { kind: 'LAUNCH' };
  return { kind: 'WAIT', wait: 'SLOT', attempt: t.attempt };
}
