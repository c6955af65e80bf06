// A skyless deployment's AWS resources on moto_server, for handler tests that use the real wiring
// (lambdas/aws-deps.ts) and the real SDK clients: the job table, the bucket, the job state machine,
// the skyless bus with a rule copying every `skyless` event into an SQS queue (what an integrator
// would do), and the agent key in Secrets Manager (or SSM). One per test file.

import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateStateMachineCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { CreateEventBusCommand, EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { ensureTable } from '../../adapters/local/dynalite.ts';
import { awsDeps, type Env } from '../../lambdas/aws-deps.ts';
import type { Deps } from '../../core/usecases/deps.ts';
import { awsTestClientConfig, startMoto, type RunningMoto } from '../support/moto.ts';

export interface MotoDeployment {
  moto: RunningMoto;
  env: Record<string, string>;
  deps: Deps;
  /** The HMAC key stored as the agent key. */
  agentKey: string;
  clients: { s3: S3Client; sfn: SFNClient; sqs: SQSClient; ec2: EC2Client; events: EventBridgeClient };
  bucket: string;
  stateMachineArn: string;
  /** Messages the rule copied to the queue so far (bodies parsed), oldest first, drained each call. */
  receiveEvents(minimum?: number): Promise<{ source: string; 'detail-type': string; detail: Record<string, unknown> }[]>;
  executionNames(): Promise<string[]>;
  log: { msg: string; fields?: Record<string, unknown> }[];
  stop(): Promise<void>;
}

export interface MotoDeploymentOptions {
  /** Where the agent key lives (default Secrets Manager, like the stack). */
  agentKeyIn?: 'secretsmanager' | 'ssm';
  extraEnv?: Record<string, string>;
}

export async function startMotoDeployment(options: MotoDeploymentOptions = {}): Promise<MotoDeployment> {
  const moto = await startMoto();
  const config = awsTestClientConfig(moto.endpoint);
  const suffix = randomBytes(4).toString('hex');
  const dynamo = new DynamoDBClient(config);
  const s3 = new S3Client(config);
  const sfn = new SFNClient(config);
  const events = new EventBridgeClient(config);
  const sqs = new SQSClient(config);
  const ec2 = new EC2Client(config);

  const tableName = `skyless-${suffix}`;
  await ensureTable(dynamo, tableName);
  dynamo.destroy();
  const bucket = `skyless-jobs-${suffix}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const stateMachineArn = (
    await sfn.send(
      new CreateStateMachineCommand({
        name: `skyless-job-${suffix}`,
        roleArn: 'arn:aws:iam::123456789012:role/skyless-sfn',
        definition: JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Succeed' } } }),
      }),
    )
  ).stateMachineArn!;
  const busName = `skyless-${suffix}`;
  await events.send(new CreateEventBusCommand({ Name: busName }));
  const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `skyless-events-${suffix}` }))).QueueUrl!;
  const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  await events.send(new PutRuleCommand({ Name: 'integration', EventBusName: busName, EventPattern: JSON.stringify({ source: ['skyless'] }) }));
  await events.send(new PutTargetsCommand({ Rule: 'integration', EventBusName: busName, Targets: [{ Id: 'queue', Arn: queueArn }] }));

  const agentKey = randomBytes(32).toString('base64url');
  const keyEnv: Record<string, string> = {};
  if (options.agentKeyIn === 'ssm') {
    const ssm = new SSMClient(config);
    await ssm.send(new PutParameterCommand({ Name: `/skyless/${suffix}/agent-key`, Type: 'SecureString', Value: agentKey }));
    ssm.destroy();
    keyEnv.AGENT_KEY_PARAMETER = `/skyless/${suffix}/agent-key`;
  } else {
    const sm = new SecretsManagerClient(config);
    keyEnv.AGENT_KEY_SECRET_ARN = (await sm.send(new CreateSecretCommand({ Name: `skyless-${suffix}-agent-key`, SecretString: agentKey }))).ARN!;
    sm.destroy();
  }

  const kms = new KMSClient(config);
  const secretsKeyArn = (await kms.send(new CreateKeyCommand({ Description: `skyless ${suffix} job secrets` }))).KeyMetadata!.Arn!;
  kms.destroy();

  const env: Record<string, string> = {
    AWS_REGION: 'us-east-1',
    SECRETS_KEY_ARN: secretsKeyArn,
    DEPLOYMENT: `test-${suffix}`,
    TABLE_NAME: tableName,
    BUCKET_NAME: bucket,
    STATE_MACHINE_ARN: stateMachineArn,
    EVENT_BUS_NAME: busName,
    API_URL: 'https://api.skyless.test/',
    ALLOWED_REGIONS: 'us-east-1,us-west-2',
    ...keyEnv,
    ...options.extraEnv,
  };
  const log: MotoDeployment['log'] = [];
  const deps = await awsDeps(env as Env, { clientConfig: config, log: (msg, fields) => void log.push({ msg, fields }) });

  return {
    moto,
    env,
    deps,
    agentKey,
    clients: { s3, sfn, sqs, ec2, events },
    bucket,
    stateMachineArn,
    log,
    async receiveEvents(minimum = 1) {
      const out: { source: string; 'detail-type': string; detail: Record<string, unknown> }[] = [];
      for (let i = 0; i < 20; i++) {
        const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 600 }));
        for (const m of r.Messages ?? []) out.push(JSON.parse(m.Body!));
        if (out.length >= minimum && !(r.Messages ?? []).length) break;
      }
      return out;
    },
    async executionNames() {
      const r = await sfn.send(new ListExecutionsCommand({ stateMachineArn }));
      return (r.executions ?? []).map((e) => e.name!).sort();
    },
    async stop() {
      for (const c of [s3, sfn, sqs, ec2, events]) c.destroy();
      await moto.stop();
    },
  };
}
