// The CLI's error edge: every failure becomes one sentence on stderr and an exit code.
import { ApiError, ConnectionError } from './client.ts';
import { EXIT, type CliIo } from './io.ts';
import { EXIT_CODES } from '../core/job/format.ts';

interface SpecIssueLike {
  path?: string;
  message?: string;
}

export function reportError(io: CliIo, err: unknown): number {
  if (err instanceof ApiError) {
    if (err.error === 'SpecError' && Array.isArray(err.details)) {
      io.stderr(`Invalid task spec:\n${(err.details as SpecIssueLike[]).map((i) => `  ${i.path ? `${i.path}: ` : ''}${i.message}`).join('\n')}\n`);
      return EXIT.USAGE;
    }
    if (err.status === 404) {
      io.stderr(`skyless: ${err.message}\n`);
      return EXIT_CODES.NOT_FOUND;
    }
    io.stderr(`skyless: ${err.message}${err.status >= 500 ? ' (server error)' : ''}\n`);
    return err.status >= 400 && err.status < 500 ? EXIT.USAGE : EXIT.FAILURE;
  }
  if (err instanceof ConnectionError) {
    io.stderr(`skyless: ${err.message}\n`);
    return EXIT.FAILURE;
  }
  throw err;
}
