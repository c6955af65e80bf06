// The closed status union (docs/behaviour.md §2). Transition rules live in ./transitions.ts, the one module through
// which every status change goes.

export const TASK_STATUSES = [
  'PENDING',
  'STARTING',
  'RUNNING',
  'RECOVERING',
  'CANCELLING',
  'SUCCEEDED',
  'CANCELLED',
  'FAILED',
  'FAILED_SETUP',
  'FAILED_PRECHECKS',
  'FAILED_NO_RESOURCE',
  'FAILED_CONTROLLER',
] as const;

export type TaskStatus = (typeof TASK_STATUSES)[number];
/** A job's status is that of its first task that has not SUCCEEDED. */
export type JobStatus = TaskStatus;

export const TERMINAL_STATUSES: ReadonlySet<TaskStatus> = new Set([
  'SUCCEEDED',
  'CANCELLED',
  'FAILED',
  'FAILED_SETUP',
  'FAILED_PRECHECKS',
  'FAILED_NO_RESOURCE',
  'FAILED_CONTROLLER',
]);

export const FAILURE_STATUSES: ReadonlySet<TaskStatus> = new Set([
  'FAILED',
  'FAILED_SETUP',
  'FAILED_PRECHECKS',
  'FAILED_NO_RESOURCE',
  'FAILED_CONTROLLER',
]);

export function isTerminal(s: TaskStatus): boolean {
  return TERMINAL_STATUSES.has(s);
}

export function isFailure(s: TaskStatus): boolean {
  return FAILURE_STATUSES.has(s);
}
