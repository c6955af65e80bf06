// `envs` and `secrets` (docs/behaviour.md §1, §6), and the `--env`/`--secret` overrides of the submit path.
//
// Values are strings. A number or boolean is kept as the user wrote it (`LR: 1e-4` → "1e-4",
// `DEBUG: true` → "true", `VERSION: 1.10` → "1.10"), not as a re-printed number, because the text is
// what the user meant the variable to hold. A null value (`HF_TOKEN:`) means "supply it at submit".
//
// Secrets: no message may contain a secret's value. Messages here name keys and types only.
//
// `${VAR}` / `$VAR` in `workdir` and `file_mounts` (paths, bucket URLs, storage names and sources)
// are replaced by the task's envs after the overrides, as SkyPilot does (`/models/llama-${SIZE}b`).
// Secrets are not substituted: a path is shown in listings and logs, a secret must never be.

import type { TaskSpec } from './types.ts';
import type { IssueList } from './issues.ts';
import { joinPath } from './issues.ts';
import { describe, expectMapping } from './values.ts';

export const ENV_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const ENV_NAME_RULE = 'use letters, digits and _, not starting with a digit';

/** The source text of the scalar under `key` of the section, when the YAML node is at hand. */
export type ScalarText = (key: string) => string | undefined;

export type EnvSection = 'envs' | 'secrets';

export function parseEnvSection(
  value: unknown,
  section: EnvSection,
  issues: IssueList,
  scalarText: ScalarText,
): Record<string, string | null> {
  const map = expectMapping(value, section, issues);
  if (map === undefined) return {};
  const result: Record<string, string | null> = {};
  for (const [key, raw] of Object.entries(map)) {
    const path = joinPath(section, key);
    if (!ENV_NAME.test(key)) {
      issues.add(path, `invalid variable name; ${ENV_NAME_RULE}`);
      continue;
    }
    if (raw === null) result[key] = null;
    else if (typeof raw === 'string') result[key] = raw;
    else if (typeof raw === 'number' || typeof raw === 'boolean' || raw instanceof Date) {
      result[key] = scalarText(key) ?? (raw instanceof Date ? raw.toISOString() : String(raw));
    } else issues.add(path, `must be a string, number or boolean (got ${describe(raw)})`);
  }
  return result;
}

/** Reports override names that cannot be environment variables (path `--env`). */
export function checkOverrideNames(overrides: Record<string, string>, issues: IssueList): void {
  for (const key of Object.keys(overrides)) {
    if (!ENV_NAME.test(key)) issues.add('--env', `invalid variable name '${key}'; ${ENV_NAME_RULE}`);
  }
}

/**
 * Applies `--env K=V` overrides to one task: a key declared in `secrets` gets the value there, a key
 * declared in `envs` gets it there (both, if declared in both), and any other key is added to
 * `envs`. A secret's value is never copied into `envs`, where it would be shown.
 */
export function applyEnvOverrides(task: Pick<TaskSpec, 'envs' | 'secrets'>, overrides: Record<string, string>): void {
  for (const [key, value] of Object.entries(overrides)) {
    if (!ENV_NAME.test(key)) continue;
    const inSecrets = Object.hasOwn(task.secrets, key);
    if (inSecrets) task.secrets[key] = value;
    if (Object.hasOwn(task.envs, key) || !inSecrets) task.envs[key] = value;
  }
}

/** On the submit path every declared variable needs a value by now. */
export function checkEnvValuesSupplied(task: Pick<TaskSpec, 'envs' | 'secrets'>, issues: IssueList): void {
  for (const [section, flag] of [
    ['envs', '--env'],
    ['secrets', '--secret'],
  ] as const) {
    for (const [key, value] of Object.entries(task[section])) {
      if (value === null) issues.add(joinPath(section, key), `no value given; pass ${flag} ${key}=VALUE`);
    }
  }
}

const REFERENCE = /\$\{([a-zA-Z_][a-zA-Z0-9_]*)\}|\$([a-zA-Z_][a-zA-Z0-9_]*)/g;

/** `text` with every `${VAR}`/`$VAR` whose VAR has a value replaced; other references kept as written. */
export function substituteEnvs(text: string, envs: Readonly<Record<string, string | null>>): string {
  return text.replace(REFERENCE, (reference, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare ?? '';
    const value = Object.hasOwn(envs, name) ? envs[name] : null;
    return typeof value === 'string' ? value : reference;
  });
}

/** Substitutes into every string of a plain YAML value, mapping keys included. */
export function substituteEnvsDeep(value: unknown, envs: Readonly<Record<string, string | null>>): unknown {
  if (typeof value === 'string') return substituteEnvs(value, envs);
  if (Array.isArray(value)) return value.map((item) => substituteEnvsDeep(item, envs));
  if (typeof value === 'object' && value !== null && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [substituteEnvs(key, envs), substituteEnvsDeep(item, envs)]),
    );
  }
  return value;
}
