// Collecting spec problems. Every validator reports into one shared list instead of throwing, so a
// rejected spec names every problem at once (docs/behaviour.md §1), each with the path of the offending value.

import type { SpecIssue } from './types.ts';

/** Keys that can follow a dot in a path unquoted; anything else is written `['…']`. */
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * `join('resources', 'cpus')` → `resources.cpus`; `join('resources.any_of', 1)` → `resources.any_of[1]`;
 * `join('file_mounts', '/data')` → `file_mounts['/data']`. An empty base is the document root.
 */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  if (PLAIN_KEY.test(key)) return base ? `${base}.${key}` : key;
  return `${base}['${key.replace(/'/g, "\\'")}']`;
}

/** Where problems go; `within(prefix)` gives a view that puts `prefix` before every path. */
export class IssueList {
  constructor(
    private readonly sink: SpecIssue[] = [],
    private readonly prefix = '',
  ) {}

  add(path: string, message: string): void {
    this.sink.push({ path: prefixPath(this.prefix, path), message });
  }

  /** Every problem reported so far, through this list or any view of it. */
  get items(): readonly SpecIssue[] {
    return this.sink;
  }

  get size(): number {
    return this.sink.length;
  }

  /** Reports of pipeline task i go through `issues.within('tasks[i]')`. */
  within(prefix: string): IssueList {
    return new IssueList(this.sink, prefixPath(this.prefix, prefix));
  }
}

function prefixPath(prefix: string, path: string): string {
  if (!prefix) return path;
  if (!path) return prefix;
  return path.startsWith('[') ? `${prefix}${path}` : `${prefix}.${path}`;
}
