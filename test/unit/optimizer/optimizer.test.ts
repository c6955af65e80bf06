import { describe, expect, it } from 'vitest';
import {
  blockScopeFor,
  candidatesFor,
  compareCandidates,
  DEFAULT_CPUS,
  explainEmpty,
  filterBlocked,
  reorderAfterLoss,
  type Candidate,
} from '../../../core/optimizer/index.ts';
import { bundledCatalog } from '../../../core/catalog/index.ts';
import { CapacityError } from '../../../core/errors.ts';
import type { ResourceRequest } from '../../../core/spec/types.ts';
import { req, resources } from './helpers.ts';

const types = (cs: Candidate[]) => [...new Set(cs.map((c) => c.instanceType))].sort();
const prices = (cs: Candidate[]) => cs.map((c) => c.hourlyPrice);
const run = (requests: ResourceRequest[], order: 'cheapest' | 'ordered' = 'cheapest', allowedClouds?: ('aws' | 'gcp' | 'local')[]) =>
  candidatesFor(resources(requests, order), 1, { allowedClouds });

describe('candidatesFor filters (table)', () => {
  const cases: { name: string; request: ResourceRequest; clouds?: ('aws' | 'gcp' | 'local')[]; expectTypes: string[] }[] = [
    {
      name: 'exact instance type',
      request: req({ instanceType: 'p3.2xlarge' }),
      expectTypes: ['p3.2xlarge'],
    },
    {
      name: 'whole accelerator count matches exactly (A100:8)',
      request: req({ accelerator: { name: 'A100', count: 8 } }),
      expectTypes: ['a2-highgpu-8g', 'p4d.24xlarge'],
    },
    {
      name: 'H100:8 on both clouds',
      request: req({ accelerator: { name: 'H100', count: 8 } }),
      clouds: ['aws', 'gcp'],
      expectTypes: ['a3-highgpu-8g', 'p5.48xlarge'],
    },
    {
      name: 'fractional count picks, per cloud, the smallest count that covers it',
      request: req({ accelerator: { name: 'A100', count: 0.5 } }),
      clouds: ['aws', 'gcp'],
      expectTypes: ['a2-highgpu-1g', 'p4d.24xlarge'],
    },
    {
      name: 'fractional L4 matches every 1-GPU L4 type',
      request: req({ accelerator: { name: 'L4', count: 0.5 }, infra: { cloud: 'aws' } }),
      expectTypes: ['g6.2xlarge', 'g6.4xlarge', 'g6.8xlarge', 'g6.xlarge'],
    },
    {
      name: 'accelerator + cpus at least',
      request: req({ accelerator: { name: 'L4', count: 1 }, cpus: { value: 16, atLeast: true }, infra: { cloud: 'gcp' } }),
      expectTypes: ['g2-standard-16', 'g2-standard-32'],
    },
    {
      name: 'cpus exact + memory exact',
      request: req({ cpus: { value: 8, atLeast: false }, memoryGb: { value: 64, atLeast: false } }),
      clouds: ['aws', 'gcp'],
      expectTypes: ['n2-highmem-8', 'r6i.2xlarge'],
    },
    {
      name: 'memory at least, cloud filter',
      request: req({ memoryGb: { value: 200, atLeast: true }, infra: { cloud: 'aws' } }),
      expectTypes: ['r6i.8xlarge'],
    },
    {
      name: 'no accelerator asked: GPU instances are excluded',
      request: req({ cpus: { value: 32, atLeast: false }, infra: { cloud: 'aws' } }),
      expectTypes: ['c6i.8xlarge', 'm6i.8xlarge', 'm7i.8xlarge', 'r6i.8xlarge'],
    },
    {
      name: 'GCP attached GPU by machine type + accelerator',
      request: req({ instanceType: 'n1-standard-8', accelerator: { name: 'T4', count: 1 } }),
      expectTypes: ['n1-standard-8+T4:1'],
    },
    {
      name: 'GCP machine type without accelerator is the plain machine',
      request: req({ instanceType: 'n1-standard-8' }),
      expectTypes: ['n1-standard-8'],
    },
    {
      name: 'local cloud, default cpus 4+',
      request: req({ infra: { cloud: 'local' } }),
      expectTypes: ['local.cpu.large', 'local.cpu.medium', 'local.cpu.xlarge'],
    },
    {
      name: 'canonical A100-80GB is distinct from A100',
      request: req({ accelerator: { name: 'A100-80GB', count: 8 } }),
      expectTypes: ['a2-ultragpu-8g', 'p4de.24xlarge'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(types(run([c.request], 'cheapest', c.clouds))).toEqual([...c.expectTypes].sort());
    });
  }

  it('default is cpus 4+ when nothing is asked', () => {
    const cs = run([req()], 'cheapest', ['aws', 'gcp']);
    expect(DEFAULT_CPUS).toEqual({ value: 4, atLeast: true });
    expect(cs.length).toBeGreaterThan(0);
    expect(Math.min(...cs.map((c) => c.vcpus))).toBe(4);
    expect(cs.every((c) => !c.accelerator)).toBe(true);
  });

  it('infra region keeps one region; on-demand candidates list every zone of it', () => {
    const cs = run([req({ instanceType: 'm6i.large', infra: { cloud: 'aws', region: 'us-east-2' } })]);
    expect(cs).toEqual([
      {
        cloud: 'aws',
        region: 'us-east-2',
        zones: ['us-east-2a', 'us-east-2b', 'us-east-2c'],
        instanceType: 'm6i.large',
        vcpus: 2,
        memoryGb: 8,
        spot: false,
        hourlyPrice: 0.096,
        requestIndex: 0,
      },
    ]);
  });

  it('region wildcard with cloud wildcard (`*/us-east-1`)', () => {
    const cs = run([req({ instanceType: 'm6i.large', infra: { region: 'us-east-1' } })]);
    expect(cs.map((c) => c.region)).toEqual(['us-east-1']);
  });

  it('spot expands per zone with the zone price; infra zone keeps that zone only', () => {
    const row = bundledCatalog().rows.find((r) => r.instanceType === 'g5.xlarge')!;
    const spot = run([req({ instanceType: 'g5.xlarge', useSpot: true, infra: { cloud: 'aws', region: 'us-west-2' } })]);
    expect(spot.map((c) => c.zones)).toHaveLength(row.regions['us-west-2'].length);
    for (const c of spot) {
      expect(c.zones).toHaveLength(1);
      expect(c.spot).toBe(true);
      expect(c.hourlyPrice).toBe(row.spot[c.zones[0]]);
    }
    const one = run([req({ instanceType: 'g5.xlarge', infra: { cloud: 'aws', zone: 'us-west-2c' } })]);
    expect(one.map((c) => [c.region, c.zones])).toEqual([['us-west-2', ['us-west-2c']]]);
  });

  it('allowedClouds removes clouds', () => {
    const cs = run([req({ accelerator: { name: 'L4', count: 1 } })], 'cheapest', ['gcp']);
    expect(new Set(cs.map((c) => c.cloud))).toEqual(new Set(['gcp']));
  });

  it('local regions are ranked local-1 < local-2 < local-3, zone a before b, for spot', () => {
    const cs = run([req({ instanceType: 'local.cpu.small', useSpot: true })]);
    expect(cs.map((c) => c.zones[0])).toEqual(['local-1a', 'local-1b', 'local-2a', 'local-2b', 'local-3a', 'local-3b']);
  });

  it('rejects a bad node count', () => {
    expect(() => candidatesFor(resources([req()]), 0)).toThrow(RangeError);
  });
});

describe('candidatesFor ordering', () => {
  it('cheapest: {A100:1, L4:1} spot mixes both requests and both clouds, cheapest first', () => {
    const cs = run([req({ accelerator: { name: 'A100', count: 1 }, useSpot: true }), req({ accelerator: { name: 'L4', count: 1 }, useSpot: true })], 'cheapest', ['aws', 'gcp']);
    expect(prices(cs)).toEqual([...prices(cs)].sort((a, b) => a - b));
    expect(new Set(cs.map((c) => c.cloud))).toEqual(new Set(['aws', 'gcp']));
    expect(new Set(cs.map((c) => c.requestIndex))).toEqual(new Set([0, 1]));
    expect(cs[0].accelerator?.name).toBe('L4');
  });

  it('ordered: every candidate of the first request precedes the second, each cost-sorted', () => {
    const cs = run([req({ accelerator: { name: 'A100', count: 8 } }), req({ accelerator: { name: 'T4', count: 1 } })], 'ordered', ['aws', 'gcp']);
    const firstOfSecond = cs.findIndex((c) => c.requestIndex === 1);
    expect(firstOfSecond).toBeGreaterThan(0);
    expect(cs.slice(firstOfSecond).every((c) => c.requestIndex === 1)).toBe(true);
    for (const part of [cs.slice(0, firstOfSecond), cs.slice(firstOfSecond)]) {
      expect(prices(part)).toEqual([...prices(part)].sort((a, b) => a - b));
    }
    // The A100:8 request is more expensive, yet comes first: the user's order wins.
    expect(cs[0].hourlyPrice).toBeGreaterThan(cs[cs.length - 1].hourlyPrice);
  });

  it('a choice reachable from two requests appears once, at its first position', () => {
    const cs = run([req({ instanceType: 'm6i.xlarge' }), req({ cpus: { value: 4, atLeast: false }, infra: { cloud: 'aws' } })], 'ordered');
    const keys = cs.map((c) => `${c.region}/${c.instanceType}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(cs.filter((c) => c.instanceType === 'm6i.xlarge').every((c) => c.requestIndex === 0)).toBe(true);
  });

  it('ties are broken by cloud, region, zone and type, independent of catalog order', () => {
    const cs = run([req({ instanceType: 'm6i.large' })]);
    // us-east-1, us-east-2 and us-west-2 share one price: alphabetical region order.
    expect(cs.slice(0, 3).map((c) => c.region)).toEqual(['us-east-1', 'us-east-2', 'us-west-2']);
    const shuffled = { ...bundledCatalog(), rows: [...bundledCatalog().rows].reverse() };
    expect(candidatesFor(resources([req({ instanceType: 'm6i.large' })]), 1, { catalog: shuffled })).toEqual(cs);
  });
});

describe('filterBlocked', () => {
  const cs = run([req({ instanceType: 'g5.xlarge' })], 'cheapest');
  it('removes a blocked zone from on-demand zone lists and drops emptied candidates', () => {
    const out = filterBlocked(cs, [{ scope: 'zone', cloud: 'aws', region: 'us-east-2', zone: 'us-east-2a' }]);
    const east2 = out.find((c) => c.region === 'us-east-2')!;
    expect(east2.zones).toEqual(['us-east-2b', 'us-east-2c']);
    const all = ['us-east-2a', 'us-east-2b', 'us-east-2c'].map((zone) => ({ scope: 'zone' as const, cloud: 'aws', region: 'us-east-2', zone }));
    expect(filterBlocked(cs, all).some((c) => c.region === 'us-east-2')).toBe(false);
    expect(filterBlocked(cs, all)).toHaveLength(cs.length - 1);
  });
  it('region and cloud scopes', () => {
    expect(filterBlocked(cs, [{ scope: 'region', cloud: 'aws', region: 'us-west-2' }]).map((c) => c.region)).not.toContain('us-west-2');
    expect(filterBlocked(cs, [{ scope: 'cloud', cloud: 'aws' }])).toEqual([]);
    expect(filterBlocked(cs, [{ scope: 'cloud', cloud: 'gcp' }])).toEqual(cs);
  });
});

describe('reorderAfterLoss', () => {
  const cs = run([req({ instanceType: 'g5.xlarge' })], 'cheapest');
  it('EAGER_NEXT_REGION puts the lost region last', () => {
    const out = reorderAfterLoss(cs, { cloud: 'aws', region: 'us-east-1' }, 'EAGER_NEXT_REGION');
    expect(out[out.length - 1].region).toBe('us-east-1');
    expect(out[0].region).not.toBe('us-east-1');
  });
  it('FAILOVER puts the lost region first', () => {
    const out = reorderAfterLoss(cs, { cloud: 'aws', region: 'eu-west-1' }, 'FAILOVER');
    expect(out[0].region).toBe('eu-west-1');
    expect(out.slice(1)).toEqual(cs.filter((c) => c.region !== 'eu-west-1'));
  });
});

describe('blockScopeFor', () => {
  const cases: [string, CapacityError, unknown][] = [
    ['zone', new CapacityError('x', 'zone', { cloud: 'aws', region: 'us-east-1', zone: 'us-east-1a' }), { scope: 'zone', cloud: 'aws', region: 'us-east-1', zone: 'us-east-1a' }],
    ['zone, region derived from the zone', new CapacityError('x', 'zone', { cloud: 'gcp', zone: 'us-east4-c' }), { scope: 'zone', cloud: 'gcp', region: 'us-east4', zone: 'us-east4-c' }],
    ['zone error without a zone widens to its region', new CapacityError('x', 'zone', { cloud: 'aws', region: 'us-west-2' }), { scope: 'region', cloud: 'aws', region: 'us-west-2' }],
    ['region', new CapacityError('x', 'region', { cloud: 'aws', region: 'eu-west-1', zone: 'eu-west-1a' }), { scope: 'region', cloud: 'aws', region: 'eu-west-1' }],
    ['region error without a region widens to the cloud', new CapacityError('x', 'region', { cloud: 'gcp' }), { scope: 'cloud', cloud: 'gcp' }],
    ['cloud', new CapacityError('x', 'cloud', { cloud: 'aws', region: 'us-east-1' }), { scope: 'cloud', cloud: 'aws' }],
  ];
  for (const [name, err, want] of cases) it(name, () => expect(blockScopeFor(err)).toEqual(want));
});

describe('explainEmpty', () => {
  const cases: [string, ResourceRequest, ('aws' | 'gcp' | 'local')[] | undefined, string][] = [
    ['too many GPUs', req({ accelerator: { name: 'H100', count: 16 } }), undefined, 'no instance has 16 H100 on any enabled cloud (instances offer 1, 2, 4, 8)'],
    ['accelerator absent from a cloud', req({ accelerator: { name: 'A10G', count: 1 }, infra: { cloud: 'gcp' } }), undefined, 'any instance on gcp has no A10G GPUs'],
    ['unknown instance type', req({ instanceType: 'm99.huge' }), undefined, 'unknown instance type m99.huge'],
    ['cloud not enabled', req({ infra: { cloud: 'local' } }), ['aws', 'gcp'], 'cloud local is not enabled here (enabled: aws, gcp)'],
    ['unknown region', req({ infra: { cloud: 'aws', region: 'mars-1' } }), undefined, 'unknown region mars-1 for aws'],
    ['not offered in region', req({ instanceType: 'p4de.24xlarge', infra: { cloud: 'aws', region: 'eu-west-1' } }), undefined, 'no matching instance is offered in aws/eu-west-1 (offered in: aws/us-east-1, aws/us-west-2)'],
    ['cpus too many', req({ cpus: { value: 1000, atLeast: true } }), ['aws'], 'no instance has cpus 1000+ (available: 2, 4, 8, 16, 32)'],
    ['memory', req({ cpus: { value: 2, atLeast: false }, memoryGb: { value: 7, atLeast: false } }), ['aws'], 'no matching instance has memory 7 GB (available: 4, 8, 16)'],
  ];
  for (const [name, r, clouds, want] of cases) {
    it(name, () => {
      const spec = resources([r]);
      expect(candidatesFor(spec, 1, { allowedClouds: clouds })).toEqual([]);
      expect(explainEmpty(spec, { allowedClouds: clouds })).toBe(want);
    });
  }

  it('is undefined when something is feasible, and lists every request otherwise', () => {
    expect(explainEmpty(resources([req({ accelerator: { name: 'H100', count: 16 } }), req({ accelerator: { name: 'L4', count: 1 } })]))).toBeUndefined();
    const both = explainEmpty(resources([req({ accelerator: { name: 'H100', count: 16 } }), req({ instanceType: 'x.y' })]));
    expect(both).toBe('[0] H100:16, on-demand: no instance has 16 H100 on any enabled cloud (instances offer 1, 2, 4, 8); [1] x.y, on-demand: unknown instance type x.y');
  });
});

it('compareCandidates is a total order on distinct candidates', () => {
  const cs = run([req({ cpus: { value: 4, atLeast: true } })], 'cheapest', ['aws', 'gcp', 'local']);
  for (let i = 1; i < cs.length; i++) expect(compareCandidates(cs[i - 1], cs[i])).toBeLessThan(0);
});
