// Runs the CLI in-process (runCli) with captured output, in a throw-away SKYLESS_HOME.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../../cli/program.ts';
import type { CliIo } from '../../../cli/io.ts';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(args: string[], env: Record<string, string | undefined> = process.env): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    readFile: (p) => readFileSync(p, 'utf8'),
    env,
    cwd: process.cwd(),
    interactive: false,
    confirm: async () => {
      throw new Error('the CLI must not prompt in tests');
    },
  };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

/** Points SKYLESS_HOME (read by the CLI from process.env) at a fresh directory; returns a cleanup. */
export function freshHome(): { home: string; configFile: string; cleanup(): void } {
  const home = mkdtempSync(join(tmpdir(), 'skyless-cli-'));
  const previous = process.env.SKYLESS_HOME;
  process.env.SKYLESS_HOME = home;
  return {
    home,
    configFile: join(home, 'config.json'),
    cleanup() {
      if (previous === undefined) delete process.env.SKYLESS_HOME;
      else process.env.SKYLESS_HOME = previous;
      rmSync(home, { recursive: true, force: true });
    },
  };
}

export function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}
