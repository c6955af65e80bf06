// `skyless jobs pool status [NAME] [-o json]`: per pool its policy and worker counts, and per worker
// its infra, instance, state, the job it runs and its hourly cost.

import { Command } from 'commander';
import type { PoolStatus } from '../../core/usecases/pools.ts';
import { EXIT, type CliIo } from '../io.ts';
import { connect } from '../client.ts';
import { reportError } from '../errors.ts';
import { renderTable } from '../table.ts';
import { formatAgo } from '../../core/job/format.ts';

const POOL_COLUMNS = [{ header: 'NAME' }, { header: 'VERSION' }, { header: 'UPTIME' }, { header: 'STATUS' }, { header: 'WORKERS' }, { header: 'POLICY' }];
const WORKER_COLUMNS = [
  { header: 'POOL_NAME' }, { header: 'ID' }, { header: 'VERSION' }, { header: 'LAUNCHED' }, { header: 'INFRA' },
  { header: 'INSTANCE' }, { header: 'STATUS' }, { header: 'USED_BY' }, { header: 'COST/HR', align: 'right' as const },
];

function poolState(p: PoolStatus): string {
  if (p.terminating) return 'SHUTTING_DOWN';
  const ready = (p.counts.READY ?? 0) + (p.counts.BUSY ?? 0);
  if (p.workers.length === 0) return p.minWorkers === 0 ? 'READY' : 'PROVISIONING';
  return ready > 0 ? 'READY' : 'PROVISIONING';
}

export function poolTables(pools: PoolStatus[], now: number): string {
  const live = (p: PoolStatus) => p.workers.filter((w) => w.state !== 'FAILED').length;
  const counts = (p: PoolStatus) => Object.entries(p.counts).map(([k, v]) => `${v} ${k}`).join(', ');
  const poolRows = pools.map((p) => [p.name, String(p.generation), formatAgo(p.createdAt, now), poolState(p), `${live(p)}${counts(p) ? ` (${counts(p)})` : ''}`, p.policy]);
  const workerRows = pools.flatMap((p) =>
    p.workers.map((w) => [
      p.name, String(w.id), String(w.generation), formatAgo(w.launchedAt, now), w.infra ?? '-',
      w.instanceType ? `${w.instanceType}${w.spot ? '[Spot]' : ''}` : '-', w.state, w.jobIds.length ? w.jobIds.join(',') : '-',
      w.hourlyPrice !== undefined ? `$${w.hourlyPrice.toFixed(4)}` : '-',
    ]),
  );
  const out = ['Pools', renderTable(POOL_COLUMNS, poolRows)];
  for (const p of pools) if (p.lastError) out.push(`${p.name}: ${p.lastError}`);
  out.push('', 'Pool Workers', workerRows.length ? renderTable(WORKER_COLUMNS, workerRows) : 'No workers.');
  return out.join('\n');
}

export async function runPoolStatus(opts: { name?: string; output?: string }, io: CliIo): Promise<number> {
  try {
    const client = await connect(io.env);
    const { pools } = await client.call('poolStatus', { query: opts.name ? { name: opts.name } : {} });
    if (opts.output === 'json') {
      io.stdout(JSON.stringify(pools, null, 2) + '\n');
      return EXIT.OK;
    }
    io.stdout(pools.length ? poolTables(pools, Date.now()) + '\n' : 'No existing pools.\n');
    return EXIT.OK;
  } catch (err) {
    return reportError(io, err);
  }
}

export function poolStatusCommand(io: CliIo, setExitCode: (code: number) => void): Command {
  return new Command('status')
    .description('Show pools and their workers.')
    .argument('[name]', 'only this pool')
    .option('-o, --output <format>', 'json for machine-readable output')
    .action(async (name: string | undefined, flags: Record<string, unknown>) => {
      if (flags.output !== undefined && flags.output !== 'json' && flags.output !== 'table') {
        io.stderr(`skyless: --output must be json or table, got '${flags.output}'\n`);
        setExitCode(EXIT.USAGE);
        return;
      }
      setExitCode(await runPoolStatus({ name, output: flags.output as string | undefined }, io));
    });
}
