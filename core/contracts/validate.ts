// Parsing at an edge with that edge's schema. A failure is a ValidationError whose message names
// every bad field by its path from the edge (`body.numJobs: …`, `query.limit: …`), and whose details
// list them, so the API answers a 400 that says what to fix and where.

import { z } from 'zod';
import { ValidationError } from '../errors.ts';

export interface FieldIssue {
  /** Dotted path from the edge, e.g. `body.overrides.useSpot`. */
  path: string;
  message: string;
}

function pathOf(where: string, path: readonly PropertyKey[]): string {
  return [where, ...path.map(String)].filter((p) => p !== '').join('.');
}

/** The issues of a failed parse, each named by its path under `where`. */
export function fieldIssues(error: z.ZodError, where: string): FieldIssue[] {
  return error.issues.map((i) => ({ path: pathOf(where, i.path), message: i.message }));
}

/** Parses `value` with `schema`, or throws a ValidationError naming each bad field under `where`. */
export function parseAt<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = fieldIssues(r.error, where);
  throw new ValidationError(issues.map((i) => `${i.path || where}: ${i.message}`).join('; '), { issues });
}
