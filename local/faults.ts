// Launch faults for cloud `local` (fault injection): a JSON file, $SKYLESS_HOME/local/faults.json,
// that `skyless local faults set|clear|show` edits and the control plane reads on every launch, so
// a change takes effect at the next launch without a restart (and works while the plane is down).
//
// A fault selects launches by region, zone and instance type (absent = any) and says how they fail:
//   capacity  → CapacityError 'InsufficientInstanceCapacity' (EC2's per-zone capacity error)
//   quota     → CapacityError 'VcpuLimitExceeded' (EC2's per-region vCPU quota)
//   precheck  → PrecheckError 'InvalidParameterValue' (a request that can never succeed)
//   error     → a plain Error thrown AFTER the instances were created: an unexpected failure (a bug,
//               a response that could not be parsed) that must end in FAILED_CONTROLLER with every
//               created instance torn down.
//   slow      → the launch call is held up to `delaySeconds` longer (a slow cloud API), or until the
//               fault is cleared, whichever comes first: it holds a job in STARTING/RECOVERING with
//               the provider call in flight for as long as a test needs (to cancel it there, say).
// `scope` (zone | region | cloud) is the scope the CapacityError names, i.e. what the launch walk
// blocks: zone → that zone only (the provider then tries the region's next zone), region → the
// whole region, cloud → every region of cloud `local`.

import { readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CapacityError, PrecheckError, ValidationError, type BlockScope } from '../core/errors.ts';
import { bundledCatalog } from '../core/catalog/index.ts';
import type { ComputeProvider, LaunchRequest, LaunchedInstance } from '../core/ports.ts';
import type { FaultSource } from '../adapters/local/process-provider.ts';

export const FAULT_KINDS = ['capacity', 'quota', 'precheck', 'error', 'slow'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
export const FAULT_SCOPES = ['zone', 'region', 'cloud'] as const satisfies readonly BlockScope[];

export interface LaunchFault {
  kind: FaultKind;
  /** The scope a capacity/quota error names (ignored for precheck and error). */
  scope: BlockScope;
  /** Absent = every region of cloud `local`. */
  region?: string;
  /** Absent = every zone of the region(s). Only meaningful with `region`. */
  zone?: string;
  /** Absent = every instance type. */
  instanceType?: string;
  /** `slow` faults: extra seconds the launch call takes. */
  delaySeconds?: number;
}

export interface FaultsFile {
  launch: LaunchFault[];
}

export function faultsPath(home: string): string {
  return join(home, 'local', 'faults.json');
}

/** Regions (and their zones) of cloud `local` in the bundled catalog. */
export function localRegions(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const row of bundledCatalog().rows) {
    if (row.cloud !== 'local') continue;
    for (const [region, zones] of Object.entries(row.regions)) {
      const set = out.get(region) ?? new Set<string>();
      zones.forEach((z) => set.add(z));
      out.set(region, set);
    }
  }
  return out;
}

/** Checks one fault against the catalog; throws ValidationError naming the bad field. */
export function validateFault(f: Partial<LaunchFault>, where = 'fault'): LaunchFault {
  if (!FAULT_KINDS.includes(f.kind as FaultKind)) throw new ValidationError(`${where}.kind must be one of ${FAULT_KINDS.join(', ')}, got '${String(f.kind)}'`);
  const scope = f.scope ?? defaultScope(f.kind as FaultKind);
  if (!FAULT_SCOPES.includes(scope)) throw new ValidationError(`${where}.scope must be one of ${FAULT_SCOPES.join(', ')}, got '${String(scope)}'`);
  const regions = localRegions();
  if (f.region !== undefined && !regions.has(f.region)) {
    throw new ValidationError(`${where}.region: cloud local has no region '${f.region}' (regions: ${[...regions.keys()].join(', ')})`);
  }
  if (f.zone !== undefined) {
    if (f.region === undefined) throw new ValidationError(`${where}.zone needs a region`);
    const zones = regions.get(f.region)!;
    if (!zones.has(f.zone)) throw new ValidationError(`${where}.zone: region ${f.region} has no zone '${f.zone}' (zones: ${[...zones].join(', ')})`);
  }
  if (f.instanceType !== undefined && (typeof f.instanceType !== 'string' || !f.instanceType)) throw new ValidationError(`${where}.instanceType must be a non-empty string`);
  if (f.kind === 'slow' && !(typeof f.delaySeconds === 'number' && f.delaySeconds > 0 && f.delaySeconds <= 3600)) {
    throw new ValidationError(`${where}.delaySeconds: a slow fault needs a delay in seconds (0 < delay ≤ 3600), got ${String(f.delaySeconds)}`);
  }
  if (f.kind !== 'slow' && f.delaySeconds !== undefined) throw new ValidationError(`${where}.delaySeconds applies to slow faults only`);
  const out: LaunchFault = { kind: f.kind as FaultKind, scope };
  if (f.region !== undefined) out.region = f.region;
  if (f.zone !== undefined) out.zone = f.zone;
  if (f.instanceType !== undefined) out.instanceType = f.instanceType;
  if (f.delaySeconds !== undefined) out.delaySeconds = f.delaySeconds;
  return out;
}

function defaultScope(kind: FaultKind): BlockScope {
  return kind === 'quota' ? 'region' : 'zone';
}

export function parseFaults(text: string, path: string): FaultsFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`${path}: not valid JSON: ${(err as Error).message}`);
  }
  const launch = (raw as { launch?: unknown })?.launch;
  if (!raw || typeof raw !== 'object' || !Array.isArray(launch)) throw new ValidationError(`${path}: expected {"launch": [ ...faults ]}`);
  return { launch: launch.map((f, i) => validateFault(f as Partial<LaunchFault>, `${path}: launch[${i}]`)) };
}

export async function readFaults(home: string): Promise<FaultsFile> {
  const path = faultsPath(home);
  try {
    return parseFaults(await readFile(path, 'utf8'), path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { launch: [] };
    throw err;
  }
}

/** Atomic replace, so the control plane never reads half a file. */
export async function writeFaults(home: string, faults: FaultsFile): Promise<void> {
  const path = faultsPath(home);
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, JSON.stringify(faults, null, 2) + '\n');
  await rename(tmp, path);
}

/** Faults that act after (error) or around (slow) the launch combine with one that refuses it. */
function stage(f: LaunchFault): 'refuse' | 'error' | 'slow' {
  return f.kind === 'error' || f.kind === 'slow' ? f.kind : 'refuse';
}

function sameSelector(a: LaunchFault, b: LaunchFault): boolean {
  return stage(a) === stage(b) && a.region === b.region && a.zone === b.zone && a.instanceType === b.instanceType;
}

/** Adds a fault; one of the same stage with the same selector (region, zone, type) is replaced. */
export function addFault(file: FaultsFile, fault: LaunchFault): FaultsFile {
  return { launch: [...file.launch.filter((f) => !sameSelector(f, fault)), fault] };
}

/** Removes the faults matching the filter (every field given must be equal); no filter = all. */
export function removeFaults(file: FaultsFile, filter: { region?: string; zone?: string; instanceType?: string; kind?: FaultKind }): FaultsFile {
  const match = (f: LaunchFault) =>
    (filter.region === undefined || f.region === filter.region) &&
    (filter.zone === undefined || f.zone === filter.zone) &&
    (filter.instanceType === undefined || f.instanceType === filter.instanceType) &&
    (filter.kind === undefined || f.kind === filter.kind);
  return { launch: file.launch.filter((f) => !match(f)) };
}

export function faultApplies(f: LaunchFault, region: string, zone: string, instanceType: string): boolean {
  return (f.region === undefined || f.region === region) && (f.zone === undefined || f.zone === zone) && (f.instanceType === undefined || f.instanceType === instanceType);
}

/** The error a capacity/quota/precheck fault raises for a launch in (region, zone). */
export function faultError(f: LaunchFault, region: string, zone: string, instanceType: string): Error | undefined {
  const where = f.scope === 'zone' ? { cloud: 'local', region, zone } : f.scope === 'region' ? { cloud: 'local', region } : { cloud: 'local' };
  const place = f.scope === 'zone' ? `zone ${zone}` : f.scope === 'region' ? `region ${region}` : 'cloud local';
  switch (f.kind) {
    case 'capacity':
      return new CapacityError(`InsufficientInstanceCapacity: no ${instanceType} capacity in ${place} (injected fault)`, f.scope, where, 'InsufficientInstanceCapacity');
    case 'quota':
      return new CapacityError(`VcpuLimitExceeded: vCPU quota for ${instanceType} exhausted in ${place} (injected fault)`, f.scope, where, 'VcpuLimitExceeded');
    case 'precheck':
      return new PrecheckError(`InvalidParameterValue: ${instanceType} cannot be launched in ${region} as requested (injected fault)`, 'InvalidParameterValue');
    case 'error':
    case 'slow':
      return undefined; // acted out around the launch, by withLaunchFaults
  }
}

/**
 * The faults file as the ProcessProvider's FaultSource, re-read whenever it changes (checked by
 * mtime and size on every call: a launch is rare enough that a stat is free).
 */
export class FileFaultSource implements FaultSource {
  private cache?: { key: string; faults: FaultsFile };

  constructor(private readonly path: string) {}

  current(): FaultsFile {
    let key: string;
    try {
      const s = statSync(this.path);
      key = `${s.mtimeMs}:${s.size}:${s.ino}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { launch: [] };
      throw err;
    }
    if (this.cache?.key !== key) this.cache = { key, faults: parseFaults(readFileSync(this.path, 'utf8'), this.path) };
    return this.cache.faults;
  }

  launchError(region: string, zone: string, instanceType: string): Error | undefined {
    // The most specific matching fault wins (a zone fault over a region-wide one over a global one).
    const matching = this.current().launch.filter((f) => stage(f) === 'refuse' && faultApplies(f, region, zone, instanceType));
    matching.sort((a, b) => specificity(b) - specificity(a));
    return matching[0] ? faultError(matching[0], region, zone, instanceType) : undefined;
  }

  /** The `error` or `slow` fault for a launch of this candidate (any of its zones), if one is set. */
  aroundLaunch(kind: 'error' | 'slow', region: string, zones: readonly string[], instanceType: string): LaunchFault | undefined {
    const zs = zones.length ? zones : [`${region}a`];
    return this.current().launch.find((f) => f.kind === kind && zs.some((z) => faultApplies(f, region, z, instanceType)));
  }
}

function specificity(f: LaunchFault): number {
  return (f.zone ? 4 : 0) + (f.region ? 2 : 0) + (f.instanceType ? 1 : 0);
}

/** How often a held (slow) launch re-reads the faults file to see whether it was cleared. */
const SLOW_POLL_MS = 100;

/**
 * Wraps a provider for the faults that act around a launch: `slow` delays the call, `error` makes
 * it throw a plain Error after the instances were created, as an unexpected failure between the
 * cloud call and storing its result would.
 */
export function withLaunchFaults(provider: ComputeProvider, faults: FileFaultSource): ComputeProvider {
  return {
    cloud: provider.cloud,
    async launch(req: LaunchRequest): Promise<LaunchedInstance[]> {
      const { region, zones, instanceType } = req.candidate;
      const slow = faults.aroundLaunch('slow', region, zones, instanceType);
      if (slow?.delaySeconds) {
        const until = Date.now() + slow.delaySeconds * 1000;
        while (Date.now() < until && faults.aroundLaunch('slow', region, zones, instanceType)) {
          await new Promise((r) => setTimeout(r, Math.min(SLOW_POLL_MS, until - Date.now())));
        }
      }
      const launched = await provider.launch(req);
      const f = faults.aroundLaunch('error', region, zones, instanceType);
      if (f) {
        throw new Error(
          `unexpected error after launching ${launched.map((i) => i.instanceId).join(', ')} in ${req.candidate.region}: the provider's answer could not be processed (injected fault)`,
        );
      }
      return launched;
    },
    terminate: (jobId, taskIndex, attempt, region) => provider.terminate(jobId, taskIndex, attempt, region),
    describe: (filter) => provider.describe(filter),
  };
}

/** One line per fault, for `skyless local faults show`. */
export function describeFault(f: LaunchFault): string {
  const where = f.zone ? `zone ${f.zone}` : f.region ? `region ${f.region}` : 'every region';
  const type = f.instanceType ? ` for ${f.instanceType}` : '';
  switch (f.kind) {
    case 'capacity':
    case 'quota':
      return `${where}${type}: ${f.kind} error blocking the ${f.scope}`;
    case 'precheck':
      return `${where}${type}: precheck error (the candidate is ruled out)`;
    case 'error':
      return `${where}${type}: unexpected error after the instances are created (→ FAILED_CONTROLLER)`;
    case 'slow':
      return `${where}${type}: every launch call is held up to ${f.delaySeconds} s (until cleared)`;
  }
}
