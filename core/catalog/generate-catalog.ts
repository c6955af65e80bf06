// Source of the bundled price catalog (core/catalog/catalog.json). The JSON is what the optimizer
// reads; this module is what a maintainer edits. Both are kept in sync by a test
// (test/unit/optimizer/catalog.test.ts), so a hand edit of the JSON alone fails loudly.
//
// Regenerate after editing the tables below:
//   npx tsx -e "import('./core/catalog/generate-catalog.ts').then((m) => process.stdout.write(m.catalogJson()))" > core/catalog/catalog.json
//
// Where the numbers come from: public on-demand list prices (Linux, USD/hour) of the first region
// of each cloud (AWS us-east-1, GCP us-central1) as published in 2025, scaled by a per-region
// factor that approximates the published regional differences. Spot prices are on-demand × a
// typical observed discount for the family, with a small deterministic per-zone variation on AWS
// (AWS spot prices differ by zone; GCP spot prices are per region, so every zone of a GCP region
// shares one spot price). Prices are approximate and exist to rank candidates, not to bill.
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

interface Family {
  cloud: Cloud;
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
  {
    cloud: 'aws',
    sizes: [gpu('p4d.24xlarge', 96, 1152, 'A100', 8, 21.9576)],
    zones: pick(AWS_ALL, {
      'us-east-1': ['us-east-1b', 'us-east-1c', 'us-east-1d'],
      'us-east-2': ['us-east-2a', 'us-east-2b'],
      'us-west-2': ['us-west-2a', 'us-west-2b', 'us-west-2c'],
      'eu-west-1': ['eu-west-1a', 'eu-west-1b'],
    }),
    spotFactor: 0.48,
  },
  {
    cloud: 'aws',
    sizes: [gpu('p4de.24xlarge', 96, 1152, 'A100-80GB', 8, 27.447)],
    zones: pick(AWS_ALL, { 'us-east-1': ['us-east-1b', 'us-east-1c'], 'us-west-2': ['us-west-2b'] }),
    spotFactor: 0.52,
  },
  {
    cloud: 'aws',
    sizes: [gpu('p5.48xlarge', 192, 2048, 'H100', 8, 55.04)],
    zones: pick(AWS_ALL, {
      'us-east-1': ['us-east-1a', 'us-east-1c', 'us-east-1d'],
      'us-east-2': ['us-east-2a', 'us-east-2b'],
      'us-west-2': ['us-west-2a', 'us-west-2b', 'us-west-2c'],
    }),
    spotFactor: 0.55,
  },
];

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
    cloud: 'gcp',
    sizes: [gpu('a3-highgpu-8g', 208, 1872, 'H100', 8, 88.2523)],
    zones: pick(GCP_ALL, {
      'us-central1': ['us-central1-a', 'us-central1-b', 'us-central1-c'],
      'us-west1': ['us-west1-a', 'us-west1-b'],
      'us-east4': 'all',
      'europe-west4': ['europe-west4-b', 'europe-west4-c'],
    }),
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
    };
    return row;
  });
}

export function generateCatalog(): CatalogFile {
  return {
    meta: {
      description: 'skyless bundled instance catalog: shapes, accelerators, regions/zones and hourly prices (USD).',
      sources: [
        'AWS: public EC2 on-demand Linux list prices, us-east-1, 2025 (P4d/P4de/P5 after the June 2025 reduction); other regions scaled by typical regional factors.',
        'GCP: public Compute Engine on-demand list prices, us-central1, 2025; N1 + attached T4/V100 priced as machine + GPU.',
        'Spot: typical observed discount per family applied to on-demand; AWS varies by zone (stable pseudo-random ±12%), GCP by region only.',
        'local: simulated cloud with fake prices; local-1 < local-2 < local-3, zone a < zone b.',
      ],
      priceDate: '2025-06',
      currency: 'USD',
      accuracy: 'approximate, for ranking candidates; not for billing',
      refresh:
        'edit core/catalog/generate-catalog.ts (from `aws pricing get-products --service-code AmazonEC2`, `aws ec2 describe-spot-price-history`, `gcloud billing skus list`), then run: npx tsx -e "import(\'./core/catalog/generate-catalog.ts\').then((m) => process.stdout.write(m.catalogJson()))" > core/catalog/catalog.json',
      gcpAttachedGpuNaming:
        'GCP N1 machines with attached GPUs are named `<machine-type>+<GPU>:<count>`, e.g. `n1-standard-8+T4:1`.',
    },
    rows: [...AWS_FAMILIES, ...GCP_FAMILIES, ...LOCAL_FAMILIES].flatMap(rowsOf),
  };
}

/** The exact text of catalog.json: one row per line, so price changes diff line by line. */
export function catalogJson(): string {
  const file = generateCatalog();
  const rows = file.rows.map((r) => '    ' + JSON.stringify(r)).join(',\n');
  return `{\n  "meta": ${JSON.stringify(file.meta, null, 2).replace(/\n/g, '\n  ')},\n  "rows": [\n${rows}\n  ]\n}\n`;
}
