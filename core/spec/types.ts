// The normalized, typed form of a SkyPilot-compatible task YAML (docs/behaviour.md §1). Everything downstream
// (optimizer, recovery rules, store, agent) reads only these types, never raw YAML.

export type Cloud = 'aws' | 'gcp' | 'local';
export const CLOUDS: readonly Cloud[] = ['aws', 'gcp', 'local'];

/** Where a task may run. An absent field means "any" (the `*` wildcard). */
export interface InfraSelector {
  cloud?: Cloud;
  region?: string;
  zone?: string;
}

export interface AcceleratorRequest {
  /** Canonical catalog name, e.g. `A100`, `A100-80GB`, `H100`, `L4`. */
  name: string;
  /** GPUs per node; may be fractional (`H100:0.5`) for pool sharing. */
  count: number;
}

/** `4` is exact, `4+` is at least. Memory is in GB. */
export interface QuantityRequest {
  value: number;
  atLeast: boolean;
}

export type RecoveryStrategy = 'EAGER_NEXT_REGION' | 'FAILOVER';

export interface JobRecoverySpec {
  strategy: RecoveryStrategy;
  /** Counted restarts after user-code failures; N allows N+1 attempts. */
  maxRestartsOnErrors: number;
  /** Exit codes that recover for free and without limit. */
  recoverOnExitCodes: number[];
  /** Optional bound on launch attempts (each a full walk of the candidates); undefined = forever. */
  maxLaunchAttempts?: number;
}

/**
 * One concrete alternative of a task's resources, after `any_of`/`ordered` expansion, merging of the
 * outer keys as defaults, and splitting accelerator sets/lists into one request per accelerator.
 */
export interface ResourceRequest {
  infra: InfraSelector;
  accelerator?: AcceleratorRequest;
  cpus?: QuantityRequest;
  memoryGb?: QuantityRequest;
  instanceType?: string;
  useSpot: boolean;
  diskSizeGb: number;
  imageId?: string;
  ports: string[];
  labels: Record<string, string>;
}

export interface ResourcesSpec {
  /**
   * `cheapest`: any_of, accelerator dicts and set literals — the optimizer sorts every candidate by
   * hourly price. `ordered`: `ordered:` and accelerator lists — the user's order is the preference
   * (candidates of one request are cost-sorted among themselves).
   */
  order: 'cheapest' | 'ordered';
  requests: ResourceRequest[];
  jobRecovery: JobRecoverySpec;
  priority: number;
}

export type FileMount =
  | { dest: string; kind: 'upload'; source: string }
  | { dest: string; kind: 'cloud'; source: string }
  | {
      dest: string;
      kind: 'storage';
      name?: string;
      source?: string | string[];
      store?: string;
      mode: 'MOUNT' | 'COPY' | 'MOUNT_CACHED';
      persistent: boolean;
    };

export interface PoolSpec {
  minWorkers: number;
  maxWorkers: number;
}

export interface TaskSpec {
  name: string;
  workdir?: string;
  numNodes: number;
  resources: ResourcesSpec;
  /** A null value must be supplied with `--env` before submission. */
  envs: Record<string, string | null>;
  /** Like envs, but never printed, logged or stored outside the job's own record. */
  secrets: Record<string, string | null>;
  fileMounts: FileMount[];
  setup?: string;
  run?: string;
  config?: Record<string, unknown>;
  pool?: PoolSpec;
}

export interface JobSpec {
  name: string;
  /** True when the YAML held several task documents (with or without a header). */
  isPipeline: boolean;
  tasks: TaskSpec[];
}

/** One problem found in a spec, path first (`resources.accelerators`). */
export interface SpecIssue {
  path: string;
  message: string;
}
