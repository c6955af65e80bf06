// Deployment settings of the skyless stack: what an operator chooses at `cdk deploy` time (limits,
// allowed regions, log retention, …), as typed stack props. They come from CDK context
// (`cdk deploy -c maxRunning=50`, or the "context" block of cdk.json) through settingsFromContext, which
// validates every value and names the context key of any bad one.

/** What the stack is configured with. Everything but the deployment name has a default. */
export interface SkylessSettings {
  /**
   * Deployment name: the `skyless:deployment` tag on every instance the deployment launches (IAM
   * conditions scope terminate/tag to it), and part of resource names. Lowercase letters, digits, '-'.
   */
  deployment: string;
  /** Jobs launching at once (SPEC §5 admission). */
  maxLaunching: number;
  /** Jobs holding a running slot at once. */
  maxRunning: number;
  /**
   * AWS regions nodes may be launched in (also an aws:RequestedRegion condition on launching). Never
   * empty: a default of "any region" let a runaway job spread over every region of the account.
   */
  allowedRegions: string[];
  /** Days job logs (`logs/` in the bucket) and the Lambda/API log groups are kept. */
  logRetentionDays: LogRetentionDays;
  /** ARN of a Secrets Manager secret holding a GCP Workload Identity Federation credentials config (JSON). */
  gcpCredentialsSecretArn?: string;
  /** GCP project nodes launch in; default: the project the credentials name. */
  gcpProject?: string;
  /** Service account GCE nodes run as (bucket mounts on gs://); default: none, nodes get no GCP permission. */
  gcpNodeServiceAccount?: string;
  /** VPC for the node security group; absent = the region's default VPC. */
  vpcId?: string;
  /** Buckets nodes may read (s3:// file mounts); empty = nodes get no AWS permissions at all. */
  nodeReadBuckets: string[];
  /** Buckets nodes may also write to: buckets mounted with mode MOUNT, saved back by the node. */
  nodeWriteBuckets: string[];
  /** Keep the table and the bucket when the stack is deleted (default true: job history and logs survive `cdk destroy`). */
  retainData: boolean;
  /** Steady-state requests per second the HTTP API accepts (agents heartbeat through it), and the burst. */
  apiRateLimit: number;
  apiBurstLimit: number;
  /**
   * IAM principals that may read and cancel every user's jobs: user or role ARNs (a role covers all
   * its sessions). Default: nobody; each user touches only their own jobs.
   */
  adminPrincipals: string[];
  /** Guardrails (core/usecases/guardrails.ts), enforced at submit: largest num_nodes of a task. */
  maxNodesPerJob: number;
  /** Largest `--num-jobs` of one submission. */
  maxJobsPerSubmission: number;
  /** Most unfinished jobs one user may have at once. */
  maxActiveJobsPerUser: number;
  /** Instance types nodes may be (also an ec2:InstanceType condition on launching); empty = any. */
  allowedInstanceTypes: string[];
}

/** The retention periods CloudWatch Logs accepts (days); S3 log expiry uses the same value. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;
export type LogRetentionDays = (typeof LOG_RETENTION_DAYS)[number];

export const DEFAULT_SETTINGS: Omit<SkylessSettings, 'deployment'> = {
  // SkyPilot's per-controller defaults (SPEC §4): 8 launches and 200 running jobs.
  maxLaunching: 8,
  maxRunning: 200,
  // The catalog's US regions: a deployment names others explicitly.
  allowedRegions: ['us-east-1', 'us-east-2', 'us-west-2'],
  logRetentionDays: 90,
  nodeReadBuckets: [],
  nodeWriteBuckets: [],
  retainData: true,
  apiRateLimit: 200,
  apiBurstLimit: 400,
  adminPrincipals: [],
  // Generous for real work (SkyPilot's largest documented clusters, big sweeps), small enough that a
  // typo (num_nodes: 1000) or a runaway script is refused before it costs anything.
  maxNodesPerJob: 64,
  maxJobsPerSubmission: 1000,
  maxActiveJobsPerUser: 2000,
  allowedInstanceTypes: [],
};

export const DEFAULT_DEPLOYMENT = 'skyless';

/** Invalid deployment settings (a bad context value or prop); the message names the key and the rule. */
export class SettingsError extends Error {
  override readonly name = 'SettingsError' as const;
}

const DEPLOYMENT_PATTERN = /^[a-z][a-z0-9-]{0,29}$/;
const REGION_PATTERN = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;
const BUCKET_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const SECRET_ARN_PATTERN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+-[A-Za-z0-9]{6}$/;
const VPC_PATTERN = /^vpc-[0-9a-f]{8,17}$/;
const PRINCIPAL_PATTERN = /^arn:aws[a-z-]*:(iam::\d{12}:(user|role)\/[\w+=,.@/-]+|sts::\d{12}:assumed-role\/[\w+=,.@-]+\/[\w+=,.@-]+)$/;
const INSTANCE_TYPE_PATTERN = /^[a-z][a-z0-9-]*\.[a-z0-9-]+$/;

/** Context keys read by settingsFromContext (also the prop names). */
export const CONTEXT_KEYS = [
  'deployment', 'maxLaunching', 'maxRunning', 'allowedRegions', 'logRetentionDays', 'gcpCredentialsSecretArn', 'gcpProject', 'gcpNodeServiceAccount',
  'vpcId', 'nodeReadBuckets', 'nodeWriteBuckets', 'retainData', 'apiRateLimit', 'apiBurstLimit',
  'adminPrincipals', 'maxNodesPerJob', 'maxJobsPerSubmission', 'maxActiveJobsPerUser', 'allowedInstanceTypes',
] as const;

function positiveInt(key: string, v: unknown, max: number): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > max) {
    throw new SettingsError(`${key} must be an integer from 1 to ${max}, got ${JSON.stringify(v)}`);
  }
  return n;
}

/** A list from context: a JSON array, or a comma-separated string (`-c allowedRegions=us-east-1,us-west-2`). */
function stringList(key: string, v: unknown, pattern: RegExp, what: string): string[] {
  let list: unknown = v;
  if (typeof v === 'string') {
    const t = v.trim();
    list = t.startsWith('[') ? parseJson(key, t) : t === '' ? [] : t.split(',').map((s) => s.trim());
  }
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
    throw new SettingsError(`${key} must be a list of ${what}s (JSON array or comma-separated), got ${JSON.stringify(v)}`);
  }
  for (const x of list) if (!pattern.test(x)) throw new SettingsError(`${key}: '${x}' is not a valid ${what}`);
  return [...new Set(list as string[])];
}

function parseJson(key: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SettingsError(`${key} is not valid JSON: ${(err as Error).message}`);
  }
}

function bool(key: string, v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new SettingsError(`${key} must be true or false, got ${JSON.stringify(v)}`);
}

function matching(key: string, v: unknown, pattern: RegExp, what: string): string {
  if (typeof v !== 'string' || !pattern.test(v)) throw new SettingsError(`${key} must be ${what}, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * Validates raw settings (strings from `-c key=value`, or JSON values from cdk.json) into
 * SkylessSettings; undefined keys take DEFAULT_SETTINGS. Throws SettingsError naming the first bad key.
 */
export function resolveSettings(raw: Partial<Record<(typeof CONTEXT_KEYS)[number], unknown>>): SkylessSettings {
  const s: SkylessSettings = { deployment: DEFAULT_DEPLOYMENT, ...DEFAULT_SETTINGS };
  if (raw.deployment !== undefined) {
    s.deployment = matching('deployment', raw.deployment, DEPLOYMENT_PATTERN, 'a lowercase name of 1-30 letters, digits and "-", starting with a letter');
  }
  if (raw.maxLaunching !== undefined) s.maxLaunching = positiveInt('maxLaunching', raw.maxLaunching, 10_000);
  if (raw.maxRunning !== undefined) s.maxRunning = positiveInt('maxRunning', raw.maxRunning, 100_000);
  if (raw.allowedRegions !== undefined) {
    s.allowedRegions = stringList('allowedRegions', raw.allowedRegions, REGION_PATTERN, 'AWS region name');
    if (s.allowedRegions.length === 0) throw new SettingsError('allowedRegions must name at least one region: "any region" lets a runaway job spread over the whole account');
  }
  if (raw.logRetentionDays !== undefined) {
    const d = positiveInt('logRetentionDays', raw.logRetentionDays, 3653);
    if (!(LOG_RETENTION_DAYS as readonly number[]).includes(d)) {
      throw new SettingsError(`logRetentionDays must be one of ${LOG_RETENTION_DAYS.join(', ')} (the periods CloudWatch Logs accepts), got ${d}`);
    }
    s.logRetentionDays = d as LogRetentionDays;
  }
  if (raw.gcpCredentialsSecretArn !== undefined && raw.gcpCredentialsSecretArn !== '') {
    s.gcpCredentialsSecretArn = matching('gcpCredentialsSecretArn', raw.gcpCredentialsSecretArn, SECRET_ARN_PATTERN, 'the complete ARN of a Secrets Manager secret (ending in the 6-character suffix)');
  }
  if (raw.gcpProject !== undefined && raw.gcpProject !== '') {
    if (s.gcpCredentialsSecretArn === undefined) throw new SettingsError('gcpProject needs gcpCredentialsSecretArn: GCP needs credentials');
    s.gcpProject = matching('gcpProject', raw.gcpProject, /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'a GCP project ID (6-30 lowercase letters, digits and -)');
  }
  if (raw.gcpNodeServiceAccount !== undefined && raw.gcpNodeServiceAccount !== '') {
    if (s.gcpCredentialsSecretArn === undefined) throw new SettingsError('gcpNodeServiceAccount needs gcpCredentialsSecretArn: GCP needs credentials');
    s.gcpNodeServiceAccount = matching('gcpNodeServiceAccount', raw.gcpNodeServiceAccount, /^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\.iam\.gserviceaccount\.com$/, 'a service account email (NAME@PROJECT.iam.gserviceaccount.com)');
  }
  if (raw.vpcId !== undefined && raw.vpcId !== '') s.vpcId = matching('vpcId', raw.vpcId, VPC_PATTERN, 'a VPC id (vpc-…)');
  if (raw.nodeReadBuckets !== undefined) s.nodeReadBuckets = stringList('nodeReadBuckets', raw.nodeReadBuckets, BUCKET_PATTERN, 'S3 bucket name');
  if (raw.nodeWriteBuckets !== undefined) s.nodeWriteBuckets = stringList('nodeWriteBuckets', raw.nodeWriteBuckets, BUCKET_PATTERN, 'S3 bucket name');
  if (raw.retainData !== undefined) s.retainData = bool('retainData', raw.retainData);
  if (raw.apiRateLimit !== undefined) s.apiRateLimit = positiveInt('apiRateLimit', raw.apiRateLimit, 10_000);
  if (raw.apiBurstLimit !== undefined) s.apiBurstLimit = positiveInt('apiBurstLimit', raw.apiBurstLimit, 5_000);
  if (raw.adminPrincipals !== undefined) s.adminPrincipals = stringList('adminPrincipals', raw.adminPrincipals, PRINCIPAL_PATTERN, 'IAM user, role or assumed-role ARN');
  if (raw.maxNodesPerJob !== undefined) s.maxNodesPerJob = positiveInt('maxNodesPerJob', raw.maxNodesPerJob, 10_000);
  if (raw.maxJobsPerSubmission !== undefined) s.maxJobsPerSubmission = positiveInt('maxJobsPerSubmission', raw.maxJobsPerSubmission, 10_000);
  if (raw.maxActiveJobsPerUser !== undefined) s.maxActiveJobsPerUser = positiveInt('maxActiveJobsPerUser', raw.maxActiveJobsPerUser, 1_000_000);
  if (raw.allowedInstanceTypes !== undefined) s.allowedInstanceTypes = stringList('allowedInstanceTypes', raw.allowedInstanceTypes, INSTANCE_TYPE_PATTERN, 'EC2 instance type');
  return s;
}

/** Reads every CONTEXT_KEYS entry through `tryGetContext` (a construct node's) and validates them. */
export function settingsFromContext(tryGetContext: (key: string) => unknown): SkylessSettings {
  const raw: Record<string, unknown> = {};
  for (const key of CONTEXT_KEYS) raw[key] = tryGetContext(key);
  return resolveSettings(raw);
}
