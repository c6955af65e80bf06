// Packs a task's workdir and local file mounts (gzipped tar, with the `tar` library) and uploads them
// through presigned URLs under one prefix the job record points at. Layout: agent/PROTOCOL.md.
import { cpSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { JobSpec } from '../core/spec/types.ts';
import { archivedSources, lastComponent } from '../core/spec/node-mounts.ts';
import type { Client } from './client.ts';

export interface PackedFile {
  name: string;
  bytes: Uint8Array;
}

async function tarGz(cwd: string, entries: string[]): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  const { create } = await import('tar'); // loaded only by a launch with files: every other command starts faster
  const stream = create({ gzip: true, cwd, portable: true, follow: false }, entries);
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** Object names match core/usecases/agent.ts workdirKey/mountKey. Paths resolve against `baseDir`. */
export async function packJobFiles(spec: JobSpec, baseDir: string): Promise<PackedFile[]> {
  const out: PackedFile[] = [];
  for (const [t, task] of spec.tasks.entries()) {
    if (task.workdir) {
      const dir = resolve(baseDir, task.workdir);
      if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new RangeError(`workdir ${task.workdir}: not a directory (resolved to ${dir})`);
      out.push({ name: `task-${t}/workdir.tar.gz`, bytes: await tarGz(dir, ['.']) });
    }
    for (const [i, m] of task.fileMounts.entries()) {
      const { single, list } = archivedSources(m);
      if (single === undefined && list === undefined) continue;
      const where = `file_mounts.${m.dest}${m.kind === 'storage' ? '.source' : ''}`;
      const resolved = (source: string) => {
        const src = resolve(baseDir, source.replace(/^~(?=$|\/)/, process.env.HOME ?? '~'));
        if (!statSync(src, { throwIfNoEntry: false })) throw new RangeError(`${where}: ${source} does not exist (resolved to ${src})`);
        return src;
      };
      // One top-level entry named like the last component of dest, unpacked into dest's parent.
      const destName = basename(m.dest.replace(/\/+$/, ''));
      const name = `task-${t}/mount-${i}.tar.gz`;
      if (single !== undefined) {
        const src = resolved(single);
        if (basename(src) === destName) {
          out.push({ name, bytes: await tarGz(dirname(src), [basename(src)]) });
          continue;
        }
      }
      // Staged: one source under dest's name, or a list of sources each under its own last component.
      const tmp = mkdtempSync(resolve(process.env.TMPDIR ?? '/tmp', 'skyless-pack-'));
      try {
        if (single !== undefined) cpSync(resolved(single), resolve(tmp, destName), { recursive: true });
        for (const source of list ?? []) cpSync(resolved(source), resolve(tmp, destName, lastComponent(source)), { recursive: true });
        out.push({ name, bytes: await tarGz(tmp, [destName]) });
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    }
  }
  return out;
}

export async function uploadJobFiles(client: Client, files: PackedFile[]): Promise<string | undefined> {
  if (!files.length) return undefined;
  const { prefix, urls } = await client.call('issueUpload', { body: { files: files.map((f) => f.name) } });
  await Promise.all(files.map((f) => client.upload(urls[f.name], f.bytes)));
  return prefix;
}
