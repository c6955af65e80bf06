// The API routes the dashboard added: POST /jobs/:id/relaunch (the stored spec submitted again, with
// secrets supplied anew) and GET /costs (spend per day, user and pool from stored attempts), through
// the API handler on a real DynamoJobStore (dynalite).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiApp } from '../../lambdas/api/app.ts';
import { startTestDynalite, type TestDynalite } from '../support/dynalite.ts';
import { makeAttemptRecord, makeCandidate, makeJobRecord, makeJobSpec, makeTaskSpec, makeTaskState } from '../support/records.ts';
import { schedulerWorld, type SchedulerWorld } from './scheduler-fixtures.ts';

let db: TestDynalite;
beforeAll(async () => {
  db = await startTestDynalite();
});
afterAll(async () => {
  await db?.close();
});

interface Reply {
  statusCode: number;
  body: string;
}

type Api = (method: string, path: string, opts?: { body?: unknown; query?: Record<string, string> }) => Promise<Reply>;

async function world(): Promise<{ w: SchedulerWorld; api: Api }> {
  const w = await schedulerWorld(db);
  const app = createApiApp(w.deps, { callerOf: (c) => c.req.header('x-user') ?? 'nobody' });
  const api: Api = async (method, path, opts = {}) => {
    const qs = opts.query ? `?${new URLSearchParams(opts.query)}` : '';
    const res = await app.request(`${path}${qs}`, { method, headers: { 'content-type': 'application/json', 'x-user': 'bob' }, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
    return { statusCode: res.status, body: await res.text() };
  };
  return { w, api };
}

const body = (r: Reply) => JSON.parse(r.body || '{}');

describe('POST /jobs/:id/relaunch', () => {
  const remote = makeJobSpec({ tasks: [makeTaskSpec({ workdir: undefined, secrets: { HF_TOKEN: 'hf_old', WANDB: 'w_old' } })] });

  it('submits the stored spec again as the caller\'s job, with the secrets supplied anew', async () => {
    const { w, api } = await world();
    expect(await w.deps.store.allocateJobIds(1)).toEqual([1]);
    await w.deps.store.putJob(makeJobRecord({ jobId: 1, status: 'SUCCEEDED', spec: remote, filesPrefix: undefined, pool: undefined }), null);
    const missing = await api('POST', '/jobs/1/relaunch', { body: { secrets: { HF_TOKEN: 'x' } } });
    expect(missing.statusCode).toBe(400);
    expect(body(missing).message).toMatch(/secrets whose values are not kept for a relaunch; supply WANDB again/);
    expect(body(missing).details).toEqual({ missingSecrets: ['WANDB'] });
    expect((await api('POST', '/jobs/1/relaunch', { body: { secrets: { HF_TOKEN: 'a', WANDB: 'b', OTHER: 'c' } } })).statusCode).toBe(400);

    const ok = await api('POST', '/jobs/1/relaunch', { body: { secrets: { HF_TOKEN: 'hf_new', WANDB: 'w_new' } } });
    expect(ok.statusCode).toBe(201);
    const [id] = body(ok).jobIds as number[];
    expect(id).not.toBe(1);
    const job = (await w.deps.store.getJob(id!))!;
    expect(job.user).toBe('bob');
    expect(job.status).toBe('PENDING');
    expect(job.spec.tasks[0]!.secrets).toEqual({ HF_TOKEN: 'hf_new', WANDB: 'w_new' });
    expect({ ...job.spec.tasks[0], secrets: {} }).toEqual({ ...remote.tasks[0], secrets: {} });
    // The API never echoes the new values either.
    expect(JSON.stringify(body(await api('GET', `/jobs/${id}`)))).not.toContain('hf_new');
  });

  it('refuses a job whose files were uploaded from the submitting machine, and a job that does not exist', async () => {
    const { w, api } = await world();
    await w.deps.store.putJob(makeJobRecord({ jobId: 1, status: 'FAILED', spec: makeJobSpec({ tasks: [makeTaskSpec({ secrets: {} })] }), filesPrefix: 'uploads/bob/x/' }), null);
    const r = await api('POST', '/jobs/1/relaunch', { body: {} });
    expect(r.statusCode).toBe(400);
    expect(body(r).message).toMatch(/files uploaded from the submitting machine .* `skyless jobs launch`/);
    expect((await api('POST', '/jobs/99/relaunch', { body: {} })).statusCode).toBe(404);
  });
});

describe('GET /costs', () => {
  const DAY = 86_400_000;
  const day0 = Date.UTC(2025, 0, 1);

  it('sums ended attempts per UTC day, user and pool, counts live attempts as estimates, and ignores spend outside the range', async () => {
    const { w, api } = await world();
    const now = day0 + 2 * DAY + 6 * 3_600_000;
    w.clock.set(now);
    const put = async (jobId: number, user: string, pool: string | undefined, submittedAt: number) =>
      w.deps.store.putJob(makeJobRecord({ jobId, user, pool, submittedAt, status: 'SUCCEEDED', tasks: [makeTaskState({ status: 'SUCCEEDED', attempt: 2 })] }), null);
    await put(1, 'alice', undefined, day0 - 3 * DAY);
    await put(2, 'bob', 'gpu', day0 + DAY);
    await put(3, 'bob', 'gpu', day0 + 2 * DAY);
    const ended = (jobId: number, attempt: number, endedAt: number, costUsd: number) =>
      w.deps.store.putAttempt(makeAttemptRecord({ jobId, attempt, state: 'ENDED', startedAt: endedAt - 3_600_000, endedAt, costUsd }), null);
    await ended(1, 1, day0 - 2 * DAY, 100); // before the range: not counted
    await ended(1, 2, day0 + 3_600_000, 1.5); // day 0
    await ended(2, 1, day0 + DAY + 3_600_000, 2); // day 1
    await ended(2, 2, day0 + DAY + 7_200_000, 0.25); // day 1
    // A live attempt: 2 nodes × $1/h × 2 h so far, counted on the day of `now` as an estimate.
    await w.deps.store.putAttempt(makeAttemptRecord({ jobId: 3, attempt: 1, state: 'RUNNING', startedAt: now - 2 * 3_600_000, candidate: makeCandidate({ hourlyPrice: 1 }), nodes: [{ rank: 0, instanceId: 'a', phase: 'RUN' }, { rank: 1, instanceId: 'b', phase: 'RUN' }] }), null);

    const r = await api('GET', '/costs', { query: { from: String(day0), to: String(day0 + 3 * DAY) } });
    expect(r.statusCode, r.body).toBe(200);
    const c = body(r);
    expect(c.days).toEqual([
      { day: '2025-01-01', usd: 1.5 },
      { day: '2025-01-02', usd: 2.25 },
      { day: '2025-01-03', usd: expect.closeTo(4, 6) },
    ]);
    expect(c.totalUsd).toBeCloseTo(7.75, 6);
    expect(c.estimatedUsd).toBeCloseTo(4, 6);
    expect(c.byUser).toEqual([{ user: 'bob', usd: expect.closeTo(6.25, 6) }, { user: 'alice', usd: 1.5 }]);
    expect(c.byPool).toEqual([{ pool: 'gpu', usd: expect.closeTo(6.25, 6) }]);
    expect(c).toMatchObject({ attempts: 4, jobsScanned: 3, truncated: false });

    const aliceOnly = body(await api('GET', '/costs', { query: { from: String(day0), to: String(day0 + 3 * DAY), user: 'alice' } }));
    expect(aliceOnly.totalUsd).toBe(1.5);
    expect((await api('GET', '/costs', { query: { from: String(day0 + DAY), to: String(day0) } })).statusCode).toBe(400);
    expect((await api('GET', '/costs', { query: { from: String(day0) } })).statusCode).toBe(400);
    expect((await api('GET', '/costs', { query: { from: '0', to: String(365 * DAY) } })).statusCode).toBe(400);
  });
});
