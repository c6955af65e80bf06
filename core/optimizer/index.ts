// The optimizer (SPEC §3): turns a task's resources into the ordered list of launch candidates that
// a launch attempt walks, plus the list operations recovery needs (blocking failed scopes,
// reordering after a loss). Pure: the catalog is data, nothing here reads the clock or the network.
//
// Terms:
// - request: one ResourceRequest (a task's resources after any_of/ordered/accelerator expansion).
// - row: one catalog instance type (core/catalog).
// - candidate: a row placed in one region (on-demand: every offering zone of the region, tried in
//   order by the provider) or in one zone (spot: prices differ by zone).

import type { Cloud, ResourceRequest, ResourcesSpec, RecoveryStrategy, QuantityRequest } from '../spec/types.ts';
import type { CapacityError } from '../errors.ts';
import { bundledCatalog, regionOfZone, splitGcpAttachedType, type Catalog, type CatalogRow } from '../catalog/index.ts';
import type { Candidate, BlockedScope } from './types.ts';

export type { Candidate, BlockedScope } from './types.ts';

export interface OptimizerOptions {
  /** Defaults to the bundled catalog. */
  catalog?: Catalog;
  /** Clouds this deployment can launch on; defaults to every cloud in the catalog. */
  allowedClouds?: readonly Cloud[];
  /** Instance types this deployment may launch (a guardrail); undefined or empty = any. */
  allowedInstanceTypes?: readonly string[];
}

/**
 * What a request with no cpus, memory, accelerator or instance type asks for: SkyPilot's CPU-only
 * default of at least 4 vCPUs. Requests that name an accelerator or instance type get no default,
 * since the GPU instance's own shape is what the user chose.
 */
export const DEFAULT_CPUS: QuantityRequest = { value: 4, atLeast: true };

/** The cpus constraint actually applied to a request (explicit, or DEFAULT_CPUS when it asks for nothing). */
export function effectiveCpus(request: ResourceRequest): QuantityRequest | undefined {
  if (request.cpus) return request.cpus;
  if (request.accelerator || request.instanceType || request.memoryGb) return undefined;
  return DEFAULT_CPUS;
}

function quantityOk(q: QuantityRequest | undefined, have: number): boolean {
  if (!q) return true;
  return q.atLeast ? have >= q.value : have === q.value;
}

function allowedSet(catalog: Catalog, opts: OptimizerOptions | undefined): Set<string> {
  return new Set(opts?.allowedClouds ?? catalog.rows.map((r) => r.cloud));
}

/**
 * Whether `row` is the instance type the request names. GCP attached-GPU rows
 * (`n1-standard-8+T4:1`) also answer to their machine type when the request names an accelerator,
 * which is how a SkyPilot YAML spells them (`instance_type: n1-standard-8` + `accelerators: T4`).
 */
function instanceTypeOk(request: ResourceRequest, row: CatalogRow): boolean {
  if (!request.instanceType) return true;
  if (row.instanceType === request.instanceType) return true;
  return (
    row.cloud === 'gcp' &&
    request.accelerator !== undefined &&
    row.accelerator !== undefined &&
    splitGcpAttachedType(row.instanceType).machineType === request.instanceType
  );
}

/**
 * Accelerator filter. No accelerator asked: only rows without GPUs, unless the request names its
 * instance type (then the type decides). Whole counts match exactly. A fractional count (pool
 * sharing, `H100:0.5`) matches, per cloud, the rows holding the smallest whole count that covers it.
 */
function acceleratorRows(request: ResourceRequest, rows: CatalogRow[]): CatalogRow[] {
  const want = request.accelerator;
  if (!want) return request.instanceType ? rows : rows.filter((r) => !r.accelerator);
  const named = rows.filter((r) => r.accelerator?.name === want.name);
  if (Number.isInteger(want.count)) return named.filter((r) => r.accelerator!.count === want.count);
  const smallestByCloud = new Map<string, number>();
  for (const r of named) {
    const c = r.accelerator!.count;
    if (c < want.count) continue;
    const best = smallestByCloud.get(r.cloud);
    if (best === undefined || c < best) smallestByCloud.set(r.cloud, c);
  }
  return named.filter((r) => r.accelerator!.count === smallestByCloud.get(r.cloud));
}

/** Regions of `row` the request's infra allows, each with its allowed zones (never empty). */
function placements(request: ResourceRequest, row: CatalogRow, catalog: Catalog): { region: string; zones: string[] }[] {
  const { region: wantRegion, zone: wantZone } = request.infra;
  const out: { region: string; zones: string[] }[] = [];
  for (const [region, zones] of Object.entries(row.regions)) {
    if (wantRegion !== undefined && region !== wantRegion) continue;
    if (wantZone !== undefined && regionOfZone(catalog, row.cloud, wantZone) !== region) continue;
    const allowed = wantZone === undefined ? zones : zones.filter((z) => z === wantZone);
    if (allowed.length > 0) out.push({ region, zones: [...allowed] });
  }
  return out;
}

/** Catalog rows that satisfy one request's shape and cloud (not yet its region/zone). */
function rowsFor(request: ResourceRequest, catalog: Catalog, allowed: Set<string>): CatalogRow[] {
  const cpus = effectiveCpus(request);
  const inCloud = catalog.rows.filter(
    (r) => allowed.has(r.cloud) && (request.infra.cloud === undefined || r.cloud === request.infra.cloud),
  );
  return acceleratorRows(
    request,
    inCloud.filter((r) => instanceTypeOk(request, r)),
  ).filter((r) => quantityOk(cpus, r.vcpus) && quantityOk(request.memoryGb, r.memoryGb));
}

function candidatesOfRequest(request: ResourceRequest, requestIndex: number, catalog: Catalog, allowed: Set<string>): Candidate[] {
  const out: Candidate[] = [];
  for (const row of rowsFor(request, catalog, allowed)) {
    const base = {
      cloud: row.cloud,
      instanceType: row.instanceType,
      vcpus: row.vcpus,
      memoryGb: row.memoryGb,
      ...(row.accelerator ? { accelerator: { ...row.accelerator } } : {}),
      spot: request.useSpot,
      requestIndex,
    };
    for (const { region, zones } of placements(request, row, catalog)) {
      if (request.useSpot) {
        for (const zone of zones) out.push({ ...base, region, zones: [zone], hourlyPrice: row.spot[zone] });
      } else {
        out.push({ ...base, region, zones, hourlyPrice: row.onDemand[region] });
      }
    }
  }
  return out;
}

/**
 * Total order used for every sort: price, then cloud, region, first zone, instance type, request
 * index — so equal prices never depend on catalog order.
 */
export function compareCandidates(a: Candidate, b: Candidate): number {
  return (
    a.hourlyPrice - b.hourlyPrice ||
    cmp(a.cloud, b.cloud) ||
    cmp(a.region, b.region) ||
    cmp(a.zones[0] ?? '', b.zones[0] ?? '') ||
    cmp(a.instanceType, b.instanceType) ||
    a.requestIndex - b.requestIndex
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Identity of a launch choice; two requests producing the same one keep only the first. */
export function candidateKey(c: Candidate): string {
  return `${c.cloud}|${c.region}|${c.zones.join(',')}|${c.instanceType}|${c.spot ? 'spot' : 'on-demand'}`;
}

/**
 * The ordered candidate list for a task (SPEC §3). `cheapest`: every candidate of every request,
 * sorted by hourly price per node. `ordered`: requests in the user's order, each one's candidates
 * sorted by price. A choice reachable from several requests appears once, at its first position.
 * `numNodes` does not change the order (every node costs the same), it is validated only.
 */
export function candidatesFor(resources: ResourcesSpec, numNodes: number, opts?: OptimizerOptions): Candidate[] {
  if (!Number.isInteger(numNodes) || numNodes < 1) throw new RangeError(`numNodes must be an integer >= 1, got ${numNodes}`);
  const catalog = opts?.catalog ?? bundledCatalog();
  const allowed = allowedSet(catalog, opts);
  const perRequest = resources.requests.map((r, i) => candidatesOfRequest(r, i, catalog, allowed).sort(compareCandidates));
  const ordered = resources.order === 'cheapest' ? perRequest.flat().sort(compareCandidates) : perRequest.flat();
  const seen = new Set<string>();
  const types = opts?.allowedInstanceTypes?.length ? new Set(opts.allowedInstanceTypes) : undefined;
  return ordered.filter((c) => {
    if (types && !types.has(c.instanceType)) return false;
    const key = candidateKey(c);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function blocks(scope: BlockedScope, c: Candidate): boolean {
  if (scope.cloud !== c.cloud) return false;
  if (scope.scope === 'cloud') return true;
  return scope.region === c.region;
}

/**
 * Drops every candidate inside a blocked scope. A blocked zone is removed from an on-demand
 * candidate's zone list; the candidate goes when no zone is left. Order is kept.
 */
export function filterBlocked(cands: readonly Candidate[], blocked: readonly BlockedScope[]): Candidate[] {
  const out: Candidate[] = [];
  for (const c of cands) {
    if (blocked.some((b) => b.scope !== 'zone' && blocks(b, c))) continue;
    const zoneBlocks = blocked.filter((b): b is Extract<BlockedScope, { scope: 'zone' }> => b.scope === 'zone' && blocks(b, c));
    if (zoneBlocks.length === 0) {
      out.push(c);
      continue;
    }
    const zones = c.zones.filter((z) => !zoneBlocks.some((b) => b.zone === z));
    if (zones.length === 0) continue;
    out.push(zones.length === c.zones.length ? c : { ...c, zones });
  }
  return out;
}

/**
 * Candidate order for the relaunch after instances were lost in `lost` (SPEC §3).
 * EAGER_NEXT_REGION: candidates outside the lost region first, then the lost region's.
 * FAILOVER: the lost region's first, then the rest. Both keep relative order within each part,
 * so the result is a permutation of `cands`.
 */
export function reorderAfterLoss(
  cands: readonly Candidate[],
  lost: { cloud: string; region: string },
  strategy: RecoveryStrategy,
): Candidate[] {
  const inLost = (c: Candidate) => c.cloud === lost.cloud && c.region === lost.region;
  const lostPart = cands.filter(inLost);
  const rest = cands.filter((c) => !inLost(c));
  return strategy === 'EAGER_NEXT_REGION' ? [...rest, ...lostPart] : [...lostPart, ...rest];
}

/**
 * The scope a capacity error blocks for the rest of the walk. When the error lacks the detail its
 * scope needs, the next wider scope that is known is blocked (a zone error without a zone blocks
 * its region; without a region, the cloud): blocking too much only skips candidates, blocking too
 * little would retry a failing one forever. A missing region is derived from the zone via the
 * catalog when possible.
 */
export function blockScopeFor(error: CapacityError, catalog: Catalog = bundledCatalog()): BlockedScope {
  const { cloud, zone } = error.where;
  const region = error.where.region ?? (zone !== undefined ? regionOfZone(catalog, cloud, zone) : undefined);
  if (error.scope === 'zone' && zone !== undefined && region !== undefined) return { scope: 'zone', cloud, region, zone };
  if (error.scope !== 'cloud' && region !== undefined) return { scope: 'region', cloud, region };
  return { scope: 'cloud', cloud };
}

// ---------------------------------------------------------------------------------------------
// Explaining an empty list
// ---------------------------------------------------------------------------------------------

function quantityText(q: QuantityRequest): string {
  return `${q.value}${q.atLeast ? '+' : ''}`;
}

/** Short human form of a request: `H100:16, aws/us-east-1, spot`. */
export function describeRequest(request: ResourceRequest): string {
  const parts: string[] = [];
  if (request.accelerator) parts.push(`${request.accelerator.name}:${request.accelerator.count}`);
  if (request.instanceType) parts.push(request.instanceType);
  const cpus = effectiveCpus(request);
  if (cpus) parts.push(`cpus ${quantityText(cpus)}`);
  if (request.memoryGb) parts.push(`memory ${quantityText(request.memoryGb)} GB`);
  const { cloud, region, zone } = request.infra;
  if (cloud || region || zone) parts.push(infraText(request));
  parts.push(request.useSpot ? 'spot' : 'on-demand');
  return parts.join(', ');
}

function infraText(request: ResourceRequest): string {
  const { cloud, region, zone } = request.infra;
  const parts = [cloud ?? '*', region ?? '*', zone].filter((p) => p !== undefined);
  while (parts.length > 1 && parts[parts.length - 1] === '*') parts.pop();
  return parts.join('/');
}

function list(values: Iterable<string | number>): string {
  return [...new Set(values)].sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : cmp(String(a), String(b)))).join(', ');
}

/** Why one request has no candidate: the first filter that leaves nothing, named with what exists. */
function explainRequest(request: ResourceRequest, catalog: Catalog, allowed: Set<string>): string | undefined {
  const { cloud } = request.infra;
  if (cloud !== undefined && !allowed.has(cloud)) {
    return `cloud ${cloud} is not enabled here (enabled: ${list(allowed) || 'none'})`;
  }
  let rows = catalog.rows.filter((r) => allowed.has(r.cloud) && (cloud === undefined || r.cloud === cloud));
  const scope = cloud ?? 'any enabled cloud';
  if (rows.length === 0) return `the catalog has no instance types for ${scope}`;

  if (request.instanceType) {
    const byType = rows.filter((r) => instanceTypeOk(request, r));
    if (byType.length === 0) {
      const exists = catalog.rows.some((r) => r.instanceType === request.instanceType);
      return exists
        ? `instance type ${request.instanceType} is not offered on ${scope}`
        : `unknown instance type ${request.instanceType}`;
    }
    rows = byType;
  }

  const acc = request.accelerator;
  if (acc) {
    const named = rows.filter((r) => r.accelerator?.name === acc.name);
    if (named.length === 0) {
      const where = request.instanceType ? `${request.instanceType}` : `any instance on ${scope}`;
      return `${where} has no ${acc.name} GPUs`;
    }
    const matched = acceleratorRows(request, named);
    if (matched.length === 0) {
      const counts = list(named.map((r) => r.accelerator!.count));
      return Number.isInteger(acc.count)
        ? `no instance has ${acc.count} ${acc.name} on ${scope} (instances offer ${counts})`
        : `no instance has at least ${acc.count} ${acc.name} on ${scope} (instances offer ${counts})`;
    }
    rows = matched;
  } else {
    rows = acceleratorRows(request, rows);
    if (rows.length === 0) return `no instance without GPUs matches on ${scope}`;
  }

  const cpus = effectiveCpus(request);
  const byCpus = rows.filter((r) => quantityOk(cpus, r.vcpus));
  if (byCpus.length === 0) {
    return `no ${acc ? `${acc.name}:${acc.count} ` : ''}instance has cpus ${quantityText(cpus!)} (available: ${list(rows.map((r) => r.vcpus))})`;
  }
  const byMem = byCpus.filter((r) => quantityOk(request.memoryGb, r.memoryGb));
  if (byMem.length === 0) {
    return `no matching instance has memory ${quantityText(request.memoryGb!)} GB (available: ${list(byCpus.map((r) => r.memoryGb))})`;
  }

  const placed = byMem.filter((r) => placements(request, r, catalog).length > 0);
  if (placed.length === 0) {
    const { region, zone } = request.infra;
    const offered = byMem.flatMap((r) => Object.keys(r.regions).map((reg) => `${r.cloud}/${reg}`));
    const knownPlace =
      zone !== undefined
        ? catalog.rows.some((r) => (cloud === undefined || r.cloud === cloud) && Object.values(r.regions).some((zs) => zs.includes(zone)))
        : catalog.rows.some((r) => (cloud === undefined || r.cloud === cloud) && region !== undefined && region in r.regions);
    if (!knownPlace) return `unknown ${zone !== undefined ? `zone ${zone}` : `region ${region}`}${cloud ? ` for ${cloud}` : ''}`;
    return `no matching instance is offered in ${infraText(request)} (offered in: ${list(offered)})`;
  }
  return undefined;
}

/**
 * A human reason why `resources` has no feasible candidate, e.g. `no instance has 16 H100 on any
 * enabled cloud (instances offer 1, 2, 4, 8)`; with several requests, one reason per request.
 * Returns undefined when some candidate exists.
 */
export function explainEmpty(resources: ResourcesSpec, opts?: OptimizerOptions): string | undefined {
  const catalog = opts?.catalog ?? bundledCatalog();
  const allowed = allowedSet(catalog, opts);
  const reasons = resources.requests.map((r) => explainRequest(r, catalog, allowed));
  if (resources.requests.length === 0) return 'no resources requested';
  if (reasons.some((r) => r === undefined)) return undefined;
  if (reasons.length === 1) return reasons[0];
  return reasons.map((reason, i) => `[${i}] ${describeRequest(resources.requests[i])}: ${reason}`).join('; ');
}
