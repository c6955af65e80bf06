// Property: whatever the limits, priorities, submission bursts and at-least-once noise (concurrent
// and repeated scheduler ticks, SLOT tokens completed a second time by someone else, agent calls
// repeated, cloud events delivered twice, spot preemptions), the number of jobs holding a launch slot
// never exceeds maxLaunching and launching + running never exceeds maxRunning, at ANY moment (the
// census checks after every job write, not at sampled times), and every job still finishes with no
// slot left held. Runs the real engine, lambdas, store and API on the simulated cloud; bounded runs.
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { SimPlane } from '../../adapters/sim/sim-plane.ts';
import { schedulerTick } from '../../core/usecases/scheduler.ts';
import { allTerminal, startWorld, until } from '../integration/scheduler/sim-world.ts';

const yamlWith = (priority: number) => `name: p${priority}\nresources:\n  infra: aws/us-east-1\n  cpus: 2\n  use_spot: true\n  priority: ${priority}\nrun: echo hi\n`;

type Noise = 'tick' | 'concurrent-ticks' | 'replay-slot-token' | 'wait';

const scenario = fc.record({
  maxLaunching: fc.integer({ min: 1, max: 3 }),
  extraRunning: fc.integer({ min: 0, max: 3 }),
  /** Submission bursts: each burst's jobs are submitted concurrently. */
  bursts: fc.array(fc.array(fc.constantFrom(-5, 0, 0, 3, 10), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 3 }),
  noise: fc.array(fc.constantFrom<Noise>('tick', 'concurrent-ticks', 'replay-slot-token', 'wait'), { maxLength: 8 }),
  preemptionsPerHour: fc.constantFrom(0, 0, 15),
  repeatAgentCallRate: fc.constantFrom(0, 0.3),
  duplicateEventRate: fc.constantFrom(0, 0.5),
  seed: fc.integer({ min: 1, max: 1_000_000 }),
});

let plane: SimPlane | undefined;
afterEach(async () => {
  await plane?.close();
  plane = undefined;
});

describe('scheduler limits under concurrency and duplicates (property)', () => {
  it('never exceeds maxLaunching or maxRunning, and every job finishes with no slot held', async () => {
    // Bounded by time as well as runs: a loaded machine checks fewer scenarios (at least 2) rather
    // than failing for being slow; a job that never finishes still fails its 200 s wait.
    let ran = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async (sc) => {
        ran++;
        const maxRunning = sc.maxLaunching + sc.extraRunning;
        plane = await startWorld({
          settings: { maxLaunching: sc.maxLaunching, maxRunning },
          cloud: { preemptionsPerHour: sc.preemptionsPerHour, repeatAgentCallRate: sc.repeatAgentCallRate },
          duplicateEventRate: sc.duplicateEventRate,
          seed: sc.seed,
        });
        const p = plane;
        try {
          const ids: number[] = [];
          let noiseAt = 0;
          for (const burst of sc.bursts) {
            const replies = await Promise.all(burst.map((priority) => p.api('POST', '/jobs', { yaml: yamlWith(priority) })));
            for (const r of replies) {
              expect(r.status).toBe(201);
              ids.push(...(r.body.jobIds as number[]));
            }
            // Noise between bursts (and so during admission).
            for (const n of sc.noise.slice(noiseAt, noiseAt + 3)) {
              if (n === 'tick') await p.scheduledTick();
              else if (n === 'concurrent-ticks') await Promise.all([p.scheduledTick(), schedulerTick(p.deps), schedulerTick(p.deps, { sweep: false })]);
              else if (n === 'replay-slot-token') {
                // Someone else completes parked SLOT tokens (a retried grant): the workflows must
                // re-check the stored slot and park again rather than launch.
                for (const id of ids) {
                  const j = await p.deps.store.getJob(id);
                  if (j?.wait?.kind === 'SLOT') await p.deps.workflows.sendTaskSuccess(j.wait.token, { granted: true }).catch(() => {});
                }
              } else await new Promise((r) => setTimeout(r, 30));
            }
            noiseAt += 3;
          }
          await until('every job finished', () => allTerminal(p, ids), 200_000);
          for (const id of ids) expect((await p.deps.store.getJob(id))!.status).toBe('SUCCEEDED');
          expect(p.census.maxLaunching).toBeLessThanOrEqual(sc.maxLaunching);
          expect(p.census.maxHolding).toBeLessThanOrEqual(maxRunning);
          expect(p.census.slots).toEqual({ WAITING: 0, LAUNCHING: 0, RUNNING: 0 });
        } finally {
          await p.close();
          plane = undefined;
        }
      }),
      { numRuns: 6, endOnFailure: true, interruptAfterTimeLimit: 250_000, markInterruptAsFailure: false },
    );
    expect(ran).toBeGreaterThanOrEqual(2);
  }, 600_000);
});
