// The workflow's one decision, as a table: each row a named situation of the stored job and its
// current attempt, and the step nextStep() must name (core/workflow/next-step.ts).
import { describe, it, expect } from 'vitest';
import { nextStep, type Step } from '../../../core/workflow/next-step.ts';
import type { AttemptRecord, JobRecord, TaskState } from '../../../core/job/records.ts';
import { newJob, taskSpec } from '../job/job-fixture.ts';
import { makeAttemptRecord } from '../../support/records.ts';

const NOW = 5_000_000;

function job(tasks: Partial<TaskState>[], extra: Partial<JobRecord> = {}): JobRecord {
  const j = newJob(tasks.map((_, i) => `t${i}`));
  const merged = j.tasks.map((t, i) => ({ ...t, ...tasks[i] }));
  const status = merged.find((t) => t.status !== 'SUCCEEDED')?.status ?? 'SUCCEEDED';
  return { ...j, tasks: merged, status, ...extra };
}

function attempt(n: number, extra: Partial<AttemptRecord> = {}): AttemptRecord {
  return makeAttemptRecord({ jobId: 1, attempt: n, ...extra });
}

const cancel = { cancelRequested: { at: NOW - 10, by: 'alice' } };

const TABLE: [string, JobRecord | undefined, AttemptRecord | undefined, Step][] = [
  ['a job that does not exist is done', undefined, undefined, { kind: 'DONE' }],
  ['a new job waits for a launch slot', job([{}]), undefined, { kind: 'WAIT', wait: 'SLOT', attempt: 0 }],
  ['a granted slot launches', job([{}], { slot: 'LAUNCHING' }), undefined, { kind: 'LAUNCH' }],
  ['a launch backing off pauses until nextLaunchAt', job([{ nextLaunchAt: NOW + 2500, attempt: 1 }], { slot: 'NONE' }), undefined, { kind: 'PAUSE', seconds: 3, attempt: 1 }],
  ['a back-off that has passed waits for a slot again', job([{ nextLaunchAt: NOW - 1, attempt: 1 }], { slot: 'NONE' }), undefined, { kind: 'WAIT', wait: 'SLOT', attempt: 1 }],
  ['a provisioning attempt waits for its nodes', job([{ status: 'STARTING', attempt: 1 }], { slot: 'LAUNCHING' }), attempt(1, { state: 'PROVISIONING' }), { kind: 'WAIT', wait: 'NODES', attempt: 1 }],
  ['a running attempt waits for its run', job([{ status: 'RUNNING', attempt: 1 }], { slot: 'RUNNING' }), attempt(1, { state: 'RUNNING' }), { kind: 'WAIT', wait: 'RUN', attempt: 1 }],
  ['an attempt with an outcome has it applied', job([{ status: 'RUNNING', attempt: 1 }]), attempt(1, { state: 'RUNNING', outcome: { kind: 'SUCCEEDED' } }), { kind: 'APPLY_OUTCOME', attempt: 1 }],
  ['a cancel of a running attempt is applied as its outcome', job([{ status: 'CANCELLING', attempt: 1 }], cancel), attempt(1, { state: 'RUNNING' }), { kind: 'APPLY_OUTCOME', attempt: 1 }],
  ['a decided attempt is torn down', job([{ status: 'RECOVERING', attempt: 1, decidedAttempt: 1 }]), attempt(1, { state: 'RUNNING', outcome: { kind: 'LOST', reason: 'x' } }), { kind: 'TEARDOWN', attempt: 1 }],
  ['a live attempt of an ended task is torn down', job([{ status: 'SUCCEEDED', attempt: 1 }]), attempt(1, { state: 'RUNNING' }), { kind: 'TEARDOWN', attempt: 1 }],
  ['an ended attempt of a succeeded job finalizes', job([{ status: 'SUCCEEDED', attempt: 1 }]), attempt(1, { state: 'ENDED' }), { kind: 'FINALIZE' }],
  ['a finalized job is done', job([{ status: 'SUCCEEDED', attempt: 1 }], { finalizedAt: NOW - 1 }), attempt(1, { state: 'ENDED' }), { kind: 'DONE' }],
  ['a recovering task with its attempt ended waits for a slot', job([{ status: 'RECOVERING', attempt: 1, decidedAttempt: 1 }], { slot: 'NONE' }), attempt(1, { state: 'ENDED' }), { kind: 'WAIT', wait: 'SLOT', attempt: 1 }],
  ['a failed pipeline task cancels the tasks after it', job([{ status: 'FAILED', attempt: 1 }, {}]), attempt(1, { state: 'ENDED' }), { kind: 'CANCEL_LATER_TASKS', task: 0 }],
  ['a succeeded pipeline task moves on to the next', job([{ status: 'SUCCEEDED', attempt: 1 }, {}]), attempt(1, { state: 'ENDED' }), { kind: 'NEXT_TASK', task: 0 }],
  ['a cancel with nothing live cancels every task', job([{}], cancel), undefined, { kind: 'CANCEL_IDLE' }],
  ['a task left CANCELLING with nothing live is cancelled', job([{ status: 'CANCELLING', attempt: 1 }]), attempt(1, { state: 'ENDED' }), { kind: 'CANCEL_IDLE' }],
  ['a task without run succeeds without a launch', { ...job([{}]), spec: { name: 'job', isPipeline: false, tasks: [taskSpec('t0', { run: undefined })] } }, undefined, { kind: 'SUCCEED_WITHOUT_RUN', task: 0 }],
  ['an attempt record of an older attempt is not live', job([{ status: 'RECOVERING', attempt: 2, decidedAttempt: 1 }], { slot: 'LAUNCHING' }), attempt(1, { state: 'RUNNING' }), { kind: 'LAUNCH' }],
];

describe('nextStep', () => {
  it.each(TABLE)('%s', (_name, j, a, expected) => {
    expect(nextStep(j, a, NOW)).toEqual(expected);
  });
});
