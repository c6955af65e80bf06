// The AWS wiring of Deps for the Lambda handlers, built from the function's environment (the
// contract with the CDK stack is docs/aws-runtime.md). Built lazily, once per container, on the
// first event — importing a handler module (local mode, tests, `cdk synth` bundling) never reads the
// environment or touches AWS. SDK modules are imported inside the builder for the same reason.
//
// awsDeps is asynchronous: the agent-token HMAC key is a secret (Secrets Manager, or an SSM
// SecureString), fetched once per container before the first event is handled. Rotating it takes
// effect as containers are replaced (redeploy the functions to force it).

import { randomBytes, randomUUID } from 'node:crypto';
import type { Deps, Settings } from '../core/usecases/deps.ts';
import type { ComputeProvider, LaunchRequest, LaunchedInstance, DescribedInstance } from '../core/ports.ts';
import type { Cloud } from '../core/spec/types.ts';
import { PrecheckError } from '../core/errors.ts';
import { DEFAULT_BACKOFF } from '../core/recovery/backoff.ts';

/** The environment is wrong: every problem found, one per line, naming the variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError' as const;
  constructor(readonly problems: string[]) {
    super(`the Lambda environment is not a valid skyless configuration (see docs/aws-runtime.md):\n- ${problems.join('\n- ')}`);
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

export interface AwsRuntimeConfig {
  /** The deployment's region (Lambda sets AWS_REGION). */
  region: string;
  tableName: string;
  bucketName: string;
  stateMachineArn: string;
  eventBusName: string;
  /** Where the agent-token HMAC key lives: exactly one of the two. */
  agentKey: { secretArn: string } | { parameterName: string };
  /** The KMS key (ARN) job secrets are sealed under (core/usecases/secrets.ts). */
  secretsKeyArn: string;
  /** Function invoked asynchronously to run a scheduler tick soon; unset: wait for the schedule. */
  schedulerFunctionName?: string;
  /** Regions nodes may be launched in; undefined = any region (the account decides). */
  allowedRegions?: string[];
  /** Regions describe/terminate sweep when no region is named: allowedRegions, else the default list. */
  sweepRegions: string[];
  /** Instance profile nodes get (ARN). */
  instanceProfileArn?: string;
  /** Security group for nodes launched in `region` (security groups are regional). */
  nodeSecurityGroupId?: string;
  /** Subnet per availability zone (JSON object); unset: the default VPC. */
  nodeSubnetIds?: Record<string, string>;
  nodeKeyName?: string;
  /** GCP Compute Engine as a second cloud: credentials JSON in Secrets Manager, and the project (else the one the credentials name). */
  gcp?: { credentialsSecretArn: string; project?: string; nodeServiceAccount?: string };
  settings: Settings;
}

/** Regions enabled in every account without opt-in (Ec2Provider's DEFAULT_AWS_REGIONS, kept here so importing this module loads no SDK). */
const DEFAULT_REGIONS = [
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'ca-central-1', 'sa-east-1',
  'eu-central-1', 'eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-north-1',
  'ap-south-1', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-southeast-1', 'ap-southeast-2',
];
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
/** Regions the GCE provider sweeps (describe, terminate, janitor): the catalog's GCP regions. */
export const GCP_SWEEP_REGIONS: readonly string[] = ['us-central1', 'us-west1', 'us-east4', 'europe-west4'];
const GCP_PROJECT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

/** Defaults for a real deployment: VMs boot in minutes, heartbeats cost requests. */
export const AWS_SETTING_DEFAULTS = {
  heartbeatSeconds: 30,
  heartbeatTimeoutSeconds: 180,
  registerTimeoutSeconds: 900,
  teardownPollSeconds: 15,
  maxLaunching: 16,
  maxRunning: 200,
  cyclesPerExecution: 500,
  candidatesPerLaunchStep: 10,
  logChunkBytes: 1024 * 1024,
} as const;

/** Reads and checks the environment; throws ConfigError listing every problem at once. */
export function readAwsRuntimeConfig(env: Env): AwsRuntimeConfig {
  const problems: string[] = [];
  const required = (name: string, what: string): string => {
    const v = env[name]?.trim();
    if (!v) problems.push(`${name} is required: ${what}`);
    return v ?? '';
  };
  const optional = (name: string): string | undefined => env[name]?.trim() || undefined;
  const number = (name: string, dflt: number, opts: { integer?: boolean; min?: number } = {}): number => {
    const raw = env[name]?.trim();
    if (!raw) return dflt;
    const n = Number(raw);
    const min = opts.min ?? 0;
    if (!Number.isFinite(n) || n < min || (opts.integer && !Number.isInteger(n))) {
      problems.push(`${name} must be ${opts.integer ? 'an integer' : 'a number'} >= ${min}, got '${raw}'`);
      return dflt;
    }
    return n;
  };
  const list = (name: string): string[] | undefined => {
    const raw = env[name]?.trim();
    if (!raw) return undefined;
    return raw.split(',').map((s) => s.trim()).filter(Boolean);
  };

  const region = env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim() || '';
  if (!region) problems.push('AWS_REGION is required (Lambda sets it): the deployment region');
  const tableName = required('TABLE_NAME', 'the DynamoDB job table');
  const bucketName = required('BUCKET_NAME', 'the S3 bucket for job files, logs and submit/ uploads');
  const stateMachineArn = required('STATE_MACHINE_ARN', 'the ARN of the job state machine (statemachines/job.asl.json)');
  if (stateMachineArn && !/^arn:[a-z-]+:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]+$/.test(stateMachineArn)) {
    problems.push(`STATE_MACHINE_ARN '${stateMachineArn}' is not a state machine ARN (arn:<partition>:states:<region>:<account>:stateMachine:<name>)`);
  }
  const eventBusName = required('EVENT_BUS_NAME', 'the skyless EventBridge bus');
  const agentKeySecretArn = optional('AGENT_KEY_SECRET_ARN');
  const agentKeyParameter = optional('AGENT_KEY_PARAMETER');
  if (!agentKeySecretArn && !agentKeyParameter) {
    problems.push('AGENT_KEY_SECRET_ARN (a Secrets Manager secret) or AGENT_KEY_PARAMETER (an SSM SecureString name) is required: the agent-token HMAC key');
  }
  if (agentKeySecretArn && agentKeyParameter) problems.push('set only one of AGENT_KEY_SECRET_ARN and AGENT_KEY_PARAMETER');
  if (agentKeySecretArn && !/^arn:[a-z-]+:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/.test(agentKeySecretArn)) {
    problems.push(`AGENT_KEY_SECRET_ARN '${agentKeySecretArn}' is not a Secrets Manager secret ARN`);
  }
  const secretsKeyArn = required('SECRETS_KEY_ARN', 'the KMS key job secrets are encrypted under');
  if (secretsKeyArn && !/^arn:[a-z-]+:kms:[a-z0-9-]+:\d{12}:(key|alias)\/.+$/.test(secretsKeyArn)) problems.push(`SECRETS_KEY_ARN '${secretsKeyArn}' is not a KMS key ARN`);
  const deployment = required('DEPLOYMENT', "the deployment name (the skyless:deployment tag on every instance)");
  if (deployment && !/^[A-Za-z0-9][-_.A-Za-z0-9]{0,62}$/.test(deployment)) problems.push(`DEPLOYMENT '${deployment}' must be 1-63 letters, digits, '-', '_' or '.'`);
  let apiUrl = required('API_URL', 'the API base URL as nodes reach it (agent bootstrap)');
  if (apiUrl) {
    try {
      const u = new URL(apiUrl);
      if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('not http(s)');
      apiUrl = apiUrl.replace(/\/+$/, '');
    } catch {
      problems.push(`API_URL '${apiUrl}' is not an http(s) URL`);
    }
  }

  // Empty or unset: any region (launches are not restricted; sweeps cover the default regions).
  const allowedRegionList = list('ALLOWED_REGIONS');
  const allowedRegions = allowedRegionList?.length ? [...new Set(allowedRegionList)] : undefined;
  for (const r of allowedRegions ?? []) if (!REGION.test(r)) problems.push(`ALLOWED_REGIONS: '${r}' is not a region name (like us-east-1)`);

  const gcpSecret = optional('GCP_CREDENTIALS_SECRET_ARN');
  if (gcpSecret && !/^arn:[a-z-]+:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/.test(gcpSecret)) problems.push(`GCP_CREDENTIALS_SECRET_ARN '${gcpSecret}' is not a Secrets Manager secret ARN`);
  const gcpProject = optional('GCP_PROJECT');
  if (gcpProject && !GCP_PROJECT.test(gcpProject)) problems.push(`GCP_PROJECT '${gcpProject}' is not a GCP project ID (6-30 lowercase letters, digits and '-')`);
  if (gcpProject && !gcpSecret) problems.push('GCP_PROJECT is set but GCP_CREDENTIALS_SECRET_ARN is not: GCP needs credentials');
  const gcpNodeServiceAccount = optional('GCP_NODE_SERVICE_ACCOUNT');
  if (gcpNodeServiceAccount && !/^[^@\s]+@[^@\s]+\.iam\.gserviceaccount\.com$/.test(gcpNodeServiceAccount)) problems.push(`GCP_NODE_SERVICE_ACCOUNT '${gcpNodeServiceAccount}' is not a service account email`);
  // Clouds with a compute provider here: AWS always, GCP when its credentials are configured.
  const wiredClouds: Cloud[] = gcpSecret ? ['aws', 'gcp'] : ['aws'];
  const allowedClouds = (list('ALLOWED_CLOUDS') ?? wiredClouds) as Cloud[];
  for (const c of allowedClouds) {
    if (!wiredClouds.includes(c)) {
      problems.push(`ALLOWED_CLOUDS: '${c}' has no compute provider in the AWS deployment (available: ${wiredClouds.join(', ')}${c === 'gcp' ? '; set GCP_CREDENTIALS_SECRET_ARN' : ''})`);
    }
  }

  let nodeSubnetIds: Record<string, string> | undefined;
  const subnetsRaw = optional('NODE_SUBNET_IDS');
  if (subnetsRaw) {
    try {
      const v = JSON.parse(subnetsRaw);
      if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.values(v).every((s) => typeof s === 'string' && s.startsWith('subnet-'))) throw new Error('shape');
      nodeSubnetIds = v as Record<string, string>;
    } catch {
      problems.push(`NODE_SUBNET_IDS must be a JSON object {"<zone>": "subnet-…"}, got '${subnetsRaw.slice(0, 80)}'`);
    }
  }
  const nodeSecurityGroupId = optional('NODE_SECURITY_GROUP_ID');
  if (nodeSecurityGroupId && !nodeSecurityGroupId.startsWith('sg-')) problems.push(`NODE_SECURITY_GROUP_ID '${nodeSecurityGroupId}' is not a security group id (sg-…)`);
  const instanceProfileArn = optional('NODE_INSTANCE_PROFILE_ARN');
  if (instanceProfileArn && !/^arn:[a-z-]+:iam::\d{12}:instance-profile\//.test(instanceProfileArn)) problems.push(`NODE_INSTANCE_PROFILE_ARN '${instanceProfileArn}' is not an instance profile ARN`);

  // Ownership and guardrails (core/usecases/ownership.ts, guardrails.ts); unset = nobody / no cap.
  const adminPrincipals = list('ADMIN_PRINCIPALS');
  for (const a of adminPrincipals ?? []) if (!/^arn:aws[a-z-]*:(iam|sts)::\d{12}:.+$/.test(a)) problems.push(`ADMIN_PRINCIPALS: '${a}' is not an IAM user, role or session ARN`);
  const cap = (name: string) => (env[name]?.trim() ? number(name, 0, { integer: true, min: 1 }) : undefined);
  const maxNodesPerJob = cap('MAX_NODES_PER_JOB');
  const maxJobsPerSubmission = cap('MAX_JOBS_PER_SUBMISSION');
  const maxActiveJobsPerUser = cap('MAX_ACTIVE_JOBS_PER_USER');
  const allowedInstanceTypes = list('ALLOWED_INSTANCE_TYPES');
  for (const t of allowedInstanceTypes ?? []) if (!/^[a-z0-9][-a-z0-9.+:]*$/i.test(t)) problems.push(`ALLOWED_INSTANCE_TYPES: '${t}' is not an instance type name`);
  const maxLaunchAttempts = env.MAX_LAUNCH_ATTEMPTS?.trim() ? number('MAX_LAUNCH_ATTEMPTS', 0, { integer: true, min: 1 }) : undefined;
  const backoffInitial = number('BACKOFF_INITIAL_SECONDS', DEFAULT_BACKOFF.initial, { min: 1 });
  const backoffMax = number('BACKOFF_MAX_SECONDS', DEFAULT_BACKOFF.max, { min: 1 });
  if (backoffMax < backoffInitial) problems.push(`BACKOFF_MAX_SECONDS (${backoffMax}) must be >= BACKOFF_INITIAL_SECONDS (${backoffInitial})`);
  const settings: Settings = {
    deployment,
    apiUrl,
    heartbeatSeconds: number('HEARTBEAT_SECONDS', AWS_SETTING_DEFAULTS.heartbeatSeconds, { min: 1 }),
    heartbeatTimeoutSeconds: number('HEARTBEAT_TIMEOUT_SECONDS', AWS_SETTING_DEFAULTS.heartbeatTimeoutSeconds, { min: 1 }),
    registerTimeoutSeconds: number('REGISTER_TIMEOUT_SECONDS', AWS_SETTING_DEFAULTS.registerTimeoutSeconds, { min: 1 }),
    backoff: { ...DEFAULT_BACKOFF, initial: backoffInitial, max: backoffMax },
    teardownPollSeconds: number('TEARDOWN_POLL_SECONDS', AWS_SETTING_DEFAULTS.teardownPollSeconds, { min: 1 }),
    maxLaunching: number('MAX_LAUNCHING', AWS_SETTING_DEFAULTS.maxLaunching, { integer: true, min: 1 }),
    maxRunning: number('MAX_RUNNING', AWS_SETTING_DEFAULTS.maxRunning, { integer: true, min: 1 }),
    cyclesPerExecution: number('CYCLES_PER_EXECUTION', AWS_SETTING_DEFAULTS.cyclesPerExecution, { integer: true, min: 1 }),
    candidatesPerLaunchStep: number('CANDIDATES_PER_LAUNCH_STEP', AWS_SETTING_DEFAULTS.candidatesPerLaunchStep, { integer: true, min: 1 }),
    logChunkBytes: number('LOG_CHUNK_BYTES', AWS_SETTING_DEFAULTS.logChunkBytes, { integer: true, min: 1024 }),
    allowedClouds,
    ...(maxLaunchAttempts !== undefined ? { maxLaunchAttempts } : {}),
    ...(adminPrincipals?.length ? { adminPrincipals } : {}),
    ...(maxNodesPerJob !== undefined ? { maxNodesPerJob } : {}),
    ...(maxJobsPerSubmission !== undefined ? { maxJobsPerSubmission } : {}),
    ...(maxActiveJobsPerUser !== undefined ? { maxActiveJobsPerUser } : {}),
    ...(allowedInstanceTypes?.length ? { allowedInstanceTypes } : {}),
  };
  if (settings.heartbeatTimeoutSeconds <= settings.heartbeatSeconds) {
    problems.push(`HEARTBEAT_TIMEOUT_SECONDS (${settings.heartbeatTimeoutSeconds}) must exceed HEARTBEAT_SECONDS (${settings.heartbeatSeconds})`);
  }
  if (problems.length) throw new ConfigError(problems);
  return {
    region,
    tableName,
    bucketName,
    stateMachineArn,
    eventBusName,
    agentKey: agentKeySecretArn ? { secretArn: agentKeySecretArn } : { parameterName: agentKeyParameter! },
    secretsKeyArn,
    ...(optional('SCHEDULER_FUNCTION_NAME') ? { schedulerFunctionName: optional('SCHEDULER_FUNCTION_NAME') } : {}),
    ...(allowedRegions ? { allowedRegions } : {}),
    sweepRegions: allowedRegions ?? DEFAULT_REGIONS,
    ...(instanceProfileArn ? { instanceProfileArn } : {}),
    ...(nodeSecurityGroupId ? { nodeSecurityGroupId } : {}),
    ...(nodeSubnetIds ? { nodeSubnetIds } : {}),
    ...(optional('NODE_KEY_NAME') ? { nodeKeyName: optional('NODE_KEY_NAME') } : {}),
    ...(gcpSecret ? { gcp: { credentialsSecretArn: gcpSecret, ...(gcpProject ? { project: gcpProject } : {}), ...(gcpNodeServiceAccount ? { nodeServiceAccount: gcpNodeServiceAccount } : {}) } } : {}),
    settings,
  };
}

const configs = new WeakMap<Env, AwsRuntimeConfig>();

/** readAwsRuntimeConfig, remembered per environment object (process.env: once per container). */
export function awsRuntimeConfig(env: Env = process.env): AwsRuntimeConfig {
  let c = configs.get(env);
  if (!c) {
    c = readAwsRuntimeConfig(env);
    configs.set(env, c);
  }
  return c;
}

/** Settings shared by every SDK client; tests point them at moto_server. */
export interface AwsClientConfig {
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  forcePathStyle?: boolean;
  maxAttempts?: number;
}

export interface AwsDepsOptions {
  clientConfig?: AwsClientConfig;
  log?: Deps['log'];
  clock?: Deps['clock'];
}

/** Minimum length of the agent-token key: HMAC-SHA256 wants at least 256 bits of secret. */
const AGENT_KEY_MIN_CHARS = 32;

/** One JSON line per message: CloudWatch Logs Insights parses the fields. */
function jsonLog(msg: string, fields?: Record<string, unknown>): void {
  console.log(JSON.stringify({ level: 'info', msg, ...fields }));
}

/**
 * Launches only in ALLOWED_REGIONS: a candidate elsewhere is ruled out (PrecheckError) before any
 * API call, so the launch walk moves on and a job with no allowed candidate ends FAILED_PRECHECKS.
 * Everything else passes through, including the provider's optional extras (describeStateReason).
 */
export class AllowedRegionsGuard implements ComputeProvider {
  readonly cloud: string;
  constructor(
    readonly inner: ComputeProvider,
    private readonly allowed: readonly string[],
  ) {
    this.cloud = inner.cloud;
  }

  launch(req: LaunchRequest): Promise<LaunchedInstance[]> {
    if (!this.allowed.includes(req.candidate.region)) {
      return Promise.reject(new PrecheckError(`region ${req.candidate.region} is not one of this deployment's ALLOWED_REGIONS (${this.allowed.join(', ')})`, 'RegionNotAllowed'));
    }
    return this.inner.launch(req);
  }

  terminate(jobId: number, taskIndex: number, attempt: number, region?: string): Promise<void> {
    return this.inner.terminate(jobId, taskIndex, attempt, region);
  }

  describe(filter?: { jobId?: number; regions?: string[] }): Promise<DescribedInstance[]> {
    return this.inner.describe(filter);
  }

  describeStateReason(instanceId: string, region: string): Promise<unknown> {
    const inner = this.inner as { describeStateReason?: (id: string, r: string) => Promise<unknown> };
    if (!inner.describeStateReason) return Promise.resolve(undefined);
    return inner.describeStateReason(instanceId, region);
  }
}

/** Builds Deps on the real SDK clients for `config`. Fetches the agent key from SSM. */
export async function createAwsDeps(config: AwsRuntimeConfig, options: AwsDepsOptions = {}): Promise<Deps> {
  const [
    { DynamoDBClient },
    { S3Client },
    { SFNClient },
    { EventBridgeClient },
    { SSMClient, GetParameterCommand },
    { SecretsManagerClient, GetSecretValueCommand },
    { LambdaClient, InvokeCommand },
    { EC2Client },
    { DynamoJobStore },
    { S3ObjectStore },
    { SfnWorkflows },
    { EventBridgeBus },
    { Ec2Provider },
    { hmacAgentTokens },
    { KMSClient, GenerateDataKeyCommand, DecryptCommand },
    { envelopeSealer, kmsDataKeys },
  ] = await Promise.all([
    import('@aws-sdk/client-dynamodb'),
    import('@aws-sdk/client-s3'),
    import('@aws-sdk/client-sfn'),
    import('@aws-sdk/client-eventbridge'),
    import('@aws-sdk/client-ssm'),
    import('@aws-sdk/client-secrets-manager'),
    import('@aws-sdk/client-lambda'),
    import('@aws-sdk/client-ec2'),
    import('../adapters/aws/dynamo-job-store.ts'),
    import('../adapters/aws/s3-object-store.ts'),
    import('../adapters/aws/sfn-workflows.ts'),
    import('../adapters/aws/eventbridge-bus.ts'),
    import('../adapters/aws/ec2-provider.ts'),
    import('../core/usecases/agent-token.ts'),
    import('@aws-sdk/client-kms'),
    import('../adapters/crypto/envelope.ts'),
  ]);
  const base = { region: config.region, ...options.clientConfig };
  const log = options.log ?? jsonLog;
  const clock = options.clock ?? { now: () => Date.now() };

  // The key is the secret string's UTF-8 bytes, as stored (both sides of a token use this one value).
  let key: string;
  let where: string;
  if ('secretArn' in config.agentKey) {
    where = `Secrets Manager secret '${config.agentKey.secretArn}' (AGENT_KEY_SECRET_ARN)`;
    const sm = new SecretsManagerClient(base);
    try {
      const out = await sm.send(new GetSecretValueCommand({ SecretId: config.agentKey.secretArn }));
      key = out.SecretString ?? '';
    } catch (err) {
      if ((err as Error).name === 'ResourceNotFoundException') throw new ConfigError([`${where} does not exist`]);
      throw err;
    } finally {
      sm.destroy();
    }
  } else {
    where = `SSM parameter '${config.agentKey.parameterName}' (AGENT_KEY_PARAMETER)`;
    const ssm = new SSMClient(base);
    try {
      const out = await ssm.send(new GetParameterCommand({ Name: config.agentKey.parameterName, WithDecryption: true }));
      key = out.Parameter?.Value ?? '';
    } catch (err) {
      if ((err as Error).name === 'ParameterNotFound') throw new ConfigError([`${where} does not exist`]);
      throw err;
    } finally {
      ssm.destroy();
    }
  }
  if (key.length < AGENT_KEY_MIN_CHARS) {
    throw new ConfigError([`${where} holds ${key.length} characters; the agent-token key needs at least ${AGENT_KEY_MIN_CHARS}`]);
  }

  const ec2Clients = new Map<string, InstanceType<typeof EC2Client>>();
  const ec2 = new Ec2Provider({
    clientFor(region) {
      let c = ec2Clients.get(region);
      if (!c) {
        c = new EC2Client({ ...base, region });
        ec2Clients.set(region, c);
      }
      return c;
    },
    deployment: config.settings.deployment,
    regions: config.sweepRegions,
    ...(config.instanceProfileArn ? { instanceProfileArn: config.instanceProfileArn } : {}),
    ...(config.nodeSecurityGroupId ? { securityGroupIds: { [config.region]: [config.nodeSecurityGroupId] } } : {}),
    ...(config.nodeSubnetIds ? { subnetIds: config.nodeSubnetIds } : {}),
    ...(config.nodeKeyName ? { keyName: config.nodeKeyName } : {}),
  });

  const gce = config.gcp ? await createGceProvider(config, new SecretsManagerClient(base), GetSecretValueCommand) : undefined;

  const lambda = config.schedulerFunctionName ? new LambdaClient(base) : undefined;
  const wakeScheduler = async (): Promise<void> => {
    // Best effort: the 1-minute schedule runs a tick anyway; a failed wake only delays admission.
    if (!lambda) return;
    try {
      // `at` lets a wake that queued behind a newer tick be skipped (lambdas/scheduler/handler.ts).
      const payload = { source: 'skyless.wake', at: clock.now() };
      await lambda.send(new InvokeCommand({ FunctionName: config.schedulerFunctionName, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify(payload)) }));
    } catch (err) {
      log('waking the scheduler failed; the schedule will run it', { error: String(err) });
    }
  };

  return {
    store: new DynamoJobStore({ client: new DynamoDBClient(base), tableName: config.tableName, clock }),
    workflows: new SfnWorkflows({ client: new SFNClient(base), stateMachineArn: config.stateMachineArn }),
    objects: new S3ObjectStore({ client: new S3Client(base), bucket: config.bucketName }),
    bus: new EventBridgeBus({ client: new EventBridgeClient(base), busName: config.eventBusName }),
    providers: { aws: config.allowedRegions ? new AllowedRegionsGuard(ec2, config.allowedRegions) : ec2, ...(gce ? { gcp: gce } : {}) },
    clock,
    ids: { token: () => randomBytes(24).toString('base64url'), uuid: () => randomUUID() },
    rng: Math.random,
    settings: config.settings,
    agentTokens: hmacAgentTokens(key),
    secrets: envelopeSealer(kmsDataKeys(new KMSClient(base), config.secretsKeyArn, { GenerateDataKey: GenerateDataKeyCommand, Decrypt: DecryptCommand })),
    wakeScheduler,
    log,
  };
}

/**
 * The GCE provider: credentials from Secrets Manager (read once per container), signed by
 * google-auth-library. Loaded only when GCP is configured.
 */
async function createGceProvider(
  config: AwsRuntimeConfig,
  sm: { send(c: unknown): Promise<{ SecretString?: string }>; destroy(): void },
  GetSecretValue: new (input: { SecretId: string }) => unknown,
): Promise<ComputeProvider> {
  const { credentialsSecretArn, project: configured, nodeServiceAccount } = config.gcp!;
  const where = `Secrets Manager secret '${credentialsSecretArn}' (GCP_CREDENTIALS_SECRET_ARN)`;
  let text: string;
  try {
    text = (await sm.send(new GetSecretValue({ SecretId: credentialsSecretArn }))).SecretString ?? '';
  } catch (err) {
    if ((err as Error).name === 'ResourceNotFoundException') throw new ConfigError([`${where} does not exist`]);
    throw err;
  } finally {
    sm.destroy();
  }
  const [{ GceProvider }, { googleAuthTransport, parseGcpCredentials, projectOfCredentials }] = await Promise.all([
    import('../adapters/gcp/gce-provider.ts'),
    import('../adapters/gcp/gce-transport.ts'),
  ]);
  let credentials: Record<string, unknown>;
  try {
    credentials = parseGcpCredentials(text, where);
  } catch (err) {
    throw new ConfigError([(err as Error).message]);
  }
  const project = configured ?? projectOfCredentials(credentials);
  if (!project) throw new ConfigError([`GCP_PROJECT is required: ${where} names no project`]);
  return new GceProvider({
    transport: await googleAuthTransport(credentials),
    project,
    deployment: config.settings.deployment,
    regions: GCP_SWEEP_REGIONS,
    ...(nodeServiceAccount ? { serviceAccountEmail: nodeServiceAccount } : {}),
  });
}

const built = new WeakMap<Env, Promise<Deps>>();

/**
 * Deps for this container, built on first use from `env` and remembered per environment object. A
 * failed build (SSM throttled, bad configuration) is not remembered: the next event tries again.
 */
export function awsDeps(env: Env = process.env, options: AwsDepsOptions = {}): Promise<Deps> {
  let p = built.get(env);
  if (!p) {
    p = Promise.resolve().then(() => createAwsDeps(awsRuntimeConfig(env), options));
    built.set(env, p);
    p.catch(() => built.delete(env));
  }
  return p;
}

/**
 * A Lambda entry point that builds its real handler on the first invocation (and again after a
 * failed build), so that importing the module has no side effects.
 */
export function lazyHandler<A extends unknown[], R>(build: () => Promise<(...args: A) => Promise<R>>): (...args: A) => Promise<R> {
  let ready: Promise<(...args: A) => Promise<R>> | undefined;
  return async (...args: A): Promise<R> => {
    if (!ready) {
      ready = build();
      ready.catch(() => (ready = undefined));
    }
    return (await ready)(...args);
  };
}
