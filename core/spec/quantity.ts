// `cpus`, `memory` and `disk_size`. `4` is exact and `4+` is "at least 4" (docs/behaviour.md §1). Sizes are in GB
// unless a unit is given. Units follow SkyPilot: binary and case-insensitive, so `GB` and `GiB` both
// mean 2^30 bytes (cloud catalogs quote GiB and call them GB); `512MB` is 0.5 GB, `1TB` is 1024 GB.

import type { QuantityRequest } from './types.ts';
import type { IssueList } from './issues.ts';
import { describe } from './values.ts';

/** Size of one unit, in GB. */
const UNIT_IN_GB: Readonly<Record<string, number>> = {
  b: 2 ** -30,
  k: 2 ** -20,
  kb: 2 ** -20,
  kib: 2 ** -20,
  m: 2 ** -10,
  mb: 2 ** -10,
  mib: 2 ** -10,
  '': 1,
  g: 1,
  gb: 1,
  gib: 1,
  t: 2 ** 10,
  tb: 2 ** 10,
  tib: 2 ** 10,
  p: 2 ** 20,
  pb: 2 ** 20,
  pib: 2 ** 20,
};

const CPUS = /^(\d+(?:\.\d+)?)(\+?)$/;
const SIZE = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)(\+?)$/;

export function parseCpus(value: unknown, path: string, issues: IssueList): QuantityRequest | undefined {
  const hint = "a number such as 4, or '4+' for at least 4";
  if (typeof value === 'number') {
    if (value > 0 && Number.isFinite(value)) return { value, atLeast: false };
    issues.add(path, `must be a positive number (got ${value})`);
    return undefined;
  }
  if (typeof value !== 'string') {
    issues.add(path, `must be ${hint} (got ${describe(value)})`);
    return undefined;
  }
  const match = CPUS.exec(value.trim());
  if (!match || !(Number(match[1]) > 0)) {
    issues.add(path, `invalid cpus '${value.trim()}'; must be ${hint}`);
    return undefined;
  }
  return { value: Number(match[1]), atLeast: match[2] === '+' };
}

export function parseMemory(value: unknown, path: string, issues: IssueList): QuantityRequest | undefined {
  const hint = "a size in GB such as 32, '32GB', '1TB', or '32+' / '32GB+' for at least that";
  if (typeof value === 'number') {
    if (value > 0 && Number.isFinite(value)) return { value, atLeast: false };
    issues.add(path, `must be a positive size (got ${value})`);
    return undefined;
  }
  if (typeof value !== 'string') {
    issues.add(path, `must be ${hint} (got ${describe(value)})`);
    return undefined;
  }
  const size = parseSize(value, true);
  if (size === undefined) {
    issues.add(path, `invalid memory '${value.trim()}'; must be ${hint}`);
    return undefined;
  }
  return { value: size.gb, atLeast: size.atLeast };
}

/** OS disk size in whole GB: `256`, `'256GB'`, `'1TB'`. */
export function parseDiskSize(value: unknown, path: string, issues: IssueList): number | undefined {
  const hint = "a whole number of GB such as 256, or a size such as '1TB'";
  let gb: number | undefined;
  if (typeof value === 'number') gb = value;
  else if (typeof value === 'string') gb = parseSize(value, false)?.gb;
  else {
    issues.add(path, `must be ${hint} (got ${describe(value)})`);
    return undefined;
  }
  if (gb === undefined || !Number.isInteger(gb) || gb < 1) {
    issues.add(path, `invalid disk_size '${String(value).trim()}'; must be ${hint}`);
    return undefined;
  }
  return gb;
}

/** `32`, `32GB`, `32 GiB`, `512mb`, `32GB+` → GB; undefined when malformed, unit unknown or not positive. */
function parseSize(text: string, allowAtLeast: boolean): { gb: number; atLeast: boolean } | undefined {
  const match = SIZE.exec(text.trim());
  if (!match) return undefined;
  const [, number, unit, plus] = match;
  const factor = UNIT_IN_GB[unit.toLowerCase()];
  if (factor === undefined || (plus === '+' && !allowAtLeast)) return undefined;
  const gb = Number(number) * factor;
  return gb > 0 ? { gb, atLeast: plus === '+' } : undefined;
}
