// `jobs launch` flags that change the parsed spec (SPEC §7): parsing them (with the spec module's
// own field parsers, so `--gpus A100:8` means exactly what `accelerators: A100:8` means) and
// applying them to a JobSpec. Both steps are pure; problems are collected, never thrown, so every
// bad flag is reported at once with the flag as its path.

import type { AcceleratorChoice } from './accelerators.ts';
import { parseAccelerators } from './accelerators.ts';
import { mergeLocation, parseInfra } from './infra.ts';
import { IssueList } from './issues.ts';
import { parseCpus, parseMemory } from './quantity.ts';
import { PRIORITY_BOUNDS } from './resources.ts';
import { ENV_NAME as ENV_KEY } from './envs.ts';
import { NAME_PATTERN as NAME } from './task.ts';
import type { InfraSelector, JobSpec, QuantityRequest, ResourceRequest, SpecIssue } from './types.ts';

/** The spec-changing flags as typed on the command line (absent = not given). */
export interface LaunchFlags {
  name?: string;
  /** `--env K=V` or `--env K` (value from the caller's environment), in order. */
  env?: string[];
  /** Contents of the `--env-file`, with the file name for messages. */
  envFile?: { path: string; text: string };
  secret?: string[];
  useSpot?: boolean;
  gpus?: string;
  cpus?: string;
  memory?: string;
  infra?: string;
  numNodes?: string;
  priority?: string;
}

/** Parsed overrides. `envs` are handed to the spec parser (they also fill `${VAR}` and null envs). */
export interface LaunchOverrides {
  name?: string;
  envs: Record<string, string>;
  secrets: Record<string, string>;
  useSpot?: boolean;
  accelerators?: AcceleratorChoice;
  cpus?: QuantityRequest;
  memoryGb?: QuantityRequest;
  /** Replaces the whole location of every request (`--infra aws` drops a region the YAML named). */
  infra?: InfraSelector;
  numNodes?: number;
  priority?: number;
}

/**
 * `K=V` sets K; a bare `K` takes K's value from `environment` (as `sky jobs launch --env K` does)
 * and is a problem when K is unset there.
 */
export function parseAssignments(
  items: readonly string[],
  flag: string,
  environment: Readonly<Record<string, string | undefined>>,
  issues: IssueList,
): Record<string, string> {
  const values: Record<string, string> = {};
  // A --secret item is never echoed: `--secret hf_abc…` (a value pasted without NAME=) would put the
  // secret in the error message, the terminal and CI logs. Items are named by position instead.
  const secret = flag === '--secret';
  for (const [n, item] of items.entries()) {
    const eq = item.indexOf('=');
    const key = (eq < 0 ? item : item.slice(0, eq)).trim();
    if (!ENV_KEY.test(key)) {
      issues.add(flag, secret ? `item ${n + 1} is not NAME=VALUE with a name matching ${ENV_KEY.source} (its text is not shown: it may be a secret)` : `invalid name '${key}' in '${item}'; names match ${ENV_KEY.source}`);
      continue;
    }
    if (secret && eq < 0 && environment[key] === undefined) {
      issues.add(flag, `item ${n + 1} has no value: write NAME=VALUE, or NAME with NAME set in the environment (its text is not shown: it may be a secret)`);
      continue;
    }
    if (eq >= 0) {
      values[key] = item.slice(eq + 1);
      continue;
    }
    const fromEnv = environment[key];
    if (fromEnv === undefined) issues.add(flag, `${key} has no value: write ${key}=VALUE or set ${key} in the environment`);
    else values[key] = fromEnv;
  }
  return values;
}

/**
 * A dotenv file: `KEY=VALUE` lines, `#` comments and blank lines ignored, an optional `export `
 * prefix, values optionally in single or double quotes (double quotes understand \n, \" and \\).
 */
export function parseDotenv(text: string, path: string, issues: IssueList): Record<string, string> {
  const values: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `${path}:${i + 1}`;
    const body = line.startsWith('export ') ? line.slice('export '.length).trimStart() : line;
    const eq = body.indexOf('=');
    if (eq < 0) {
      issues.add(where, `expected KEY=VALUE (got '${line}')`);
      return;
    }
    const key = body.slice(0, eq).trim();
    if (!ENV_KEY.test(key)) {
      issues.add(where, `invalid name '${key}'; names match ${ENV_KEY.source}`);
      return;
    }
    let value = body.slice(eq + 1).trim();
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.length >= 2 && value.endsWith(quote)) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replace(/\\([n"\\])/g, (_, c: string) => (c === 'n' ? '\n' : c));
    } else {
      // An unquoted value ends at an inline comment.
      value = value.replace(/\s+#.*$/, '');
    }
    values[key] = value;
  });
  return values;
}

function parseWholeNumber(text: string, flag: string, min: number, max: number, issues: IssueList): number | undefined {
  const value = Number(text.trim());
  if (text.trim() === '' || !Number.isInteger(value) || value < min || value > max) {
    issues.add(flag, `must be a whole number from ${min} to ${max} (got '${text}')`);
    return undefined;
  }
  return value;
}

/** Parses every flag; `issues` has one entry per problem, the flag (or env file line) as its path. */
export function parseLaunchOverrides(
  flags: LaunchFlags,
  environment: Readonly<Record<string, string | undefined>>,
): { overrides: LaunchOverrides; issues: SpecIssue[] } {
  const issues = new IssueList();
  const overrides: LaunchOverrides = { envs: {}, secrets: {} };

  if (flags.name !== undefined) {
    if (NAME.test(flags.name)) overrides.name = flags.name;
    else issues.add('--name', `invalid name '${flags.name}'; names match ${NAME.source}`);
  }
  // --env-file first, then --env: a flag on the command line wins over the file (as in SkyPilot).
  if (flags.envFile) Object.assign(overrides.envs, parseDotenv(flags.envFile.text, flags.envFile.path, issues));
  Object.assign(overrides.envs, parseAssignments(flags.env ?? [], '--env', environment, issues));
  Object.assign(overrides.secrets, parseAssignments(flags.secret ?? [], '--secret', environment, issues));

  if (flags.useSpot !== undefined) overrides.useSpot = flags.useSpot;
  if (flags.gpus !== undefined) overrides.accelerators = parseAccelerators(flags.gpus, '--gpus', issues);
  if (flags.cpus !== undefined) overrides.cpus = parseCpus(flags.cpus, '--cpus', issues);
  if (flags.memory !== undefined) overrides.memoryGb = parseMemory(flags.memory, '--memory', issues);
  if (flags.infra !== undefined) {
    const location = parseInfra(flags.infra, '--infra', issues);
    if (location) overrides.infra = mergeLocation({}, location);
  }
  if (flags.numNodes !== undefined) overrides.numNodes = parseWholeNumber(flags.numNodes, '--num-nodes', 1, 10_000, issues);
  if (flags.priority !== undefined) {
    overrides.priority = parseWholeNumber(flags.priority, '--priority', PRIORITY_BOUNDS.min, PRIORITY_BOUNDS.max, issues);
  }
  return { overrides, issues: [...issues.items] };
}

function overrideRequests(requests: ResourceRequest[], o: LaunchOverrides): ResourceRequest[] {
  const expanded = requests.flatMap((r): ResourceRequest[] => {
    const base: ResourceRequest = { ...r, infra: o.infra ? { ...o.infra } : r.infra };
    if (o.useSpot !== undefined) base.useSpot = o.useSpot;
    if (o.cpus) base.cpus = { ...o.cpus };
    if (o.memoryGb) base.memoryGb = { ...o.memoryGb };
    if (!o.accelerators) return [base];
    return o.accelerators.options.map((accelerator) => ({ ...base, accelerator: { ...accelerator } }));
  });
  // Overriding can make alternatives identical (two accelerators replaced by one): keep the first.
  const seen = new Set<string>();
  return expanded.filter((r) => {
    const key = JSON.stringify(r);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * The spec with the command-line overrides applied to every task. `--name` names the job, and the
 * task too when the job is a single task. `--gpus` replaces the accelerators of every alternative;
 * a set (`{A:1,B:1}`) makes the order `cheapest`, a single accelerator keeps the spec's order.
 * Envs are not applied here: they go to the spec parser, which also substitutes them.
 */
export function applyLaunchOverrides(spec: JobSpec, o: LaunchOverrides): JobSpec {
  const tasks = spec.tasks.map((task) => {
    const resources = { ...task.resources, requests: overrideRequests(task.resources.requests, o) };
    if (o.accelerators && o.accelerators.form !== 'single') resources.order = o.accelerators.form === 'list' ? 'ordered' : 'cheapest';
    if (o.priority !== undefined) resources.priority = o.priority;
    return {
      ...task,
      name: o.name !== undefined && !spec.isPipeline ? o.name : task.name,
      numNodes: o.numNodes ?? task.numNodes,
      resources,
      secrets: { ...task.secrets, ...o.secrets },
    };
  });
  return { ...spec, name: o.name ?? spec.name, tasks };
}
