// Issue 5: multi-node jobs on the embedded default, with real agent processes: `num_nodes: N` runs N
// agents that meet through the API (rendezvous), learn their rank and SKYPILOT_NODE_IPS, run setup
// on every node and then run on every node. One node's failure stops the others and the per-node
// exit codes decide; the loss of any node (also one that never registers) recovers the whole task
// on fresh nodes (docs/behaviour.md §3, §6).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startE2E, yamlFile, waitForFile, submittedId, REPO, type E2E } from './harness.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie is dead for our purposes.
  try {
    return !/^\d+ \(.*\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The controller log and each node's agent diagnostics: the message of an assertion on attempts. */
async function diagnose(e: E2E, id: number): Promise<string> {
  const timeline = (await e.run(['jobs', 'logs', '--controller', String(id)])).stdout;
  const dir = join(e.home, 'local', 'instances');
  const agents = readdirSync(dir)
    .filter((name) => name.startsWith(`local-${id}-`))
    .map((name) => `--- ${name}/agent.err\n${existsSync(join(dir, name, 'agent.err')) ? readFileSync(join(dir, name, 'agent.err'), 'utf8') : '(none)'}`);
  return [timeline, ...agents].join('\n');
}

interface Attempt {
  taskIndex: number;
  attempt: number;
  state: string;
  outcome?: { kind: string; exitCodes?: (number | null)[]; reason?: string };
  nodes: { rank: number; instanceId: string; ip?: string; runExitCode?: number }[];
}

describe('multi-node jobs on the local default', () => {
  let e: E2E;
  let dir: string;
  beforeAll(() => {
    // Generous detection timeouts: a loaded 2-core machine must not turn slowness into spurious
    // losses (the losses here are injected and reported at once). The never-registered node has its
    // own home (see its test), so no test depends on which job number another one got.
    e = startE2E({ SKYLESS_REGISTER_TIMEOUT_SECONDS: '25' });
    dir = mkdtempSync(join(tmpdir(), 'skyless-mn-'));
  });
  afterAll(async () => {
    await e.stop();
  });

  it('each node sees its rank, SKYPILOT_NUM_NODES=2 and the same two-line SKYPILOT_NODE_IPS; setup runs on both before run', async () => {
    const y = yamlFile(
      dir,
      'env2.yaml',
      [
        'name: env2',
        'num_nodes: 2',
        'setup: |',
        '  echo "setup-rank=$SKYPILOT_SETUP_NODE_RANK"',
        'run: |',
        '  echo "rank=$SKYPILOT_NODE_RANK num_nodes=$SKYPILOT_NUM_NODES"',
        '  echo "ips-begin"',
        '  echo "$SKYPILOT_NODE_IPS"',
        '  echo "ips-end"',
      ].join('\n'),
    );
    const r = await e.run(['jobs', 'launch', '-y', '--infra', 'local', y]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const id = submittedId(r.stdout);
    const { attempts } = await e.api<{ attempts: Attempt[] }>('GET', `/jobs/${id}`);
    expect(attempts, await diagnose(e, id)).toHaveLength(1);
    const ips = attempts[0].nodes.map((n) => n.ip);
    expect(ips).toEqual(['127.0.0.1', '127.0.0.2']);
    // Per node, from the stored output of each rank.
    for (const rank of [0, 1]) {
      const out = (await e.api<{ chunks: { node: number; text: string }[] }>('GET', `/jobs/${id}/logs`)).chunks
        .filter((c) => c.node === rank)
        .map((c) => c.text)
        .join('');
      expect(out).toContain(`setup-rank=${rank}\n`);
      expect(out).toContain(`rank=${rank} num_nodes=2\n`);
      expect(out).toContain(`ips-begin\n${ips.join('\n')}\nips-end\n`);
      // Setup finished on this node before its run started.
      expect(out.indexOf('setup-rank')).toBeLessThan(out.indexOf('rank='));
    }
    // The CLI marks multi-node output with the rank.
    expect(r.stdout).toContain('(rank 0) rank=0 num_nodes=2');
    expect(r.stdout).toContain('(rank 1) rank=1 num_nodes=2');
    expect(r.stdout).toContain('(rank 1) 127.0.0.1\n(rank 1) 127.0.0.2\n');
    const q = await e.run(['jobs', 'queue']);
    expect(q.stdout).toMatch(new RegExp(`\\b${id}\\s+-\\s+env2\\s+2x\\[CPU:1\\+\\]`));
  });

  it('rank 1 exits 29 and rank 0 exits 0 with recover_on_exit_codes [29]: recovers, then succeeds', async () => {
    const marker = join(dir, 'exit29-once');
    const y = yamlFile(
      dir,
      'exit29.yaml',
      [
        'name: exit29',
        'num_nodes: 2',
        'resources:',
        '  infra: local',
        '  job_recovery:',
        '    recover_on_exit_codes: [29]',
        'run: |',
        '  if [ "$SKYPILOT_NODE_RANK" = 1 ] && [ ! -e ' + marker + ' ]; then touch ' + marker + '; echo "rank 1 fails"; exit 29; fi',
        '  echo "rank $SKYPILOT_NODE_RANK ok"',
      ].join('\n'),
    );
    const r = await e.run(['jobs', 'launch', '-y', y], { timeoutMs: 240_000 });
    const id = submittedId(r.stdout);
    const timeline = (await e.run(['jobs', 'logs', '--controller', String(id)])).stdout;
    expect(r.code, timeline).toBe(0);
    expect(timeline).toMatch(/RUNNING → RECOVERING/);
    const job = await e.waitForJob(id, (j) => j.finalizedAt !== undefined);
    expect(job.tasks[0].recoveryCount).toBe(1);
    // A listed exit code recovers for free: no restart is counted.
    expect(job.tasks[0].restartCount).toBe(0);
    const { attempts } = await e.api<{ attempts: Attempt[] }>('GET', `/jobs/${id}`);
    expect(attempts, await diagnose(e, id)).toHaveLength(2);
    expect(attempts[0].outcome?.kind).toBe('RUN_FAILED');
    expect(attempts[0].outcome?.exitCodes?.[1]).toBe(29);
    expect([0, null]).toContain(attempts[0].outcome?.exitCodes?.[0]);
    expect(attempts[1].outcome?.kind).toBe('SUCCEEDED');
    expect(r.stdout).toContain('rank 1 fails');
    expect(r.stdout).toContain('(rank 1) rank 1 ok');
  });

  it('when one node fails the others are stopped, and the job FAILS by the per-node codes', async () => {
    const pidFile = join(dir, 'rank0.pid');
    const y = yamlFile(
      dir,
      'onefails.yaml',
      [
        'name: onefails',
        'num_nodes: 2',
        'resources:',
        '  infra: local',
        'run: |',
        `  if [ "$SKYPILOT_NODE_RANK" = 0 ]; then echo $$ > ${pidFile}; sleep 300; fi`,
        `  while [ ! -e ${pidFile} ]; do sleep 0.1; done`,
        '  exit 3',
      ].join('\n'),
    );
    const r = await e.run(['jobs', 'launch', '-y', y], { timeoutMs: 240_000 });
    expect(r.code, r.stdout).toBe(100);
    const id = submittedId(r.stdout);
    const job = await e.waitForJob(id, (j) => j.finalizedAt !== undefined);
    expect(job.status).toBe('FAILED');
    expect(job.tasks[0].failureReason).toMatch(/3/);
    const { attempts } = await e.api<{ attempts: Attempt[] }>('GET', `/jobs/${id}`);
    expect(attempts[0].outcome, await diagnose(e, id)).toEqual({ kind: 'RUN_FAILED', exitCodes: [null, 3] });
    // Rank 0's sleeping command was stopped, not left running for 300 s.
    expect(alive(Number(readFileSync(pidFile, 'utf8')))).toBe(false);
    expect(e.liveInstanceProcesses()).toEqual([]);
  });

  it('preempting only node 1 recovers the whole task on two new nodes', async () => {
    const started = join(dir, 'preempt-started');
    const y = yamlFile(
      dir,
      'pre2.yaml',
      [
        'name: pre2',
        'num_nodes: 2',
        'resources:',
        '  infra: local',
        'run: |',
        `  if [ ! -e ${started}-$SKYPILOT_NODE_RANK ]; then touch ${started}-$SKYPILOT_NODE_RANK; echo "first run on rank $SKYPILOT_NODE_RANK"; sleep 300; fi`,
        '  echo "second run on rank $SKYPILOT_NODE_RANK"',
      ].join('\n'),
    );
    const id = submittedId((await e.run(['jobs', 'launch', '-y', '-d', y])).stdout);
    await e.waitForJob(id, (j) => j.status === 'RUNNING');
    await waitForFile(`${started}-0`);
    await waitForFile(`${started}-1`);
    const p = await e.run(['local', 'preempt', String(id), '--node', '1']);
    expect(p.code, p.stdout + p.stderr).toBe(0);
    expect(p.stdout, await diagnose(e, id)).toContain(`Killed local-${id}-0-1-1 (node 1`);
    expect(p.stdout).not.toContain(`local-${id}-0-1-0`);
    const job = await e.waitForJob(id, (j) => j.finished);
    const timeline = (await e.run(['jobs', 'logs', '--controller', String(id)])).stdout;
    expect(job.status, timeline).toBe('SUCCEEDED');
    expect(timeline).toMatch(/RUNNING → RECOVERING/);
    expect(timeline).toMatch(/RECOVERING → RUNNING/);
    expect(job.tasks[0].recoveryCount, await diagnose(e, id)).toBe(1);
    expect(job.tasks[0].restartCount).toBe(0);
    const { attempts } = await e.api<{ attempts: Attempt[] }>('GET', `/jobs/${id}`);
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2]);
    expect(attempts[0].outcome?.kind).toBe('LOST');
    const first = attempts[0].nodes.map((n) => n.instanceId);
    const second = attempts[1].nodes.map((n) => n.instanceId);
    expect(first).toEqual([`local-${id}-0-1-0`, `local-${id}-0-1-1`]);
    expect(second).toEqual([`local-${id}-0-2-0`, `local-${id}-0-2-1`]);
    // Both ranks of the new attempt are new machines (no instance is reused).
    expect(second.filter((i) => first.includes(i))).toEqual([]);
    const logs = (await e.run(['jobs', 'logs', '--no-follow', String(id)])).stdout;
    expect(logs).toContain('(rank 0) second run on rank 0');
    expect(logs).toContain('(rank 1) second run on rank 1');
    // The surviving rank 0 of attempt 1 was torn down with the rest of its attempt.
    expect(e.liveInstanceProcesses()).toEqual([]);
    // The controller log names the lost attempt.
    const ctl = await e.run(['jobs', 'logs', '--controller', String(id)]);
    expect(ctl.stdout).toMatch(/attempt 1 lost/);
  });

  it('a node that never registers within the registration timeout counts as a loss', async () => {
    // Its own home, where this is job 1: SKYLESS_LOCAL_BOOT_HANG=local-1-0-1-1 makes node 1 of
    // attempt 1 boot a machine whose agent never starts. Node 0 registers and waits at the rendezvous.
    const own = startE2E({ SKYLESS_LOCAL_BOOT_HANG: 'local-1-0-1-1', SKYLESS_REGISTER_TIMEOUT_SECONDS: '25' });
    try {
      await bootHang(own);
    } finally {
      await own.stop();
    }
  });

  async function bootHang(e: E2E): Promise<void> {
    const y = yamlFile(dir, 'hang.yaml', ['name: hang', 'num_nodes: 2', 'resources:', '  infra: local', 'run: echo "rank $SKYPILOT_NODE_RANK ran"'].join('\n'));
    const t0 = Date.now();
    const r = await e.run(['jobs', 'launch', '-y', y], { timeoutMs: 240_000 });
    const id = submittedId(r.stdout);
    expect(id).toBe(1); // the home is this test's own
    const timeline = (await e.run(['jobs', 'logs', '--controller', String(id)])).stdout;
    expect(r.code, timeline).toBe(0);
    // Not before the 25 s registration timeout.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25_000);
    expect(timeline).toMatch(/attempt 1 lost: a node never registered within the registration timeout/);
    expect(timeline).toMatch(/STARTING → RECOVERING/);
    const { attempts } = await e.api<{ attempts: Attempt[] }>('GET', `/jobs/${id}`);
    expect(attempts, await diagnose(e, id)).toHaveLength(2);
    expect(attempts[0].outcome).toEqual({ kind: 'LOST', reason: 'a node never registered within the registration timeout' });
    expect(attempts[0].nodes.map((n) => n.instanceId)).toEqual(['local-1-0-1-0', 'local-1-0-1-1']);
    expect(attempts[1].outcome?.kind).toBe('SUCCEEDED');
    expect(r.stdout).toContain('(rank 1) rank 1 ran');
    const hung = readFileSync(join(e.home, 'local', 'instances', 'local-1-0-1-1', 'agent.err'), 'utf8');
    expect(hung).toContain('boot hang injected');
    const job = await e.waitForJob(id, (j) => j.finalizedAt !== undefined);
    expect(job.tasks[0].recoveryCount).toBe(1);
    expect(e.liveInstanceProcesses()).toEqual([]);
  }

  it('runs examples/multinode.yaml', async () => {
    const r = await e.run(['jobs', 'launch', '-y', join(REPO, 'examples', 'multinode.yaml')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('(rank 0) setup on node 0');
    expect(r.stdout).toContain('(rank 1) setup on node 1');
    expect(r.stdout).toContain('(rank 0) node 0 of 2; head node at 127.0.0.1');
    expect(r.stdout).toContain('(rank 1) node 1 of 2; head node at 127.0.0.1');
  });
});
