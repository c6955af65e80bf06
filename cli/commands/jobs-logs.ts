// `skyless jobs logs [ID] [TASK]` (SPEC §7): a job's output (every attempt, marked), following until
// the job ends; `--controller` shows the event timeline instead. Exit code = the job's.
import { Command } from 'commander';
import { mkdirSync, writeFileSync, appendFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CliIo } from '../io.ts';
import { EXIT } from '../io.ts';
import { connect, type Client } from '../client.ts';
import { reportError } from '../errors.ts';
import { exitCodeFor, EXIT_CODES } from '../../core/job/format.ts';
import { isTerminal } from '../../core/job/status.ts';
import { renderTable } from '../table.ts';
import type { JobView, LogPage, LogChunk, AttemptRecord, JobEvent } from '../api-types.ts';

export interface LogsOptions {
  jobId?: number;
  task?: string;
  name?: string;
  follow: boolean;
  tail: number;
  controller: boolean;
  syncDown?: string;
  pollMs?: number;
}

/** The job a `logs`/`cancel` invocation means: an ID, a name (newest such job), or the newest job. */
export async function resolveJob(c: Client, id?: number, name?: string): Promise<JobView> {
  if (id !== undefined) return (await c.call('getJob', { params: { jobId: String(id) } })).job;
  const page = await c.call('queue', { query: { limit: '1', name } });
  if (!page.jobs.length) {
    const { ApiError } = await import('../client.ts');
    throw new ApiError(404, 'NotFound', name ? `no managed job named '${name}'` : 'no managed jobs yet');
  }
  return page.jobs[0];
}

function taskIndexOf(job: JobView, task?: string): number | undefined {
  if (task === undefined) return undefined;
  if (/^\d+$/.test(task)) {
    const i = Number(task);
    if (i >= job.tasks.length) throw new RangeError(`job ${job.jobId} has ${job.tasks.length} task(s); there is no task ${i}`);
    return i;
  }
  const t = job.tasks.find((x) => x.name === task);
  if (!t) throw new RangeError(`job ${job.jobId} has no task named '${task}' (tasks: ${job.tasks.map((x) => x.name).join(', ')})`);
  return t.index;
}

/** Formats chunks for the terminal: attempts after the first and multi-node output are marked. */
export class LogPrinter {
  private stream = '';
  private pending = new Map<string, string>();
  constructor(private readonly job: JobView, private readonly write: (s: string) => void) {}

  print(chunks: LogChunk[]): void {
    for (const c of chunks) {
      const numNodes = this.job.spec.tasks[c.task]?.numNodes ?? 1;
      const key = `${c.task}/${c.attempt}`;
      if (key !== this.stream) {
        this.flush();
        // Mark attempts whenever there is more than one (an earlier attempt's output is kept).
        if (c.attempt > 1 || this.job.tasks.length > 1 || (this.job.tasks[c.task]?.attempt ?? 1) > 1) {
          const name = this.job.tasks[c.task]?.name ?? String(c.task);
          this.write(`\x1b[2m── task ${c.task} (${name}), attempt ${c.attempt} ──\x1b[0m\n`);
        }
        this.stream = key;
      }
      if (numNodes <= 1) {
        this.write(c.text);
        continue;
      }
      // Multi-node: prefix whole lines with the node's rank; keep a partial last line for later.
      const nodeKey = `${c.task}/${c.attempt}/${c.node}`;
      const text = (this.pending.get(nodeKey) ?? '') + c.text;
      const lines = text.split('\n');
      this.pending.set(nodeKey, lines.pop() ?? '');
      for (const line of lines) this.write(`(rank ${c.node}) ${line}\n`);
    }
  }

  flush(): void {
    for (const [k, rest] of this.pending) if (rest) this.write(`(rank ${k.split('/')[2]}) ${rest}\n`);
    this.pending.clear();
  }
}

function lastLines(text: string, n: number): string {
  if (n <= 0) return text;
  const lines = text.split('\n');
  const trailing = lines[lines.length - 1] === '' ? 1 : 0;
  return lines.slice(Math.max(0, lines.length - trailing - n)).join('\n');
}

/**
 * Prints the job's output; with `follow`, keeps polling until the job is finished and every chunk is
 * printed. Returns the job's final (or current) status.
 */
export async function followLogs(c: Client, job: JobView, io: CliIo, opts: { task?: number; follow: boolean; tail: number; pollMs?: number }): Promise<JobView['status']> {
  const printer = new LogPrinter(job, (s) => io.stdout(s));
  let position: string | undefined;
  let first = true;
  for (;;) {
    const page = await c.call('jobLogs', { params: { jobId: String(job.jobId) }, query: { task: opts.task === undefined ? undefined : String(opts.task), after: position } });
    if (first && opts.tail > 0) {
      // --tail applies to what exists now; later output is printed as it comes.
      let captured = '';
      const tailPrinter = new LogPrinter(job, (s) => (captured += s));
      tailPrinter.print(page.chunks);
      tailPrinter.flush();
      io.stdout(lastLines(captured, opts.tail));
    } else printer.print(page.chunks);
    first = false;
    position = page.position ?? position;
    if (page.complete || !opts.follow) {
      printer.flush();
      return page.status;
    }
    if (!page.chunks.length) await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}

function time(ms?: number): string {
  return ms ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '') : '-';
}

/** Why an attempt ended: its outcome (with exit codes or the loss's cause), else its state and reason. */
function attemptOutcome(a: AttemptRecord): string {
  const o = a.outcome;
  if (!o) return a.reason ? `${a.state}: ${a.reason}` : a.state;
  if (o.kind === 'LOST') return `LOST: ${o.reason}`;
  if (o.kind === 'SETUP_FAILED' || o.kind === 'RUN_FAILED') return `${o.kind} (exit ${o.exitCodes.map((c) => c ?? '-').join(', ')})`;
  return o.kind;
}

export function renderControllerLog(events: JobEvent[], attempts: AttemptRecord[]): string {
  const lines = events.map((e) => {
    const move = e.to ? `${e.from ?? '-'} → ${e.to}` : '';
    const task = e.task === null ? '' : `task ${e.task}`;
    return `${time(e.time)}  ${task.padEnd(7)}  ${move ? move + '  ' : ''}${e.reason}`;
  });
  let out = lines.join('\n') + '\n';
  if (attempts.length) {
    out += '\nAttempts:\n';
    out += renderTable(
      [{ header: 'TASK' }, { header: 'ATTEMPT' }, { header: 'INFRA' }, { header: 'INSTANCE' }, { header: 'MARKET' }, { header: 'NODES' }, { header: 'START' }, { header: 'END' }, { header: 'OUTCOME' }, { header: 'COST', align: 'right' }],
      attempts.map((a) => [
        String(a.taskIndex),
        String(a.attempt),
        `${a.candidate.cloud}/${a.candidate.region}${a.zone ? `/${a.zone}` : ''}`,
        a.candidate.instanceType,
        a.candidate.spot ? 'spot' : 'on-demand',
        String(a.nodes.length),
        time(a.startedAt),
        time(a.endedAt),
        attemptOutcome(a),
        a.costUsd !== undefined ? `$${a.costUsd.toFixed(4)}` : '-',
      ]),
    );
    out += '\n';
  }
  return out;
}

export async function runLogs(opts: LogsOptions, io: CliIo, client?: Client): Promise<number> {
  try {
    const c = client ?? (await connect());
    const job = await resolveJob(c, opts.jobId, opts.name);
    if (opts.controller) {
      const log = await c.call('jobEvents', { params: { jobId: String(job.jobId) } });
      io.stdout(renderControllerLog(log.events, log.attempts));
      return isTerminal(job.status) ? exitCodeFor(job.status) : EXIT_CODES.NOT_FINISHED;
    }
    const task = taskIndexOf(job, opts.task);
    if (opts.syncDown !== undefined) return await syncDown(c, job, io, opts.syncDown, task);
    const status = await followLogs(c, job, io, { task, follow: opts.follow, tail: opts.tail, pollMs: opts.pollMs });
    if (!isTerminal(status)) return EXIT_CODES.NOT_FINISHED;
    // With a TASK, following ends when that task ends (later tasks may still run), and the status
    // and exit code are the task's, as in `sky jobs logs ID TASK`.
    if (opts.follow) io.stdout(task === undefined ? `Managed job finished: ${job.jobId} (status: ${status}).\n` : `Task ${task} (${job.tasks[task].name}) of managed job ${job.jobId} finished (status: ${status}).\n`);
    return exitCodeFor(status);
  } catch (err) {
    if (err instanceof RangeError) {
      io.stderr(`skyless: ${err.message}\n`);
      return EXIT.USAGE;
    }
    return reportError(io, err);
  }
}

async function syncDown(c: Client, job: JobView, io: CliIo, dir: string, task?: number): Promise<number> {
  const root = resolve(io.cwd, dir || '.', `skyless-logs`, `job-${job.jobId}`);
  mkdirSync(root, { recursive: true });
  let position: string | undefined;
  const files = new Set<string>();
  let page: LogPage;
  do {
    page = await c.call('jobLogs', { params: { jobId: String(job.jobId) }, query: { task: task === undefined ? undefined : String(task), after: position } });
    for (const ch of page.chunks) {
      const f = join(root, `task-${ch.task}-attempt-${ch.attempt}-node-${ch.node}.log`);
      if (!files.has(f)) writeFileSync(f, '');
      files.add(f);
      appendFileSync(f, ch.text);
    }
    position = page.position ?? position;
  } while (page.chunks.length);
  io.stdout(`Logs of job ${job.jobId} (${files.size} file(s)) synced to ${root}\n`);
  return isTerminal(page.status) ? exitCodeFor(page.status) : EXIT_CODES.NOT_FINISHED;
}

export function logsCommand(io: CliIo, setExitCode: (code: number) => void): Command {
  return new Command('logs')
    .description("Show a managed job's output (following it until the job ends).")
    .argument('[job_id]', 'job ID (default: the newest job)')
    .argument('[task]', 'task index or name (pipelines)')
    .option('-n, --name <name>', 'the newest job with this name')
    .option('--follow', 'keep printing until the job ends (default)')
    .option('--no-follow', 'print what exists now and exit')
    .option('--tail <n>', 'start with the last N lines (0 = all)', '1000')
    .option('--controller', 'show the job\'s event timeline (the "controller log")', false)
    .option('--sync-down [dir]', 'download every attempt\'s logs into DIR/skyless-logs/')
    .action(async (jobId: string | undefined, task: string | undefined, flags: Record<string, unknown>) => {
      const tail = Number(flags.tail);
      if (jobId !== undefined && !/^\d+$/.test(jobId)) {
        io.stderr(`skyless: job ID must be a number, got '${jobId}'\n`);
        return setExitCode(EXIT.USAGE);
      }
      if (!Number.isInteger(tail) || tail < 0) {
        io.stderr(`skyless: --tail must be a non-negative integer, got '${flags.tail}'\n`);
        return setExitCode(EXIT.USAGE);
      }
      setExitCode(
        await runLogs(
          {
            jobId: jobId === undefined ? undefined : Number(jobId),
            task,
            name: flags.name as string | undefined,
            follow: flags.follow !== false,
            tail,
            controller: Boolean(flags.controller),
            syncDown: flags.syncDown === true ? '.' : (flags.syncDown as string | undefined),
          },
          io,
        ),
      );
    });
}
