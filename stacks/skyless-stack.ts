// The skyless control plane on AWS: one stack, no controller VM.
//
//   CLI ──SigV4──> HTTP API ──> api function ──> DynamoDB table, S3 bucket, Step Functions
//   node agent ──scoped token──┘
//   job state machine (statemachines/job.asl.json) ──> workflow function ──> EC2 (launch/terminate)
//   EventBridge: EC2 interruption/rebalance/state change, Step Functions failures ──> events function
//                S3 "Object Created" under submit/, "Launch Managed Job" on the skyless bus ──> submissions function
//                every minute ──> scheduler function (reserved concurrency 1: one tick at a time)
//
// The Lambda environment below is the contract with lambdas/aws-deps.ts (docs/deploy.md lists it).
// Names that other resources need before the resource exists (the state machine's ARN, the scheduler's
// name) are fixed from the deployment name, so that no circular reference arises: the workflow function
// needs the state machine's ARN (continue-as-new starts an execution) while the state machine needs
// the workflow function's ARN (definition substitution).

import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describeStatements, launchStatements, terminateStatements } from './constructs/compute-policy.ts';
import { SkylessHttpApi } from './constructs/http-api.ts';
import { NodeAccess } from './constructs/node-access.ts';
import { REPO_ROOT, RuntimeFunction, type BundledFile, type RuntimeFunctionProps } from './constructs/runtime-function.ts';
import { Storage, SUBMIT_PREFIX } from './constructs/storage.ts';
import { addNagSuppressions } from './nag.ts';
import { resourceNames } from './names.ts';
import { TABLE_DESIGN } from '../adapters/aws/table-design.ts';
import { LAUNCH_DETAIL_TYPE, LAUNCH_SOURCE } from '../core/usecases/submissions.ts';
import type { SkylessSettings } from './settings.ts';

export interface SkylessStackProps extends StackProps {
  settings: SkylessSettings;
}

/** The job state machine definition: the very file the local engine runs. */
export const STATE_MACHINE_DEFINITION = join(REPO_ROOT, 'statemachines', 'job.asl.json');

/** Handler modules (relative to the repo root); each exports `handler`. */
export const FUNCTION_ENTRIES = {
  api: 'lambdas/api/handler.ts',
  workflow: 'lambdas/workflow/handler.ts',
  scheduler: 'lambdas/scheduler/handler.ts',
  events: 'lambdas/events/handler.ts',
  submissions: 'lambdas/submissions/handler.ts',
} as const;

export type FunctionName = keyof typeof FUNCTION_ENTRIES;

/** agent/script.ts reads `new URL('./agent.sh', import.meta.url)`: in the bundle that is beside index.mjs. */
export const API_BUNDLED_FILES: BundledFile[] = [{ source: 'agent/agent.sh', target: 'agent.sh' }];

/** EventBridge detail types the stack routes (exact strings AWS and skyless send). */
export const DETAIL_TYPES = {
  spotInterruption: 'EC2 Spot Instance Interruption Warning',
  rebalance: 'EC2 Instance Rebalance Recommendation',
  stateChange: 'EC2 Instance State-change Notification',
  objectCreated: 'Object Created',
  launchManagedJob: LAUNCH_DETAIL_TYPE,
  executionStatusChange: 'Step Functions Execution Status Change',
} as const;

/** DynamoDB actions of adapters/aws/dynamo-job-store.ts (test/stacks checks the adapter uses no other). */
export const TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteItem'] as const;

/** Instance states that mean "this node is going away" (running/pending need no action). */
export const ENDING_INSTANCE_STATES = ['stopping', 'stopped', 'shutting-down', 'terminated'];
/** Execution outcomes that leave a job without a driver (the events function marks it). */
export const FAILED_EXECUTION_STATUSES = ['FAILED', 'TIMED_OUT', 'ABORTED'];

export class SkylessStack extends Stack {
  readonly settings: SkylessSettings;
  readonly storage: Storage;
  readonly nodes: NodeAccess;
  readonly bus: events.EventBus;
  readonly agentKey: secretsmanager.Secret;
  readonly functions: Record<FunctionName, RuntimeFunction>;
  readonly httpApi: SkylessHttpApi;
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: SkylessStackProps) {
    super(scope, id, props);
    const s = (this.settings = props.settings);
    const names = resourceNames(s.deployment);
    // LOG_RETENTION_DAYS lists exactly the values of logs.RetentionDays (their enum values are the days).
    const logRetention = s.logRetentionDays as unknown as logs.RetentionDays;

    for (const [name, entry] of Object.entries(FUNCTION_ENTRIES)) {
      if (!existsSync(join(REPO_ROOT, entry))) throw new Error(`the ${name} function's handler ${entry} does not exist (stacks/skyless-stack.ts FUNCTION_ENTRIES)`);
    }

    this.storage = new Storage(this, 'Storage', { logRetentionDays: s.logRetentionDays, retainData: s.retainData });
    this.nodes = new NodeAccess(this, 'Nodes', { deployment: s.deployment, vpcId: s.vpcId, readBuckets: s.nodeReadBuckets, writeBuckets: s.nodeWriteBuckets });
    this.bus = new events.EventBus(this, 'Bus', { eventBusName: names.eventBus, description: 'skyless: Managed Job Status Change out, Launch Managed Job in' });
    this.agentKey = new secretsmanager.Secret(this, 'AgentKey', {
      description: `skyless ${s.deployment}: HMAC key of the scoped agent tokens`,
      // 64 letters and digits (≈380 bits); the runtime uses the secret string's UTF-8 bytes as the key.
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const gcpCredentials = s.gcpCredentialsSecretArn
      ? secretsmanager.Secret.fromSecretCompleteArn(this, 'GcpCredentials', s.gcpCredentialsSecretArn)
      : undefined;

    const colon = ArnFormat.COLON_RESOURCE_NAME;
    const stateMachineArn = this.formatArn({ service: 'states', resource: 'stateMachine', resourceName: names.stateMachine, arnFormat: colon });
    const executionsArn = this.formatArn({ service: 'states', resource: 'execution', resourceName: `${names.stateMachine}:*`, arnFormat: colon });
    const schedulerArn = this.formatArn({ service: 'lambda', resource: 'function', resourceName: names.schedulerFunction, arnFormat: colon });

    const fnSpec: Record<FunctionName, { description: string; memorySize: number; timeout: Duration; extra?: Partial<RuntimeFunctionProps> }> = {
      api: { description: 'skyless HTTP API: user and agent routes', memorySize: 1024, timeout: Duration.seconds(29), extra: { bundledFiles: API_BUNDLED_FILES } },
      workflow: { description: 'skyless job state machine tasks (advance, launch, teardown, …)', memorySize: 1024, timeout: Duration.minutes(5) },
      scheduler: {
        description: 'skyless admission: one tick at a time (reserved concurrency 1)',
        memorySize: 512,
        timeout: Duration.seconds(60),
        // Wake-ups that find a tick running are throttled and retried by Lambda; a wake-up older than
        // two minutes is moot (the 1-minute schedule has ticked since), so it is dropped.
        extra: { reservedConcurrentExecutions: 1, maxEventAge: Duration.minutes(2), retryAttempts: 0 },
      },
      events: { description: 'skyless EC2 and Step Functions events → recovery', memorySize: 512, timeout: Duration.seconds(60) },
      submissions: { description: 'skyless S3 (submit/) and EventBridge (Launch Managed Job) submissions', memorySize: 512, timeout: Duration.seconds(60) },
    };
    const functions = {} as Record<FunctionName, RuntimeFunction>;
    for (const name of Object.keys(FUNCTION_ENTRIES) as FunctionName[]) {
      const spec = fnSpec[name];
      functions[name] = new RuntimeFunction(this, name.charAt(0).toUpperCase() + name.slice(1), {
        entry: FUNCTION_ENTRIES[name],
        description: spec.description,
        memorySize: spec.memorySize,
        timeout: spec.timeout,
        environment: {},
        logRetention,
        ...spec.extra,
      });
    }
    // A fixed name, so that functions (itself included) can be told its name without a reference cycle.
    (functions.scheduler.fn.node.defaultChild as lambda.CfnFunction).functionName = names.schedulerFunction;
    this.functions = functions;
    this.httpApi = new SkylessHttpApi(this, 'Http', {
      handler: functions.api.fn,
      apiName: names.api,
      logRetention,
      rateLimit: s.apiRateLimit,
      burstLimit: s.apiBurstLimit,
    });

    // The Lambda environment: the contract with lambdas/aws-deps.ts (docs/deploy.md, "Runtime environment").
    const environment: Record<string, string> = {
      DEPLOYMENT: s.deployment,
      TABLE_NAME: this.storage.table.tableName,
      BUCKET_NAME: this.storage.bucket.bucketName,
      STATE_MACHINE_ARN: stateMachineArn,
      EVENT_BUS_NAME: this.bus.eventBusName,
      API_URL: this.httpApi.url,
      AGENT_KEY_SECRET_ARN: this.agentKey.secretArn,
      SCHEDULER_FUNCTION_NAME: names.schedulerFunction,
      MAX_LAUNCHING: String(s.maxLaunching),
      MAX_RUNNING: String(s.maxRunning),
      ALLOWED_REGIONS: s.allowedRegions.join(','),
      NODE_INSTANCE_PROFILE_ARN: this.nodes.instanceProfile.instanceProfileArn,
      NODE_SECURITY_GROUP_ID: this.nodes.securityGroup.attrGroupId,
      ...(s.gcpCredentialsSecretArn ? { GCP_CREDENTIALS_SECRET_ARN: s.gcpCredentialsSecretArn } : {}),
      ...(s.gcpProject ? { GCP_PROJECT: s.gcpProject } : {}),
      ...(s.gcpNodeServiceAccount ? { GCP_NODE_SERVICE_ACCOUNT: s.gcpNodeServiceAccount } : {}),
    };
    for (const f of Object.values(functions)) for (const [k, v] of Object.entries(environment)) f.fn.addEnvironment(k, v);

    // ---- permissions, function by function ----
    const all = Object.values(functions);
    for (const f of all) {
      // The item actions DynamoJobStore uses (no Scan; DeleteItem only removes a finished bulk-cancel request), on the table and its named indexes.
      f.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'JobTable', actions: [...TABLE_ACTIONS], resources: [this.storage.table.tableArn, ...TABLE_DESIGN.indexes.map((i) => `${this.storage.table.tableArn}/index/${i.name}`)] }));
      f.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'JobObjects', actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], resources: [this.storage.bucket.arnForObjects('*')] }));
      f.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ListJobObjects', actions: ['s3:ListBucket'], resources: [this.storage.bucket.bucketArn] }));
      f.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'PublishIntegrationEvents', actions: ['events:PutEvents'], resources: [this.bus.eventBusArn] }));
      // Every function may signal or start job executions (status changes reach waiting executions
      // from any entry point: agents, EC2 events, admission, submissions).
      f.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'DriveJobExecutions', actions: ['states:StartExecution', 'states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'], resources: [stateMachineArn] }));
      f.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'StopJobExecutions', actions: ['states:StopExecution'], resources: [executionsArn] }));
    }
    // Any use case may free a slot and wake the scheduler, the scheduler's own included (a wake-up that
    // finds a tick running waits: reserved concurrency 1).
    for (const f of all) {
      f.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'WakeScheduler', actions: ['lambda:InvokeFunction'], resources: [schedulerArn] }));
    }
    // The API verifies agent tokens and the workflow function signs them; lambdas/aws-deps.ts reads the
    // key while building any function's Deps, so every function needs it.
    for (const f of all) {
      f.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ReadAgentKey', actions: ['secretsmanager:GetSecretValue'], resources: [this.agentKey.secretArn] }));
    }
    // EC2: the events function reads instance state; the scheduler's janitor also ends orphans; the
    // workflow function launches and tears down.
    const ec2Grants: [RuntimeFunction, iam.PolicyStatement[]][] = [
      [functions.events, describeStatements()],
      [functions.scheduler, [...describeStatements(), ...terminateStatements(this, s.deployment)]],
      [
        functions.workflow,
        [
          ...describeStatements(),
          ...terminateStatements(this, s.deployment),
          ...launchStatements(this, { deployment: s.deployment, nodeRole: this.nodes.role, allowedRegions: s.allowedRegions }),
        ],
      ],
    ];
    for (const [f, statements] of ec2Grants) for (const st of statements) f.role.addToPrincipalPolicy(st);
    if (gcpCredentials) {
      for (const f of [functions.workflow, functions.events, functions.scheduler]) {
        f.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ReadGcpCredentialsConfig', actions: ['secretsmanager:GetSecretValue'], resources: [gcpCredentials.secretArn] }));
      }
    }

    // ---- the job state machine ----
    this.stateMachine = new sfn.StateMachine(this, 'JobStateMachine', {
      stateMachineName: names.stateMachine,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromFile(STATE_MACHINE_DEFINITION),
      definitionSubstitutions: { WorkflowFunction: functions.workflow.fn.functionArn },
    });
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'InvokeWorkflowFunction', actions: ['lambda:InvokeFunction'], resources: [functions.workflow.fn.functionArn] }),
    );

    // ---- EventBridge ----
    const defaultBus = events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    const toEvents = new targets.LambdaFunction(functions.events.fn, { retryAttempts: 20, maxEventAge: Duration.hours(2) });
    const toSubmissions = new targets.LambdaFunction(functions.submissions.fn, { retryAttempts: 20, maxEventAge: Duration.hours(6) });
    new events.Rule(this, 'SpotInterruptionRule', {
      description: 'spot interruption warnings → recovery',
      eventBus: defaultBus,
      eventPattern: { source: ['aws.ec2'], detailType: [DETAIL_TYPES.spotInterruption] },
      targets: [toEvents],
    });
    new events.Rule(this, 'RebalanceRule', {
      description: 'rebalance recommendations → recorded on the attempt',
      eventBus: defaultBus,
      eventPattern: { source: ['aws.ec2'], detailType: [DETAIL_TYPES.rebalance] },
      targets: [toEvents],
    });
    new events.Rule(this, 'InstanceEndingRule', {
      description: 'instances stopping or terminating → recovery',
      eventBus: defaultBus,
      eventPattern: { source: ['aws.ec2'], detailType: [DETAIL_TYPES.stateChange], detail: { state: ENDING_INSTANCE_STATES } },
      targets: [toEvents],
    });
    new events.Rule(this, 'ExecutionFailedRule', {
      description: 'job executions that failed, timed out or were aborted → the job is marked',
      eventBus: defaultBus,
      eventPattern: {
        source: ['aws.states'],
        detailType: [DETAIL_TYPES.executionStatusChange],
        detail: { status: FAILED_EXECUTION_STATUSES, stateMachineArn: [this.stateMachine.stateMachineArn] },
      },
      targets: [toEvents],
    });
    new events.Rule(this, 'S3SubmissionRule', {
      description: `task YAML uploaded under ${SUBMIT_PREFIX} → a job`,
      eventBus: defaultBus,
      eventPattern: {
        source: ['aws.s3'],
        detailType: [DETAIL_TYPES.objectCreated],
        detail: { bucket: { name: [this.storage.bucket.bucketName] }, object: { key: [{ prefix: SUBMIT_PREFIX }] } },
      },
      targets: [toSubmissions],
    });
    new events.Rule(this, 'LaunchManagedJobRule', {
      description: 'Launch Managed Job events on the skyless bus → a job',
      eventBus: this.bus,
      // The source clients must use (core/usecases/submissions.ts); skyless's own events use `skyless`.
      eventPattern: { source: [LAUNCH_SOURCE], detailType: [DETAIL_TYPES.launchManagedJob] },
      targets: [toSubmissions],
    });
    new events.Rule(this, 'SchedulerTickRule', {
      description: 'admission tick every minute (wake-ups come sooner)',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(functions.scheduler.fn, { retryAttempts: 0, maxEventAge: Duration.minutes(1) })],
    });

    // ---- outputs (`skyless init --stack NAME` reads them) ----
    new CfnOutput(this, 'ApiUrl', { value: this.httpApi.url, description: 'skyless API endpoint (skyless config set endpoint)' });
    new CfnOutput(this, 'BucketName', { value: this.storage.bucket.bucketName });
    new CfnOutput(this, 'StateMachineArn', { value: this.stateMachine.stateMachineArn });
    new CfnOutput(this, 'EventBusName', { value: this.bus.eventBusName });
    new CfnOutput(this, 'TableName', { value: this.storage.table.tableName });
    new CfnOutput(this, 'Deployment', { value: s.deployment });

    addNagSuppressions(this);
  }
}
