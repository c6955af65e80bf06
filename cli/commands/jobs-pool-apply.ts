// `skyless jobs pool apply -p NAME pool.yaml [-y]`: create or update a pool. Prints the pool spec and
// the considered resources per worker, asks, and returns at once: workers provision in the background.

import { Command } from 'commander';
import { basename } from 'node:path';
import { parseJobSpec } from '../../core/spec/index.ts';
import { SpecError } from '../../core/errors.ts';
import { candidatesFor } from '../../core/optimizer/index.ts';
import { poolSpecIssues, policyText, POOL_NAME } from '../../core/pools/policy.ts';
import type { Cloud, JobSpec, SpecIssue } from '../../core/spec/types.ts';
import { EXIT, type CliIo } from '../io.ts';
import { connect } from '../client.ts';
import { reportError } from '../errors.ts';
import { renderConsideredResources } from '../format.ts';
import { resolveAllowedClouds } from './jobs-launch.ts';

export interface PoolApplyOptions {
  pool?: string;
  yaml?: string;
  yes: boolean;
}

function issuesOut(io: CliIo, source: string, issues: readonly SpecIssue[]): number {
  for (const i of issues) io.stderr(`${source}: ${i.path ? `${i.path}: ` : ''}${i.message}\n`);
  io.stderr(`${issues.length} problem${issues.length === 1 ? '' : 's'} found; nothing was applied.\n`);
  return EXIT.USAGE;
}

export function usefulPoolCommands(name: string): string {
  return [
    `Pool name: ${name}`,
    'Useful Commands',
    `├── To submit jobs to the pool: skyless jobs launch --pool ${name} <yaml_file>`,
    `├── To submit multiple jobs:    skyless jobs launch --pool ${name} --num-jobs 10 <yaml_file>`,
    `├── To check the pool status:   skyless jobs pool status ${name}`,
    `└── To terminate the pool:      skyless jobs pool down ${name}`,
  ].join('\n');
}

export async function runPoolApply(opts: PoolApplyOptions, io: CliIo): Promise<number> {
  const usage = (m: string) => {
    io.stderr(`skyless jobs pool apply: ${m}\n`);
    return EXIT.USAGE;
  };
  if (!opts.pool) return usage('name the pool with -p/--pool NAME');
  if (!POOL_NAME.test(opts.pool)) return usage(`pool name '${opts.pool}' must start with a letter and hold only letters, digits, '-', '_' or '.' (at most 63)`);
  if (!opts.yaml) return usage('give the pool YAML file');
  let text: string;
  try {
    text = io.readFile(opts.yaml);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return usage(code === 'ENOENT' ? `${opts.yaml}: file not found` : `${opts.yaml}: ${(err as Error).message}`);
  }
  let spec: JobSpec;
  try {
    spec = parseJobSpec(text, { source: opts.yaml, requireEnvValues: true });
  } catch (err) {
    if (err instanceof SpecError) return issuesOut(io, opts.yaml, err.issues);
    throw err;
  }
  const extra = poolSpecIssues(spec);
  if (extra.length) return issuesOut(io, opts.yaml, extra);
  const task = spec.tasks[0];
  const pool = task.pool!;
  try {
    const client = await connect(io.env);
    const allowed: Cloud[] | { error: string } = client.local ? ['local'] : resolveAllowedClouds(spec, io.env);
    const lines = [`YAML to run: ${opts.yaml}`, 'Pool spec:', `Worker policy:  ${policyText(pool)}`];
    if (task.run !== undefined) lines.push('Note: the run section of a pool YAML is ignored (jobs bring their own).');
    if (!('error' in allowed)) {
      const cands = candidatesFor(task.resources, 1, { allowedClouds: allowed });
      if (cands.length) lines.push('', 'Each pool worker will use the following resources (estimated):', 'Considered resources (1 node):', renderConsideredResources(cands, 1, 10));
    }
    io.stdout(lines.join('\n') + '\n');
    if (!opts.yes) {
      if (!io.interactive) return usage('stdin is not a terminal, so there is no one to confirm; pass -y to apply without asking');
      if (!(await io.confirm(`Applying config to pool '${opts.pool}'. Proceed?`))) return EXIT.FAILURE;
    }
    const r = await client.call('poolApply', { body: { name: opts.pool, yaml: text, source: basename(opts.yaml) } });
    io.stdout(usefulPoolCommands(r.pool) + '\n');
    if (r.update === 'created') io.stdout(`✓ Successfully created pool '${r.pool}'.\n`);
    else if (r.update === 'in-place') io.stdout(`✓ Successfully updated pool '${r.pool}' in place (workers are kept; ${policyText(r)}).\n`);
    else io.stdout(`✓ Successfully updated pool '${r.pool}': new workers replace the old ones gradually (a busy worker finishes its job first).\n`);
    return EXIT.OK;
  } catch (err) {
    return reportError(io, err);
  }
}

export function poolApplyCommand(io: CliIo, setExitCode: (code: number) => void): Command {
  return new Command('apply')
    .description('Create a pool, or update it (in place when only pool: changed).')
    .argument('[yaml]', 'pool YAML file (a task YAML with a pool: section)')
    .option('-p, --pool <name>', 'pool name')
    .option('-y, --yes', 'do not ask for confirmation', false)
    .action(async (yaml: string | undefined, flags: Record<string, unknown>) => {
      setExitCode(await runPoolApply({ pool: flags.pool as string | undefined, yaml, yes: Boolean(flags.yes) }, io));
    });
}
