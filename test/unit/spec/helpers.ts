// Shared helpers for the spec tests: parse inline YAML, or capture the SpecError it must raise.

import { expect } from 'vitest';
import { parseJobSpec, type ParseJobSpecOptions } from '../../../core/spec/index.ts';
import { SpecError } from '../../../core/errors.ts';
import type { JobSpec, ResourcesSpec, TaskSpec } from '../../../core/spec/types.ts';

/** Inline YAML written indented inside a test: strips the common leading indentation. */
export function yaml(text: string): string {
  const lines = text.replace(/^\n/, '').split('\n');
  const indents = lines.filter((line) => line.trim() !== '').map((line) => line.length - line.trimStart().length);
  const cut = indents.length ? Math.min(...indents) : 0;
  return lines.map((line) => line.slice(cut)).join('\n');
}

export function parse(text: string, opts?: ParseJobSpecOptions): JobSpec {
  return parseJobSpec(yaml(text), opts);
}

export function onlyTask(text: string, opts?: ParseJobSpecOptions): TaskSpec {
  const spec = parse(text, opts);
  expect(spec.tasks).toHaveLength(1);
  return spec.tasks[0];
}

/** The resources of a one-task spec whose `resources:` mapping is `body` (indented by the caller). */
export function resourcesOf(body: string): ResourcesSpec {
  return onlyTask(`resources:\n${yaml(body).replace(/^(?=.)/gm, '  ')}\nrun: echo\n`).resources;
}

export function specError(text: string, opts?: ParseJobSpecOptions): SpecError {
  try {
    parseJobSpec(yaml(text), opts);
  } catch (error) {
    expect(error).toBeInstanceOf(SpecError);
    return error as SpecError;
  }
  throw new Error('expected a SpecError, but the spec was accepted');
}

/** The `path: message` lines of the SpecError the spec must raise. */
export function problems(text: string, opts?: ParseJobSpecOptions): string[] {
  return specError(text, opts).message.split('\n');
}

/** Problems of a one-task spec whose `resources:` mapping is `body`. */
export function resourceProblems(body: string): string[] {
  return problems(`resources:\n${yaml(body).replace(/^(?=.)/gm, '  ')}\nrun: echo\n`);
}
