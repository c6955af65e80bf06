// Packs a task's workdir and local file mounts (gzipped tar, with the `tar` library) and uploads them
// through presigned URLs under one prefix the job record points at. Layout: agent/PROTOCOL.md.
import { create } from 'tar';
import { statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { JobSpec } from '../core/spec/types.ts';
import type { Client } from './client.ts';

export interface PackedFile {
  name: string;
  bytes: Uint8Array;
}

async function tarGz(cwd: string, entries: string[]): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
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
      if (m.kind !== 'upload') continue;
      const src = resolve(baseDir, m.source.replace(/^~(?=$|\/)/, process.env.HOME ?? '~'));
      if (!statSync(src, { throwIfNoEntry: false })) throw new RangeError(`file_mounts.${m.dest}: ${m.source} does not exist (resolved to ${src})`);
      // One top-level entry named like the last component of dest, unpacked into dest's parent.
      const destName = basename(m.dest.replace(/\/+$/, ''));
      if (basename(src) === destName) out.push({ name: `task-${t}/mount-${i}.tar.gz`, bytes: await tarGz(dirname(src), [basename(src)]) });
      else {
        const { mkdtempSync, cpSync, rmSync } = await import('node:fs');
        const tmp = mkdtempSync(resolve(process.env.TMPDIR ?? '/tmp', 'skyless-pack-'));
        try {
          cpSync(src, resolve(tmp, destName), { recursive: true });
          out.push({ name: `task-${t}/mount-${i}.tar.gz`, bytes: await tarGz(tmp, [destName]) });
        } finally {
          rmSync(tmp, { recursive: true, force: true });
        }
      }
    }
  }
  return out;
}

export async function uploadJobFiles(client: Client, files: PackedFile[]): Promise<string | undefined> {
  if (!files.length) return undefined;
  const { prefix, urls } = await client.request<{ prefix: string; urls: Record<string, string> }>('POST', '/uploads', { files: files.map((f) => f.name) });
  await Promise.all(files.map((f) => client.upload(urls[f.name], f.bytes)));
  return prefix;
}
