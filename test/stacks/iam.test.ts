// IAM least privilege of the skyless stack, checked by scanning every policy statement in the
// synthesized template: tag-conditioned EC2 mutations, PassRole only for the node role, "*" only for
// the EC2 Describe actions that support nothing else, every wildcard ARN on an allow-list, and every
// AWS SDK command the runtime sends covered by the functions' policies.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FUNCTION_ENTRIES, type FunctionName } from '../../stacks/skyless-stack.ts';
import { REPO_ROOT } from '../../stacks/constructs/runtime-function.ts';
import { UNSCOPED_EC2_ACTIONS } from '../../stacks/constructs/compute-policy.ts';
import { TAG_DEPLOYMENT, TAG_TERMINATED_BY } from '../../adapters/aws/ec2-provider.ts';
import { synthSkyless, type Synthesized } from './synth.ts';
import { iamStatements, type Statement } from './template-tools.ts';

const NAMES = Object.keys(FUNCTION_ENTRIES) as FunctionName[];

/** Synthesis takes seconds on an idle machine and much longer on a busy one. */
const SYNTH_TIMEOUT = 120_000;
let s: Synthesized;
let all: Statement[];
const roleOf = (name: FunctionName) => s.logicalId(s.stack.functions[name].role);
const statementsOf = (name: FunctionName) => all.filter((st) => st.roles.includes(roleOf(name)));
const withAction = (action: string) => all.filter((st) => st.actions.includes(action));

/** Whether `statements` allow `action` on a resource rendered as `resource` (IAM wildcards * and ?). */
function allows(statements: Statement[], action: string, resource?: string): boolean {
  const glob = (pattern: string, value: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(value);
  return statements.some(
    (st) => st.Effect === 'Allow' && st.actions.some((a) => glob(a, action)) && (resource === undefined || st.resources.some((r) => glob(r, resource))),
  );
}

beforeAll(() => {
  s = synthSkyless({ allowedRegions: 'us-east-1,us-west-2', nodeReadBuckets: 'my-datasets', nodeWriteBuckets: 'my-checkpoints' });
  all = iamStatements(s.json);
}, SYNTH_TIMEOUT);
afterAll(() => s?.cleanup());

describe('EC2', () => {
  it('TerminateInstances only on instances tagged with this deployment', () => {
    const st = withAction('ec2:TerminateInstances');
    expect(st.length).toBeGreaterThan(0);
    for (const x of st) {
      expect(x.resources).toEqual(['arn:<AWS::Partition>:ec2:*:<AWS::AccountId>:instance/*']);
      expect(x.Condition?.StringEquals?.[`ec2:ResourceTag/${TAG_DEPLOYMENT}`]).toBe('skyless');
    }
  });

  it('CreateTags only at launch with the deployment tag, or the terminated-by marker on own instances', () => {
    const st = withAction('ec2:CreateTags');
    expect(st).toHaveLength(3); // at launch (workflow), marker (workflow, scheduler)
    for (const x of st) {
      const eq = x.Condition?.StringEquals ?? {};
      const atLaunch = eq['ec2:CreateAction'] === 'RunInstances' && eq[`aws:RequestTag/${TAG_DEPLOYMENT}`] === 'skyless';
      const onOwn = eq[`ec2:ResourceTag/${TAG_DEPLOYMENT}`] === 'skyless' && JSON.stringify(x.Condition?.['ForAllValues:StringEquals']) === JSON.stringify({ 'aws:TagKeys': [TAG_TERMINATED_BY] });
      expect(atLaunch || onOwn, JSON.stringify(x)).toBe(true);
    }
  });

  it('RunInstances creates instances and volumes only with the deployment tag, only in allowed regions', () => {
    const st = withAction('ec2:RunInstances');
    const creating = st.filter((x) => x.resources.some((r) => /:(instance|volume)\/\*$/.test(r)));
    expect(creating).toHaveLength(1);
    expect(creating[0]!.Condition).toEqual({ StringEquals: { [`aws:RequestTag/${TAG_DEPLOYMENT}`]: 'skyless', 'aws:RequestedRegion': ['us-east-1', 'us-west-2'] } });
    for (const x of st) expect(x.Condition?.StringEquals?.['aws:RequestedRegion'], JSON.stringify(x)).toEqual(['us-east-1', 'us-west-2']);
  });

  it('launching and PassRole belong to the workflow function; terminating also to the scheduler (janitor); describing also to events', () => {
    const holders = (action: string) => new Set(withAction(action).flatMap((x) => x.roles));
    for (const action of ['ec2:RunInstances', 'iam:PassRole', 'ssm:GetParameters', 'iam:CreateServiceLinkedRole']) expect(holders(action), action).toEqual(new Set([roleOf('workflow')]));
    for (const action of ['ec2:TerminateInstances', 'ec2:CreateTags']) expect(holders(action), action).toEqual(new Set([roleOf('workflow'), roleOf('scheduler')]));
    expect(holders('ec2:DescribeInstances')).toEqual(new Set([roleOf('workflow'), roleOf('scheduler'), roleOf('events')]));
  });

  it('iam:PassRole only for the node role, only to EC2', () => {
    const st = withAction('iam:PassRole');
    expect(st).toHaveLength(1);
    expect(st[0]!.resources).toEqual([`<${s.logicalId(s.stack.nodes.role)}.Arn>`]);
    expect(st[0]!.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } });
  });
});

describe('every policy', () => {
  it('uses Resource "*" only for the EC2 Describe actions (which support nothing narrower)', () => {
    const star = all.filter((x) => x.resources.includes('*'));
    expect(star.length).toBeGreaterThan(0);
    for (const x of star) expect(UNSCOPED_EC2_ACTIONS, JSON.stringify(x)).toEqual(expect.arrayContaining(x.actions));
  });

  it('names actions exactly (no service:* or * actions) and allows only (no Deny needed)', () => {
    for (const x of all) {
      expect(x.Effect).toBe('Allow');
      for (const a of x.actions) expect(a, JSON.stringify(x)).toMatch(/^[a-z0-9-]+:[A-Za-z0-9]+$/);
    }
  });

  it('puts wildcards in ARNs only where names are made at run time (allow-list)', () => {
    const bucket = s.logicalId(s.stack.storage.bucket);
    const allowed = [
      new RegExp(`^<${bucket}\\.Arn>/\\*$`), // job objects: keys per job
      /^arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:skyless-skyless-job:\*$/, // executions named per job
      /^arn:<AWS::Partition>:ec2:\*:<AWS::AccountId>:(instance|volume|subnet|security-group|network-interface|key-pair|spot-instances-request)\/\*$/,
      /^arn:<AWS::Partition>:ec2:\*::(image|snapshot)\/\*$/,
      /^arn:<AWS::Partition>:ssm:\*::parameter\/aws\/service\/(ami-amazon-linux-latest|deeplearning\/ami)\/\*$/,
      /^arn:<AWS::Partition>:s3:::my-(datasets|checkpoints)\/\*$/, // nodeReadBuckets, nodeWriteBuckets (operator's choice)
    ];
    for (const x of all) {
      for (const r of x.resources) {
        if (r === '*' || !r.includes('*')) continue;
        expect(allowed.some((re) => re.test(r)), `${x.owner} ${x.Sid}: ${r}`).toBe(true);
      }
    }
  });

  it('has no AWS managed policies attached to any role', () => {
    for (const [id, r] of Object.entries(s.json.Resources)) if (r.Type === 'AWS::IAM::Role') expect(r.Properties!.ManagedPolicyArns, id).toBeUndefined();
  });
});

describe('function roles', () => {
  it('every function reads the agent key secret (aws-deps builds the token verifier in every handler), and only that secret', () => {
    const secretRef = `<${s.logicalId(s.stack.agentKey)}>`;
    for (const name of NAMES) {
      const st = statementsOf(name).filter((x) => x.actions.includes('secretsmanager:GetSecretValue'));
      expect(st.flatMap((x) => x.resources), name).toEqual([secretRef]);
    }
  });

  it('each function writes only its own log group', () => {
    for (const name of NAMES) {
      const logs = statementsOf(name).filter((x) => x.actions.some((a) => a.startsWith('logs:')));
      expect(logs.flatMap((x) => x.resources)).toEqual([`<${s.logicalId(s.stack.functions[name].logGroup)}.Arn>`]);
    }
  });

  it('state machine actions only on this state machine and its executions', () => {
    for (const x of all.filter((st) => st.actions.some((a) => a.startsWith('states:')))) {
      for (const r of x.resources) expect(r).toMatch(/^arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:(stateMachine:skyless-skyless-job|execution:skyless-skyless-job:\*)$/);
    }
  });

  it('the node role reads only the listed buckets, writes (never deletes) only the write buckets, and has no permission at all without them', () => {
    const node = all.filter((x) => x.roles.includes(s.logicalId(s.stack.nodes.role)));
    expect([...new Set(node.flatMap((x) => x.actions))].sort()).toEqual(['s3:GetObject', 's3:ListBucket', 's3:PutObject']);
    const arn = (r: string) => `arn:<AWS::Partition>:s3:::${r}`;
    expect(allows(node, 's3:ListBucket', arn('my-datasets'))).toBe(true);
    expect(allows(node, 's3:GetObject', arn('my-checkpoints/ckpt/step-1'))).toBe(true);
    expect(allows(node, 's3:PutObject', arn('my-checkpoints/ckpt/step-1'))).toBe(true);
    expect(allows(node, 's3:PutObject', arn('my-datasets/x'))).toBe(false);
    expect(allows(node, 's3:GetObject', arn('someone-elses/x'))).toBe(false);
    expect(allows(node, 's3:DeleteObject', arn('my-checkpoints/x'))).toBe(false);
    const bare = synthSkyless({});
    try {
      const nodeRole = bare.logicalId(bare.stack.nodes.role);
      expect(iamStatements(bare.json).filter((x) => x.roles.includes(nodeRole))).toEqual([]);
    } finally {
      bare.cleanup();
    }
  }, SYNTH_TIMEOUT);

  it('the optional GCP credentials secret is readable by the functions that run providers', () => {
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:skyless/gcp-wif-AbC123';
    const g = synthSkyless({ gcpCredentialsSecretArn: arn });
    try {
      const st = iamStatements(g.json).filter((x) => x.resources.includes(arn));
      const roles = new Set(st.flatMap((x) => x.roles));
      expect(roles).toEqual(new Set((['workflow', 'events', 'scheduler'] as const).map((n) => g.logicalId(g.stack.functions[n].role))));
      for (const x of st) expect(x.actions).toEqual(['secretsmanager:GetSecretValue']);
    } finally {
      g.cleanup();
    }
  }, SYNTH_TIMEOUT);
});

// ---- every SDK command the runtime sends is allowed ----

/** IAM action per SDK command (lib-dynamodb's document commands map to the item actions). */
const COMMAND_ACTIONS: Record<string, string> = {
  // DynamoDB (client and lib-dynamodb)
  GetCommand: 'dynamodb:GetItem', GetItemCommand: 'dynamodb:GetItem', PutCommand: 'dynamodb:PutItem', PutItemCommand: 'dynamodb:PutItem',
  UpdateCommand: 'dynamodb:UpdateItem', UpdateItemCommand: 'dynamodb:UpdateItem', DeleteCommand: 'dynamodb:DeleteItem', DeleteItemCommand: 'dynamodb:DeleteItem',
  QueryCommand: 'dynamodb:Query', ScanCommand: 'dynamodb:Scan', BatchGetCommand: 'dynamodb:BatchGetItem', BatchGetItemCommand: 'dynamodb:BatchGetItem',
  BatchWriteCommand: 'dynamodb:BatchWriteItem', BatchWriteItemCommand: 'dynamodb:BatchWriteItem', TransactWriteCommand: 'dynamodb:TransactWriteItems',
  TransactWriteItemsCommand: 'dynamodb:TransactWriteItems', CreateTableCommand: 'dynamodb:CreateTable', DescribeTableCommand: 'dynamodb:DescribeTable',
  // S3
  GetObjectCommand: 's3:GetObject', PutObjectCommand: 's3:PutObject', DeleteObjectCommand: 's3:DeleteObject', DeleteObjectsCommand: 's3:DeleteObject',
  ListObjectsV2Command: 's3:ListBucket', HeadObjectCommand: 's3:GetObject', CopyObjectCommand: 's3:PutObject',
  // Step Functions
  StartExecutionCommand: 'states:StartExecution', StopExecutionCommand: 'states:StopExecution', SendTaskSuccessCommand: 'states:SendTaskSuccess',
  SendTaskFailureCommand: 'states:SendTaskFailure', SendTaskHeartbeatCommand: 'states:SendTaskHeartbeat', DescribeExecutionCommand: 'states:DescribeExecution',
  // EventBridge, Lambda, secrets
  PutEventsCommand: 'events:PutEvents', InvokeCommand: 'lambda:InvokeFunction', GetSecretValueCommand: 'secretsmanager:GetSecretValue',
  GetParameterCommand: 'ssm:GetParameter', GetParametersCommand: 'ssm:GetParameters',
  // EC2
  RunInstancesCommand: 'ec2:RunInstances', TerminateInstancesCommand: 'ec2:TerminateInstances', CreateTagsCommand: 'ec2:CreateTags',
  DescribeInstancesCommand: 'ec2:DescribeInstances', DescribeImagesCommand: 'ec2:DescribeImages',
};

/** Runtime modules: the AWS adapters and the Lambda wiring (what the deployed functions execute). */
function runtimeSources(): { file: string; text: string }[] {
  const files = [
    ...readdirSync(join(REPO_ROOT, 'adapters', 'aws')).filter((f) => f.endsWith('.ts')).map((f) => join('adapters', 'aws', f)),
    join('lambdas', 'aws-deps.ts'),
  ];
  return files.map((file) => ({ file, text: readFileSync(join(REPO_ROOT, file), 'utf8') }));
}

describe('runtime SDK calls', () => {
  // adapters/aws/sigv4.ts signs CLI requests; table-design creates tables in tests and local mode only.
  const NOT_IN_LAMBDA = new Set(['adapters/aws/sigv4.ts', 'adapters/aws/table-design.ts']);
  /** Code paths the stack's configuration never takes (with why). */
  const NOT_USED_BY_STACK: Record<string, string> = {
    'lambdas/aws-deps.ts:GetParameterCommand': 'the AGENT_KEY_PARAMETER (SSM) alternative; the stack sets AGENT_KEY_SECRET_ARN',
    // tools/refresh-catalog.ts runs these with the operator's own credentials, never in a function.
    'adapters/aws/catalog-source.ts:DescribeInstanceTypesCommand': 'catalog refresh tool, operator credentials',
    'adapters/aws/catalog-source.ts:GetProductsCommand': 'catalog refresh tool, operator credentials',
    'adapters/aws/catalog-source.ts:DescribeSpotPriceHistoryCommand': 'catalog refresh tool, operator credentials',
    // Not wired into the deployed functions yet (README: on AWS a named bucket must exist).
    'adapters/aws/s3-bucket-store.ts:HeadBucketCommand': 'bucket creation is not enabled on AWS yet',
    'adapters/aws/s3-bucket-store.ts:CreateBucketCommand': 'bucket creation is not enabled on AWS yet',
    'adapters/aws/s3-bucket-store.ts:DeleteObjectsCommand': 'bucket creation is not enabled on AWS yet',
    'adapters/aws/s3-bucket-store.ts:DeleteBucketCommand': 'bucket creation is not enabled on AWS yet',
  };
  /** Functions that run each EC2 action (events: state reasons; scheduler: the janitor; workflow: everything). */
  const EC2_USERS: Record<string, FunctionName[]> = {
    'ec2:DescribeInstances': ['workflow', 'events', 'scheduler'],
    'ec2:TerminateInstances': ['workflow', 'scheduler'],
    'ec2:CreateTags': ['workflow', 'scheduler'],
  };

  it('every `new XCommand(` in the runtime maps to an action the function roles are allowed', () => {
    const used = new Map<string, string>();
    for (const { file, text } of runtimeSources()) {
      if (NOT_IN_LAMBDA.has(file)) continue;
      for (const m of text.matchAll(/new (\w+Command)\(/g)) used.set(m[1]!, file);
    }
    expect(used.size).toBeGreaterThan(10);
    for (const [command, file] of used) {
      if (NOT_USED_BY_STACK[`${file}:${command}`]) continue;
      const action = COMMAND_ACTIONS[command];
      expect(action, `${command} (${file}) has no IAM action in this test's table: add it, and grant it in the stack`).toBeDefined();
      const ec2 = action!.startsWith('ec2:');
      const who: FunctionName[] = ec2 ? (EC2_USERS[action!] ?? ['workflow']) : NAMES;
      for (const name of who) expect(allows(statementsOf(name), action!), `${name} function may not ${action} (${command} in ${file})`).toBe(true);
    }
  });
});
