// dynalite in a child process (in memory, 127.0.0.1, a free port): a simulation's control plane and
// its database then run on different cores, as they do on AWS. Stopped by its PID.

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface DynaliteProcess {
  endpoint: string;
  pid: number;
  /** CPU seconds the child has used so far (user + system), from /proc; undefined if unreadable. */
  cpuSeconds(): Promise<number | undefined>;
  /** Resident memory of the child in bytes, from /proc; undefined if unreadable. */
  rssBytes(): Promise<number | undefined>;
  close(): Promise<void>;
}

// The child resolves dynalite from this repository (the child's cwd may be anywhere).
const CHILD_SOURCE = `
const { createRequire } = require('node:module');
const req = createRequire(process.argv[1]);
const dynalite = req('dynalite');
const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(0, '127.0.0.1', () => process.stdout.write('PORT ' + server.address().port + '\\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
// The parent holds an IPC channel: when it dies (even by SIGKILL), the channel closes and so do we.
process.on('disconnect', () => process.exit(0));
`;

export async function startDynaliteProcess(options: { startTimeoutMs?: number } = {}): Promise<DynaliteProcess> {
  const anchor = fileURLToPath(new URL('../../package.json', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, ['-e', CHILD_SOURCE, anchor], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  // The channel only signals the parent's death; it must not keep the parent alive.
  child.unref();
  (child.channel as { unref?: () => void } | undefined)?.unref?.();
  for (const stream of [child.stdout, child.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dynalite child did not start within ${options.startTimeoutMs ?? 20_000} ms: ${stderr}`)), options.startTimeoutMs ?? 20_000);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`dynalite child exited with code ${code}: ${stderr}`));
    });
  });
  const pid = child.pid!;
  const proc = async (field: 'stat' | 'status') => {
    const { readFile } = await import('node:fs/promises');
    return readFile(`/proc/${pid}/${field}`, 'utf8').catch(() => undefined);
  };
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    pid,
    async cpuSeconds() {
      const stat = await proc('stat');
      if (!stat) return undefined;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime are fields 14 and 15 of /proc/PID/stat (index 11, 12 after the command).
      return (Number(fields[11]) + Number(fields[12])) / 100;
    },
    async rssBytes() {
      const status = await proc('status');
      const m = status ? /VmRSS:\s+(\d+) kB/.exec(status) : null;
      return m ? Number(m[1]) * 1024 : undefined;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        process.kill(pid, 'SIGTERM');
      });
      return closing;
    },
  };
}
