// Where a task's files come from on a node, and where a node saves them back (SPEC §1 file_mounts, §8).
// Pure: the API turns archives into presigned URLs, the agent does the copying (agent/PROTOCOL.md).
//
// Terms.
// - Archive: a gzipped tar the CLI packed from local paths and uploaded with the job (one per mount).
// - Saved mount: a bucket mounted with mode MOUNT or MOUNT_CACHED. skyless has no FUSE mount on
//   aws/gcp nodes; the node copies the bucket prefix down at start and saves the directory back
//   (new and changed files; it never deletes) periodically, when a phase ends, on an interruption
//   notice and when it stops. So a checkpoint written to the mount survives a preemption, which is
//   what SkyPilot users mount buckets for. On cloud `local` a bucket is a directory of the machine
//   and MOUNT links to it: a live mount.
//
// Rules, per storage mount {name, source, store, mode} (the parser refuses a name beside a bucket URL,
// as SkyPilot does):
// - a bucket URL source: MOUNT → mirror it, COPY → copy it;
// - a name alone is the bucket `name` on `store`, or the node's own cloud's store when none is given
//   (aws → s3, gcp → gs, local → the machine's bucket directory);
// - local-path sources travel in the job's archive (one path: its contents at dest; a list: each at
//   dest/<its last component>). With a name and mode MOUNT, the bucket is mirrored at dest first and
//   the archive unpacked over it, so the bucket receives the sources and what the task adds (as
//   SkyPilot uploads the sources to the bucket and mounts it);
// - (an addition to SkyPilot, which accepts only local paths in a list) bucket URLs in a list are
//   each copied to dest/<its last component>, never saved back.

import type { FileMount, TaskSpec } from './types.ts';
import { joinPath } from './issues.ts';
import type { SpecIssue as Issue } from './types.ts';

/** What a node does for one mount; `archive` becomes a presigned URL of mount archive `archive`. */
export type NodeMount =
  | { dest: string; archive: number }
  | { dest: string; uri: string }
  | { dest: string; link: string }
  | { dest: string; mirror: string };

export interface NodeMountContext {
  /** The cloud the node runs on. */
  cloud: string;
  /** Cloud `local`: the directory holding its buckets (one directory per name). */
  localBucketsDir?: string;
}

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;
const STORE_SCHEME: Record<string, string> = { s3: 's3', gcs: 'gs', r2: 'r2' };
const CLOUD_STORE: Record<string, string> = { aws: 's3', gcp: 'gcs' };

export function isBucketUrl(source: string): boolean {
  return SCHEME.test(source);
}

/** The local-path sources of a mount, which the CLI packs into the mount's archive (none: no archive). */
export function archivedSources(m: FileMount): { single?: string; list?: string[] } {
  if (m.kind === 'upload') return { single: m.source };
  if (m.kind !== 'storage' || m.source === undefined) return {};
  if (typeof m.source === 'string') return isBucketUrl(m.source) ? {} : { single: m.source };
  const local = m.source.filter((s) => !isBucketUrl(s));
  return local.length ? { list: local } : {};
}

export function needsArchive(m: FileMount): boolean {
  const a = archivedSources(m);
  return a.single !== undefined || a.list !== undefined;
}

/** The last path component of a path or URL (trailing slashes ignored). */
export function lastComponent(p: string): string {
  const parts = p.replace(/\/+$/, '').split('/');
  return parts[parts.length - 1] || p;
}

function joinDest(dest: string, name: string): string {
  return `${dest.replace(/\/+$/, '')}/${name}`;
}

/** The URI of bucket `name`, or undefined when the node's cloud has no store of its own and none was given. */
function bucketUri(name: string, store: string | undefined, ctx: NodeMountContext): string | undefined {
  if (store === undefined && ctx.cloud === 'local') return ctx.localBucketsDir ? `file://${ctx.localBucketsDir.replace(/\/+$/, '')}/${name}` : undefined;
  const s = store ?? CLOUD_STORE[ctx.cloud];
  return s ? `${STORE_SCHEME[s]}://${name}` : undefined;
}

/**
 * The node's plan for a task's file mounts, in spec order. Throws nothing: a mount that cannot be
 * placed is reported by `unplaceableMounts` at submit, before any node exists.
 */
export function planNodeMounts(task: TaskSpec, ctx: NodeMountContext): NodeMount[] {
  const out: NodeMount[] = [];
  for (const [i, m] of task.fileMounts.entries()) {
    if (m.kind === 'upload') {
      out.push({ dest: m.dest, archive: i });
      continue;
    }
    if (m.kind === 'cloud') {
      out.push({ dest: m.dest, uri: m.source });
      continue;
    }
    const saving = m.mode !== 'COPY';
    const sources = m.source === undefined ? [] : typeof m.source === 'string' ? [m.source] : m.source;
    const buckets = sources.filter(isBucketUrl);
    if (sources.length === 0) {
      const uri = bucketUri(m.name!, m.store, ctx);
      if (uri === undefined) continue; // reported at submit
      if (uri.startsWith('file://')) out.push(saving ? { dest: m.dest, link: uri.slice('file://'.length) } : { dest: m.dest, uri });
      else out.push(saving ? { dest: m.dest, mirror: uri } : { dest: m.dest, uri });
      continue;
    }
    if (typeof m.source === 'string' && buckets.length === 1) {
      out.push(saving ? { dest: m.dest, mirror: m.source } : { dest: m.dest, uri: m.source });
      continue;
    }
    const bucket = saving && m.name !== undefined && needsArchive(m) ? bucketUri(m.name, m.store, ctx) : undefined;
    // The named bucket first, then the sources over it: what the task adds and the sources are saved to it.
    if (bucket !== undefined) out.push({ dest: m.dest, mirror: bucket });
    if (needsArchive(m)) out.push({ dest: m.dest, archive: i });
    for (const b of typeof m.source === 'string' ? [] : buckets) out.push({ dest: joinDest(m.dest, lastComponent(b)), uri: b });
  }
  return out;
}

/**
 * Mounts that no node could place, for the submit-time checks: local paths with no archive (a
 * submission that did not come through the CLI, which packs them) and a bare bucket name where the
 * candidate clouds have no store of their own. Paths are the spec's (`file_mounts['/data']`).
 */
export function unplaceableMounts(task: TaskSpec, o: { hasArchives: boolean; clouds: readonly string[]; localBucketsDir?: string; prefix?: string }): Issue[] {
  const issues: Issue[] = [];
  const at = (dest: string, key?: string) => {
    const base = joinPath(o.prefix ? `${o.prefix}.file_mounts` : 'file_mounts', dest);
    return key ? joinPath(base, key) : base;
  };
  if (task.workdir !== undefined && !o.hasArchives) {
    issues.push({ path: o.prefix ? `${o.prefix}.workdir` : 'workdir', message: `the local directory '${task.workdir}' can only be sent with \`skyless jobs launch\`, which uploads it; this submission carried no files (use a bucket URL file mount instead)` });
  }
  for (const m of task.fileMounts) {
    if (needsArchive(m) && !o.hasArchives) {
      issues.push({ path: m.kind === 'storage' ? at(m.dest, 'source') : at(m.dest), message: 'a local path can only be sent with `skyless jobs launch`, which uploads it; this submission carried no files (use a bucket URL instead)' });
    }
    const r2 = m.kind === 'storage' ? m.store === 'r2' || [m.source ?? []].flat().some((x) => x.startsWith('r2://')) : m.kind === 'cloud' && m.source.startsWith('r2://');
    if (r2) issues.push({ path: at(m.dest), message: 'Cloudflare R2 is not supported yet: use an s3:// or gs:// bucket' });
    if (m.kind === 'storage' && m.source === undefined) {
      const nowhere = o.clouds.filter((cloud) => bucketUri(m.name!, m.store, { cloud, localBucketsDir: o.localBucketsDir }) === undefined);
      if (nowhere.length) issues.push({ path: at(m.dest, 'name'), message: `bucket '${m.name}' has no store on ${nowhere.join(', ')}; give \`store:\` (s3, gcs) or a bucket URL \`source:\`` });
    }
  }
  return issues;
}

/**
 * The named buckets a task's storage mounts use on a node of `cloud`: `store` is the BucketStore
 * kind (`s3`, `gcs`, or `local` for cloud local's directories), as planNodeMounts resolves it. A
 * mount of a bucket URL names no bucket to create (it must exist, as in SkyPilot).
 */
export function namedBuckets(task: TaskSpec, cloud: string): { store: string; name: string; persistent: boolean }[] {
  const out: { store: string; name: string; persistent: boolean }[] = [];
  for (const m of task.fileMounts) {
    if (m.kind !== 'storage' || m.name === undefined) continue;
    const store = m.store ?? (cloud === 'local' ? 'local' : CLOUD_STORE[cloud]);
    if (store === undefined) continue;
    if (!out.some((b) => b.store === store && b.name === m.name)) out.push({ store, name: m.name, persistent: m.persistent });
    else if (!m.persistent) out.find((b) => b.store === store && b.name === m.name)!.persistent = false;
  }
  return out;
}
