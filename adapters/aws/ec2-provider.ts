// ComputeProvider for AWS EC2. Instances are found again only by their tags (never by IDs held in
// memory), which is what makes launch idempotent, terminate repeatable and the janitor possible.
//
// Terms:
// - attempt tags: skyless:deployment + skyless:job + skyless:task + skyless:attempt; they select
//   every instance of one launch attempt of one task. skyless:node (0-based) tells the nodes apart.
// - gang: the numNodes instances of one attempt. Invariant: a gang never spans zones (multi-node
//   jobs need low-latency links), so a zone that cannot hold the whole gang gets none of it.
//
// One RunInstances per node (MinCount = MaxCount = 1), not one call for the whole gang:
// RunInstances gives every instance of a call the same UserData and the same tags, but each node
// needs its own scoped agent token (agent/PROTOCOL.md) and its own skyless:node tag. Per-node calls
// put both on the instance at creation, so no instance is ever visible without its node tag (an
// untagged window would confuse the idempotency check and the janitor), and each node has its own
// ClientToken. The price is losing RunInstances' all-or-nothing MinCount: when node k fails in a
// zone, the nodes already started there are terminated before the next zone is tried.

import {
  CreateTagsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type EC2Client,
  type Filter,
  type Instance,
  type RunInstancesCommandInput,
  type Tag,
} from '@aws-sdk/client-ec2';
import { createHash } from 'node:crypto';
import {
  CapacityError,
  PrecheckError,
  TransientError,
  ValidationError,
  type BlockScope,
} from '../../core/errors.ts';
import type { Candidate } from '../../core/optimizer/types.ts';
import type {
  NodeIdentityProof,
  VerifiedNodeIdentity,
  ComputeProvider,
  DescribedInstance,
  InstanceTags,
  LaunchRequest,
  LaunchedInstance,
} from '../../core/ports.ts';
import { buildUserData } from './user-data.ts';
import { REGION_CERTS, verifyAwsProof } from './instance-identity.ts';

export const TAG_JOB = 'skyless:job';
export const TAG_TASK = 'skyless:task';
export const TAG_ATTEMPT = 'skyless:attempt';
export const TAG_NODE = 'skyless:node';
export const TAG_DEPLOYMENT = 'skyless:deployment';
/**
 * Set by terminate() just before TerminateInstances, so the state-change handler can tell our own
 * terminations from everyone else's: StateReason alone says "Client.UserInitiatedShutdown" for both.
 */
export const TAG_TERMINATED_BY = 'skyless:terminated-by';
export const TERMINATED_BY_SKYLESS = 'skyless';

/** Regions enabled in every AWS account without opt-in: what terminate()/describe() sweep by default. */
export const DEFAULT_AWS_REGIONS: readonly string[] = [
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'ca-central-1', 'sa-east-1',
  'eu-central-1', 'eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-north-1',
  'ap-south-1', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-southeast-1', 'ap-southeast-2',
];

/** How many times one node's ClientToken is re-derived after finding its instance ended. */
const MAX_TOKEN_GENERATIONS = 3;

/** Root device of the default images (AL2023 and the AL2023-based Deep Learning AMI). */
const AL2023_ROOT_DEVICE = '/dev/xvda';

export interface Ec2ProviderOptions {
  /** An EC2 client for a region (the caller owns credentials, endpoint and SDK retry settings). */
  clientFor(region: string): EC2Client;
  /** This deployment's name; only instances tagged with it are ever described or terminated. */
  deployment: string;
  instanceProfileArn?: string;
  /** Security groups per region; a region absent here gets the VPC's default group. */
  securityGroupIds?: Record<string, string[]>;
  /**
   * Subnet per availability zone. When set, a zone without a subnet cannot be used (a zone-scoped
   * CapacityError, code NoSubnetForZone); when unset, instances go to the default VPC by Placement.
   */
  subnetIds?: Record<string, string>;
  /** AMI id or `resolve:ssm:<public parameter>` for a candidate; default: defaultImageFor. */
  imageFor?(candidate: Candidate): string;
  keyName?: string;
  /** Back-off sleep between throttled API calls (injected so tests do not wait). */
  sleep?(ms: number): Promise<void>;
  /** Uniform [0, 1) for back-off jitter. */
  random?(): number;
  /** API call attempts when EC2 throttles or has a passing fault (default 5), then TransientError. */
  maxApiAttempts?: number;
  /** Regions terminate() and describe() sweep when the caller names none (default DEFAULT_AWS_REGIONS). */
  regions?: readonly string[];
  /** Region → PEM that signs instance identity documents there (default REGION_CERTS; tests inject their own). */
  identityCerts?: Readonly<Record<string, string>>;
  /** This deployment's account: an identity document of another account is refused. */
  accountId?: string;
}

/** What describeStateReason reports about one instance. */
export interface InstanceStateReport {
  instanceId: string;
  region: string;
  state: DescribedInstance['state'];
  /** StateReason.Code, e.g. Server.SpotInstanceTermination, Client.UserInitiatedShutdown. */
  code?: string;
  message?: string;
  /** True when skyless's own terminate() ended it (it carries TAG_TERMINATED_BY). */
  terminatedBySkyless: boolean;
  tags: Partial<InstanceTags>;
}

/**
 * Thrown when every zone of a candidate failed with a zone-scoped capacity error. Its scope is
 * 'region' (code AllZonesExhausted) because CapacityError can name only one zone and the launch walk
 * must block every zone tried: an on-demand candidate lists every zone of its region where the type
 * is offered, so blocking the region is the same as blocking all of them. `zoneFailures` keeps the
 * per-zone detail for callers that want to block zone by zone instead. Its `name` stays
 * 'CapacityError' so Step Functions Retry/Catch match it like any other capacity error.
 */
export class ZonesExhaustedError extends CapacityError {
  constructor(
    region: string,
    readonly zoneFailures: { zone: string; code: string; message: string }[],
  ) {
    super(
      `no capacity in any zone of ${region}: ` + zoneFailures.map((f) => `${f.zone} ${f.code}`).join(', '),
      'region',
      { cloud: 'aws', region },
      'AllZonesExhausted',
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Error table: AWS error code → what the launch walk does about it.

export type Ec2ErrorClass =
  | { kind: 'capacity'; scope: BlockScope }
  | { kind: 'precheck' }
  | { kind: 'transient' }
  | { kind: 'unknown' };

/** No capacity, or no way to place the instance, in this zone; another zone may work. */
const ZONE_CODES = new Set([
  'InsufficientInstanceCapacity',
  'InsufficientCapacity',
  'InsufficientHostCapacity',
  'InsufficientReservedInstanceCapacity',
  'InsufficientFreeAddressesInSubnet',
  'Unsupported',
  'SpotMaxPriceTooLow',
  'InvalidAvailabilityZone',
  'NoSubnetForZone',
  'InstanceTerminatedAtLaunch',
]);
/** Account quotas, which AWS counts per region. */
const REGION_CODES = new Set([
  'MaxSpotInstanceCountExceeded',
  'VcpuLimitExceeded',
  'InstanceLimitExceeded',
  'PendingVerification',
]);
/** Credentials, IAM permissions or subscription: no request to EC2 can succeed with them. */
const CLOUD_CODES = new Set([
  'UnauthorizedOperation',
  'OptInRequired',
  'AuthFailure',
  'Blocked',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'ExpiredToken',
]);
const PRECHECK_CODES = new Set([
  'InvalidInstanceType',
  'InvalidBlockDeviceMapping',
  'MissingParameter',
  'IdempotentParameterMismatch',
  'InvalidIamInstanceProfile',
]);
const PRECHECK_PREFIXES = [
  'InvalidParameter', 'InvalidAMIID.', 'InvalidSubnetID.', 'InvalidGroup.', 'InvalidKeyPair.',
  'InvalidUserData.', 'InvalidSecurityGroupID.',
];
const TRANSIENT_CODES = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'Unavailable',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
]);

export function classifyEc2ErrorCode(code: string): Ec2ErrorClass {
  if (ZONE_CODES.has(code)) return { kind: 'capacity', scope: 'zone' };
  if (REGION_CODES.has(code)) return { kind: 'capacity', scope: 'region' };
  if (CLOUD_CODES.has(code)) return { kind: 'capacity', scope: 'cloud' };
  if (PRECHECK_CODES.has(code) || PRECHECK_PREFIXES.some((p) => code.startsWith(p))) return { kind: 'precheck' };
  if (TRANSIENT_CODES.has(code)) return { kind: 'transient' };
  return { kind: 'unknown' };
}

/** The AWS error code of an SDK error (ServiceException.name, or Node's errno code for I/O errors). */
export function ec2ErrorCode(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { name?: unknown; Code?: unknown; code?: unknown };
    if (typeof e.Code === 'string') return e.Code;
    if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return e.code;
    if (typeof e.name === 'string') return e.name;
  }
  return 'Unknown';
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isTransient(err: unknown): boolean {
  if (err instanceof TransientError) return true;
  if (classifyEc2ErrorCode(ec2ErrorCode(err)).kind === 'transient') return true;
  // The SDK marks throttling and 5xx faults it knows to be retryable.
  return Boolean(err && typeof err === 'object' && (err as { $retryable?: unknown }).$retryable);
}

/**
 * Translates an EC2 error into the domain's error for a launch in (region, zone). Unknown errors
 * are returned untouched: the workflow's catch-all decides about bugs, not this table.
 */
export function toLaunchError(err: unknown, region: string, zone?: string): unknown {
  if (err instanceof CapacityError || err instanceof PrecheckError || err instanceof TransientError) return err;
  const code = ec2ErrorCode(err);
  const message = errorMessage(err);
  const cls = classifyEc2ErrorCode(code);
  switch (cls.kind) {
    case 'capacity':
      if (cls.scope === 'zone') {
        return new CapacityError(`EC2 ${zone ?? region}: ${code}: ${message}`, 'zone', { cloud: 'aws', region, zone }, code);
      }
      if (cls.scope === 'region') {
        return new CapacityError(`EC2 quota in ${region}: ${code}: ${message}`, 'region', { cloud: 'aws', region }, code);
      }
      return new CapacityError(
        `EC2 refused access in region ${region} (${code}): check the credentials, their IAM permissions ` +
          `and the region's opt-in status. ${message}`,
        'cloud',
        { cloud: 'aws' },
        code,
      );
    case 'precheck':
      return new PrecheckError(`EC2 rejected the launch request in ${region}: ${code}: ${message}`, code);
    case 'transient':
      return new TransientError(`EC2 in ${region}: ${code}: ${message}`, code);
    default:
      return err;
  }
}

// ---------------------------------------------------------------------------------------------
// Images

/**
 * Graviton families have a `g` right after the generation digit (m7g, c7gn, t4g, r6gd, im4gn,
 * is4gen, x2gd, hpc7g, g5g), plus the first-generation a1.
 */
export function isArmInstanceType(instanceType: string): boolean {
  const family = instanceType.split('.')[0] ?? '';
  return family === 'a1' || /^[a-z]+\d+g/.test(family);
}

function isGpuFamily(instanceType: string): boolean {
  return /^(p|g|gr)\d/.test(instanceType.split('.')[0] ?? '');
}

/**
 * AL2023 for CPU candidates, the Deep Learning Base OSS NVIDIA Driver GPU AMI (AL2023) for GPU ones,
 * each as an SSM public parameter that RunInstances resolves to the region's current AMI.
 */
export function defaultImageFor(candidate: Candidate): string {
  const arch = isArmInstanceType(candidate.instanceType) ? 'arm64' : 'x86_64';
  if (candidate.accelerator || isGpuFamily(candidate.instanceType)) {
    return `resolve:ssm:/aws/service/deeplearning/ami/${arch}/base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id`;
  }
  return `resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${arch}`;
}

// ---------------------------------------------------------------------------------------------

type InstanceState = DescribedInstance['state'];
const INSTANCE_STATES: readonly InstanceState[] = ['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated'];
/** States a node of a gang can still be used in. */
const USABLE_STATES = ['pending', 'running'];
/** States that still cost money or may come back: what terminate() acts on. */
const NOT_ENDING_STATES = ['pending', 'running', 'stopping', 'stopped'];

function tagValue(instance: Instance, key: string): string | undefined {
  return instance.Tags?.find((t) => t.Key === key)?.Value;
}

function skylessTags(instance: Instance): Partial<InstanceTags> {
  const tags: Partial<InstanceTags> = {};
  for (const key of [TAG_JOB, TAG_TASK, TAG_ATTEMPT, TAG_NODE, TAG_DEPLOYMENT] as const) {
    const value = tagValue(instance, key);
    if (value !== undefined) tags[key] = value;
  }
  return tags;
}

function stateOf(instance: Instance): InstanceState {
  const name = instance.State?.Name as InstanceState | undefined;
  return name && INSTANCE_STATES.includes(name) ? name : 'pending';
}

function isSpot(instance: Instance): boolean {
  return instance.InstanceLifecycle === 'spot';
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class Ec2Provider implements ComputeProvider {
  readonly cloud = 'aws';
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly maxApiAttempts: number;
  private readonly regions: readonly string[];
  private readonly imageFor: (candidate: Candidate) => string;
  /** Root device name per `region image` (AMI ids only): the disk size goes on that device. */
  private readonly rootDevices = new Map<string, string>();

  constructor(private readonly options: Ec2ProviderOptions) {
    if (!options.deployment || !/^[A-Za-z0-9_.:/=+@-]{1,128}$/.test(options.deployment)) {
      throw new ValidationError(`Ec2Provider: deployment ${JSON.stringify(options.deployment)} must be 1-128 tag-safe characters`);
    }
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
    this.maxApiAttempts = Math.max(1, options.maxApiAttempts ?? 5);
    this.regions = options.regions ?? DEFAULT_AWS_REGIONS;
    this.imageFor = options.imageFor ?? defaultImageFor;
  }

  // ---- launch --------------------------------------------------------------------------------

  async launch(req: LaunchRequest): Promise<LaunchedInstance[]> {
    checkLaunchRequest(req);
    const { candidate } = req;
    const region = candidate.region;
    const client = this.options.clientFor(region);
    const imageId = req.imageId ?? this.imageFor(candidate);

    let rootDevice: string;
    try {
      rootDevice = await this.rootDeviceFor(client, region, imageId);
    } catch (err) {
      throw toLaunchError(err, region);
    }

    // Idempotency: nodes of this attempt that already run are kept; anything else of this attempt
    // in this region (other type/market, outside the candidate's zones, duplicates, stopped) is a
    // leftover of an earlier, abandoned call and is terminated so it cannot join the gang.
    let existing: Instance[];
    try {
      existing = await this.findAttemptInstances(client, region, req.jobId, req.taskIndex, req.attempt, NOT_ENDING_STATES);
    } catch (err) {
      throw toLaunchError(err, region);
    }
    const { keep, pinnedZone, discard } = selectReusable(existing, req);
    if (discard.length > 0) {
      try {
        await this.terminateIds(client, region, discard.map((i) => i.InstanceId!));
      } catch (err) {
        throw toLaunchError(err, region);
      }
    }

    const zones = pinnedZone ? [pinnedZone, ...candidate.zones.filter((z) => z !== pinnedZone)] : candidate.zones;
    const zoneFailures: { zone: string; code: string; message: string }[] = [];
    for (const zone of zones) {
      const gang = new Map<number, Instance>(zone === pinnedZone ? keep : []);
      try {
        if (this.options.subnetIds && !this.options.subnetIds[zone]) {
          throw new CapacityError(`no subnet configured for zone ${zone}`, 'zone', { cloud: 'aws', region, zone }, 'NoSubnetForZone');
        }
        // Sequential on purpose: the first failure stops the gang before more nodes are paid for.
        for (let node = 0; node < req.numNodes; node++) {
          if (gang.has(node)) continue;
          const instance = await this.runNode(client, req, zone, node, imageId, rootDevice);
          gang.set(node, instance);
        }
        return [...gang.entries()]
          .sort(([a], [b]) => a - b)
          .map(([node, instance]) => ({
            instanceId: instance.InstanceId!,
            node,
            zone,
            ...(instance.PrivateIpAddress ? { ip: instance.PrivateIpAddress } : {}),
          }));
      } catch (err) {
        const domain = toLaunchError(err, region, zone);
        if (domain instanceof TransientError || !(domain instanceof CapacityError || domain instanceof PrecheckError)) {
          // May succeed when retried: keep the started nodes, a repeated launch reuses them.
          throw domain;
        }
        // This zone (or this whole candidate) cannot hold the gang: drop the part of it started here.
        const partial = [...gang.values()].map((i) => i.InstanceId!).filter(Boolean);
        await this.terminateIds(client, region, partial).catch(() => {
          // Best effort: the instances carry the attempt tags, so teardown and the janitor find them.
        });
        if (domain instanceof CapacityError && domain.scope === 'zone') {
          zoneFailures.push({ zone, code: domain.code ?? 'Unknown', message: domain.message });
          continue;
        }
        throw domain;
      }
    }
    if (zoneFailures.length === 1) {
      const [only] = zoneFailures;
      throw new CapacityError(only!.message, 'zone', { cloud: 'aws', region, zone: only!.zone }, only!.code);
    }
    throw new ZonesExhaustedError(region, zoneFailures);
  }

  private async runNode(
    client: EC2Client,
    req: LaunchRequest,
    zone: string,
    node: number,
    imageId: string,
    rootDevice: string,
  ): Promise<Instance> {
    const { candidate } = req;
    const tags: Tag[] = [
      { Key: TAG_JOB, Value: String(req.jobId) },
      { Key: TAG_TASK, Value: String(req.taskIndex) },
      { Key: TAG_ATTEMPT, Value: String(req.attempt) },
      { Key: TAG_NODE, Value: String(node) },
      { Key: TAG_DEPLOYMENT, Value: this.options.deployment },
      { Key: 'Name', Value: `skyless-${this.options.deployment}-j${req.jobId}-t${req.taskIndex}-a${req.attempt}-n${node}` },
    ];
    const subnetId = this.options.subnetIds?.[zone];
    const securityGroupIds = this.options.securityGroupIds?.[candidate.region];
    const input: RunInstancesCommandInput = {
      ImageId: imageId,
      InstanceType: candidate.instanceType as RunInstancesCommandInput['InstanceType'],
      MinCount: 1,
      MaxCount: 1,
      ClientToken: clientToken([
        this.options.deployment, req.jobId, req.taskIndex, req.attempt, node, zone,
        candidate.instanceType, candidate.spot ? 'spot' : 'on-demand', imageId,
      ]),
      UserData: buildUserData({ apiUrl: req.bootstrap.apiUrl, token: req.bootstrap.tokens[node]!, cloud: 'aws' }),
      TagSpecifications: [
        { ResourceType: 'instance', Tags: tags },
        { ResourceType: 'volume', Tags: tags },
      ],
      BlockDeviceMappings: [
        { DeviceName: rootDevice, Ebs: { VolumeSize: req.diskSizeGb, VolumeType: 'gp3', DeleteOnTermination: true } },
      ],
      // IMDSv2 only, hop limit 1: a container on the node (one more network hop) gets no IMDS token,
      // so it can read neither the user data (the bootstrap token) nor the identity document; the
      // agent on the host reads the interruption notice (docs/security.md "Nodes and agents").
      MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 1 },
      // `shutdown` on the node (or the agent giving up) must end billing, not park a stopped instance.
      InstanceInitiatedShutdownBehavior: 'terminate',
      ...(subnetId ? { SubnetId: subnetId } : { Placement: { AvailabilityZone: zone } }),
      ...(securityGroupIds?.length ? { SecurityGroupIds: securityGroupIds } : {}),
      ...(this.options.instanceProfileArn ? { IamInstanceProfile: { Arn: this.options.instanceProfileArn } } : {}),
      ...(this.options.keyName ? { KeyName: this.options.keyName } : {}),
      ...(candidate.spot
        ? {
            InstanceMarketOptions: {
              MarketType: 'spot',
              SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate' },
            },
          }
        : {}),
    };
    // A ClientToken stays bound to its instance for at least 24 h after that instance ends, and
    // RunInstances then answers with the ended instance. When the ended instance was stopped by a
    // client (someone terminated the node, then launch ran again for the same attempt), derive the
    // next token from the ended instance's id: still deterministic, so a retried call repeats the
    // same chain and creates no duplicate. When EC2 itself ended it (Server.*: a one-time spot
    // request with no capacity), this zone has no room.
    let token = input.ClientToken!;
    for (let generation = 0; ; generation++) {
      const out = await this.call(candidate.region, 'RunInstances', () =>
        client.send(new RunInstancesCommand({ ...input, ClientToken: token })),
      );
      const instance = out.Instances?.[0];
      if (!instance?.InstanceId) {
        throw new TransientError(`EC2 RunInstances in ${zone} returned no instance`, 'EmptyRunInstancesResponse');
      }
      const state = stateOf(instance);
      if (state !== 'shutting-down' && state !== 'terminated') return instance;
      const reason = instance.StateReason?.Code ?? state;
      if (reason.startsWith('Server.') || generation >= MAX_TOKEN_GENERATIONS) {
        throw new CapacityError(
          `EC2 ${zone}: node ${node} (${instance.InstanceId}) ended at launch: ${reason}`,
          'zone',
          { cloud: 'aws', region: candidate.region, zone },
          'InstanceTerminatedAtLaunch',
        );
      }
      token = clientToken([token, instance.InstanceId]);
    }
  }

  private async rootDeviceFor(client: EC2Client, region: string, imageId: string): Promise<string> {
    // SSM parameters cannot be described before launch; ours all name AL2023-based images.
    if (imageId.startsWith('resolve:ssm:')) return AL2023_ROOT_DEVICE;
    const key = `${region} ${imageId}`;
    const cached = this.rootDevices.get(key);
    if (cached) return cached;
    const out = await this.call(region, 'DescribeImages', () => client.send(new DescribeImagesCommand({ ImageIds: [imageId] })));
    const image = out.Images?.find((i) => i.ImageId === imageId);
    if (!image) throw new PrecheckError(`AMI ${imageId} does not exist in ${region} (or is not shared with this account)`, 'InvalidAMIID.NotFound');
    const device = image.RootDeviceName ?? AL2023_ROOT_DEVICE;
    this.rootDevices.set(key, device);
    return device;
  }

  // ---- terminate -----------------------------------------------------------------------------

  /** The instance whose AWS-signed identity document this is (adapters/aws/instance-identity.ts). */
  async verifyIdentity(proof: NodeIdentityProof): Promise<VerifiedNodeIdentity> {
    return verifyAwsProof(proof, this.options.identityCerts ?? REGION_CERTS, { accountId: this.options.accountId });
  }

  async terminate(jobId: number, taskIndex: number, attempt: number, region?: string): Promise<void> {
    const regions = region ? [region] : this.regions;
    // Only the look-up may skip a refusing region during a sweep: once instances are found, a
    // failure to terminate them is always an error.
    const found = await this.forEachRegion(regions, region === undefined, async (r) => {
      const instances = await this.findAttemptInstances(this.options.clientFor(r), r, jobId, taskIndex, attempt, NOT_ENDING_STATES);
      return { region: r, instanceIds: instances.map((i) => i.InstanceId!) };
    });
    await Promise.all(
      found
        .filter((f) => f.instanceIds.length > 0)
        .map((f) => this.terminateIds(this.options.clientFor(f.region), f.region, f.instanceIds)),
    );
  }

  /** Marks the instances as ended by skyless, then terminates them. Missing instances are fine. */
  private async terminateIds(client: EC2Client, region: string, instanceIds: string[]): Promise<void> {
    for (let i = 0; i < instanceIds.length; i += 500) {
      const batch = instanceIds.slice(i, i + 500);
      try {
        await this.call(region, 'CreateTags', () =>
          client.send(new CreateTagsCommand({ Resources: batch, Tags: [{ Key: TAG_TERMINATED_BY, Value: TERMINATED_BY_SKYLESS }] })),
        );
        await this.call(region, 'TerminateInstances', () => client.send(new TerminateInstancesCommand({ InstanceIds: batch })));
      } catch (err) {
        // Already gone (terminated long ago and purged, or a race with another terminate): done.
        if (ec2ErrorCode(err) === 'InvalidInstanceID.NotFound') {
          await this.terminateOneByOne(client, region, batch);
          continue;
        }
        throw err;
      }
    }
  }

  /** After a NotFound on a batch, the ids that do exist still need terminating. */
  private async terminateOneByOne(client: EC2Client, region: string, instanceIds: string[]): Promise<void> {
    for (const id of instanceIds) {
      try {
        await this.call(region, 'CreateTags', () =>
          client.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: TAG_TERMINATED_BY, Value: TERMINATED_BY_SKYLESS }] })),
        );
        await this.call(region, 'TerminateInstances', () => client.send(new TerminateInstancesCommand({ InstanceIds: [id] })));
      } catch (err) {
        if (ec2ErrorCode(err) !== 'InvalidInstanceID.NotFound') throw err;
      }
    }
  }

  // ---- describe ------------------------------------------------------------------------------

  async describe(filter: { jobId?: number; regions?: string[] } = {}): Promise<DescribedInstance[]> {
    const regions = filter.regions ?? this.regions;
    const filters: Filter[] = [
      { Name: `tag:${TAG_DEPLOYMENT}`, Values: [this.options.deployment] },
      filter.jobId === undefined
        ? { Name: 'tag-key', Values: [TAG_JOB] }
        : { Name: `tag:${TAG_JOB}`, Values: [String(filter.jobId)] },
    ];
    const perRegion = await this.forEachRegion(regions, filter.regions === undefined, async (region) => {
      const instances = await this.describeInstances(this.options.clientFor(region), region, filters);
      return instances.map(
        (instance): DescribedInstance => ({
          instanceId: instance.InstanceId!,
          cloud: 'aws',
          region,
          ...(instance.Placement?.AvailabilityZone ? { zone: instance.Placement.AvailabilityZone } : {}),
          state: stateOf(instance),
          tags: skylessTags(instance),
          ...(instance.StateReason?.Code ? { stateReason: instance.StateReason.Code } : {}),
        }),
      );
    });
    return perRegion.flat();
  }

  /**
   * Why one instance is in its state, for the EventBridge state-change handler; undefined when EC2
   * no longer knows the instance.
   */
  async describeStateReason(instanceId: string, region: string): Promise<InstanceStateReport | undefined> {
    const client = this.options.clientFor(region);
    let instances: Instance[];
    try {
      instances = await this.describeInstances(client, region, undefined, [instanceId]);
    } catch (err) {
      if (ec2ErrorCode(err) === 'InvalidInstanceID.NotFound') return undefined;
      throw err;
    }
    const instance = instances.find((i) => i.InstanceId === instanceId);
    if (!instance) return undefined;
    return {
      instanceId,
      region,
      state: stateOf(instance),
      ...(instance.StateReason?.Code ? { code: instance.StateReason.Code } : {}),
      ...(instance.StateReason?.Message ? { message: instance.StateReason.Message } : {}),
      terminatedBySkyless: tagValue(instance, TAG_TERMINATED_BY) === TERMINATED_BY_SKYLESS,
      tags: skylessTags(instance),
    };
  }

  // ---- shared --------------------------------------------------------------------------------

  private findAttemptInstances(
    client: EC2Client,
    region: string,
    jobId: number,
    taskIndex: number,
    attempt: number,
    states: string[],
  ): Promise<Instance[]> {
    return this.describeInstances(client, region, [
      { Name: `tag:${TAG_DEPLOYMENT}`, Values: [this.options.deployment] },
      { Name: `tag:${TAG_JOB}`, Values: [String(jobId)] },
      { Name: `tag:${TAG_TASK}`, Values: [String(taskIndex)] },
      { Name: `tag:${TAG_ATTEMPT}`, Values: [String(attempt)] },
      { Name: 'instance-state-name', Values: states },
    ]);
  }

  private async describeInstances(client: EC2Client, region: string, filters?: Filter[], instanceIds?: string[]): Promise<Instance[]> {
    const instances: Instance[] = [];
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const out = await this.call(region, 'DescribeInstances', () =>
        client.send(
          new DescribeInstancesCommand({
            ...(filters ? { Filters: filters } : {}),
            ...(instanceIds ? { InstanceIds: instanceIds } : {}),
            ...(token ? { NextToken: token } : {}),
          }),
        ),
      );
      for (const reservation of out.Reservations ?? []) instances.push(...(reservation.Instances ?? []));
      nextToken = out.NextToken || undefined;
    } while (nextToken);
    return instances;
  }

  /**
   * Runs `work` in every region concurrently and returns the results in region order. With
   * `tolerateAccessErrors` (a sweep of the default region list) a region that refuses access (not
   * enabled for this account, or denied by policy) is skipped as long as at least one region
   * answered; otherwise the first error, in region order, is thrown.
   */
  private async forEachRegion<T>(
    regions: readonly string[],
    tolerateAccessErrors: boolean,
    work: (region: string) => Promise<T>,
  ): Promise<T[]> {
    const settled = await Promise.allSettled(regions.map((region) => work(region)));
    const results: T[] = [];
    let firstRefusal: unknown;
    for (const outcome of settled) {
      if (outcome.status === 'fulfilled') {
        results.push(outcome.value);
        continue;
      }
      const cls = classifyEc2ErrorCode(ec2ErrorCode(outcome.reason));
      if (tolerateAccessErrors && cls.kind === 'capacity' && cls.scope === 'cloud') {
        firstRefusal ??= outcome.reason;
        continue;
      }
      throw outcome.reason;
    }
    if (results.length === 0 && firstRefusal !== undefined) throw firstRefusal;
    return results;
  }

  /**
   * One EC2 API call, retried with capped exponential back-off (with jitter) while EC2 throttles or
   * has a passing fault; after maxApiAttempts it becomes a TransientError. Other errors pass through.
   */
  private async call<T>(region: string, operation: string, send: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await send();
      } catch (err) {
        if (!isTransient(err)) throw err;
        const code = ec2ErrorCode(err);
        if (attempt >= this.maxApiAttempts) {
          throw new TransientError(`EC2 ${operation} in ${region} still failing after ${attempt} attempts: ${code}: ${errorMessage(err)}`, code);
        }
        const ceiling = Math.min(10_000, 500 * 2 ** (attempt - 1));
        await this.sleep(Math.round(ceiling * (0.5 + this.random() / 2)));
      }
    }
  }
}

/** ClientToken (≤ 64 ASCII characters) from the values that identify one node's launch request. */
function clientToken(parts: (string | number)[]): string {
  return 'skyless-' + createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 56);
}

function checkLaunchRequest(req: LaunchRequest): void {
  const where = `launch job ${req.jobId} task ${req.taskIndex} attempt ${req.attempt}`;
  if (req.candidate.cloud !== 'aws') throw new ValidationError(`${where}: candidate.cloud is ${req.candidate.cloud}, not aws`);
  if (!Number.isInteger(req.numNodes) || req.numNodes < 1) throw new ValidationError(`${where}: numNodes must be a positive integer, got ${req.numNodes}`);
  if (req.bootstrap.tokens.length < req.numNodes) {
    throw new ValidationError(`${where}: bootstrap.tokens has ${req.bootstrap.tokens.length} tokens for ${req.numNodes} nodes`);
  }
  if (req.candidate.zones.length === 0) throw new ValidationError(`${where}: candidate ${req.candidate.instanceType} in ${req.candidate.region} lists no zones`);
  if (!Number.isInteger(req.diskSizeGb) || req.diskSizeGb < 1) throw new ValidationError(`${where}: diskSizeGb must be a positive integer, got ${req.diskSizeGb}`);
}

/**
 * Splits this attempt's existing instances into the nodes a repeated launch can reuse and leftovers
 * to terminate. Reusable: pending/running, same type and market, node index in range, in one of the
 * candidate's zones, first per node; and (a gang never spans zones) only those in the zone holding
 * the most of them.
 */
function selectReusable(existing: Instance[], req: LaunchRequest): { keep: Map<number, Instance>; pinnedZone?: string; discard: Instance[] } {
  const { candidate } = req;
  const byZone = new Map<string, Map<number, Instance>>();
  const discard: Instance[] = [];
  const sorted = [...existing].sort((a, b) => (a.InstanceId ?? '').localeCompare(b.InstanceId ?? ''));
  for (const instance of sorted) {
    const node = Number(tagValue(instance, TAG_NODE));
    const zone = instance.Placement?.AvailabilityZone ?? '';
    const usable =
      USABLE_STATES.includes(stateOf(instance)) &&
      instance.InstanceType === candidate.instanceType &&
      isSpot(instance) === candidate.spot &&
      Number.isInteger(node) && node >= 0 && node < req.numNodes &&
      candidate.zones.includes(zone);
    const nodes = byZone.get(zone) ?? new Map<number, Instance>();
    if (!usable || nodes.has(node)) {
      discard.push(instance);
      continue;
    }
    nodes.set(node, instance);
    byZone.set(zone, nodes);
  }
  let pinnedZone: string | undefined;
  let keep = new Map<number, Instance>();
  for (const [zone, nodes] of byZone) {
    if (nodes.size > keep.size) {
      if (pinnedZone !== undefined) discard.push(...keep.values());
      pinnedZone = zone;
      keep = nodes;
    } else {
      discard.push(...nodes.values());
    }
  }
  return { keep, ...(pinnedZone !== undefined ? { pinnedZone } : {}), discard };
}
