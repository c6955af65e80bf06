// What a CLI command may touch in the outside world. Commands receive it instead of using
// `process` and `fs` directly, so tests run them in-process with captured output.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

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

/**
 * Exit codes of skyless commands that do not report a job outcome (those use SPEC §2's 0/100–103).
 * USAGE covers every "the input is wrong" case: bad flags, an invalid or missing spec, resources
 * no instance can satisfy.
 */
export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2 } as const;
