// The API handler on the AWS wiring (awsDeps on moto): a status change made through the API reaches
// an integrator's SQS queue as `Managed Job Status Change` through EventBridge; agent routes accept a
// scoped token only for its own job and attempt, and answer 410 once the attempt has ended.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createHandler } from '../../lambdas/api/handler.ts';
import { hmacAgentTokens } from '../../core/usecases/agent-token.ts';
import { makeAttemptRecord, makeCandidate, makeJobRecord, makeNode, makeTaskState } from '../support/records.ts';
import { startMotoDeployment, type MotoDeployment } from './moto-aws.ts';

let d: MotoDeployment;
let api: (e: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

beforeAll(async () => {
  d = await startMotoDeployment();
  api = createHandler(d.deps);
});
afterAll(async () => {
  await d?.stop();
});

/** An HTTP API (payload 2.0) event as API Gateway sends it for an IAM-authorized user. */
function request(method: string, path: string, opts: { body?: unknown; token?: string; query?: Record<string, string> } = {}): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: new URLSearchParams(opts.query ?? {}).toString(),
    headers: { 'content-type': 'application/json', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
    queryStringParameters: opts.query,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.skyless.test',
      domainPrefix: 'api',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.1', userAgent: 'test' },
      requestId: 'r',
      routeKey: `${method} ${path}`,
      stage: '$default',
      time: '',
      timeEpoch: 0,
      authorizer: { iam: { userArn: 'arn:aws:iam::123456789012:user/alice' } },
    },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

function json(r: APIGatewayProxyStructuredResultV2): Record<string, unknown> {
  return JSON.parse(String(r.body ?? '{}'));
}

describe('integration events end to end (API → EventBridge on moto → SQS)', () => {
  it('cancelling a PENDING job publishes a versioned Managed Job Status Change that reaches the queue', async () => {
    const submitted = await api(request('POST', '/jobs', { body: { yaml: 'name: hello\nresources:\n  cpus: 2\nrun: echo hi\n' } }));
    expect(submitted.statusCode).toBe(201);
    const [jobId] = json(submitted).jobIds as number[];
    expect((await d.deps.store.getJob(jobId!))!.user).toBe('arn:aws:iam::123456789012:user/alice');
    await d.receiveEvents(0);
    const cancelled = await api(request('POST', '/jobs/cancel', { body: { jobIds: [jobId] } }));
    expect(json(cancelled)).toMatchObject({ cancelled: [jobId] });
    const received = await d.receiveEvents(1);
    const changes = received.filter((e) => e['detail-type'] === 'Managed Job Status Change' && e.detail.jobId === jobId);
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({
      source: 'skyless',
      detail: { version: '1', jobId, name: 'hello', task: 0, taskName: 'hello', status: 'CANCELLED', previous: 'PENDING', jobStatus: 'CANCELLED', recoveries: 0, costUsd: 0 },
    });
    expect(changes[0]!.detail.reason).toBe('cancelled by user');
  });
});

describe('agent routes: the scoped token', () => {
  async function runningJob(jobId: number) {
    const candidate = makeCandidate({ instanceType: 't3.micro', accelerator: undefined });
    await d.deps.store.putJob(makeJobRecord({ jobId, status: 'RUNNING', slot: 'RUNNING', tasks: [makeTaskState({ status: 'RUNNING', attempt: 1 })] }), null);
    await d.deps.store.putAttempt(makeAttemptRecord({ jobId, attempt: 1, candidate, state: 'RUNNING', nodes: [makeNode(0, { registeredAt: 1, phase: 'RUN' })] }), null);
  }

  it('a token for job A works for A, is refused for B (tampered claim, other key), and gets 410 once its attempt ended', async () => {
    await runningJob(501);
    await runningJob(502);
    const tokenA = d.deps.agentTokens.sign({ job: 501, task: 0, attempt: 1, node: 0 });
    const ok = await api(request('POST', '/agent/heartbeat', { token: tokenA, body: { phase: 'RUN' } }));
    expect(ok.statusCode).toBe(200);
    expect(json(ok)).toEqual({ action: 'CONTINUE' });
    expect((await d.deps.store.getAttempt(501, 0, 1))!.nodes[0]!.lastHeartbeatAt).toBeGreaterThan(0);

    // A's signature on a claim for job B: refused, and B's attempt is untouched.
    const [, sigA] = tokenA.split('.');
    const claimB = Buffer.from(JSON.stringify([502, 0, 1, 0])).toString('base64url');
    const forged = await api(request('POST', '/agent/heartbeat', { token: `${claimB}.${sigA}`, body: { phase: 'RUN' } }));
    expect(forged.statusCode).toBe(401);
    expect((await d.deps.store.getAttempt(502, 0, 1))!.nodes[0]!.lastHeartbeatAt).toBeUndefined();
    // A well-formed token for B signed with another deployment's key: refused.
    const otherKey = hmacAgentTokens('another-deployment-key-0123456789abcdef').sign({ job: 502, task: 0, attempt: 1, node: 0 });
    expect((await api(request('POST', '/agent/heartbeat', { token: otherKey, body: { phase: 'RUN' } }))).statusCode).toBe(401);
    expect((await api(request('POST', '/agent/heartbeat', { body: { phase: 'RUN' } }))).statusCode).toBe(401);

    // The token was signed with the key stored in Secrets Manager (what the workflow function signs with).
    expect(hmacAgentTokens(d.agentKey).verify(tokenA)).toEqual({ job: 501, task: 0, attempt: 1, node: 0 });

    // Attempt 1 of A ends: every agent route answers 410 Gone for its token.
    const a = (await d.deps.store.getAttempt(501, 0, 1))!;
    await d.deps.store.putAttempt({ ...a, state: 'ENDED', endedAt: Date.now() }, a.version);
    for (const [path, body, query] of [
      ['/agent/heartbeat', { phase: 'RUN' }, undefined],
      ['/agent/register', { ip: '10.0.0.1' }, undefined],
      ['/agent/exit', { phase: 'RUN', exitCode: 0 }, undefined],
      ['/agent/logs', undefined, { offset: '0' }],
    ] as const) {
      const r = await api(request('POST', path, { token: tokenA, body, query }));
      expect({ path, status: r.statusCode }).toEqual({ path, status: 410 });
    }
    // A validly signed token for an attempt that does not exist is refused the same way.
    const tokenA2 = d.deps.agentTokens.sign({ job: 501, task: 0, attempt: 2, node: 0 });
    expect((await api(request('POST', '/agent/heartbeat', { token: tokenA2, body: { phase: 'RUN' } }))).statusCode).toBe(410);
  });

  it('a node that registers while its attempt is still being launched (no attempt record yet) is told to wait, not that it is gone', async () => {
    // launch() has written attempt 1 on the task and called the provider; the record comes when it returns.
    await d.deps.store.putJob(makeJobRecord({ jobId: 503, status: 'STARTING', slot: 'LAUNCHING', tasks: [makeTaskState({ status: 'STARTING', attempt: 1 })] }), null);
    const token = d.deps.agentTokens.sign({ job: 503, task: 0, attempt: 1, node: 0 });
    const early = await api(request('POST', '/agent/register', { token, body: { ip: '10.0.0.7' } }));
    expect(early.statusCode).toBe(200);
    expect(json(early)).toEqual({ state: 'WAIT', retryAfterMs: 300 });
    // The record arrives (two nodes): the same call now registers node 0, which waits for node 1.
    await d.deps.store.putAttempt(makeAttemptRecord({ jobId: 503, attempt: 1, nodes: [makeNode(0), makeNode(1)] }), null);
    expect(json(await api(request('POST', '/agent/register', { token, body: { ip: '10.0.0.7' } })))).toMatchObject({ state: 'WAIT' });
    expect((await d.deps.store.getAttempt(503, 0, 1))!.nodes[0]!.registeredAt).toBeGreaterThan(0);
    // A token for an attempt the task is not on (an older one, or one never launched) is gone.
    const stale = d.deps.agentTokens.sign({ job: 503, task: 0, attempt: 2, node: 0 });
    expect((await api(request('POST', '/agent/register', { token: stale, body: {} }))).statusCode).toBe(410);
  });
});

describe('POST /jobs/cancel selects exactly what it names', () => {
  async function submit(pool?: string): Promise<number> {
    const r = await api(request('POST', '/jobs', { body: { yaml: 'resources:\n  cpus: 2\nrun: echo hi\n', ...(pool ? { pool } : {}) } }));
    expect(r.statusCode).toBe(201);
    return (json(r).jobIds as number[])[0]!;
  }

  it('cancel by pool cancels only that pool\'s jobs, never every job of the caller', async () => {
    const inA = [await submit('pool-a'), await submit('pool-a')];
    const inB = await submit('pool-b');
    const plain = await submit();
    const r = await api(request('POST', '/jobs/cancel', { body: { pool: 'pool-a' } }));
    expect(r.statusCode).toBe(200);
    expect((json(r).cancelled as number[]).sort()).toEqual([...inA].sort());
    for (const id of inA) expect((await d.deps.store.getJob(id))!.status).toBe('CANCELLED');
    for (const id of [inB, plain]) expect((await d.deps.store.getJob(id))!.status).toBe('PENDING');
  });

  it('a body naming two selectors is refused, not read as the broadest one', async () => {
    const id = await submit('pool-c');
    const other = await submit();
    for (const body of [{ pool: 'pool-c', all: true }, { name: 'x', jobIds: [id] }, {}, { allUsers: true }]) {
      const r = await api(request('POST', '/jobs/cancel', { body }));
      expect(r.statusCode, JSON.stringify(body)).toBe(400);
      expect(json(r).error).toBe('ValidationError');
    }
    for (const j of [id, other]) expect((await d.deps.store.getJob(j))!.status).toBe('PENDING');
  });
});

describe('filesPrefix: only a prefix the API issued to the same caller, for one submission', () => {
  const yaml = 'resources:\n  cpus: 2\nrun: echo hi\n';
  const asBob = () => createHandler(d.deps, { callerOf: () => 'bob' });

  async function issue(handler = api): Promise<string> {
    const r = await handler(request('POST', '/uploads', { body: { files: ['task-0/workdir.tar.gz'] } }));
    expect(r.statusCode).toBe(201);
    return json(r).prefix as string;
  }
  async function storedJobCount(): Promise<number> {
    return (await d.deps.store.listJobs({ limit: 1000 })).jobs.length;
  }

  it('refuses a prefix in any other form (e.g. the logs prefix, which Finalize would delete), storing nothing', async () => {
    const before = await storedJobCount();
    for (const filesPrefix of ['logs/', '', 'uploads/', 'uploads/../logs/', 'jobs/1/']) {
      const r = await api(request('POST', '/jobs', { body: { yaml, filesPrefix } }));
      expect(r.statusCode, filesPrefix).toBe(400);
      expect(json(r).message).toMatch(/filesPrefix/);
    }
    expect(await storedJobCount()).toBe(before);
  });

  it('refuses a well-formed prefix nobody was issued', async () => {
    const r = await api(request('POST', '/jobs', { body: { yaml, filesPrefix: 'uploads/00000000-0000-4000-8000-000000000000/' } }));
    expect(r.statusCode).toBe(400);
    expect(json(r).message).toMatch(/not issued/);
  });

  it("refuses another caller's prefix, and a second submission with the same prefix", async () => {
    const bobs = await issue(asBob());
    const stolen = await api(request('POST', '/jobs', { body: { yaml, filesPrefix: bobs } }));
    expect(stolen.statusCode).toBe(400);
    expect(json(stolen).message).toMatch(/another caller/);

    const mine = await issue();
    const first = await api(request('POST', '/jobs', { body: { yaml, filesPrefix: mine } }));
    expect(first.statusCode).toBe(201);
    const [jobId] = json(first).jobIds as number[];
    expect((await d.deps.store.getJob(jobId!))!.filesPrefix).toBe(mine);
    const second = await api(request('POST', '/jobs', { body: { yaml, filesPrefix: mine } }));
    expect(second.statusCode).toBe(400);
    expect(json(second).message).toMatch(new RegExp(`already used by managed job ${jobId}`));
  });
});
