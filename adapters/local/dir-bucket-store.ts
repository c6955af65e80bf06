// Cloud `local`'s buckets: one directory per bucket name under the control plane's buckets
// directory ($SKYLESS_HOME/local/buckets), which local nodes link (MOUNT) or copy (COPY).

import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BucketStore } from '../../core/ports.ts';
import { PrecheckError } from '../../core/errors.ts';

/** A name that stays one directory below the buckets directory (S3's rules, which GCS also accepts). */
const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/;

export class DirBucketStore implements BucketStore {
  constructor(private readonly dir: string) {}

  private path(name: string): string {
    if (!BUCKET_NAME.test(name) || name.includes('..')) {
      throw new PrecheckError(`invalid bucket name '${name}': use 3-63 lowercase letters, digits, '.', '-' or '_'`, 'InvalidBucketName');
    }
    return join(this.dir, name);
  }

  async ensure(name: string): Promise<'created' | 'existed'> {
    const path = this.path(name);
    const found = await stat(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (found?.isDirectory()) return 'existed';
    if (found) throw new PrecheckError(`bucket ${name}: ${path} exists and is not a directory`, 'NotADirectory');
    // `recursive` makes a concurrent create by another launch harmless; whoever saw it missing
    // reports 'created' (both record it; deletion is idempotent).
    await mkdir(path, { recursive: true });
    return 'created';
  }

  async delete(name: string): Promise<void> {
    await rm(this.path(name), { recursive: true, force: true });
  }
}
