// The scheduler use case (core/usecases/scheduler.ts) against the real store on dynalite, with task
// tokens held by a double that behaves like Step Functions (a token completes once).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureEvent } from '../support/events.ts';
import { schedulerTick, onWorkflowExecutionEnded, jobIdOfExecution } from '../../core/usecases/scheduler.ts';
import { createHandler as createEventsHandler } from '../../lambdas/events/handler.ts';
import { createHandler as createSchedulerHandler, isScheduled } from '../../lambdas/scheduler/handler.ts';
import { startTestDynalite, type TestDynalite } from '../support/dynalite.ts';
import { makeAttemptRecord, T0 } from '../support/records.ts';
import { putJobIn, schedulerWorld, slotsOf } from './scheduler-fixtures.ts';

let db: TestDynalite;
beforeAll(async () => {
  db = await startTestDynalite();
});
afterAll(async () => {
  await db?.close();
});

describe('admission', () => {
  it('grants strictly by priority, then by age, then by job ID, up to the launch limit', async () => {
    const w = await schedulerWorld(db, { maxLaunching: 3, maxRunning: 100 });
    // (jobId, priority, slotSince): the admission order is 4 (p=10), 2 (p=5, older), 5 (p=5, newer, same age as 6 but lower ID), 6, 1, 3.
    await putJobIn(w, 1, 'WAITING', { priority: 0, slotSince: T0 + 1 });
    await putJobIn(w, 2, 'WAITING', { priority: 5, slotSince: T0 + 2 });
    await putJobIn(w, 3, 'WAITING', { priority: -3, slotSince: T0 });
    await putJobIn(w, 4, 'WAITING', { priority: 10, slotSince: T0 + 50 });
    await putJobIn(w, 5, 'WAITING', { priority: 5, slotSince: T0 + 9 });
    await putJobIn(w, 6, 'WAITING', { priority: 5, slotSince: T0 + 9 });

    const first = await schedulerTick(w.deps, { sweep: false });
    expect(first.granted).toEqual([2, 4, 5]);
    expect(first.launching).toBe(3);
    expect(await slotsOf(w, [1, 2, 3, 4, 5, 6])).toEqual({ 1: 'WAITING', 2: 'LAUNCHING', 3: 'WAITING', 4: 'LAUNCHING', 5: 'LAUNCHING', 6: 'WAITING' });
    // Each grant completed exactly the job's stored SLOT token, sending the resume state its parker
    // stored (none here: the workflow then settles the job from the store).
    expect(w.tokens.completed).toHaveLength(3);
    expect(w.tokens.completed.map((c) => c.output)).toEqual([{}, {}, {}]);

    // Nothing frees a slot: the next tick grants nothing, however often it runs.
    expect((await schedulerTick(w.deps, { sweep: false })).granted).toEqual([]);

    // Two launches finish (LAUNCHING → NONE, e.g. back-off): the next two in order, 6 then 1.
    for (const id of [2, 4]) {
      const j = (await w.deps.store.getJob(id))!;
      await w.deps.store.putJob({ ...j, slot: 'NONE' }, j.version);
    }
    expect((await schedulerTick(w.deps, { sweep: false })).granted).toEqual([1, 6]);
    expect((await schedulerTick(w.deps, { sweep: false })).granted).toEqual([]);
  });

  it('counts launching jobs against the run limit too, and never grants past either limit', async () => {
    const w = await schedulerWorld(db, { maxLaunching: 10, maxRunning: 5 });
    await putJobIn(w, 1, 'RUNNING');
    await putJobIn(w, 2, 'RUNNING');
    await putJobIn(w, 3, 'LAUNCHING');
    for (let id = 10; id < 20; id++) await putJobIn(w, id, 'WAITING');
    const r = await schedulerTick(w.deps, { sweep: false });
    // 5 − (2 running + 1 launching) = 2 free, although 7 launch slots are free.
    expect(r.granted).toEqual([10, 11]);
    expect(r).toMatchObject({ launching: 1 + 2, running: 2 });
  });

  it('a duplicate grant changes nothing: only a WAITING job with a SLOT token can be granted', async () => {
    const w = await schedulerWorld(db, { maxLaunching: 5, maxRunning: 5 });
    await putJobIn(w, 1, 'WAITING');
    const cancelled = await putJobIn(w, 2, 'WAITING', { cancelRequested: { at: T0, by: 'alice' } });
    expect((await schedulerTick(w.deps, { sweep: false })).granted).toEqual([1]);
    // Concurrent ticks on the same Deps are serialized: the job is granted once, its token completed once.
    const again = await Promise.all([schedulerTick(w.deps, { sweep: false }), schedulerTick(w.deps, { sweep: false })]);
    expect(again.map((r) => r.granted)).toEqual([[], []]);
    expect(w.tokens.completed).toHaveLength(1);
    expect((await w.deps.store.getJob(2))!.version).toBe(cancelled.version);
  });

  it('reads only one index entry and the bulk-cancel partition when nobody waits, and does not count RUNNING when launching is full', async () => {
    const w = await schedulerWorld(db, { maxLaunching: 1, maxRunning: 9 });
    const calls: string[] = [];
    const store = w.deps.store;
    w.deps.store = new Proxy(store, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? (...a: unknown[]) => (calls.push(`${String(prop)}(${a.filter((x) => typeof x === 'string').join(',')})`), v.apply(target, a)) : v;
      },
    });
    await schedulerTick(w.deps, { sweep: false });
    // The recorded bulk cancels are read too (one small partition): nothing they cover may be granted.
    expect(calls).toEqual(['listJobsBySlot(WAITING)', 'listCancelRequests()']);
    calls.length = 0;
    await putJobIn(w, 1, 'LAUNCHING');
    await putJobIn(w, 2, 'WAITING');
    calls.length = 0;
    const r = await schedulerTick(w.deps, { sweep: false });
    expect(r.granted).toEqual([]);
    expect(calls).toEqual(['listJobsBySlot(WAITING)', 'countJobsBySlot(LAUNCHING)', 'listCancelRequests()']);
  });

  it('adds recent grants to the launching count while the slot index may lag (slotIndexLagMs)', async () => {
    const w = await schedulerWorld(db, { maxLaunching: 2, maxRunning: 10, slotIndexLagMs: 5000 });
    for (let id = 1; id <= 4; id++) await putJobIn(w, id, 'WAITING');
    expect((await schedulerTick(w.deps, { sweep: false })).granted).toEqual([1, 2]);
    // The grants left LAUNCHING (e.g. registered → RUNNING) but within the lag window the index might
    // still not show that; the scheduler keeps counting them until the window has passed.
    for (const id of [1, 2]) {
      const j = (await w.deps.store.getJob(id))!;
      await w.deps.store.putJob({ ...j, slot: 'RUNNING', status: 'RUNNING' }, j.version);
    }
    w.clock.advance(1000);
    expect((await schedulerTick(w.deps, { sweep: false })).granted).toEqual([]);
    w.clock.advance(5000);
    expect((await schedulerTick(w.deps, { sweep: false })).granted).toEqual([3, 4]);
  });
});

describe('a slot held by a workflow that died is freed within one tick', () => {
  it('takes a grant back when the token is gone (the execution died while parked), in the same tick', async () => {
    const w = await schedulerWorld(db, { maxLaunching: 1, maxRunning: 5 });
    await putJobIn(w, 1, 'WAITING');
    await putJobIn(w, 2, 'WAITING');
    w.tokens.waiting.clear(); // both executions died: their tokens are gone
    const r = await schedulerTick(w.deps, { sweep: false });
    expect(r.granted).toEqual([]);
    expect(r.revoked).toEqual([1]);
    const job1 = (await w.deps.store.getJob(1))!;
    expect(job1).toMatchObject({ slot: 'NONE', status: 'PENDING' });
    expect(job1.wait).toBeUndefined();
    expect((await w.deps.store.listEvents(1)).map((e) => e.reason)).toContainEqual(expect.stringContaining('launch slot taken back'));
    // The slot is free at once: the next tick (job 2's token is gone too) tries job 2.
    expect((await schedulerTick(w.deps, { sweep: false })).revoked).toEqual([2]);
    expect(await w.deps.store.countJobsBySlot('LAUNCHING')).toBe(0);
  });

  it('does not take a grant back from a workflow that moved on (its Launch step already wrote the job)', async () => {
    const w = await schedulerWorld(db, { maxLaunching: 1, maxRunning: 5 });
    await putJobIn(w, 1, 'WAITING');
    // The workflow received the grant and wrote the job (launch's first write) before our signal
    // returned; the signal itself then fails (a lost reply).
    const real = w.tokens.sendTaskSuccess.bind(w.tokens);
    w.tokens.sendTaskSuccess = async (token, output) => {
      await real(token, output);
      const j = (await w.deps.store.getJob(1))!;
      await w.deps.store.putJob({ ...j, tasks: j.tasks.map((t) => ({ ...t, attempt: 1 })) }, j.version);
      throw new Error('connection reset');
    };
    const r = await schedulerTick(w.deps, { sweep: false });
    expect(r.revoked).toEqual([1]); // the grant could not be confirmed…
    expect((await w.deps.store.getJob(1))!.slot).toBe('LAUNCHING'); // …but the version fence kept the slot
  });

  it('reclaims a LAUNCHING slot whose job made no progress and has no live attempt for launchStallSeconds', async () => {
    const w = await schedulerWorld(db, { maxLaunching: 1, maxRunning: 5, launchStallSeconds: 600 });
    await putJobIn(w, 1, 'LAUNCHING', { slotSince: T0 });
    await putJobIn(w, 2, 'WAITING');
    // Within the bound: nothing happens, and job 2 has no room.
    expect(await schedulerTick(w.deps, { sweep: true })).toMatchObject({ reclaimed: [], granted: [] });
    w.clock.advance(601_000);
    const r = await schedulerTick(w.deps, { sweep: true });
    expect(r.reclaimed).toEqual([1]);
    expect(r.granted).toEqual([2]); // freed within the same tick
    const job1 = (await w.deps.store.getJob(1))!;
    expect(job1).toMatchObject({ status: 'FAILED_CONTROLLER', slot: 'NONE' });
    expect(job1.tasks[0].failureReason).toMatch(/no launch progress/);
  });

  it('leaves a stalled-looking LAUNCHING job alone while its attempt is live, or when it keeps changing', async () => {
    const w = await schedulerWorld(db, { maxLaunching: 5, maxRunning: 5, launchStallSeconds: 600 });
    await putJobIn(w, 1, 'LAUNCHING', { slotSince: T0, attempt: 1 });
    await w.deps.store.putAttempt(makeAttemptRecord({ jobId: 1, attempt: 1, state: 'PROVISIONING' }), null);
    await putJobIn(w, 2, 'LAUNCHING', { slotSince: T0 });
    await schedulerTick(w.deps, { sweep: true });
    for (let i = 0; i < 3; i++) {
      w.clock.advance(400_000);
      const j = (await w.deps.store.getJob(2))!; // a Launch step records progress (e.g. blocked zones)
      await w.deps.store.putJob({ ...j, tasks: j.tasks.map((t) => ({ ...t, blockedRounds: t.blockedRounds + 1 })) }, j.version);
      expect((await schedulerTick(w.deps, { sweep: true })).reclaimed).toEqual([]);
    }
    w.clock.advance(601_000);
    expect((await schedulerTick(w.deps, { sweep: true })).reclaimed).toEqual([2]);
    expect((await w.deps.store.getJob(1))!.slot).toBe('LAUNCHING');
  });

  it('frees the slot of a job whose execution FAILED (the Step Functions status-change event)', async () => {
    const w = await schedulerWorld(db, { maxLaunching: 1, maxRunning: 5 });
    const fixture = fixtureEvent('sfn-execution-status-change-failed');
    await putJobIn(w, 42, 'LAUNCHING', { attempt: 1, executionName: 'job-42-0' });
    await w.deps.store.putAttempt(makeAttemptRecord({ jobId: 42, attempt: 1, state: 'PROVISIONING' }), null);
    w.provider.add(42, 0, 1);
    await putJobIn(w, 43, 'WAITING');
    expect((await schedulerTick(w.deps, { sweep: false })).granted).toEqual([]);

    const events = createEventsHandler(w.deps);
    const r = await events(fixture);
    expect(r).toEqual({ handled: true, jobId: 42, action: 'failed' });
    const job = (await w.deps.store.getJob(42))!;
    expect(job).toMatchObject({ status: 'FAILED_CONTROLLER', slot: 'NONE' });
    expect(job.tasks[0].failureReason).toContain('workflow execution job-42-0 FAILED (States.Runtime)');
    expect(job.tasks[0].failureReason).toContain("An error occurred while executing the state 'Launch'");
    expect(job.finalizedAt).toBeDefined();
    expect(w.provider.terminated).toEqual([{ jobId: 42, taskIndex: 0, attempt: 1, region: 'us-east-1' }]);
    // The next tick sees the slot free.
    expect((await schedulerTick(w.deps, { sweep: false })).granted).toEqual([43]);
    // A duplicate event changes nothing.
    expect(await events(fixture)).toEqual({ handled: false, why: 'job 42 is already FAILED_CONTROLLER' });
    expect((await w.deps.store.getJob(42))!.version).toBe(job.version);
  });

  it('ignores execution events that do not say a job execution died', async () => {
    const w = await schedulerWorld(db);
    await putJobIn(w, 7, 'RUNNING');
    expect(await onWorkflowExecutionEnded(w.deps, { name: 'job-7', status: 'SUCCEEDED' })).toMatchObject({ handled: false });
    expect(await onWorkflowExecutionEnded(w.deps, { name: 'nightly-report', status: 'FAILED' })).toMatchObject({ handled: false });
    expect(await onWorkflowExecutionEnded(w.deps, { name: 'job-8', status: 'FAILED' })).toEqual({ handled: false, why: 'job 8 not found' });
    // Input naming another job than the name: not ours to judge.
    expect(await onWorkflowExecutionEnded(w.deps, { name: 'job-7', status: 'ABORTED', jobId: 9 })).toMatchObject({ handled: false });
    expect((await w.deps.store.getJob(7))!.status).toBe('RUNNING');
    expect(jobIdOfExecution('job-7-c3')).toBe(7);
    expect(jobIdOfExecution('job-7-boot-ab12', 7)).toBe(7);
    expect(jobIdOfExecution('job-x')).toBeUndefined();
  });

  it('finalizes a job that was already terminal when its execution died in Finalize', async () => {
    const w = await schedulerWorld(db);
    await putJobIn(w, 5, 'NONE', { status: 'SUCCEEDED' });
    expect(await onWorkflowExecutionEnded(w.deps, { name: 'job-5', status: 'TIMED_OUT' })).toEqual({ handled: true, jobId: 5, action: 'finalized' });
    const job = (await w.deps.store.getJob(5))!;
    expect(job.status).toBe('SUCCEEDED');
    expect(job.finalizedAt).toBeDefined();
  });

  it('rejects a status-change event without a name or status, naming the problem', async () => {
    const w = await schedulerWorld(db);
    const events = createEventsHandler(w.deps);
    await expect(events({ source: 'aws.states', 'detail-type': 'Step Functions Execution Status Change', detail: { status: 'FAILED' } })).rejects.toThrow(/detail.name and detail.status/);
  });
});

describe('scheduler handler', () => {
  it('sweeps on the schedule, and skips a wake that waited behind a tick which started after it', async () => {
    const w = await schedulerWorld(db, { maxLaunching: 5, maxRunning: 5, janitorIntervalSeconds: 3600 });
    const handler = createSchedulerHandler(w.deps);
    expect(isScheduled({ source: 'aws.events', 'detail-type': 'Scheduled Event' })).toBe(true);
    expect(isScheduled({ source: 'skyless.wake' })).toBe(false);
    const scheduled = await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' });
    expect(scheduled.janitor).toBeDefined();
    // An on-demand tick within the janitor interval does not sweep.
    w.clock.advance(10);
    const sentAt = w.clock.now();
    await putJobIn(w, 1, 'WAITING');
    w.clock.advance(10);
    const wake1 = await handler({ source: 'skyless.wake', at: sentAt });
    expect(wake1.janitor).toBeUndefined();
    expect(wake1.granted).toEqual([1]);
    // A second wake sent at the same moment: a tick has started since, so it is skipped.
    await putJobIn(w, 2, 'WAITING');
    expect(await handler({ source: 'skyless.wake', at: sentAt })).toMatchObject({ skipped: true, granted: [] });
    // A wake sent after that tick began runs a full tick.
    w.clock.advance(10);
    expect((await handler({ source: 'skyless.wake', at: w.clock.now() })).granted).toEqual([2]);
  });
});
