// Prints fresh MEASURED_AWS entries for core/catalog/generate-catalog.ts from AWS's own APIs, with
// the caller's AWS credentials (any read-only role: ec2:DescribeInstanceTypes,
// ec2:DescribeSpotPriceHistory, pricing:GetProducts):
//
//   npx tsx tools/refresh-catalog.ts --types p5.4xlarge,p5.48xlarge --regions us-east-1,us-east-2,us-west-2 > /tmp/rows.json
//
// Paste the rows into MEASURED_AWS (each becomes `{size: gpuShape(…), onDemand, spot}`), set the
// date in meta.sources, and regenerate catalog.json (meta.refresh says how). GCP: the Cloud Billing
// catalog (`gcloud billing skus list --service=6F81-5844-456A`) and `gcloud compute machine-types
// list` give the same figures; there is no script for them yet.

import { parseArgs } from 'node:util';
import { EC2Client } from '@aws-sdk/client-ec2';
import { PricingClient } from '@aws-sdk/client-pricing';
import { fetchAwsRows } from '../adapters/aws/catalog-source.ts';

const { values } = parseArgs({ options: { types: { type: 'string' }, regions: { type: 'string', default: 'us-east-1,us-east-2,us-west-2,eu-west-1,eu-central-1' } } });
if (!values.types) {
  process.stderr.write('usage: npx tsx tools/refresh-catalog.ts --types TYPE[,TYPE] [--regions R[,R]]\n');
  process.exit(2);
}
const regions = values.regions!.split(',').map((r) => r.trim()).filter(Boolean);
const clients = new Map<string, EC2Client>();
const ec2For = (region: string) => {
  if (!clients.has(region)) clients.set(region, new EC2Client({ region, maxAttempts: 8 }));
  return clients.get(region)!;
};
const rows = await fetchAwsRows({ ec2For, pricing: new PricingClient({ region: 'us-east-1', maxAttempts: 8 }) }, values.types.split(',').map((t) => t.trim()), regions);
const asMeasured = rows.map((r) => ({
  ...r,
  spot: Object.fromEntries(Object.entries(r.spot).map(([region, zones]) => [region, Object.fromEntries(zones)])),
}));
process.stdout.write(`${JSON.stringify({ readAt: new Date().toISOString(), rows: asMeasured }, null, 2)}\n`);
