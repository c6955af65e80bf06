// Builders for job records in tests: a minimal valid spec and tasks in their submitted state (the
// task state is the shared builder's, test/support/records.ts).
import type { JobRecord, TaskState } from '../../../core/job/records.ts';
import type { TaskSpec, JobSpec } from '../../../core/spec/types.ts';
import { makeTaskState } from '../../support/records.ts';

export function taskSpec(name: string, overrides: Partial<TaskSpec> = {}): TaskSpec {
  return {
    name,
    numNodes: 1,
    resources: {
      order: 'cheapest',
      requests: [{ infra: {}, useSpot: false, diskSizeGb: 256, ports: [], labels: {} }],
      jobRecovery: { strategy: 'EAGER_NEXT_REGION', maxRestartsOnErrors: 0, recoverOnExitCodes: [] },
      priority: 0,
    },
    envs: {},
    secrets: {},
    fileMounts: [],
    run: 'echo hi',
    ...overrides,
  };
}

export function taskState(index: number, name: string, submittedAt: number): TaskState {
  return makeTaskState({ index, name, taskId: `sky-managed-test_${name}_1-${index}`, submittedAt });
}

/** A freshly submitted job with `taskNames.length` PENDING tasks (a pipeline when more than one). */
export function newJob(taskNames: string[] = ['train'], submittedAt = 1_000_000, jobId = 1): JobRecord {
  const spec: JobSpec = { name: 'job', isPipeline: taskNames.length > 1, tasks: taskNames.map((n) => taskSpec(n)) };
  return {
    jobId,
    name: 'job',
    user: 'alice',
    spec,
    submittedAt,
    priority: 0,
    jobRank: 0,
    numJobs: 1,
    tasks: taskNames.map((n, i) => taskState(i, n, submittedAt)),
    status: 'PENDING',
    currentTask: 0,
    slot: 'WAITING',
    slotSince: submittedAt,
    version: 1,
  };
}

/** Recursively freezes a value so that any mutation by the code under test throws. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}
