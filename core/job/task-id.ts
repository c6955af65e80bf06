// SKYPILOT_TASK_ID (docs/behaviour.md §6): fixed when the job is created and identical across recoveries, so that
// user code can key checkpoints on it. Format, as SkyPilot's managed jobs produce it:
//   sky-managed-<YYYY-MM-DD-HH-MM-SS-ffffff>_<name>_<jobid>-<taskindex>
// where the timestamp is the job's submission time in UTC with microseconds, and <name> is the job's
// name, or `<pipeline>_<task>` for a task of a pipeline.

import { ValidationError } from '../errors.ts';

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** `YYYY-MM-DD-HH-MM-SS-ffffff` in UTC; sub-millisecond digits come from a fractional `epochMs`. */
export function skypilotTimestamp(epochMs: number): string {
  // Rounded to whole microseconds first: a fractional epoch-ms double carries float noise
  // (…5.789 may be stored as …5.78899), and epoch µs stay exact integers until the year 2255.
  const totalMicros = Math.round(epochMs * 1000);
  const whole = Math.floor(totalMicros / 1000);
  const d = new Date(whole);
  const micros = d.getUTCMilliseconds() * 1000 + (totalMicros - whole * 1000);
  return [
    pad(d.getUTCFullYear(), 4),
    pad(d.getUTCMonth() + 1, 2),
    pad(d.getUTCDate(), 2),
    pad(d.getUTCHours(), 2),
    pad(d.getUTCMinutes(), 2),
    pad(d.getUTCSeconds(), 2),
    pad(micros, 6),
  ].join('-');
}

export function skypilotTaskId(
  submittedAt: number,
  jobName: string,
  jobId: number,
  taskIndex: number,
  taskName: string | undefined,
  isPipeline: boolean,
): string {
  if (!Number.isFinite(submittedAt) || submittedAt < 0) {
    throw new ValidationError(`skypilotTaskId: submittedAt must be epoch milliseconds, got ${submittedAt}`);
  }
  if (!Number.isInteger(jobId) || jobId < 1) throw new ValidationError(`skypilotTaskId: jobId must be a positive integer, got ${jobId}`);
  if (!Number.isInteger(taskIndex) || taskIndex < 0) {
    throw new ValidationError(`skypilotTaskId: taskIndex must be a non-negative integer, got ${taskIndex}`);
  }
  if (jobName === '') throw new ValidationError('skypilotTaskId: jobName is empty');
  let name = jobName;
  if (isPipeline) {
    // Spec normalization names every pipeline task (`<pipeline>-<i>` when unnamed), so a missing
    // name here is a caller bug, not something to paper over.
    if (!taskName) throw new ValidationError(`skypilotTaskId: pipeline ${jobName} task ${taskIndex} has no name`);
    name = `${jobName}_${taskName}`;
  }
  return `sky-managed-${skypilotTimestamp(submittedAt)}_${name}_${jobId}-${taskIndex}`;
}

/** SKYPILOT_TASK_IDS: every task's id, newline-joined, in task order. */
export function skypilotTaskIds(
  submittedAt: number,
  jobName: string,
  jobId: number,
  taskNames: readonly string[],
  isPipeline: boolean,
): string {
  return taskNames.map((n, i) => skypilotTaskId(submittedAt, jobName, jobId, i, n, isPipeline)).join('\n');
}
