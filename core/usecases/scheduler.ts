// One scheduler tick (SPEC §4): recount launching and running jobs from the store (never trust a
// running counter: a lost event must not leak a slot), then grant launch slots to waiting jobs in
// priority-then-age order without exceeding either limit. Runs as a single instance at a time.

import { planAdmission } from '../admission/plan.ts';
import type { Deps } from './deps.ts';
import { mutateJob } from './mutate.ts';
import { signalWait } from './workflow-steps.ts';

export interface TickResult {
  launching: number;
  running: number;
  waiting: number;
  granted: number[];
}

export async function schedulerTick(deps: Deps): Promise<TickResult> {
  const { maxLaunching, maxRunning } = deps.settings;
  const [launching, running] = await Promise.all([deps.store.countJobsBySlot('LAUNCHING'), deps.store.countJobsBySlot('RUNNING')]);
  const room = Math.min(maxLaunching - launching, maxRunning - running - launching);
  if (room <= 0) return { launching, running, waiting: 0, granted: [] };
  // Bounded work per tick: look at no more waiting jobs than could be admitted now.
  const page = await deps.store.listJobsBySlot('WAITING', Math.min(room, 1000));
  const plan = planAdmission({
    waiting: page.jobs.map((j) => ({ jobId: j.jobId, priority: j.priority, since: j.slotSince })),
    launching,
    running,
    maxLaunching,
    maxRunning,
  });
  const granted: number[] = [];
  const grantOne = async (jobId: number) => {
    const { job, changed } = await mutateJob(deps, jobId, (j) =>
      j.slot === 'WAITING' && !j.cancelRequested ? { job: { ...j, slot: 'LAUNCHING', slotSince: deps.clock.now() } } : null,
    );
    if (!changed) return;
    granted.push(jobId);
    await signalWait(deps, job, ['SLOT'], undefined, { granted: true });
  };
  const queue = [...plan];
  await Promise.all(
    Array.from({ length: Math.min(16, queue.length) }, async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) await grantOne(id);
    }),
  );
  return { launching: launching + granted.length, running, waiting: page.jobs.length - granted.length, granted: granted.sort((a, b) => a - b) };
}
