// The real `cdk synth` (esbuild bundling of every Lambda, offline) and the bundles it makes:
// each loads as an ES module and exports `handler`; the API bundle carries agent.sh beside index.mjs;
// and the API bundle, run with the environment the template gives it (resources created in
// moto_server), serves GET /health and GET /agent/agent.sh — the agent script read through
// `new URL('./agent.sh', import.meta.url)` inside the bundle.
//
// This is what `cdk deploy` runs, so it runs in CI with the rest of the suite (not opt-in). Bundling
// five functions takes a minute or more on two cores; the limits below are generous for a loaded
// machine.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createTableInput } from '../../adapters/aws/table-design.ts';
import { REPO_ROOT } from '../../stacks/constructs/runtime-function.ts';
import { startMoto, awsTestClientConfig, type RunningMoto } from '../support/moto.ts';
import { render } from './template-tools.ts';
import type { TemplateJson } from './synth.ts';

const run = promisify(execFile);
describe('cdk synth with bundling', () => {
  let out: string;
  let template: TemplateJson;
  let moto: RunningMoto | undefined;

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'skyless-cdk-out-'));
    await run('npx', ['cdk', 'synth', '--quiet', '--output', out], {
      cwd: REPO_ROOT,
      env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1', CDK_DISABLE_CLI_TELEMETRY: 'true' },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 900_000,
    });
    template = JSON.parse(readFileSync(join(out, 'skyless.template.json'), 'utf8')) as TemplateJson;
  }, 960_000);
  afterAll(async () => {
    await moto?.stop();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  const functions = () => Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
  const bundleDir = (fn: { Properties?: Record<string, unknown> }) => join(out, `asset.${(fn.Properties!.Code as { S3Key: string }).S3Key.replace(/\.zip$/, '')}`);
  const apiFunction = () => {
    const api = functions().find(([id]) => id.startsWith('ApiFunction'));
    if (!api) throw new Error('no ApiFunction in the template');
    return api[1];
  };

  it('bundles every function into an ES module that loads and exports handler', async () => {
    expect(functions()).toHaveLength(5);
    for (const [id, fn] of functions()) {
      const entry = join(bundleDir(fn), 'index.mjs');
      expect(existsSync(entry), id).toBe(true);
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(entry)}); console.log(typeof m.handler);`]);
      expect(stdout.trim(), id).toBe('function');
    }
  });

  it('copies agent/agent.sh beside the API bundle', () => {
    const copied = join(bundleDir(apiFunction()), 'agent.sh');
    expect(readFileSync(copied, 'utf8')).toBe(readFileSync(join(REPO_ROOT, 'agent', 'agent.sh'), 'utf8'));
  });

  it('the API bundle, given the template environment, serves /health and the agent script', async () => {
    moto = await startMoto();
    const cfg = awsTestClientConfig(moto.endpoint);
    const names = { table: 'skyless-bundle-table', bucket: 'skyless-bundle-bucket' };
    await new DynamoDBClient(cfg).send(new CreateTableCommand(createTableInput(names.table)));
    await new S3Client(cfg).send(new CreateBucketCommand({ Bucket: names.bucket }));
    const secret = await new SecretsManagerClient(cfg).send(new CreateSecretCommand({ Name: 'skyless-bundle-agent-key', SecretString: 'k'.repeat(64) }));

    const byPrefix = (prefix: string) => Object.keys(template.Resources).find((id) => id.startsWith(prefix))!;
    const values: Record<string, string> = {
      [`<${byPrefix('StorageTable')}>`]: names.table,
      [`<${byPrefix('StorageBucket')}>`]: names.bucket,
      [`<${byPrefix('Bus')}>`]: 'skyless',
      [`<${byPrefix('HttpApi')}.ApiEndpoint>`]: 'https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com',
      [`<${byPrefix('AgentKey')}>`]: secret.ARN!,
      [`<${byPrefix('NodesInstanceProfile')}.Arn>`]: 'arn:aws:iam::123456789012:instance-profile/skyless-nodes',
      [`<${byPrefix('NodesSecurityGroup')}.GroupId>`]: 'sg-0123456789abcdef0',
      '<AWS::Partition>': 'aws',
      '<AWS::Region>': 'us-east-1',
      '<AWS::AccountId>': '123456789012',
    };
    const vars = (apiFunction().Properties!.Environment as { Variables: Record<string, unknown> }).Variables;
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(vars)) env[k] = render(v).replace(/<[^>]+>/g, (ref) => values[ref] ?? `(no value for ${ref})`);

    // A Lambda-like invocation: the bundle imported from its own directory, the handler called once per event.
    const invoker = join(out, 'invoke.mjs');
    writeFileSync(
      invoker,
      `const { handler } = await import(process.argv[2]);\nconst results = [];\nfor (const e of JSON.parse(process.argv[3])) results.push(await handler(e));\nprocess.stdout.write(JSON.stringify(results));\n`,
    );
    const event = (path: string) => ({ version: '2.0', routeKey: '$default', rawPath: path, rawQueryString: '', headers: {}, isBase64Encoded: false, requestContext: { http: { method: 'GET', path } } });
    const { stdout } = await run(process.execPath, [invoker, join(bundleDir(apiFunction()), 'index.mjs'), JSON.stringify([event('/health'), event('/agent/agent.sh')])], {
      env: {
        PATH: process.env.PATH ?? '',
        ...env,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_ENDPOINT_URL: moto.endpoint,
      },
      maxBuffer: 16 * 1024 * 1024,
    });
    const [health, script] = JSON.parse(stdout) as { statusCode: number; body: string; isBase64Encoded?: boolean }[];
    expect(health).toMatchObject({ statusCode: 200 });
    expect(JSON.parse(health!.body)).toEqual({ ok: true });
    expect(script!.statusCode).toBe(200);
    // API Gateway decodes a base64 reply before sending it (hono's Lambda adapter encodes a type it
    // does not know as text, such as text/x-shellscript), so the node receives the decoded bytes.
    const served = script!.isBase64Encoded ? Buffer.from(script!.body, 'base64').toString('utf8') : script!.body;
    expect(served).toBe(readFileSync(join(REPO_ROOT, 'agent', 'agent.sh'), 'utf8'));
  }, 120_000);
});

