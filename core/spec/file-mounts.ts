// `file_mounts` (SPEC §1, §8). Each entry maps a destination path on the node to:
//   a local path        → `upload`  (packed by the CLI, unpacked on the node),
//   a bucket URL        → `cloud`   (copied onto the node from s3:// gs:// r2://),
//   a storage mapping   → `storage` ({name, source, store, mode, persistent}, SkyPilot's Storage).
// Entries keep the order in which the YAML lists them. Error paths name the destination as written.

import { lastComponent } from './node-mounts.ts';
import type { FileMount } from './types.ts';
import type { IssueList } from './issues.ts';
import { joinPath } from './issues.ts';
import { didYouMean } from './suggest.ts';
import { substituteEnvs, substituteEnvsDeep } from './envs.ts';
import { checkKeys, describe, expectBoolean, expectMapping, expectNonEmptyString, isMapping, present, type Mapping } from './values.ts';

export const BUCKET_SCHEMES = ['s3', 'gs', 'r2'] as const;
export const STORES = ['s3', 'gcs', 'r2'] as const;
export const STORAGE_MODES = ['MOUNT', 'COPY', 'MOUNT_CACHED'] as const;
const STORAGE_KEYS = ['name', 'source', 'store', 'mode', 'persistent'] as const;
/** Bucket names: S3's and GCS's common ground (dots allowed, never two in a row: no `..`). */
const BUCKET_NAME = /^(?!.*\.\.)[a-zA-Z0-9](?:[a-zA-Z0-9._-]{0,61}[a-zA-Z0-9])?$/;

/** `scheme://…`; a Windows drive (`C:\…`) or a plain path never matches. */
const URL_SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;

type StorageMount = Extract<FileMount, { kind: 'storage' }>;

/** `envs` fill `${VAR}` references in destinations and sources (see envs.ts). */
export function parseFileMounts(
  value: unknown,
  path: string,
  issues: IssueList,
  envs: Readonly<Record<string, string | null>> = {},
): FileMount[] {
  const map = expectMapping(value, path, issues);
  if (map === undefined) return [];
  const mounts: FileMount[] = [];
  const destinations = new Map<string, string>();
  for (const [writtenDest, writtenSource] of Object.entries(map)) {
    const dest = substituteEnvs(writtenDest, envs);
    const source = substituteEnvsDeep(writtenSource, envs);
    const entryPath = joinPath(path, writtenDest);
    if (dest.trim() === '') {
      issues.add(entryPath, 'the destination path is empty');
      continue;
    }
    const clash = destinations.get(dest);
    if (clash !== undefined) {
      issues.add(entryPath, `same destination '${dest}' as ${joinPath(path, clash)} once envs are substituted`);
      continue;
    }
    destinations.set(dest, writtenDest);
    const mount = parseMount(dest, source, entryPath, issues);
    if (mount) mounts.push(mount);
  }
  return mounts;
}

function parseMount(dest: string, source: unknown, path: string, issues: IssueList): FileMount | undefined {
  if (typeof source === 'string') {
    const text = source.trim();
    if (text === '') {
      issues.add(path, 'the source is empty');
      return undefined;
    }
    const scheme = URL_SCHEME.exec(text)?.[1].toLowerCase();
    if (scheme === undefined) return { dest, kind: 'upload', source: text };
    if ((BUCKET_SCHEMES as readonly string[]).includes(scheme)) return { dest, kind: 'cloud', source: text };
    issues.add(path, `unsupported bucket URL '${scheme}://'; use ${BUCKET_SCHEMES.map((s) => `${s}://`).join(', ')}`);
    return undefined;
  }
  if (isMapping(source)) return parseStorage(dest, source, path, issues);
  issues.add(
    path,
    `must be a local path, a bucket URL (s3://, gs://, r2://) or a storage mapping {name, source, store, mode, persistent} (got ${describe(source)})`,
  );
  return undefined;
}

function parseStorage(dest: string, map: Mapping, path: string, issues: IssueList): StorageMount | undefined {
  const before = issues.size;
  checkKeys(map, STORAGE_KEYS, path, issues);
  const mount: StorageMount = { dest, kind: 'storage', mode: 'MOUNT', persistent: true };
  const at = (key: string) => joinPath(path, key);

  if (present(map.name)) {
    mount.name = expectNonEmptyString(map.name, at('name'), issues)?.trim();
    // A bucket name is one path component on every store (and a directory name on cloud `local`).
    if (mount.name !== undefined && !BUCKET_NAME.test(mount.name)) {
      issues.add(at('name'), `bucket name '${mount.name}' may hold only letters, digits, '.', '_' and '-' (at most 63), starting and ending with a letter or digit`);
    }
  }
  if (present(map.source)) mount.source = parseStorageSource(map.source, at('source'), issues);
  if (mount.name !== undefined && typeof mount.source === 'string' && URL_SCHEME.test(mount.source)) {
    issues.add(at('name'), 'a storage mount of a bucket URL takes no name (SkyPilot refuses it too): drop `name`, or drop `source` to mount the bucket by name');
  }
  if (Array.isArray(mount.source)) {
    // Each source lands at dest/<its last path component>: two with the same one would collide.
    const seen = new Map<string, string>();
    for (const src of mount.source) {
      const last = lastComponent(src);
      const other = seen.get(last);
      if (other !== undefined) issues.add(at('source'), `'${other}' and '${src}' would both land at ${dest.replace(/\/+$/, '')}/${last}`);
      seen.set(last, src);
    }
  }
  if (!present(map.name) && !present(map.source)) {
    // SkyPilot's docs leave `name:` blank for the reader to fill in; say so rather than only what is missing.
    const blank = 'name' in map ? ': `name:` is empty, fill in a bucket name (e.g. name: my-checkpoints)' : '';
    issues.add(path, `a storage mount needs a name, a source, or both${blank}`);
  }
  if (present(map.store)) {
    const store = expectNonEmptyString(map.store, at('store'), issues)?.trim().toLowerCase();
    if (store !== undefined && !(STORES as readonly string[]).includes(store)) {
      issues.add(at('store'), `unknown store '${store}'${didYouMean(store, STORES)}`);
    } else if (store !== undefined) {
      mount.store = store;
    }
  }
  if (present(map.mode)) {
    const mode = expectNonEmptyString(map.mode, at('mode'), issues)?.trim().toUpperCase();
    const known = STORAGE_MODES.find((m) => m === mode);
    if (mode !== undefined && known === undefined) issues.add(at('mode'), `unknown mode '${mode}'${didYouMean(mode, STORAGE_MODES)}`);
    if (known) mount.mode = known;
  }
  if (present(map.persistent)) {
    const persistent = expectBoolean(map.persistent, at('persistent'), issues);
    if (persistent !== undefined) mount.persistent = persistent;
  }
  return issues.size > before ? undefined : mount;
}

/** A local path or bucket URL, or a non-empty list of them. */
function parseStorageSource(value: unknown, path: string, issues: IssueList): string | string[] | undefined {
  if (!Array.isArray(value)) return expectNonEmptyString(value, path, issues)?.trim();
  if (value.length === 0) {
    issues.add(path, 'the source list is empty');
    return undefined;
  }
  const sources = value.map((item, i) => expectNonEmptyString(item, joinPath(path, i), issues)?.trim());
  return sources.every((s) => s !== undefined) ? (sources as string[]) : undefined;
}
