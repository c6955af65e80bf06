// Runs on the 1-minute schedule and on demand; reserved concurrency 1 on AWS (one tick at a time).
import type { Deps } from '../../core/usecases/deps.ts';
import { schedulerTick } from '../../core/usecases/scheduler.ts';

export function createHandler(deps: Deps) {
  return async function handler(): Promise<unknown> {
    return schedulerTick(deps);
  };
}
