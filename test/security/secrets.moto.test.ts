// Secrets at rest, on the AWS wiring (API Lambda, DynamoDB, KMS on moto): a `--secret` value is in no
// raw DynamoDB item at any time — before, the job item held it in plain text for ever — the node that
// registers gets it, and once the job is finalized no item holds it or anything that opens to it.
// An invalid `--secret` is refused without its text in the message.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { createHandler } from '../../lambdas/api/handler.ts';
import { finalize } from '../../core/usecases/workflow-steps.ts';
import { secretsForNode } from '../../core/usecases/secrets.ts';
import { startMotoDeployment, type MotoDeployment } from '../lambdas/moto-aws.ts';
import { awsTestClientConfig } from '../support/moto.ts';
import { makeAttemptRecord, makeCandidate, makeNode } from '../support/records.ts';
import { ALICE, bodyOf, iamRequest } from './api-request.ts';

let d: MotoDeployment;
let api: (e: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
let raw: DynamoDBClient;

beforeAll(async () => {
  d = await startMotoDeployment();
  api = createHandler(d.deps);
  raw = new DynamoDBClient(awsTestClientConfig(d.moto.endpoint));
});
afterAll(async () => {
  raw?.destroy();
  await d?.stop();
});

/** Every item of the table as DynamoDB returns it (attribute values, nothing decoded), as one string. */
async function rawTable(): Promise<string> {
  const items: unknown[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await raw.send(new ScanCommand({ TableName: d.env.TABLE_NAME, ExclusiveStartKey: start as never }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return JSON.stringify(items);
}

const SECRET = 'hf_Sup3rS3cretTok3n_9f8e7d6c5b4a';
const YAML = 'name: with-secret\nresources:\n  cpus: 2\nsecrets:\n  HF_TOKEN: null\nrun: echo "token length ${#HF_TOKEN}"\n';

describe('secrets at rest', () => {
  it('are sealed before they reach the store, opened only for the registering node, and gone once the job is finalized', async () => {
    const r = await api(iamRequest(ALICE, 'POST', '/jobs', { body: { yaml: YAML, secrets: { HF_TOKEN: SECRET } } }));
    expect(r.statusCode, String(r.body)).toBe(201);
    const jobId = (bodyOf(r).jobIds as number[])[0]!;

    // Never in plain text: not in any raw item, base64 of it neither; the item holds a sealed value.
    let table = await rawTable();
    expect(table).not.toContain(SECRET);
    expect(table).not.toContain(Buffer.from(SECRET).toString('base64'));
    const stored = (await d.deps.store.getJob(jobId))!;
    expect(stored.sealedSecrets?.blob.data).toBeTruthy();
    expect(stored.spec.tasks[0]!.secrets).toEqual({ HF_TOKEN: '' });

    // The node that registers for the job's attempt gets it in its environment.
    const job = stored;
    await d.deps.store.putJob({ ...job, status: 'RUNNING', slot: 'RUNNING', tasks: [{ ...job.tasks[0]!, status: 'RUNNING', attempt: 1 }] }, job.version);
    await d.deps.store.putAttempt(makeAttemptRecord({ jobId, attempt: 1, candidate: makeCandidate({ instanceType: 't3.micro', accelerator: undefined }), state: 'RUNNING', nodes: [makeNode(0, { registeredAt: 1, phase: 'RUN' })] }), null);
    const token = d.deps.agentTokens.sign({ job: jobId, task: 0, attempt: 1, node: 0 });
    const reg = await api({ ...iamRequest(undefined, 'POST', '/agent/register', { body: { ip: '10.0.0.1' } }), headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } });
    expect(reg.statusCode, String(reg.body)).toBe(200);
    expect((bodyOf(reg).env as Record<string, string>).HF_TOKEN).toBe(SECRET);
    // No user-facing answer carries it.
    expect(String((await api(iamRequest(ALICE, 'GET', `/jobs/${jobId}`))).body)).not.toContain(SECRET);
    expect(await rawTable()).not.toContain(SECRET);

    // The job ends; Finalize scrubs the sealed value too.
    const running = (await d.deps.store.getJob(jobId))!;
    await d.deps.store.putJob({ ...running, status: 'SUCCEEDED', tasks: [{ ...running.tasks[0]!, status: 'SUCCEEDED', endedAt: Date.now() }], endedAt: Date.now() }, running.version);
    await finalize(d.deps, { jobId, cycle: 0 } as never);
    const ended = (await d.deps.store.getJob(jobId))!;
    expect(ended.finalizedAt).toBeGreaterThan(0);
    expect(ended.sealedSecrets).toBeUndefined();
    table = await rawTable();
    expect(table).not.toContain(SECRET);
    expect(table).not.toContain(stored.sealedSecrets!.blob.data);
    expect(await secretsForNode(d.deps, ended, 0)).toEqual({});
  });

  it('a sealed value copied onto another job does not open (bound to its submission)', async () => {
    const r1 = await api(iamRequest(ALICE, 'POST', '/jobs', { body: { yaml: YAML, secrets: { HF_TOKEN: SECRET } } }));
    const r2 = await api(iamRequest(ALICE, 'POST', '/jobs', { body: { yaml: YAML, secrets: { HF_TOKEN: 'other' } } }));
    const a = (await d.deps.store.getJob((bodyOf(r1).jobIds as number[])[0]!))!;
    const b = (await d.deps.store.getJob((bodyOf(r2).jobIds as number[])[0]!))!;
    await expect(secretsForNode(d.deps, { ...b, sealedSecrets: { submission: b.jobId, blob: a.sealedSecrets!.blob } }, 0)).rejects.toThrow();
  });

  it('an invalid --secret is refused without echoing its text', async () => {
    for (const secrets of [{ 'hf_Sup3rS3cretTok3n-9f8e': 'x' }]) {
      const r = await api(iamRequest(ALICE, 'POST', '/jobs', { body: { yaml: YAML, secrets } }));
      expect(r.statusCode).toBe(400);
      expect(String(r.body)).not.toContain('hf_Sup3rS3cretTok3n');
    }
  });
});
