// `resources` (docs/behaviour.md §1) → ResourcesSpec.
//
// Terms: a *level* is one mapping of resource keys — the outer `resources` mapping, or one candidate
// of `any_of`/`ordered`. Outer keys are defaults for every candidate (a candidate's key replaces the
// outer one; `labels` are merged, as in SkyPilot). Each candidate — or the outer level alone when
// there are none — becomes one ResourceRequest per accelerator option, so an accelerator set
// `{L4: 1, A100: 1}` yields two requests.
//
// Order (see ResourcesSpec.order): `any_of` and accelerator sets → `cheapest`; `ordered` and
// accelerator lists → `ordered`. Mixing that loses an order the user wrote is an error, as in
// SkyPilot: an outer accelerator list with `any_of`, several outer accelerators with `ordered`.

import type { JobRecoverySpec, QuantityRequest, ResourceRequest, ResourcesSpec } from './types.ts';
import type { IssueList } from './issues.ts';
import { joinPath } from './issues.ts';
import { parseAccelerators, type AcceleratorChoice } from './accelerators.ts';
import { checkZoneInRegion, mergeLocation, parseLocation, type LocationOverride } from './infra.ts';
import { parsePorts } from './ports.ts';
import { parseCpus, parseDiskSize, parseMemory } from './quantity.ts';
import { defaultJobRecovery, describeJobRecovery, parseJobRecovery, sameJobRecovery } from './recovery.ts';
import {
  checkKeys,
  describe,
  expectBoolean,
  expectInteger,
  expectMapping,
  expectNonEmptyString,
  isMapping,
  present,
  type Mapping,
} from './values.ts';

export const DEFAULT_DISK_SIZE_GB = 256;
export const PRIORITY_BOUNDS = { min: -1000, max: 1000 } as const;

/** Keys allowed at every level. `gpus` and `spot_recovery` are SkyPilot's aliases of the key after them. */
const LEVEL_KEYS = [
  'infra',
  'cloud',
  'region',
  'zone',
  'accelerators',
  'gpus',
  'cpus',
  'memory',
  'instance_type',
  'use_spot',
  'disk_size',
  'image_id',
  'ports',
  'labels',
  'job_recovery',
  'spot_recovery',
  'priority',
] as const;
const OUTER_KEYS = [...LEVEL_KEYS, 'any_of', 'ordered'] as const;

/** SkyPilot resource keys that skyless knowingly does not implement. */
const UNSUPPORTED: Readonly<Record<string, string>> = Object.fromEntries(
  ['disk_tier', 'network_tier', 'accelerator_args', 'autostop', 'volumes'].map((key) => [
    key,
    'a SkyPilot option that skyless does not support',
  ]),
);
const NESTED_CHOICE: Readonly<Record<string, string>> = {
  ...UNSUPPORTED,
  any_of: 'candidates cannot hold any_of or ordered themselves',
  ordered: 'candidates cannot hold any_of or ordered themselves',
};

/** The parsed keys of one level. A key is in `given` when the user wrote it, even if it was invalid. */
interface Level {
  path: string;
  given: Set<string>;
  location: LocationOverride;
  accelerators?: AcceleratorChoice;
  cpus?: QuantityRequest;
  memoryGb?: QuantityRequest;
  instanceType?: string;
  useSpot?: boolean;
  diskSizeGb?: number;
  imageId?: string;
  ports?: string[];
  labels?: Record<string, string>;
  jobRecovery?: JobRecoverySpec;
  priority?: number;
}

export function parseResources(value: unknown, path: string, issues: IssueList): ResourcesSpec {
  if (!present(value)) return { order: 'cheapest', requests: [buildRequest([])], jobRecovery: defaultJobRecovery(), priority: 0 };
  const map = expectMapping(value, path, issues);
  if (map === undefined) return { order: 'cheapest', requests: [], jobRecovery: defaultJobRecovery(), priority: 0 };

  checkKeys(map, OUTER_KEYS, path, issues, UNSUPPORTED);
  const outer = parseLevel(map, path, issues);
  checkZoneInRegion(mergeLocation({}, outer.location), path, issues);

  if (present(map.any_of) && present(map.ordered)) {
    issues.add(path, 'use either any_of or ordered, not both');
  }
  const choiceKey = present(map.any_of) ? 'any_of' : present(map.ordered) ? 'ordered' : undefined;
  const candidates = choiceKey ? parseCandidates(map[choiceKey], joinPath(path, choiceKey), choiceKey, issues) : [];

  const outerAccelerators = outer.accelerators;
  const acceleratorsPath = joinPath(path, outer.given.has('gpus') ? 'gpus' : 'accelerators');
  if (choiceKey === 'any_of' && outerAccelerators?.form === 'list') {
    issues.add(acceleratorsPath, 'an ordered accelerator list cannot be combined with any_of; write a mapping {A: n, B: m} for a set');
  }
  if (choiceKey === 'ordered' && outerAccelerators && outerAccelerators.form !== 'single') {
    issues.add(acceleratorsPath, 'several accelerators cannot be combined with ordered; put one accelerator in each ordered candidate');
  }

  const order: ResourcesSpec['order'] =
    choiceKey === 'ordered' || (choiceKey === undefined && outerAccelerators?.form === 'list') ? 'ordered' : 'cheapest';
  const chains: Level[][] = candidates.length > 0 ? candidates.map((candidate) => [outer, candidate]) : [[outer]];
  for (const candidate of candidates) {
    // The outer level alone was checked above; report here only what a candidate's own keys changed.
    if (Object.keys(candidate.location).length > 0) {
      checkZoneInRegion(mergeLocation(outer.location, candidate.location), candidate.path, issues);
    }
  }

  const requests: ResourceRequest[] = [];
  const seen = new Set<string>();
  for (const chain of chains) {
    for (const request of expandChain(chain)) {
      const key = JSON.stringify(request);
      if (!seen.has(key)) requests.push(request);
      seen.add(key);
    }
  }

  return {
    order,
    requests,
    jobRecovery: agreedValue(
      chains,
      'jobRecovery',
      ['job_recovery', 'spot_recovery'],
      defaultJobRecovery(),
      sameJobRecovery,
      describeJobRecovery,
      issues,
    ),
    priority: agreedValue(chains, 'priority', ['priority'], 0, (a, b) => a === b, String, issues),
  };
}

function parseCandidates(value: unknown, path: string, choiceKey: string, issues: IssueList): Level[] {
  if (!Array.isArray(value) || value.length === 0) {
    issues.add(path, `must be a non-empty list of resource mappings (got ${Array.isArray(value) ? 'an empty list' : describe(value)})`);
    return [];
  }
  const levels: Level[] = [];
  value.forEach((item, i) => {
    const candidatePath = joinPath(path, i);
    if (!isMapping(item)) {
      issues.add(candidatePath, `must be a mapping of resource keys (got ${describe(item)})`);
      return;
    }
    checkKeys(item, LEVEL_KEYS, candidatePath, issues, NESTED_CHOICE);
    const level = parseLevel(item, candidatePath, issues);
    if (choiceKey === 'any_of' && level.accelerators?.form === 'list') {
      issues.add(
        joinPath(candidatePath, level.given.has('gpus') ? 'gpus' : 'accelerators'),
        'an ordered accelerator list has no order inside any_of; write a mapping {A: n, B: m} for a set',
      );
    }
    levels.push(level);
  });
  return levels;
}

/** Reads one level's keys; invalid keys are reported and left out. */
function parseLevel(map: Mapping, path: string, issues: IssueList): Level {
  const given = new Set(Object.keys(map).filter((key) => present(map[key])));
  const level: Level = { path, given, location: parseLocation(map, path, issues) };
  const at = (key: string) => joinPath(path, key);

  const acceleratorKey = aliased(map, 'accelerators', 'gpus', path, issues);
  if (acceleratorKey) level.accelerators = parseAccelerators(map[acceleratorKey], at(acceleratorKey), issues);
  if (given.has('cpus')) level.cpus = parseCpus(map.cpus, at('cpus'), issues);
  if (given.has('memory')) level.memoryGb = parseMemory(map.memory, at('memory'), issues);
  if (given.has('instance_type')) level.instanceType = expectNonEmptyString(map.instance_type, at('instance_type'), issues)?.trim();
  if (given.has('use_spot')) level.useSpot = expectBoolean(map.use_spot, at('use_spot'), issues);
  if (given.has('disk_size')) level.diskSizeGb = parseDiskSize(map.disk_size, at('disk_size'), issues);
  if (given.has('image_id')) {
    if (isMapping(map.image_id)) issues.add(at('image_id'), 'per-region image_id mappings are not supported; give one image id');
    else level.imageId = expectNonEmptyString(map.image_id, at('image_id'), issues)?.trim();
  }
  if (given.has('ports')) level.ports = parsePorts(map.ports, at('ports'), issues);
  if (given.has('labels')) level.labels = parseLabels(map.labels, at('labels'), issues);
  const recoveryKey = aliased(map, 'job_recovery', 'spot_recovery', path, issues);
  if (recoveryKey) level.jobRecovery = parseJobRecovery(map[recoveryKey], at(recoveryKey), issues);
  if (given.has('priority')) level.priority = expectInteger(map.priority, at('priority'), issues, PRIORITY_BOUNDS);
  return level;
}

/** Which of a key and its SkyPilot alias holds the value; both at once is an error. */
function aliased(map: Mapping, key: string, alias: string, path: string, issues: IssueList): string | undefined {
  if (present(map[key]) && present(map[alias])) {
    issues.add(joinPath(path, alias), `use either ${key} or ${alias}, not both`);
    return undefined;
  }
  return present(map[key]) ? key : present(map[alias]) ? alias : undefined;
}

function parseLabels(value: unknown, path: string, issues: IssueList): Record<string, string> | undefined {
  const map = expectMapping(value, path, issues);
  if (map === undefined) return undefined;
  const labels: Record<string, string> = {};
  for (const [key, raw] of Object.entries(map)) {
    if (typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean') labels[key] = String(raw);
    else issues.add(joinPath(path, key), `label values must be strings (got ${describe(raw)})`);
  }
  return labels;
}

/** The value of `key` for a chain (outer level first, candidate last): the last level that gave it. */
function pick<K extends keyof Level>(chain: Level[], key: K): Level[K] | undefined {
  for (let i = chain.length - 1; i >= 0; i--) {
    if (chain[i][key] !== undefined) return chain[i][key];
  }
  return undefined;
}

/** One request per accelerator option of the chain (one request when it asks for none). */
function expandChain(chain: Level[]): ResourceRequest[] {
  const options = pick(chain, 'accelerators')?.options;
  if (!options) return [buildRequest(chain)];
  return options.map((accelerator) => buildRequest(chain, accelerator));
}

function buildRequest(chain: Level[], accelerator?: ResourceRequest['accelerator']): ResourceRequest {
  const request: ResourceRequest = {
    infra: mergeLocation(chain[0]?.location ?? {}, chain.length > 1 ? chain[chain.length - 1].location : {}),
    useSpot: pick(chain, 'useSpot') ?? false,
    diskSizeGb: pick(chain, 'diskSizeGb') ?? DEFAULT_DISK_SIZE_GB,
    ports: pick(chain, 'ports') ?? [],
    labels: Object.assign({}, ...chain.map((level) => level.labels ?? {})) as Record<string, string>,
  };
  if (accelerator) request.accelerator = { ...accelerator };
  const cpus = pick(chain, 'cpus');
  if (cpus) request.cpus = { ...cpus };
  const memoryGb = pick(chain, 'memoryGb');
  if (memoryGb) request.memoryGb = { ...memoryGb };
  const instanceType = pick(chain, 'instanceType');
  if (instanceType !== undefined) request.instanceType = instanceType;
  const imageId = pick(chain, 'imageId');
  if (imageId !== undefined) request.imageId = imageId;
  return request;
}

/**
 * A task-wide setting (job_recovery, priority) that candidates may repeat but must not disagree on.
 * `keys` are the key and its aliases; the first names the setting in messages. A level that gave the
 * key with an invalid value is skipped: its problem is reported already.
 */
function agreedValue<T>(
  chains: Level[][],
  field: 'jobRecovery' | 'priority',
  keys: readonly string[],
  fallback: T,
  same: (a: T, b: T) => boolean,
  show: (value: T) => string,
  issues: IssueList,
): T {
  const name = keys[0];
  let first: { value: T; path: string } | undefined;
  for (const chain of chains) {
    const candidate = chain[chain.length - 1];
    const giver = [...chain].reverse().find((level) => keys.some((key) => level.given.has(key)));
    if (giver && giver[field] === undefined) continue;
    const value = (giver ? giver[field] : fallback) as T;
    if (first === undefined) {
      first = { value, path: candidate.path };
    } else if (!same(first.value, value)) {
      const usedKey = keys.find((key) => candidate.given.has(key));
      issues.add(
        giver === candidate && usedKey ? joinPath(candidate.path, usedKey) : candidate.path,
        `${name} (${show(value)}) differs from ${first.path} (${show(first.value)}); all candidates of a task must carry the same ${name}`,
      );
    }
  }
  return first?.value ?? fallback;
}
