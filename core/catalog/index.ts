// The instance catalog: every (cloud, instance type) skyless can launch, its shape, where it is
// offered and what it costs per hour. The bundled data is catalog.json (generated from
// generate-catalog.ts; see its header for sources and how to refresh). A deployment may pass its
// own catalog in the same format; `loadCatalog` validates any input before use.

import { z } from 'zod';
import bundledData from './catalog.json' with { type: 'json' };
import { ACCELERATORS, type AcceleratorName } from './accelerators.ts';
import { CLOUDS, type Cloud } from '../spec/types.ts';

export interface CatalogMeta {
  description: string;
  /** Where the prices come from, one line per source. */
  sources: string[];
  /** When the list prices were taken (`YYYY-MM`). */
  priceDate: string;
  currency: 'USD';
  accuracy: string;
  /** How to refresh the data. */
  refresh: string;
  gcpAttachedGpuNaming: string;
}

/**
 * One instance type of one cloud. Invariants (checked by `validateCatalog`): `onDemand` has exactly
 * the keys of `regions`; `spot` has exactly the zones listed in `regions`; every zone belongs to
 * one region only; prices are positive and spot is below the region's on-demand price.
 */
export interface CatalogRow {
  cloud: Cloud;
  instanceType: string;
  vcpus: number;
  memoryGb: number;
  accelerator?: { name: AcceleratorName; count: number };
  /** region → zones where this type is offered. */
  regions: Record<string, string[]>;
  /** region → on-demand $/h per node (on-demand prices are regional). */
  onDemand: Record<string, number>;
  /** zone → spot $/h per node (spot prices may differ by zone). */
  spot: Record<string, number>;
  /** Where the prices come from: the key of a `meta.sources` line (`aws-measured: …`). */
  source?: string;
}

/** The serialized form (catalog.json). */
export interface CatalogFile {
  meta: CatalogMeta;
  rows: CatalogRow[];
}

/** A validated catalog with lookup indexes. Build with `loadCatalog`. */
export interface Catalog extends CatalogFile {
  /** `${cloud}/${zone}` → region. */
  readonly zoneRegion: ReadonlyMap<string, string>;
}

const positive = z.number().finite().positive();
const rowSchema = z.strictObject({
  cloud: z.enum(CLOUDS as [Cloud, ...Cloud[]]),
  instanceType: z.string().min(1),
  vcpus: positive,
  memoryGb: positive,
  accelerator: z.strictObject({ name: z.enum(ACCELERATORS), count: positive }).optional(),
  regions: z.record(z.string().min(1), z.array(z.string().min(1)).min(1)),
  onDemand: z.record(z.string(), positive),
  spot: z.record(z.string(), positive),
  source: z.string().min(1).optional(),
});
const fileSchema = z.strictObject({
  meta: z.strictObject({
    description: z.string(),
    sources: z.array(z.string()).min(1),
    priceDate: z.string().regex(/^\d{4}-\d{2}$/),
    currency: z.literal('USD'),
    accuracy: z.string(),
    refresh: z.string().min(1),
    gcpAttachedGpuNaming: z.string(),
  }),
  rows: z.array(rowSchema).min(1),
});

/**
 * Every problem with `data` as a catalog, each naming the row (`rows[12] aws/m6i.large`) and field.
 * Empty when the catalog is usable.
 */
export function validateCatalog(data: unknown): string[] {
  const parsed = fileSchema.safeParse(data);
  if (!parsed.success) {
    return parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
  }
  const problems: string[] = [];
  const seenTypes = new Set<string>();
  // A zone name must mean one region of one cloud across the whole catalog.
  const zoneOwner = new Map<string, string>();
  parsed.data.rows.forEach((row, i) => {
    const where = `rows[${i}] ${row.cloud}/${row.instanceType}`;
    const key = `${row.cloud}/${row.instanceType}`;
    if (seenTypes.has(key)) problems.push(`${where}: duplicate instance type`);
    seenTypes.add(key);
    const regions = Object.keys(row.regions);
    if (regions.length === 0) problems.push(`${where}: regions: no region listed`);
    for (const region of regions) {
      if (!(region in row.onDemand)) problems.push(`${where}: onDemand: no price for region ${region}`);
      const zones = row.regions[region];
      if (new Set(zones).size !== zones.length) problems.push(`${where}: regions.${region}: duplicate zone`);
      for (const zone of zones) {
        const owner = zoneOwner.get(`${row.cloud}/${zone}`);
        if (owner !== undefined && owner !== region) {
          problems.push(`${where}: zone ${zone} is in region ${region} here but in ${owner} elsewhere`);
        }
        zoneOwner.set(`${row.cloud}/${zone}`, region);
        const spot = row.spot[zone];
        if (spot === undefined) problems.push(`${where}: spot: no price for zone ${zone}`);
        else if (row.onDemand[region] !== undefined && spot >= row.onDemand[region]) {
          problems.push(`${where}: spot price ${spot} in ${zone} is not below on-demand ${row.onDemand[region]}`);
        }
      }
    }
    for (const region of Object.keys(row.onDemand)) {
      if (!(region in row.regions)) problems.push(`${where}: onDemand: price for unlisted region ${region}`);
    }
    const listedZones = new Set(regions.flatMap((r) => row.regions[r]));
    for (const zone of Object.keys(row.spot)) {
      if (!listedZones.has(zone)) problems.push(`${where}: spot: price for unlisted zone ${zone}`);
    }
    if (row.source !== undefined && !parsed.data.meta.sources.some((line) => line.startsWith(`${row.source}:`))) {
      problems.push(`${where}: source '${row.source}' is not explained in meta.sources`);
    }
    if (row.cloud === 'gcp' && row.instanceType.includes('+')) {
      const split = splitGcpAttachedType(row.instanceType);
      if (!split.accelerator) problems.push(`${where}: malformed attached-GPU name (want <machine>+<GPU>:<count>)`);
      else if (!row.accelerator || row.accelerator.name !== split.accelerator.name || row.accelerator.count !== split.accelerator.count) {
        problems.push(`${where}: accelerator does not match the attached GPU in the name`);
      }
    }
  });
  return problems;
}

/** Thrown when catalog data fails `validateCatalog`; `problems` lists every one. */
export class CatalogError extends Error {
  override readonly name = 'CatalogError' as const;
  constructor(readonly problems: string[]) {
    super(`invalid instance catalog:\n${problems.join('\n')}`);
  }
}

/** Validates `data` and indexes it. Throws CatalogError listing every problem. */
export function loadCatalog(data: unknown): Catalog {
  const problems = validateCatalog(data);
  if (problems.length > 0) throw new CatalogError(problems);
  const file = data as CatalogFile;
  const zoneRegion = new Map<string, string>();
  for (const row of file.rows) {
    for (const [region, zones] of Object.entries(row.regions)) {
      for (const zone of zones) zoneRegion.set(`${row.cloud}/${zone}`, region);
    }
  }
  return { meta: file.meta, rows: file.rows, zoneRegion };
}

let bundled: Catalog | undefined;

/** The catalog shipped with skyless (validated once, then cached). */
export function bundledCatalog(): Catalog {
  bundled ??= loadCatalog(bundledData);
  return bundled;
}

/** Region of a zone in `catalog`, or undefined when the zone is unknown there. */
export function regionOfZone(catalog: Catalog, cloud: string, zone: string): string | undefined {
  return catalog.zoneRegion.get(`${cloud}/${zone}`);
}

/**
 * Splits a GCP catalog instance type into the machine type to create and the GPUs to attach:
 * `n1-standard-8+T4:1` → `{machineType: 'n1-standard-8', accelerator: {name: 'T4', count: 1}}`;
 * a plain machine type comes back unchanged with no accelerator part.
 */
export function splitGcpAttachedType(instanceType: string): {
  machineType: string;
  accelerator?: { name: string; count: number };
} {
  const m = /^([^+]+)\+([^:]+):(\d+)$/.exec(instanceType);
  if (!m) return { machineType: instanceType };
  return { machineType: m[1], accelerator: { name: m[2], count: Number(m[3]) } };
}
