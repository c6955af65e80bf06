// Starts real agent processes (bash agent/agent.sh) against the API double and cleans them up.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, openSync, closeSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { AGENT_SCRIPT_PATH } from '../../agent/protocol.ts';
import { MACHINE_ENV, findMachineProcesses, isProcessAlive } from '../../adapters/local/process-provider.ts';
import type { AgentApiDouble } from '../support/agent-api-double.ts';

export interface RunningAgent {
  pid: number;
  /** The node's HOME. */
  home: string;
  /** SKYLESS_WORK_DIR. */
  workDir: string;
  /** Resolves with the agent's exit code (null if killed by a signal). */
  exited: Promise<number | null>;
  /** The agent's own diagnostics (stderr). */
  stderr(): string;
  marker: string;
}

const started: RunningAgent[] = [];
const directories: string[] = [];

export interface StartAgentOptions {
  cloud?: 'local' | 'aws' | 'gcp';
  /** Extra environment for the agent (e.g. SKYLESS_API_PATIENCE_SECONDS). */
  env?: Record<string, string>;
  /** Omit SKYLESS_NODE_IP (the agent then asks metadata, then `hostname -I`). */
  noNodeIp?: boolean;
  /** Start through PROTOCOL.md's bootstrap (fetch GET /agent/agent.sh, then run it) instead of the file. */
  bootstrap?: boolean;
}

const BOOTSTRAP =
  'curl -fsS -H "Authorization: Bearer $SKYLESS_AGENT_TOKEN" "$SKYLESS_API_URL/agent/agent.sh" -o /tmp/skyless-agent.$$.sh && exec bash /tmp/skyless-agent.$$.sh';

export function startAgent(double: AgentApiDouble, node: number, options: StartAgentOptions = {}): RunningAgent {
  const home = mkdtempSync(path.join(tmpdir(), `skyless-agent-${node}-`));
  directories.push(home);
  const workDir = path.join(home, 'skyless');
  const marker = `test-${randomBytes(6).toString('hex')}-${node}`;
  const out = openSync(path.join(home, 'agent.err'), 'a');
  const child = spawn('bash', options.bootstrap ? ['-c', BOOTSTRAP] : [AGENT_SCRIPT_PATH], {
    cwd: home,
    detached: true,
    stdio: ['ignore', out, out],
    env: {
      PATH: process.env.PATH,
      HOME: home,
      SKYLESS_API_URL: double.url,
      SKYLESS_AGENT_TOKEN: double.tokens[node],
      SKYLESS_CLOUD: options.cloud ?? 'local',
      ...(options.noNodeIp ? {} : { SKYLESS_NODE_IP: `10.0.0.${node + 1}` }),
      SKYLESS_WORK_DIR: workDir,
      SKYLESS_KILL_GRACE_SECONDS: '1',
      SKYLESS_INTERRUPTION_POLL_SECONDS: '1',
      SKYLESS_METADATA_URL: double.url,
      [MACHINE_ENV]: marker,
      ...options.env,
    },
  });
  closeSync(out);
  if (child.pid === undefined) throw new Error('could not start bash');
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const agent: RunningAgent = {
    pid: child.pid,
    home,
    workDir,
    exited,
    stderr: () => readFileSync(path.join(home, 'agent.err'), 'utf8'),
    marker,
  };
  started.push(agent);
  return agent;
}

/** Waits for the agent to exit; fails with its stderr if it takes longer than `timeoutMs`. */
export async function agentExit(agent: RunningAgent, timeoutMs = 180_000): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`agent ${agent.pid} still running after ${timeoutMs} ms; stderr:\n${agent.stderr()}`)), timeoutMs);
  });
  try {
    return await Promise.race([agent.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Kills every process of every agent started by this file (agent group + anything with its marker). */
export async function stopAllAgents(): Promise<void> {
  for (const agent of started.splice(0)) {
    try {
      process.kill(-agent.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    for (const pid of findMachineProcesses(agent.marker)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  for (const dir of directories.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function readPid(file: string): number {
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`${file} does not hold a PID`);
  return pid;
}

export { isProcessAlive };

/** A gzipped tar of `files` (relative path → content), entries relative to the archive root. */
export function tarGz(files: Record<string, string>): Buffer {
  const root = mkdtempSync(path.join(tmpdir(), 'skyless-tar-'));
  try {
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
      writeFileSync(path.join(root, name), content);
    }
    return execFileSync('tar', ['-czf', '-', '-C', root, '.']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function waitForFile(file: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(file) || readFileSync(file).length === 0) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${file}`);
    await sleep(50);
  }
}
