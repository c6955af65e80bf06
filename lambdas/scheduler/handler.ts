// The scheduler Lambda: the 1-minute schedule (EventBridge) and on-demand wakes (async invokes after a
// submit or a slot release) both run one schedulerTick. ONE instance at a time: the stack must give
// this function reserved concurrency 1 (extra async wakes then queue in Lambda's retry queue, and a
// queued wake finds nothing to do or does the next bit). Only scheduled ticks sweep (stall check and
// janitor) unconditionally; a wake sweeps only when the last sweep is janitorIntervalSeconds old.
import type { Deps } from '../../core/usecases/deps.ts';
import { schedulerTick, type TickResult } from '../../core/usecases/scheduler.ts';
import { awsDeps, lazyHandler } from '../aws-deps.ts';

/** What invokes the scheduler: an EventBridge schedule event, or a wake payload `{ reason }`. */
export interface SchedulerEvent {
  source?: string;
  'detail-type'?: string;
  /** `"schedule"` or `"sweep"` (an operator) force a sweep like the schedule does. */
  reason?: string;
  /**
   * Wakes (`{source: "skyless.wake", at}`): when the wake was sent, epoch ms. A wake that waited
   * behind a tick which started after it is skipped (see TickOptions.wokenAt); without `at` every
   * wake runs a full tick.
   */
  at?: number;
}

/** EventBridge rule schedules send `Scheduled Event`; EventBridge Scheduler sends the configured input. */
export function isScheduled(event: SchedulerEvent | undefined): boolean {
  return (event?.source === 'aws.events' && event['detail-type'] === 'Scheduled Event') || event?.reason === 'schedule' || event?.reason === 'sweep';
}

export function createHandler(deps: Deps) {
  return async function handler(event?: SchedulerEvent): Promise<TickResult> {
    if (isScheduled(event)) return schedulerTick(deps, { sweep: true });
    const at = event?.at;
    return schedulerTick(deps, typeof at === 'number' && Number.isFinite(at) ? { wokenAt: at } : {});
  };
}

/** The Lambda entry point; builds the AWS dependencies on the first event, never at import. */
export const handler = lazyHandler(async () => createHandler(await awsDeps()));
