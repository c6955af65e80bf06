// `skyless jobs pool down NAME [-y]`: returns at once; workers are torn down in the background and the
// pool's pending and running jobs are cancelled.

import { Command } from 'commander';
import { EXIT, type CliIo } from '../io.ts';
import { connect } from '../client.ts';
import { reportError } from '../errors.ts';

export async function runPoolDown(opts: { name?: string; yes: boolean }, io: CliIo): Promise<number> {
  if (!opts.name) {
    io.stderr('skyless jobs pool down: name the pool to terminate\n');
    return EXIT.USAGE;
  }
  if (!opts.yes) {
    if (!io.interactive) {
      io.stderr('skyless jobs pool down: stdin is not a terminal, so there is no one to confirm; pass -y to terminate without asking\n');
      return EXIT.USAGE;
    }
    if (!(await io.confirm(`Terminating pool(s) '${opts.name}'. Proceed?`))) return EXIT.FAILURE;
  }
  try {
    const client = await connect(io.env);
    const r = await client.call('poolDown', { params: { name: opts.name } });
    if (r.cancelled.length) io.stdout(`Cancelled ${r.cancelled.length} job(s) of the pool: ${r.cancelled.join(',')}.\n`);
    io.stdout(`Pool '${r.pool}' is scheduled to be terminated.\n`);
    return EXIT.OK;
  } catch (err) {
    return reportError(io, err);
  }
}

export function poolDownCommand(io: CliIo, setExitCode: (code: number) => void): Command {
  return new Command('down')
    .description('Terminate a pool: its workers, and its pending and running jobs.')
    .argument('[name]', 'pool name')
    .option('-y, --yes', 'do not ask for confirmation', false)
    .action(async (name: string | undefined, flags: Record<string, unknown>) => {
      setExitCode(await runPoolDown({ name, yes: Boolean(flags.yes) }, io));
    });
}
