// ComputeProvider for GCP Compute Engine, over the Compute REST API v1 (JSON over HTTPS). The
// transport is injected: in AWS it is google-auth-library's authorized request (Workload Identity
// Federation from the Lambda's AWS role; see gce-transport.ts), in tests a GCE fake. Why REST and
// not @google-cloud/compute: that package carries ~100 MB of generated protos (30 MB of JavaScript)
// that every Lambda bundling a provider would load at cold start; these five calls need none of it.
//
// Terms, as in Ec2Provider:
// - attempt labels: skyless-deployment + skyless-job + skyless-task + skyless-attempt select every
//   instance of one launch attempt; skyless-node tells the nodes apart. (GCE label keys allow no
//   ':'; describe() maps them back to the InstanceTags keys.)
// - gang: the numNodes instances of an attempt, always in one zone.
// Idempotency: instance names are derived from the attempt and node
// (`skyless-<deployment>-<job>-<task>-<attempt>-<node>`), and GCE refuses a second instance of a name
// in a zone (409 alreadyExists). A repeated launch therefore finds, and keeps, what an earlier call
// created; it never creates a duplicate.
// Spot nodes use provisioningModel SPOT with instanceTerminationAction DELETE: a preempted node
// disappears instead of lingering as a stopped instance with a billed disk. The node agent watches
// the metadata server's `preempted` flag and reports the loss (agent/PROTOCOL.md).

import { AuthError, CapacityError, PrecheckError, TransientError, ValidationError, type BlockScope } from '../../core/errors.ts';
import type { Candidate } from '../../core/optimizer/types.ts';
import type { ComputeProvider, DescribedInstance, InstanceTags, LaunchRequest, LaunchedInstance, NodeIdentityProof, VerifiedNodeIdentity } from '../../core/ports.ts';
import { verifyGceProof, type GoogleCerts } from './instance-identity.ts';
import { buildUserDataScript } from '../aws/user-data.ts';

export const GCE_API = 'https://compute.googleapis.com/compute/v1';

export const LABEL_JOB = 'skyless-job';
export const LABEL_TASK = 'skyless-task';
export const LABEL_ATTEMPT = 'skyless-attempt';
export const LABEL_NODE = 'skyless-node';
export const LABEL_DEPLOYMENT = 'skyless-deployment';

/** One HTTP exchange with the Compute API. Non-2xx answers are returned, not thrown. */
export interface GceRequest {
  method: 'GET' | 'POST' | 'DELETE';
  /** Absolute URL under GCE_API. */
  url: string;
  body?: unknown;
}
export interface GceResponse {
  status: number;
  data: unknown;
}
export type GceTransport = (req: GceRequest) => Promise<GceResponse>;

export interface GceProviderOptions {
  transport: GceTransport;
  project: string;
  /** This deployment's name; only instances labelled with it are ever described or deleted. */
  deployment: string;
  /** Regions describe()/terminate() sweep when the caller names none. */
  regions?: readonly string[];
  /** Image for a candidate (a global image URL or family path); default: defaultGceImageFor. */
  imageFor?(candidate: Candidate): string;
  /** The API URL nodes call: the audience of their instance identity tokens (verifyIdentity refuses all without it). */
  apiUrl?: string;
  /** Google's token-signing certificates (key id → PEM); default: fetched by google-auth-library. Tests inject their own. */
  identityCerts?: () => Promise<GoogleCerts>;
  /** Service account email the nodes run as, with the cloud-platform scope (its IAM roles decide); default: none. */
  serviceAccountEmail?: string;
  sleep?(ms: number): Promise<void>;
  /** Attempts when GCE throttles or fails (5xx), then TransientError. Default 5. */
  maxApiAttempts?: number;
  /**
   * How long one launch() or terminate() may wait on operations before it hands back with a
   * TransientError (the workflow calls it again and, both being idempotent, it resumes). Must stay
   * under the workflow Lambda's timeout (300 s). Default 200 s.
   */
  launchBudgetMs?: number;
  now?(): number;
}

/** GCE error as the API reports it: in the HTTP body, or in a finished operation. */
export class GceApiError extends Error {
  override readonly name = 'GceApiError' as const;
  constructor(
    message: string,
    readonly status: number,
    /** errors[0].reason of an HTTP error (alreadyExists, notFound, rateLimitExceeded…), or an operation error code. */
    readonly code: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Error table: GCE error → what the launch walk does about it.

/** No room in this zone for this shape; another zone may have some. */
const ZONE_CODES = new Set([
  'ZONE_RESOURCE_POOL_EXHAUSTED',
  'ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS',
  'RESOURCE_POOL_EXHAUSTED',
  'STOCKOUT',
  'UNSUPPORTED_OPERATION',
  'RESOURCE_NOT_FOUND', // machine or accelerator type not offered in this zone
]);
/** Passing conditions: retried in place. (GCE signals rate limits with 403 rateLimitExceeded, not only 429.) */
const TRANSIENT_REASONS = new Set([
  'rateLimitExceeded', 'userRateLimitExceeded', 'backendError', 'internalError', 'resourceNotReady',
  'RESOURCE_NOT_READY', 'RESOURCE_OPERATION_RATE_EXCEEDED', 'NetworkError',
]);
/** A machine or accelerator type this zone does not offer: GCE answers 400 invalid (or 404) naming it. */
const SHAPE_NOT_IN_ZONE = /machineTypes?\b|acceleratorTypes?\b|does not exist in zone|not available in zone/i;

export function toGceLaunchError(err: unknown, region: string, zone?: string): unknown {
  if (err instanceof CapacityError || err instanceof PrecheckError || err instanceof TransientError) return err;
  if (!(err instanceof GceApiError)) return err;
  const { code, status, message } = err;
  // Codes first: a failed insert operation reports a stockout with httpErrorStatusCode 503.
  if (code === 'QUOTA_EXCEEDED' || code === 'quotaExceeded') {
    // Most quotas are regional; a few (GPUS_ALL_REGIONS, CPUS_ALL_REGIONS) cover the whole project.
    if (/ALL_REGIONS|GLOBAL/i.test(message)) return new CapacityError(`GCE project quota: ${message}`, 'cloud', { cloud: 'gcp' }, code);
    return new CapacityError(`GCE quota in ${region}: ${message}`, 'region', { cloud: 'gcp', region }, code);
  }
  if (TRANSIENT_REASONS.has(code)) return new TransientError(`GCE in ${zone ?? region}: ${code}: ${message}`, code);
  if (ZONE_CODES.has(code) || ((status === 400 || status === 404) && SHAPE_NOT_IN_ZONE.test(message))) {
    return new CapacityError(`GCE ${zone ?? region}: ${code}: ${message}`, 'zone', zone ? { cloud: 'gcp', region, zone } : { cloud: 'gcp', region }, code);
  }
  if (status === 429 || status >= 500) return new TransientError(`GCE in ${zone ?? region}: ${code}: ${message}`, code);
  if (status === 401 || status === 403) {
    return new CapacityError(`GCE refused access (${code}): check the credentials, the Compute Engine API and the project's IAM. ${message}`, 'cloud', { cloud: 'gcp' }, code);
  }
  if (status === 400 || status === 404) return new PrecheckError(`GCE rejected the launch request in ${zone ?? region}: ${code}: ${message}`, code);
  return err;
}

// ---------------------------------------------------------------------------------------------
// Shapes

/** A catalog instance type: a machine type, with an attached accelerator after `+` (`n1-standard-8+T4:1`). */
export function parseGceInstanceType(instanceType: string): { machineType: string; accelerator?: { type: string; count: number } } {
  const [machineType, attached] = instanceType.split('+');
  if (!machineType) throw new ValidationError(`GCE instance type ${JSON.stringify(instanceType)} has no machine type`);
  if (!attached) return { machineType };
  const m = /^([A-Za-z0-9]+):(\d+)$/.exec(attached);
  if (!m) throw new ValidationError(`GCE instance type ${JSON.stringify(instanceType)}: accelerator must be NAME:COUNT`);
  const type = GCE_ACCELERATOR_TYPES[m[1]!.toUpperCase()];
  if (!type) throw new ValidationError(`GCE instance type ${JSON.stringify(instanceType)}: no GCE accelerator type for ${m[1]}`);
  return { machineType, accelerator: { type, count: Number(m[2]) } };
}

/** Accelerators attached to N1 machines; A100, H100 and L4 come built into a2/a3/g2 machine types. */
const GCE_ACCELERATOR_TYPES: Record<string, string> = {
  T4: 'nvidia-tesla-t4',
  V100: 'nvidia-tesla-v100',
  P100: 'nvidia-tesla-p100',
  P4: 'nvidia-tesla-p4',
  K80: 'nvidia-tesla-k80',
};

function hasGpu(candidate: Candidate): boolean {
  return Boolean(candidate.accelerator) || /^(a2|a3|g2)-/.test(candidate.instanceType);
}

/**
 * Debian 12 for CPU candidates; for GPU ones the Deep Learning VM base image with CUDA 12.9 and the
 * NVIDIA 580 driver preinstalled (a family resolves to its newest non-deprecated image). A task's
 * `image_id` overrides either.
 */
export function defaultGceImageFor(candidate: Candidate): string {
  return hasGpu(candidate)
    ? 'projects/deeplearning-platform-release/global/images/family/common-cu129-ubuntu-2204-nvidia-580'
    : 'projects/debian-cloud/global/images/family/debian-12';
}

type GceInstance = {
  name?: string;
  zone?: string;
  status?: string;
  machineType?: string;
  labels?: Record<string, string>;
  networkInterfaces?: { networkIP?: string }[];
  statusMessage?: string;
  scheduling?: { provisioningModel?: string };
};

type GceOperation = { name?: string; zone?: string; status?: string; error?: { errors?: { code?: string; message?: string }[] }; httpErrorStatusCode?: number };

/** GCE status → the port's state. TERMINATED is GCE's "stopped" (the disk remains). */
function stateOf(i: GceInstance): DescribedInstance['state'] {
  switch (i.status) {
    case 'RUNNING':
      return 'running';
    case 'STOPPING':
    case 'SUSPENDING':
      return 'stopping';
    case 'TERMINATED':
    case 'SUSPENDED':
      return 'stopped';
    default:
      return 'pending'; // PROVISIONING, STAGING, REPAIRING
  }
}
const USABLE = new Set(['PROVISIONING', 'STAGING', 'RUNNING']);

const last = (url: string | undefined) => (url ?? '').split('/').pop() ?? '';
const regionOfZone = (zone: string) => zone.replace(/-[a-z]$/, '');

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class GceProvider implements ComputeProvider {
  readonly cloud = 'gcp';
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly maxApiAttempts: number;
  private readonly imageFor: (candidate: Candidate) => string;
  private readonly now: () => number;
  /** Deadline of the launch in progress (epoch ms), for the operation waits. */
  private deadline = Number.POSITIVE_INFINITY;

  constructor(private readonly options: GceProviderOptions) {
    if (!/^[a-z][a-z0-9-]{0,29}$/.test(options.deployment)) {
      throw new ValidationError(`GceProvider: deployment ${JSON.stringify(options.deployment)} must be a GCE label value: lowercase letters, digits and '-', at most 30`);
    }
    if (!/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(options.project)) throw new ValidationError(`GceProvider: ${JSON.stringify(options.project)} is not a GCP project ID`);
    this.sleep = options.sleep ?? defaultSleep;
    this.maxApiAttempts = Math.max(1, options.maxApiAttempts ?? 5);
    this.imageFor = options.imageFor ?? defaultGceImageFor;
    this.now = options.now ?? Date.now;
  }

  // ---- launch --------------------------------------------------------------------------------

  async launch(req: LaunchRequest): Promise<LaunchedInstance[]> {
    return this.withinBudget(() => this.launchWithin(req));
  }

  /** Runs `work` with a deadline for its operation waits (one Lambda invocation's worth). */
  private async withinBudget<T>(work: () => Promise<T>): Promise<T> {
    this.deadline = this.now() + (this.options.launchBudgetMs ?? 200_000);
    try {
      return await work();
    } finally {
      this.deadline = Number.POSITIVE_INFINITY;
    }
  }

  private async launchWithin(req: LaunchRequest): Promise<LaunchedInstance[]> {
    const { candidate } = req;
    if (candidate.cloud !== 'gcp') throw new ValidationError(`GceProvider cannot launch a ${candidate.cloud} candidate`);
    if (req.bootstrap.tokens.length !== req.numNodes) throw new ValidationError(`launch: ${req.bootstrap.tokens.length} agent tokens for ${req.numNodes} nodes`);
    const region = candidate.region;
    const { machineType, accelerator } = parseGceInstanceType(candidate.instanceType);
    const image = req.imageId ?? this.imageFor(candidate);

    // What earlier calls for this attempt left: usable nodes of the right shape in a candidate zone
    // are kept (and pin the zone); anything else of the attempt is deleted so it cannot join.
    let existing: GceInstance[];
    try {
      existing = await this.list(this.attemptFilter(req.jobId, req.taskIndex, req.attempt), [region]);
    } catch (err) {
      throw toGceLaunchError(err, region);
    }
    const keep = new Map<number, GceInstance>();
    let pinnedZone: string | undefined;
    const discard: GceInstance[] = [];
    for (const i of existing) {
      const zone = last(i.zone);
      const node = Number(i.labels?.[LABEL_NODE]);
      const fits = USABLE.has(i.status ?? '') && last(i.machineType) === machineType && candidate.zones.includes(zone) && node < req.numNodes && !keep.has(node);
      if (fits && (pinnedZone === undefined || pinnedZone === zone)) {
        pinnedZone = zone;
        keep.set(node, i);
      } else discard.push(i);
    }
    await this.deleteAll(discard).catch((err) => {
      throw toGceLaunchError(err, region);
    });

    const zones = pinnedZone ? [pinnedZone, ...candidate.zones.filter((z) => z !== pinnedZone)] : candidate.zones;
    const failures: { zone: string; error: CapacityError }[] = [];
    for (const zone of zones) {
      const gang = new Map<number, GceInstance>(zone === pinnedZone ? keep : []);
      try {
        // Sequential: the first failure stops the gang before more nodes are paid for.
        for (let node = 0; node < req.numNodes; node++) {
          if (!gang.has(node)) gang.set(node, await this.insertNode(req, zone, node, machineType, accelerator, image));
        }
        return [...gang.entries()]
          .sort(([a], [b]) => a - b)
          .map(([node, i]) => ({ instanceId: i.name!, node, zone, ...(i.networkInterfaces?.[0]?.networkIP ? { ip: i.networkInterfaces[0].networkIP } : {}) }));
      } catch (err) {
        const domain = toGceLaunchError(err, region, zone);
        if (!(domain instanceof CapacityError || domain instanceof PrecheckError)) throw domain; // retried: a repeat reuses the nodes
        await this.deleteAll([...gang.values()]).catch(() => {
          // Best effort: the nodes carry the attempt labels, so teardown and the janitor find them.
        });
        if (domain instanceof CapacityError && domain.scope === 'zone') {
          failures.push({ zone, error: domain });
          continue;
        }
        throw domain;
      }
    }
    if (failures.length === 1) throw failures[0]!.error;
    throw new CapacityError(
      `no capacity in any zone of ${region}: ${failures.map((f) => `${f.zone} ${f.error.code ?? ''}`.trim()).join(', ')}`,
      'region' as BlockScope,
      { cloud: 'gcp', region },
      'AllZonesExhausted',
    );
  }

  instanceName(jobId: number, taskIndex: number, attempt: number, node: number): string {
    const name = `skyless-${this.options.deployment}-${jobId}-${taskIndex}-${attempt}-${node}`;
    if (name.length > 63) throw new ValidationError(`GCE instance name ${name} is longer than 63 characters`);
    return name;
  }

  private async insertNode(req: LaunchRequest, zone: string, node: number, machineType: string, accelerator: { type: string; count: number } | undefined, image: string): Promise<GceInstance> {
    const { candidate } = req;
    const name = this.instanceName(req.jobId, req.taskIndex, req.attempt, node);
    const gpu = hasGpu(candidate);
    const body = {
      name,
      machineType: `zones/${zone}/machineTypes/${machineType}`,
      labels: {
        [LABEL_DEPLOYMENT]: this.options.deployment,
        [LABEL_JOB]: String(req.jobId),
        [LABEL_TASK]: String(req.taskIndex),
        [LABEL_ATTEMPT]: String(req.attempt),
        [LABEL_NODE]: String(node),
      },
      disks: [{ boot: true, autoDelete: true, initializeParams: { sourceImage: image, diskSizeGb: String(req.diskSizeGb) } }],
      networkInterfaces: [{ network: 'global/networks/default', accessConfigs: [{ type: 'ONE_TO_ONE_NAT', name: 'External NAT' }] }],
      ...(accelerator ? { guestAccelerators: [{ acceleratorType: `zones/${zone}/acceleratorTypes/${accelerator.type}`, acceleratorCount: accelerator.count }] } : {}),
      // GPU machines cannot live-migrate; spot machines are deleted, not stopped, when preempted.
      scheduling: candidate.spot
        ? { provisioningModel: 'SPOT', instanceTerminationAction: 'DELETE', automaticRestart: false, onHostMaintenance: 'TERMINATE' }
        : { provisioningModel: 'STANDARD', automaticRestart: true, onHostMaintenance: gpu ? 'TERMINATE' : 'MIGRATE' },
      metadata: {
        items: [
          { key: 'startup-script', value: buildUserDataScript({ apiUrl: req.bootstrap.apiUrl, token: req.bootstrap.tokens[node]!, cloud: 'gcp' }) },
        ],
      },
      ...(this.options.serviceAccountEmail ? { serviceAccounts: [{ email: this.options.serviceAccountEmail, scopes: ['https://www.googleapis.com/auth/cloud-platform'] }] } : {}),
    };
    const base = `${GCE_API}/projects/${this.options.project}/zones/${zone}/instances`;
    try {
      const op = (await this.call({ method: 'POST', url: base, body })) as GceOperation;
      await this.waitFor(op, zone);
    } catch (err) {
      // Created by an earlier call for this attempt (GCE names are unique per zone): reuse it if it lives.
      if (!(err instanceof GceApiError && err.code === 'alreadyExists')) throw err;
    }
    let instance: GceInstance;
    try {
      instance = (await this.call({ method: 'GET', url: `${base}/${name}` })) as GceInstance;
    } catch (err) {
      // A spot node preempted right after its creation is deleted (instanceTerminationAction DELETE).
      if (err instanceof GceApiError && err.status === 404) throw new GceApiError(`node ${node} (${name}) was gone right after its launch (preempted)`, 409, 'STOCKOUT');
      throw err;
    }
    if (!USABLE.has(instance.status ?? '')) {
      // Preempted or stopped at once (a spot zone with no room), or an old one still being deleted.
      // Deleted here: a stopped instance still bills its disk, and it is not part of the gang.
      await this.deleteAll([instance]).catch(() => {
        // Best effort: it carries the attempt labels, so teardown and the janitor find it.
      });
      throw new GceApiError(`node ${node} (${name}) is ${instance.status} right after its launch${instance.statusMessage ? `: ${instance.statusMessage}` : ''}`, 409, 'STOCKOUT');
    }
    return instance;
  }

  /**
   * Waits for a zonal operation; a failed operation becomes GceApiError with its most telling error
   * code (quota and stockout codes before others). `wait` returns when the operation is DONE or after
   * about two minutes, best effort; past the launch's budget the launch hands back (TransientError).
   */
  private async waitFor(op: GceOperation, zone: string): Promise<void> {
    while (op.status !== 'DONE') {
      if (this.now() > this.deadline) throw new TransientError(`GCE operation ${op.name} in ${zone} is still ${op.status}; the launch resumes on the next call`, 'OperationTimeout');
      op = (await this.call({ method: 'POST', url: `${GCE_API}/projects/${this.options.project}/zones/${zone}/operations/${op.name}/wait` })) as GceOperation;
    }
    const errors = op.error?.errors ?? [];
    const telling = errors.find((e) => e.code === 'QUOTA_EXCEEDED' || ZONE_CODES.has(e.code ?? '')) ?? errors[0];
    if (telling) throw new GceApiError(errors.map((e) => e.message ?? e.code).join('; ') || 'operation failed', op.httpErrorStatusCode ?? 400, telling.code ?? 'UNKNOWN');
  }

  // ---- terminate / describe -------------------------------------------------------------------

  /** The VM whose Google-signed identity token this is (adapters/gcp/instance-identity.ts). */
  async verifyIdentity(proof: NodeIdentityProof): Promise<VerifiedNodeIdentity> {
    if (!this.options.apiUrl) throw new AuthError('GceProvider: apiUrl (the identity token audience) is not configured');
    return verifyGceProof(proof, { project: this.options.project, audience: this.options.apiUrl, ...(this.options.identityCerts ? { certs: this.options.identityCerts } : {}) });
  }

  async terminate(jobId: number, taskIndex: number, attempt: number, region?: string): Promise<void> {
    const found = await this.list(this.attemptFilter(jobId, taskIndex, attempt), region ? [region] : this.options.regions);
    // STOPPING included: a standard VM being stopped would otherwise end TERMINATED with a billed disk.
    // Bounded like a launch: a slow delete hands back, and the teardown's next poll calls again.
    await this.withinBudget(() => this.deleteAll(found));
  }

  async describe(filter: { jobId?: number; regions?: string[] } = {}): Promise<DescribedInstance[]> {
    const clauses = [`labels.${LABEL_DEPLOYMENT} = "${this.options.deployment}"`, ...(filter.jobId !== undefined ? [`labels.${LABEL_JOB} = "${filter.jobId}"`] : [])];
    const found = await this.list(clauses.map((c) => `(${c})`).join(' AND '), filter.regions ?? this.options.regions);
    return found.map((i) => {
      const zone = last(i.zone);
      const labels = i.labels ?? {};
      const tags: Partial<InstanceTags> = {};
      const pairs: [keyof InstanceTags, string][] = [['skyless:job', LABEL_JOB], ['skyless:task', LABEL_TASK], ['skyless:attempt', LABEL_ATTEMPT], ['skyless:node', LABEL_NODE], ['skyless:deployment', LABEL_DEPLOYMENT]];
      for (const [tag, label] of pairs) if (labels[label] !== undefined) tags[tag] = labels[label];
      return { instanceId: i.name!, cloud: 'gcp', region: regionOfZone(zone), zone, state: stateOf(i), tags, ...(i.statusMessage ? { stateReason: i.statusMessage } : {}) };
    });
  }

  private attemptFilter(jobId: number, taskIndex: number, attempt: number): string {
    return [
      `labels.${LABEL_DEPLOYMENT} = "${this.options.deployment}"`,
      `labels.${LABEL_JOB} = "${jobId}"`,
      `labels.${LABEL_TASK} = "${taskIndex}"`,
      `labels.${LABEL_ATTEMPT} = "${attempt}"`,
    ]
      .map((c) => `(${c})`)
      .join(' AND ');
  }

  /** Instances matching `filter` in every zone (aggregated list, all pages), optionally in some regions only. */
  private async list(filter: string, regions?: readonly string[]): Promise<GceInstance[]> {
    const out: GceInstance[] = [];
    let pageToken: string | undefined;
    do {
      const q = new URLSearchParams({ filter, returnPartialSuccess: 'true', maxResults: '500', ...(pageToken ? { pageToken } : {}) });
      const page = (await this.call({ method: 'GET', url: `${GCE_API}/projects/${this.options.project}/aggregated/instances?${q}` })) as {
        items?: Record<string, { instances?: GceInstance[] }>;
        nextPageToken?: string;
        unreachables?: string[];
      };
      // A partial answer must not pass for a complete one: terminate() would report success while
      // instances in an unreachable zone keep running, and the janitor would miss them.
      const unreachable = (page.unreachables ?? []).filter((u) => !regions || regions.includes(regionOfZone(u.replace(/^zones\//, ''))));
      if (unreachable.length) throw new TransientError(`GCE could not list instances in ${unreachable.join(', ')}`, 'Unreachable');
      for (const [scope, { instances }] of Object.entries(page.items ?? {})) {
        const zone = scope.replace(/^zones\//, '');
        if (regions && !regions.includes(regionOfZone(zone))) continue;
        out.push(...(instances ?? []));
      }
      pageToken = page.nextPageToken;
    } while (pageToken);
    return out;
  }

  /** Deletes instances (each in its zone) and waits; an instance already gone is fine. */
  private async deleteAll(instances: GceInstance[]): Promise<void> {
    await Promise.all(
      instances.map(async (i) => {
        const zone = last(i.zone);
        try {
          const op = (await this.call({ method: 'DELETE', url: `${GCE_API}/projects/${this.options.project}/zones/${zone}/instances/${i.name}` })) as GceOperation;
          await this.waitFor(op, zone);
        } catch (err) {
          if (err instanceof GceApiError && (err.status === 404 || err.code === 'notFound' || err.code === 'RESOURCE_NOT_FOUND')) return;
          throw err;
        }
      }),
    );
  }

  /** One API call, retried with back-off on 429 and 5xx; other errors become GceApiError. */
  private async call(req: GceRequest): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      let res: GceResponse;
      try {
        res = await this.options.transport(req);
      } catch (err) {
        if (attempt >= this.maxApiAttempts) throw new TransientError(`GCE ${req.method} ${req.url}: ${(err as Error).message}`, 'NetworkError');
        await this.sleep(Math.min(8000, 250 * 2 ** attempt));
        continue;
      }
      if (res.status >= 200 && res.status < 300) return res.data;
      const e = (res.data as { error?: { message?: string; errors?: { reason?: string }[] } } | undefined)?.error;
      const err = new GceApiError(e?.message ?? `HTTP ${res.status}`, res.status, e?.errors?.[0]?.reason ?? `HTTP${res.status}`);
      const retryable = res.status === 429 || res.status >= 500 || TRANSIENT_REASONS.has(err.code);
      if (retryable && attempt >= this.maxApiAttempts) throw new TransientError(`GCE ${req.method} ${req.url}: ${err.code}: ${err.message}`, err.code);
      if (retryable) {
        await this.sleep(Math.min(8000, 250 * 2 ** attempt));
        continue;
      }
      throw err;
    }
  }
}
