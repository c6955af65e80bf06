// The ports of the hexagon: core/ and the use cases depend on these; adapters/ implement them.
// Names are the domain's (JobStore), implementations are the technology's (DynamoJobStore).

import type { JobRecord, AttemptRecord, JobEvent, SlotState, CancelRequest } from './job/records.ts';
import type { JobStatus } from './job/status.ts';
import type { Candidate } from './optimizer/types.ts';

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export interface Ids {
  /** Unguessable random token (wait tokens, agent secrets). */
  token(): string;
  uuid(): string;
}

/** Uniform in [0, 1). Injected so back-off jitter and simulations are reproducible. */
export type Rng = () => number;

export interface JobQuery {
  /** Newest first. */
  limit: number;
  cursor?: string;
  statuses?: JobStatus[];
  skipFinished?: boolean;
  user?: string;
  name?: string;
  pool?: string;
}

export interface JobPage {
  jobs: JobRecord[];
  nextCursor?: string;
}

/**
 * Jobs, attempts, events and counters. Single-item conditional writes only: `put*` succeeds only if
 * the stored version equals `expectedVersion` (null = must not exist) and stores `version + 1`;
 * otherwise it throws ConflictError. Any other failure is rethrown untouched.
 */
export interface JobStore {
  /** Reserves `count` consecutive job IDs (an atomic counter) and returns them ascending. */
  allocateJobIds(count: number): Promise<number[]>;
  getJob(jobId: number): Promise<JobRecord | undefined>;
  /** Returns the record as stored (version incremented). */
  putJob(job: JobRecord, expectedVersion: number | null): Promise<JobRecord>;
  listJobs(query: JobQuery): Promise<JobPage>;
  /**
   * Non-terminal jobs in one slot state. For WAITING, ordered by priority (highest first) then
   * slotSince (oldest first) — the admission order. Bounded by `limit`.
   */
  listJobsBySlot(slot: Exclude<SlotState, 'NONE'>, limit: number, cursor?: string): Promise<JobPage>;
  /** Exact count of jobs in a slot state (the scheduler recounts every tick). */
  countJobsBySlot(slot: Exclude<SlotState, 'NONE'>): Promise<number>;
  /** Job IDs of every job not yet terminal (bounded pages), for restart and the janitor. */
  listActiveJobIds(limit: number, cursor?: string): Promise<{ jobIds: number[]; nextCursor?: string }>;

  getAttempt(jobId: number, taskIndex: number, attempt: number): Promise<AttemptRecord | undefined>;
  listAttempts(jobId: number, taskIndex?: number): Promise<AttemptRecord[]>;
  putAttempt(attempt: AttemptRecord, expectedVersion: number | null): Promise<AttemptRecord>;
  /**
   * Records a node heartbeat without a version check (heartbeats from N nodes would otherwise
   * conflict), conditional on the attempt not having ENDED. Returns the updated attempt, or
   * undefined if the attempt is gone or ended.
   */
  recordHeartbeat(jobId: number, taskIndex: number, attempt: number, rank: number, at: number): Promise<AttemptRecord | undefined>;

  appendEvents(events: JobEvent[]): Promise<void>;
  /** Oldest first. */
  listEvents(jobId: number): Promise<JobEvent[]>;

  /** Bulk cancels (core/usecases/cancel.ts): few items, one partition, oldest first. */
  putCancelRequest(request: CancelRequest): Promise<void>;
  listCancelRequests(): Promise<CancelRequest[]>;
  deleteCancelRequest(request: CancelRequest): Promise<void>;

  /** Idempotency keys (S3 object sequencer, event ids): true the first time a key is claimed. */
  claimOnce(key: string, value: string, ttlSeconds?: number): Promise<{ claimed: boolean; value: string }>;
}

/** Step Functions (AWS) or the local ASL engine. */
export interface Workflows {
  /** Idempotent by name: starting an execution that already exists is not an error. */
  startExecution(name: string, input: unknown): Promise<void>;
  /** Throws TokenGoneError if the token is spent, timed out or unknown. */
  sendTaskSuccess(token: string, output: unknown): Promise<void>;
  sendTaskFailure(token: string, error: string, cause: string): Promise<void>;
  sendTaskHeartbeat(token: string): Promise<void>;
  stopExecution(name: string, cause: string): Promise<void>;
}

export interface ObjectInfo {
  key: string;
  size: number;
}

/** S3 (AWS) or files on disk served by the local API. */
export interface ObjectStore {
  put(key: string, body: Uint8Array | string, contentType?: string): Promise<void>;
  get(key: string): Promise<Uint8Array | undefined>;
  list(prefix: string): Promise<ObjectInfo[]>;
  deletePrefix(prefix: string): Promise<number>;
  presignGet(key: string, expiresSeconds: number): Promise<string>;
  presignPut(key: string, expiresSeconds: number): Promise<string>;
}

/**
 * The buckets of one store (S3, GCS, or cloud `local`'s directories) that storage mounts name. The
 * control plane creates a named bucket that does not exist yet before a task's nodes launch, and
 * deletes the ones it created with `persistent: false` when the job ends (as SkyPilot does with the
 * buckets it manages). Errors: PrecheckError when the bucket can never be used as written (the name
 * belongs to someone else, access denied), TransientError for throttling.
 */
export interface BucketStore {
  /** Creates bucket `name` (in `region` when given) unless it exists. Idempotent. */
  ensure(name: string, region?: string): Promise<'created' | 'existed'>;
  /** Deletes bucket `name` with everything in it; a bucket that is already gone is not an error. */
  delete(name: string): Promise<void>;
}

/** An integration event in EventBridge's envelope shape. */
export interface BusEvent {
  source: string;
  'detail-type': string;
  detail: Record<string, unknown>;
  time?: string;
  id?: string;
  region?: string;
  account?: string;
  resources?: string[];
  version?: string;
}

export interface EventBus {
  publish(events: BusEvent[]): Promise<void>;
}

/** Tags every instance carries; launch, describe, terminate and the janitor key on them. */
export interface InstanceTags {
  'skyless:job': string;
  'skyless:task': string;
  'skyless:attempt': string;
  'skyless:node': string;
  'skyless:deployment'?: string;
}

/** The tags of node `node` of an attempt (providers add the deployment tag where they use one). */
export function attemptTags(req: Pick<LaunchRequest, 'jobId' | 'taskIndex' | 'attempt'>, node: number): InstanceTags {
  return {
    'skyless:job': String(req.jobId),
    'skyless:task': String(req.taskIndex),
    'skyless:attempt': String(req.attempt),
    'skyless:node': String(node),
  };
}

export interface LaunchRequest {
  jobId: number;
  taskIndex: number;
  attempt: number;
  numNodes: number;
  candidate: Candidate;
  diskSizeGb: number;
  imageId?: string;
  /** Per-node bootstrap: the agent's API URL and scoped token, indexed by node. */
  bootstrap: { apiUrl: string; tokens: string[] };
}

export interface LaunchedInstance {
  instanceId: string;
  node: number;
  zone: string;
  ip?: string;
}

export interface DescribedInstance {
  instanceId: string;
  cloud: string;
  region: string;
  zone?: string;
  state: 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';
  tags: Partial<InstanceTags>;
  /** Why it stopped/terminated, as the cloud reports it (e.g. Server.SpotInstanceTermination). */
  stateReason?: string;
}

/**
 * One per cloud. launch() throws CapacityError(scope), PrecheckError or TransientError. Launch is
 * idempotent: a repeated call for the same (job, task, attempt) creates only the missing nodes.
 */
export interface ComputeProvider {
  readonly cloud: string;
  launch(req: LaunchRequest): Promise<LaunchedInstance[]>;
  /** Terminates every instance of the attempt; safe to repeat. */
  terminate(jobId: number, taskIndex: number, attempt: number, region?: string): Promise<void>;
  /** Instances tagged by skyless (optionally of one job), including ones that are shutting down. */
  describe(filter?: { jobId?: number; regions?: string[] }): Promise<DescribedInstance[]>;
}
