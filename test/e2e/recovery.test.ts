// Issue 4: preemptions and lost nodes on the local default. Real CLI, real control plane, real agents;
// faults injected with `skyless local preempt`, which kills the node processes and delivers the
// EC2-shaped events to the same events handler EventBridge calls on AWS.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startE2E, yamlFile, submittedId, HEARTBEAT_TIMEOUT_SECONDS, type E2E } from './harness.ts';
import {
  jobAndAttempts,
  regionsUsed,
  controllerEvents,
  logChunks,
  taskIdsByAttempt,
  waitForOutput,
  transitions,
  finished,
  attemptOutput,
} from './recovery-helpers.ts';

// Prints its SKYPILOT_TASK_ID, then works until the test opens its gate (after the preemption), so
// the first attempt is still working when it is preempted however slowly the machine runs it.
const GATES = mkdtempSync(join(tmpdir(), 'skyless-gates-'));
const gate = (name: string) => join(GATES, `${name}.go`);
const openGate = (name: string) => writeFileSync(gate(name), '');
const WORK = (name: string, extra = '') =>
  `name: ${name}\n${extra}run: |\n  echo "TASK_ID=$SKYPILOT_TASK_ID"\n  echo "rank $SKYPILOT_NODE_RANK starts"\n  while [ ! -e '${gate(name)}' ]; do sleep 0.1; done\n  echo "rank $SKYPILOT_NODE_RANK done"\n`;

describe('recovery from preemption and lost nodes', () => {
  let e: E2E;
  let dir: string;
  beforeAll(() => {
    e = startE2E();
    dir = mkdtempSync(join(tmpdir(), 'skyless-recovery-'));
  });
  afterAll(async () => {
    await e.stop();
  });

  async function launchAndWaitRunning(yaml: string): Promise<number> {
    const r = await e.run(['jobs', 'launch', '-y', '-d', yaml]);
    expect(r.code, r.stderr).toBe(0);
    const id = submittedId(r.stdout);
    await e.waitForJob(id, (j) => j.status === 'RUNNING');
    await waitForOutput(e, id, 1, 'starts');
    return id;
  }

  it('preempt while RUNNING → RECOVERING → RUNNING → SUCCEEDED in another region (EAGER_NEXT_REGION), same TASK_ID', async () => {
    const id = await launchAndWaitRunning(yamlFile(dir, 'eager.yaml', WORK('eager')));
    const p = await e.run(['local', 'preempt', String(id)]);
    openGate('eager');
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/Killed local-\d+-0-1-0 \(node 0, attempt 1, local-1\)/);
    expect(p.stdout).toMatch(/EC2 Spot Instance Interruption Warning for local-\d+-0-1-0: handled \(attempt 1 lost\)/);
    // The state-change that follows the warning is fenced: the loss was already recorded.
    expect(p.stdout).toMatch(/State-change Notification \(terminated\) for local-\d+-0-1-0: ignored/);

    const job = await e.waitForJob(id, finished);
    const events = await controllerEvents(e, id);
    expect(job.status, JSON.stringify(events)).toBe('SUCCEEDED');
    expect(job.tasks[0].recoveryCount).toBe(1);
    expect(job.tasks[0].restartCount).toBe(0);
    expect(await regionsUsed(e, id)).toEqual(['local-1', 'local-2']);
    expect(transitions(events)).toEqual(['PENDING → STARTING', 'STARTING → RUNNING', 'RUNNING → RECOVERING', 'RECOVERING → RUNNING', 'RUNNING → SUCCEEDED']);
    expect(events.some((ev) => /spot interruption warning/.test(ev.reason))).toBe(true);

    // Every attempt's output is kept; both printed the same SKYPILOT_TASK_ID, the job's.
    const chunks = await logChunks(e, id);
    const ids = taskIdsByAttempt(chunks);
    expect([...ids.keys()].sort()).toEqual([1, 2]);
    expect(new Set([...ids.values()].flat())).toEqual(new Set([job.tasks[0].taskId]));
    expect(attemptOutput(chunks, 1)).not.toContain('done'); // killed before it finished
    expect(attemptOutput(chunks, 2)).toContain('rank 0 done');

    // `logs` marks every attempt; `logs --controller` lists each attempt with infra, instance, market, times, reason.
    const logs = await e.run(['jobs', 'logs', '--no-follow', String(id)]);
    expect(logs.stdout).toMatch(/attempt 1 ──[\s\S]*TASK_ID=[\s\S]*attempt 2 ──[\s\S]*TASK_ID=[\s\S]*rank 0 done/);
    const ctl = await e.run(['jobs', 'logs', '--controller', String(id)]);
    expect(ctl.stdout).toMatch(/RUNNING → RECOVERING\s+instances lost \(spot interruption warning/);
    expect(ctl.stdout).toMatch(/\n0\s+1\s+local\/local-1\/local-1a\s+local\.cpu\.\w+\s+on-demand\s+1\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+LOST: spot interruption warning/);
    expect(ctl.stdout).toMatch(/\n0\s+2\s+local\/local-2\/local-2a\s+local\.cpu\.\w+\s+on-demand\s+1\s+\S+ \S+\s+\S+ \S+\s+SUCCEEDED/);
    expect(e.liveInstanceProcesses()).toEqual([]);
  });

  it('EAGER_NEXT_REGION falls back to the lost region when every other region is out of capacity', async () => {
    const id = await launchAndWaitRunning(yamlFile(dir, 'fallback.yaml', WORK('fallback')));
    try {
      for (const region of ['local-2', 'local-3']) expect((await e.run(['local', 'faults', 'set', '--region', region, '--scope', 'region'])).code).toBe(0);
      expect((await e.run(['local', 'preempt', String(id)])).code).toBe(0);
      openGate('fallback');
      const job = await e.waitForJob(id, finished);
      expect(job.status).toBe('SUCCEEDED');
      expect(job.tasks[0].recoveryCount).toBe(1);
      expect(await regionsUsed(e, id)).toEqual(['local-1', 'local-1']);
      const events = await controllerEvents(e, id);
      // The walk tried the other regions first (EAGER_NEXT_REGION), found them blocked, then came back.
      const attempt2 = events.filter((ev) => ev.attempt === 2).map((ev) => ev.reason);
      expect(attempt2.findIndex((r) => /local-2.*blocking region local\/local-2/.test(r))).toBeGreaterThanOrEqual(0);
      expect(attempt2.findIndex((r) => /launched .* in local\/local-1/.test(r))).toBeGreaterThan(attempt2.findIndex((r) => /blocking region local\/local-3/.test(r)));
    } finally {
      await e.run(['local', 'faults', 'clear']);
    }
  });

  it('FAILOVER relaunches in the same region first', async () => {
    const id = await launchAndWaitRunning(yamlFile(dir, 'failover.yaml', WORK('failover', 'resources:\n  job_recovery: FAILOVER\n')));
    expect((await e.run(['local', 'preempt', String(id)])).code).toBe(0);
    openGate('failover');
    const job = await e.waitForJob(id, finished);
    expect(job.status).toBe('SUCCEEDED');
    expect(job.tasks[0].recoveryCount).toBe(1);
    expect(await regionsUsed(e, id)).toEqual(['local-1', 'local-1']);
    const ids = taskIdsByAttempt(await logChunks(e, id));
    expect(new Set([...ids.values()].flat())).toEqual(new Set([job.tasks[0].taskId]));
  });

  it('an instance stopped by someone else (state-change events only) is recovered', async () => {
    const id = await launchAndWaitRunning(yamlFile(dir, 'stopped.yaml', WORK('stopped')));
    const p = await e.run(['local', 'preempt', '--stop', String(id)]);
    openGate('stopped');
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).not.toContain('Interruption Warning');
    expect(p.stdout).toMatch(/State-change Notification \(stopping\) for local-\d+-0-1-0: handled \(attempt 1 lost\)/);
    expect(p.stdout).toMatch(/\(stopped\) for local-\d+-0-1-0: ignored/);
    const job = await e.waitForJob(id, finished);
    expect(job.status).toBe('SUCCEEDED');
    expect(job.tasks[0].recoveryCount).toBe(1);
    expect(await regionsUsed(e, id)).toEqual(['local-1', 'local-2']);
    const events = await controllerEvents(e, id);
    expect(events.some((ev) => /is stopping/.test(ev.reason))).toBe(true);
  });

  it('a silent agent death (no event at all) is recovered by the heartbeat timeout', async () => {
    const id = await launchAndWaitRunning(yamlFile(dir, 'silent.yaml', WORK('silent')));
    const killedAt = Date.now();
    const p = await e.run(['local', 'preempt', '--silent', String(id)]);
    openGate('silent');
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toContain('No event sent');
    // Nothing is noticed until the heartbeat timeout (HEARTBEAT_TIMEOUT_SECONDS after the last
    // heartbeat, which came at most a heartbeat interval, 1 s, before the kill).
    await e.waitForJob(id, (j) => j.status === 'RECOVERING' || j.tasks[0].recoveryCount > 0, (HEARTBEAT_TIMEOUT_SECONDS + 60) * 1000);
    expect(Date.now() - killedAt).toBeGreaterThan((HEARTBEAT_TIMEOUT_SECONDS - 2) * 1000);
    const job = await e.waitForJob(id, finished);
    expect(job.status).toBe('SUCCEEDED');
    expect(job.tasks[0].recoveryCount).toBe(1);
    expect(await regionsUsed(e, id)).toEqual(['local-1', 'local-2']);
    const { attempts } = await jobAndAttempts(e, id);
    expect(attempts[0].outcome).toEqual({ kind: 'LOST', reason: expect.stringMatching(/heartbeat lost/) });
    const ids = taskIdsByAttempt(await logChunks(e, id));
    expect(new Set([...ids.values()].flat())).toEqual(new Set([job.tasks[0].taskId]));
  });

  it('losing one node of two recovers the whole task on fresh nodes', async () => {
    const id = await launchAndWaitRunning(yamlFile(dir, 'two.yaml', WORK('two', 'num_nodes: 2\n')));
    const p = await e.run(['local', 'preempt', '--node', '1', String(id)]);
    openGate('two');
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/Killed local-\d+-0-1-1 \(node 1/);
    expect(p.stdout).not.toMatch(/Killed local-\d+-0-1-0/);
    const job = await e.waitForJob(id, finished);
    expect(job.status).toBe('SUCCEEDED');
    expect(job.tasks[0].recoveryCount).toBe(1);
    const { attempts } = await jobAndAttempts(e, id);
    expect(attempts.map((a) => a.nodes.length)).toEqual([2, 2]);
    expect(attempts.map((a) => a.candidate.region)).toEqual(['local-1', 'local-2']);
    const out = attemptOutput(await logChunks(e, id), 2);
    expect(out).toContain('rank 0 done');
    expect(out).toContain('rank 1 done');
    expect(e.liveInstanceProcesses()).toEqual([]);
  });

  it('refuses to preempt a job that has ended, and a job that does not exist', async () => {
    const done = submittedId((await e.run(['jobs', 'launch', '-y', '-d', yamlFile(dir, 'quick.yaml', 'name: quick\nrun: echo hi\n')])).stdout);
    await e.waitForJob(done, finished);
    const r = await e.run(['local', 'preempt', String(done)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/has ended \(SUCCEEDED\)/);
    const missing = await e.run(['local', 'preempt', '99999']);
    expect(missing.code).toBe(102);
    expect(missing.stderr).toMatch(/managed job 99999 not found/);
  });
});
