// One task document (docs/behaviour.md §1) → TaskSpec, except the name default, which depends on the whole file
// (see index.ts). Paths reported here are relative to the task; index.ts adds `tasks[i].` for
// pipelines.

import type { TaskSpec } from './types.ts';
import type { IssueList } from './issues.ts';
import { applyEnvOverrides, parseEnvSection, substituteEnvsDeep, type ScalarText } from './envs.ts';
import { parseFileMounts } from './file-mounts.ts';
import { parsePool } from './pool.ts';
import { parseResources } from './resources.ts';
import { checkKeys, describe, expectInteger, expectMapping, expectNonEmptyString, expectString, isMapping, present } from './values.ts';

export const TASK_KEYS = [
  'name',
  'workdir',
  'num_nodes',
  'resources',
  'envs',
  'secrets',
  'file_mounts',
  'setup',
  'run',
  'config',
  'pool',
] as const;

/** SkyPilot task keys skyless knowingly does not implement, and keys that belong elsewhere. */
const TASK_KEY_HINTS: Readonly<Record<string, string>> = {
  ...Object.fromEntries(
    ['service', 'event_callback', 'inputs', 'outputs', 'volumes', 'experimental', 'file_mounts_mapping'].map((key) => [
      key,
      'a SkyPilot option that skyless does not support',
    ]),
  ),
  execution: 'only allowed in a pipeline header (a first document holding just name and execution, followed by task documents)',
};

export const NAME_PATTERN = /^[a-zA-Z]([-_.a-zA-Z0-9]*[a-zA-Z0-9])?$/;
export const NAME_RULE = "use letters, digits, '-', '_' and '.', starting with a letter and ending with a letter or digit";

/** A task as written; `name` is absent when the document gave none. */
export type ParsedTask = Omit<TaskSpec, 'name'> & { name?: string };

/** `scalarText(['envs', 'LR'])` gives the source text of a scalar of this document. */
export type DocumentScalarText = (path: readonly (string | number)[]) => string | undefined;

/**
 * `envOverrides` (`--env K=V`) are applied to envs/secrets before `${VAR}` references in workdir and
 * file_mounts are substituted, so an override reaches the paths too.
 */
export function parseTask(
  value: unknown,
  issues: IssueList,
  scalarText: DocumentScalarText,
  envOverrides: Readonly<Record<string, string>> = {},
): ParsedTask | undefined {
  if (!isMapping(value)) {
    issues.add('', `a task must be a mapping of task keys such as run, setup, resources (got ${describe(value)})`);
    return undefined;
  }
  checkKeys(value, TASK_KEYS, '', issues, TASK_KEY_HINTS);

  const sectionText =
    (section: string): ScalarText =>
    (key) =>
      scalarText([section, key]);
  const envs = present(value.envs) ? parseEnvSection(value.envs, 'envs', issues, sectionText('envs')) : {};
  const secrets = present(value.secrets) ? parseEnvSection(value.secrets, 'secrets', issues, sectionText('secrets')) : {};
  applyEnvOverrides({ envs, secrets }, envOverrides);

  // Read in the order of TASK_KEYS, so problems are listed in a predictable order.
  const name = present(value.name) ? parseName(value.name, 'name', issues) : undefined;
  let workdir: string | undefined;
  if (present(value.workdir)) {
    if (isMapping(value.workdir)) issues.add('workdir', 'git workdir mappings are not supported; give a local directory');
    else workdir = expectNonEmptyString(substituteEnvsDeep(value.workdir, envs), 'workdir', issues)?.trim();
  }
  const task: ParsedTask = {
    numNodes: present(value.num_nodes) ? (expectInteger(value.num_nodes, 'num_nodes', issues, { min: 1 }) ?? 1) : 1,
    resources: parseResources(value.resources, 'resources', issues),
    envs,
    secrets,
    fileMounts: present(value.file_mounts) ? parseFileMounts(value.file_mounts, 'file_mounts', issues, envs) : [],
  };
  if (name !== undefined) task.name = name;
  if (workdir !== undefined) task.workdir = workdir;
  // Scripts are kept byte for byte: indentation and trailing newlines are the user's.
  if (present(value.setup)) task.setup = expectString(value.setup, 'setup', issues);
  if (present(value.run)) task.run = expectString(value.run, 'run', issues);
  if (present(value.config)) task.config = expectMapping(value.config, 'config', issues);
  if (present(value.pool)) task.pool = parsePool(value.pool, 'pool', issues);
  return task;
}

/** A task or pipeline name; reported at `path` when it does not follow NAME_PATTERN. */
export function parseName(value: unknown, path: string, issues: IssueList): string | undefined {
  const name = expectString(value, path, issues);
  if (name === undefined) return undefined;
  if (!NAME_PATTERN.test(name)) {
    issues.add(path, `invalid name '${name}'; ${NAME_RULE}`);
    return undefined;
  }
  return name;
}
