// Issue 4: launch failover on the local default. Capacity, quota and precheck faults are set with
// `skyless local faults` (a file the control plane reads at every launch) and make the local
// provider fail the way EC2 does: zone-, region- or cloud-scoped errors the launch walk blocks.
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startE2E, launchDetached, type E2E } from './harness.ts';
import { jobAndAttempts, regionsUsed, controllerEvents, transitions, finished, waitNoProcesses } from './recovery-helpers.ts';

describe('launch failover with injected capacity faults', () => {
  let e: E2E;
  let dir: string;
  beforeAll(() => {
    e = startE2E();
    dir = mkdtempSync(join(tmpdir(), 'skyless-launch-'));
  });
  afterEach(async () => {
    await e.run(['local', 'faults', 'clear']);
  });
  afterAll(async () => {
    await e.stop();
  });

  const launch = (name: string, text: string) => launchDetached(e, dir, name, text);

  it('faults set|show|clear edit the faults file and reject what cannot be', async () => {
    const set = await e.run(['local', 'faults', 'set', '--region', 'local-1', '--scope', 'region']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('region local-1: capacity error blocking the region');
    const show = await e.run(['local', 'faults', 'show']);
    expect(show.stdout).toMatch(/Launch faults \(.*faults\.json\):\n {2}region local-1: capacity error blocking the region\n/);
    const bad = await e.run(['local', 'faults', 'set', '--region', 'local-9']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/cloud local has no region 'local-9' \(regions: local-1, local-2, local-3\)/);
    const badZone = await e.run(['local', 'faults', 'set', '--region', 'local-1', '--zone', 'local-2a']);
    expect(badZone.code).toBe(2);
    expect(badZone.stderr).toMatch(/region local-1 has no zone 'local-2a'/);
    const badKind = await e.run(['local', 'faults', 'set', '--kind', 'flood']);
    expect(badKind.code).toBe(2);
    expect(badKind.stderr).toMatch(/kind must be one of capacity, quota, precheck, error, slow/);
    const clear = await e.run(['local', 'faults', 'clear']);
    expect(clear.stdout).toContain('Cleared 1 fault(s); 0 left.');
    expect((await e.run(['local', 'faults', 'show'])).stdout).toMatch(/^No launch faults/);
  });

  it('capacity gone in the cheapest region → launched in the next region', async () => {
    expect((await e.run(['local', 'faults', 'set', '--region', 'local-1', '--scope', 'region', '--kind', 'quota'])).code).toBe(0);
    const id = await launch('next-region', 'name: nextregion\nrun: echo ran-in-$SKYPILOT_NUM_NODES-node\n');
    const job = await e.waitForJob(id, finished);
    expect(job.status).toBe('SUCCEEDED');
    expect(job.tasks[0].recoveryCount).toBe(0);
    expect(await regionsUsed(e, id)).toEqual(['local-2']);
    const events = await controllerEvents(e, id);
    expect(events.some((ev) => /VcpuLimitExceeded.*→ blocking region local\/local-1/.test(ev.reason))).toBe(true);
    expect(transitions(events)).toEqual(['PENDING → STARTING', 'STARTING → RUNNING', 'RUNNING → SUCCEEDED']);
  });

  it('a zone without capacity → the next zone of the same region', async () => {
    expect((await e.run(['local', 'faults', 'set', '--region', 'local-1', '--zone', 'local-1a', '--scope', 'zone'])).code).toBe(0);
    const id = await launch('next-zone', 'name: nextzone\nrun: echo hi\n');
    const job = await e.waitForJob(id, finished);
    expect(job.status).toBe('SUCCEEDED');
    const { attempts } = await jobAndAttempts(e, id);
    expect(attempts.map((a) => [a.candidate.region, a.zone])).toEqual([['local-1', 'local-1b']]);
  });

  it('all regions gone → PENDING in back-off, then capacity returns → RUNNING → SUCCEEDED', async () => {
    expect((await e.run(['local', 'faults', 'set', '--scope', 'cloud'])).code).toBe(0);
    const id = await launch('backoff', 'name: backoff\nrun: echo came-back\n');
    // At least two full walks fail (back-off is 1–2 s in the e2e settings), each ending PENDING.
    const pending = await e.waitForJob(id, (j) => (j.tasks[0] as { blockedRounds?: number }).blockedRounds! >= 2);
    expect(pending.status).toBe('PENDING');
    expect((pending.tasks[0] as { nextLaunchAt?: number }).nextLaunchAt).toBeGreaterThan(0);
    expect((await jobAndAttempts(e, id)).attempts).toEqual([]);
    expect((await e.run(['local', 'faults', 'clear'])).code).toBe(0);
    const job = await e.waitForJob(id, finished);
    expect(job.status).toBe('SUCCEEDED');
    expect(job.tasks[0].recoveryCount).toBe(0);
    expect(await regionsUsed(e, id)).toEqual(['local-1']);
    const t = transitions(await controllerEvents(e, id));
    expect(t.slice(0, 4)).toEqual(['PENDING → STARTING', 'STARTING → PENDING', 'PENDING → STARTING', 'STARTING → PENDING']);
    expect(t.slice(-2)).toEqual(['STARTING → RUNNING', 'RUNNING → SUCCEEDED']);
    const ctl = await e.run(['jobs', 'logs', '--controller', String(id)]);
    expect(ctl.stdout).toMatch(/STARTING → PENDING\s+no capacity in any candidate \(attempt 1\): InsufficientInstanceCapacity.*; retrying in \d+ s/);
  });

  it('max_launch_attempts reached with every region gone → FAILED_NO_RESOURCE', async () => {
    expect((await e.run(['local', 'faults', 'set', '--scope', 'cloud', '--kind', 'quota'])).code).toBe(0);
    const id = await launch('limit', 'name: limit\nresources:\n  job_recovery:\n    max_launch_attempts: 2\nrun: echo never\n');
    const job = await e.waitForJob(id, finished);
    expect(job.status).toBe('FAILED_NO_RESOURCE');
    expect(job.tasks[0].failureReason).toMatch(/no capacity after 2 launch attempt\(s\) \(max_launch_attempts: 2\)/);
    expect(job.tasks[0].recoveryCount).toBe(0);
    expect(await regionsUsed(e, id)).toEqual([]);
    const status = await e.run(['jobs', 'logs', '--no-follow', String(id)]);
    expect(status.code).toBe(100);
  });

  it('only precheck failures → FAILED_PRECHECKS, never retried', async () => {
    expect((await e.run(['local', 'faults', 'set', '--kind', 'precheck'])).code).toBe(0);
    const id = await launch('precheck', 'name: precheck\nrun: echo never\n');
    const job = await e.waitForJob(id, finished);
    expect(job.status).toBe('FAILED_PRECHECKS');
    expect(job.tasks[0].failureReason).toMatch(/every candidate failed its precheck: InvalidParameterValue/);
    expect((job.tasks[0] as { blockedRounds?: number }).blockedRounds).toBe(0);
  });

  it('an unexpected error after instances were created → FAILED_CONTROLLER, instances torn down, reason recorded', async () => {
    expect((await e.run(['local', 'faults', 'set', '--kind', 'error', '--region', 'local-1'])).code).toBe(0);
    const id = await launch('ctlerr', 'name: ctlerr\nnum_nodes: 2\nrun: sleep 60\n');
    const job = await e.waitForJob(id, finished);
    expect(job.status).toBe('FAILED_CONTROLLER');
    expect(job.tasks[0].failureReason).toMatch(/controller error: Error: unexpected error after launching local-\d+-0-1-0, local-\d+-0-1-1 in local-1/);
    // The instances existed only in the "cloud" (no attempt record yet); skyless terminated them all
    // the same (state terminated in the local cloud's own records, not merely exited).
    expect(await waitNoProcesses(e)).toEqual([]);
    for (const node of [0, 1]) {
      const rec = JSON.parse(readFileSync(join(e.home, 'local', 'instances', `local-${id}-0-1-${node}`, 'instance.json'), 'utf8'));
      expect(rec).toMatchObject({ state: 'terminated', stateReason: 'Client.UserInitiatedShutdown' });
    }
    const { attempts } = await jobAndAttempts(e, id);
    expect(attempts).toEqual([]);
    const ctl = await e.run(['jobs', 'logs', '--controller', String(id)]);
    expect(ctl.stdout).toMatch(/STARTING → FAILED_CONTROLLER\s+controller error: Error: unexpected error after launching/);
    expect(ctl.code).toBe(100);
  });
});
