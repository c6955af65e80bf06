// Where local state lives: $SKYLESS_HOME (default ~/.skyless). The control plane's address is
// recorded in local/server.json while it runs.
import { homedir } from 'node:os';
import { join } from 'node:path';

export function skylessHome(): string {
  return process.env.SKYLESS_HOME || join(homedir(), '.skyless');
}

export function serverInfoPath(home = skylessHome()): string {
  return join(home, 'local', 'server.json');
}

export interface ServerInfo {
  pid: number;
  url: string;
  startedAt: string;
}
