// `skyless jobs queue` (SPEC §7): newest first, 50 by default; pipelines as an aggregate row then
// ` ↳` rows per task.
import { Command } from 'commander';
import type { CliIo } from '../io.ts';
import { EXIT } from '../io.ts';
import { connect, type Client } from '../client.ts';
import { reportError } from '../errors.ts';
import { renderTable, type TableColumn } from '../table.ts';
import { formatAgo, formatDuration, formatRequested, jobDurations, taskDurations } from '../../core/job/format.ts';
import { isTerminal, TASK_STATUSES } from '../../core/job/status.ts';
import type { JobView } from '../api-types.ts';
import type { RouteQuery } from '../../core/contracts/api.ts';

export interface QueueOptions {
  limit: number;
  all: boolean;
  skipFinished: boolean;
  status?: string;
  allUsers: boolean;
  output?: string;
}

const COLUMNS: TableColumn[] = [
  { header: 'ID' },
  { header: 'TASK' },
  { header: 'NAME' },
  { header: 'REQUESTED' },
  { header: 'SUBMITTED' },
  { header: 'TOT. DURATION' },
  { header: 'JOB DURATION' },
  { header: '#RECOVERIES' },
  { header: 'STATUS' },
  { header: 'POOL' },
  { header: 'COST' },
];

function money(usd: number): string {
  return usd === 0 ? '-' : `$${usd < 0.01 ? usd.toFixed(4) : usd.toFixed(2)}`;
}

/** Rows of the queue table for these jobs at time `now` (pure, for tests). */
export function queueRows(jobs: JobView[], now: number): string[][] {
  const rows: string[][] = [];
  for (const job of jobs) {
    const pool = job.pool ?? '-';
    if (job.tasks.length === 1) {
      const t = job.tasks[0];
      const d = taskDurations(t, now);
      const spec = job.spec.tasks[0];
      rows.push([
        String(job.jobId),
        '-',
        job.name,
        spec ? formatRequested(spec) : '-',
        formatAgo(job.submittedAt, now),
        formatDuration(d.totalMs),
        formatDuration(d.jobMs),
        String(t.recoveryCount),
        t.status,
        pool,
        money(t.costUsd),
      ]);
      continue;
    }
    // SkyPilot's format_job_table: the aggregate row shows the status of the first task that has not
    // SUCCEEDED and, while the job is not finished, which task that is; task rows carry ` ↳` in the
    // ID column and their index in the TASK column.
    const d = jobDurations(job, now);
    const open = job.tasks.find((t) => t.status !== 'SUCCEEDED');
    const inProgress = open && !isTerminal(job.status) ? ` (task: ${open.index})` : '';
    rows.push([
      String(job.jobId),
      '',
      job.name,
      '-',
      formatAgo(d.submittedAt, now),
      formatDuration(d.totalMs),
      formatDuration(d.jobMs),
      String(d.recoveries),
      `${job.status}${inProgress}`,
      pool,
      money(job.tasks.reduce((s, t) => s + t.costUsd, 0)),
    ]);
    for (const t of job.tasks) {
      const td = taskDurations(t, now);
      const spec = job.spec.tasks[t.index];
      rows.push([
        ' ↳',
        String(t.index),
        t.name,
        spec ? formatRequested(spec) : '-',
        formatAgo(t.submittedAt, now),
        formatDuration(td.totalMs),
        formatDuration(td.jobMs),
        String(t.recoveryCount),
        t.status,
        pool,
        money(t.costUsd),
      ]);
    }
  }
  return rows;
}

/** `In progress tasks: 1 RUNNING, 2 PENDING` or `No in-progress managed jobs.` */
export function inProgressLine(jobs: JobView[]): string {
  const counts = new Map<string, number>();
  for (const j of jobs) for (const t of j.tasks) if (!isTerminal(t.status)) counts.set(t.status, (counts.get(t.status) ?? 0) + 1);
  if (!counts.size) return 'No in-progress managed jobs.';
  const order = TASK_STATUSES.filter((s) => counts.has(s));
  return `In progress tasks: ${order.map((s) => `${counts.get(s)} ${s}`).join(', ')}`;
}

export async function runQueue(opts: QueueOptions, io: CliIo, client?: Client): Promise<number> {
  try {
    const c = client ?? (await connect());
    const limit = opts.all ? 1000 : opts.limit;
    const query: RouteQuery<'queue'> = {
      limit: String(limit),
      skipFinished: opts.skipFinished ? 'true' : undefined,
      status: opts.status ? opts.status.toUpperCase() : undefined,
      allUsers: opts.allUsers ? 'true' : undefined,
    };
    const jobs: JobView[] = [];
    let cursor: string | undefined;
    do {
      const page = await c.call('queue', { query: { ...query, cursor } });
      jobs.push(...page.jobs);
      cursor = opts.all ? page.nextCursor : undefined;
    } while (cursor);
    if (opts.output === 'json') {
      io.stdout(JSON.stringify(jobs, null, 2) + '\n');
      return EXIT.OK;
    }
    io.stdout(`${inProgressLine(jobs)}\n`);
    if (jobs.length) io.stdout(renderTable(COLUMNS, queueRows(jobs, Date.now())) + '\n');
    return EXIT.OK;
  } catch (err) {
    return reportError(io, err);
  }
}

export function queueCommand(io: CliIo, setExitCode: (code: number) => void): Command {
  return new Command('queue')
    .description('Show managed jobs, newest first.')
    .option('-l, --limit <n>', 'how many jobs to show', '50')
    .option('-a, --all', 'show every job', false)
    .option('--skip-finished', 'hide finished jobs', false)
    .option('-s, --status <S[,S]>', 'only jobs in these statuses')
    .option('-u, --all-users', "show every user's jobs", false)
    .option('-o, --output <format>', 'json for machine-readable output')
    .action(async (flags: Record<string, unknown>) => {
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1) {
        io.stderr(`skyless: --limit must be a positive integer, got '${flags.limit}'\n`);
        setExitCode(EXIT.USAGE);
        return;
      }
      if (flags.output !== undefined && flags.output !== 'json' && flags.output !== 'table') {
        io.stderr(`skyless: --output must be json or table, got '${flags.output}'\n`);
        setExitCode(EXIT.USAGE);
        return;
      }
      setExitCode(
        await runQueue(
          { limit, all: Boolean(flags.all), skipFinished: Boolean(flags.skipFinished), status: flags.status as string | undefined, allUsers: Boolean(flags.allUsers), output: flags.output as string | undefined },
          io,
        ),
      );
    });
}
