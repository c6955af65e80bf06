// The `skyless` command tree and its in-process runner. main.ts runs it on the real process; tests
// run it with a captured CliIo.

import { Command, CommanderError } from 'commander';
import { EXIT, type CliIo } from './io.ts';
import { jobsCommand } from './commands/jobs.ts';
import { normalizeUseSpot } from './commands/jobs-launch.ts';
import { localCommand } from './commands/local.ts';
import { configCommand } from './commands/config.ts';
import { initCommand } from './commands/init.ts';
import { dashboardCommand } from './commands/dashboard.ts';

export function createProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command('skyless')
    .description('SkyPilot-style managed jobs without a controller VM.')
    .version('0.1.0')
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) })
    .exitOverride();
  const jobs = jobsCommand(io, setExitCode);
  // Subcommands do not inherit these settings from their parent: apply them down the tree.
  const configure = (cmd: Command) => {
    cmd.configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) }).exitOverride().showHelpAfterError('(add --help for usage)');
    cmd.commands.forEach(configure);
  };
  const local = localCommand(io, setExitCode);
  configure(jobs);
  configure(local);
  program.addCommand(jobs);
  program.addCommand(local);
  for (const cmd of [configCommand(io, setExitCode), initCommand(io, setExitCode), dashboardCommand(io, setExitCode)]) {
    configure(cmd);
    program.addCommand(cmd);
  }
  return program;
}

/** Runs `skyless <args>` and returns the exit code; commander usage errors exit 2, help exits 0. */
export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  let exitCode: number = EXIT.OK;
  const program = createProgram(io, (code) => (exitCode = code));
  try {
    await program.parseAsync(normalizeUseSpot(args), { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      const informational = ['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(error.code);
      // Commander exits 1 for usage errors; skyless reserves 2 for "your input is wrong".
      return informational || error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    throw error;
  }
  return exitCode;
}
