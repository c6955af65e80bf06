// Type checks over the plain values the YAML parser produces. Each check reports a problem at the
// given path and returns undefined, so callers carry on and collect further problems.
//
// Convention: a key whose value is YAML null (`key:` or `key: null`) counts as absent, as it does in
// SkyPilot; only `envs`/`secrets` give null a meaning of their own.

import { didYouMean } from './suggest.ts';
import { joinPath, type IssueList } from './issues.ts';

export type Mapping = Record<string, unknown>;

export function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** What a value is, for "must be X (got Y)" messages; never the value itself (it may be secret). */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Date) return 'a date';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a number';
  if (typeof value === 'boolean') return 'a boolean';
  return `a ${typeof value}`;
}

/**
 * Reports every key of `map` not in `allowed`: `unknown key; did you mean run?`. `hints` gives a
 * fixed message for keys that are known to be wrong in a specific way (SkyPilot keys skyless does
 * not support).
 */
export function checkKeys(
  map: Mapping,
  allowed: readonly string[],
  path: string,
  issues: IssueList,
  hints: Readonly<Record<string, string>> = {},
): void {
  for (const key of Object.keys(map)) {
    if (allowed.includes(key)) continue;
    const hint = Object.hasOwn(hints, key) ? hints[key] : undefined;
    issues.add(joinPath(path, key), hint ?? `unknown key${didYouMean(key, allowed)}`);
  }
}

export function expectMapping(value: unknown, path: string, issues: IssueList): Mapping | undefined {
  if (isMapping(value)) return value;
  issues.add(path, `must be a mapping (got ${describe(value)})`);
  return undefined;
}

export function expectString(value: unknown, path: string, issues: IssueList): string | undefined {
  if (typeof value === 'string') return value;
  issues.add(path, `must be a string (got ${describe(value)})`);
  return undefined;
}

export function expectNonEmptyString(value: unknown, path: string, issues: IssueList): string | undefined {
  const text = expectString(value, path, issues);
  if (text === undefined) return undefined;
  if (text.trim() === '') {
    issues.add(path, 'must not be empty');
    return undefined;
  }
  return text;
}

export function expectBoolean(value: unknown, path: string, issues: IssueList): boolean | undefined {
  if (typeof value === 'boolean') return value;
  issues.add(path, `must be true or false (got ${describe(value)})`);
  return undefined;
}

/** An integer within [min, max] (either bound optional). Numeric strings are not accepted. */
export function expectInteger(
  value: unknown,
  path: string,
  issues: IssueList,
  bounds: { min?: number; max?: number } = {},
): number | undefined {
  const { min, max } = bounds;
  const wanted =
    min !== undefined && max !== undefined
      ? `an integer from ${min} to ${max}`
      : min !== undefined
        ? `an integer >= ${min}`
        : max !== undefined
          ? `an integer <= ${max}`
          : 'an integer';
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    issues.add(path, `must be ${wanted} (got ${describe(value)})`);
    return undefined;
  }
  if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
    issues.add(path, `must be ${wanted} (got ${value})`);
    return undefined;
  }
  return value;
}

/** True when a key was given a value other than null (null counts as absent, see above). */
export function present(value: unknown): boolean {
  return value !== undefined && value !== null;
}
