// Small display helpers shared by CLI commands (launch's considered-resources table, queue).

import type { Candidate } from '../core/optimizer/types.ts';
import type { Cloud } from '../core/spec/types.ts';
import { splitGcpAttachedType } from '../core/catalog/index.ts';
import { renderTable, type TableColumn } from './table.ts';

const CLOUD_LABEL: Record<Cloud, string> = { aws: 'AWS', gcp: 'GCP', local: 'Local' };

export function cloudLabel(cloud: string): string {
  return CLOUD_LABEL[cloud as Cloud] ?? cloud;
}

/**
 * SkyPilot's INFRA cell: `AWS (us-east-1)` for a region, `AWS (us-east-1a)` when the candidate is
 * pinned to one zone (always for spot, whose price is per zone).
 */
export function infraLabel(c: Pick<Candidate, 'cloud' | 'region' | 'zones'>): string {
  return `${cloudLabel(c.cloud)} (${c.zones.length === 1 ? c.zones[0] : c.region})`;
}

/**
 * The INSTANCE cell: the machine type, `[Spot]` appended for spot. A GCP attached-GPU pairing shows
 * its machine type only; its GPUs are in the GPUS column.
 */
export function instanceLabel(c: Pick<Candidate, 'cloud' | 'instanceType' | 'spot'>): string {
  const name = c.cloud === 'gcp' ? splitGcpAttachedType(c.instanceType).machineType : c.instanceType;
  return c.spot ? `${name}[Spot]` : name;
}

export function gpusLabel(c: Pick<Candidate, 'accelerator'>): string {
  return c.accelerator ? `${c.accelerator.name}:${c.accelerator.count}` : '-';
}

function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Math.round(n * 10) / 10);
}

/** Dollars with `decimals` places (two, as SkyPilot prints, unless the caller needs finer). */
export function formatCost(dollars: number, decimals = 2): string {
  return dollars.toFixed(decimals);
}

/**
 * Decimals that keep a column of prices readable and distinct: two, or four when some price is
 * below $0.10 (simulated `local` prices would all read 0.01 otherwise).
 */
export function costDecimals(prices: readonly number[]): number {
  return prices.some((p) => p < 0.1) ? 4 : 2;
}

const CONSIDERED_COLUMNS: TableColumn[] = [
  { header: 'INFRA' },
  { header: 'INSTANCE' },
  { header: 'vCPUs', align: 'right' },
  { header: 'Mem(GB)', align: 'right' },
  { header: 'GPUS' },
  { header: 'COST ($)', align: 'right' },
  { header: 'CHOSEN' },
];

/**
 * The considered-resources table: one row per candidate in walk order, COST = hourly price × nodes,
 * the first candidate marked chosen. At most `maxRows` rows, then `... N more candidates`.
 */
export function renderConsideredResources(candidates: readonly Candidate[], numNodes: number, maxRows = 10): string {
  const decimals = costDecimals(candidates.slice(0, maxRows).map((c) => c.hourlyPrice * numNodes));
  const rows = candidates.map((c, i) => [
    infraLabel(c),
    instanceLabel(c),
    formatNumber(c.vcpus),
    formatNumber(c.memoryGb),
    gpusLabel(c),
    formatCost(c.hourlyPrice * numNodes, decimals),
    i === 0 ? '✔' : '',
  ]);
  return renderTable(CONSIDERED_COLUMNS, rows, { rules: true, indent: ' ', maxRows, moreNoun: 'candidates' });
}
