// Template assertions on the synthesized skyless stack (bundling skipped): the table matches the
// store's design, the bucket is private, the API's authorization per route, the Lambdas' runtime,
// every EventBridge rule's exact pattern, the state machine is job.asl.json with its substitution,
// and no cycle among resources.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTableInput, TABLE_DESIGN } from '../../adapters/aws/table-design.ts';
import { FUNCTION_ENTRIES, STATE_MACHINE_DEFINITION, type FunctionName } from '../../stacks/skyless-stack.ts';
import { REPO_ROOT } from '../../stacks/constructs/runtime-function.ts';
import { synthSkyless, type Synthesized } from './synth.ts';
import { findCycle, render } from './template-tools.ts';
import { fixtureEvent } from '../support/events.ts';


/** Synthesis takes seconds on an idle machine and much longer on a busy one. */
const SYNTH_TIMEOUT = 120_000;
let s: Synthesized;
const res = (type: string) => Object.entries(s.json.Resources).filter(([, r]) => r.Type === type);
const fnId = (name: FunctionName) => s.logicalId(s.stack.functions[name].fn);

beforeAll(() => {
  s = synthSkyless({ logRetentionDays: 30 });
}, SYNTH_TIMEOUT);
afterAll(() => s?.cleanup());

describe('table', () => {
  it('has the keys, indexes and projections of TABLE_DESIGN (the same CreateTable input the store is tested with)', () => {
    const [[, table], ...more] = res('AWS::DynamoDB::Table');
    expect(more).toHaveLength(0);
    const p = table!.Properties!;
    const want = createTableInput('x');
    expect(p.BillingMode).toBe('PAY_PER_REQUEST');
    expect(p.KeySchema).toEqual(want.KeySchema);
    expect(new Set(p.AttributeDefinitions as unknown[])).toEqual(new Set(want.AttributeDefinitions));
    const gsis = (p.GlobalSecondaryIndexes as Record<string, unknown>[]).map((g) => ({ IndexName: g.IndexName, KeySchema: g.KeySchema, Projection: g.Projection }));
    expect(gsis.sort((a, b) => String(a.IndexName).localeCompare(String(b.IndexName)))).toEqual(
      [...want.GlobalSecondaryIndexes!].sort((a, b) => a.IndexName!.localeCompare(b.IndexName!)),
    );
    expect(p.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(p.TimeToLiveSpecification).toEqual({ AttributeName: TABLE_DESIGN.timeToLiveAttribute, Enabled: true });
  });

  it('is kept on stack deletion by default and deleted with retainData=false', () => {
    const [[, kept]] = res('AWS::DynamoDB::Table');
    expect(kept).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    const other = synthSkyless({ retainData: false, deployment: 'dev' });
    try {
      const [[, gone]] = Object.entries(other.json.Resources).filter(([, r]) => r.Type === 'AWS::DynamoDB::Table');
      expect(gone).toMatchObject({ DeletionPolicy: 'Delete' });
    } finally {
      other.cleanup();
    }
  }, SYNTH_TIMEOUT);
});

describe('bucket', () => {
  it('is private, encrypted, TLS-only, raises EventBridge notifications and expires job logs after logRetentionDays', () => {
    const [[bucketId, bucket], ...more] = res('AWS::S3::Bucket');
    expect(more).toHaveLength(0);
    const p = bucket!.Properties!;
    expect(p.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(p.BucketEncryption).toEqual({ ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] });
    expect(p.NotificationConfiguration).toEqual({ EventBridgeConfiguration: { EventBridgeEnabled: true } });
    const rules = (p.LifecycleConfiguration as { Rules: Record<string, unknown>[] }).Rules;
    expect(rules).toContainEqual({ Id: 'expire-job-logs', Prefix: 'logs/', ExpirationInDays: 30, Status: 'Enabled' });
    const [[, policy]] = res('AWS::S3::BucketPolicy');
    expect(render(policy!.Properties!.Bucket)).toBe(`<${bucketId}>`);
    const deny = (policy!.Properties!.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement.find((st) => st.Effect === 'Deny');
    expect(deny).toMatchObject({ Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' }, }, Principal: { AWS: '*' } });
  });

  it('needs no custom resource (no CDK-managed helper Lambdas)', () => {
    expect(Object.values(s.json.Resources).filter((r) => r.Type.startsWith('Custom::') || r.Type === 'AWS::CloudFormation::CustomResource')).toEqual([]);
    expect(res('AWS::Lambda::Function')).toHaveLength(Object.keys(FUNCTION_ENTRIES).length);
  });
});

describe('HTTP API', () => {
  it('routes user paths with AWS_IAM and agent and health paths with no authorizer, all to the api function', () => {
    const routes = res('AWS::ApiGatewayV2::Route').map(([, r]) => [r.Properties!.RouteKey, r.Properties!.AuthorizationType]);
    expect(Object.fromEntries(routes)).toEqual({
      'ANY /jobs': 'AWS_IAM',
      'ANY /jobs/{proxy+}': 'AWS_IAM',
      'ANY /uploads': 'AWS_IAM',
      'ANY /agent/{proxy+}': 'NONE',
      'GET /health': 'NONE',
    });
    const integrations = res('AWS::ApiGatewayV2::Integration');
    expect(integrations).toHaveLength(1);
    expect(integrations[0]![1].Properties).toMatchObject({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0', IntegrationUri: { 'Fn::GetAtt': [fnId('api'), 'Arn'] } });
  });

  it('has one auto-deployed $default stage with throttling and access logs', () => {
    const stages = res('AWS::ApiGatewayV2::Stage');
    expect(stages).toHaveLength(1);
    const p = stages[0]![1].Properties!;
    expect(p).toMatchObject({ StageName: '$default', AutoDeploy: true, DefaultRouteSettings: { ThrottlingRateLimit: 200, ThrottlingBurstLimit: 400 } });
    expect(JSON.parse((p.AccessLogSettings as { Format: string }).Format)).toMatchObject({ requestId: '$context.requestId', status: '$context.status' });
  });
});

describe('functions', () => {
  it('run Node.js 22 on arm64, handler index.handler, with their own log group', () => {
    for (const name of Object.keys(FUNCTION_ENTRIES) as FunctionName[]) {
      const p = s.json.Resources[fnId(name)]!.Properties!;
      expect(p, name).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler' });
      expect(render((p.LoggingConfig as { LogGroup: unknown }).LogGroup), name).toBe(`<${s.logicalId(s.stack.functions[name].logGroup)}>`);
    }
  });

  it('give the scheduler reserved concurrency 1 (one tick at a time) and no other function a reservation', () => {
    for (const name of Object.keys(FUNCTION_ENTRIES) as FunctionName[]) {
      expect(s.json.Resources[fnId(name)]!.Properties!.ReservedConcurrentExecutions, name).toBe(name === 'scheduler' ? 1 : undefined);
    }
  });

  it('point at handler modules that exist and export `handler`', () => {
    for (const entry of Object.values(FUNCTION_ENTRIES)) {
      expect(readFileSync(join(REPO_ROOT, entry), 'utf8'), entry).toMatch(/export (const|async function|function) handler\b/);
    }
  });
});

describe('EventBridge rules', () => {
  const bus = () => s.logicalId(s.stack.bus);
  const sm = () => s.logicalId(s.stack.stateMachine);
  const bucket = () => s.logicalId(s.stack.storage.bucket);

  it('are exactly the seven rules, each with its exact pattern, bus and target', () => {
    const rules = res('AWS::Events::Rule').map(([, r]) => {
      const p = r.Properties!;
      const targets = (p.Targets as { Arn: unknown }[]).map((t) => render(t.Arn));
      return { bus: p.EventBusName === undefined ? 'default' : render(p.EventBusName), pattern: p.EventPattern, schedule: p.ScheduleExpression, targets };
    });
    const fn = (name: FunctionName) => [`<${fnId(name)}.Arn>`];
    const expected = [
      { bus: 'default', pattern: { source: ['aws.ec2'], 'detail-type': ['EC2 Spot Instance Interruption Warning'] }, schedule: undefined, targets: fn('events') },
      { bus: 'default', pattern: { source: ['aws.ec2'], 'detail-type': ['EC2 Instance Rebalance Recommendation'] }, schedule: undefined, targets: fn('events') },
      {
        bus: 'default',
        pattern: { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'], detail: { state: ['stopping', 'stopped', 'shutting-down', 'terminated'] } },
        schedule: undefined,
        targets: fn('events'),
      },
      {
        bus: 'default',
        pattern: {
          source: ['aws.states'],
          'detail-type': ['Step Functions Execution Status Change'],
          detail: { status: ['FAILED', 'TIMED_OUT', 'ABORTED'], stateMachineArn: [{ Ref: sm() }] },
        },
        schedule: undefined,
        targets: fn('events'),
      },
      {
        bus: 'default',
        pattern: { source: ['aws.s3'], 'detail-type': ['Object Created'], detail: { bucket: { name: [{ Ref: bucket() }] }, object: { key: [{ prefix: 'submit/' }] } } },
        schedule: undefined,
        targets: fn('submissions'),
      },
      { bus: `<${bus()}>`, pattern: { source: ['skyless.client'], 'detail-type': ['Launch Managed Job'] }, schedule: undefined, targets: fn('submissions') },
      { bus: 'default', pattern: undefined, schedule: 'rate(1 minute)', targets: fn('scheduler') },
    ];
    expect(rules).toHaveLength(expected.length);
    for (const e of expected) expect(rules, JSON.stringify(e)).toContainEqual(e);
  });

  it('patterns match EventBridge events in the shapes AWS documents (and not the states that need no action)', () => {
    // The event fixtures (EventBridge envelopes as AWS sends them).
    const load = (f: string) => fixtureEvent(f.replace(/\.json$/, '')) as unknown as Record<string, unknown>;
    const patterns = res('AWS::Events::Rule').map(([, r]) => r.Properties!.EventPattern as Record<string, unknown> | undefined).filter(Boolean) as Record<string, unknown>[];
    const matchesAny = (event: Record<string, unknown>, subst: Record<string, string>) => patterns.some((p) => matches(resolveRefs(p, subst), event));
    const subst = { [s.logicalId(s.stack.storage.bucket)]: 'skyless-jobs-123456789012-us-east-1', [s.logicalId(s.stack.stateMachine)]: 'arn:aws:states:us-east-1:123456789012:stateMachine:skyless-job' };
    for (const f of ['ec2-spot-interruption-warning.json', 'ec2-rebalance-recommendation.json', 'ec2-state-change-stopping.json', 'ec2-state-change-stopped.json', 'ec2-state-change-shutting-down.json', 'ec2-state-change-terminated.json', 's3-object-created.json', 'sfn-execution-status-change-failed.json']) {
      expect(matchesAny(load(f), subst), f).toBe(true);
    }
    for (const f of ['ec2-state-change-pending.json', 'ec2-state-change-running.json']) expect(matchesAny(load(f), subst), f).toBe(false);
    const outside = load('s3-object-created.json');
    (outside.detail as { object: { key: string } }).object.key = 'logs/1/0/1/0/00000000000000';
    expect(matchesAny(outside, subst)).toBe(false);
  });
});

describe('job state machine', () => {
  it('is statemachines/job.asl.json byte for byte, Standard, with WorkflowFunction substituted by the workflow function ARN', () => {
    const [[, machine], ...more] = res('AWS::StepFunctions::StateMachine');
    expect(more).toHaveLength(0);
    const p = machine!.Properties!;
    expect(p.StateMachineType).toBe('STANDARD');
    expect(p.DefinitionSubstitutions).toEqual({ WorkflowFunction: { 'Fn::GetAtt': [fnId('workflow'), 'Arn'] } });
    // DefinitionBody.fromFile uploads the file as an asset; the staged copy is what CloudFormation reads.
    const key = (p.DefinitionS3Location as { Key: string }).Key;
    const staged = readFileSync(join(s.outdir, `asset.${key}`));
    expect(staged.equals(readFileSync(STATE_MACHINE_DEFINITION))).toBe(true);
    // Every placeholder in the definition is substituted (an unsubstituted one fails the deploy).
    const placeholders = new Set([...staged.toString('utf8').matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]));
    expect(placeholders).toEqual(new Set(Object.keys(p.DefinitionSubstitutions as object)));
  });

  it('runs as a role that may invoke the workflow function and nothing else', () => {
    const roleId = render((s.json.Resources[s.logicalId(s.stack.stateMachine)]!.Properties!.RoleArn)).replace(/^<|\.Arn>$/g, '');
    const role = s.json.Resources[roleId]!;
    expect(JSON.stringify(role.Properties!.AssumeRolePolicyDocument)).toContain('states.amazonaws.com');
    const policies = Object.values(s.json.Resources).filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties!.Roles).includes(roleId));
    const statements = policies.flatMap((r) => (r.Properties!.PolicyDocument as { Statement: unknown[] }).Statement);
    expect(statements).toEqual([{ Sid: 'InvokeWorkflowFunction', Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': [fnId('workflow'), 'Arn'] } }]);
    expect(role.Properties!.ManagedPolicyArns).toBeUndefined();
  });
});

describe('template', () => {
  it('has no dependency cycle (CloudFormation would refuse it)', () => {
    expect(findCycle(s.json)).toBeUndefined();
  });

  it('the cycle finder finds a cycle when there is one', () => {
    const t = { Resources: { A: { Type: 'X', Properties: { x: { Ref: 'B' } } }, B: { Type: 'X', Properties: { y: { 'Fn::GetAtt': ['A', 'Arn'] } } } } };
    expect(findCycle(t)).toEqual(['A', 'B', 'A']);
  });

  it('outputs ApiUrl, BucketName, StateMachineArn and EventBusName', () => {
    const o = s.json.Outputs!;
    expect(render(o.ApiUrl!.Value)).toBe(`<${s.logicalId(s.stack.httpApi.api)}.ApiEndpoint>`);
    expect(render(o.BucketName!.Value)).toBe(`<${s.logicalId(s.stack.storage.bucket)}>`);
    expect(render(o.StateMachineArn!.Value)).toBe(`<${s.logicalId(s.stack.stateMachine)}>`);
    expect(render(o.EventBusName!.Value)).toBe(`<${s.logicalId(s.stack.bus)}>`);
  });

  it('names the default deployment\'s bus `skyless` and other deployments\' buses after them', () => {
    expect(s.json.Resources[s.logicalId(s.stack.bus)]!.Properties!.Name).toBe('skyless');
    const other = synthSkyless({ deployment: 'team-a' });
    try {
      expect(other.json.Resources[other.logicalId(other.stack.bus)]!.Properties!.Name).toBe('skyless-team-a');
      expect(other.json.Resources[other.logicalId(other.stack.stateMachine)]!.Properties!.StateMachineName).toBe('skyless-team-a-job');
    } finally {
      other.cleanup();
    }
  }, SYNTH_TIMEOUT);
});

// ---- a small EventBridge pattern matcher (exact values, prefix, nested objects), for the fixture test ----

function resolveRefs(v: unknown, subst: Record<string, string>): unknown {
  if (Array.isArray(v)) return v.map((x) => resolveRefs(x, subst));
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.Ref === 'string') {
      if (!(o.Ref in subst)) throw new Error(`no value for Ref ${o.Ref}`);
      return subst[o.Ref];
    }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, resolveRefs(x, subst)]));
  }
  return v;
}

function matches(pattern: unknown, event: unknown): boolean {
  if (Array.isArray(pattern)) {
    return pattern.some((alt) => {
      if (alt && typeof alt === 'object') {
        const a = alt as Record<string, unknown>;
        if ('prefix' in a) return typeof event === 'string' && event.startsWith(a.prefix as string);
        throw new Error(`matcher ${JSON.stringify(a)} not supported by this test`);
      }
      return alt === event;
    });
  }
  if (pattern && typeof pattern === 'object') {
    if (!event || typeof event !== 'object') return false;
    return Object.entries(pattern as Record<string, unknown>).every(([k, p]) => matches(p, (event as Record<string, unknown>)[k]));
  }
  throw new Error(`pattern leaf ${JSON.stringify(pattern)} is not an array`);
}
