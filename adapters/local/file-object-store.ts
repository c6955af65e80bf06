// ObjectStore on the local disk. "Presigned" URLs point at the local API's /files/ route and carry an
// HMAC over (method, key, expiry), so a node process can fetch or upload exactly one object, as with
// S3 presigned URLs.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, writeFile, rm, readdir, stat, rename } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { ObjectStore, ObjectInfo, Clock } from '../../core/ports.ts';
import { ValidationError } from '../../core/errors.ts';

export class FileObjectStore implements ObjectStore {
  constructor(
    private readonly root: string,
    /** Base URL of the server that serves /files/ (set once the server listens). */
    public baseUrl: string,
    private readonly key: string,
    private readonly clock: Clock = { now: () => Date.now() },
  ) {}

  private pathOf(key: string): string {
    if (!key || key.startsWith('/') || key.split('/').some((p) => p === '..' || p === '') || key.includes('\\')) {
      throw new ValidationError(`invalid object key '${key}'`);
    }
    return join(this.root, ...key.split('/'));
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    await writeFile(tmp, body);
    await rename(tmp, path); // readers never see a half-written object
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(this.pathOf(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    const walk = async (dir: string) => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const e of entries) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (!e.name.includes('.tmp-')) {
          const key = relative(this.root, p).split(sep).join('/');
          if (key.startsWith(prefix)) out.push({ key, size: (await stat(p)).size });
        }
      }
    };
    // Walk only the deepest directory the prefix names.
    const dirPart = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    await walk(dirPart ? join(this.root, ...dirPart.split('/')) : this.root);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async deletePrefix(prefix: string): Promise<number> {
    const objects = await this.list(prefix);
    await Promise.all(objects.map((o) => rm(this.pathOf(o.key), { force: true })));
    if (prefix.endsWith('/')) await rm(this.pathOf(prefix.slice(0, -1)), { recursive: true, force: true });
    return objects.length;
  }

  private sign(method: string, key: string, exp: number): string {
    return createHmac('sha256', this.key).update(`${method}\n${key}\n${exp}`).digest('base64url');
  }

  private url(method: string, key: string, expiresSeconds: number): string {
    this.pathOf(key);
    const exp = Math.floor(this.clock.now() / 1000) + expiresSeconds;
    return `${this.baseUrl}/files/${key.split('/').map(encodeURIComponent).join('/')}?exp=${exp}&sig=${this.sign(method, key, exp)}`;
  }

  async presignGet(key: string, expiresSeconds: number): Promise<string> {
    return this.url('GET', key, expiresSeconds);
  }

  async presignPut(key: string, expiresSeconds: number): Promise<string> {
    return this.url('PUT', key, expiresSeconds);
  }

  /** Checks a /files/ request made with a URL from presignGet/presignPut. */
  verify(method: string, key: string, exp: string | null, sig: string | null): boolean {
    if (!exp || !sig || !/^\d+$/.test(exp)) return false;
    if (Number(exp) < Math.floor(this.clock.now() / 1000)) return false;
    const expected = Buffer.from(this.sign(method, key, Number(exp)));
    const given = Buffer.from(sig);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}
