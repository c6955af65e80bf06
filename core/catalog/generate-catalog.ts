// Source of the bundled price catalog (core/catalog/catalog.json). The JSON is what the optimizer
// reads; this module is what a maintainer edits. Both are kept in sync by a test
// (test/unit/optimizer/catalog.test.ts), so a hand edit of the JSON alone fails loudly.
//
// Regenerate after editing the tables below:
//   npx tsx -e "import('./core/catalog/generate-catalog.ts').then((m) => process.stdout.write(m.catalogJson()))" > core/catalog/catalog.json
//
// Where the numbers come from (each row says which in its `source`, explained in meta.sources):
// - `aws-measured`: MEASURED_AWS below — per-region on-demand and per-zone spot prices copied from
//   SkyPilot's published AWS catalog (github.com/skypilot-org/skypilot-catalog, catalogs/v8/aws/
//   vms.csv, commit e385a0d3), which its daily job builds from the EC2 Pricing API and
//   DescribeSpotPriceHistory; read on 2026-12-03. That CSV keys spot prices by AZ *ID*
//   (use1-az1…); the catalog names zones, and the ID→name mapping differs per account, so the
//   measured prices of a region are given to its zone names in ID order. A zone whose "spot" price
//   was missing or equal to on-demand (no spot market there) is left out.
// - `gcp-measured`: the a3-highgpu (H100) price from GCP's Cloud Billing catalog (GPU + vCPU + RAM
//   SKUs, us-central1, 2026-09-26, as recorded by github.com/tgarg01/silybench-data); other GCP
//   regions scaled by REGION_FACTOR.
// - `list-modelled-spot`: public on-demand list prices of the base region (AWS us-east-1, GCP
//   us-central1; 2025), scaled by a per-region factor that approximates the published regional
//   differences; spot = on-demand × a typical observed discount for the family, with a small
//   deterministic per-zone variation on AWS (GCP spot prices are per region).
// - `estimated`: no published figure was found; the row says how it was estimated (ESTIMATES).
// - `local`: the simulated cloud's fake prices.
// Prices are approximate and exist to rank candidates, not to bill.
//
// Refreshing: see meta.refresh below.
//
// Pure: no I/O. The refresh command above does the writing.

import type { Cloud } from '../spec/types.ts';
import type { AcceleratorName } from './accelerators.ts';
import type { CatalogFile, CatalogRow } from './index.ts';

interface Size {
  instanceType: string;
  vcpus: number;
  memoryGb: number;
  accelerator?: { name: AcceleratorName; count: number };
  /** On-demand $/h in the cloud's base region (AWS us-east-1, GCP us-central1, local-1). */
  basePrice: number;
}

/** Key of a meta.sources line (see the header). */
type Source = 'aws-measured' | 'gcp-measured' | 'list-modelled-spot' | 'estimated' | 'local';

interface Family {
  cloud: Cloud;
  /** Defaults to `list-modelled-spot` (`local` for the local cloud). */
  source?: Source;
  sizes: Size[];
  /** region → zones that offer the family. */
  zones: Record<string, string[]>;
  /** Spot price as a fraction of on-demand (typical observed discount). */
  spotFactor: number;
}

// ---------------------------------------------------------------------------------------------
// Regions and zones
// ---------------------------------------------------------------------------------------------

/** On-demand price of a region relative to the cloud's base region. */
const REGION_FACTOR: Record<Cloud, Record<string, number>> = {
  aws: { 'us-east-1': 1.0, 'us-east-2': 1.0, 'us-west-2': 1.0, 'eu-west-1': 1.115, 'eu-central-1': 1.2 },
  gcp: { 'us-central1': 1.0, 'us-west1': 1.0, 'us-east4': 1.126, 'europe-west4': 1.1 },
  // Simulated cloud: local-1 is the cheapest and local-3 the dearest, so tests can predict order.
  local: { 'local-1': 1.0, 'local-2': 1.2, 'local-3': 1.5 },
};

/** GCP spot prices differ by region more than on-demand ones do; on top of REGION_FACTOR. */
const GCP_SPOT_REGION_FACTOR: Record<string, number> = {
  'us-central1': 1.0,
  'us-west1': 1.02,
  'us-east4': 1.05,
  'europe-west4': 1.15,
};

/** Spot multiplier of each simulated zone: `a` zones cheaper than `b` zones, all below the next region. */
const LOCAL_ZONE_FACTOR: Record<string, number> = { a: 1.0, b: 1.1 };

const AWS_ALL: Record<string, string[]> = {
  'us-east-1': ['us-east-1a', 'us-east-1b', 'us-east-1c', 'us-east-1d', 'us-east-1f'],
  'us-east-2': ['us-east-2a', 'us-east-2b', 'us-east-2c'],
  'us-west-2': ['us-west-2a', 'us-west-2b', 'us-west-2c', 'us-west-2d'],
  'eu-west-1': ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
  'eu-central-1': ['eu-central-1a', 'eu-central-1b', 'eu-central-1c'],
};

const GCP_ALL: Record<string, string[]> = {
  'us-central1': ['us-central1-a', 'us-central1-b', 'us-central1-c', 'us-central1-f'],
  'us-west1': ['us-west1-a', 'us-west1-b', 'us-west1-c'],
  'us-east4': ['us-east4-a', 'us-east4-b', 'us-east4-c'],
  'europe-west4': ['europe-west4-a', 'europe-west4-b', 'europe-west4-c'],
};

const LOCAL_ALL: Record<string, string[]> = {
  'local-1': ['local-1a', 'local-1b'],
  'local-2': ['local-2a', 'local-2b'],
  'local-3': ['local-3a', 'local-3b'],
};

// ---------------------------------------------------------------------------------------------
// AWS (us-east-1 on-demand list prices, 2025; P4d/P4de/P5 after the June 2025 price reduction)
// ---------------------------------------------------------------------------------------------

/** large..8xlarge of a general-purpose family: vCPUs 2..32, memory = vCPUs × memPerVcpu. */
function awsCpuFamily(prefix: string, memPerVcpu: number, largePrice: number): Size[] {
  const names = ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge'];
  return names.map((n, i) => {
    const vcpus = 2 * 2 ** i;
    return { instanceType: `${prefix}.${n}`, vcpus, memoryGb: vcpus * memPerVcpu, basePrice: round(largePrice * 2 ** i) };
  });
}

function gpu(instanceType: string, vcpus: number, memoryGb: number, name: AcceleratorName, count: number, basePrice: number): Size {
  return { instanceType, vcpus, memoryGb, accelerator: { name, count }, basePrice };
}

function pick(all: Record<string, string[]>, wanted: Record<string, string[] | 'all'>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [region, zones] of Object.entries(wanted)) {
    const known = all[region];
    if (!known) throw new Error(`generate-catalog: unknown region ${region}`);
    const list = zones === 'all' ? known : zones;
    for (const z of list) if (!known.includes(z)) throw new Error(`generate-catalog: zone ${z} not in ${region}`);
    out[region] = [...list];
  }
  return out;
}

const AWS_FAMILIES: Family[] = [
  { cloud: 'aws', sizes: awsCpuFamily('m6i', 4, 0.096), zones: AWS_ALL, spotFactor: 0.42 },
  { cloud: 'aws', sizes: awsCpuFamily('c6i', 2, 0.085), zones: AWS_ALL, spotFactor: 0.45 },
  { cloud: 'aws', sizes: awsCpuFamily('r6i', 8, 0.126), zones: AWS_ALL, spotFactor: 0.38 },
  { cloud: 'aws', sizes: awsCpuFamily('m7i', 4, 0.1008), zones: AWS_ALL, spotFactor: 0.44 },
  {
    cloud: 'aws',
    sizes: [
      gpu('g4dn.xlarge', 4, 16, 'T4', 1, 0.526),
      gpu('g4dn.2xlarge', 8, 32, 'T4', 1, 0.752),
      gpu('g4dn.4xlarge', 16, 64, 'T4', 1, 1.204),
      gpu('g4dn.8xlarge', 32, 128, 'T4', 1, 2.176),
      gpu('g4dn.12xlarge', 48, 192, 'T4', 4, 3.912),
      gpu('g4dn.16xlarge', 64, 256, 'T4', 1, 4.352),
    ],
    zones: AWS_ALL,
    spotFactor: 0.33,
  },
  {
    cloud: 'aws',
    sizes: [
      gpu('g6.xlarge', 4, 16, 'L4', 1, 0.8048),
      gpu('g6.2xlarge', 8, 32, 'L4', 1, 0.9776),
      gpu('g6.4xlarge', 16, 64, 'L4', 1, 1.3232),
      gpu('g6.8xlarge', 32, 128, 'L4', 1, 2.0144),
      gpu('g6.12xlarge', 48, 192, 'L4', 4, 4.6016),
      gpu('g6.24xlarge', 96, 384, 'L4', 4, 6.6752),
      gpu('g6.48xlarge', 192, 768, 'L4', 8, 13.3504),
    ],
    zones: pick(AWS_ALL, {
      'us-east-1': ['us-east-1a', 'us-east-1b', 'us-east-1c', 'us-east-1d'],
      'us-east-2': 'all',
      'us-west-2': ['us-west-2a', 'us-west-2b', 'us-west-2c'],
      'eu-central-1': ['eu-central-1a', 'eu-central-1b'],
    }),
    spotFactor: 0.42,
  },
  {
    cloud: 'aws',
    sizes: [
      gpu('g5.xlarge', 4, 16, 'A10G', 1, 1.006),
      gpu('g5.2xlarge', 8, 32, 'A10G', 1, 1.212),
      gpu('g5.4xlarge', 16, 64, 'A10G', 1, 1.624),
      gpu('g5.8xlarge', 32, 128, 'A10G', 1, 2.448),
      gpu('g5.12xlarge', 48, 192, 'A10G', 4, 5.672),
      gpu('g5.48xlarge', 192, 768, 'A10G', 8, 16.288),
    ],
    zones: pick(AWS_ALL, {
      'us-east-1': 'all',
      'us-east-2': 'all',
      'us-west-2': 'all',
      'eu-west-1': 'all',
      'eu-central-1': ['eu-central-1a', 'eu-central-1b'],
    }),
    spotFactor: 0.4,
  },
  {
    cloud: 'aws',
    sizes: [
      gpu('p3.2xlarge', 8, 61, 'V100', 1, 3.06),
      gpu('p3.8xlarge', 32, 244, 'V100', 4, 12.24),
      gpu('p3.16xlarge', 64, 488, 'V100', 8, 24.48),
    ],
    zones: pick(AWS_ALL, {
      'us-east-1': 'all',
      'us-east-2': ['us-east-2a', 'us-east-2b'],
      'us-west-2': ['us-west-2a', 'us-west-2b', 'us-west-2c'],
      'eu-west-1': 'all',
      'eu-central-1': ['eu-central-1a', 'eu-central-1b'],
    }),
    spotFactor: 0.31,
  },
];

// ---------------------------------------------------------------------------------------------
// AWS, measured (source `aws-measured`; see the header). onDemand: region → $/h; spot: region →
// the measured $/h of its zones in AZ-ID order (given to the region's zone names in order).
// `estimatedSpot`: where no spot price was published for a region (p5.4xlarge in the US: spot
// capacity there is offered through capacity blocks, not the spot market), spot = on-demand ×
// this ratio in the region's first two zones, and the row's source says `estimated`.
// ---------------------------------------------------------------------------------------------

interface Measured {
  size: Omit<Size, 'basePrice'>;
  onDemand: Record<string, number>;
  spot: Record<string, number[]>;
  estimatedSpot?: { ratio: number; why: string };
}

const MEASURED_AWS: Measured[] = [
  {
    size: gpuShape('p3dn.24xlarge', 96, 768, 'V100-32GB', 8),
    onDemand: { 'us-east-1': 31.212, 'us-west-2': 31.212, 'eu-west-1': 33.711 },
    spot: { 'us-east-1': [8.3576, 5.06], 'us-west-2': [12.1352, 12.4066], 'eu-west-1': [19.3349, 22.075] },
  },
  {
    size: gpuShape('p4d.24xlarge', 96, 1152, 'A100', 8),
    onDemand: { 'us-east-1': 21.957642, 'us-east-2': 21.95764, 'us-west-2': 21.95764, 'eu-west-1': 23.71569, 'eu-central-1': 27.43298 },
    spot: {
      'us-east-1': [6.289, 14.1051, 12.4991],
      'us-east-2': [8.6699, 6.6618],
      'us-west-2': [9.118, 9.9817, 9.53],
      'eu-west-1': [11.548],
      'eu-central-1': [8.9749, 8.1571],
    },
  },
  {
    size: gpuShape('p4de.24xlarge', 96, 1152, 'A100-80GB', 8),
    onDemand: { 'us-east-1': 27.44705, 'us-west-2': 27.44705 },
    spot: { 'us-east-1': [11.4593, 9.7262], 'us-west-2': [13.2897, 14.2576, 12.8344] },
  },
  {
    size: gpuShape('p5.4xlarge', 16, 256, 'H100', 1),
    onDemand: { 'us-east-1': 6.88, 'us-east-2': 6.88, 'us-west-2': 6.88 },
    spot: {},
    estimatedSpot: { ratio: 0.29, why: 'the median spot/on-demand ratio of p5.48xlarge in the same regions' },
  },
  {
    size: gpuShape('p5.48xlarge', 192, 2048, 'H100', 8),
    onDemand: { 'us-east-1': 55.04, 'us-east-2': 55.04, 'us-west-2': 55.04 },
    spot: {
      'us-east-1': [47.2054, 14.582, 14.246, 14.8686],
      'us-east-2': [17.2949, 15.5483, 15.06],
      'us-west-2': [21.6229, 21.7123, 21.7228, 22.7293],
    },
  },
  {
    size: gpuShape('p5en.48xlarge', 192, 2048, 'H200', 8),
    onDemand: { 'us-east-1': 63.296, 'us-east-2': 63.296, 'us-west-2': 63.296 },
    spot: { 'us-east-1': [19.9071, 19.1652], 'us-east-2': [16.1289, 16.7397, 16.0868], 'us-west-2': [25.2107, 24.6657, 24.7584] },
  },
  {
    size: gpuShape('p6-b200.48xlarge', 192, 2048, 'B200', 8),
    onDemand: { 'us-east-1': 113.9328, 'us-east-2': 113.9328, 'us-west-2': 113.9328 },
    spot: { 'us-east-1': [19.0919], 'us-east-2': [24.945, 24.8895], 'us-west-2': [46.5781, 44.8585] },
  },
  {
    size: gpuShape('g6e.12xlarge', 48, 384, 'L40S', 4),
    onDemand: { 'us-east-1': 10.49264, 'us-east-2': 10.49264, 'us-west-2': 10.49264, 'eu-central-1': 13.12002 },
    spot: {
      'us-east-1': [3.2906, 6.5969, 4.4468, 4.4182],
      'us-east-2': [2.7581, 2.9049, 2.8857],
      'us-west-2': [4.4688, 4.488, 4.5812, 4.5015],
      'eu-central-1': [3.4704, 4.0935],
    },
  },
  {
    size: gpuShape('g6e.16xlarge', 64, 512, 'L40S', 1),
    onDemand: { 'us-east-1': 7.57719, 'us-east-2': 7.57719, 'us-west-2': 7.57719, 'eu-central-1': 9.47454 },
    spot: {
      'us-east-1': [1.9936, 2.1169, 1.5094, 1.4253],
      'us-east-2': [2.0633, 1.4952, 1.8514],
      'us-west-2': [3.144, 3.0937, 3.2901, 3.1939],
      'eu-central-1': [2.5769, 2.1475],
    },
  },
  {
    size: gpuShape('g6e.24xlarge', 96, 768, 'L40S', 4),
    onDemand: { 'us-east-1': 15.06559, 'us-east-2': 15.06559, 'us-west-2': 15.06559, 'eu-central-1': 18.83806 },
    spot: {
      'us-east-1': [3.8783, 3.5386, 3.9266, 3.6521],
      'us-east-2': [3.3976, 3.4902, 4.0391],
      'us-west-2': [6.2616, 6.5966, 6.4425, 6.1815],
      'eu-central-1': [5.0423, 4.6288],
    },
  },
  {
    // Only eu-central-1 was read for this size; its US price is eu-central-1's × the g6e family's
    // US/eu-central-1 ratio (10.49264 / 13.12002), which gives AWS's US list price (2.24208).
    size: gpuShape('g6e.2xlarge', 8, 64, 'L40S', 1),
    onDemand: { 'us-east-1': 2.24208, 'us-east-2': 2.24208, 'us-west-2': 2.24208, 'eu-central-1': 2.8035 },
    spot: { 'eu-central-1': [1.294, 0.9303] },
    estimatedSpot: { ratio: 0.3, why: 'the spot/on-demand ratio of g6e.16xlarge in the US (0.2 to 0.42), rounded' },
  },
];

function gpuShape(instanceType: string, vcpus: number, memoryGb: number, name: AcceleratorName, count: number): Omit<Size, 'basePrice'> {
  return { instanceType, vcpus, memoryGb, accelerator: { name, count } };
}

// ---------------------------------------------------------------------------------------------
// GCP (us-central1 on-demand list prices, 2025)
// ---------------------------------------------------------------------------------------------

/** `<prefix>-<n>` for n in counts; memory = n × memPerVcpu; price linear in vCPUs. */
function gcpCpuFamily(prefix: string, counts: number[], memPerVcpu: number, pricePerVcpuAndMem: number): Size[] {
  return counts.map((n) => ({ instanceType: `${prefix}-${n}`, vcpus: n, memoryGb: n * memPerVcpu, basePrice: round(n * pricePerVcpuAndMem) }));
}

/**
 * GCP attaches T4/V100 GPUs to N1 machines rather than selling them as machine types. The catalog
 * names such a pairing `<machine-type>+<GPU>:<count>` (e.g. `n1-standard-8+T4:1`); the GCP
 * provider splits it back with `splitGcpAttachedType` (core/catalog/index.ts).
 */
function attached(machine: Size, name: AcceleratorName, count: number, gpuPrice: number): Size {
  return {
    instanceType: `${machine.instanceType}+${name}:${count}`,
    vcpus: machine.vcpus,
    memoryGb: machine.memoryGb,
    accelerator: { name, count },
    basePrice: round(machine.basePrice + count * gpuPrice),
  };
}

const N1: Record<string, Size> = {
  'n1-standard-4': { instanceType: 'n1-standard-4', vcpus: 4, memoryGb: 15, basePrice: 0.189999 },
  'n1-standard-8': { instanceType: 'n1-standard-8', vcpus: 8, memoryGb: 30, basePrice: 0.379998 },
  'n1-standard-16': { instanceType: 'n1-standard-16', vcpus: 16, memoryGb: 60, basePrice: 0.759996 },
  'n1-standard-32': { instanceType: 'n1-standard-32', vcpus: 32, memoryGb: 120, basePrice: 1.519992 },
  'n1-highmem-8': { instanceType: 'n1-highmem-8', vcpus: 8, memoryGb: 52, basePrice: 0.473212 },
  'n1-highmem-64': { instanceType: 'n1-highmem-64', vcpus: 64, memoryGb: 416, basePrice: 3.785696 },
};
const T4_PRICE = 0.35;
const V100_PRICE = 2.48;
/** `estimated`: GCP's published P100 list price (2024), not re-read for this catalog. */
const P100_PRICE = 1.46;
/**
 * `estimated`: GCP's H200/B200 machines (a3-ultragpu-8g, a4-highgpu-8g) were priced as AWS's
 * same-GPU 8-way machine (p5en.48xlarge, p6-b200.48xlarge) × the GCP/AWS ratio measured for H100
 * (a3-highgpu-8g 87.8328 / p5.48xlarge 55.04); spot as a3-highgpu's measured spot ratio.
 */
const GCP_OVER_AWS_H100 = (10.9791 * 8) / 55.04;

const GCP_FAMILIES: Family[] = [
  { cloud: 'gcp', sizes: gcpCpuFamily('e2-standard', [2, 4, 8, 16, 32], 4, 0.033503), zones: GCP_ALL, spotFactor: 0.3 },
  { cloud: 'gcp', sizes: gcpCpuFamily('n2-standard', [2, 4, 8, 16, 32], 4, 0.048559), zones: GCP_ALL, spotFactor: 0.3 },
  { cloud: 'gcp', sizes: gcpCpuFamily('n2-highmem', [2, 4, 8, 16, 32], 8, 0.065507), zones: GCP_ALL, spotFactor: 0.3 },
  { cloud: 'gcp', sizes: Object.values(N1), zones: GCP_ALL, spotFactor: 0.21 },
  {
    cloud: 'gcp',
    sizes: [
      attached(N1['n1-standard-4'], 'T4', 1, T4_PRICE),
      attached(N1['n1-standard-8'], 'T4', 1, T4_PRICE),
      attached(N1['n1-standard-16'], 'T4', 2, T4_PRICE),
      attached(N1['n1-standard-32'], 'T4', 4, T4_PRICE),
    ],
    zones: pick(GCP_ALL, {
      'us-central1': 'all',
      'us-west1': ['us-west1-a', 'us-west1-b'],
      'us-east4': 'all',
      'europe-west4': 'all',
    }),
    spotFactor: 0.3,
  },
  {
    cloud: 'gcp',
    sizes: [
      attached(N1['n1-highmem-8'], 'V100', 1, V100_PRICE),
      attached(N1['n1-standard-16'], 'V100', 2, V100_PRICE),
      attached(N1['n1-standard-32'], 'V100', 4, V100_PRICE),
      attached(N1['n1-highmem-64'], 'V100', 8, V100_PRICE),
    ],
    zones: pick(GCP_ALL, { 'us-central1': 'all', 'us-west1': ['us-west1-a', 'us-west1-b'], 'europe-west4': 'all' }),
    spotFactor: 0.4,
  },
  {
    cloud: 'gcp',
    sizes: [
      gpu('g2-standard-4', 4, 16, 'L4', 1, 0.70683),
      gpu('g2-standard-8', 8, 32, 'L4', 1, 0.85362),
      gpu('g2-standard-12', 12, 48, 'L4', 1, 1.00041),
      gpu('g2-standard-16', 16, 64, 'L4', 1, 1.1472),
      gpu('g2-standard-24', 24, 96, 'L4', 2, 2.00081),
      gpu('g2-standard-32', 32, 128, 'L4', 1, 1.73159),
      gpu('g2-standard-48', 48, 192, 'L4', 4, 4.00163),
      gpu('g2-standard-96', 96, 384, 'L4', 8, 8.00325),
    ],
    zones: pick(GCP_ALL, {
      'us-central1': ['us-central1-a', 'us-central1-b', 'us-central1-c'],
      'us-west1': 'all',
      'us-east4': ['us-east4-a', 'us-east4-c'],
      'europe-west4': 'all',
    }),
    spotFactor: 0.4,
  },
  {
    cloud: 'gcp',
    sizes: [
      gpu('a2-highgpu-1g', 12, 85, 'A100', 1, 3.673385),
      gpu('a2-highgpu-2g', 24, 170, 'A100', 2, 7.34677),
      gpu('a2-highgpu-4g', 48, 340, 'A100', 4, 14.69354),
      gpu('a2-highgpu-8g', 96, 680, 'A100', 8, 29.38708),
    ],
    zones: pick(GCP_ALL, {
      'us-central1': 'all',
      'us-west1': ['us-west1-b'],
      'us-east4': ['us-east4-c'],
      'europe-west4': ['europe-west4-a', 'europe-west4-b'],
    }),
    spotFactor: 0.33,
  },
  {
    cloud: 'gcp',
    sizes: [
      gpu('a2-ultragpu-1g', 12, 170, 'A100-80GB', 1, 5.06879),
      gpu('a2-ultragpu-2g', 24, 340, 'A100-80GB', 2, 10.13758),
      gpu('a2-ultragpu-4g', 48, 680, 'A100-80GB', 4, 20.27517),
      gpu('a2-ultragpu-8g', 96, 1360, 'A100-80GB', 8, 40.55034),
    ],
    zones: pick(GCP_ALL, {
      'us-central1': ['us-central1-a', 'us-central1-c'],
      'us-east4': ['us-east4-c'],
      'europe-west4': ['europe-west4-a'],
    }),
    spotFactor: 0.35,
  },
  {
    // Cloud Billing catalog, us-central1, 2026-09-26: a3-highgpu-1g (1×H100, 26 vCPU, 234 GiB) is
    // $10.9791/h on-demand-equivalent and $6.571/h spot; A3 prices are per GPU with the vCPUs and
    // memory in proportion, so 2g/4g/8g are 2/4/8×. (GCP sells the 1g/2g/4g shapes as Spot or
    // Flex-start only; the on-demand figure is the list equivalent.)
    cloud: 'gcp',
    source: 'gcp-measured',
    sizes: [1, 2, 4, 8].map((n) => gpu(`a3-highgpu-${n}g`, 26 * n, 234 * n, 'H100', n, round(10.9791 * n))),
    zones: pick(GCP_ALL, {
      'us-central1': ['us-central1-a', 'us-central1-b', 'us-central1-c'],
      'us-west1': ['us-west1-a', 'us-west1-b'],
      'us-east4': 'all',
      'europe-west4': ['europe-west4-b', 'europe-west4-c'],
    }),
    spotFactor: round(6.571 / 10.9791),
  },
  {
    cloud: 'gcp',
    source: 'estimated',
    sizes: [
      gpu('a3-ultragpu-8g', 224, 2952, 'H200', 8, round(63.296 * GCP_OVER_AWS_H100)),
      gpu('a4-highgpu-8g', 224, 3968, 'B200', 8, round(113.9328 * GCP_OVER_AWS_H100)),
    ],
    zones: pick(GCP_ALL, { 'us-central1': ['us-central1-b'], 'us-east4': ['us-east4-b'], 'europe-west4': ['europe-west4-b'] }),
    spotFactor: round(6.571 / 10.9791),
  },
  {
    cloud: 'gcp',
    source: 'estimated',
    sizes: [
      attached(N1['n1-standard-8'], 'P100', 1, P100_PRICE),
      attached(N1['n1-standard-16'], 'P100', 2, P100_PRICE),
      attached(N1['n1-standard-32'], 'P100', 4, P100_PRICE),
    ],
    zones: pick(GCP_ALL, { 'us-central1': ['us-central1-c', 'us-central1-f'], 'us-east4': ['us-east4-a'], 'europe-west4': ['europe-west4-a'] }),
    spotFactor: 0.3,
  },
];

// ---------------------------------------------------------------------------------------------
// local: the simulated cloud run by the process provider. Prices are fake but ordered.
// ---------------------------------------------------------------------------------------------

const LOCAL_FAMILIES: Family[] = [
  {
    cloud: 'local',
    sizes: [
      { instanceType: 'local.cpu.small', vcpus: 2, memoryGb: 4, basePrice: 0.01 },
      { instanceType: 'local.cpu.medium', vcpus: 4, memoryGb: 16, basePrice: 0.02 },
      { instanceType: 'local.cpu.large', vcpus: 8, memoryGb: 32, basePrice: 0.04 },
      { instanceType: 'local.cpu.xlarge', vcpus: 16, memoryGb: 64, basePrice: 0.08 },
    ],
    zones: LOCAL_ALL,
    spotFactor: 0.3,
  },
  {
    cloud: 'local',
    sizes: [
      gpu('local.gpu.small', 4, 16, 'T4', 1, 0.2),
      gpu('local.gpu.medium', 8, 64, 'A100', 1, 1.0),
      gpu('local.gpu.large', 32, 256, 'H100', 8, 10.0),
    ],
    zones: LOCAL_ALL,
    spotFactor: 0.3,
  },
];

// ---------------------------------------------------------------------------------------------

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

/** FNV-1a: a stable hash so the per-zone spot variation is the same on every run. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** AWS spot prices move independently per zone: a stable factor in [0.88, 1.12]. */
function awsZoneJitter(instanceType: string, zone: string): number {
  return 0.88 + (fnv1a(`${instanceType}@${zone}`) % 2401) / 10000;
}

function spotPrice(cloud: Cloud, size: Size, family: Family, region: string, zone: string, onDemand: number): number {
  switch (cloud) {
    case 'aws':
      return round(onDemand * family.spotFactor * awsZoneJitter(size.instanceType, zone));
    case 'gcp':
      return round(onDemand * family.spotFactor * GCP_SPOT_REGION_FACTOR[region]);
    case 'local': {
      const letter = zone.slice(region.length);
      return round(onDemand * family.spotFactor * LOCAL_ZONE_FACTOR[letter]);
    }
  }
}

function rowsOf(family: Family): CatalogRow[] {
  return family.sizes.map((size) => {
    const onDemand: Record<string, number> = {};
    const spot: Record<string, number> = {};
    for (const [region, zones] of Object.entries(family.zones)) {
      const od = round(size.basePrice * REGION_FACTOR[family.cloud][region]);
      onDemand[region] = od;
      for (const zone of zones) spot[zone] = spotPrice(family.cloud, size, family, region, zone, od);
    }
    const row: CatalogRow = {
      cloud: family.cloud,
      instanceType: size.instanceType,
      vcpus: size.vcpus,
      memoryGb: size.memoryGb,
      ...(size.accelerator ? { accelerator: { ...size.accelerator } } : {}),
      regions: Object.fromEntries(Object.entries(family.zones).map(([r, z]) => [r, [...z]])),
      onDemand,
      spot,
      source: family.source ?? (family.cloud === 'local' ? 'local' : 'list-modelled-spot'),
    };
    return row;
  });
}

/** A MEASURED_AWS entry as a catalog row (see the comment above MEASURED_AWS). */
function measuredRow(m: Measured): CatalogRow {
  const regions: Record<string, string[]> = {};
  const spot: Record<string, number> = {};
  let estimated = false;
  for (const [region, onDemand] of Object.entries(m.onDemand)) {
    const names = AWS_ALL[region];
    if (!names) throw new Error(`generate-catalog: unknown region ${region}`);
    const measured = (m.spot[region] ?? []).filter((p) => p > 0 && p < onDemand);
    if (measured.length > names.length) throw new Error(`generate-catalog: ${m.size.instanceType} has more spot prices than zones in ${region}`);
    let prices = measured;
    if (prices.length === 0) {
      if (!m.estimatedSpot) throw new Error(`generate-catalog: ${m.size.instanceType} has no spot price in ${region}`);
      estimated = true;
      prices = [onDemand * m.estimatedSpot.ratio, onDemand * m.estimatedSpot.ratio];
    }
    regions[region] = names.slice(0, prices.length);
    prices.forEach((p, i) => (spot[names[i]] = round(p)));
  }
  return {
    cloud: 'aws',
    instanceType: m.size.instanceType,
    vcpus: m.size.vcpus,
    memoryGb: m.size.memoryGb,
    ...(m.size.accelerator ? { accelerator: { ...m.size.accelerator } } : {}),
    regions,
    onDemand: { ...m.onDemand },
    spot,
    source: estimated ? 'aws-measured+estimated-spot' : 'aws-measured',
  };
}

export function generateCatalog(): CatalogFile {
  return {
    meta: {
      description: 'skyless bundled instance catalog: shapes, accelerators, regions/zones and hourly prices (USD).',
      sources: [
        'aws-measured: per-region on-demand and per-zone spot prices from SkyPilot\'s AWS catalog (github.com/skypilot-org/skypilot-catalog catalogs/v8/aws/vms.csv, commit e385a0d3, built by its daily job from the EC2 Pricing API and DescribeSpotPriceHistory; read 2026-12-03; the snapshot lists p5.4xlarge, so it is from after August 2025). Spot prices keyed by AZ ID are given to zone names in ID order.',
        'aws-measured+estimated-spot: on-demand as aws-measured; where no spot price was published for a region, spot = on-demand × a ratio observed for the family (p5.4xlarge: 0.29, the median of p5.48xlarge; g6e.2xlarge US: 0.3, from g6e.16xlarge).',
        'gcp-measured: a3-highgpu (H100) from GCP\'s Cloud Billing catalog, us-central1, 2026-09-26 (1g: $10.9791/h on-demand equivalent, $6.571/h spot; 2g/4g/8g in proportion; the 1g/2g/4g shapes are sold as Spot or Flex-start only); other regions scaled by typical regional factors.',
        'list-modelled-spot: public on-demand list prices of AWS us-east-1 / GCP us-central1 (2025) scaled by typical regional factors; spot = on-demand × a typical observed discount per family (AWS varies by zone, a stable pseudo-random ±12%; GCP by region only). N1 + attached T4/V100 priced as machine + GPU.',
        'estimated: no published figure was read. GCP a3-ultragpu-8g (H200) and a4-highgpu-8g (B200) = AWS p5en/p6-b200 on-demand × the GCP/AWS ratio of the H100 8-GPU machines (1.596), spot as a3-highgpu; GCP P100 = N1 machine + $1.46/GPU-h (GCP\'s 2024 list price), spot 0.3×.',
        'local: simulated cloud with fake prices; local-1 < local-2 < local-3, zone a < zone b.',
      ],
      priceDate: '2026-12',
      currency: 'USD',
      accuracy: 'approximate, for ranking candidates; not for billing',
      refresh:
        'edit MEASURED_AWS and the families in core/catalog/generate-catalog.ts (from `aws pricing get-products --service-code AmazonEC2`, `aws ec2 describe-spot-price-history`, `gcloud billing skus list`), then run: npx tsx -e "import(\'./core/catalog/generate-catalog.ts\').then((m) => process.stdout.write(m.catalogJson()))" > core/catalog/catalog.json',
      gcpAttachedGpuNaming:
        'GCP N1 machines with attached GPUs are named `<machine-type>+<GPU>:<count>`, e.g. `n1-standard-8+T4:1`.',
    },
    rows: [...AWS_FAMILIES.flatMap(rowsOf), ...MEASURED_AWS.map(measuredRow), ...[...GCP_FAMILIES, ...LOCAL_FAMILIES].flatMap(rowsOf)],
  };
}

/** The exact text of catalog.json: one row per line, so price changes diff line by line. */
export function catalogJson(): string {
  const file = generateCatalog();
  const rows = file.rows.map((r) => '    ' + JSON.stringify(r)).join(',\n');
  return `{\n  "meta": ${JSON.stringify(file.meta, null, 2).replace(/\n/g, '\n  ')},\n  "rows": [\n${rows}\n  ]\n}\n`;
}
