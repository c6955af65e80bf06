// Real agent processes (bash agent/agent.sh) against the API double: the happy path, failures,
// environment, files and multi-node rendezvous.

import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AgentApiDouble } from '../support/agent-api-double.ts';
import { FILES_FAILED_EXIT_CODE } from '../../agent/protocol.ts';
import { agentExit, startAgent, stopAllAgents, tarGz } from './helpers.ts';

let double: AgentApiDouble | undefined;
afterEach(async () => {
  await stopAllAgents();
  await double?.close();
  double = undefined;
});

const phases = (d: AgentApiDouble, node: number) => d.node(node).exits.map((e) => [e.phase, e.exitCode]);

describe('agent: one node', () => {
  it('runs setup then run, ships the output and reports exit codes in order, logs first', async () => {
    double = await AgentApiDouble.start({
      numNodes: 1,
      setup: 'echo "setup on rank $SKYPILOT_SETUP_NODE_RANK in $PWD"',
      run: 'echo "run: setup rank=${SKYPILOT_SETUP_NODE_RANK-unset} token=${SKYLESS_AGENT_TOKEN-unset}"\nexit 3',
    });
    const agent = startAgent(double, 0);
    expect(await agentExit(agent)).toBe(0);
    const node = double.node(0);
    expect(phases(double, 0)).toEqual([
      ['SETUP', 0],
      ['RUN', 3],
    ]);
    expect(double.logText(0)).toBe(`setup on rank 0 in ${agent.workDir}\nrun: setup rank=unset token=unset\n`);
    // Every byte was shipped before each exit report.
    expect(node.exits[0].logBytes).toBe(`setup on rank 0 in ${agent.workDir}\n`.length);
    expect(node.exits[1].logBytes).toBe(double.log(0).length);
    expect(node.ip).toBe('10.0.0.1');
    expect(node.heartbeats.length).toBeGreaterThan(0);
    expect(node.logConflicts).toEqual([]);
  });

  it('runs when bootstrapped from GET /agent/agent.sh', async () => {
    double = await AgentApiDouble.start({ numNodes: 1, run: 'echo bootstrapped' });
    const agent = startAgent(double, 0, { bootstrap: true });
    expect(await agentExit(agent)).toBe(0);
    expect(double.logText(0)).toBe('bootstrapped\n');
    expect(phases(double, 0)).toEqual([
      ['SETUP', 0],
      ['RUN', 0],
    ]);
  });

  it('stops after a failed setup without starting run', async () => {
    double = await AgentApiDouble.start({ numNodes: 1, setup: 'echo broken; exit 7', run: 'touch "$HOME/run-started"' });
    const agent = startAgent(double, 0);
    expect(await agentExit(agent)).toBe(0);
    expect(phases(double, 0)).toEqual([['SETUP', 7]]);
    expect(double.logText(0)).toBe('broken\n');
    expect(existsSync(path.join(agent.home, 'run-started'))).toBe(false);
  });

  it('reports SETUP 0 and RUN 0 for a task with neither', async () => {
    double = await AgentApiDouble.start({ numNodes: 1 });
    const agent = startAgent(double, 0);
    expect(await agentExit(agent)).toBe(0);
    expect(phases(double, 0)).toEqual([
      ['SETUP', 0],
      ['RUN', 0],
    ]);
  });

  it('exports env values with spaces, quotes, newlines and shell syntax intact', async () => {
    const env: Record<string, string> = {
      SPACES: '  a  b  ',
      QUOTES: `it's "quoted" \`back\``,
      NEWLINES: 'line1\nline2\n\n',
      SHELL_SYNTAX: '$(touch /tmp/skyless-should-not-exist) ${HOME} \\ \\n ; | & > <',
      EQUALS: 'a=b=c',
      EMPTY: '',
      UNICODE: 'héllo ✓ 日本',
      TAB: '\tx\t',
    };
    double = await AgentApiDouble.start({
      numNodes: 1,
      env,
      run: Object.keys(env)
        .map((name) => `printf '%s' "$${name}" > "$HOME/env-${name}"`)
        .join('\n'),
    });
    const agent = startAgent(double, 0);
    expect(await agentExit(agent)).toBe(0);
    expect(phases(double, 0)).toEqual([
      ['SETUP', 0],
      ['RUN', 0],
    ]);
    for (const [name, value] of Object.entries(env)) {
      expect(readFileSync(path.join(agent.home, `env-${name}`), 'utf8'), name).toBe(value);
    }
    expect(existsSync('/tmp/skyless-should-not-exist')).toBe(false);
  });

  it('unpacks the workdir (the cwd) and file mounts before setup, without sending the token to file URLs', async () => {
    double = await AgentApiDouble.start({
      numNodes: 1,
      workdirTarGz: tarGz({ 'data.txt': 'from the workdir\n', 'sub/deep.txt': 'deep\n' }),
      fileMounts: [
        { dest: '~/mounted', tarGz: tarGz({ 'mounted/conf.txt': 'mounted dir\n' }) },
        { dest: 'cfg.yaml', tarGz: tarGz({ 'cfg.yaml': 'key: value\n' }) },
      ],
      setup: 'cat data.txt sub/deep.txt',
      run: 'pwd; cat ~/mounted/conf.txt; cat "$HOME/skyless/cfg.yaml"',
    });
    const agent = startAgent(double, 0);
    expect(await agentExit(agent)).toBe(0);
    expect(phases(double, 0)).toEqual([
      ['SETUP', 0],
      ['RUN', 0],
    ]);
    expect(double.logText(0)).toBe(
      `from the workdir\ndeep\n${path.join(agent.workDir, 'workdir')}\nmounted dir\nkey: value\n`,
    );
    expect(double.fileRequests).toBe(3);
    expect(double.fileRequestsWithAuthorization).toBe(0);
  });

  it('reports SETUP 97 with the reason in the log when the workdir cannot be fetched', async () => {
    double = await AgentApiDouble.start({
      numNodes: 1,
      workdirTarGz: Buffer.from('this is not a gzipped tar'),
      setup: 'touch "$HOME/setup-started"',
      run: 'true',
    });
    const agent = startAgent(double, 0);
    expect(await agentExit(agent)).toBe(0);
    expect(phases(double, 0)).toEqual([['SETUP', FILES_FAILED_EXIT_CODE]]);
    expect(double.logText(0)).toContain('skyless: could not fetch the workdir');
    expect(existsSync(path.join(agent.home, 'setup-started'))).toBe(false);
  });
});

describe('agent: two nodes', () => {
  it('rendezvous: each node gets its rank and the same node IPs; run waits for every setup', async () => {
    const gate = path.join(mkdtempSync(path.join(tmpdir(), 'skyless-gate-')), 'setup-1-may-end');
    double = await AgentApiDouble.start({
      numNodes: 2,
      // Node 1's setup ends only when the test opens the gate, i.e. once node 0 was seen waiting at
      // the barrier (asking again, heartbeating WAIT): no guess at how long that takes.
      setup: `if [ "$SKYPILOT_SETUP_NODE_RANK" = 1 ]; then while [ ! -e '${gate}' ]; do sleep 0.1; done; fi; echo "setup $SKYPILOT_SETUP_NODE_RANK"`,
      run: 'date +%s%3N > "$HOME/run-started-ms"\nprintf "rank=%s nodes=%s ips=%s\\n" "$SKYPILOT_NODE_RANK" "$SKYPILOT_NUM_NODES" "$(echo "$SKYPILOT_NODE_IPS" | paste -sd,)"',
    });
    const first = startAgent(double, 0);
    // Node 0 waits at the rendezvous until node 1 registers: start node 1 once node 0 was told WAIT.
    await double.waitFor(() => double!.node(0).registerCalls > 1, 'node 0 to ask again at the rendezvous');
    const second = startAgent(double, 1);
    await double.waitFor(() => double!.node(0).exitCalls > 2 && double!.node(0).heartbeats.some((h) => h.phase === 'WAIT'), 'node 0 waiting at the setup barrier');
    writeFileSync(gate, '');
    expect(await agentExit(first)).toBe(0);
    expect(await agentExit(second)).toBe(0);

    expect(double.logText(0)).toBe('setup 0\nrank=0 nodes=2 ips=10.0.0.1,10.0.0.2\n');
    expect(double.logText(1)).toBe('setup 1\nrank=1 nodes=2 ips=10.0.0.1,10.0.0.2\n');
    expect(double.node(0).registerCalls).toBeGreaterThan(1);
    const secondSetupDone = double.node(1).exits[0].at;
    const firstRunStarted = Number(readFileSync(path.join(first.home, 'run-started-ms'), 'utf8'));
    expect(firstRunStarted).toBeGreaterThanOrEqual(secondSetupDone);
    // Node 0 waited at the barrier, asking again while told WAIT, and said so in its heartbeats.
    expect(double.node(0).exitCalls).toBeGreaterThan(2);
    expect(double.node(0).heartbeats.some((h) => h.phase === 'WAIT')).toBe(true);
    expect(phases(double, 0)).toEqual([
      ['SETUP', 0],
      ['RUN', 0],
    ]);
  });

  it('a node waiting at the barrier stops without running when another node fails setup', async () => {
    double = await AgentApiDouble.start({
      numNodes: 2,
      setup: 'if [ "$SKYPILOT_SETUP_NODE_RANK" = 1 ]; then sleep 1; exit 5; fi',
      run: 'touch "$HOME/run-started"',
    });
    const agents = [startAgent(double, 0), startAgent(double, 1)];
    expect(await agentExit(agents[0])).toBe(0);
    expect(await agentExit(agents[1])).toBe(0);
    expect(phases(double, 0)).toEqual([['SETUP', 0]]);
    expect(phases(double, 1)).toEqual([['SETUP', 5]]);
    for (const agent of agents) expect(existsSync(path.join(agent.home, 'run-started'))).toBe(false);
  });
});
