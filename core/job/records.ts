// Stored records. A job is ONE item holding its tasks' states, so that every status change is a single
// conditional write (version number) and the job's status is always consistent with its tasks; no
// multi-item transactions are needed (dynalite has none, and hot transactions do not scale).
// Attempts and events are separate items because they grow without bound.

import type { JobSpec } from '../spec/types.ts';
import type { Candidate, BlockedScope } from '../optimizer/types.ts';
import type { TaskStatus, JobStatus } from './status.ts';
import type { Cursor } from '../workflow/cursor.ts';

/**
 * Scheduler view of the job's current task. WAITING: wants a launch slot (first launch or recovery).
 * LAUNCHING: holds a launch slot (STARTING/RECOVERING while provisioning). RUNNING: holds a run slot.
 * NONE: holds nothing (back-off, teardown, finished).
 */
export type SlotState = 'NONE' | 'WAITING' | 'LAUNCHING' | 'RUNNING';

/** The Step Functions wait the job's workflow is parked in, completed by the API, events or scheduler. */
export type WaitKind = 'SLOT' | 'NODES' | 'RUN' | 'TEARDOWN';
export interface WaitToken {
  kind: WaitKind;
  token: string;
  taskIndex: number;
  /** Attempt the wait belongs to (0 for SLOT before the first launch); fences stale completions. */
  attempt: number;
  since: number;
  /**
   * The workflow state a completer sends with the token (core/workflow/cursor.ts): the parker knows
   * the execution's cycle, a completer does not. Absent on waits stored before it existed.
   */
  resume?: Cursor;
}

export interface TaskState {
  index: number;
  name: string;
  status: TaskStatus;
  /** SKYPILOT_TASK_ID, fixed at submit, identical across recoveries. */
  taskId: string;
  submittedAt: number;
  startedAt?: number;
  endedAt?: number;
  /** Set while RUNNING; job duration accumulates RUNNING time only (not provisioning or recovery). */
  runningSince?: number;
  jobDurationMs: number;
  /** Recoveries of any kind (preemption, free exit code, counted restart). */
  recoveryCount: number;
  /** Counted restarts after user-code failures (checked against max_restarts_on_errors). */
  restartCount: number;
  /** Current attempt number; 0 before the first launch. */
  attempt: number;
  /** Full candidate walks that ended with every candidate blocked (drives back-off and the limit). */
  blockedRounds: number;
  /** Scopes blocked during the current launch walk. */
  blocked: BlockedScope[];
  /** Region lost by the last preemption, for EAGER_NEXT_REGION / FAILOVER re-ordering. */
  lostRegion?: { cloud: string; region: string };
  failureReason?: string;
  /** Earliest time of the next launch walk while backing off (PENDING after every candidate was blocked). */
  nextLaunchAt?: number;
  /** The attempt whose outcome has been applied to this task's status: fences a second decision. */
  decidedAttempt?: number;
  /** True once any attempt of this task was launched: a later launch is a recovery, not a start. */
  launchedBefore?: boolean;
  /** The last attempt whose cost was added to costUsd (teardown may run twice). */
  costedAttempt?: number;
  /** Chosen resources of the current/last attempt. */
  candidate?: Candidate;
  costUsd: number;
}

export interface JobRecord {
  jobId: number;
  name: string;
  user: string;
  pool?: string;
  /** The normalized spec, secrets included: this is the only place they are stored in plain text. */
  spec: JobSpec;
  submittedAt: number;
  priority: number;
  jobRank: number;
  numJobs: number;
  tasks: TaskState[];
  /** Derived from tasks (first not SUCCEEDED); stored for the queue index and filters. */
  status: JobStatus;
  /** Index of the task the workflow is working on. */
  currentTask: number;
  slot: SlotState;
  /** When the slot state last changed (admission order is priority, then this). */
  slotSince: number;
  wait?: WaitToken;
  cancelRequested?: { at: number; by: string };
  /** Files uploaded by the CLI live under this object-store prefix until the job ends. */
  filesPrefix?: string;
  /** Buckets this job's launches created (`store` is a BucketStore kind); see core/usecases/buckets.ts. */
  createdBuckets?: { store: string; name: string; persistent: boolean }[];
  executionName?: string;
  endedAt?: number;
  /** Set by the workflow's Finalize step (files deleted, integration event sent). */
  finalizedAt?: number;
  /** Optimistic concurrency: every write is conditional on the version it read. */
  version: number;
}

export type NodePhase = 'LAUNCHED' | 'REGISTERED' | 'SETUP' | 'RUN' | 'DONE';

export interface NodeRecord {
  rank: number;
  instanceId: string;
  ip?: string;
  phase: NodePhase;
  registeredAt?: number;
  lastHeartbeatAt?: number;
  setupExitCode?: number;
  runExitCode?: number;
}

export type AttemptOutcome =
  | { kind: 'SUCCEEDED' }
  | { kind: 'SETUP_FAILED'; exitCodes: (number | null)[] }
  | { kind: 'RUN_FAILED'; exitCodes: (number | null)[] }
  /** Preemption or hardware loss: interruption, stopped/terminated by someone else, silent node. */
  | { kind: 'LOST'; reason: string }
  | { kind: 'CANCELLED' };

export interface AttemptRecord {
  jobId: number;
  taskIndex: number;
  attempt: number;
  candidate: Candidate;
  /** Zone the instances actually landed in. */
  zone?: string;
  nodes: NodeRecord[];
  state: 'PROVISIONING' | 'RUNNING' | 'ENDED';
  /** First writer wins (conditional), so one real loss yields exactly one recovery. */
  outcome?: AttemptOutcome;
  startedAt: number;
  runningAt?: number;
  endedAt?: number;
  reason?: string;
  rebalanceRecommendedAt?: number;
  costUsd?: number;
  version: number;
}

/** One line of the job's controller log. */
export interface JobEvent {
  jobId: number;
  time: number;
  /** Task index, or null for job-level notes. */
  task: number | null;
  from?: TaskStatus;
  to?: TaskStatus;
  reason: string;
  attempt?: number;
}

/** Which jobs a bulk cancel covers: every field given must match (none = every user's jobs). */
export interface CancelSelector {
  user?: string;
  name?: string;
  pool?: string;
}

/**
 * A bulk cancel (`jobs cancel -a/-u/-n/-p`), recorded before it is answered. It covers every
 * unfinished job its selector matches that was submitted at or before `at`; admission, the launch
 * step and submission honour it at once, and the scheduler's sweep cancels the jobs behind it.
 */
export interface CancelRequest {
  id: string;
  selector: CancelSelector;
  by: string;
  at: number;
  /** When a sweep found no covered job left; kept a while after for submissions still in flight. */
  doneAt?: number;
}
