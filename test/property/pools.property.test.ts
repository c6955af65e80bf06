// Property (issue 11): whatever mix of submissions, cancels, worker preemptions, pool applies (size
// and setup changes), downs and duplicated scheduler ticks, no pool item ever gives one job to two
// workers or two jobs to one (exclusive) worker — checked on EVERY pool write, not at sampled times —
// and every job ends terminal and finalized with no worker holding it. Runs the real API, scheduler,
// pool reconciler and store (dynalite) with simulated workers on the simulated cloud.
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { SimPlane } from '../../adapters/sim/sim-plane.ts';
import type { PoolRecord } from '../../core/pools/records.ts';
import { schedulerTick } from '../../core/usecases/scheduler.ts';
import { allTerminal, startWorld, until } from '../integration/scheduler/sim-world.ts';

const poolYaml = (workers: number, setup: string) => `pool:\n  workers: ${workers}\nresources:\n  infra: aws/us-east-1\n  cpus: 2\nsetup: echo ${setup}\n`;
const JOB = 'name: pj\nresources:\n  infra: aws/us-east-1\n  cpus: 2\nrun: echo hi\n';

type Op =
  | { kind: 'submit'; n: number }
  | { kind: 'cancel'; pick: number }
  | { kind: 'preempt'; pick: number }
  | { kind: 'apply'; workers: number; setup: 'a' | 'b' }
  | { kind: 'down' }
  | { kind: 'ticks' }
  | { kind: 'wait' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('submit' as const), n: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('preempt' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('apply' as const), workers: fc.integer({ min: 1, max: 3 }), setup: fc.constantFrom('a' as const, 'b' as const) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'down' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'ticks' as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'wait' as const }) },
);

function violations(p: PoolRecord): string[] {
  const out: string[] = [];
  const seen = new Map<number, number>();
  for (const w of p.workers) {
    if (w.assignments.length > w.offers.slots) out.push(`worker ${w.id} holds ${w.assignments.length} jobs (${w.assignments.map((a) => a.jobId)})`);
    for (const a of w.assignments) {
      if (seen.has(a.jobId)) out.push(`job ${a.jobId} on workers ${seen.get(a.jobId)} and ${w.id}`);
      seen.set(a.jobId, w.id);
    }
  }
  return out;
}

let plane: SimPlane | undefined;
afterEach(async () => {
  await plane?.close();
  plane = undefined;
});

describe('pool assignment (property)', () => {
  it('never one job on two workers nor two jobs on one worker; every job ends holding no worker', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 3, maxLength: 14 }), fc.integer({ min: 1, max: 1_000_000 }), async (ops, seed) => {
        plane = await startWorld({
          seed,
          settings: { maxLaunching: 4, maxRunning: 8, poolIdleSeconds: 1, workerPollMs: 20 },
          cloud: { runSeconds: (_j, rng) => 20 + rng() * 80, setupSeconds: () => 10, launchLatencySeconds: (rng) => 10 + rng() * 40 },
        });
        const p = plane;
        const bad: string[] = [];
        const pools = p.deps.pools!;
        const put = pools.putPool.bind(pools);
        pools.putPool = async (rec, expected) => {
          bad.push(...violations(rec));
          return put(rec, expected);
        };
        const ids: number[] = [];
        const applyPool = async (workers: number, setup: string) => {
          const r = await p.api('POST', '/pools', { name: 'p', yaml: poolYaml(workers, setup) });
          // A pool being torn down refuses an apply (400) until it is gone.
          expect([200, 201, 400]).toContain(r.status);
        };
        await applyPool(2, 'a');
        for (const o of ops) {
          if (o.kind === 'submit') {
            const r = await p.api('POST', '/jobs', { yaml: JOB, pool: 'p', numJobs: o.n });
            if (r.status === 201) ids.push(...(r.body.jobIds as number[]));
            else expect(r.status).toBe(400); // the pool is down or gone
          } else if (o.kind === 'cancel' && ids.length) {
            const r = await p.api('POST', '/jobs/cancel', { jobIds: [ids[o.pick % ids.length]] });
            expect(r.status).toBe(200);
          } else if (o.kind === 'preempt') {
            const rec = await pools.getPool('p');
            const live = rec?.workers.filter((w) => w.instanceIds.length) ?? [];
            if (live.length) await p.cloud.preemptNow(live[o.pick % live.length].instanceIds[0]);
          } else if (o.kind === 'apply') await applyPool(o.workers, o.setup);
          else if (o.kind === 'down') {
            const r = await p.api('POST', '/pools/p/down', {});
            expect([200, 404]).toContain(r.status);
          } else if (o.kind === 'ticks') await Promise.all([p.scheduledTick(), schedulerTick(p.deps), schedulerTick(p.deps, { sweep: false })]);
          else await new Promise((r) => setTimeout(r, 40));
        }
        // Every job must end: let the pool exist (an apply after a down), then wait.
        await until('pool back after a down', async () => {
          const r = await p.api('POST', '/pools', { name: 'p', yaml: poolYaml(2, 'a') });
          return r.status === 200 || r.status === 201;
        }, 60_000);
        await until('every job finished', async () => {
          await p.scheduledTick();
          return allTerminal(p, ids);
        }, 120_000);
        const final = await pools.getPool('p');
        const held = new Set(final?.workers.flatMap((w) => w.assignments.map((a) => a.jobId)) ?? []);
        for (const id of ids) {
          const j = (await p.deps.store.getJob(id))!;
          expect(['SUCCEEDED', 'CANCELLED']).toContain(j.status);
          expect(j.slot).toBe('NONE');
          expect(held.has(id)).toBe(false);
        }
        expect(bad).toEqual([]);
        await p.close();
        plane = undefined;
      }),
      { numRuns: 5, endOnFailure: true },
    );
  }, 600_000);
});
