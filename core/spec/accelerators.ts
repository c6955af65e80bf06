// `resources.accelerators` in every form SkyPilot accepts (SPEC §1):
//   `A100:8`, `A100` (= 1), `H100:0.5` (fractional, for sharing a pool worker),
//   dict `{L4: 1, A100: 1}`, the unquoted `{L4:1, A100:1}` (YAML reads it as a mapping whose keys
//   are `L4:1` and `A100:1` with null values) and set- or dict-literal strings (`"{L4:1, A100:1}"`,
//   `"{'L4': 1, 'A100': 1}"`, `"{'L4:1', 'A100:1'}"`, which SkyPilot reads as Python literals) — an
//   unordered set of choices; list `[L4:1, A100:1]`, `- L4: 1` items or a list-literal string
//   `"['L4:1', 'A100:1']"` — choices in order of preference. Names and counts may be quoted.
// Names are canonicalized case-insensitively against the catalog's list.

import { ACCELERATORS, NOT_OFFERED, canonicalAccelerator } from '../catalog/accelerators.ts';
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

  const literal = typeof value === 'string' ? bracketed(value) : undefined;
  if (literal !== undefined) {
    const { open, body } = literal;
    if (body === undefined) {
      issues.add(path, `${open === '{' ? 'set' : 'list'} literal '${String(value).trim()}' must end with '${open === '{' ? '}' : ']'}'`);
      return undefined;
    }
    const items = splitItems(body);
    if (items.every((item) => item === '')) {
      issues.add(path, `the accelerator ${open === '{' ? 'set' : 'list'} is empty`);
      return undefined;
    }
    form = open === '{' ? 'set' : 'list';
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
  const parts = unquote(text).split(':').map(unquote);
  if (parts.length > 2 || parts[0] === '') {
    issues.add(path, `invalid accelerator '${text.trim()}'; write NAME or NAME:COUNT (e.g. A100:8)`);
    return undefined;
  }
  const name = canonicalName(parts[0], path, issues);
  const count = parts.length === 2 ? parseCount(parts[1], parts[0], path, issues) : 1;
  return name !== undefined && count !== undefined ? { name, count } : undefined;
}

function parseNameAndCount(
  rawName: string,
  rawCount: unknown,
  path: string,
  issues: IssueList,
): AcceleratorRequest | undefined {
  // `{H100:1, H200:1}` unquoted is a YAML mapping whose keys are `H100:1` and `H200:1` with null
  // values: each key is a whole NAME:COUNT.
  if (rawName.includes(':') && rawCount === null) return parseAcceleratorText(rawName, path, issues);
  if (rawName.includes(':')) {
    issues.add(path, `invalid accelerator '${rawName.trim()}: ${typeof rawCount === 'object' ? describe(rawCount) : String(rawCount)}'; write NAME: COUNT or NAME:COUNT, not both`);
    return undefined;
  }
  const name = canonicalName(unquote(rawName), path, issues);
  // `{A100: }` (null) means one, as in SkyPilot.
  const count = rawCount === null ? 1 : parseCount(rawCount, rawName.trim(), path, issues);
  return name !== undefined && count !== undefined ? { name, count } : undefined;
}

function canonicalName(name: string, path: string, issues: IssueList): string | undefined {
  const canonical = canonicalAccelerator(name);
  if (canonical === undefined) {
    issues.add(path, `unknown accelerator '${name}'${didYouMean(name, ACCELERATORS)}`);
    return undefined;
  }
  const notOffered = NOT_OFFERED[canonical];
  if (notOffered !== undefined) {
    issues.add(path, `${canonical} cannot be launched: ${notOffered}`);
    return undefined;
  }
  return canonical;
}

/**
 * `{...}` (a set or dict literal, as SkyPilot reads with Python's literal_eval) or `[...]` (a list
 * literal) written as a string. `body` is undefined when the closing bracket is missing.
 */
function bracketed(value: string): { open: '{' | '['; body?: string } | undefined {
  const text = value.trim();
  const open = text[0];
  if (open !== '{' && open !== '[') return undefined;
  const close = open === '{' ? '}' : ']';
  return { open, body: text.endsWith(close) ? text.slice(1, -1) : undefined };
}

/** Comma-separated items; a comma inside quotes belongs to the item. */
function splitItems(body: string): string[] {
  const items: string[] = [];
  let current = '';
  let quote: string | undefined;
  for (const ch of body) {
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      current += ch;
    } else if (ch === ',') {
      items.push(current.trim());
      current = '';
    } else current += ch;
  }
  items.push(current.trim());
  // A trailing comma (`{A100:1, V100:1,}`) is allowed, as in Python.
  if (items.length > 1 && items[items.length - 1] === '') items.pop();
  return items;
}

/** Trims and drops one pair of matching quotes: `'A100'` → `A100`. */
function unquote(text: string): string {
  const t = text.trim();
  if (t.length >= 2 && (t[0] === '"' || t[0] === "'") && t.endsWith(t[0])) return t.slice(1, -1).trim();
  return t;
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
