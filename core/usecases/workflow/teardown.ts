// Step TEARDOWN: terminates a decided attempt's instances, records its cost once, and ends it.

import type { Deps } from '../deps.ts';
import { providerFor } from '../deps.ts';
import { mutateJob } from '../mutate.ts';
import { endAttempt } from '../completers.ts';
import { withTask } from '../../workflow/changes.ts';
import { describeOutcome } from '../../job/format.ts';

/**
 * Instance states that end billing (EC2 stops charging at `shutting-down`) and cannot come back: the
 * attempt counts as torn down once every instance is in one of them, so the workflow need not poll
 * for `terminated`. The janitor sweeps anything a terminate call did not reach.
 */
const GOING_OR_GONE = new Set(['shutting-down', 'terminated']);

/** 'ENDED' when the attempt is torn down (or already was); 'PENDING' when instances are still up. */
export async function teardown(deps: Deps, jobId: number, taskIndex: number, attemptNo: number): Promise<'ENDED' | 'PENDING'> {
  const attempt = await deps.store.getAttempt(jobId, taskIndex, attemptNo);
  if (!attempt || attempt.state === 'ENDED') return 'ENDED';
  const provider = providerFor(deps, attempt.candidate.cloud);
  await provider.terminate(jobId, taskIndex, attemptNo, attempt.candidate.region);
  const remaining = (await provider.describe({ jobId, regions: [attempt.candidate.region] })).filter(
    (i) => i.tags['skyless:task'] === String(taskIndex) && i.tags['skyless:attempt'] === String(attemptNo) && !GOING_OR_GONE.has(i.state),
  );
  if (remaining.length) return 'PENDING';
  const now = deps.clock.now();
  const hours = Math.max(0, now - attempt.startedAt) / 3_600_000;
  const cost = attempt.candidate.hourlyPrice * attempt.nodes.length * hours;
  await mutateJob(deps, jobId, (j) => {
    const tt = j.tasks[taskIndex];
    if (tt.costedAttempt === attemptNo) return null;
    return {
      job: withTask(j, { costUsd: tt.costUsd + cost, costedAttempt: attemptNo }, taskIndex),
      events: [{ jobId, time: now, task: taskIndex, attempt: attemptNo, reason: `attempt ${attemptNo} torn down (${attempt.outcome ? describeOutcome(attempt.outcome) : 'no outcome'}); cost $${cost.toFixed(4)}` }],
    };
  });
  await endAttempt(deps, attempt, { costUsd: cost });
  await deps.wakeScheduler();
  return 'ENDED';
}
