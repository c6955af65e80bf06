// Issue 4: cancel in every phase → CANCELLED with no process left: PENDING (at once), STARTING (the
// provider's launch call in flight), RUNNING during a long setup, RECOVERING, PENDING in back-off.
// One launch and one running job at a time, so that a second job waits PENDING for a slot; a long
// launch back-off (30 s), so that a job out of capacity stays PENDING while it is cancelled. A `slow`
// fault holds the launch call until the test clears it, so a cancel lands while the call is in
// flight however slowly the machine runs (never inside a fixed window).
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { mkdtempSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startE2E, launchDetached, type E2E, type JobLike } from './harness.ts';
import { jobAndAttempts, controllerEvents, transitions, waitForOutput, finished } from './recovery-helpers.ts';

describe('cancel in every phase', () => {
  let e: E2E;
  let dir: string;
  beforeAll(() => {
    e = startE2E({ SKYLESS_MAX_RUNNING: '1', SKYLESS_MAX_LAUNCHING: '1', SKYLESS_BACKOFF_INITIAL_SECONDS: '30', SKYLESS_BACKOFF_MAX_SECONDS: '30' });
    dir = mkdtempSync(join(tmpdir(), 'skyless-cancel-'));
  });
  afterEach(async () => {
    await e.run(['local', 'faults', 'clear']);
  });
  afterAll(async () => {
    await e.stop();
  });

  const launch = (name: string, text: string) => launchDetached(e, dir, name, text);

  async function cancel(id: number): Promise<void> {
    const c = await e.run(['jobs', 'cancel', '-y', String(id)]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toContain(`Cancelling managed job(s): ${id}.`);
  }

  async function expectCancelledClean(id: number, timeoutMs = 60_000, opts: { finalized?: boolean } = {}): Promise<JobLike> {
    const job = await e.waitForJob(id, (j) => j.status === 'CANCELLED', timeoutMs);
    expect(job.tasks[0].status).toBe('CANCELLED');
    // CANCELLED is recorded only after every instance is gone.
    expect(e.liveInstanceProcesses()).toEqual([]);
    if (opts.finalized !== false) await e.waitForJob(id, finished);
    // Following the logs of a cancelled job ends at once, with the CANCELLED exit code.
    const logs = await e.run(['jobs', 'logs', String(id)]);
    expect(logs.code).toBe(103);
    expect(logs.stdout).toContain(`Managed job finished: ${id} (status: CANCELLED).`);
    return job;
  }

  it('PENDING (waiting for a slot) → CANCELLED at once', async () => {
    const blocker = await launch('blocker', 'name: blocker\nrun: sleep 300\n');
    await e.waitForJob(blocker, (j) => j.status === 'RUNNING');
    const id = await launch('waiting', 'name: waiting\nrun: echo never\n');
    expect((await jobAndAttempts(e, id)).job.status).toBe('PENDING');
    await cancel(id);
    // The cancel request itself records CANCELLED: nothing was launched.
    expect((await jobAndAttempts(e, id)).job.status).toBe('CANCELLED');
    expect((await jobAndAttempts(e, id)).attempts).toEqual([]);
    expect(transitions(await controllerEvents(e, id))).toEqual(['PENDING → CANCELLED']);
    await cancel(blocker);
    await expectCancelledClean(blocker);
  });

  it('STARTING, with the launch call in flight → CANCELLED once the launched instances are torn down', async () => {
    expect((await e.run(['local', 'faults', 'set', '--kind', 'slow', '--delay', '600'])).code).toBe(0);
    const id = await launch('starting', 'name: starting\nrun: sleep 300\n');
    await e.waitForJob(id, (j) => j.status === 'STARTING');
    // The cancel request is recorded (the CLI's answer) while the launch call is still held (the job
    // shows CANCELLING only once the call returns); then let the call return.
    await cancel(id);
    await e.run(['local', 'faults', 'clear']);
    const job = await expectCancelledClean(id);
    const { attempts } = await jobAndAttempts(e, id);
    // The slow launch still created its instance; the cancel tore it down without running the task.
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ state: 'ENDED', outcome: { kind: 'CANCELLED' }, reason: expect.stringMatching(/^cancelled by /) });
    expect(transitions(await controllerEvents(e, id))).toEqual(['PENDING → STARTING', 'STARTING → CANCELLING', 'CANCELLING → CANCELLED']);
    expect(job.tasks[0].recoveryCount).toBe(0);
  });

  it('RUNNING during a long setup → CANCELLED, setup process killed', async () => {
    const marker = join(dir, 'setup.pid');
    const id = await launch('longsetup', `name: longsetup\nsetup: |\n  echo $$ > ${marker}\n  echo setting-up\n  sleep 300\nrun: echo never-runs\n`);
    await e.waitForJob(id, (j) => j.status === 'RUNNING');
    await waitForOutput(e, id, 1, 'setting-up');
    expect(existsSync(marker)).toBe(true);
    const setupPid = Number(readFileSync(marker, 'utf8'));
    await cancel(id);
    await expectCancelledClean(id);
    expect(() => process.kill(setupPid, 0)).toThrow();
    expect(transitions(await controllerEvents(e, id))).toEqual(['PENDING → STARTING', 'STARTING → RUNNING', 'RUNNING → CANCELLING', 'CANCELLING → CANCELLED']);
  });

  it('RECOVERING (relaunch in flight after a preemption) → CANCELLED', async () => {
    const id = await launch('recovering', 'name: recovering\nrun: |\n  echo up\n  sleep 300\n');
    await e.waitForJob(id, (j) => j.status === 'RUNNING');
    await waitForOutput(e, id, 1, 'up');
    // The relaunch will be slow, holding the job in RECOVERING.
    expect((await e.run(['local', 'faults', 'set', '--kind', 'slow', '--delay', '600'])).code).toBe(0);
    expect((await e.run(['local', 'preempt', String(id)])).code).toBe(0);
    // RECOVERING with attempt 2 numbered: the relaunch's provider call is in flight (held).
    await e.waitForJob(id, (j) => j.status === 'RECOVERING' && j.tasks[0].attempt === 2);
    await cancel(id); // recorded while the relaunch call is held
    await e.run(['local', 'faults', 'clear']);
    const job = await expectCancelledClean(id);
    expect(job.tasks[0].recoveryCount).toBe(1);
    // The relaunch (EAGER_NEXT_REGION: away from local-1) was cancelled before it ran anything.
    const { attempts } = await jobAndAttempts(e, id);
    expect(attempts.map((a) => [a.candidate.region, a.outcome?.kind])).toEqual([['local-1', 'LOST'], ['local-2', 'CANCELLED']]);
    expect(transitions(await controllerEvents(e, id))).toEqual([
      'PENDING → STARTING',
      'STARTING → RUNNING',
      'RUNNING → RECOVERING',
      'RECOVERING → CANCELLING',
      'CANCELLING → CANCELLED',
    ]);
  });

  it('PENDING in back-off (every region out of capacity) → CANCELLED at once', async () => {
    expect((await e.run(['local', 'faults', 'set', '--scope', 'cloud'])).code).toBe(0);
    const id = await launch('backoff', 'name: backoff\nrun: echo never\n');
    await e.waitForJob(id, (j) => j.status === 'PENDING' && (j.tasks[0] as { blockedRounds?: number }).blockedRounds! >= 1);
    await cancel(id);
    expect((await jobAndAttempts(e, id)).job.status).toBe('CANCELLED');
    // The workflow still sits in its back-off Wait (finalized when it ends), but nothing waits on it.
    await expectCancelledClean(id, undefined, { finalized: false });
    // It never launches again, even once capacity is back: a job submitted after the clear gets the
    // one launch slot and runs (so the scheduler has granted since), and the cancelled job took none.
    await e.run(['local', 'faults', 'clear']);
    const witness = await launch('witness', 'name: witness\nrun: echo witness\n');
    await e.waitForJob(witness, (j) => j.status === 'SUCCEEDED');
    const after = await jobAndAttempts(e, id);
    expect(after.job.status).toBe('CANCELLED');
    expect(after.attempts).toEqual([]);
    expect(transitions(await controllerEvents(e, id)).at(-1)).toBe('PENDING → CANCELLED');
  });
});
