// End-to-end harness: runs the real `skyless` CLI as a subprocess against its own embedded control
// plane (own SKYLESS_HOME), with real agent processes. Timeouts are compressed through the same
// environment settings a user can set, never by patching code.

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { findMachineProcesses } from '../../adapters/local/process-provider.ts';
import { localClient } from '../../cli/client.ts';

export const REPO = resolve(import.meta.dirname, '..', '..');
const BIN = join(REPO, 'bin', 'skyless.js');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface E2E {
  home: string;
  env: Record<string, string>;
  /** Runs `skyless ...args` to completion. */
  run(args: string[], opts?: { cwd?: string; env?: Record<string, string>; timeoutMs?: number }): Promise<RunResult>;
  /** Starts `skyless ...args` and returns the child (for cancel-while-following, restarts). */
  start(args: string[], opts?: { cwd?: string; env?: Record<string, string> }): { done: Promise<RunResult>; pid: number; kill(signal?: NodeJS.Signals): void };
  /** GET/POST against the running control plane's API. */
  api<T>(method: string, path: string, body?: unknown): Promise<T>;
  /** Polls the job until `pred` holds (or throws after timeoutMs with the last record). */
  waitForJob(jobId: number, pred: (job: JobLike) => boolean, timeoutMs?: number): Promise<JobLike>;
  /** PIDs of live processes of this home's local instances (agents and user commands). */
  liveInstanceProcesses(): number[];
  stop(): Promise<void>;
}

export interface JobLike {
  jobId: number;
  status: string;
  finished: boolean;
  finalizedAt?: number;
  currentTask: number;
  tasks: { index: number; name: string; status: string; recoveryCount: number; restartCount: number; attempt: number; taskId: string; failureReason?: string }[];
  [k: string]: unknown;
}

export const FAST_SETTINGS: Record<string, string> = {
  SKYLESS_HEARTBEAT_SECONDS: '1',
  SKYLESS_HEARTBEAT_TIMEOUT_SECONDS: '8',
  SKYLESS_REGISTER_TIMEOUT_SECONDS: '30',
  SKYLESS_BACKOFF_INITIAL_SECONDS: '1',
  SKYLESS_BACKOFF_MAX_SECONDS: '2',
  SKYLESS_KILL_GRACE_SECONDS: '1',
};

export function startE2E(extraEnv: Record<string, string> = {}): E2E {
  const home = mkdtempSync(join(tmpdir(), 'skyless-e2e-'));
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    SKYLESS_HOME: home,
    SKYLESS_ENDPOINT: '',
    USER: 'tester',
    ...FAST_SETTINGS,
    ...extraEnv,
  };
  const children = new Set<number>();

  const start: E2E['start'] = (args, opts = {}) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? REPO, env: { ...env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child.pid!);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const done = new Promise<RunResult>((res) => {
      child.on('close', (code, signal) => {
        children.delete(child.pid!);
        res({ code: code ?? (signal ? 128 : 1), stdout, stderr });
      });
    });
    return { done, pid: child.pid!, kill: (s = 'SIGTERM') => child.kill(s) };
  };

  const run: E2E['run'] = async (args, opts = {}) => {
    const c = start(args, opts);
    const timeoutMs = opts.timeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, rej) => {
      timer = setTimeout(() => {
        c.kill('SIGKILL');
        rej(new Error(`skyless ${args.join(' ')} did not finish within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([c.done, timeout]);
    } finally {
      clearTimeout(timer);
    }
  };

  // Through the CLI's own client (address and bearer token from this home), as every API caller.
  const api: E2E['api'] = async (method, path, body) => {
    try {
      return await localClient(home).request(method, path, body);
    } catch (err) {
      const e = err as Error & { status?: number };
      throw new Error(`${method} ${path}: ${e.status ? `HTTP ${e.status} ` : ''}${e.message}`);
    }
  };

  const waitForJob: E2E['waitForJob'] = async (jobId, pred, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    let last: JobLike | undefined;
    while (Date.now() < deadline) {
      last = (await api<{ job: JobLike }>('GET', `/jobs/${jobId}`)).job;
      if (pred(last)) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`job ${jobId} did not reach the expected state within ${timeoutMs} ms; last: ${JSON.stringify({ status: last?.status, tasks: last?.tasks.map((t) => t.status) })}`);
  };

  const liveInstanceProcesses = () => {
    const dir = join(home, 'local', 'instances');
    if (!existsSync(dir)) return [];
    return readdirSync(dir).flatMap((id) => findMachineProcesses(join(dir, id)));
  };

  const stop = async () => {
    try {
      await run(['local', 'down'], { timeoutMs: 30_000 });
    } catch {
      // fall through to the kills below
    }
    for (const pid of [...children, ...liveInstanceProcesses()]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(home, { recursive: true, force: true });
  };

  return { home, env, run, start, api, waitForJob, liveInstanceProcesses, stop };
}

/** The job ID printed by `jobs launch` ("Managed job submitted: ID 7 (...)"). */
export function submittedId(stdout: string): number {
  const m = /Managed jobs? submitted: IDs? (\d+)/.exec(stdout);
  if (!m) throw new Error(`no job ID in output:\n${stdout}`);
  return Number(m[1]);
}

/** Writes a task YAML into `dir` and returns its path. */
export function yamlFile(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** Waits for a file a task creates (a marker that it reached some point). */
export async function waitForFile(path: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`${path} did not appear within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `jobs launch -y -d` of `text` (written to `dir/<name>.yaml`); returns the job ID, failing on a non-zero exit. */
export async function launchDetached(e: E2E, dir: string, name: string, text: string): Promise<number> {
  const r = await e.run(['jobs', 'launch', '-y', '-d', yamlFile(dir, `${name}.yaml`, text)]);
  if (r.code !== 0) throw new Error(`jobs launch ${name} exited ${r.code}: ${r.stderr}`);
  return submittedId(r.stdout);
}
