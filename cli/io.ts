// What a CLI command may touch in the outside world. Commands receive it instead of using
// `process` and `fs` directly, so tests run them in-process with captured output.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { EXIT_CODES } from '../core/job/format.ts';

export interface CliIo {
  /** Writes text as is (callers add newlines). */
  stdout(text: string): void;
  stderr(text: string): void;
  /** UTF-8 contents of a file, path relative to `cwd`; throws Node's ENOENT/EISDIR errors. */
  readFile(path: string): string;
  /** The environment `--env K` / `--secret K` read values from. */
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Whether a person can answer a question (stdin is a terminal). Never prompt otherwise. */
  interactive: boolean;
  /** Asks a yes/no question (default yes); only called when `interactive`. */
  confirm(question: string): Promise<boolean>;
}

/** The real process: stdout, stderr, the file system and process.env. */
export function processIo(): CliIo {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    readFile: (path) => readFileSync(resolve(process.cwd(), path), 'utf8'),
    env: process.env,
    cwd: process.cwd(),
    interactive: Boolean(process.stdin.isTTY),
    async confirm(question) {
      const { createInterface } = await import('node:readline/promises');
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        const answer = (await rl.question(`${question} [Y/n] `)).trim().toLowerCase();
        return answer === '' || answer === 'y' || answer === 'yes';
      } finally {
        rl.close();
      }
    },
  };
}

/** Exit codes of commands that do not report a job outcome; the numbers are core/job/format.ts EXIT_CODES. */
export const EXIT = { OK: EXIT_CODES.SUCCEEDED, FAILURE: EXIT_CODES.FAILURE, USAGE: EXIT_CODES.USAGE } as const;
