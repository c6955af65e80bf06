// `skyless local faults set|clear|show`: launch faults for cloud `local` (capacity, quota, precheck,
// unexpected errors), kept in $SKYLESS_HOME/local/faults.json. The control plane reads the file on
// every launch, so changes apply at the next launch attempt; no running control plane is needed.
import { Command } from 'commander';
import type { CliIo } from '../io.ts';
import { EXIT } from '../io.ts';
import { skylessHome } from '../../local/home.ts';
import { readConfig } from '../client.ts';
import { addFault, describeFault, faultsPath, FAULT_KINDS, FAULT_SCOPES, readFaults, removeFaults, validateFault, writeFaults, type FaultKind, type LaunchFault } from '../../local/faults.ts';
import { ValidationError } from '../../core/errors.ts';

interface SelectorFlags {
  region?: string;
  zone?: string;
  instanceType?: string;
}

function usage(io: CliIo, err: unknown): number {
  if (err instanceof ValidationError) {
    io.stderr(`skyless: ${err.message}\n`);
    return EXIT.USAGE;
  }
  throw err;
}

export async function runFaultsSet(flags: SelectorFlags & { scope?: string; kind?: string; delay?: string }, io: CliIo, home = skylessHome()): Promise<number> {
  try {
    if (flags.delay !== undefined && !/^\d+(\.\d+)?$/.test(flags.delay)) throw new ValidationError(`--delay must be a number of seconds, got '${flags.delay}'`);
    const fault = validateFault(
      {
        kind: (flags.kind ?? 'capacity') as FaultKind,
        scope: flags.scope as LaunchFault['scope'] | undefined,
        region: flags.region,
        zone: flags.zone,
        instanceType: flags.instanceType,
        delaySeconds: flags.delay === undefined ? undefined : Number(flags.delay),
      },
      'local faults set',
    );
    await writeFaults(home, addFault(await readFaults(home), fault));
    io.stdout(`Fault set: ${describeFault(fault)}.\n`);
    if (io.env.SKYLESS_ENDPOINT || readConfig().endpoint) io.stderr('skyless: note: faults apply to the local control plane (cloud local) only, not to the configured endpoint\n');
    return EXIT.OK;
  } catch (err) {
    return usage(io, err);
  }
}

export async function runFaultsClear(flags: SelectorFlags & { kind?: string }, io: CliIo, home = skylessHome()): Promise<number> {
  try {
    if (flags.kind !== undefined && !FAULT_KINDS.includes(flags.kind as FaultKind)) throw new ValidationError(`--kind must be one of ${FAULT_KINDS.join(', ')}, got '${flags.kind}'`);
    const before = await readFaults(home);
    const after = removeFaults(before, { region: flags.region, zone: flags.zone, instanceType: flags.instanceType, kind: flags.kind as FaultKind | undefined });
    await writeFaults(home, after);
    const removed = before.launch.length - after.launch.length;
    io.stdout(`Cleared ${removed} fault(s); ${after.launch.length} left.\n`);
    return EXIT.OK;
  } catch (err) {
    return usage(io, err);
  }
}

export async function runFaultsShow(io: CliIo, home = skylessHome()): Promise<number> {
  try {
    const f = await readFaults(home);
    if (!f.launch.length) io.stdout(`No launch faults (${faultsPath(home)}).\n`);
    else io.stdout(`Launch faults (${faultsPath(home)}):\n${f.launch.map((x) => `  ${describeFault(x)}\n`).join('')}`);
    return EXIT.OK;
  } catch (err) {
    return usage(io, err);
  }
}

function selectorOptions(cmd: Command): Command {
  return cmd
    .option('--region <region>', 'region of cloud local (local-1, local-2, local-3); default every region')
    .option('--zone <zone>', 'one zone of --region (e.g. local-1a); default every zone')
    .option('--instance-type <type>', 'one instance type (e.g. local.cpu.small); default every type');
}

export function faultsCommand(io: CliIo, setExitCode: (code: number) => void): Command {
  const faults = new Command('faults').description('Fault injection: make launches on cloud `local` fail or crawl (capacity, quota, precheck, unexpected errors, slow calls).');
  selectorOptions(faults.command('set').description('Make launches in a place fail.'))
    .option('--scope <scope>', `what the error blocks: ${FAULT_SCOPES.join(' | ')} (default: zone for capacity, region for quota)`)
    .option('--kind <kind>', FAULT_KINDS.join(' | '), 'capacity')
    .option('--delay <seconds>', 'slow faults: hold every launch call up to this many seconds (or until the fault is cleared)')
    .action(async (flags: SelectorFlags & { scope?: string; kind?: string; delay?: string }) => setExitCode(await runFaultsSet(flags, io)));
  selectorOptions(faults.command('clear').description('Remove faults (those matching the flags; all without flags): capacity returns.'))
    .option('--kind <kind>', `only faults of this kind (${FAULT_KINDS.join(' | ')})`)
    .action(async (flags: SelectorFlags & { kind?: string }) => setExitCode(await runFaultsClear(flags, io)));
  faults
    .command('show')
    .description('List the faults in effect.')
    .action(async () => setExitCode(await runFaultsShow(io)));
  return faults;
}
