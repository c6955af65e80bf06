import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  candidateKey,
  candidatesFor,
  compareCandidates,
  effectiveCpus,
  filterBlocked,
  reorderAfterLoss,
  type BlockedScope,
  type Candidate,
} from '../../../core/optimizer/index.ts';
import { bundledCatalog, regionOfZone } from '../../../core/catalog/index.ts';
import type { Cloud, QuantityRequest, ResourceRequest } from '../../../core/spec/types.ts';
import { req, resources } from './helpers.ts';

const catalog = bundledCatalog();
const clouds: Cloud[] = ['aws', 'gcp', 'local'];
const regionsOf = (cloud: Cloud) => [...new Set(catalog.rows.filter((r) => r.cloud === cloud).flatMap((r) => Object.keys(r.regions)))];
const accNames = [...new Set(catalog.rows.flatMap((r) => (r.accelerator ? [r.accelerator.name] : [])))];

const quantity = (values: number[]): fc.Arbitrary<QuantityRequest | undefined> =>
  fc.option(fc.record({ value: fc.constantFrom(...values), atLeast: fc.boolean() }), { nil: undefined });

const infra = fc.oneof(
  fc.constant({}),
  fc.constantFrom(...clouds).map((cloud) => ({ cloud })),
  fc.constantFrom(...clouds).chain((cloud) => fc.constantFrom(...regionsOf(cloud)).map((region) => ({ cloud, region }))),
);

const request: fc.Arbitrary<ResourceRequest> = fc
  .record({
    infra,
    accelerator: fc.option(
      fc.record({ name: fc.constantFrom(...accNames), count: fc.constantFrom(0.5, 1, 2, 4, 8) }),
      { nil: undefined },
    ),
    cpus: quantity([2, 4, 8, 16, 32]),
    memoryGb: quantity([8, 16, 32, 64]),
    useSpot: fc.boolean(),
  })
  .map(({ accelerator, cpus, memoryGb, ...rest }) =>
    req({ ...rest, ...(accelerator ? { accelerator } : {}), ...(cpus ? { cpus } : {}), ...(memoryGb ? { memoryGb } : {}) }),
  );

const spec = fc.record({
  order: fc.constantFrom('cheapest' as const, 'ordered' as const),
  requests: fc.array(request, { minLength: 1, maxLength: 4 }),
});

function satisfies(c: Candidate, r: ResourceRequest): boolean {
  const q = (want: QuantityRequest | undefined, have: number) => !want || (want.atLeast ? have >= want.value : have === want.value);
  const cpus = effectiveCpus(r);
  if (!q(cpus, c.vcpus) || !q(r.memoryGb, c.memoryGb)) return false;
  if (r.useSpot !== c.spot) return false;
  if (r.infra.cloud && r.infra.cloud !== c.cloud) return false;
  if (r.infra.region && r.infra.region !== c.region) return false;
  if (r.accelerator) {
    if (c.accelerator?.name !== r.accelerator.name) return false;
    if (c.accelerator.count < r.accelerator.count) return false;
  } else if (c.accelerator) return false;
  return c.zones.every((z) => regionOfZone(catalog, c.cloud, z) === c.region);
}

describe('candidatesFor properties', () => {
  it('cheapest lists are cost-sorted; ordered lists keep request order, cost-sorted within a request', () => {
    fc.assert(
      fc.property(spec, ({ order, requests }) => {
        const cs = candidatesFor(resources(requests, order), 1);
        for (let i = 1; i < cs.length; i++) {
          const [a, b] = [cs[i - 1], cs[i]];
          if (order === 'cheapest') {
            expect(compareCandidates(a, b)).toBeLessThan(0);
          } else {
            expect(a.requestIndex).toBeLessThanOrEqual(b.requestIndex);
            if (a.requestIndex === b.requestIndex) expect(a.hourlyPrice).toBeLessThanOrEqual(b.hourlyPrice);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('every candidate satisfies the request it names, and appears once', () => {
    fc.assert(
      fc.property(spec, ({ order, requests }) => {
        const cs = candidatesFor(resources(requests, order), 1);
        for (const c of cs) expect(satisfies(c, requests[c.requestIndex])).toBe(true);
        expect(new Set(cs.map(candidateKey)).size).toBe(cs.length);
      }),
      { numRuns: 300 },
    );
  });
});

/** A candidate list plus scopes drawn from the places it mentions (so blocks actually hit). */
const listAndScopes = spec.chain(({ order, requests }) => {
  const cs = candidatesFor(resources(requests, order), 1);
  if (cs.length === 0) return fc.constant({ cs, scopes: [] as BlockedScope[] });
  const scope: fc.Arbitrary<BlockedScope> = fc.constantFrom(...cs).chain((c) =>
    fc.oneof(
      fc.constantFrom(...c.zones).map((zone): BlockedScope => ({ scope: 'zone', cloud: c.cloud, region: c.region, zone })),
      fc.constant<BlockedScope>({ scope: 'region', cloud: c.cloud, region: c.region }),
      fc.constant<BlockedScope>({ scope: 'cloud', cloud: c.cloud }),
    ),
  );
  return fc.record({ cs: fc.constant(cs), scopes: fc.array(scope, { maxLength: 5 }) });
});

describe('filterBlocked properties', () => {
  it('a blocked scope never reappears, and nothing outside blocked scopes is lost', () => {
    fc.assert(
      fc.property(listAndScopes, ({ cs, scopes }) => {
        const out = filterBlocked(cs, scopes);
        for (const c of out) {
          for (const s of scopes) {
            if (s.cloud !== c.cloud) continue;
            expect(s.scope).not.toBe('cloud');
            if (s.scope === 'region') expect(c.region).not.toBe(s.region);
            if (s.scope === 'zone' && s.region === c.region) expect(c.zones).not.toContain(s.zone);
          }
          expect(c.zones.length).toBeGreaterThan(0);
        }
        // Untouched candidates survive unchanged and in order.
        const hit = (c: Candidate) =>
          scopes.some((s) => s.cloud === c.cloud && (s.scope === 'cloud' || (s.region === c.region && (s.scope === 'region' || c.zones.includes(s.zone)))));
        const untouched = cs.filter((c) => !hit(c));
        const untouchedSet = new Set(untouched);
        expect(out.filter((c) => untouchedSet.has(c))).toEqual(untouched);
        // Order is kept: output keys form a subsequence of input keys.
        const pos = out.map((c) => cs.findIndex((x) => x.cloud === c.cloud && x.region === c.region && x.instanceType === c.instanceType && x.spot === c.spot && x.zones.includes(c.zones[0])));
        expect(pos.every((p) => p >= 0)).toBe(true);
        expect(pos).toEqual([...pos].sort((a, b) => a - b));
      }),
      { numRuns: 300 },
    );
  });
});

describe('reorderAfterLoss properties', () => {
  it('is a permutation that partitions by the lost region, stable within each part', () => {
    const withLost = spec.chain(({ order, requests }) => {
      const cs = candidatesFor(resources(requests, order), 1);
      const lost = cs.length > 0 ? fc.constantFrom(...cs).map((c) => ({ cloud: c.cloud, region: c.region })) : fc.constant({ cloud: 'aws', region: 'us-east-1' });
      return fc.record({ cs: fc.constant(cs), lost, strategy: fc.constantFrom('EAGER_NEXT_REGION' as const, 'FAILOVER' as const) });
    });
    fc.assert(
      fc.property(withLost, ({ cs, lost, strategy }) => {
        const out = reorderAfterLoss(cs, lost, strategy);
        expect([...out].map(candidateKey).sort()).toEqual([...cs].map(candidateKey).sort());
        const inLost = (c: Candidate) => c.cloud === lost.cloud && c.region === lost.region;
        const flags = out.map(inLost);
        const firstPart = strategy === 'FAILOVER';
        const boundary = flags.indexOf(!firstPart);
        if (boundary >= 0) expect(flags.slice(boundary).every((f) => f === !firstPart)).toBe(true);
        expect(out.filter(inLost)).toEqual(cs.filter(inLost));
        expect(out.filter((c) => !inLost(c))).toEqual(cs.filter((c) => !inLost(c)));
      }),
      { numRuns: 300 },
    );
  });
});
