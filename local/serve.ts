// `skyless local serve`: runs the embedded control plane in the foreground until SIGTERM/SIGINT.
// `skyless local up` starts this detached; the CLI finds it through local/server.json.
import { mkdir, writeFile, rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { startControlPlane } from './control-plane.ts';
import { installLocalAdmin } from './admin.ts';
import { serverInfoPath, skylessHome, type ServerInfo } from './home.ts';

export async function serve(opts: { port?: number } = {}): Promise<void> {
  const home = skylessHome();
  const log = (msg: string, fields?: Record<string, unknown>) => process.stderr.write(`${new Date().toISOString()} ${msg}${fields ? ' ' + JSON.stringify(fields) : ''}\n`);
  const plane = await startControlPlane({ home, port: opts.port, log });
  installLocalAdmin(plane);
  const infoPath = serverInfoPath(home);
  await mkdir(dirname(infoPath), { recursive: true });
  const info: ServerInfo = { pid: process.pid, url: plane.url, startedAt: new Date().toISOString() };
  await writeFile(infoPath, JSON.stringify(info));
  // However the process ends (signal, /local/shutdown), the address file goes with it.
  process.on('exit', () => rmSync(infoPath, { force: true }));
  log(`skyless local control plane listening on ${plane.url} (home ${home})`);
  const shutdown = async (signal: string) => {
    log(`stopping (${signal})`);
    await rm(infoPath, { force: true });
    await plane.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
