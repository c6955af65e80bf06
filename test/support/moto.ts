// The moto_server harness shared by every AWS adapter test (DynamoDB, EC2, S3, EventBridge, SSM…).
//
// One moto_server process serves every AWS service on one port, so a test file typically does:
//
//   let moto: RunningMoto;
//   beforeAll(async () => { moto = await startMoto(); });
//   afterAll(async () => { await moto?.stop(); });
//   const ec2 = () => new EC2Client(awsTestClientConfig(moto.endpoint));
//
// and isolates tests either by unique resource names or by `resetMoto(moto.endpoint)` between tests
// (which wipes every service's state). moto is a required test dependency: when it is missing,
// startMoto throws (the test fails) — it never skips, so a green run always means "tested against moto".
// The server binds 127.0.0.1 on a free port and is stopped by its PID.

import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export interface RunningMoto {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  port: number;
  pid: number;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s). Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartMotoOptions {
  /** How long to wait for the server to answer HTTP (moto imports every service first: seconds). */
  startTimeoutMs?: number;
  /** Executable, for machines where it is not on PATH. Default `moto_server`. */
  command?: string;
}

export const MOTO_MISSING_MESSAGE = "moto_server not found: pip install 'moto[server]'";

/** Starts `moto_server -H 127.0.0.1 -p <free port>` and resolves once it answers HTTP. */
export async function startMoto(options: StartMotoOptions = {}): Promise<RunningMoto> {
  const command = options.command ?? 'moto_server';
  const startTimeoutMs = options.startTimeoutMs ?? 45_000;
  const port = await freePort();
  const child = spawn(command, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  // Keep the last output: it is the only clue when the server dies during start-up.
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });

  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    const early = await Promise.race([exited, delay(100).then(() => undefined)]);
    if (early) {
      if (early.error && (early.error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(MOTO_MISSING_MESSAGE);
      // pyenv shims exit 127 when the command exists in no installed Python.
      if (early.code === 127) throw new Error(`${MOTO_MISSING_MESSAGE}\n${output}`);
      throw new Error(
        `moto_server exited during start-up (code ${early.code}, signal ${early.signal}${early.error ? `, ${early.error.message}` : ''}):\n${output}`,
      );
    }
    if (await answers(endpoint)) break;
    if (Date.now() > deadline) {
      await stopChild(child, exited);
      throw new Error(`moto_server did not answer on ${endpoint} within ${startTimeoutMs} ms:\n${output}`);
    }
  }

  let stopping: Promise<void> | undefined;
  return {
    endpoint,
    port,
    pid: child.pid!,
    stop() {
      stopping ??= stopChild(child, exited);
      return stopping;
    },
  };
}

/** Wipes the state of every service in a running moto_server. */
export async function resetMoto(endpoint: string): Promise<void> {
  const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
  if (!res.ok) throw new Error(`moto reset failed: HTTP ${res.status} ${await res.text()}`);
}

/**
 * Client configuration for any AWS SDK v3 client pointed at moto (or dynalite): us-east-1, static
 * fake credentials (no credential chain is consulted), the endpoint, and path-style S3 addressing
 * (virtual-host buckets cannot resolve on 127.0.0.1). Non-S3 clients ignore forcePathStyle.
 */
export function awsTestClientConfig(endpoint: string) {
  return {
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    forcePathStyle: true,
  };
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

async function stopChild(
  child: ChildProcess,
  exited: Promise<unknown>,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  process.kill(child.pid!, 'SIGTERM');
  const done = await Promise.race([exited.then(() => true), delay(5000).then(() => false)]);
  if (!done) {
    process.kill(child.pid!, 'SIGKILL');
    await exited;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
