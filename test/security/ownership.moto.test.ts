// Ownership on the AWS wiring (the API Lambda over moto): the caller is the full IAM principal API
// Gateway verified, and every read, log read and cancel by ID, name or "all" checks the job's owner.
// Before: the user was the last segment of the ARN (a role session name the caller picks), and no
// route by ID looked at the owner at all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createHandler } from '../../lambdas/api/handler.ts';
import { startMotoDeployment, type MotoDeployment } from '../lambdas/moto-aws.ts';
import { ADMIN_ROLE, ADMIN_SESSION, ALICE, BOB, MALLORY_AS_ALICE, bodyOf, iamRequest } from './api-request.ts';

let d: MotoDeployment;
let api: (e: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

beforeAll(async () => {
  d = await startMotoDeployment({ extraEnv: { ADMIN_PRINCIPALS: ADMIN_ROLE } });
  api = createHandler(d.deps);
});
afterAll(async () => {
  await d?.stop();
});

const YAML = (name: string) => `name: ${name}\nresources:\n  cpus: 2\nrun: echo hi\n`;

async function submit(principal: string, name: string): Promise<number> {
  const r = await api(iamRequest(principal, 'POST', '/jobs', { body: { yaml: YAML(name) } }));
  expect(r.statusCode, String(r.body)).toBe(201);
  return (bodyOf(r).jobIds as number[])[0]!;
}

describe('identity is the full IAM principal', () => {
  it('stores the submitter as its full ARN, so a role session named "alice" is not alice', async () => {
    const a = await submit(ALICE, 'id-a');
    expect((await d.deps.store.getJob(a))!.user).toBe(ALICE);
    const m = await submit(MALLORY_AS_ALICE, 'id-m');
    expect((await d.deps.store.getJob(m))!.user).toBe(MALLORY_AS_ALICE);
    // The session "alice" cannot read alice's job.
    expect((await api(iamRequest(MALLORY_AS_ALICE, 'GET', `/jobs/${a}`))).statusCode).toBe(403);
  });

  it('refuses a user route that carries no IAM principal (401), instead of calling it "unknown"', async () => {
    const r = await api(iamRequest(undefined, 'GET', '/jobs'));
    expect(r.statusCode).toBe(401);
  });
});

describe("user B cannot touch user A's job", () => {
  it('read, controller log, logs and cancel by ID answer 403 naming the rule; the job is untouched', async () => {
    const a = await submit(ALICE, 'alice-job');
    for (const path of [`/jobs/${a}`, `/jobs/${a}/events`, `/jobs/${a}/logs`]) {
      const r = await api(iamRequest(BOB, 'GET', path));
      expect(r.statusCode, path).toBe(403);
      expect(bodyOf(r)).toMatchObject({ error: 'Forbidden' });
      expect(String(bodyOf(r).message)).toMatch(/belongs to another user.*adminPrincipals/);
    }
    const c = await api(iamRequest(BOB, 'POST', '/jobs/cancel', { body: { jobIds: [a] } }));
    expect(c.statusCode).toBe(403);
    expect((await d.deps.store.getJob(a))!.cancelRequested).toBeUndefined();
    expect((await d.deps.store.getJob(a))!.status).toBe('PENDING');
    // A list mixing B's own job and A's cancels nothing.
    const b = await submit(BOB, 'bob-job');
    expect((await api(iamRequest(BOB, 'POST', '/jobs/cancel', { body: { jobIds: [b, a] } }))).statusCode).toBe(403);
    expect((await d.deps.store.getJob(b))!.cancelRequested).toBeUndefined();
    // The owner can.
    expect((await api(iamRequest(ALICE, 'GET', `/jobs/${a}`))).statusCode).toBe(200);
    expect(bodyOf(await api(iamRequest(ALICE, 'POST', '/jobs/cancel', { body: { jobIds: [a] } })))).toMatchObject({ cancelled: [a] });
  });

  it("cancel by name and cancel --all select only the caller's jobs; --all-users needs admin", async () => {
    const a = await submit(ALICE, 'shared-name');
    const b = await submit(BOB, 'shared-name');
    expect(bodyOf(await api(iamRequest(BOB, 'POST', '/jobs/cancel', { body: { name: 'shared-name' } })))).toMatchObject({ cancelled: [b] });
    expect((await d.deps.store.getJob(a))!.cancelRequested).toBeUndefined();
    const all = await api(iamRequest(BOB, 'POST', '/jobs/cancel', { body: { all: true, allUsers: true } }));
    expect(all.statusCode).toBe(403);
    expect(String(bodyOf(all).message)).toMatch(/adminPrincipals/);
    expect((await d.deps.store.getJob(a))!.cancelRequested).toBeUndefined();
  });

  it('cancel -n NAME refuses when several of the caller\'s jobs match, unless all is said', async () => {
    const x = await submit(ALICE, 'twin');
    const y = await submit(ALICE, 'twin');
    const r = await api(iamRequest(ALICE, 'POST', '/jobs/cancel', { body: { name: 'twin' } }));
    expect(r.statusCode).toBe(400);
    expect(String(bodyOf(r).message)).toMatch(/2 active managed jobs are named 'twin'.*--all/);
    expect((await d.deps.store.getJob(x))!.cancelRequested).toBeUndefined();
    expect(bodyOf(await api(iamRequest(ALICE, 'POST', '/jobs/cancel', { body: { name: 'twin', all: true } })))).toMatchObject({ cancelled: [x, y] });
  });

  it("the queue shows the caller's jobs; -u everyone's, other users' rows without commands or envs", async () => {
    const a = await submit(ALICE, 'q-alice');
    const b = await submit(BOB, 'q-bob');
    const mine = bodyOf(await api(iamRequest(BOB, 'GET', '/jobs', { query: { limit: '1000' } }))).jobs as { jobId: number; user: string }[];
    expect(mine.map((j) => j.jobId)).toContain(b);
    expect(mine.map((j) => j.jobId)).not.toContain(a);
    expect(new Set(mine.map((j) => j.user))).toEqual(new Set([BOB]));
    const everyone = bodyOf(await api(iamRequest(BOB, 'GET', '/jobs', { query: { limit: '1000', allUsers: 'true' } }))).jobs as { jobId: number; user: string; spec: { tasks: { run?: string }[] } }[];
    const aliceRow = everyone.find((j) => j.jobId === a)!;
    expect(aliceRow.user).toBe(ALICE);
    expect(aliceRow.spec.tasks[0]!.run).toBeUndefined();
    expect(everyone.find((j) => j.jobId === b)!.spec.tasks[0]!.run).toBe('echo hi');
  });
});

describe('admins (ADMIN_PRINCIPALS) may read and cancel any job', () => {
  it('a session of a listed role reads and cancels another user\'s job', async () => {
    const a = await submit(ALICE, 'admin-target');
    expect((await api(iamRequest(ADMIN_SESSION, 'GET', `/jobs/${a}`))).statusCode).toBe(200);
    expect((await api(iamRequest(ADMIN_SESSION, 'GET', `/jobs/${a}/logs`))).statusCode).toBe(200);
    expect(bodyOf(await api(iamRequest(ADMIN_SESSION, 'POST', '/jobs/cancel', { body: { jobIds: [a] } })))).toMatchObject({ cancelled: [a] });
    expect((await d.deps.store.getJob(a))!.cancelRequested?.by).toBe(ADMIN_SESSION);
  });
});
