// `resources.accelerators` in every form SkyPilot accepts (docs/behaviour.md §1):
//   `A100:8`, `A100` (= 1), `H100:0.5` (fractional, for sharing a pool worker),
//   dict `{L4: 1, A100: 1}` and set-literal string `"{L4:1, A100:1}"` — an unordered set of choices,
//   list `[L4:1, A100:1]` (or `- L4: 1` items) — choices in order of preference.
// Names are canonicalized case-insensitively against the catalog's list.

import { ACCELERATORS, canonicalAccelerator } from '../catalog/accelerators.ts';
import type { AcceleratorRequest } from './types.ts';
import type { IssueList } from './issues.ts';
import { joinPath } from './issues.ts';
import { didYouMean } from './suggest.ts';
import { describe, isMapping } from './values.ts';

/**
 * The parsed field. `single`: exactly one option. `set`: several options, no preference (the
 * optimizer picks the cheapest). `list`: several options in the user's order of preference.
 */
export interface AcceleratorChoice {
  form: 'single' | 'set' | 'list';
  options: AcceleratorRequest[];
}

const FORMS_HINT = 'NAME, NAME:COUNT, a mapping {NAME: COUNT} or a list';

/** Parses the field; undefined (with issues reported) when any part of it is invalid. */
export function parseAccelerators(value: unknown, path: string, issues: IssueList): AcceleratorChoice | undefined {
  const before = issues.size;
  let form: AcceleratorChoice['form'];
  let parsed: (AcceleratorRequest | undefined)[];

  if (typeof value === 'string' && value.trim().startsWith('{')) {
    const text = value.trim();
    if (!text.endsWith('}')) {
      issues.add(path, `set literal '${text}' must end with '}'`);
      return undefined;
    }
    const items = text
      .slice(1, -1)
      .split(',')
      .map((item) => item.trim());
    if (items.every((item) => item === '')) {
      issues.add(path, 'the accelerator set is empty');
      return undefined;
    }
    form = 'set';
    parsed = items.map((item) => parseAcceleratorText(item, path, issues));
  } else if (typeof value === 'string') {
    form = 'single';
    parsed = [parseAcceleratorText(value, path, issues)];
  } else if (Array.isArray(value)) {
    if (value.length === 0) {
      issues.add(path, 'the accelerator list is empty');
      return undefined;
    }
    form = 'list';
    parsed = value.map((item, i) => parseListItem(item, joinPath(path, i), issues));
  } else if (isMapping(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0) {
      issues.add(path, 'the accelerator mapping is empty');
      return undefined;
    }
    form = 'set';
    parsed = entries.map(([name, count]) => parseNameAndCount(name, count, path, issues));
  } else {
    issues.add(path, `must be ${FORMS_HINT} (got ${describe(value)})`);
    return undefined;
  }

  if (issues.size > before) return undefined;
  const options = parsed as AcceleratorRequest[];
  const seen = new Set<string>();
  for (const option of options) {
    if (seen.has(option.name)) issues.add(path, `${option.name} is listed twice`);
    seen.add(option.name);
  }
  if (issues.size > before) return undefined;
  return { form: options.length === 1 ? 'single' : form, options };
}

/** A list item: `L4:1` / `L4` (string) or `{L4: 1}` (what `- L4: 1` parses to). */
function parseListItem(item: unknown, path: string, issues: IssueList): AcceleratorRequest | undefined {
  if (typeof item === 'string') return parseAcceleratorText(item, path, issues);
  if (isMapping(item) && Object.keys(item).length === 1) {
    const [name, count] = Object.entries(item)[0];
    return parseNameAndCount(name, count, path, issues);
  }
  issues.add(path, `must be NAME, NAME:COUNT or {NAME: COUNT} (got ${describe(item)})`);
  return undefined;
}

/** `A100`, `A100:8`, `H100:0.5`. */
export function parseAcceleratorText(text: string, path: string, issues: IssueList): AcceleratorRequest | undefined {
  const parts = text.trim().split(':');
  if (parts.length > 2 || parts[0].trim() === '') {
    issues.add(path, `invalid accelerator '${text.trim()}'; write NAME or NAME:COUNT (e.g. A100:8)`);
    return undefined;
  }
  const name = canonicalName(parts[0].trim(), path, issues);
  const count = parts.length === 2 ? parseCount(parts[1].trim(), parts[0].trim(), path, issues) : 1;
  return name !== undefined && count !== undefined ? { name, count } : undefined;
}

function parseNameAndCount(
  rawName: string,
  rawCount: unknown,
  path: string,
  issues: IssueList,
): AcceleratorRequest | undefined {
  const name = canonicalName(rawName.trim(), path, issues);
  // `{A100: }` (null) means one, as in SkyPilot.
  const count = rawCount === null ? 1 : parseCount(rawCount, rawName.trim(), path, issues);
  return name !== undefined && count !== undefined ? { name, count } : undefined;
}

function canonicalName(name: string, path: string, issues: IssueList): string | undefined {
  const canonical = canonicalAccelerator(name);
  if (canonical === undefined) {
    issues.add(path, `unknown accelerator '${name}'${didYouMean(name, ACCELERATORS)}`);
  }
  return canonical;
}

const DECIMAL = /^(\d+(\.\d*)?|\.\d+)$/;

/**
 * GPUs per node: a positive whole number, or a fraction below 1 (a share of one GPU on a pool
 * worker); `1.5` GPUs cannot be allocated and is rejected.
 */
function parseCount(raw: unknown, name: string, path: string, issues: IssueList): number | undefined {
  let count: number;
  if (typeof raw === 'number') count = raw;
  else if (typeof raw === 'string' && DECIMAL.test(raw)) count = Number(raw);
  else {
    const shown = typeof raw === 'string' ? `'${raw}'` : describe(raw);
    issues.add(path, `count of ${name} must be a positive number (got ${shown})`);
    return undefined;
  }
  if (!(count > 0) || !Number.isFinite(count)) {
    issues.add(path, `count of ${name} must be a positive number (got ${count})`);
    return undefined;
  }
  if (!Number.isInteger(count) && count > 1) {
    issues.add(path, `count of ${name} must be a whole number or a fraction below 1 (got ${count})`);
    return undefined;
  }
  return count;
}
