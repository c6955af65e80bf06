// An ObjectStore held in memory, for simulations that must not touch the disk (thousands of jobs'
// log chunks). Presigned URLs are opaque `memory://` strings: simulated nodes never fetch them.
// Keys are grouped by their first two path segments (`logs/42/…`, `jobs/42/…`), so listing or
// deleting one job's prefix does not scan every job's objects.

import type { ObjectInfo, ObjectStore } from '../../core/ports.ts';

/** The group of a key or prefix: its first two segments, or undefined if it has fewer. */
function groupOf(keyOrPrefix: string): string | undefined {
  const m = /^([^/]*\/[^/]*)\//.exec(keyOrPrefix);
  return m ? m[1] : undefined;
}

export class MemoryObjectStore implements ObjectStore {
  private readonly groups = new Map<string, Map<string, Uint8Array>>();

  async put(key: string, body: Uint8Array | string): Promise<void> {
    const g = groupOf(key) ?? '';
    let objects = this.groups.get(g);
    if (!objects) this.groups.set(g, (objects = new Map()));
    objects.set(key, typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    return this.groups.get(groupOf(key) ?? '')?.get(key);
  }

  private *matching(prefix: string): Iterable<[string, Map<string, Uint8Array>, Uint8Array]> {
    const g = groupOf(prefix);
    const candidates = g !== undefined ? [this.groups.get(g)] : [...this.groups.values()];
    for (const objects of candidates) {
      if (!objects) continue;
      for (const [key, body] of objects) if (key.startsWith(prefix)) yield [key, objects, body];
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out = [...this.matching(prefix)].map(([key, , body]) => ({ key, size: body.length }));
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async deletePrefix(prefix: string): Promise<number> {
    const doomed = [...this.matching(prefix)];
    for (const [key, objects] of doomed) objects.delete(key);
    return doomed.length;
  }

  async presignGet(key: string, expiresSeconds: number): Promise<string> {
    return `memory://get/${encodeURIComponent(key)}?expires=${expiresSeconds}`;
  }

  async presignPut(key: string, expiresSeconds: number): Promise<string> {
    return `memory://put/${encodeURIComponent(key)}?expires=${expiresSeconds}`;
  }

  /** Objects stored. */
  get size(): number {
    let n = 0;
    for (const objects of this.groups.values()) n += objects.size;
    return n;
  }
}
