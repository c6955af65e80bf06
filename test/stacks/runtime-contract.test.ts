// The stack's Lambda environment against the runtime's contract: every function's synthesized
// environment, with its CloudFormation references replaced by values of the shapes CloudFormation
// returns, is accepted by lambdas/aws-deps.ts readAwsRuntimeConfig and means what the stack intends.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAwsRuntimeConfig } from '../../lambdas/aws-deps.ts';
import { FUNCTION_ENTRIES, type FunctionName } from '../../stacks/skyless-stack.ts';
import { synthSkyless, type Synthesized } from './synth.ts';
import { render } from './template-tools.ts';


/** Synthesis takes seconds on an idle machine and much longer on a busy one. */
const SYNTH_TIMEOUT = 120_000;
let s: Synthesized;
let values: Record<string, string>;

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';

beforeAll(() => {
  s = synthSkyless({
    maxLaunching: '12', maxRunning: '300', allowedRegions: 'eu-west-1,us-east-1', deployment: 'team-a',
    maxNodesPerJob: '8', maxJobsPerSubmission: '50', maxActiveJobsPerUser: '100', allowedInstanceTypes: 'm6i.large,g5.xlarge', adminPrincipals: 'arn:aws:iam::123456789012:role/Admin',
  });
  const id = (c: unknown) => s.logicalId(c);
  // What Ref / GetAtt return for each referenced resource (formats from the CloudFormation docs).
  values = {
    [`<${id(s.stack.storage.table)}>`]: 'skyless-team-a-StorageTableB43FDCE7-1A2B3C4D5E6F',
    [`<${id(s.stack.storage.bucket)}>`]: 'skyless-team-a-storagebucket5cb7c8ea-1a2b3c4d5e6f',
    [`<${id(s.stack.bus)}>`]: 'skyless-team-a',
    [`<${id(s.stack.httpApi.api)}.ApiEndpoint>`]: `https://a1b2c3d4e5.execute-api.${REGION}.amazonaws.com`,
    [`<${id(s.stack.agentKey)}>`]: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:AgentKey5ED1D802-aBcDeFgHiJkL-AbC123`,
    [`<${id(s.stack.nodes.instanceProfile)}.Arn>`]: `arn:aws:iam::${ACCOUNT}:instance-profile/skyless-team-a-NodesInstanceProfile-AbCdEf`,
    [`<${id(s.stack.nodes.securityGroup)}.GroupId>`]: 'sg-0123456789abcdef0',
    '<AWS::Partition>': 'aws',
    '<AWS::Region>': REGION,
    '<AWS::AccountId>': ACCOUNT,
  };
}, SYNTH_TIMEOUT);
afterAll(() => s?.cleanup());

function environmentOf(name: FunctionName): Record<string, string> {
  const fn = s.json.Resources[s.logicalId(s.stack.functions[name].fn)]!;
  const vars = (fn.Properties!.Environment as { Variables: Record<string, unknown> }).Variables;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(vars)) {
    const text = render(v).replace(/<[^>]+>/g, (ref) => {
      if (!(ref in values)) throw new Error(`${name}: ${k} refers to ${ref}, which this test has no value for`);
      return values[ref]!;
    });
    out[k] = text;
  }
  return out;
}

describe('Lambda environment', () => {
  it('is the same for every function', () => {
    const api = environmentOf('api');
    for (const name of Object.keys(FUNCTION_ENTRIES) as FunctionName[]) expect(environmentOf(name), name).toEqual(api);
  });

  it('is accepted by readAwsRuntimeConfig and says what the stack means', () => {
    for (const name of Object.keys(FUNCTION_ENTRIES) as FunctionName[]) {
      const config = readAwsRuntimeConfig({ ...environmentOf(name), AWS_REGION: REGION });
      expect(config, name).toMatchObject({
        region: REGION,
        tableName: values[`<${s.logicalId(s.stack.storage.table)}>`],
        bucketName: values[`<${s.logicalId(s.stack.storage.bucket)}>`],
        stateMachineArn: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:skyless-team-a-job`,
        eventBusName: 'skyless-team-a',
        schedulerFunctionName: 'skyless-team-a-scheduler',
        allowedRegions: ['eu-west-1', 'us-east-1'],
        instanceProfileArn: values[`<${s.logicalId(s.stack.nodes.instanceProfile)}.Arn>`],
        nodeSecurityGroupId: 'sg-0123456789abcdef0',
        settings: {
          deployment: 'team-a', apiUrl: `https://a1b2c3d4e5.execute-api.${REGION}.amazonaws.com`, maxLaunching: 12, maxRunning: 300,
          maxNodesPerJob: 8, maxJobsPerSubmission: 50, maxActiveJobsPerUser: 100, allowedInstanceTypes: ['m6i.large', 'g5.xlarge'], adminPrincipals: ['arn:aws:iam::123456789012:role/Admin'],
        },
      });
      expect(JSON.stringify(config), name).toContain(values[`<${s.logicalId(s.stack.agentKey)}>`]);
    }
  });

  it('names the state machine and the scheduler function as the stack creates them', () => {
    const env = environmentOf('workflow');
    const machine = s.json.Resources[s.logicalId(s.stack.stateMachine)]!.Properties!;
    expect(env.STATE_MACHINE_ARN!.endsWith(`:stateMachine:${machine.StateMachineName as string}`)).toBe(true);
    expect(env.SCHEDULER_FUNCTION_NAME).toBe(s.json.Resources[s.logicalId(s.stack.functions.scheduler.fn)]!.Properties!.FunctionName);
  });
});
