// Small pure changes of a job record that the workflow's steps write (each through mutateJob, as one
// conditional write). Status changes go through core/job/transitions.ts; these add the bookkeeping.

import type { JobRecord, JobEvent, TaskState } from '../job/records.ts';
import type { TaskStatus } from '../job/status.ts';
import { transitionTask } from '../job/transitions.ts';

export interface JobChange {
  job: JobRecord;
  events?: JobEvent[];
}

export function currentTask(job: JobRecord): TaskState {
  return job.tasks[job.currentTask];
}

/** Applies one status change through the one transition module, collecting its event. */
export function transition(job: JobRecord, taskIndex: number, to: TaskStatus, reason: string, now: number, events: JobEvent[]): JobRecord {
  const r = transitionTask(job, taskIndex, to, reason, now);
  events.push(r.event);
  return r.job;
}

export function withTask(job: JobRecord, patch: Partial<TaskState>, index = job.currentTask): JobRecord {
  return { ...job, tasks: job.tasks.map((t) => (t.index === index ? { ...t, ...patch } : t)) };
}

export function note(job: JobRecord, reason: string, now: number, attempt?: number): JobEvent {
  return { jobId: job.jobId, time: now, task: job.currentTask, reason, attempt };
}

/** A task with no `run` command: PENDING → STARTING → RUNNING → SUCCEEDED at once. */
export function succeedWithoutRun(job: JobRecord, index: number, now: number): JobChange | null {
  const t = job.tasks[index];
  if (t.status !== 'PENDING' || job.currentTask !== index) return null;
  const events: JobEvent[] = [];
  let j = transition(job, index, 'STARTING', 'task has no run command', now, events);
  j = transition(j, index, 'RUNNING', 'task has no run command', now, events);
  j = transition(j, index, 'SUCCEEDED', 'task has no run command: nothing to run', now, events);
  return { job: j, events };
}

/** The current task succeeded and a later one follows: move on to it. */
export function advanceTask(job: JobRecord, index: number): JobChange | null {
  return job.currentTask === index && job.tasks[index].status === 'SUCCEEDED' && index + 1 < job.tasks.length ? { job: { ...job, currentTask: index + 1 } } : null;
}

/** The current task ends in `status`; the job gives up its slot and wait. */
export function failTask(job: JobRecord, status: TaskStatus, reason: string, now: number): JobChange {
  const events: JobEvent[] = [];
  const t = currentTask(job);
  const j = transition(job, t.index, status, reason, now, events);
  return { job: { ...j, slot: 'NONE', slotSince: now, wait: undefined }, events };
}
