// The workflow's state between Task states of statemachines/job.asl.json, and where it goes next.
//
// The state machine is a ring of the three waits of an attempt — WaitForLaunchSlot → Route →
// AwaitNodes → AwaitRun → WaitForLaunchSlot — because billing counts every state entered and the
// waits are the only states a job must pass through. Each wait state's Task first settles the job
// (runs every synchronous step: launch, teardown, outcome, finalize; core/usecases/workflow/settle.ts)
// and parks only if the job now waits for what that state waits for; otherwise it completes its own
// token at once and the ring moves on. `Route` (after WaitForLaunchSlot) is the only branch.

import type { WaitKind } from './next-step.ts';

/**
 * The values Route branches on. SETTLE: synchronous work is left that one invocation may not do
 * (bounded work per Lambda call); WaitForLaunchSlot settles again.
 */
export type Next = 'PARK_SLOT' | 'AWAIT_NODES' | 'AWAIT_RUN' | 'PAUSE' | 'SETTLE' | 'CONTINUE_AS_NEW' | 'DONE';

export const NEXT_VALUES: readonly Next[] = ['PARK_SLOT', 'AWAIT_NODES', 'AWAIT_RUN', 'PAUSE', 'SETTLE', 'CONTINUE_AS_NEW', 'DONE'];

/** Every field is always present: the ASL's paths ($.waitSeconds, $.registerTimeoutSeconds …) must resolve. */
export interface Cursor {
  jobId: number;
  /** Settles in this execution; at `cyclesPerExecution` it continues as a new one (history bound). */
  cycle: number;
  next: Next;
  attempt: number;
  waitSeconds: number;
  heartbeatTimeoutSeconds: number;
  registerTimeoutSeconds: number;
}

export const WAIT_NEXT: Record<WaitKind, Next> = { SLOT: 'PARK_SLOT', NODES: 'AWAIT_NODES', RUN: 'AWAIT_RUN' };

/**
 * Where a wait's completion leads, when a completer (not the parker) ends it: the state after it in
 * an attempt's order. Only WaitForLaunchSlot's output is routed (AwaitNodes and AwaitRun have a fixed
 * Next); the state reached settles again, so a wrong guess costs a hand-over, never a wrong action.
 */
export const RESUME_NEXT: Record<WaitKind, Next> = { SLOT: 'AWAIT_NODES', NODES: 'AWAIT_RUN', RUN: 'PARK_SLOT' };

export function makeCursor(
  base: { jobId: number; cycle: number },
  timeouts: { heartbeatTimeoutSeconds: number; registerTimeoutSeconds: number },
  next: Next,
  attempt = 0,
  waitSeconds = 0,
): Cursor {
  return {
    jobId: base.jobId,
    cycle: base.cycle,
    next,
    attempt,
    waitSeconds: Math.max(0, Math.ceil(waitSeconds)),
    heartbeatTimeoutSeconds: timeouts.heartbeatTimeoutSeconds,
    registerTimeoutSeconds: timeouts.registerTimeoutSeconds,
  };
}
