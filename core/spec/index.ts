// Task YAML → JobSpec (docs/behaviour.md §1, §5). The entry point of core/spec.
//
// A file holds one task, or a pipeline: several YAML documents. When there are several documents
// and the first holds only `name` (and optionally `execution: serial`), it is a header naming the
// pipeline; otherwise every document is a task. A file that holds only `name` is one task that
// does nothing (as in SkyPilot).
//
// Names (SkyPilot's rules, without its random fallback):
// - single task: its own `name`, else the header's, else the source file's base name, else `task`;
//   the job is named after the header if there is one, else after the task;
// - pipeline: the header's `name`, else the source file's base name, else `pipeline`; an unnamed
//   task i (0-based) is `<pipeline>-<i>`; two tasks with one name are an error.
//
// Problems are collected across the whole file and thrown together as one SpecError. YAML-level
// problems (syntax, duplicate keys) are reported alone: the content of a broken document is unreliable.

import { SpecError } from '../errors.ts';
import type { JobSpec, TaskSpec } from './types.ts';
import { IssueList } from './issues.ts';
import { checkEnvValuesSupplied, checkOverrideNames } from './envs.ts';
import { NAME_PATTERN, parseName, parseTask } from './task.ts';
import { checkKeys, isMapping, present } from './values.ts';
import { readDocuments, reportYamlErrors, scalarSource, type SourceDocument } from './yaml-source.ts';

export { suggest } from './suggest.ts';
export type * from './types.ts';

export interface ParseJobSpecOptions {
  /** File name or URI the text came from: names unnamed tasks and is carried by SpecError. */
  source?: string;
  /**
   * `--env K=V` values, applied to every task: they set `secrets` K when the task declares it there,
   * `envs` K when declared there, and are added to `envs` otherwise; `${K}` in workdir and
   * file_mounts then sees the new value.
   */
  envOverrides?: Record<string, string>;
  /** True on the submit path: every `envs`/`secrets` value must be known after the overrides. */
  requireEnvValues?: boolean;
}

const HEADER_KEYS = ['name', 'execution'] as const;

/** Parses and validates a task or pipeline YAML; throws SpecError listing every problem. */
export function parseJobSpec(text: string, opts: ParseJobSpecOptions = {}): JobSpec {
  const issues = new IssueList();
  const fail = (): never => {
    throw new SpecError([...issues.items], opts.source);
  };
  if (typeof text !== 'string') {
    issues.add('', 'the spec must be YAML text');
    fail();
  }

  const documents = readDocuments(text);
  if (documents.length === 0) {
    issues.add('', 'the spec is empty; write a task such as `run: echo hello`');
    fail();
  }
  const header = isHeader(documents) ? documents[0] : undefined;
  const taskDocuments = header ? documents.slice(1) : documents;
  const isPipeline = taskDocuments.length > 1;
  const taskIssues = (i: number) => (isPipeline ? issues.within(`tasks[${i}]`) : issues);

  if (header) reportYamlErrors(header, issues.within('header'));
  taskDocuments.forEach((document, i) => reportYamlErrors(document, taskIssues(i)));
  if (issues.size > 0) fail();

  const headerName = header ? parseHeader(header.data, issues.within('header')) : undefined;
  const overrides = opts.envOverrides ?? {};
  checkOverrideNames(overrides, issues);
  const parsed = taskDocuments.map((document, i) =>
    parseTask(document.data, taskIssues(i), (path) => scalarSource(document, path), overrides),
  );

  const jobName = headerName ?? (isPipeline ? nameFromSource(opts.source, 'pipeline') : undefined);
  const tasks: NamedTask[] = [];
  parsed.forEach((task, index) => {
    if (task === undefined) return;
    const name = task.name ?? (isPipeline ? `${jobName}-${index}` : (headerName ?? nameFromSource(opts.source, 'task')));
    tasks.push({ index, explicitName: task.name !== undefined, spec: { ...task, name } });
    if (opts.requireEnvValues) checkEnvValuesSupplied(task, taskIssues(index));
  });
  if (isPipeline) checkPipeline(tasks, issues);

  if (issues.size > 0) fail();
  return { name: jobName ?? tasks[0].spec.name, isPipeline, tasks: tasks.map((task) => task.spec) };
}

/** A parsed task with its final name and its index among the task documents. */
interface NamedTask {
  index: number;
  explicitName: boolean;
  spec: TaskSpec;
}

/** Several documents, the first of which holds `name` and nothing but header keys. */
function isHeader(documents: SourceDocument[]): boolean {
  const first = documents[0].data;
  return (
    documents.length > 1 &&
    isMapping(first) &&
    present(first.name) &&
    Object.keys(first).every((key) => (HEADER_KEYS as readonly string[]).includes(key))
  );
}

function parseHeader(data: unknown, issues: IssueList): string | undefined {
  if (!isMapping(data)) return undefined;
  checkKeys(data, HEADER_KEYS, '', issues);
  if (present(data.execution) && String(data.execution).toLowerCase() !== 'serial') {
    issues.add('execution', `only serial pipelines are supported (got '${String(data.execution)}')`);
  }
  return parseName(data.name, 'name', issues);
}

/** Pipeline-wide rules: unique task names; `pool:` belongs to a single-task pool file. */
function checkPipeline(tasks: NamedTask[], issues: IssueList): void {
  const firstIndexByName = new Map<string, number>();
  for (const { index, explicitName, spec } of tasks) {
    const earlier = firstIndexByName.get(spec.name);
    if (earlier !== undefined) {
      issues.add(`tasks[${index}]${explicitName ? '.name' : ''}`, `duplicate task name '${spec.name}' (also tasks[${earlier}])`);
    } else {
      firstIndexByName.set(spec.name, index);
    }
    if (spec.pool) issues.add(`tasks[${index}].pool`, 'a pool is defined by a single-task file, not a pipeline');
  }
}

/**
 * The base name of `source` without its extension (`jobs/train-gpt.yaml` → `train-gpt`), made into a
 * valid name; `fallback` when there is no source or nothing valid is left.
 */
export function nameFromSource(source: string | undefined, fallback: string): string {
  if (!source) return fallback;
  const base = source.split(/[\\/]/).pop() ?? '';
  const stem = base.lastIndexOf('.') > 0 ? base.slice(0, base.lastIndexOf('.')) : base;
  const cleaned = stem
    .replace(/[^-_.a-zA-Z0-9]+/g, '-')
    .replace(/^[^a-zA-Z]+/, '')
    .replace(/[^a-zA-Z0-9]+$/, '');
  return NAME_PATTERN.test(cleaned) ? cleaned : fallback;
}
