// Refreshing the catalog from AWS's APIs, offline: DescribeInstanceTypes and
// DescribeSpotPriceHistory on moto_server's EC2; the Pricing API (which moto lacks) answered at the
// SDK boundary with GetProducts answers in AWS's documented PriceList shape.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EC2Client } from '@aws-sdk/client-ec2';
import { GetProductsCommand, PricingClient } from '@aws-sdk/client-pricing';
import { mockClient } from 'aws-sdk-client-mock';
import { fetchAwsRows, onDemandUsd } from '../../../adapters/aws/catalog-source.ts';
import { awsTestClientConfig, startMoto, type RunningMoto } from '../../support/moto.ts';

let moto: RunningMoto;
beforeAll(async () => {
  moto = await startMoto();
});
afterAll(async () => {
  await moto?.stop();
});

/** One GetProducts PriceList entry as AWS documents it (trimmed to the fields read). */
function priceListEntry(instanceType: string, region: string, usd: string): string {
  return JSON.stringify({
    product: { productFamily: 'Compute Instance', attributes: { instanceType, regionCode: region, operatingSystem: 'Linux', tenancy: 'Shared' }, sku: 'SKU1' },
    serviceCode: 'AmazonEC2',
    terms: { OnDemand: { 'SKU1.JRTCKXETXF': { priceDimensions: { 'SKU1.JRTCKXETXF.6YS6EN2CT7': { unit: 'Hrs', pricePerUnit: { USD: usd }, description: `$${usd} per On Demand Linux ${instanceType} Instance Hour` } }, sku: 'SKU1' } } },
    version: '20251201000000',
    publicationDate: '2025-12-01T00:00:00Z',
  });
}

describe('AWS catalog source', () => {
  it('reads the on-demand hourly price out of a PriceList entry', () => {
    expect(onDemandUsd(priceListEntry('p4d.24xlarge', 'us-east-1', '21.9576420000'))).toBe(21.957642);
    expect(onDemandUsd(JSON.stringify({ terms: {} }))).toBeUndefined();
  });

  it('builds measured rows: shape and GPUs from EC2, on-demand per region, spot per zone below on-demand', async () => {
    const pricing = new PricingClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const mock = mockClient(pricing);
    const prices: Record<string, string> = { 'g5.xlarge/us-east-1': '1.006', 'g5.xlarge/us-west-2': '1.006', 'p4d.24xlarge/us-east-1': '21.957642' };
    mock.on(GetProductsCommand).callsFake((input) => {
      const f = Object.fromEntries((input.Filters ?? []).map((x: { Field: string; Value: string }) => [x.Field, x.Value]));
      const usd = prices[`${f.instanceType}/${f.regionCode}`];
      return { PriceList: usd ? [priceListEntry(f.instanceType, f.regionCode, usd)] : [], FormatVersion: 'aws_v1' };
    });
    const clients = new Map<string, EC2Client>();
    const ec2For = (region: string) => {
      if (!clients.has(region)) clients.set(region, new EC2Client({ ...awsTestClientConfig(moto.endpoint), region }));
      return clients.get(region)!;
    };
    try {
      const rows = await fetchAwsRows({ ec2For, pricing, now: () => new Date() }, ['g5.xlarge', 'p4d.24xlarge'], ['us-east-1', 'us-west-2']);
      const g5 = rows.find((r) => r.instanceType === 'g5.xlarge')!;
      expect(g5).toMatchObject({ vcpus: 4, memoryGb: 16, accelerator: { name: 'A10G', count: 1 }, onDemand: { 'us-east-1': 1.006, 'us-west-2': 1.006 } });
      const p4d = rows.find((r) => r.instanceType === 'p4d.24xlarge')!;
      expect(p4d.accelerator).toEqual({ name: 'A100', count: 8 });
      // No on-demand price in us-west-2 (not sold there in this answer): no row for that region.
      expect(Object.keys(p4d.onDemand)).toEqual(['us-east-1']);
      for (const row of rows) {
        for (const [region, zones] of Object.entries(row.spot)) {
          for (const [zone, price] of zones) {
            expect(zone.startsWith(region)).toBe(true);
            expect(price).toBeGreaterThan(0);
            expect(price).toBeLessThan(row.onDemand[region]);
          }
        }
      }
      expect(Object.values(g5.spot).flat().length).toBeGreaterThan(0);
    } finally {
      mock.restore();
      for (const c of clients.values()) c.destroy();
    }
  }, 120_000);
});
