// `skyless dashboard [--port N] [--no-open]`: serves the web dashboard on 127.0.0.1 and opens it.
// It runs until interrupted (Ctrl-C); the page talks only to it (see cli/dashboard/).
import { Command } from 'commander';
import type { CliIo } from '../io.ts';
import { EXIT } from '../io.ts';
import { connect } from '../client.ts';
import { reportError } from '../errors.ts';
import { startDashboard } from '../dashboard/server.ts';
import { openBrowser } from '../dashboard/open.ts';

export interface DashboardFlags {
  port?: number;
  open: boolean;
}

export function parseDashboardFlags(raw: { port?: string; open?: boolean }): DashboardFlags {
  let port: number | undefined;
  if (raw.port !== undefined) {
    port = Number(raw.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`--port must be a port number (1-65535), got '${raw.port}'`);
  }
  return { port, open: raw.open !== false };
}

export async function runDashboard(flags: DashboardFlags, io: CliIo, until: Promise<void>): Promise<number> {
  try {
    const dash = await startDashboard({ connect: () => connect(io.env), port: flags.port });
    io.stdout(`skyless dashboard: ${dash.url}\n(serving on 127.0.0.1 only; the link carries this launch's key. Ctrl-C to stop.)\n`);
    if (flags.open) openBrowser(dash.url, (why) => io.stdout(`Could not open a browser (${why}); open the URL above.\n`));
    await until;
    await dash.stop();
    return EXIT.OK;
  } catch (err) {
    return reportError(io, err);
  }
}

export function dashboardCommand(io: CliIo, setExitCode: (code: number) => void): Command {
  return new Command('dashboard')
    .description('Serve the web dashboard (jobs, attempts, logs, pools, cost) on 127.0.0.1 and open it in the browser.')
    .option('--port <n>', 'port to listen on (default: a free one)')
    .option('--no-open', 'do not open a browser; just print the URL')
    .action(async (raw: { port?: string; open?: boolean }) => {
      let flags: DashboardFlags;
      try {
        flags = parseDashboardFlags(raw);
      } catch (err) {
        io.stderr(`skyless: ${(err as Error).message}\n`);
        setExitCode(EXIT.USAGE);
        return;
      }
      const until = new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      setExitCode(await runDashboard(flags, io, until));
    });
}
