// Scheduler, limits and janitor through the real engine: job.asl.json on the local engine, the real
// lambdas, the real store, SimCloud instances whose agents call the real API.
import { afterEach, describe, expect, it } from 'vitest';
import type { SimPlane } from '../../../adapters/sim/sim-plane.ts';
import { makeCandidate } from '../../support/records.ts';
import { allTerminal, startWorld, submit, until } from './sim-world.ts';

let plane: SimPlane | undefined;
afterEach(async () => {
  await plane?.close();
  plane = undefined;
});

describe('scheduler on the real engine', () => {
  it('runs every job to SUCCEEDED, with preemptions, never above either limit, leaking no slot or instance', async () => {
    plane = await startWorld({ settings: { maxLaunching: 2, maxRunning: 3 }, cloud: { preemptionsPerHour: 10 }, seed: 7 });
    const ids = await submit(plane, 10);
    // Generous: the simulated cloud's timers slow down with the machine (a loaded CI box took > 40 s).
    await until('every job finished', () => allTerminal(plane!, ids), 240_000);
    for (const id of ids) expect((await plane.deps.store.getJob(id))!.status).toBe('SUCCEEDED');
    expect(plane.cloud.stats.preempted).toBeGreaterThan(0); // recoveries went through admission too
    expect(plane.census.maxLaunching).toBeLessThanOrEqual(2);
    expect(plane.census.maxHolding).toBeLessThanOrEqual(3);
    expect(plane.census.maxLaunching).toBe(2); // the limits were reached, not just respected
    expect(plane.census.maxHolding).toBe(3);
    expect(plane.census.slots).toEqual({ WAITING: 0, LAUNCHING: 0, RUNNING: 0 });
    await until('every instance terminated', () => plane!.cloud.liveInstances() === 0);
  }, 300_000);

  it('takes back, within the tick, a slot granted to a workflow that died while parked', async () => {
    plane = await startWorld({ settings: { maxLaunching: 1, maxRunning: 5 }, cloud: { launchLatencySeconds: () => 1500 } });
    const [first, second] = await submit(plane, 2);
    const store = plane.deps.store;
    await until('job 1 launching and job 2 parked', async () => (await store.getJob(first))!.slot === 'LAUNCHING' && (await store.getJob(second))!.slot === 'WAITING');
    await plane.workflows.stopExecution(`job-${second}`, 'test: the workflow dies');
    // Job 1 registers (after its launch latency): its slot moves on, the wake's tick grants job 2,
    // finds its token gone and takes the slot back in the same tick.
    // The grant and the take-back are two writes of one tick: wait for the tick's take-back record
    // (reading in between would see the grant), then the slot must be free.
    const takenBack = async () => (await store.listEvents(second)).some((e) => e.reason.includes('launch slot taken back: its workflow was no longer waiting'));
    await until('job 2 slot taken back', takenBack);
    const job2 = (await store.getJob(second))!;
    expect(job2.slot).toBe('NONE');
    const revokingTick = await plane.scheduledTick();
    expect(revokingTick.granted).toEqual([]);
    expect(await store.countJobsBySlot('LAUNCHING')).toBe(0);
    // On AWS the dead execution's status-change event then ends the job.
    expect(await plane.deliverEvent({ source: 'aws.states', 'detail-type': 'Step Functions Execution Status Change', detail: { name: `job-${second}`, status: 'ABORTED', input: JSON.stringify({ jobId: second, cycle: 0 }) } })).toMatchObject({ handled: true, jobId: second });
    expect((await store.getJob(second))!.status).toBe('FAILED_CONTROLLER');
    await until('job 1 finished', () => allTerminal(plane!, [first]));
    expect((await store.getJob(first))!.status).toBe('SUCCEEDED');
  });

  it('frees the launch slot of a job whose execution was aborted while launching (status-change event), and the next job gets it', async () => {
    plane = await startWorld({ settings: { maxLaunching: 1, maxRunning: 5 }, cloud: { launchLatencySeconds: () => 3000 } });
    const [first, second] = await submit(plane, 2);
    const store = plane.deps.store;
    await until('job 1 launching', async () => (await store.getAttempt(first, 0, 1)) !== undefined);
    expect((await store.getJob(first))!.slot).toBe('LAUNCHING');
    await plane.workflows.stopExecution(`job-${first}`, 'test: aborted');
    const r = await plane.deliverEvent({ source: 'aws.states', 'detail-type': 'Step Functions Execution Status Change', detail: { name: `job-${first}`, status: 'ABORTED' } });
    expect(r).toMatchObject({ handled: true, action: 'failed' });
    const job1 = (await store.getJob(first))!;
    expect(job1).toMatchObject({ status: 'FAILED_CONTROLLER', slot: 'NONE' });
    // Its booting instance was torn down (best effort), and job 2 runs to the end in its place.
    expect(plane.cloud.stats.terminatedBySkyless).toBeGreaterThanOrEqual(1);
    await until('job 2 finished', () => allTerminal(plane!, [second]));
    expect((await store.getJob(second))!.status).toBe('SUCCEEDED');
  });
});

describe('janitor on the simulated cloud', () => {
  it('terminates an orphan it is shown, reports it in the job controller log, and leaves a live attempt alone', async () => {
    plane = await startWorld({ settings: { maxLaunching: 2, maxRunning: 5 }, cloud: { runSeconds: (jobId) => (jobId === 2 ? 4000 : 50) } });
    const [done, live] = await submit(plane, 2);
    await until('job 1 finished and job 2 running', async () => (await allTerminal(plane!, [done])) && (await plane!.deps.store.getJob(live))!.status === 'RUNNING');
    // An instance of the finished job appears (e.g. a launch reply that arrived after the job ended).
    const orphan = await plane.cloud.launch({
      jobId: done,
      taskIndex: 0,
      attempt: 1,
      numNodes: 1,
      candidate: makeCandidate({ cloud: 'aws', region: 'us-east-1', zones: ['us-east-1a'] }),
      diskSizeGb: 50,
      bootstrap: { apiUrl: 'https://sim', tokens: ['not-a-token'] },
    });
    const tick = await plane.scheduledTick();
    expect(tick.janitor?.terminated.map((o) => [o.instanceId, o.why])).toEqual([[orphan[0].instanceId, 'job-over']]);
    expect((await plane.deps.store.listEvents(done)).map((e) => e.reason)).toContainEqual(expect.stringContaining(`janitor: terminated orphan instance(s) ${orphan[0].instanceId}`));
    const liveInstances = (await plane.cloud.describe({ jobId: live })).filter((i) => i.state === 'running');
    expect(liveInstances).toHaveLength(1);
    expect((await plane.deps.store.getJob(live))!.status).toBe('RUNNING');
  });
});
