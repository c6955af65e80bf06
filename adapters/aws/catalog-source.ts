// Refreshing the catalog's measured AWS rows (core/catalog/generate-catalog.ts MEASURED_AWS) from
// AWS's own APIs: EC2 DescribeInstanceTypes (shape and GPUs), the Pricing API GetProducts
// (on-demand Linux, shared tenancy, per region) and EC2 DescribeSpotPriceHistory (the latest spot
// price per zone). Used by tools/refresh-catalog.ts; tested offline on moto (EC2) and with
// recorded-shape Pricing answers at the SDK boundary.

import { DescribeInstanceTypesCommand, DescribeSpotPriceHistoryCommand, type EC2Client, type _InstanceType } from '@aws-sdk/client-ec2';
import { GetProductsCommand, type PricingClient } from '@aws-sdk/client-pricing';

/** One instance type as MEASURED_AWS holds it: on-demand per region, spot per zone name. */
export interface MeasuredAwsRow {
  instanceType: string;
  vcpus: number;
  memoryGb: number;
  accelerator?: { name: string; count: number };
  onDemand: Record<string, number>;
  /** region → [zone, $/h] in zone order. */
  spot: Record<string, [string, number][]>;
}

export interface AwsCatalogSourceOptions {
  /** An EC2 client for each region (DescribeInstanceTypes is asked in the first region given). */
  ec2For(region: string): EC2Client;
  /** The Pricing API is served from us-east-1 (and a few others); any region's prices are asked there. */
  pricing: PricingClient;
  /** Clock for the spot history window. */
  now?: () => Date;
}

/** GPU names as EC2 reports them → the catalog's (SkyPilot's) names, where they differ. */
const GPU_NAME: Record<string, string> = { 'A100': 'A100', 'H100': 'H100', 'H200': 'H200', 'B200': 'B200', 'L40S': 'L40S', 'L4': 'L4', 'T4': 'T4', 'A10G': 'A10G', 'V100': 'V100' };

function acceleratorOf(t: { GpuInfo?: { Gpus?: { Name?: string; Count?: number; MemoryInfo?: { SizeInMiB?: number } }[] } }): MeasuredAwsRow['accelerator'] {
  const gpu = t.GpuInfo?.Gpus?.[0];
  if (!gpu?.Name || !gpu.Count) return undefined;
  let name = GPU_NAME[gpu.Name] ?? gpu.Name;
  // EC2 calls both A100s and both V100s by one name; memory tells them apart (SkyPilot's names).
  if (name === 'A100' && (gpu.MemoryInfo?.SizeInMiB ?? 0) >= 80 * 1024) name = 'A100-80GB';
  if (name === 'V100' && (gpu.MemoryInfo?.SizeInMiB ?? 0) >= 32 * 1024) name = 'V100-32GB';
  return { name, count: gpu.Count };
}

/** The on-demand USD/h in a Pricing API PriceList entry (a JSON string), if it has exactly one. */
export function onDemandUsd(priceListEntry: string): number | undefined {
  const product = JSON.parse(priceListEntry) as { terms?: { OnDemand?: Record<string, { priceDimensions?: Record<string, { unit?: string; pricePerUnit?: { USD?: string } }> }> } };
  for (const term of Object.values(product.terms?.OnDemand ?? {})) {
    for (const dim of Object.values(term.priceDimensions ?? {})) {
      const usd = Number(dim.pricePerUnit?.USD);
      if (dim.unit === 'Hrs' && usd > 0) return usd;
    }
  }
  return undefined;
}

export async function fetchAwsRows(o: AwsCatalogSourceOptions, instanceTypes: string[], regions: string[]): Promise<MeasuredAwsRow[]> {
  const now = (o.now ?? (() => new Date()))();
  const shapes = new Map<string, Omit<MeasuredAwsRow, 'onDemand' | 'spot'>>();
  let token: string | undefined;
  do {
    const page = await o.ec2For(regions[0]).send(new DescribeInstanceTypesCommand({ InstanceTypes: instanceTypes as _InstanceType[], NextToken: token }));
    for (const t of page.InstanceTypes ?? []) {
      shapes.set(t.InstanceType!, {
        instanceType: t.InstanceType!,
        vcpus: t.VCpuInfo?.DefaultVCpus ?? 0,
        memoryGb: Math.round((t.MemoryInfo?.SizeInMiB ?? 0) / 1024),
        ...(acceleratorOf(t) ? { accelerator: acceleratorOf(t) } : {}),
      });
    }
    token = page.NextToken;
  } while (token);

  const rows: MeasuredAwsRow[] = [];
  for (const type of instanceTypes) {
    const shape = shapes.get(type);
    if (!shape) continue;
    const row: MeasuredAwsRow = { ...shape, onDemand: {}, spot: {} };
    for (const region of regions) {
      const products = await o.pricing.send(
        new GetProductsCommand({
          ServiceCode: 'AmazonEC2',
          Filters: [
            { Type: 'TERM_MATCH', Field: 'instanceType', Value: type },
            { Type: 'TERM_MATCH', Field: 'regionCode', Value: region },
            { Type: 'TERM_MATCH', Field: 'operatingSystem', Value: 'Linux' },
            { Type: 'TERM_MATCH', Field: 'tenancy', Value: 'Shared' },
            { Type: 'TERM_MATCH', Field: 'preInstalledSw', Value: 'NA' },
            { Type: 'TERM_MATCH', Field: 'capacitystatus', Value: 'Used' },
          ],
        }),
      );
      const price = (products.PriceList ?? []).map((p: unknown) => onDemandUsd(String(p))).find((p: number | undefined) => p !== undefined);
      if (price === undefined) continue; // not sold on demand there
      row.onDemand[region] = price;
      const latest = new Map<string, number>();
      let next: string | undefined;
      do {
        const page = await o.ec2For(region).send(
          new DescribeSpotPriceHistoryCommand({ InstanceTypes: [type as _InstanceType], ProductDescriptions: ['Linux/UNIX'], StartTime: now, NextToken: next }),
        );
        // Newest first: the first price seen for a zone is its current one.
        for (const p of page.SpotPriceHistory ?? []) if (p.AvailabilityZone && !latest.has(p.AvailabilityZone)) latest.set(p.AvailabilityZone, Number(p.SpotPrice));
        next = page.NextToken || undefined;
      } while (next);
      // A "spot" price at or above on-demand means no spot market there: left out, as in the catalog.
      row.spot[region] = [...latest.entries()].filter(([, p]) => p > 0 && p < price).sort(([a], [b]) => a.localeCompare(b));
    }
    rows.push(row);
  }
  return rows;
}
