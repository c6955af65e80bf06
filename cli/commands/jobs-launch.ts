// `skyless jobs launch [YAML | -- CMD...]` (SPEC §7). `launchCommand` is the commander definition
// (flags → LaunchOptions); `runLaunch` does the work against a CliIo and returns the exit code.
// Implemented here: reading and validating the spec, applying flag overrides, and `--dry-run`
// (the considered-resources table per task). Submitting needs the control plane.

import { Command, Option } from 'commander';
import { stringify } from 'yaml';
import { parseJobSpec } from '../../core/spec/index.ts';
import { SpecError } from '../../core/errors.ts';
import { checkEnvValuesSupplied } from '../../core/spec/envs.ts';
import { IssueList } from '../../core/spec/issues.ts';
import { candidatesFor, explainEmpty } from '../../core/optimizer/index.ts';
import { CLOUDS, type Cloud, type JobSpec, type SpecIssue } from '../../core/spec/types.ts';
import { EXIT, type CliIo } from '../io.ts';
import { applyLaunchOverrides, parseLaunchOverrides, type LaunchFlags } from '../../core/spec/overrides.ts';
import { renderConsideredResources } from '../format.ts';
import { basename } from 'node:path';
import { connect } from '../client.ts';
import { reportError } from '../errors.ts';
import { packJobFiles, uploadJobFiles } from '../upload.ts';
import { followLogs, resolveJob } from './jobs-logs.ts';
import { exitCodeFor } from '../../core/job/format.ts';

export interface LaunchOptions extends Omit<LaunchFlags, 'envFile'> {
  /** A YAML path, or the words of a command. */
  entrypoint: string[];
  /** The words came after `--`: always a command, never a file. */
  entrypointIsCommand: boolean;
  envFile?: string;
  pool?: string;
  numJobs?: string;
  detachRun: boolean;
  yes: boolean;
  dryRun: boolean;
}

/** Name of a task given as a command line, as in SkyPilot. */
export const COMMAND_TASK_NAME = 'sky-cmd';

/** Rows of the considered-resources table before `... N more`. */
const MAX_TABLE_ROWS = 10;

/** How many jobs `--num-jobs` may submit at once. */
const MAX_NUM_JOBS = 10_000;

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The commander definition; its action stores the exit code through `setExitCode`. */
export function launchCommand(io: CliIo, setExitCode: (code: number) => void): Command {
  return new Command('launch')
    .description('Launch a managed job from a task YAML, or from a command given after --.')
    .argument('[entrypoint...]', 'task YAML file, or a command (put it after --)')
    .option('-n, --name <name>', 'job name (overrides the YAML)')
    .option('--env <KEY[=VALUE]>', 'set an environment variable; KEY alone takes it from your environment (repeatable)', collect)
    .option('--env-file <path>', 'read environment variables from a dotenv file')
    .option('--secret <KEY[=VALUE]>', 'set a secret; KEY alone takes it from your environment (repeatable)', collect)
    .option('--use-spot', 'use spot instances')
    .option('--no-use-spot', 'use on-demand instances')
    .option('--gpus <accelerators>', "accelerators, e.g. A100:8 or '{L4:1,A100:1}'")
    .option('--cpus <n>', 'vCPUs per node, e.g. 8 or 8+')
    .option('--memory <gb>', 'memory per node in GB, e.g. 32 or 32+')
    .option('--infra <cloud[/region[/zone]]>', 'where to run, e.g. aws/us-east-1 (* for any part)')
    .option('--num-nodes <n>', 'number of nodes')
    .option('--priority <n>', `scheduling priority (-1000..1000, default 0)`)
    .option('-p, --pool <name>', 'run on a free worker of this pool')
    .option('--num-jobs <n>', 'submit N jobs to the pool (needs --pool)')
    .option('-d, --detach-run', 'do not follow the logs after submitting', false)
    .option('-y, --yes', 'do not ask for confirmation', false)
    .addOption(new Option('--dry-run', 'show the considered resources and submit nothing').default(false))
    .action(async (entrypoint: string[], flags: Record<string, unknown>, command: Command) => {
      let root: Command = command;
      while (root.parent) root = root.parent;
      // Commander drops `--` itself; its presence in the raw arguments marks an explicit command.
      const rawArgs = (root as unknown as { rawArgs?: string[] }).rawArgs ?? [];
      const options: LaunchOptions = {
        entrypoint,
        entrypointIsCommand: rawArgs.includes('--'),
        name: flags.name as string | undefined,
        env: flags.env as string[] | undefined,
        envFile: flags.envFile as string | undefined,
        secret: flags.secret as string[] | undefined,
        useSpot: flags.useSpot as boolean | undefined,
        gpus: flags.gpus as string | undefined,
        cpus: flags.cpus as string | undefined,
        memory: flags.memory as string | undefined,
        infra: flags.infra as string | undefined,
        numNodes: flags.numNodes as string | undefined,
        priority: flags.priority as string | undefined,
        pool: flags.pool as string | undefined,
        numJobs: flags.numJobs as string | undefined,
        detachRun: Boolean(flags.detachRun),
        yes: Boolean(flags.yes),
        dryRun: Boolean(flags.dryRun),
      };
      setExitCode(await runLaunch(options, io));
    });
}

function isMissingFile(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

type Entry = { kind: 'file'; path: string; text: string } | { kind: 'command'; command: string };

/** Decides between a YAML file and a command, reading the file. Errors are user-facing strings. */
function readEntry(options: LaunchOptions, io: CliIo): Entry | { error: string } {
  const words = options.entrypoint;
  if (words.length === 0) return { error: 'nothing to launch: give a task YAML file, or a command after --' };
  if (options.entrypointIsCommand || words.length > 1) return { kind: 'command', command: words.join(' ') };
  const [word] = words;
  const looksLikeYaml = /\.ya?ml$/i.test(word);
  try {
    return { kind: 'file', path: word, text: io.readFile(word) };
  } catch (error) {
    // A single word that is neither a file nor named like one is a command (`skyless jobs launch nvidia-smi`).
    if (isMissingFile(error) && !looksLikeYaml) return { kind: 'command', command: word };
    if (isMissingFile(error)) return { error: `${word}: file not found` };
    if ((error as NodeJS.ErrnoException).code === 'EISDIR') return { error: `${word}: is a directory, not a task YAML` };
    return { error: `${word}: cannot read: ${(error as Error).message}` };
  }
}

function reportIssues(io: CliIo, source: string, issues: readonly SpecIssue[]): void {
  for (const issue of issues) io.stderr(`${source}: ${issue.path ? `${issue.path}: ` : ''}${issue.message}\n`);
  io.stderr(`${issues.length} problem${issues.length === 1 ? '' : 's'} found; nothing was submitted.\n`);
}

/**
 * Clouds a launch may use. `local` is the simulated cloud: without a deployment setting it is used
 * only when a task asks for it by name. `SKYLESS_CLOUDS=aws,gcp,local` sets the list explicitly.
 */
export function resolveAllowedClouds(spec: JobSpec, env: Readonly<Record<string, string | undefined>>): Cloud[] | { error: string } {
  const setting = env.SKYLESS_CLOUDS?.trim();
  if (setting) {
    const names = setting.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
    const unknown = names.filter((n) => !(CLOUDS as readonly string[]).includes(n));
    if (unknown.length > 0) return { error: `SKYLESS_CLOUDS: unknown cloud ${unknown.join(', ')} (known: ${CLOUDS.join(', ')})` };
    return names as Cloud[];
  }
  const wantsLocal = spec.tasks.some((t) => t.resources.requests.some((r) => r.infra.cloud === 'local'));
  return wantsLocal ? ['aws', 'gcp', 'local'] : ['aws', 'gcp'];
}

export async function runLaunch(options: LaunchOptions, io: CliIo): Promise<number> {
  const usage = (message: string) => {
    io.stderr(`skyless jobs launch: ${message}\n`);
    return EXIT.USAGE;
  };

  // Flags first: they are cheap to check and independent of the file.
  let envFile: LaunchFlags['envFile'];
  if (options.envFile !== undefined) {
    try {
      envFile = { path: options.envFile, text: io.readFile(options.envFile) };
    } catch (error) {
      return usage(isMissingFile(error) ? `--env-file ${options.envFile}: file not found` : `--env-file ${options.envFile}: ${(error as Error).message}`);
    }
  }
  const { overrides, issues: flagIssues } = parseLaunchOverrides({ ...options, envFile }, io.env);
  if (options.numJobs !== undefined && options.pool === undefined) flagIssues.push({ path: '--num-jobs', message: 'needs --pool' });
  let numJobs = 1;
  if (options.numJobs !== undefined) {
    numJobs = Number(options.numJobs);
    if (!Number.isInteger(numJobs) || numJobs < 1 || numJobs > MAX_NUM_JOBS) {
      flagIssues.push({ path: '--num-jobs', message: `must be a whole number from 1 to ${MAX_NUM_JOBS} (got '${options.numJobs}')` });
    }
  }
  if (flagIssues.length > 0) {
    reportIssues(io, 'skyless jobs launch', flagIssues);
    return EXIT.USAGE;
  }

  const entry = readEntry(options, io);
  if ('error' in entry) return usage(entry.error);
  const source = entry.kind === 'file' ? entry.path : '<command>';
  const text = entry.kind === 'file' ? entry.text : stringify({ name: COMMAND_TASK_NAME, run: entry.command });

  let spec: JobSpec;
  try {
    // Values are checked below, after `--secret` is applied (the parser knows only `--env`).
    spec = parseJobSpec(text, { source, envOverrides: overrides.envs, requireEnvValues: false });
  } catch (error) {
    if (error instanceof SpecError) {
      reportIssues(io, source, error.issues);
      return EXIT.USAGE;
    }
    throw error;
  }
  spec = applyLaunchOverrides(spec, overrides);
  if (!options.dryRun) {
    // A null env or secret must be supplied before submission (not to look at a dry run).
    const missing = new IssueList();
    spec.tasks.forEach((task, i) => checkEnvValuesSupplied(task, spec.isPipeline ? missing.within(`tasks[${i}]`) : missing));
    if (missing.size > 0) {
      reportIssues(io, source, missing.items);
      return EXIT.USAGE;
    }
  }

  if (!options.dryRun) return submit({ spec, text, source, options, envs: overrides.envs, secrets: overrides.secrets, numJobs }, io);
  return printDryRun(spec, source, options, numJobs, io);
}

interface Submission {
  spec: JobSpec;
  text: string;
  source: string;
  options: LaunchOptions;
  envs: Record<string, string>;
  secrets: Record<string, string>;
  numJobs: number;
}

/** SkyPilot's closing hints after a launch. */
export function usefulCommands(jobId: number): string {
  return [
    'Useful Commands',
    `Managed Job ID: ${jobId}`,
    `├── To cancel the job:            skyless jobs cancel ${jobId}`,
    `├── To stream job logs:           skyless jobs logs ${jobId}`,
    `├── To stream controller logs:    skyless jobs logs --controller ${jobId}`,
    '└── To view all managed jobs:     skyless jobs queue',
  ].join('\n');
}

async function submit(s: Submission, io: CliIo): Promise<number> {
  const { spec, options } = s;
  try {
    const client = await connect(io.env);
    if (!options.yes) {
      if (!io.interactive) {
        io.stderr('skyless jobs launch: stdin is not a terminal, so there is no one to confirm; pass -y to launch without asking\n');
        return EXIT.USAGE;
      }
      const allowed: Cloud[] | { error: string } = client.local ? ['local'] : resolveAllowedClouds(spec, io.env);
      if (!('error' in allowed)) {
        for (const [i, task] of spec.tasks.entries()) {
          const cands = candidatesFor(task.resources, task.numNodes, { allowedClouds: allowed });
          if (cands.length) io.stdout(`${spec.tasks.length > 1 ? `Task ${i + 1}/${spec.tasks.length} '${task.name}': considered resources:` : 'Considered resources:'}\n${renderConsideredResources(cands, task.numNodes, MAX_TABLE_ROWS)}\n`);
        }
      }
      if (!(await io.confirm(`Launching a managed job '${spec.name}'. Proceed?`))) return EXIT.FAILURE;
    }
    const files = await packJobFiles(spec, io.cwd);
    const filesPrefix = await uploadJobFiles(client, files);
    const overrides = Object.fromEntries(
      Object.entries({ name: options.name, useSpot: options.useSpot, gpus: options.gpus, cpus: options.cpus, memory: options.memory, infra: options.infra, numNodes: options.numNodes, priority: options.priority }).filter(([, v]) => v !== undefined),
    );
    const { jobIds } = await client.call('submitJobs', { body: {
      yaml: s.text,
      source: s.source === '<command>' ? undefined : basename(s.source),
      envs: s.envs,
      secrets: s.secrets,
      overrides,
      numJobs: options.pool ? s.numJobs : undefined,
      pool: options.pool,
      filesPrefix,
    } });
    io.stdout(`Managed job${jobIds.length > 1 ? 's' : ''} submitted: ${jobIds.length > 1 ? `IDs ${jobIds[0]}-${jobIds[jobIds.length - 1]}` : `ID ${jobIds[0]}`} ('${spec.name}').\n`);
    const jobId = jobIds[0];
    if (options.detachRun || jobIds.length > 1) {
      io.stdout(usefulCommands(jobId) + '\n');
      return EXIT.OK;
    }
    const job = await resolveJob(client, jobId);
    const status = await followLogs(client, job, io, { follow: true, tail: 0 });
    io.stdout(`Managed job finished: ${jobId} (status: ${status}).\n`);
    io.stdout(usefulCommands(jobId) + '\n');
    return exitCodeFor(status);
  } catch (err) {
    if (err instanceof RangeError) {
      io.stderr(`skyless jobs launch: ${err.message}\n`);
      return EXIT.USAGE;
    }
    return reportError(io, err);
  }
}

function printDryRun(spec: JobSpec, source: string, options: LaunchOptions, numJobs: number, io: CliIo): number {
  const out: string[] = [];
  const taskWord = spec.tasks.length === 1 ? '1 task' : `${spec.tasks.length} tasks`;

  if (options.pool !== undefined) {
    out.push(`Managed job '${spec.name}' (${taskWord}) would run as ${numJobs} job${numJobs === 1 ? '' : 's'} on pool '${options.pool}'.`);
    for (const task of spec.tasks) {
      if (task.setup !== undefined || task.fileMounts.length > 0) {
        out.push(`Warning: task '${task.name}': setup and file_mounts are ignored on a pool (its workers ran the pool's own).`);
      }
    }
    out.push('Dry run: nothing was submitted.');
    io.stdout(out.join('\n') + '\n');
    return EXIT.OK;
  }

  const allowed = resolveAllowedClouds(spec, io.env);
  if ('error' in allowed) {
    io.stderr(`skyless jobs launch: ${allowed.error}\n`);
    return EXIT.USAGE;
  }
  let infeasible = 0;
  spec.tasks.forEach((task, i) => {
    const nodes = `${task.numNodes} node${task.numNodes === 1 ? '' : 's'}`;
    const title = spec.tasks.length > 1 ? `Task ${i + 1}/${spec.tasks.length} '${task.name}': considered resources (${nodes}):` : `Considered resources (${nodes}):`;
    const candidates = candidatesFor(task.resources, task.numNodes, { allowedClouds: allowed });
    if (candidates.length === 0) {
      infeasible++;
      const reason = explainEmpty(task.resources, { allowedClouds: allowed }) ?? 'no candidate';
      io.stderr(`${source}: task '${task.name}': no feasible resources: ${reason}\n`);
      return;
    }
    out.push('', title, renderConsideredResources(candidates, task.numNodes, MAX_TABLE_ROWS));
  });
  if (infeasible < spec.tasks.length) {
    io.stdout([`Managed job '${spec.name}' (${taskWord}) would be launched on (estimated):`, ...out, '', 'Dry run: nothing was submitted.'].join('\n') + '\n');
  }
  if (infeasible > 0) io.stderr('Nothing was submitted.\n');
  return infeasible > 0 ? EXIT.USAGE : EXIT.OK;
}
