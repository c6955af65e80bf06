// Every status change is published as an integration event on the skyless bus, so that users can
// route job outcomes to their own targets (Slack, another workflow) with plain EventBridge rules.

import type { JobRecord, JobEvent } from '../job/records.ts';
import type { BusEvent } from '../ports.ts';
import type { Deps } from './deps.ts';

export const EVENT_SOURCE = 'skyless';
export const STATUS_CHANGE = 'Managed Job Status Change';
/** Bumped when the detail's shape changes incompatibly. */
export const STATUS_CHANGE_VERSION = '1';

export function statusChangeEvents(job: JobRecord, events: JobEvent[], now: number): BusEvent[] {
  return events
    .filter((e) => e.to !== undefined)
    .map((e) => {
      const task = e.task === null ? undefined : job.tasks[e.task];
      return {
        source: EVENT_SOURCE,
        'detail-type': STATUS_CHANGE,
        time: new Date(now).toISOString(),
        resources: [],
        detail: {
          version: STATUS_CHANGE_VERSION,
          jobId: job.jobId,
          name: job.name,
          task: e.task,
          taskName: task?.name,
          status: e.to,
          previous: e.from ?? null,
          jobStatus: job.status,
          reason: e.reason,
          recoveries: task?.recoveryCount ?? 0,
          costUsd: Number((task?.costUsd ?? 0).toFixed(6)),
        },
      };
    });
}

/** Best effort, like EventBridge itself: a failed publish is logged, never undoes a stored change. */
export async function publishStatusChanges(deps: Deps, job: JobRecord, events: JobEvent[]): Promise<void> {
  const out = statusChangeEvents(job, events, deps.clock.now());
  if (!out.length) return;
  try {
    await deps.bus.publish(out);
  } catch (err) {
    deps.log?.('publishing status change events failed', { jobId: job.jobId, error: String(err) });
  }
}
