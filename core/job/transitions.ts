// The one module through which every task status change goes (docs/behaviour.md §2). Pure: the caller supplies
// `now`, and every function returns new records instead of changing the ones it was given, so a
// caller can retry a conditional write from the record it read without undoing anything.
//
// Two levels of rule:
//  - canTransition(from, to): the status graph alone (docs/behaviour.md §2, plus the edges listed below).
//  - transitionTask(...): the graph plus rules that need the task's history (whether PENDING resumes
//    a first launch or a recovery) and the bookkeeping that goes with each change.
//
// Edges beyond the literal text of docs/behaviour.md §2, and why:
//  - PENDING→RECOVERING: a recovery that backed off (RECOVERING→PENDING) resumes as RECOVERING, not
//    STARTING; STARTING means "first launch of this task". Which of the two PENDING may go to is
//    decided by the task's recoveryCount (0 → STARTING only, >0 → RECOVERING only).
//  - PENDING→FAILED_PRECHECKS: nothing feasible before any launch attempt (docs/behaviour.md §3).
//  - STARTING→RECOVERING and RECOVERING→RECOVERING: instances of a launch were lost before the task
//    reached RUNNING (a node that never reports, docs/behaviour.md §3); the relaunch is a recovery.
//  - PENDING→CANCELLED: a pending task (no instances) is cancelled at once, also used for the later
//    tasks of a pipeline whose earlier task failed (docs/behaviour.md §2, §7).
//  - CANCELLING→SUCCEEDED|FAILED|FAILED_SETUP: the run finished before the cancel took effect and keeps
//    its real terminal status (docs/behaviour.md §2).
//  - FAILED_CONTROLLER→FAILED_CONTROLLER: "any→FAILED_CONTROLLER" includes a second control-plane
//    failure; its reason is put before the earlier one.

import { InvalidTransitionError } from '../errors.ts';
import type { JobEvent, JobRecord, TaskState } from './records.ts';
import { TASK_STATUSES, isFailure, isTerminal, type JobStatus, type TaskStatus } from './status.ts';

const NON_TERMINAL_EXCEPT_CANCELLING: readonly TaskStatus[] = ['PENDING', 'STARTING', 'RUNNING', 'RECOVERING'];

/** Allowed targets per source status, FAILED_CONTROLLER excluded (it is reachable from every status). */
const EDGES: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  PENDING: ['STARTING', 'RECOVERING', 'FAILED_PRECHECKS', 'CANCELLING', 'CANCELLED'],
  STARTING: ['RUNNING', 'PENDING', 'RECOVERING', 'FAILED_PRECHECKS', 'FAILED_NO_RESOURCE', 'CANCELLING'],
  RUNNING: ['SUCCEEDED', 'FAILED', 'FAILED_SETUP', 'RECOVERING', 'CANCELLING'],
  RECOVERING: ['RUNNING', 'PENDING', 'RECOVERING', 'FAILED_PRECHECKS', 'FAILED_NO_RESOURCE', 'CANCELLING'],
  CANCELLING: ['CANCELLED', 'SUCCEEDED', 'FAILED', 'FAILED_SETUP'],
  SUCCEEDED: [],
  CANCELLED: [],
  FAILED: [],
  FAILED_SETUP: [],
  FAILED_PRECHECKS: [],
  FAILED_NO_RESOURCE: [],
  FAILED_CONTROLLER: [],
};

/** Whether docs/behaviour.md §2's status graph allows `from`→`to` (task history aside; see transitionTask). */
export function canTransition(from: TaskStatus, to: TaskStatus): boolean {
  if (to === 'FAILED_CONTROLLER') return true;
  return EDGES[from].includes(to);
}

/** Every status `from` may move to, FAILED_CONTROLLER included. */
export function allowedTargets(from: TaskStatus): TaskStatus[] {
  return TASK_STATUSES.filter((to) => canTransition(from, to));
}

/**
 * A job's status: that of its first task that has not SUCCEEDED; SUCCEEDED when all have.
 * A pipeline whose task 0 SUCCEEDED and task 1 is PENDING is therefore PENDING.
 */
export function deriveJobStatus(tasks: readonly Pick<TaskState, 'status'>[]): JobStatus {
  if (tasks.length === 0) throw new InvalidTransitionError('a job has at least one task; got none');
  const open = tasks.find((t) => t.status !== 'SUCCEEDED');
  return open ? open.status : 'SUCCEEDED';
}

export interface TransitionOptions {
  /**
   * Entering RECOVERING because of a counted restart after a user-code failure
   * (decideAfterAttempt returned `counted: true`): restartCount goes up by one.
   */
  countedRestart?: boolean;
}

export interface TransitionResult {
  job: JobRecord;
  event: JobEvent;
}

/**
 * Moves task `taskIndex` of `job` to `to` and returns the new job record and the controller-log
 * event. Throws InvalidTransitionError when docs/behaviour.md §2 forbids the change.
 *
 * Bookkeeping (all on the returned copy):
 *  - startedAt: the first time the task enters RUNNING (SkyPilot's `start_at` is likewise when the
 *    job first runs, not when provisioning begins); never changed afterwards.
 *  - runningSince / jobDurationMs: job duration counts time in RUNNING only. Entering RUNNING sets
 *    runningSince; leaving it adds the interval to jobDurationMs and clears runningSince.
 *  - Entering RUNNING also resets blockedRounds and blocked: a max_launch_attempts bound counts the
 *    walks of one launch, and a later recovery starts its own count.
 *  - recoveryCount: +1 when entering RECOVERING from STARTING, RUNNING or RECOVERING (a new
 *    recovery); PENDING→RECOVERING resumes a recovery that backed off and does not count again.
 *  - endedAt: set on entering a terminal status; kept as it was when a terminal task is overridden
 *    by FAILED_CONTROLLER (the task did end then).
 *  - failureReason: set to `reason` on entering a failure status; FAILED_CONTROLLER puts the new
 *    reason before the old one (`new; old`).
 *  - The job's status is re-derived; the job's endedAt is set once every task is terminal.
 */
export function transitionTask(
  job: JobRecord,
  taskIndex: number,
  to: TaskStatus,
  reason: string,
  now: number,
  options: TransitionOptions = {},
): TransitionResult {
  const task = job.tasks[taskIndex];
  if (!Number.isInteger(taskIndex) || task === undefined) {
    throw new InvalidTransitionError(
      `job ${job.jobId}: no task ${taskIndex} (the job has ${job.tasks.length} task(s))`,
    );
  }
  const where = `job ${job.jobId} task ${taskIndex} (${task.name})`;
  if (!Number.isFinite(now)) throw new InvalidTransitionError(`${where}: transition time must be a finite number, got ${now}`);
  if (reason.trim() === '') throw new InvalidTransitionError(`${where}: a transition needs a reason (it is the controller log)`);
  const from = task.status;
  if (!canTransition(from, to)) {
    throw new InvalidTransitionError(`${where}: ${from} → ${to} is not allowed (docs/behaviour.md §2)`);
  }
  if (from === 'PENDING' && to === 'STARTING' && task.recoveryCount > 0) {
    throw new InvalidTransitionError(
      `${where}: PENDING → STARTING after ${task.recoveryCount} recovery(ies); a resumed recovery goes to RECOVERING`,
    );
  }
  if (from === 'PENDING' && to === 'RECOVERING' && task.recoveryCount === 0) {
    throw new InvalidTransitionError(`${where}: PENDING → RECOVERING before any recovery; a first launch goes to STARTING`);
  }
  if (options.countedRestart && (to !== 'RECOVERING' || from === 'PENDING')) {
    throw new InvalidTransitionError(`${where}: a counted restart starts a recovery; it cannot accompany ${from} → ${to}`);
  }

  const next: TaskState = { ...task, status: to };

  if (from === 'RUNNING' && to !== 'RUNNING') {
    const since = task.runningSince ?? now;
    next.jobDurationMs = task.jobDurationMs + Math.max(0, now - since);
    delete next.runningSince;
  }
  if (to === 'RUNNING') {
    next.runningSince = now;
    next.startedAt = task.startedAt ?? now;
    next.blockedRounds = 0;
    next.blocked = [];
  }
  if (to === 'RECOVERING' && from !== 'PENDING') {
    next.recoveryCount = task.recoveryCount + 1;
    if (options.countedRestart) next.restartCount = task.restartCount + 1;
  }
  if (isTerminal(to)) {
    next.endedAt = isTerminal(from) && task.endedAt !== undefined ? task.endedAt : now;
  }
  if (to === 'FAILED_CONTROLLER') {
    next.failureReason = task.failureReason ? `${reason}; ${task.failureReason}` : reason;
  } else if (isFailure(to)) {
    next.failureReason = reason;
  }

  const tasks = job.tasks.map((t, i) => (i === taskIndex ? next : t));
  const status = deriveJobStatus(tasks);
  const updated: JobRecord = { ...job, tasks, status };
  if (tasks.every((t) => isTerminal(t.status))) {
    updated.endedAt = job.endedAt ?? now;
  }

  const event: JobEvent = { jobId: job.jobId, time: now, task: taskIndex, from, to, reason };
  if (task.attempt > 0) event.attempt = task.attempt;
  return { job: updated, event };
}

export interface MultiTransitionResult {
  job: JobRecord;
  events: JobEvent[];
}

/**
 * Pipelines: after task `afterIndex` ended in a failure (or was cancelled), every later task that is
 * still PENDING becomes CANCELLED. Later tasks already terminal are left alone (so a retried call is
 * harmless); a later task that is neither PENDING nor terminal means the pipeline ran out of order,
 * and transitionTask's InvalidTransitionError says so.
 */
export function cancelLaterTasks(job: JobRecord, afterIndex: number, now: number, reason?: string): MultiTransitionResult {
  const ended = job.tasks[afterIndex];
  if (!Number.isInteger(afterIndex) || ended === undefined) {
    throw new InvalidTransitionError(`job ${job.jobId}: no task ${afterIndex} (the job has ${job.tasks.length} task(s))`);
  }
  const why = reason ?? `earlier task ${afterIndex} (${ended.name}) ended ${ended.status}`;
  let current = job;
  const events: JobEvent[] = [];
  for (let i = afterIndex + 1; i < job.tasks.length; i++) {
    if (isTerminal(current.tasks[i].status)) continue;
    const r = transitionTask(current, i, 'CANCELLED', why, now);
    current = r.job;
    events.push(r.event);
  }
  return { job: current, events };
}

/**
 * A user's cancel request (docs/behaviour.md §2, §7): every PENDING task becomes CANCELLED at once; every task that
 * may hold instances (STARTING, RUNNING, RECOVERING) becomes CANCELLING until its cleanup is done;
 * CANCELLING and terminal tasks are left alone, so repeating the request changes nothing.
 * Records who asked and when (the first request wins).
 */
export function requestCancel(job: JobRecord, by: string, now: number, reason = `cancelled by ${by}`): MultiTransitionResult {
  let current: JobRecord = { ...job, cancelRequested: job.cancelRequested ?? { at: now, by } };
  const events: JobEvent[] = [];
  for (let i = 0; i < job.tasks.length; i++) {
    const status = current.tasks[i].status;
    if (status === 'PENDING') {
      const r = transitionTask(current, i, 'CANCELLED', reason, now);
      current = r.job;
      events.push(r.event);
    } else if (NON_TERMINAL_EXCEPT_CANCELLING.includes(status)) {
      const r = transitionTask(current, i, 'CANCELLING', reason, now);
      current = r.job;
      events.push(r.event);
    }
  }
  return { job: current, events };
}

/**
 * A cancel with nothing live (no attempt whose instances may exist): every unfinished task →
 * CANCELLED (through CANCELLING when it had started), and the job gives up its slot and wait. Null
 * when no cancel is recorded or nothing is left to cancel.
 */
export function cancelIdle(job: JobRecord, now: number): MultiTransitionResult | null {
  if (!job.cancelRequested) return null;
  const events: JobEvent[] = [];
  let j = job;
  for (const t of job.tasks) {
    if (isTerminal(t.status)) continue;
    if (t.status !== 'PENDING' && t.status !== 'CANCELLING') {
      const r = transitionTask(j, t.index, 'CANCELLING', 'cancel requested', now);
      j = r.job;
      events.push(r.event);
    }
    const r = transitionTask(j, t.index, 'CANCELLED', 'cancelled by user', now);
    j = r.job;
    events.push(r.event);
  }
  if (!events.length) return null;
  return { job: { ...j, slot: 'NONE', slotSince: now, wait: undefined }, events };
}
