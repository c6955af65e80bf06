// The real Lambda entry points (`export const handler`) configured only by the process environment,
// as on AWS — the SDK's standard endpoint and credential settings point them at moto_server — with
// the agent key in an SSM SecureString (the alternative to Secrets Manager).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMotoDeployment, type MotoDeployment } from './moto-aws.ts';
import { hmacAgentTokens } from '../../core/usecases/agent-token.ts';

let d: MotoDeployment;
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  d = await startMotoDeployment({ agentKeyIn: 'ssm', extraEnv: { MAX_RUNNING: '7', MAX_LAUNCHING: '3' } });
  const env = { ...d.env, AWS_ENDPOINT_URL: d.moto.endpoint, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_SESSION_TOKEN: undefined, AWS_PROFILE: undefined };
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});
afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await d?.stop();
});

describe('Lambda entry points from the environment', () => {
  it('the scheduler ticks against the deployment table, within MAX_LAUNCHING from the environment', async () => {
    // Five jobs parked for a launch slot, stored through the test's own wiring; MAX_LAUNCHING is 3.
    const ids = await d.deps.store.allocateJobIds(5);
    const { makeJobRecord } = await import('../support/records.ts');
    for (const [i, jobId] of ids.entries()) {
      const wait = { kind: 'SLOT' as const, token: `slot-token-${jobId}`, taskIndex: 0, attempt: 0, since: Date.now() };
      await d.deps.store.putJob(makeJobRecord({ jobId, slot: 'WAITING', slotSince: Date.now() - 10_000 + i, wait }), null);
    }
    const { handler } = await import('../../lambdas/scheduler/handler.ts');
    const tick = (await handler()) as { granted: number[]; launching: number };
    expect(tick.granted).toEqual(ids.slice(0, 3));
    const slots = await Promise.all(ids.map(async (id) => (await d.deps.store.getJob(id))!.slot));
    expect(slots).toEqual(['LAUNCHING', 'LAUNCHING', 'LAUNCHING', 'WAITING', 'WAITING']);
  });

  it('the API answers, and verifies agent tokens with the key from SSM', async () => {
    const { handler } = await import('../../lambdas/api/handler.ts');
    const event = (method: string, path: string, token?: string) =>
      ({
        version: '2.0',
        rawPath: path,
        rawQueryString: '',
        headers: token ? { authorization: `Bearer ${token}` } : {},
        requestContext: { http: { method, path }, authorizer: { iam: { userArn: 'arn:aws:iam::123456789012:user/bob' } } },
        body: method === 'POST' ? '{"phase":"RUN"}' : undefined,
        isBase64Encoded: false,
      }) as never;
    const health = await handler(event('GET', '/health'));
    expect(health.statusCode).toBe(200);
    const queue = await handler(event('GET', '/jobs'));
    expect(queue.statusCode).toBe(200);
    expect(JSON.parse(String(queue.body)).jobs.length).toBeGreaterThanOrEqual(1);
    // Signed with the SSM key: valid signature, but no such attempt → 410; another key → 401.
    const good = hmacAgentTokens(d.agentKey).session({ job: 424242, task: 0, attempt: 1, node: 0 }, Date.now() + 600_000);
    expect((await handler(event('POST', '/agent/heartbeat', good))).statusCode).toBe(410);
    const bad = hmacAgentTokens('x'.repeat(40)).session({ job: 424242, task: 0, attempt: 1, node: 0 }, Date.now() + 600_000);
    expect((await handler(event('POST', '/agent/heartbeat', bad))).statusCode).toBe(401);
  });
});
