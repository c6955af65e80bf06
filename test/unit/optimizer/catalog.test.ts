import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import {
  bundledCatalog,
  CatalogError,
  loadCatalog,
  regionOfZone,
  splitGcpAttachedType,
  validateCatalog,
  type CatalogFile,
} from '../../../core/catalog/index.ts';
import { catalogJson } from '../../../core/catalog/generate-catalog.ts';
import { ACCELERATORS, NOT_OFFERED } from '../../../core/catalog/accelerators.ts';
import { resourceProblems, resourcesOf } from '../spec/helpers.ts';

const jsonPath = new URL('../../../core/catalog/catalog.json', import.meta.url);
const rawFile = (): CatalogFile => JSON.parse(readFileSync(jsonPath, 'utf8'));

describe('bundled catalog data', () => {
  it('validates with no problems', () => {
    expect(validateCatalog(rawFile())).toEqual([]);
  });

  it('is exactly what generate-catalog.ts produces (regenerate the JSON after editing the tables)', () => {
    expect(readFileSync(jsonPath, 'utf8')).toBe(catalogJson());
  });

  it('says where prices come from, their date, and how to refresh', () => {
    const { meta } = bundledCatalog();
    expect(meta.priceDate).toMatch(/^20\d\d-\d\d$/);
    expect(meta.sources.join(' ')).toMatch(/AWS/);
    expect(meta.sources.join(' ')).toMatch(/GCP/);
    expect(meta.accuracy).toMatch(/approximate/);
    expect(meta.refresh).toMatch(/generate-catalog\.ts/);
  });

  it('gives every row an on-demand price per listed region and a spot price per listed zone', () => {
    for (const row of bundledCatalog().rows) {
      const regions = Object.keys(row.regions);
      expect(Object.keys(row.onDemand).sort(), row.instanceType).toEqual([...regions].sort());
      const zones = regions.flatMap((r) => row.regions[r]);
      expect(Object.keys(row.spot).sort(), row.instanceType).toEqual([...zones].sort());
      for (const region of regions) {
        for (const zone of row.regions[region]) expect(row.spot[zone]).toBeLessThan(row.onDemand[region]);
      }
    }
  });

  it('uses canonical accelerator names only', () => {
    for (const row of bundledCatalog().rows) {
      if (row.accelerator) expect(ACCELERATORS).toContain(row.accelerator.name);
    }
  });

  it('covers the families and regions skyless promises', () => {
    const rows = bundledCatalog().rows;
    const types = new Set(rows.map((r) => `${r.cloud}/${r.instanceType}`));
    for (const t of [
      'aws/m6i.large', 'aws/m6i.8xlarge', 'aws/c6i.xlarge', 'aws/r6i.2xlarge', 'aws/m7i.4xlarge',
      'aws/g4dn.xlarge', 'aws/g6.xlarge', 'aws/g5.xlarge', 'aws/p3.2xlarge', 'aws/p4d.24xlarge',
      'aws/p4de.24xlarge', 'aws/p5.48xlarge',
      'gcp/n2-standard-8', 'gcp/n2-highmem-4', 'gcp/e2-standard-4', 'gcp/a2-highgpu-1g',
      'gcp/a2-ultragpu-8g', 'gcp/a3-highgpu-8g', 'gcp/g2-standard-4', 'gcp/n1-standard-8+T4:1',
      'gcp/n1-highmem-8+V100:1', 'local/local.cpu.small',
      // What AWS and GCP sell now (issue 15): single- and multi-GPU H100, H200, B200, L40S.
      'aws/p5.4xlarge', 'aws/p5en.48xlarge', 'aws/p6-b200.48xlarge', 'aws/g6e.2xlarge', 'aws/g6e.12xlarge',
      'aws/p3dn.24xlarge', 'gcp/a3-highgpu-1g', 'gcp/a3-highgpu-2g', 'gcp/a3-highgpu-4g', 'gcp/a3-ultragpu-8g',
      'gcp/a4-highgpu-8g', 'gcp/n1-standard-8+P100:1',
    ]) {
      expect(types, t).toContain(t);
    }
    const regionsOf = (cloud: string) => new Set(rows.filter((r) => r.cloud === cloud).flatMap((r) => Object.keys(r.regions)));
    expect([...regionsOf('aws')]).toEqual(expect.arrayContaining(['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1']));
    expect([...regionsOf('gcp')]).toEqual(expect.arrayContaining(['us-central1', 'us-east4', 'europe-west4']));
    expect([...regionsOf('local')].sort()).toEqual(['local-1', 'local-2', 'local-3']);
    const p4d = rows.find((r) => r.instanceType === 'p4d.24xlarge')!;
    expect(p4d.accelerator).toEqual({ name: 'A100', count: 8 });
  });

  it('prices local regions so that local-1 < local-2 < local-3 for every type and market', () => {
    for (const row of bundledCatalog().rows.filter((r) => r.cloud === 'local')) {
      expect(row.onDemand['local-1']).toBeLessThan(row.onDemand['local-2']);
      expect(row.onDemand['local-2']).toBeLessThan(row.onDemand['local-3']);
      const spot = ['local-1a', 'local-1b', 'local-2a', 'local-2b', 'local-3a', 'local-3b'].map((z) => row.spot[z]);
      expect(spot).toEqual([...spot].sort((a, b) => a - b));
      expect(new Set(spot).size).toBe(spot.length);
    }
  });

  it('has a row on AWS or GCP for every accelerator name the parser accepts', () => {
    const offered = new Set(bundledCatalog().rows.filter((r) => r.cloud !== 'local' && r.accelerator).map((r) => r.accelerator!.name));
    for (const name of ACCELERATORS) {
      if (NOT_OFFERED[name] !== undefined) continue;
      expect(offered.has(name), name).toBe(true);
      expect(resourcesOf(`accelerators: ${name}`).requests[0].accelerator?.name).toBe(name);
    }
  });

  it('refuses, with the reason, every name no cloud sells', () => {
    const refused = ACCELERATORS.filter((n) => NOT_OFFERED[n] !== undefined);
    expect(refused.sort()).toEqual(['A10', 'K80']);
    expect(resourceProblems('accelerators: K80:1')).toEqual([`resources.accelerators: K80 cannot be launched: ${NOT_OFFERED.K80}`]);
    expect(resourceProblems('accelerators: {A10: 1, L4: 1}')[0]).toMatch(/A10 cannot be launched: .*write A10G/);
  });

  it('never prices a row at 0 or leaves a price out; spot is below on-demand wherever both exist', () => {
    for (const row of bundledCatalog().rows) {
      for (const region of Object.keys(row.regions)) {
        const od = row.onDemand[region];
        expect(Number.isFinite(od) && od > 0, `${row.instanceType} ${region}`).toBe(true);
        for (const zone of row.regions[region]) {
          const spot = row.spot[zone];
          expect(Number.isFinite(spot) && spot > 0, `${row.instanceType} ${zone}`).toBe(true);
          expect(spot, `${row.instanceType} ${zone}`).toBeLessThan(od);
        }
      }
    }
  });

  it('says where every row\'s prices come from, with a dated source line', () => {
    const { meta, rows } = bundledCatalog();
    for (const row of rows) {
      expect(row.source, row.instanceType).toBeDefined();
      const line = meta.sources.find((l) => l.startsWith(`${row.source}:`));
      expect(line, `${row.instanceType}: ${row.source}`).toBeDefined();
    }
    expect(meta.sources.find((l) => l.startsWith('aws-measured:'))).toMatch(/skypilot-catalog.*2026-12-03/);
    expect(meta.sources.find((l) => l.startsWith('gcp-measured:'))).toMatch(/Cloud Billing catalog.*2026-09-26/);
    // A measured figure is the one its source published.
    const p5 = rows.find((r) => r.instanceType === 'p5.4xlarge')!;
    expect(p5.onDemand['us-east-1']).toBe(6.88);
    expect(p5.accelerator).toEqual({ name: 'H100', count: 1 });
  });

  it('a row naming an unexplained source is a problem', () => {
    const f = rawFile();
    f.rows[0].source = 'rumour';
    expect(validateCatalog(f)).toEqual([`rows[0] aws/${f.rows[0].instanceType}: source 'rumour' is not explained in meta.sources`]);
  });

  it('has AWS spot prices that differ between zones of a region', () => {
    const row = bundledCatalog().rows.find((r) => r.instanceType === 'm6i.large')!;
    const prices = row.regions['us-east-1'].map((z) => row.spot[z]);
    expect(new Set(prices).size).toBeGreaterThan(1);
  });
});

describe('validateCatalog rejects broken data, naming row and field', () => {
  const good = () => rawFile();

  it('a region without an on-demand price', () => {
    const f = good();
    delete f.rows[0].onDemand['us-east-2'];
    expect(validateCatalog(f)).toEqual([`rows[0] aws/${f.rows[0].instanceType}: onDemand: no price for region us-east-2`]);
  });

  it('a zone without a spot price, and a spot price for an unlisted zone', () => {
    const f = good();
    delete f.rows[1].spot['us-east-1a'];
    f.rows[1].spot['mars-1a'] = 0.01;
    const problems = validateCatalog(f);
    expect(problems).toContain(`rows[1] aws/${f.rows[1].instanceType}: spot: no price for zone us-east-1a`);
    expect(problems).toContain(`rows[1] aws/${f.rows[1].instanceType}: spot: price for unlisted zone mars-1a`);
  });

  it('spot not below on-demand, duplicate types, unknown accelerators', () => {
    const f = good();
    f.rows[0].spot['us-east-1a'] = 99;
    f.rows[2] = { ...f.rows[2], instanceType: f.rows[0].instanceType };
    const problems = validateCatalog(f);
    expect(problems.some((p) => p.includes('spot price 99 in us-east-1a is not below on-demand'))).toBe(true);
    expect(problems.some((p) => p.startsWith('rows[2]') && p.endsWith('duplicate instance type'))).toBe(true);

    const g = good();
    (g.rows[0] as { accelerator?: unknown }).accelerator = { name: 'A1000', count: 1 };
    expect(validateCatalog(g)[0]).toMatch(/^rows\.0\.accelerator\.name:/);
  });

  it('a zone claimed by two regions', () => {
    const f = good();
    f.rows[0].regions['us-east-2'] = [...f.rows[0].regions['us-east-2'], 'us-east-1a'];
    f.rows[0].spot['us-east-1a'] = 0.01;
    expect(validateCatalog(f).some((p) => p.includes('zone us-east-1a is in region us-east-2 here but in us-east-1'))).toBe(true);
  });

  it('loadCatalog throws CatalogError listing problems', () => {
    const f = good();
    delete f.rows[0].onDemand['us-east-1'];
    expect(() => loadCatalog(f)).toThrow(CatalogError);
    try {
      loadCatalog(f);
    } catch (e) {
      expect((e as CatalogError).problems).toHaveLength(1);
      expect((e as CatalogError).name).toBe('CatalogError');
    }
  });
});

describe('catalog helpers', () => {
  it('regionOfZone maps zones of every cloud', () => {
    const c = bundledCatalog();
    expect(regionOfZone(c, 'aws', 'us-west-2b')).toBe('us-west-2');
    expect(regionOfZone(c, 'gcp', 'europe-west4-a')).toBe('europe-west4');
    expect(regionOfZone(c, 'local', 'local-3b')).toBe('local-3');
    expect(regionOfZone(c, 'gcp', 'us-west-2b')).toBeUndefined();
  });

  it('splitGcpAttachedType separates machine type and attached GPUs', () => {
    expect(splitGcpAttachedType('n1-standard-8+T4:1')).toEqual({ machineType: 'n1-standard-8', accelerator: { name: 'T4', count: 1 } });
    expect(splitGcpAttachedType('n1-highmem-64+V100:8')).toEqual({ machineType: 'n1-highmem-64', accelerator: { name: 'V100', count: 8 } });
    expect(splitGcpAttachedType('a2-highgpu-1g')).toEqual({ machineType: 'a2-highgpu-1g' });
  });
});
