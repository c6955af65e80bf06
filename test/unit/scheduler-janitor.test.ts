// The janitor (core/usecases/janitor.ts): terminates the orphans it is shown, reports each in the
// job's controller log, and never touches a live attempt, including one being launched right now.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepOrphans } from '../../core/usecases/janitor.ts';
import { schedulerTick } from '../../core/usecases/scheduler.ts';
import { startTestDynalite, type TestDynalite } from '../support/dynalite.ts';
import { makeAttemptRecord } from '../support/records.ts';
import { putJobIn, schedulerWorld, type SchedulerWorld } from './scheduler-fixtures.ts';

let db: TestDynalite;
beforeAll(async () => {
  db = await startTestDynalite();
});
afterAll(async () => {
  await db?.close();
});

async function attempt(w: SchedulerWorld, jobId: number, n: number, state: 'PROVISIONING' | 'RUNNING' | 'ENDED', taskIndex = 0) {
  await w.deps.store.putAttempt(makeAttemptRecord({ jobId, taskIndex, attempt: n, state }), null);
}

const terminatedKeys = (w: SchedulerWorld) => w.provider.terminated.map((t) => `${t.jobId}/${t.taskIndex}/${t.attempt}`).sort();

describe('janitor', () => {
  it('terminates orphans (job over, unknown job, earlier attempt, ended attempt, earlier task) and leaves live attempts alone', async () => {
    const w = await schedulerWorld(db);
    // Live: job 1 runs attempt 2; job 2 is launching attempt 1 (no attempt record yet: the provider
    // call is in flight); job 3 runs attempt 1 (PROVISIONING).
    await putJobIn(w, 1, 'RUNNING', { attempt: 2 });
    await attempt(w, 1, 2, 'RUNNING');
    await putJobIn(w, 2, 'LAUNCHING', { attempt: 1 });
    await putJobIn(w, 3, 'LAUNCHING', { attempt: 1 });
    await attempt(w, 3, 1, 'PROVISIONING');
    const live = [w.provider.add(1, 0, 2), w.provider.add(2, 0, 1), w.provider.add(3, 0, 1)];
    // Orphans.
    await putJobIn(w, 4, 'NONE', { status: 'SUCCEEDED', attempt: 1 });
    const over = w.provider.add(4, 0, 1);
    const unknown = w.provider.add(99, 0, 1);
    const earlier = w.provider.add(1, 0, 1); // job 1 is on attempt 2
    await putJobIn(w, 5, 'WAITING', { status: 'RECOVERING', attempt: 3 });
    await attempt(w, 5, 3, 'ENDED');
    const ended = w.provider.add(5, 0, 3);
    const otherTask = w.provider.add(3, 1, 1); // job 3's current task is 0
    // Not ours or not up: left alone.
    w.provider.add(7, 0, 1, { deployment: 'someone-else' });
    w.provider.add(4, 0, 1, { state: 'terminated' });
    w.provider.add(4, 0, 1, { state: 'shutting-down' });
    const malformed = w.provider.add(8, 0, 1);
    malformed.tags['skyless:attempt'] = 'x';

    const report = await sweepOrphans(w.deps);

    expect(report.errors).toEqual([]);
    expect(report.examined).toBe(8);
    expect(report.malformed).toEqual([`aws/us-east-1/${malformed.instanceId}`]);
    expect(report.terminated.map((o) => [o.instanceId, o.why])).toEqual(
      expect.arrayContaining([
        [over.instanceId, 'job-over'],
        [unknown.instanceId, 'job-unknown'],
        [earlier.instanceId, 'other-attempt'],
        [ended.instanceId, 'attempt-ended'],
        [otherTask.instanceId, 'other-task'],
      ]),
    );
    expect(report.terminated).toHaveLength(5);
    expect(terminatedKeys(w)).toEqual(['1/0/1', '3/1/1', '4/0/1', '5/0/3', '99/0/1']);
    for (const inst of live) expect(inst.state).toBe('running');

    // Reported in the owning job's controller log (the unknown job has none: the process log says it).
    const log4 = (await w.deps.store.listEvents(4)).map((e) => e.reason);
    expect(log4).toContainEqual(expect.stringMatching(new RegExp(`janitor: terminated orphan instance\\(s\\) ${over.instanceId} of task 0 attempt 1 in aws/us-east-1: the job is over \\(SUCCEEDED\\)`)));
    expect((await w.deps.store.listEvents(1)).map((e) => e.reason)).toContainEqual(expect.stringContaining('the task is on attempt 2'));
    expect(w.logs.map((l) => l.msg)).toContainEqual(expect.stringContaining(`${unknown.instanceId} of task 0 attempt 1 in aws/us-east-1: no such job`));

    // A second sweep finds them shutting down: nothing more is terminated or logged.
    const again = await sweepOrphans(w.deps);
    expect(again.terminated).toEqual([]);
    expect((await w.deps.store.listEvents(4)).filter((e) => e.reason.startsWith('janitor'))).toHaveLength(1);
  });

  it('never kills an attempt being launched while it sweeps (describe first, read the job after)', async () => {
    const w = await schedulerWorld(db);
    await putJobIn(w, 1, 'LAUNCHING', { attempt: 1 });
    await attempt(w, 1, 1, 'ENDED');
    // While describe runs, the job's Launch step stores attempt 2 and the provider creates its
    // instance: describe returns it. Had the janitor read the job first, it would see attempt 1
    // and take the new instance for an orphan.
    w.provider.onDescribe = async () => {
      const j = (await w.deps.store.getJob(1))!;
      await w.deps.store.putJob({ ...j, tasks: j.tasks.map((t) => ({ ...t, attempt: 2 })) }, j.version);
      w.provider.add(1, 0, 2);
      w.provider.onDescribe = undefined;
    };
    const report = await sweepOrphans(w.deps);
    expect(report.terminated).toEqual([]);
    expect(w.provider.terminated).toEqual([]);
  });

  it('goes on with the other jobs when one terminate fails, and reports the failure', async () => {
    const w = await schedulerWorld(db);
    await putJobIn(w, 1, 'NONE', { status: 'FAILED' });
    await putJobIn(w, 2, 'NONE', { status: 'CANCELLED' });
    w.provider.add(1, 0, 1);
    w.provider.add(2, 0, 1);
    const real = w.provider.terminate.bind(w.provider);
    w.provider.terminate = async (jobId, task, att, region) => {
      if (jobId === 1) throw new Error('UnauthorizedOperation');
      return real(jobId, task, att, region);
    };
    const report = await sweepOrphans(w.deps);
    expect(report.terminated.map((o) => o.jobId)).toEqual([2]);
    expect(report.errors).toEqual([expect.stringContaining('terminate job 1 task 0 attempt 1 in aws/us-east-1: UnauthorizedOperation')]);
  });

  it('reports a provider whose describe fails and still sweeps the others', async () => {
    const w = await schedulerWorld(db);
    w.provider.describeError = new Error('RequestLimitExceeded');
    const report = await sweepOrphans(w.deps);
    expect(report.errors).toEqual(['describe aws: RequestLimitExceeded']);
  });

  it('runs on the scheduler sweep: scheduled ticks always, on-demand ticks at most every janitorIntervalSeconds', async () => {
    const w = await schedulerWorld(db, { janitorIntervalSeconds: 60 });
    await putJobIn(w, 1, 'NONE', { status: 'SUCCEEDED' });
    w.provider.add(1, 0, 1);
    const first = await schedulerTick(w.deps); // the first tick of a process sweeps
    expect(first.janitor?.terminated.map((o) => o.jobId)).toEqual([1]);
    w.provider.add(1, 0, 1);
    w.clock.advance(30_000);
    expect((await schedulerTick(w.deps)).janitor).toBeUndefined();
    expect((await schedulerTick(w.deps, { sweep: true })).janitor?.terminated).toHaveLength(1);
    w.provider.add(1, 0, 1);
    w.clock.advance(61_000);
    expect((await schedulerTick(w.deps)).janitor?.terminated).toHaveLength(1);
  });
});
