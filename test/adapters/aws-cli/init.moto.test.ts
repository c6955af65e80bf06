// `skyless init --stack NAME` against moto_server's CloudFormation: the real SDK client, with the
// standard credential chain and endpoint settings from the environment (AWS_ENDPOINT_URL).
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { existsSync } from 'node:fs';
import { awsTestClientConfig, startMoto, type RunningMoto } from '../../support/moto.ts';
import { cli, freshHome, readJson } from './helpers.ts';

const API = 'https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/';
let moto: RunningMoto;
const saved: Record<string, string | undefined> = {};

function template(outputs: Record<string, string>): string {
  return JSON.stringify({
    Resources: { Queue: { Type: 'AWS::SQS::Queue', Properties: {} } },
    Outputs: Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, { Value: v }])),
  });
}

beforeAll(async () => {
  moto = await startMoto();
  // What a user's shell provides: credentials, and (here) the endpoint to use for every service.
  for (const [k, v] of Object.entries({ AWS_ENDPOINT_URL: moto.endpoint, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: undefined, AWS_DEFAULT_REGION: undefined, AWS_PROFILE: undefined })) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  const cfn = new CloudFormationClient(awsTestClientConfig(moto.endpoint));
  await cfn.send(new CreateStackCommand({ StackName: 'skyless', TemplateBody: template({ ApiUrl: API, BucketName: 'skyless-jobs' }) }));
  await cfn.send(new CreateStackCommand({ StackName: 'not-skyless', TemplateBody: template({ Something: 'else' }) }));
  cfn.destroy();
});
afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await moto?.stop();
});

let home: ReturnType<typeof freshHome>;
beforeEach(() => {
  home = freshHome();
});
afterEach(() => home.cleanup());

describe('skyless init --stack', () => {
  it('reads the ApiUrl output and writes endpoint, region and stack', async () => {
    const r = await cli(['init', '--stack', 'skyless', '--region', 'us-east-1']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Pointed skyless at https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com (stack skyless, region us-east-1)');
    expect(readJson(home.configFile)).toEqual({ endpoint: 'https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com', region: 'us-east-1', stack: 'skyless' });
    const shown = await cli(['config', 'show']);
    expect(shown.stdout).toContain('stack:       skyless');
  });

  it('takes the region from AWS_REGION when --region is absent, and needs one of them', async () => {
    const none = await cli(['init', '--stack', 'skyless'], { ...process.env, AWS_REGION: undefined, AWS_DEFAULT_REGION: undefined });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--region R \(or set AWS_REGION\)/);
    const fromEnv = await cli(['init', '--stack', 'skyless'], { ...process.env, AWS_REGION: 'us-east-1' });
    expect(fromEnv.code).toBe(0);
    expect(readJson(home.configFile)).toMatchObject({ region: 'us-east-1' });
  });

  it('explains a missing stack, and a stack that is not a skyless stack, writing nothing', async () => {
    const missing = await cli(['init', '--stack', 'nope', '--region', 'us-east-1']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no stack 'nope' in us-east-1/);
    const other = await cli(['init', '--stack', 'not-skyless', '--region', 'us-east-1']);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/has no ApiUrl output \(outputs: Something\); is it a skyless stack\?/);
    expect(existsSync(home.configFile)).toBe(false);
  });
});
