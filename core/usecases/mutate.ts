// Read-modify-write of one job item with optimistic concurrency. `change` is a pure function of the
// record it is given; on a version conflict the record is re-read and `change` runs again, so a
// decision is always made on the latest state (never on a stale event's view).

import type { JobRecord, JobEvent } from '../job/records.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import type { Deps } from './deps.ts';
import { publishStatusChanges } from './integration-events.ts';

export interface Change {
  job: JobRecord;
  events?: JobEvent[];
}

const MAX_TRIES = 12;

export async function mutateJob(
  deps: Deps,
  jobId: number,
  change: (job: JobRecord) => Change | null,
): Promise<{ job: JobRecord; changed: boolean; events: JobEvent[] }> {
  for (let i = 0; ; i++) {
    const current = await deps.store.getJob(jobId);
    if (!current) throw new NotFoundError(`managed job ${jobId} not found`);
    const next = change(current);
    if (!next) return { job: current, changed: false, events: [] };
    try {
      const stored = await deps.store.putJob(next.job, current.version);
      const events = next.events ?? [];
      if (events.length) {
        await deps.store.appendEvents(events);
        await publishStatusChanges(deps, stored, events);
      }
      return { job: stored, changed: true, events };
    } catch (err) {
      if (err instanceof ConflictError && i < MAX_TRIES) continue;
      throw err;
    }
  }
}
