// `skyless jobs pool …` (SPEC §5): apply, status, down. Each verb lives in its own file.

import { Command } from 'commander';
import type { CliIo } from '../io.ts';
import { poolApplyCommand } from './jobs-pool-apply.ts';
import { poolStatusCommand } from './jobs-pool-status.ts';
import { poolDownCommand } from './jobs-pool-down.ts';

export function poolCommand(io: CliIo, setExitCode: (code: number) => void): Command {
  return new Command('pool')
    .description('Pools of warm workers that run many jobs on one environment: apply, status, down.')
    .addCommand(poolApplyCommand(io, setExitCode))
    .addCommand(poolStatusCommand(io, setExitCode))
    .addCommand(poolDownCommand(io, setExitCode));
}
