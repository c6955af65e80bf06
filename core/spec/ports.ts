// `resources.ports`: `8080`, `"8080"`, `"10000-10010"`, or a list of those. Normalized as SkyPilot
// does: sorted, overlapping and adjacent ranges merged, e.g. [8081, 8080, "9000-9001"] →
// ["8080-8081", "9000-9001"].

import type { IssueList } from './issues.ts';
import { joinPath } from './issues.ts';
import { describe } from './values.ts';

const SINGLE = /^\d+$/;
const RANGE = /^(\d+)-(\d+)$/;
const MAX_PORT = 65535;

export function parsePorts(value: unknown, path: string, issues: IssueList): string[] | undefined {
  const items = Array.isArray(value) ? value : [value];
  const before = issues.size;
  const ranges: [number, number][] = [];
  items.forEach((item, i) => {
    const range = parsePortItem(item, Array.isArray(value) ? joinPath(path, i) : path, issues);
    if (range) ranges.push(range);
  });
  if (issues.size > before) return undefined;
  return mergeRanges(ranges).map(([from, to]) => (from === to ? String(from) : `${from}-${to}`));
}

function parsePortItem(item: unknown, path: string, issues: IssueList): [number, number] | undefined {
  const text = typeof item === 'number' && Number.isInteger(item) ? String(item) : typeof item === 'string' ? item.trim() : undefined;
  if (text === undefined) {
    issues.add(path, `must be a port (8080) or a range ("10000-10010") (got ${describe(item)})`);
    return undefined;
  }
  const range = SINGLE.test(text) ? [text, text] : RANGE.exec(text)?.slice(1, 3);
  if (!range) {
    issues.add(path, `invalid port '${text}'; use a port such as 8080 or a range such as 10000-10010`);
    return undefined;
  }
  const [from, to] = range.map(Number);
  if (from < 1 || to > MAX_PORT || from > to) {
    issues.add(path, `invalid port '${text}'; ports are 1 to ${MAX_PORT} and a range is FROM-TO with FROM <= TO`);
    return undefined;
  }
  return [from, to];
}

function mergeRanges(ranges: [number, number][]): [number, number][] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged: [number, number][] = [];
  for (const [from, to] of sorted) {
    const last = merged[merged.length - 1];
    if (last && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else merged.push([from, to]);
  }
  return merged;
}
