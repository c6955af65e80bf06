// `skyless jobs …`: the managed-jobs command group. Each verb lives in its own file.

import { Command } from 'commander';
import type { CliIo } from '../io.ts';
import { launchCommand } from './jobs-launch.ts';
import { queueCommand } from './jobs-queue.ts';
import { logsCommand } from './jobs-logs.ts';
import { cancelCommand } from './jobs-cancel.ts';
import { poolCommand } from './jobs-pool.ts';

export function jobsCommand(io: CliIo, setExitCode: (code: number) => void): Command {
  return new Command('jobs').description('Managed jobs: launch, queue, logs, cancel.').addCommand(launchCommand(io, setExitCode))
    .addCommand(queueCommand(io, setExitCode))
    .addCommand(logsCommand(io, setExitCode))
    .addCommand(cancelCommand(io, setExitCode))
    .addCommand(poolCommand(io, setExitCode));
}
