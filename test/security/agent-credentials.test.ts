// Node credentials (docs/security.md "Nodes and agents"): what a forged, replayed, cross-job,
// cross-attempt, cross-node or post-end credential gets on EVERY agent route, that the bootstrap
// token in user data is worth nothing without the instance's signed identity and nothing at all once
// the node registered, that a second registration gets no secrets, and that sessions expire.

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { hmacAgentTokens } from '../../core/usecases/agent-token.ts';
import { startTestDynalite, type TestDynalite } from '../support/dynalite.ts';
import { AGENT_ROUTES, SECRET, bodyOf, claimOf, instanceOf, launchedJob, securityWorld, type AgentCall, type SecurityWorld } from './support.ts';

let db: TestDynalite;
let w: SecurityWorld;
beforeAll(async () => {
  db = await startTestDynalite();
});
afterAll(async () => {
  await db?.close();
});
beforeEach(async () => {
  w = await securityWorld(db);
});

/** Registers node `node` of `job` as the real instance would; returns the reply and its session. */
async function registerAsInstance(job: number, node = 0, attempt = 1) {
  const r = await w.api({ path: '/agent/register', token: w.deps.agentTokens.sign(claimOf(job, node, attempt)), body: { ip: `10.1.0.${node}`, identity: w.aws.proof(instanceOf(job, attempt, node)) } });
  return { r, body: bodyOf(r), session: bodyOf(r).session as string };
}

/** Every agent route with this token: the status per route. */
async function everyRoute(token: string | undefined, extra: Partial<AgentCall> = {}): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  // A GET carries no body (a GET with one is malformed HTTP, refused before any route).
  for (const route of AGENT_ROUTES) out[`${route.method ?? 'POST'} ${route.path}`] = (await w.api({ ...route, token, ...(route.method === 'GET' ? {} : extra) })).statusCode!;
  return out;
}

const allRoutes = (status: number) => Object.fromEntries(AGENT_ROUTES.map((r) => [`${r.method ?? 'POST'} ${r.path}`, status]));

/** What an attempt looks like to the control plane, to prove a refused call changed nothing. */
async function snapshot(job: number, attempt = 1) {
  const a = await w.deps.store.getAttempt(job, 0, attempt);
  const j = await w.deps.store.getJob(job);
  const logs = await w.deps.objects.list(`logs/${job}/`);
  return { a, j, logs: logs.length };
}

describe('forged credentials are refused on every agent route, and change nothing', () => {
  it('no credential, garbage, a tampered claim, another deployment key: 401 everywhere', async () => {
    await launchedJob(w, 1);
    const before = await snapshot(1);
    const real = w.deps.agentTokens.sign(claimOf(1));
    const [, sig] = real.split('.');
    const forgedClaim = `${Buffer.from(JSON.stringify(['s', [1, 0, 1, 0], w.clock.now() + 60_000])).toString('base64url')}.${sig}`;
    const otherKey = hmacAgentTokens('another-deployment-key-0123456789abcdef');
    for (const token of [undefined, 'garbage', 'a.b', forgedClaim, otherKey.sign(claimOf(1)), otherKey.session(claimOf(1), w.clock.now() + 60_000)]) {
      expect({ token, statuses: await everyRoute(token) }).toEqual({ token, statuses: allRoutes(401) });
    }
    expect(await snapshot(1)).toEqual(before);
  });
});

describe('the bootstrap token (user data) alone', () => {
  it('is refused by every route but register, and register refuses it without the instance identity', async () => {
    await launchedJob(w, 2);
    const before = await snapshot(2);
    const bootstrap = w.deps.agentTokens.sign(claimOf(2));
    // What anyone with ec2:DescribeInstanceAttribute reads: it cannot report an exit, an
    // interruption, logs or heartbeats, nor fetch the task.
    const statuses = await everyRoute(bootstrap);
    expect(statuses).toEqual({ ...allRoutes(401), 'GET /agent/agent.sh': 200 });
    const r = await w.api({ path: '/agent/register', token: bootstrap, body: { ip: '10.0.0.1' } });
    expect(r.statusCode).toBe(401);
    expect(bodyOf(r).message).toMatch(/node identity/);
    expect(JSON.stringify(bodyOf(r))).not.toContain(SECRET);
    expect(await snapshot(2)).toEqual(before);
  });

  it('with a document AWS did not sign, a tampered document, or another account: refused', async () => {
    await launchedJob(w, 3);
    const bootstrap = w.deps.agentTokens.sign(claimOf(3));
    const strangerKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const good = w.aws.proof(instanceOf(3, 1, 0));
    const tampered = { ...good, document: Buffer.from(Buffer.from(good.document, 'base64').toString().replace('us-east-1a', 'us-east-1b')).toString('base64') };
    for (const identity of [w.aws.proof(instanceOf(3, 1, 0), {}, strangerKey), tampered, w.aws.proof(instanceOf(3, 1, 0), { accountId: '999999999999' }), { kind: 'local', secret: 'x.y' }, { kind: 'gcp', token: 'a.b.c' }]) {
      const r = await w.api({ path: '/agent/register', token: bootstrap, body: { ip: '10.0.0.1', identity } });
      expect({ identity, status: r.statusCode }).toEqual({ identity, status: 401 });
      expect(JSON.stringify(bodyOf(r))).not.toContain(SECRET);
    }
    expect((await w.deps.store.getAttempt(3, 0, 1))!.nodes[0].registeredAt).toBeUndefined();
  });
});

describe('registration binds the node to the instance the attempt launched', () => {
  it('the right instance registers once: a session, then the task with its secrets', async () => {
    await launchedJob(w, 4);
    const { r, body, session } = await registerAsInstance(4);
    expect(r.statusCode).toBe(200);
    expect(body).toMatchObject({ state: 'READY', rank: 0 });
    expect((body.env as Record<string, string>).HF_TOKEN).toBe(SECRET);
    expect(session).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(body.sessionExpiresAt).toBe(w.clock.now() + 300_000);
    const node = (await w.deps.store.getAttempt(4, 0, 1))!.nodes[0];
    expect(node).toMatchObject({ registeredAt: w.clock.now(), verifiedInstanceId: instanceOf(4, 1, 0), ip: '10.1.0.0' });
    // The session works on every route (here a heartbeat and a log chunk).
    expect((await w.api({ path: '/agent/heartbeat', token: session, body: { phase: 'RUN' } })).statusCode).toBe(200);
    expect((await w.api({ path: '/agent/logs', token: session, rawBody: 'hello\n', query: { offset: '0' } })).statusCode).toBe(200);
  });

  it('a second registration (the bootstrap token replayed, even with the real identity) gets no secrets, and the token is useless after', async () => {
    await launchedJob(w, 5);
    const first = await registerAsInstance(5);
    expect(first.r.statusCode).toBe(200);
    const before = await snapshot(5);
    const again = await registerAsInstance(5);
    expect(again.r.statusCode).toBe(401);
    expect(again.body.message).toMatch(/already registered: its bootstrap token is spent/);
    expect(JSON.stringify(again.body)).not.toContain(SECRET);
    expect(again.body.session).toBeUndefined();
    // The spent token on every route: nothing.
    const statuses = await everyRoute(w.deps.agentTokens.sign(claimOf(5)), { body: { ip: '10.0.0.1', identity: w.aws.proof(instanceOf(5, 1, 0)) } });
    expect(statuses).toEqual({ ...allRoutes(401), 'GET /agent/agent.sh': 200 });
    expect(await snapshot(5)).toEqual(before);
  });

  it('cross-node: node 1 cannot register with node 0\'s instance identity, nor node 0 twice through node 1\'s token', async () => {
    await launchedJob(w, 6, 2);
    const r = await w.api({ path: '/agent/register', token: w.deps.agentTokens.sign(claimOf(6, 1)), body: { ip: '10.0.0.1', identity: w.aws.proof(instanceOf(6, 1, 0)) } });
    expect(r.statusCode).toBe(401);
    expect(bodyOf(r).message).toMatch(/is instance i-06a1n0.*but node 1 of attempt 6\/0\/1 is instance i-06a1n1/);
    expect((await w.deps.store.getAttempt(6, 0, 1))!.nodes.map((n) => n.registeredAt)).toEqual([undefined, undefined]);
    // Node 0's session is node 0's: a heartbeat with it stamps node 0 only.
    const { session } = await registerAsInstance(6, 0);
    w.clock.advance(1000);
    await w.api({ path: '/agent/heartbeat', token: session, body: { phase: 'WAIT' } });
    const nodes = (await w.deps.store.getAttempt(6, 0, 1))!.nodes;
    expect(nodes[0].lastHeartbeatAt).toBe(w.clock.now());
    expect(nodes[1].lastHeartbeatAt).toBeUndefined();
  });

  it('cross-job: job 8\'s token with job 7\'s instance identity is refused; a session of job 7 has no power over job 8', async () => {
    await launchedJob(w, 7);
    await launchedJob(w, 8);
    const r = await w.api({ path: '/agent/register', token: w.deps.agentTokens.sign(claimOf(8)), body: { ip: '10.0.0.1', identity: w.aws.proof(instanceOf(7, 1, 0)) } });
    expect(r.statusCode).toBe(401);
    const before8 = await snapshot(8);
    const { session } = await registerAsInstance(7);
    // Re-signing job 7's session for job 8 needs the key: a claim edited to job 8 is refused.
    const [, sig] = session.split('.');
    const edited = `${Buffer.from(JSON.stringify(['s', [8, 0, 1, 0], w.clock.now() + 60_000])).toString('base64url')}.${sig}`;
    expect(await everyRoute(edited)).toEqual(allRoutes(401));
    expect(await snapshot(8)).toEqual(before8);
  });

  it('cross-attempt and post-end: once attempt 1 ended, its session gets 410 on every route; attempt 2 does not take attempt 1\'s instance', async () => {
    await launchedJob(w, 9);
    const { session } = await registerAsInstance(9);
    const a1 = (await w.deps.store.getAttempt(9, 0, 1))!;
    await w.deps.store.putAttempt({ ...a1, state: 'ENDED', endedAt: w.clock.now(), outcome: { kind: 'LOST', reason: 'preempted' } }, a1.version);
    const j = (await w.deps.store.getJob(9))!;
    await w.deps.store.putJob({ ...j, tasks: [{ ...j.tasks[0], attempt: 2 }] }, j.version);
    await w.deps.store.putAttempt({ ...a1, attempt: 2, state: 'PROVISIONING', version: 0, outcome: undefined, nodes: [{ rank: 0, instanceId: instanceOf(9, 2, 0), phase: 'LAUNCHED' }] }, null);
    const before = await snapshot(9, 2);
    const statuses = await everyRoute(session);
    expect(statuses).toEqual({ ...allRoutes(410), 'GET /agent/agent.sh': 200 });
    // The old instance (still up, or its document replayed) cannot register as attempt 2's node.
    const r = await w.api({ path: '/agent/register', token: w.deps.agentTokens.sign(claimOf(9, 0, 2)), body: { ip: '10.0.0.1', identity: w.aws.proof(instanceOf(9, 1, 0)) } });
    expect(r.statusCode).toBe(401);
    expect(await snapshot(9, 2)).toEqual(before);
    // Attempt 1's bootstrap token likewise: gone.
    expect((await w.api({ path: '/agent/register', token: w.deps.agentTokens.sign(claimOf(9)), body: { ip: '10.0.0.1', identity: w.aws.proof(instanceOf(9, 1, 0)) } })).statusCode).toBe(410);
  });
});

describe('session credentials', () => {
  it('expire: a session not renewed is refused after sessionSeconds; a heartbeat renews it', async () => {
    await launchedJob(w, 10);
    const { session } = await registerAsInstance(10);
    w.clock.advance(200_000);
    const hb = await w.api({ path: '/agent/heartbeat', token: session, body: { phase: 'RUN' } });
    expect(hb.statusCode).toBe(200);
    const renewed = bodyOf(hb).session as string;
    expect(bodyOf(hb).sessionExpiresAt).toBe(w.clock.now() + 300_000);
    w.clock.advance(100_001); // the first session is 300.001 s old
    const stale = await everyRoute(session);
    expect(stale).toEqual(allRoutes(401));
    expect((await w.api({ path: '/agent/heartbeat', token: session, body: { phase: 'RUN' } })).body).toMatch(/invalid or expired/);
    expect((await w.api({ path: '/agent/heartbeat', token: renewed, body: { phase: 'RUN' } })).statusCode).toBe(200);
  });

  it('a captured session replayed after it expired changes nothing (no fake SUCCEEDED, no fake interruption)', async () => {
    await launchedJob(w, 11);
    const { session } = await registerAsInstance(11);
    expect((await w.api({ path: '/agent/heartbeat', token: session, body: { phase: 'RUN' } })).statusCode).toBe(200);
    w.clock.advance(300_000);
    const before = await snapshot(11);
    expect((await w.api({ path: '/agent/exit', token: session, body: { phase: 'RUN', exitCode: 0 } })).statusCode).toBe(401);
    expect((await w.api({ path: '/agent/interrupted', token: session, body: { reason: 'fake' } })).statusCode).toBe(401);
    expect(await snapshot(11)).toEqual(before);
  });
});
