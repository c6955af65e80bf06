// What every use case is given. Handlers build this once per process (lambdas: from the environment;
// local mode: from the embedded control plane) and pass it in; use cases never read the clock, the
// environment or the network except through these.

import type { JobStore, Workflows, ObjectStore, EventBus, ComputeProvider, Clock, Ids, Rng, SecretSealer } from '../ports.ts';
import type { Cloud } from '../spec/types.ts';
import type { AgentTokens } from './agent-token.ts';
import type { BackoffOptions } from '../recovery/backoff.ts';

export interface Settings {
  /** Deployment name, also the `skyless:deployment` tag. */
  deployment: string;
  /** The API base URL as nodes see it (agent bootstrap). */
  apiUrl: string;
  /** How often an agent heartbeats. */
  heartbeatSeconds: number;
  /** No heartbeat from every node for this long → the attempt is lost. */
  heartbeatTimeoutSeconds: number;
  /** Every node must register within this long after launch, or the attempt is lost. */
  registerTimeoutSeconds: number;
  /** Launch back-off when every candidate is blocked (SPEC §3: 60 s, ×1.6, ≤ 300 s, ±40%). */
  backoff: BackoffOptions;
  /** Pause between checks that a torn-down attempt's instances are gone. */
  teardownPollSeconds: number;
  maxLaunching: number;
  maxRunning: number;
  /**
   * Scheduler: a job holding a launch slot with no live attempt whose record has not changed for
   * this long is presumed to have lost its workflow, and the slot is taken back (default 1800 s;
   * must exceed the longest Launch step, i.e. the workflow Lambda's timeout, with margin).
   */
  launchStallSeconds?: number;
  /** Scheduler: the orphan-instance sweep runs at most this often on on-demand ticks (default 60 s). */
  janitorIntervalSeconds?: number;
  /**
   * Scheduler: how long a grant may take to show in the slot index's counts (DynamoDB GSIs are
   * eventually consistent, dynalite's are not). Grants younger than this are added to the launching
   * count, so a lagging index can never let a tick exceed a limit. 0 (default) = trust the index.
   */
  slotIndexLagMs?: number;
  /** Advance cycles before the workflow continues as a new execution (history stays far below 25k events). */
  cyclesPerExecution: number;
  /** Candidates tried per Launch invocation before handing back to the workflow (bounded work). */
  candidatesPerLaunchStep: number;
  logChunkBytes: number;
  allowedClouds: Cloud[];
  /** Deployment-wide default of job_recovery.max_launch_attempts (undefined = forever). */
  maxLaunchAttempts?: number;
  /**
   * Cloud `local` only: the directory holding its buckets (one directory per bucket name), which a
   * storage mount `{name, mode}` on a local node mounts (links) or copies. Unset: no local buckets.
   */
  localBucketsDir?: string;
  /**
   * How often nodes save a bucket mounted with mode MOUNT/MOUNT_CACHED back to the bucket while they
   * work (they also save when a phase ends, on an interruption notice and when they stop). Default 30.
   */
  mountSaveSeconds?: number;
  /**
   * Principals that may read and cancel every user's jobs (core/usecases/ownership.ts): full IAM
   * ARNs, or role ARNs (any session of the role). Default: nobody.
   */
  adminPrincipals?: string[];
  /** Guardrails (core/usecases/guardrails.ts); each undefined = no cap. Largest num_nodes of one task. */
  maxNodesPerJob?: number;
  /** Largest `--num-jobs` of one submission. */
  maxJobsPerSubmission?: number;
  /** Most unfinished jobs one user may have at once (a submission that would pass it is refused). */
  maxActiveJobsPerUser?: number;
  /** Instance types nodes may be launched as; undefined or empty = any. Also an IAM condition on AWS. */
  allowedInstanceTypes?: string[];
}

export interface Deps {
  store: JobStore;
  workflows: Workflows;
  objects: ObjectStore;
  bus: EventBus;
  providers: Partial<Record<string, ComputeProvider>>;
  clock: Clock;
  ids: Ids;
  rng: Rng;
  settings: Settings;
  agentTokens: AgentTokens;
  /** Encrypts job secrets at rest (core/usecases/secrets.ts). */
  secrets: SecretSealer;
  /** Asks the scheduler to run a tick soon (async invoke on AWS, a debounced call locally). */
  wakeScheduler(): Promise<void>;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export function providerFor(deps: Deps, cloud: string): ComputeProvider {
  const p = deps.providers[cloud];
  if (!p) throw new Error(`no compute provider configured for cloud '${cloud}'`);
  return p;
}
