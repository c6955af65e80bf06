// Issue 4, idempotency: duplicated, reordered, late and missing events against the REAL use cases,
// handlers and store (dynalite), the events in the exact shapes of test/fixtures/events
// delivered to the same events handler EventBridge targets. Exactly one recovery per real loss, no
// resurrection of an ended job, stale messages fenced by attempt number.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startTestDynalite, type TestDynalite } from '../support/dynalite.ts';
import { World, drain, runCalm, type AttemptScript } from './support/world.ts';
import type { BusEvent } from '../../core/ports.ts';
import * as agent from '../../core/usecases/agent.ts';
import type { FakeInstance } from './support/fakes.ts';
import { ec2Event } from '../support/events.ts';

function fixture(name: string, inst: FakeInstance): BusEvent {
  return ec2Event(name, inst.instanceId, inst.region) as BusEvent;
}
const warning = (i: FakeInstance) => fixture('ec2-spot-interruption-warning', i);
const terminated = (i: FakeInstance) => fixture('ec2-state-change-terminated', i);
const stopped = (i: FakeInstance) => fixture('ec2-state-change-stopped', i);

let db: TestDynalite;
beforeAll(async () => {
  db = await startTestDynalite();
});
afterAll(async () => {
  await db?.close();
});

const YAML = (numNodes = 1, recovery = '') => `name: idem\nnum_nodes: ${numNodes}\nresources:\n  cpus: 2\n${recovery}setup: echo setup\nrun: echo run\n`;
const HANG: AttemptScript = { setup: [0, 0], run: ['hang', 'hang'] };

async function world(scripts: AttemptScript[], yaml = YAML()): Promise<World> {
  return World.create({ db, yaml, scripts });
}

/** Runs calmly until the job's current attempt is RUNNING (every node registered, run started). */
async function untilRunning(w: World, attempt: number): Promise<FakeInstance[]> {
  await runCalm(
    w,
    async () => {
      const j = await w.job();
      const a = await w.deps.store.getAttempt(w.jobId, 0, attempt);
      return j.tasks[0].status === 'RUNNING' && a?.state === 'RUNNING' && [...w.agents.values()].filter((x) => x.claim.attempt === attempt).every((x) => x.phase === 'RUN');
    },
    { timeouts: false },
  );
  return w.cloud.running().filter((i) => i.attempt === attempt);
}

describe('instance events are idempotent and fenced', () => {
  it('two warnings and the state changes for one preempted instance → exactly one recovery', async () => {
    const w = await world([HANG]);
    const [inst] = await untilRunning(w, 1);
    w.cloud.kill(inst.instanceId, 'preempted');
    const first = await w.deliver(warning(inst));
    const second = await w.deliver(warning(inst));
    const change = await w.deliver(terminated(inst));
    expect(first).toEqual({ handled: true, jobId: w.jobId, attempt: 1 });
    expect(second).toMatchObject({ handled: false });
    expect(change).toMatchObject({ handled: false });
    await drain(w);
    const job = await w.job();
    expect(job.status).toBe('SUCCEEDED');
    expect(job.tasks[0].recoveryCount).toBe(1);
    expect((await w.attempts()).map((a) => a.outcome?.kind)).toEqual(['LOST', 'SUCCEEDED']);
    // And again, long after: nothing moves.
    const version = job.version;
    for (const e of [warning(inst), terminated(inst), stopped(inst)]) expect(await w.deliver(e)).toMatchObject({ handled: false });
    expect((await w.job()).version).toBe(version);
  });

  it('reordered: the state change before the warning → one recovery, the warning then ignored', async () => {
    const w = await world([HANG]);
    const [inst] = await untilRunning(w, 1);
    w.cloud.kill(inst.instanceId, 'preempted');
    expect(await w.deliver(terminated(inst))).toMatchObject({ handled: true, attempt: 1 });
    expect(await w.deliver(warning(inst))).toMatchObject({ handled: false });
    await drain(w);
    const job = await w.job();
    expect(job.status).toBe('SUCCEEDED');
    expect(job.tasks[0].recoveryCount).toBe(1);
    const [a1] = await w.attempts();
    expect(a1.outcome).toEqual({ kind: 'LOST', reason: expect.stringMatching(/is terminated \(Server\.SpotInstanceTermination\)/) });
  });

  it('a late warning for an attempt already replaced changes nothing; the new attempt runs on', async () => {
    const w = await world([HANG, HANG]);
    const [old] = await untilRunning(w, 1);
    w.cloud.kill(old.instanceId, 'preempted');
    await w.deliver(warning(old));
    const [current] = await untilRunning(w, 2);
    const before = await w.job();
    expect(await w.deliver(warning(old))).toMatchObject({ handled: false, why: expect.stringMatching(/ended or replaced/) });
    expect(await w.deliver(terminated(old))).toMatchObject({ handled: false });
    const after = await w.job();
    expect(after.version).toBe(before.version);
    expect(after.tasks[0]).toMatchObject({ status: 'RUNNING', attempt: 2, recoveryCount: 1 });
    expect((await w.deps.store.getAttempt(w.jobId, 0, 2))?.outcome).toBeUndefined();
    expect(current.state).toBe('running');
  });

  it('a state change after the job ended does not resurrect it', async () => {
    const w = await world([]);
    await drain(w);
    const job = await w.job();
    expect(job.status).toBe('SUCCEEDED');
    const inst = [...w.cloud.instances.values()][0];
    for (const e of [terminated(inst), warning(inst), stopped(inst)]) expect(await w.deliver(e)).toMatchObject({ handled: false });
    await w.cancel();
    await w.tick();
    const after = await w.job();
    expect(after.version).toBe(job.version);
    expect(after.status).toBe('SUCCEEDED');
    expect(after.tasks[0].recoveryCount).toBe(0);
  });

  it('both nodes of one attempt lost (two warnings, two instances) → one recovery of the whole task', async () => {
    const w = await world([HANG], YAML(2));
    const insts = await untilRunning(w, 1);
    expect(insts).toHaveLength(2);
    for (const i of insts) w.cloud.kill(i.instanceId, 'preempted');
    const answers = [await w.deliver(warning(insts[1])), await w.deliver(warning(insts[0]))];
    expect(answers.filter((a) => (a as { handled: boolean }).handled)).toHaveLength(1);
    await drain(w);
    const job = await w.job();
    expect(job.status).toBe('SUCCEEDED');
    expect(job.tasks[0].recoveryCount).toBe(1);
    expect((await w.attempts()).map((a) => a.nodes.length)).toEqual([2, 2]);
  });

  it('an event for an instance skyless does not know is ignored', async () => {
    const w = await world([]);
    const stranger: FakeInstance = { instanceId: 'i-0a1b2c3d4e5f60718', jobId: 0, task: 0, attempt: 0, node: 0, region: 'us-east-1', zone: 'us-east-1a', state: 'running' };
    expect(await w.deliver(warning(stranger))).toMatchObject({ handled: false });
    expect(await w.eventsHandler({ source: 'aws.s3', 'detail-type': 'Object Created', detail: {} })).toMatchObject({ handled: false });
  });

  it('a dropped warning: the silent loss is found by the heartbeat timeout, and the late warning then changes nothing', async () => {
    const w = await world([HANG]);
    const [inst] = await untilRunning(w, 1);
    w.cloud.kill(inst.instanceId, 'preempted'); // its events are never delivered (dropped)
    expect(w.heartbeatTimeout()).toBe(true);
    await runCalm(w, async () => (await w.attempts()).length === 2, { timeouts: false });
    expect(await w.deliver(warning(inst))).toMatchObject({ handled: false });
    await drain(w);
    const job = await w.job();
    expect(job.status).toBe('SUCCEEDED');
    expect(job.tasks[0].recoveryCount).toBe(1);
    expect((await w.attempts())[0].outcome).toEqual({ kind: 'LOST', reason: 'heartbeat lost: a node stopped reporting' });
  });
});

describe('agent messages are idempotent and fenced by attempt number', () => {
  it("after a recovery, every request of the old attempt's agent is refused (410) and changes nothing", async () => {
    const w = await world([HANG, { setup: [0], run: [0] }]);
    const [old] = await untilRunning(w, 1);
    w.cloud.kill(old.instanceId, 'preempted');
    await w.deliver(warning(old));
    await untilRunning(w, 2);
    const before = await w.job();
    const claim = { job: w.jobId, task: 0, attempt: 1, node: 0 };
    await expect(agent.reportExit(w.deps, claim, { phase: 'RUN', exitCode: 0 })).rejects.toThrow(agent.AttemptGoneError);
    await expect(agent.reportExit(w.deps, claim, { phase: 'RUN', exitCode: 1 })).rejects.toThrow(agent.AttemptGoneError);
    await expect(agent.heartbeat(w.deps, claim, {})).rejects.toThrow(agent.AttemptGoneError);
    await expect(agent.register(w.deps, claim, {})).rejects.toThrow(agent.AttemptGoneError);
    await expect(agent.reportInterrupted(w.deps, claim, { reason: 'late notice' })).rejects.toThrow(agent.AttemptGoneError);
    await expect(agent.shipLogs(w.deps, claim, 0, Buffer.from('late output'))).rejects.toThrow(agent.AttemptGoneError);
    expect((await w.job()).version).toBe(before.version);
    // A token for a different job is a different claim: the same fencing applies.
    await expect(agent.heartbeat(w.deps, { ...claim, job: w.jobId + 1000 }, {})).rejects.toThrow(agent.AttemptGoneError);
  });

  it('a duplicated failing exit report counts one restart, not two', async () => {
    const w = await world([{ setup: [0], run: [1] }, { setup: [0], run: [0] }], YAML(1, '  job_recovery:\n    max_restarts_on_errors: 1\n'));
    await runCalm(w, async () => [...w.agents.values()].some((a) => a.claim.attempt === 1 && a.phase === 'RUN'), { timeouts: false });
    const claim = { job: w.jobId, task: 0, attempt: 1, node: 0 };
    expect(await agent.reportExit(w.deps, claim, { phase: 'RUN', exitCode: 1 })).toEqual({ action: 'STOP' });
    expect(await agent.reportExit(w.deps, claim, { phase: 'RUN', exitCode: 1 })).toEqual({ action: 'STOP' });
    await drain(w);
    const job = await w.job();
    expect(job.status).toBe('SUCCEEDED');
    expect(job.tasks[0]).toMatchObject({ restartCount: 1, recoveryCount: 1 });
  });

  it('a heartbeat timeout racing the success report is not a loss (first writer wins)', async () => {
    const w = await world([{ setup: [0], run: [0] }]);
    await runCalm(w, () => [...w.agents.values()].some((a) => a.phase === 'RUN') && w.driver.parkedOn?.kind === 'RUN', { timeouts: false });
    // AwaitRun times out, and the success report arrives before the engine's `lost` step runs.
    expect(w.heartbeatTimeout()).toBe(true);
    expect(await agent.reportExit(w.deps, { job: w.jobId, task: 0, attempt: 1, node: 0 }, { phase: 'RUN', exitCode: 0 })).toEqual({ action: 'STOP' });
    await drain(w);
    expect((await w.attempts()).map((a) => a.state)).toEqual(['ENDED']);
    const job = await w.job();
    expect(job.status).toBe('SUCCEEDED');
    expect(job.tasks[0].recoveryCount).toBe(0);
    expect((await w.attempts()).map((a) => a.outcome?.kind)).toEqual(['SUCCEEDED']);
  });

  it('cancel twice, and a cancel racing the success report, end in one terminal status', async () => {
    const w = await world([HANG]);
    await untilRunning(w, 1);
    await w.cancel();
    await w.cancel();
    await drain(w);
    const job = await w.job();
    expect(job.status).toBe('CANCELLED');
    const events = await w.deps.store.listEvents(w.jobId);
    expect(events.filter((e) => e.to === 'CANCELLED')).toHaveLength(1);
    expect(events.filter((e) => /cancel requested by/.test(e.reason))).toHaveLength(1);
    expect(w.cloud.running()).toEqual([]);

    // The run finishes just as the cancel lands: it keeps its real status (docs/behaviour.md §2).
    const w2 = await world([{ setup: [0], run: [0] }]);
    await runCalm(w2, async () => [...w2.agents.values()].some((a) => a.phase === 'RUN'), { timeouts: false });
    await Promise.all([w2.cancel(), agent.reportExit(w2.deps, { job: w2.jobId, task: 0, attempt: 1, node: 0 }, { phase: 'RUN', exitCode: 0 })]);
    await drain(w2);
    const j2 = await w2.job();
    expect(['SUCCEEDED', 'CANCELLED']).toContain(j2.status);
    const moves = (await w2.deps.store.listEvents(w2.jobId)).filter((e) => e.to === 'SUCCEEDED' || e.to === 'CANCELLED');
    expect(moves.map((e) => e.to)).toEqual([j2.status]);
    if (j2.status === 'SUCCEEDED') expect((await w2.attempts())[0].outcome).toEqual({ kind: 'SUCCEEDED' });
    expect(w2.cloud.running()).toEqual([]);
  });
});
