// lambdas/aws-deps.ts without AWS: the environment contract (docs/aws-runtime.md) is checked with
// every problem named at once; handler modules import without side effects; the wiring fetches the
// agent key once and wakes the scheduler with an asynchronous Invoke (SDK mocked at its boundary).
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { SSMClient, GetParameterCommand } from '@aws-sdk/client-ssm';
import { SecretsManagerClient, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { LambdaClient, InvokeCommand } from '@aws-sdk/client-lambda';
import {
  AllowedRegionsGuard,
  AWS_SETTING_DEFAULTS,
  ConfigError,
  awsDeps,
  createAwsDeps,
  lazyHandler,
  readAwsRuntimeConfig,
  type Env,
} from '../../lambdas/aws-deps.ts';
import type { ComputeProvider, LaunchRequest } from '../../core/ports.ts';
import { PrecheckError } from '../../core/errors.ts';
import { DEFAULT_BACKOFF } from '../../core/recovery/backoff.ts';
import { makeCandidate } from '../support/records.ts';

const KEY = 'k'.repeat(40);
const BASE: Record<string, string> = {
  AWS_REGION: 'eu-west-1',
  DEPLOYMENT: 'prod',
  TABLE_NAME: 'skyless-prod',
  BUCKET_NAME: 'skyless-prod-jobs',
  STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:123456789012:stateMachine:skyless-prod-job',
  EVENT_BUS_NAME: 'skyless-prod',
  API_URL: 'https://abc123.execute-api.eu-west-1.amazonaws.com/',
  AGENT_KEY_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:skyless-prod-agent-key-AbCdEf',
  SECRETS_KEY_ARN: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
};

function problemsOf(env: Env): string[] {
  try {
    readAwsRuntimeConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('the environment contract', () => {
  it('names every missing variable at once', () => {
    const problems = problemsOf({});
    for (const name of ['AWS_REGION', 'TABLE_NAME', 'BUCKET_NAME', 'STATE_MACHINE_ARN', 'EVENT_BUS_NAME', 'AGENT_KEY_SECRET_ARN', 'DEPLOYMENT', 'API_URL']) {
      expect(problems.some((p) => p.startsWith(name)), `${name} in ${problems.join(' | ')}`).toBe(true);
    }
    const err = (() => {
      try {
        readAwsRuntimeConfig({});
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err?.name).toBe('ConfigError');
    expect(err?.message).toMatch(/docs\/aws-runtime\.md/);
  });

  it('reads a complete environment with the AWS defaults', () => {
    const c = readAwsRuntimeConfig(BASE);
    expect(c).toMatchObject({
      region: 'eu-west-1',
      tableName: 'skyless-prod',
      bucketName: 'skyless-prod-jobs',
      eventBusName: 'skyless-prod',
      agentKey: { secretArn: BASE.AGENT_KEY_SECRET_ARN },
    });
    expect(c.schedulerFunctionName).toBeUndefined();
    expect(c.allowedRegions).toBeUndefined();
    expect(c.sweepRegions).toContain('us-east-1');
    expect(c.settings).toEqual({
      deployment: 'prod',
      apiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
      ...AWS_SETTING_DEFAULTS,
      backoff: DEFAULT_BACKOFF,
      allowedClouds: ['aws'],
    });
  });

  it('applies every setting variable', () => {
    const c = readAwsRuntimeConfig({
      ...BASE,
      AGENT_KEY_SECRET_ARN: '',
      AGENT_KEY_PARAMETER: '/skyless/prod/agent-key',
      SCHEDULER_FUNCTION_NAME: 'skyless-prod-scheduler',
      ALLOWED_REGIONS: 'us-east-1, us-west-2,us-east-1',
      MAX_LAUNCHING: '4',
      MAX_RUNNING: '50',
      HEARTBEAT_SECONDS: '10',
      HEARTBEAT_TIMEOUT_SECONDS: '60',
      REGISTER_TIMEOUT_SECONDS: '300',
      BACKOFF_INITIAL_SECONDS: '5',
      BACKOFF_MAX_SECONDS: '20',
      TEARDOWN_POLL_SECONDS: '3',
      CYCLES_PER_EXECUTION: '100',
      CANDIDATES_PER_LAUNCH_STEP: '4',
      LOG_CHUNK_BYTES: '65536',
      MAX_LAUNCH_ATTEMPTS: '7',
      NODE_INSTANCE_PROFILE_ARN: 'arn:aws:iam::123456789012:instance-profile/skyless-node',
      NODE_SECURITY_GROUP_ID: 'sg-0123456789abcdef0',
      NODE_SUBNET_IDS: '{"eu-west-1a":"subnet-1","eu-west-1b":"subnet-2"}',
      NODE_KEY_NAME: 'ops',
    });
    expect(c.agentKey).toEqual({ parameterName: '/skyless/prod/agent-key' });
    expect(c.schedulerFunctionName).toBe('skyless-prod-scheduler');
    expect(c.allowedRegions).toEqual(['us-east-1', 'us-west-2']);
    expect(c.sweepRegions).toEqual(['us-east-1', 'us-west-2']);
    expect(c.nodeSubnetIds).toEqual({ 'eu-west-1a': 'subnet-1', 'eu-west-1b': 'subnet-2' });
    expect(c.settings).toMatchObject({
      maxLaunching: 4,
      maxRunning: 50,
      heartbeatSeconds: 10,
      heartbeatTimeoutSeconds: 60,
      registerTimeoutSeconds: 300,
      backoff: { ...DEFAULT_BACKOFF, initial: 5, max: 20 },
      teardownPollSeconds: 3,
      cyclesPerExecution: 100,
      candidatesPerLaunchStep: 4,
      logChunkBytes: 65536,
      maxLaunchAttempts: 7,
    });
  });

  it('names each bad value and the rule it breaks', () => {
    const problems = problemsOf({
      ...BASE,
      AGENT_KEY_PARAMETER: '/also/set',
      STATE_MACHINE_ARN: 'skyless-job',
      API_URL: 'not a url',
      MAX_RUNNING: '-1',
      MAX_LAUNCHING: '2.5',
      HEARTBEAT_SECONDS: '60',
      HEARTBEAT_TIMEOUT_SECONDS: '30',
      ALLOWED_REGIONS: 'us-east-1,mars-1',
      ALLOWED_CLOUDS: 'aws,gcp',
      NODE_SUBNET_IDS: '["subnet-1"]',
      NODE_SECURITY_GROUP_ID: 'default',
      BACKOFF_INITIAL_SECONDS: '100',
      BACKOFF_MAX_SECONDS: '50',
    });
    const expected = [
      /only one of AGENT_KEY_SECRET_ARN and AGENT_KEY_PARAMETER/,
      /STATE_MACHINE_ARN 'skyless-job' is not a state machine ARN/,
      /API_URL 'not a url' is not an http\(s\) URL/,
      /MAX_RUNNING must be an integer >= 1, got '-1'/,
      /MAX_LAUNCHING must be an integer >= 1, got '2.5'/,
      /HEARTBEAT_TIMEOUT_SECONDS \(30\) must exceed HEARTBEAT_SECONDS \(60\)/,
      /ALLOWED_REGIONS: 'mars-1' is not a region name/,
      /ALLOWED_CLOUDS: 'gcp' has no compute provider/,
      /NODE_SUBNET_IDS must be a JSON object/,
      /NODE_SECURITY_GROUP_ID 'default' is not a security group id/,
      /BACKOFF_MAX_SECONDS \(50\) must be >= BACKOFF_INITIAL_SECONDS \(100\)/,
    ];
    for (const re of expected) expect(problems.some((p) => re.test(p)), `${re} in\n${problems.join('\n')}`).toBe(true);
    expect(problems).toHaveLength(expected.length);
  });
});

describe('handler modules', () => {
  const modules = ['api', 'workflow', 'scheduler', 'events', 'submissions'];

  it('import without touching the environment or AWS, and fail on first use with the configuration problems', async () => {
    // process.env here has none of the variables: importing must still work (local mode, bundling).
    for (const name of ['TABLE_NAME', 'BUCKET_NAME', 'STATE_MACHINE_ARN']) expect(process.env[name]).toBeUndefined();
    for (const m of modules) {
      const mod = (await import(`../../lambdas/${m}/handler.ts`)) as { handler: (e: unknown) => Promise<unknown>; createHandler: unknown };
      expect(typeof mod.handler).toBe('function');
      expect(typeof mod.createHandler).toBe('function');
      const err = await mod.handler({}).then(
        () => undefined,
        (e: unknown) => e as ConfigError,
      );
      expect(err?.name, m).toBe('ConfigError');
      expect(err!.problems.some((p) => p.startsWith('TABLE_NAME'))).toBe(true);
    }
  });

  it('lazyHandler builds once, and builds again after a failed build', async () => {
    let builds = 0;
    const h = lazyHandler(async () => {
      builds++;
      if (builds === 1) throw new Error('SSM throttled');
      return async (x: number) => x * 2;
    });
    await expect(h(1)).rejects.toThrow('SSM throttled');
    expect(await h(2)).toBe(4);
    expect(await h(3)).toBe(6);
    expect(builds).toBe(2);
  });
});

describe('createAwsDeps (SDK mocked at its boundary)', () => {
  const ssm = mockClient(SSMClient);
  const secrets = mockClient(SecretsManagerClient);
  const lambda = mockClient(LambdaClient);
  const noNetwork = { endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } };
  beforeEach(() => {
    ssm.reset();
    secrets.reset();
    lambda.reset();
  });
  afterAll(() => {
    ssm.restore();
    secrets.restore();
    lambda.restore();
  });

  it('fetches the agent key from Secrets Manager once per environment and signs with it', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: KEY });
    const env = { ...BASE };
    const [a, b] = await Promise.all([awsDeps(env, { clientConfig: noNetwork }), awsDeps(env, { clientConfig: noNetwork })]);
    expect(a).toBe(b);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(secrets.commandCalls(GetSecretValueCommand)[0]!.args[0].input).toEqual({ SecretId: BASE.AGENT_KEY_SECRET_ARN });
    const token = a.agentTokens.sign({ job: 1, task: 0, attempt: 1, node: 0 });
    const { hmacAgentTokens } = await import('../../core/usecases/agent-token.ts');
    expect(hmacAgentTokens(KEY).verify(token)).toEqual({ job: 1, task: 0, attempt: 1, node: 0 });
    expect(Object.keys(a.providers)).toEqual(['aws']);
    expect(a.settings.deployment).toBe('prod');
  });

  it('reads an SSM SecureString with decryption; refuses a missing or short key naming the variable', async () => {
    const config = readAwsRuntimeConfig({ ...BASE, AGENT_KEY_SECRET_ARN: '', AGENT_KEY_PARAMETER: '/skyless/key' });
    ssm
      .on(GetParameterCommand)
      .resolvesOnce({ Parameter: { Value: KEY } })
      .resolvesOnce({ Parameter: { Value: 'short' } })
      .rejectsOnce(Object.assign(new Error('nope'), { name: 'ParameterNotFound' }));
    await createAwsDeps(config, { clientConfig: noNetwork });
    expect(ssm.commandCalls(GetParameterCommand)[0]!.args[0].input).toEqual({ Name: '/skyless/key', WithDecryption: true });
    await expect(createAwsDeps(config, { clientConfig: noNetwork })).rejects.toThrow(/AGENT_KEY_PARAMETER\) holds 5 characters/);
    await expect(createAwsDeps(config, { clientConfig: noNetwork })).rejects.toThrow(/'\/skyless\/key' \(AGENT_KEY_PARAMETER\) does not exist/);
  });

  it('wakes the scheduler with an asynchronous Invoke; a failed wake is logged, not thrown', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: KEY });
    const logs: string[] = [];
    const deps = await createAwsDeps(readAwsRuntimeConfig({ ...BASE, SCHEDULER_FUNCTION_NAME: 'skyless-prod-scheduler' }), {
      clientConfig: noNetwork,
      log: (m) => void logs.push(m),
      clock: { now: () => 1_700_000_000_000 },
    });
    lambda.on(InvokeCommand).resolvesOnce({ StatusCode: 202 }).rejectsOnce(new Error('AccessDenied'));
    await deps.wakeScheduler();
    await deps.wakeScheduler();
    const calls = lambda.commandCalls(InvokeCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(2);
    expect(calls[0]).toMatchObject({ FunctionName: 'skyless-prod-scheduler', InvocationType: 'Event' });
    expect(JSON.parse(Buffer.from(calls[0]!.Payload as Uint8Array).toString())).toEqual({ source: 'skyless.wake', at: 1_700_000_000_000 });
    expect(logs).toEqual(['waking the scheduler failed; the schedule will run it']);
  });

  it('without SCHEDULER_FUNCTION_NAME a wake is a no-op (the schedule ticks)', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: KEY });
    const deps = await createAwsDeps(readAwsRuntimeConfig(BASE), { clientConfig: noNetwork });
    await deps.wakeScheduler();
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
  });
});

describe('GCP as a second cloud', () => {
  const GCP_SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:skyless-gcp-wif-AbCdEf';
  // A Workload Identity Federation config as `gcloud iam workload-identity-pools create-cred-config --aws` writes it.
  const WIF = {
    type: 'external_account',
    audience: '//iam.googleapis.com/projects/123456/locations/global/workloadIdentityPools/skyless/providers/aws',
    subject_token_type: 'urn:ietf:params:aws:token-type:aws4_request',
    service_account_impersonation_url: 'https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/skyless@ml-team-prod.iam.gserviceaccount.com:generateAccessToken',
    token_url: 'https://sts.googleapis.com/v1/token',
    credential_source: {
      environment_id: 'aws1',
      region_url: 'http://169.254.169.254/latest/meta-data/placement/availability-zone',
      url: 'http://169.254.169.254/latest/meta-data/iam/security-credentials',
      regional_cred_verification_url: 'https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15',
    },
  };
  const secrets = mockClient(SecretsManagerClient);
  const noNetwork = { endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } };
  beforeEach(() => secrets.reset());
  afterAll(() => secrets.restore());

  it('is allowed by default once its credentials are configured, and refused by name without them', () => {
    expect(readAwsRuntimeConfig(BASE).settings.allowedClouds).toEqual(['aws']);
    const c = readAwsRuntimeConfig({ ...BASE, GCP_CREDENTIALS_SECRET_ARN: GCP_SECRET });
    expect(c.settings.allowedClouds).toEqual(['aws', 'gcp']);
    expect(c.gcp).toEqual({ credentialsSecretArn: GCP_SECRET });
    expect(problemsOf({ ...BASE, ALLOWED_CLOUDS: 'aws,gcp' })).toEqual([
      "ALLOWED_CLOUDS: 'gcp' has no compute provider in the AWS deployment (available: aws; set GCP_CREDENTIALS_SECRET_ARN)",
    ]);
    expect(problemsOf({ ...BASE, GCP_PROJECT: 'Bad_Project' })).toEqual([
      "GCP_PROJECT 'Bad_Project' is not a GCP project ID (6-30 lowercase letters, digits and '-')",
      'GCP_PROJECT is set but GCP_CREDENTIALS_SECRET_ARN is not: GCP needs credentials',
    ]);
  });

  it('wires the GCE provider in the project the credentials name; a secret that is not credentials is named', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: BASE.AGENT_KEY_SECRET_ARN }).resolves({ SecretString: KEY });
    secrets.on(GetSecretValueCommand, { SecretId: GCP_SECRET }).resolvesOnce({ SecretString: JSON.stringify(WIF) }).resolvesOnce({ SecretString: 'hunter2' });
    const config = readAwsRuntimeConfig({ ...BASE, GCP_CREDENTIALS_SECRET_ARN: GCP_SECRET });
    const deps = await createAwsDeps(config, { clientConfig: noNetwork });
    expect(Object.keys(deps.providers)).toEqual(['aws', 'gcp']);
    expect(deps.providers.gcp!.cloud).toBe('gcp');
    expect((deps.providers.gcp as unknown as { instanceName(j: number, t: number, a: number, n: number): string }).instanceName(3, 0, 1, 0)).toBe('skyless-prod-3-0-1-0');
    await expect(createAwsDeps(config, { clientConfig: noNetwork })).rejects.toThrow(/skyless-gcp-wif-AbCdEf' \(GCP_CREDENTIALS_SECRET_ARN\) does not hold JSON/);
  });
});

describe('AllowedRegionsGuard', () => {
  it('rules out candidates outside ALLOWED_REGIONS before any call, and passes the rest through', async () => {
    const launched: string[] = [];
    const inner: ComputeProvider = {
      cloud: 'aws',
      launch: async (req) => {
        launched.push(req.candidate.region);
        return [{ instanceId: 'i-1', node: 0, zone: req.candidate.zones[0]! }];
      },
      terminate: async () => {},
      describe: async () => [],
    };
    const guard = new AllowedRegionsGuard(inner, ['us-east-1']);
    const req = (region: string): LaunchRequest => ({
      jobId: 1,
      taskIndex: 0,
      attempt: 1,
      numNodes: 1,
      candidate: makeCandidate({ region, zones: [`${region}a`] }),
      diskSizeGb: 20,
      bootstrap: { apiUrl: 'https://x', tokens: ['t'] },
    });
    const err = await guard.launch(req('eu-west-1')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PrecheckError);
    expect((err as PrecheckError).code).toBe('RegionNotAllowed');
    expect(launched).toEqual([]);
    expect(await guard.launch(req('us-east-1'))).toEqual([{ instanceId: 'i-1', node: 0, zone: 'us-east-1a' }]);
    expect(launched).toEqual(['us-east-1']);
    expect(guard.cloud).toBe('aws');
    expect(await guard.describeStateReason('i-1', 'us-east-1')).toBeUndefined();
  });
});
