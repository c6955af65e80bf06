// `skyless local preempt JOB [--node N] [--silent | --stop]`: fault injection on cloud `local`. Kills
// the job's node process(es) as a spot reclaim would and delivers the EC2-shaped events AWS would
// send (interruption warning, then state changes) to the same events handler EventBridge targets.
// --silent: the machine just dies, no event (only missing heartbeats tell). --stop: someone else
// stopped the instance (state changes stopping → stopped, no warning).
import { Command } from 'commander';
import type { CliIo } from '../io.ts';
import { EXIT } from '../io.ts';
import { connect, type Client } from '../client.ts';
import { reportError } from '../errors.ts';
import type { PreemptMode, PreemptResult } from '../../local/admin.ts';

export interface PreemptOptions {
  jobId: number;
  node?: number;
  mode: PreemptMode;
}

function describeAnswer(result: unknown): string {
  const r = result as { handled?: boolean; why?: string; attempt?: number } | undefined;
  if (!r || typeof r !== 'object') return 'no answer';
  if (r.handled) return `handled (attempt ${r.attempt} lost)`;
  return `ignored (${r.why ?? 'no reason given'})`;
}

export async function runPreempt(opts: PreemptOptions, io: CliIo, client?: Client): Promise<number> {
  try {
    const c = client ?? (await connect());
    if (!c.local) {
      io.stderr(`skyless: fault injection works on the local control plane only; this CLI is configured for ${c.endpoint}\n`);
      return EXIT.USAGE;
    }
    const r = await c.request<PreemptResult>('POST', '/local/preempt', { jobId: opts.jobId, node: opts.node, mode: opts.mode });
    for (const i of r.instances) io.stdout(`Killed ${i.instanceId} (node ${i.node}, attempt ${i.attempt}, ${i.region}).\n`);
    for (const e of r.events) io.stdout(`Delivered ${e['detail-type']}${e.state ? ` (${e.state})` : ''} for ${e.instanceId}: ${describeAnswer(e.result)}.\n`);
    if (opts.mode === 'silent') io.stdout('No event sent: the control plane notices through the missing heartbeats.\n');
    return EXIT.OK;
  } catch (err) {
    return reportError(io, err);
  }
}

export function preemptCommand(io: CliIo, setExitCode: (code: number) => void): Command {
  return new Command('preempt')
    .description("Fault injection: preempt a managed job's local instance(s) as a spot reclaim would.")
    .argument('<job_id>', 'managed job ID')
    .option('--node <rank>', 'only this node (default: every node of the running attempt)')
    .option('--silent', 'kill without any event (only the heartbeat timeout notices)', false)
    .option('--stop', 'simulate a stop by someone else (state-change events stopping → stopped, no warning)', false)
    .action(async (jobId: string, flags: { node?: string; silent: boolean; stop: boolean }) => {
      if (!/^\d+$/.test(jobId)) {
        io.stderr(`skyless: job ID must be a number, got '${jobId}'\n`);
        return setExitCode(EXIT.USAGE);
      }
      if (flags.node !== undefined && !/^\d+$/.test(flags.node)) {
        io.stderr(`skyless: --node must be a node rank (0, 1, …), got '${flags.node}'\n`);
        return setExitCode(EXIT.USAGE);
      }
      if (flags.silent && flags.stop) {
        io.stderr('skyless: --silent and --stop exclude each other\n');
        return setExitCode(EXIT.USAGE);
      }
      const mode: PreemptMode = flags.silent ? 'silent' : flags.stop ? 'stop' : 'warning';
      setExitCode(await runPreempt({ jobId: Number(jobId), node: flags.node === undefined ? undefined : Number(flags.node), mode }, io));
    });
}
