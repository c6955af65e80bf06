// `skyless` entry point (bin/skyless.js loads this through tsx).

import { processIo } from './io.ts';
import { runCli } from './program.ts';

try {
  process.exitCode = await runCli(process.argv.slice(2), processIo());
} catch (error) {
  // An error no command translated is a bug in skyless: show it whole.
  process.stderr.write(`skyless: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
}
