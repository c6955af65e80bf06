// `skyless local up | down | status | serve`: the embedded control plane on this machine.
import { Command } from 'commander';
import type { CliIo } from '../io.ts';
import { EXIT } from '../io.ts';
import { ensureLocalControlPlane, localClient, localServerInfo, runningLocalUrl } from '../client.ts';
import { skylessHome } from '../../local/home.ts';
import { preemptCommand } from './local-preempt.ts';
import { faultsCommand } from './local-faults.ts';

export function localCommand(io: CliIo, setExitCode: (code: number) => void): Command {
  const local = new Command('local').description('The embedded control plane (cloud `local`) on this machine.');
  local
    .command('up')
    .description('Start the local control plane in the background (the CLI also does this on first use).')
    .action(async () => {
      const url = await ensureLocalControlPlane();
      io.stdout(`Local control plane running at ${url} (state in ${skylessHome()}/local).\n`);
      setExitCode(EXIT.OK);
    });
  local
    .command('down')
    .description('Stop the local control plane. Running jobs resume when it starts again.')
    .action(async () => {
      const info = localServerInfo();
      const url = await runningLocalUrl();
      if (!info || !url) {
        io.stdout('Local control plane is not running.\n');
        return setExitCode(EXIT.OK);
      }
      await Promise.resolve()
        .then(() => localClient(skylessHome()).request('POST', '/local/shutdown', {}))
        .catch(() => undefined);
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline && (await runningLocalUrl())) await new Promise((r) => setTimeout(r, 100));
      if (await runningLocalUrl()) {
        try {
          process.kill(info.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
      io.stdout('Local control plane stopped.\n');
      setExitCode(EXIT.OK);
    });
  local
    .command('status')
    .description('Whether the local control plane runs, and where.')
    .action(async () => {
      const url = await runningLocalUrl();
      if (!url) {
        io.stdout('Local control plane is not running.\n');
        return setExitCode(EXIT.FAILURE);
      }
      const s = await localClient(skylessHome()).request<{ pid: number; executions: number }>('GET', '/local/status');
      io.stdout(`Local control plane running at ${url} (pid ${s.pid}, ${s.executions} workflow execution(s) in progress, state in ${skylessHome()}/local).\n`);
      setExitCode(EXIT.OK);
    });
  local
    .command('serve')
    .description('Run the local control plane in the foreground.')
    .option('--port <port>', 'TCP port on 127.0.0.1 (default: any free port)')
    .action(async (flags: { port?: string }) => {
      const { serve } = await import('../../local/serve.ts');
      await serve({ port: flags.port ? Number(flags.port) : undefined });
      await new Promise(() => {}); // serve until a signal stops the process
    });
  local.addCommand(preemptCommand(io, setExitCode));
  local.addCommand(faultsCommand(io, setExitCode));
  return local;
}
