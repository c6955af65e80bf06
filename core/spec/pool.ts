// `pool:` (docs/behaviour.md §5): `{workers: N}` for a fixed size, or `{min_workers, max_workers}` for a range
// (max_workers defaults to min_workers). A pool keeps at least one worker at its largest size.

import type { PoolSpec } from './types.ts';
import type { IssueList } from './issues.ts';
import { joinPath } from './issues.ts';
import { checkKeys, expectInteger, expectMapping, present } from './values.ts';

const POOL_KEYS = ['workers', 'min_workers', 'max_workers'] as const;

export function parsePool(value: unknown, path: string, issues: IssueList): PoolSpec | undefined {
  const map = expectMapping(value, path, issues);
  if (map === undefined) return undefined;
  const before = issues.size;
  checkKeys(map, POOL_KEYS, path, issues);
  const at = (key: string) => joinPath(path, key);

  if (present(map.workers)) {
    if (present(map.min_workers) || present(map.max_workers)) {
      issues.add(at('workers'), 'use either workers or min_workers/max_workers, not both');
      return undefined;
    }
    const workers = expectInteger(map.workers, at('workers'), issues, { min: 1 });
    return workers === undefined || issues.size > before ? undefined : { minWorkers: workers, maxWorkers: workers };
  }
  if (!present(map.min_workers)) {
    issues.add(path, present(map.max_workers) ? 'min_workers is required with max_workers' : 'give workers: N, or min_workers and max_workers');
    return undefined;
  }
  const minWorkers = expectInteger(map.min_workers, at('min_workers'), issues, { min: 0 });
  const maxWorkers = present(map.max_workers)
    ? expectInteger(map.max_workers, at('max_workers'), issues, { min: 1 })
    : minWorkers;
  if (minWorkers !== undefined && maxWorkers !== undefined) {
    if (!present(map.max_workers) && minWorkers === 0) {
      issues.add(at('min_workers'), 'a pool needs at least one worker; set max_workers >= 1');
    } else if (maxWorkers < minWorkers) {
      issues.add(at('max_workers'), `must be at least min_workers (${minWorkers}) (got ${maxWorkers})`);
    }
  }
  if (minWorkers === undefined || maxWorkers === undefined || issues.size > before) return undefined;
  return { minWorkers, maxWorkers };
}
