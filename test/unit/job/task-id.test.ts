import { describe, it, expect } from 'vitest';
import { skypilotTaskId, skypilotTaskIds, skypilotTimestamp } from '../../../core/job/task-id.ts';
import { ValidationError } from '../../../core/errors.ts';

// 2023-07-06T21:18:31.563Z, the moment in SkyPilot's documented example id.
const SUBMITTED = Date.UTC(2023, 6, 6, 21, 18, 31, 563);

describe('SKYPILOT_TASK_ID (docs/behaviour.md §6)', () => {
  it('single task: sky-managed-<UTC timestamp with microseconds>_<job name>_<jobid>-<taskid>', () => {
    expect(skypilotTaskId(SUBMITTED, 'my-job-name', 1, 0, 'ignored-for-single', false)).toBe(
      'sky-managed-2023-07-06-21-18-31-563000_my-job-name_1-0',
    );
  });

  it('pipeline task: <name> is <pipeline>_<task>', () => {
    expect(skypilotTaskId(SUBMITTED, 'pipe', 42, 2, 'eval', true)).toBe('sky-managed-2023-07-06-21-18-31-563000_pipe_eval_42-2');
  });

  it('keeps sub-millisecond digits and pads every field', () => {
    expect(skypilotTimestamp(Date.UTC(2001, 0, 2, 3, 4, 5, 6) + 0.789)).toBe('2001-01-02-03-04-05-006789');
  });

  it('is stable: same inputs, same id (recoveries reuse it)', () => {
    expect(skypilotTaskId(SUBMITTED, 'j', 7, 0, undefined, false)).toBe(skypilotTaskId(SUBMITTED, 'j', 7, 0, undefined, false));
  });

  it('SKYPILOT_TASK_IDS joins every task id with newlines, in order', () => {
    expect(skypilotTaskIds(SUBMITTED, 'pipe', 3, ['a', 'b'], true).split('\n')).toEqual([
      'sky-managed-2023-07-06-21-18-31-563000_pipe_a_3-0',
      'sky-managed-2023-07-06-21-18-31-563000_pipe_b_3-1',
    ]);
  });

  it.each([
    [() => skypilotTaskId(-1, 'j', 1, 0, undefined, false), /submittedAt/],
    [() => skypilotTaskId(SUBMITTED, 'j', 0, 0, undefined, false), /jobId/],
    [() => skypilotTaskId(SUBMITTED, 'j', 1, 1.5, undefined, false), /taskIndex/],
    [() => skypilotTaskId(SUBMITTED, '', 1, 0, undefined, false), /jobName is empty/],
    [() => skypilotTaskId(SUBMITTED, 'pipe', 1, 0, undefined, true), /pipeline pipe task 0 has no name/],
  ])('rejects bad input %#', (call, message) => {
    expect(call).toThrow(ValidationError);
    expect(call).toThrow(message);
  });
});
