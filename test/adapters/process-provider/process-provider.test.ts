// The local process provider with real agents (bash agent/agent.sh) talking to the API double.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ProcessProvider,
  STATE_REASON,
  findMachineProcesses,
  isProcessAlive,
  type LocalInstanceRecord,
} from '../../../adapters/local/process-provider.ts';
import { AGENT_SCRIPT_PATH } from '../../../agent/protocol.ts';
import { CapacityError, PrecheckError } from '../../../core/errors.ts';
import type { LaunchRequest } from '../../../core/ports.ts';
import type { Candidate } from '../../../core/optimizer/types.ts';
import { AgentApiDouble } from '../../support/agent-api-double.ts';
import { readPid, waitForFile } from '../../agent/helpers.ts';

const candidate: Candidate = {
  cloud: 'local',
  region: 'local-1',
  zones: ['local-1a', 'local-1b'],
  instanceType: 'local.small',
  vcpus: 1,
  memoryGb: 1,
  spot: true,
  hourlyPrice: 0,
  requestIndex: 0,
};

let stateDir: string;
let double: AgentApiDouble;
let provider: ProcessProvider;

const request = (over: Partial<LaunchRequest> = {}): LaunchRequest => ({
  jobId: 7,
  taskIndex: 0,
  attempt: 1,
  numNodes: 2,
  candidate,
  diskSizeGb: 10,
  bootstrap: { apiUrl: double.url, tokens: double.tokens },
  ...over,
});

const record = (instanceId: string): LocalInstanceRecord =>
  JSON.parse(readFileSync(path.join(stateDir, 'instances', instanceId, 'instance.json'), 'utf8'));

/** PID of the user's `run` command on an instance (the run script writes it). */
async function runPid(instanceId: string): Promise<number> {
  const file = path.join(stateDir, 'instances', instanceId, 'run.pid');
  await waitForFile(file);
  return readPid(file);
}

beforeEach(async () => {
  stateDir = mkdtempSync(path.join(tmpdir(), 'skyless-provider-'));
  double = await AgentApiDouble.start({ numNodes: 2, run: 'echo $$ > "$HOME/run.pid"; sleep 300' });
  provider = new ProcessProvider({ stateDir, agentScript: AGENT_SCRIPT_PATH, env: { SKYLESS_KILL_GRACE_SECONDS: '1' } });
});

afterEach(async () => {
  // Kill by PID and marker, independently of the provider under test.
  const instances = path.join(stateDir, 'instances');
  for (const id of existsSync(instances) ? readdirSync(instances) : []) {
    const pid = record(id).pid;
    for (const target of [...(pid ? [-pid] : []), ...findMachineProcesses(path.join(instances, id))]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  await double.close();
  rmSync(stateDir, { recursive: true, force: true });
});

describe('ProcessProvider', () => {
  it('launches one detached agent per node, tagged, with distinct IPs, that register and run', async () => {
    const launched = await provider.launch(request());
    expect(launched).toEqual([
      { instanceId: 'local-7-0-1-0', node: 0, zone: 'local-1a', ip: '127.0.0.1' },
      { instanceId: 'local-7-0-1-1', node: 1, zone: 'local-1a', ip: '127.0.0.2' },
    ]);
    for (const { instanceId } of launched) {
      const pid = record(instanceId).pid!;
      expect(isProcessAlive(pid)).toBe(true);
      expect(isProcessAlive(await runPid(instanceId))).toBe(true);
    }
    expect(double.node(0).ip).toBe('127.0.0.1');
    expect(double.node(1).ip).toBe('127.0.0.2');

    const described = await provider.describe();
    expect(described).toEqual([0, 1].map((node) => ({
      instanceId: `local-7-0-1-${node}`,
      cloud: 'local',
      region: 'local-1',
      zone: 'local-1a',
      state: 'running',
      tags: { 'skyless:job': '7', 'skyless:task': '0', 'skyless:attempt': '1', 'skyless:node': String(node) },
    })));
    expect(await provider.describe({ jobId: 8 })).toEqual([]);
    expect(await provider.describe({ regions: ['local-2'] })).toEqual([]);
    expect(await provider.describe({ jobId: 7, regions: ['local-1'] })).toHaveLength(2);
  });

  it('terminate kills every process of each machine and is safe to repeat', async () => {
    const launched = await provider.launch(request());
    const pids = [];
    for (const { instanceId } of launched) pids.push(record(instanceId).pid!, await runPid(instanceId));

    await provider.terminate(7, 0, 1);
    expect(pids.filter((pid) => isProcessAlive(pid))).toEqual([]);
    const expectTerminated = async () => {
      for (const instance of await provider.describe({ jobId: 7 })) {
        expect(instance.state).toBe('terminated');
        expect(instance.stateReason).toBe(STATE_REASON.userInitiated);
      }
    };
    await expectTerminated();
    await provider.terminate(7, 0, 1);
    await expectTerminated();
    // Another attempt's terminate touches nothing of this one (and nothing at all here).
    await provider.terminate(7, 0, 2);
    expect(double.node(0).exits.map((e) => e.phase)).toEqual(['SETUP']);
  });

  it('a repeated launch of the same attempt creates only the missing nodes', async () => {
    const [first, second] = await Promise.all([provider.launch(request()), provider.launch(request())]);
    expect(second).toEqual(first);
    const pids = first.map(({ instanceId }) => record(instanceId).pid);
    expect(await provider.launch(request())).toEqual(first);
    expect(first.map(({ instanceId }) => record(instanceId).pid)).toEqual(pids);
    expect(readdirSync(path.join(stateDir, 'instances')).sort()).toEqual(['local-7-0-1-0', 'local-7-0-1-1']);
  });

  it('only the missing node is spawned when some already exist', async () => {
    const single = await AgentApiDouble.start({ numNodes: 1, run: 'sleep 300' });
    try {
      const tokens = [single.tokens[0], double.tokens[1]];
      await provider.launch(request({ numNodes: 1, bootstrap: { apiUrl: single.url, tokens: [tokens[0]] } }));
      const firstPid = record('local-7-0-1-0').pid;
      const launched = await provider.launch(request({ bootstrap: { apiUrl: double.url, tokens } }));
      expect(launched.map((l) => l.instanceId)).toEqual(['local-7-0-1-0', 'local-7-0-1-1']);
      expect(record('local-7-0-1-0').pid).toBe(firstPid);
      expect(isProcessAlive(record('local-7-0-1-1').pid!)).toBe(true);
    } finally {
      await single.close();
    }
  });

  it('describe reports a machine that died on its own as terminated (Local.ProcessExited)', async () => {
    await provider.launch(request());
    const victim = record('local-7-0-1-1').pid!;
    const orphan = await runPid('local-7-0-1-1');
    process.kill(-victim, 'SIGKILL'); // the agent's group only: the user's session lives on
    const deadline = Date.now() + 60_000;
    while (isProcessAlive(victim) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));

    const byId = Object.fromEntries((await provider.describe()).map((i) => [i.instanceId, i]));
    expect(byId['local-7-0-1-0']).toMatchObject({ state: 'running' });
    expect(byId['local-7-0-1-1']).toMatchObject({ state: 'terminated', stateReason: STATE_REASON.processExited });
    // Tearing the attempt down still finds the orphaned user process by its machine marker.
    expect(isProcessAlive(orphan)).toBe(true);
    await provider.terminate(7, 0, 1);
    expect(isProcessAlive(orphan)).toBe(false);
  });

  it('kill() takes a whole machine down, reporting the given reason (local preempt)', async () => {
    await provider.launch(request());
    const pids = [record('local-7-0-1-0').pid!, await runPid('local-7-0-1-0')];
    expect(await provider.kill('local-7-0-1-0', 'SIGKILL', 'Server.SpotInstanceTermination')).toBeGreaterThan(0);
    const deadline = Date.now() + 60_000;
    while (pids.some((pid) => isProcessAlive(pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(pids.filter((pid) => isProcessAlive(pid))).toEqual([]);
    const instance = (await provider.describe()).find((i) => i.instanceId === 'local-7-0-1-0');
    expect(instance).toMatchObject({ state: 'terminated', stateReason: 'Server.SpotInstanceTermination' });
  });

  it('consults the fault source: a zone-scoped capacity error moves to the next zone, a region-scoped one throws', async () => {
    const zoneFull = new ProcessProvider({
      stateDir,
      agentScript: AGENT_SCRIPT_PATH,
      faults: {
        launchError: (region, zone) =>
          zone === 'local-1a' ? new CapacityError('no capacity', 'zone', { cloud: 'local', region, zone }) : undefined,
      },
    });
    const launched = await zoneFull.launch(request());
    expect(launched.map((l) => l.zone)).toEqual(['local-1b', 'local-1b']);
    await zoneFull.terminate(7, 0, 1);

    const regionFull = new ProcessProvider({
      stateDir,
      agentScript: AGENT_SCRIPT_PATH,
      faults: { launchError: (region) => new CapacityError('quota', 'region', { cloud: 'local', region }) },
    });
    await expect(regionFull.launch(request({ attempt: 2 }))).rejects.toBeInstanceOf(CapacityError);
    expect(existsSync(path.join(stateDir, 'instances', 'local-7-0-2-0'))).toBe(false);
  });

  it('refuses a candidate of another cloud', async () => {
    await expect(provider.launch(request({ candidate: { ...candidate, cloud: 'aws' } }))).rejects.toBeInstanceOf(PrecheckError);
  });

  it('agents outlive the process that launched them; a new provider on the same state dir sees them', async () => {
    const fixture = fileURLToPath(new URL('./launch-and-exit.ts', import.meta.url));
    const output = execFileSync(process.execPath, ['--import', 'tsx', fixture, JSON.stringify({ stateDir, request: request() })], {
      encoding: 'utf8',
    });
    expect(JSON.parse(output).map((l: { instanceId: string }) => l.instanceId)).toEqual(['local-7-0-1-0', 'local-7-0-1-1']);
    await runPid('local-7-0-1-0');
    const beats = double.node(0).heartbeats.length;
    await double.waitFor(() => double.node(0).heartbeats.length > beats + 1, 'heartbeats after the launcher exited');
    expect((await provider.describe()).map((i) => i.state)).toEqual(['running', 'running']);
    await provider.terminate(7, 0, 1);
    expect((await provider.describe()).map((i) => i.state)).toEqual(['terminated', 'terminated']);
  });
});
