// Realistic stored-record fixtures (core/job/records.ts) for store and use-case tests. Every factory
// takes overrides; the defaults describe a one-task GPU spot job as `skyless jobs launch` stores it.

import type { AttemptRecord, JobEvent, JobRecord, NodeRecord, TaskState } from '../../core/job/records.ts';
import type { JobStatus } from '../../core/job/status.ts';
import type { Candidate } from '../../core/optimizer/types.ts';
import type { JobSpec, TaskSpec } from '../../core/spec/types.ts';

export const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

export function makeTaskSpec(overrides: Partial<TaskSpec> = {}): TaskSpec {
  return {
    name: 'train',
    workdir: '.',
    numNodes: 1,
    resources: {
      order: 'cheapest',
      requests: [
        {
          infra: { cloud: 'aws' },
          accelerator: { name: 'A100', count: 8 },
          useSpot: true,
          diskSizeGb: 256,
          ports: [],
          labels: {},
        },
      ],
      jobRecovery: { strategy: 'EAGER_NEXT_REGION', maxRestartsOnErrors: 2, recoverOnExitCodes: [33] },
      priority: 0,
    },
    envs: { MODEL: 'llama-3-8b', EPOCHS: '3' },
    secrets: { HF_TOKEN: 'hf_secret_value' },
    fileMounts: [{ dest: '/data', kind: 'cloud', source: 's3://datasets/imagenet' }],
    setup: 'pip install -r requirements.txt',
    run: 'torchrun --nproc_per_node=8 train.py --epochs $EPOCHS',
    ...overrides,
  };
}

export function makeJobSpec(overrides: Partial<JobSpec> = {}): JobSpec {
  return { name: 'train', isPipeline: false, tasks: [makeTaskSpec()], ...overrides };
}

export function makeCandidate(overrides: Partial<Candidate> = {}): Candidate {
  return {
    cloud: 'aws',
    region: 'us-east-1',
    zones: ['us-east-1a'],
    instanceType: 'p4d.24xlarge',
    vcpus: 96,
    memoryGb: 1152,
    accelerator: { name: 'A100', count: 8 },
    spot: true,
    hourlyPrice: 9.83,
    requestIndex: 0,
    ...overrides,
  };
}

export function makeTaskState(overrides: Partial<TaskState> = {}): TaskState {
  return {
    index: 0,
    name: 'train',
    status: 'PENDING',
    taskId: 'sky-managed-2025-01-01-12-00-00-000000_train_1-0',
    submittedAt: T0,
    jobDurationMs: 0,
    recoveryCount: 0,
    restartCount: 0,
    attempt: 0,
    blockedRounds: 0,
    blocked: [],
    costUsd: 0,
    ...overrides,
  };
}

/**
 * A job record. `status` also sets the first task's status, so the record stays self-consistent
 * (a job's status is its first not-SUCCEEDED task's); pass `tasks` to control tasks yourself.
 */
export function makeJobRecord(overrides: Partial<JobRecord> & { jobId: number }): JobRecord {
  const status: JobStatus = overrides.status ?? 'PENDING';
  const name = overrides.name ?? 'train';
  const submittedAt = overrides.submittedAt ?? T0 + overrides.jobId * 1000;
  return {
    name,
    user: 'alice',
    spec: makeJobSpec({ name }),
    submittedAt,
    priority: 0,
    jobRank: 0,
    numJobs: 1,
    tasks: [
      makeTaskState({
        name,
        status,
        submittedAt,
        taskId: `sky-managed-${overrides.jobId}_${name}_${overrides.jobId}-0`,
      }),
    ],
    status,
    currentTask: 0,
    slot: 'NONE',
    slotSince: submittedAt,
    filesPrefix: `jobs/${overrides.jobId}/`,
    executionName: `job-${overrides.jobId}`,
    version: 0,
    ...overrides,
  };
}

export function makeNode(rank: number, overrides: Partial<NodeRecord> = {}): NodeRecord {
  return { rank, instanceId: `i-0${rank}abcdef12345678`, ip: `10.0.0.${10 + rank}`, phase: 'LAUNCHED', ...overrides };
}

export function makeAttemptRecord(
  overrides: Partial<AttemptRecord> & { jobId: number; taskIndex?: number; attempt?: number },
): AttemptRecord {
  return {
    taskIndex: 0,
    attempt: 1,
    candidate: makeCandidate(),
    zone: 'us-east-1a',
    nodes: [makeNode(0)],
    state: 'PROVISIONING',
    startedAt: T0,
    version: 0,
    ...overrides,
  };
}

export function makeEvent(overrides: Partial<JobEvent> & { jobId: number }): JobEvent {
  return { time: T0, task: 0, from: 'PENDING', to: 'STARTING', reason: 'launch slot granted', ...overrides };
}
