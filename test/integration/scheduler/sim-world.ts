// A small simulated deployment for scheduler integration tests: the real lambdas, the real
// job.asl.json on the local engine, the real store on (in-process) dynalite, and SimCloud instances
// whose agents call the real API. Time is compressed so a job's life takes a fraction of a second.
import { createApiApp } from '../../../lambdas/api/app.ts';
import { createHandler as workflowHandler } from '../../../lambdas/workflow/handler.ts';
import { createHandler as eventsHandler } from '../../../lambdas/events/handler.ts';
import { createHandler as schedulerHandler } from '../../../lambdas/scheduler/handler.ts';
import { startSimPlane, simApi, type SimPlane } from '../../../adapters/sim/sim-plane.ts';
import type { SimCloudOptions } from '../../../adapters/sim/sim-cloud.ts';
import type { Settings } from '../../../core/usecases/deps.ts';
import { isTerminal } from '../../../core/job/status.ts';
import { testSettings } from '../../unit/scheduler-fixtures.ts';

export const SIM_YAML = 'name: sim\nresources:\n  infra: aws/us-east-1\n  cpus: 2\n  use_spot: true\nrun: echo hi\n';

export interface WorldOptions {
  settings?: Partial<Settings>;
  cloud?: Partial<Omit<SimCloudOptions, 'api' | 'emit' | 'rng'>>;
  seed?: number;
  scheduleEveryMs?: number;
  duplicateEventRate?: number;
}

export async function startWorld(o: WorldOptions = {}): Promise<SimPlane> {
  return startSimPlane({
    seed: o.seed ?? 1,
    scheduleEveryMs: o.scheduleEveryMs ?? 0,
    duplicateEventRate: o.duplicateEventRate,
    handlers: { api: (d) => simApi(createApiApp(d, { callerOf: () => 'tester' })), workflow: workflowHandler, events: eventsHandler, scheduler: schedulerHandler },
    settings: testSettings({
      heartbeatSeconds: 1,
      heartbeatTimeoutSeconds: 20,
      registerTimeoutSeconds: 20,
      backoff: { initial: 1, factor: 1.6, max: 2, jitter: 0.4 },
      teardownPollSeconds: 1,
      janitorIntervalSeconds: 3600,
      ...o.settings,
    }),
    cloud: {
      cloud: 'aws',
      timeScale: 0.001,
      // Spread, so that launches end one by one and ticks see partial room.
      launchLatencySeconds: (rng) => 20 + rng() * 200,
      setupSeconds: () => 10,
      runSeconds: (_job, rng) => 50 + rng() * 150,
      preemptionsPerHour: 0,
      terminateSeconds: 20,
      ...o.cloud,
    },
  });
}

export async function submit(plane: SimPlane, n: number, yaml = SIM_YAML): Promise<number[]> {
  const replies = await Promise.all(Array.from({ length: n }, () => plane.api('POST', '/jobs', { yaml })));
  for (const r of replies) if (r.status !== 201) throw new Error(`submit failed: ${r.status} ${JSON.stringify(r.body)}`);
  return replies.flatMap((r) => r.body.jobIds as number[]).sort((a, b) => a - b);
}

/** Polls until `check` holds (or throws after `timeoutMs`, saying what it waited for). */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function allTerminal(plane: SimPlane, ids: number[]): Promise<boolean> {
  for (const id of ids) {
    const j = await plane.deps.store.getJob(id);
    if (!j || !isTerminal(j.status) || !j.finalizedAt) return false;
  }
  return true;
}
