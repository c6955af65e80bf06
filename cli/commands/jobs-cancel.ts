// `skyless jobs cancel [IDS…]` (docs/behaviour.md §7): exactly one selector; every selected job in one request.
import { Command } from 'commander';
import type { CliIo } from '../io.ts';
import { EXIT } from '../io.ts';
import { EXIT_CODES } from '../../core/job/format.ts';
import { connect, type Client } from '../client.ts';
import { reportError } from '../errors.ts';
import type { RouteBody } from '../../core/contracts/api.ts';

export interface CancelOptions {
  jobIds: number[];
  name?: string;
  pool?: string;
  all: boolean;
  allUsers: boolean;
  yes: boolean;
}

export async function runCancel(opts: CancelOptions, io: CliIo, client?: Client): Promise<number> {
  const selectors = [opts.jobIds.length > 0, opts.name !== undefined, opts.pool !== undefined, opts.all, opts.allUsers].filter(Boolean).length;
  if (selectors !== 1) {
    io.stderr('skyless: say exactly one of: job IDs, --name, --pool, --all, --all-users\n');
    return EXIT.USAGE;
  }
  const what = opts.jobIds.length ? `managed job(s) ${opts.jobIds.join(', ')}` : opts.name ? `managed jobs named '${opts.name}'` : opts.pool ? `jobs of pool '${opts.pool}'` : opts.allUsers ? "every user's managed jobs" : 'all your managed jobs';
  if (!opts.yes) {
    if (!io.interactive) {
      io.stderr(`skyless: cancelling ${what} needs confirmation; stdin is not a terminal, so pass -y\n`);
      return EXIT.USAGE;
    }
    if (!(await io.confirm(`Cancelling ${what}. Proceed?`))) return EXIT.FAILURE;
  }
  try {
    const c = client ?? (await connect());
    const body: RouteBody<'cancelJobs'> = opts.jobIds.length ? { jobIds: opts.jobIds } : opts.name ? { name: opts.name } : opts.pool ? { pool: opts.pool } : { all: true, allUsers: opts.allUsers };
    const r = await c.call('cancelJobs', { body });
    if (r.cancelled.length) io.stdout(`Cancelling managed job(s): ${r.cancelled.join(', ')}.\n`);
    if (r.alreadyFinished.length) io.stdout(`Already finished: ${r.alreadyFinished.join(', ')}.\n`);
    if (r.notFound.length) io.stderr(`Not found: ${r.notFound.join(', ')}.\n`);
    if (r.request?.background) io.stdout(`The rest of ${what} are being cancelled in the background; none of them will launch.\n`);
    else if (!r.cancelled.length && !r.alreadyFinished.length && !r.notFound.length) io.stdout('No managed jobs to cancel.\n');
    return r.notFound.length ? EXIT_CODES.NOT_FOUND : EXIT.OK;
  } catch (err) {
    return reportError(io, err);
  }
}

export function cancelCommand(io: CliIo, setExitCode: (code: number) => void): Command {
  return new Command('cancel')
    .description('Cancel managed jobs.')
    .argument('[job_ids...]', 'job IDs')
    .option('-n, --name <name>', 'jobs with this name')
    .option('-p, --pool <pool>', 'jobs of this pool')
    .option('-a, --all', 'all your jobs', false)
    .option('-u, --all-users', "every user's jobs", false)
    .option('-y, --yes', 'do not ask for confirmation', false)
    .action(async (ids: string[], flags: Record<string, unknown>) => {
      const bad = ids.find((x) => !/^\d+$/.test(x));
      if (bad) {
        io.stderr(`skyless: job IDs are numbers, got '${bad}'\n`);
        return setExitCode(EXIT.USAGE);
      }
      setExitCode(
        await runCancel(
          { jobIds: ids.map(Number), name: flags.name as string | undefined, pool: flags.pool as string | undefined, all: Boolean(flags.all), allUsers: Boolean(flags.allUsers), yes: Boolean(flags.yes) },
          io,
        ),
      );
    });
}
