// Real agent processes against the API double: cancellation, 410, an API that goes away, log
// chunking, cloud interruption notices.

import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { AgentApiDouble } from '../support/agent-api-double.ts';
import { agentExit, isProcessAlive, readPid, sleep, startAgent, stopAllAgents, waitForFile } from './helpers.ts';

/**
 * The user processes still alive after the agent exited, polled until none is (or a generous
 * deadline). The agent has sent SIGKILL to their group by then; on a loaded machine the kernel may
 * take a while to end them.
 */
async function survivors(pids: number[], withinMs = 15_000): Promise<number[]> {
  const deadline = Date.now() + withinMs;
  let alive = pids.filter((pid) => isProcessAlive(pid));
  while (alive.length && Date.now() < deadline) {
    await sleep(50);
    alive = alive.filter((pid) => isProcessAlive(pid));
  }
  return alive;
}

let double: AgentApiDouble | undefined;
afterEach(async () => {
  await stopAllAgents();
  await double?.close();
  double = undefined;
});

const phases = (d: AgentApiDouble, node: number) => d.node(node).exits.map((e) => [e.phase, e.exitCode]);

/**
 * A run that leaves a process tree behind: a child, and a grandchild that ignores TERM (so only the
 * agent's KILL after the grace period ends it). Each writes its PID under $HOME.
 */
const STUBBORN_TREE = [
  'echo started',
  'sleep 300 & echo $! > "$HOME/child.pid"',
  `bash -c 'trap "" TERM; echo $$ > "$HOME/stubborn.pid"; sleep 300; echo survived' &`,
  'echo $$ > "$HOME/main.pid"',
  'wait',
].join('\n');

async function treePids(home: string): Promise<number[]> {
  for (const name of ['child.pid', 'stubborn.pid', 'main.pid']) await waitForFile(path.join(home, name));
  return ['child.pid', 'stubborn.pid', 'main.pid'].map((name) => readPid(path.join(home, name)));
}

describe('agent: stopping', () => {
  it('CANCEL from a heartbeat kills the whole user process tree, ships its output, reports no exit', async () => {
    double = await AgentApiDouble.start({ numNodes: 1, run: STUBBORN_TREE });
    const agent = startAgent(double, 0);
    const pids = await treePids(agent.home);
    expect(pids.every((pid) => isProcessAlive(pid))).toBe(true);
    double.cancel();
    expect(await agentExit(agent)).toBe(0);
    expect(await survivors(pids)).toEqual([]);
    expect(double.logText(0)).toBe('started\n');
    expect(phases(double, 0)).toEqual([['SETUP', 0]]);
  });

  it('410 Gone stops the agent and kills the user processes', async () => {
    double = await AgentApiDouble.start({ numNodes: 1, run: STUBBORN_TREE });
    const agent = startAgent(double, 0);
    const pids = await treePids(agent.home);
    double.end();
    expect(await agentExit(agent)).toBe(0);
    expect(await survivors(pids)).toEqual([]);
    expect(agent.stderr()).toContain('stopping: gone');
  });

  it('TERM to the agent kills the user processes too', async () => {
    double = await AgentApiDouble.start({ numNodes: 1, run: STUBBORN_TREE });
    const agent = startAgent(double, 0);
    const pids = await treePids(agent.home);
    process.kill(agent.pid, 'SIGTERM');
    await agentExit(agent);
    expect(await survivors(pids)).toEqual([]);
  });

  it('gives up, killing the user processes, when the API stays away longer than its patience', async () => {
    double = await AgentApiDouble.start({ numNodes: 1, run: STUBBORN_TREE });
    const agent = startAgent(double, 0, { env: { SKYLESS_API_PATIENCE_SECONDS: '2' } });
    const pids = await treePids(agent.home);
    await double.stopListening();
    expect(await agentExit(agent)).toBe(1);
    expect(await survivors(pids)).toEqual([]);
    expect(agent.stderr()).toContain('API unreachable for 2s');
  });
});

describe('agent: an API that goes away and comes back', () => {
  it('503s while setup ends: the report is retried, setup is not re-run, run follows', async () => {
    double = await AgentApiDouble.start({
      numNodes: 1,
      setup: 'echo x >> "$HOME/setup-count"; sleep 1; echo setup-done',
      run: 'echo x >> "$HOME/run-count"; echo run-done',
    });
    const agent = startAgent(double, 0);
    await waitForFile(path.join(agent.home, 'setup-count'));
    double.unavailableFor(3000);
    expect(await agentExit(agent)).toBe(0);
    expect(readFileSync(path.join(agent.home, 'setup-count'), 'utf8')).toBe('x\n');
    expect(readFileSync(path.join(agent.home, 'run-count'), 'utf8')).toBe('x\n');
    expect(phases(double, 0)).toEqual([
      ['SETUP', 0],
      ['RUN', 0],
    ]);
    expect(double.logText(0)).toBe('setup-done\nrun-done\n');
    expect(double.node(0).logConflicts).toEqual([]);
  });

  it('connection refused during run: the agent carries on and every log byte arrives once in order', async () => {
    double = await AgentApiDouble.start({
      numNodes: 1,
      run: 'echo x >> "$HOME/run-count"; for i in 1 2 3 4 5 6; do echo "tick $i"; echo $i > "$HOME/tick"; sleep 0.5; done',
    });
    const agent = startAgent(double, 0);
    await waitForFile(path.join(agent.home, 'run-count'));
    await double.stopListening();
    // Down until the run has printed output the agent could not ship (tick 3 or later), however
    // slowly the machine runs it.
    const tick = path.join(agent.home, 'tick');
    await double.waitFor(() => existsSync(tick) && Number(readFileSync(tick, 'utf8')) >= 3, 'the run to print while the API was down');
    await double.resumeListening();
    expect(await agentExit(agent)).toBe(0);
    expect(readFileSync(path.join(agent.home, 'run-count'), 'utf8')).toBe('x\n');
    expect(double.logText(0)).toBe([1, 2, 3, 4, 5, 6].map((i) => `tick ${i}\n`).join(''));
    expect(phases(double, 0)).toEqual([
      ['SETUP', 0],
      ['RUN', 0],
    ]);
  });
});

describe('agent: logs', () => {
  it('ships a log larger than logChunkBytes complete, in order, in bounded chunks, each offset once', async () => {
    const chunk = 1000;
    double = await AgentApiDouble.start({ numNodes: 1, logChunkBytes: chunk, setup: 'seq 1 3000', run: 'seq 3001 12000 >&2' });
    const agent = startAgent(double, 0);
    expect(await agentExit(agent)).toBe(0);
    const expected = Array.from({ length: 12000 }, (_, i) => `${i + 1}\n`).join('');
    expect(double.logText(0)).toBe(expected);
    const posts = double.node(0).logPosts;
    expect(posts.every((p) => p.length > 0 && p.length <= chunk)).toBe(true);
    // In order and contiguous: each post starts where the previous one ended.
    posts.forEach((post, i) => expect(post.offset).toBe(i === 0 ? 0 : posts[i - 1].offset + posts[i - 1].length));
    expect(double.node(0).exits[1].logBytes).toBe(expected.length);
  });
});

describe('agent: interruption notices', () => {
  it('aws: reports the IMDSv2 spot/instance-action notice once and carries on', async () => {
    double = await AgentApiDouble.start({ numNodes: 1, run: 'echo started; sleep 300' });
    const agent = startAgent(double, 0, { cloud: 'aws' });
    await double.waitFor(() => double!.logText(0) === 'started\n', 'run to start');
    double.interruptSpot('{"action":"terminate","time":"2030-01-01T00:00:00Z"}');
    await double.waitFor(() => double!.node(0).interrupted.length > 0, 'the interruption report');
    // It carries on: two more heartbeats after the report (each about a poll interval apart), and
    // the notice, still up, was not reported again meanwhile.
    const reportedAt = Date.now();
    await double.waitFor(() => double!.node(0).heartbeats.filter((h) => h.at > reportedAt).length >= 2, 'heartbeats after the report');
    expect(double.node(0).interrupted).toEqual(['aws interruption notice: {"action":"terminate","time":"2030-01-01T00:00:00Z"}']);
    expect(isProcessAlive(agent.pid)).toBe(true);
  });

  it('gcp: reports instance/preempted turning TRUE', async () => {
    double = await AgentApiDouble.start({ numNodes: 1, run: 'echo started; sleep 300' });
    startAgent(double, 0, { cloud: 'gcp' });
    await double.waitFor(() => double!.logText(0) === 'started\n', 'run to start');
    expect(double.node(0).interrupted).toEqual([]);
    double.preemptGce();
    await double.waitFor(() => double!.node(0).interrupted.length > 0, 'the interruption report');
    expect(double.node(0).interrupted).toEqual(['gcp interruption notice: TRUE']);
  });
});
