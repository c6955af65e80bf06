// Admission planning for one scheduler tick (docs/behaviour.md §4), pure. The scheduler counts jobs per slot state
// from the store, lists the waiting ones, and grants what this returns.
//
// Terms. Waiting: wants a launch slot (a first launch, or a recovery — recoveries need a launch slot
// too). Launching: holds a launch slot (STARTING, or RECOVERING while provisioning). Running: holds a
// run slot.
//
// Rules:
//  - Order: highest priority first, then oldest `since` first, then lowest jobId (a total order, so
//    equal entries never depend on the order the store returned them in).
//  - A granted job becomes launching at once and running later, without another admission step. So
//    it counts against BOTH limits now: grants ≤ maxLaunching − launching and
//    grants ≤ maxRunning − (launching + running). Otherwise jobs admitted while the run limit had
//    room could all finish launching into a full run limit.
//  - Strictly in order: a grant never skips a waiting job for a later one (every waiting job needs
//    the same kind of slot, so if the first does not fit, none does).
//  - Priority never preempts: running and launching jobs are not in the input and are never taken
//    back; counts above a lowered limit simply grant nothing.
//  - A job listed twice (duplicate events, a page boundary) is granted at most once.

import { ValidationError } from '../errors.ts';

export interface WaitingJob {
  jobId: number;
  priority: number;
  /** When it started waiting (JobRecord.slotSince), epoch ms. */
  since: number;
}

export interface AdmissionInput {
  /** Waiting jobs, in any order. */
  waiting: readonly WaitingJob[];
  launching: number;
  running: number;
  maxLaunching: number;
  maxRunning: number;
}

/** Admission order: priority descending, then since ascending, then jobId ascending. */
export function compareWaiting(a: WaitingJob, b: WaitingJob): number {
  return b.priority - a.priority || a.since - b.since || a.jobId - b.jobId;
}

function nonNegativeInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) throw new ValidationError(`planAdmission: ${name} must be a non-negative integer, got ${value}`);
}

/** How many more jobs may be granted a launch slot now. */
export function freeLaunchSlots(input: Omit<AdmissionInput, 'waiting'>): number {
  const { launching, running, maxLaunching, maxRunning } = input;
  nonNegativeInteger('launching', launching);
  nonNegativeInteger('running', running);
  nonNegativeInteger('maxLaunching', maxLaunching);
  nonNegativeInteger('maxRunning', maxRunning);
  return Math.max(0, Math.min(maxLaunching - launching, maxRunning - launching - running));
}

/** The job IDs to grant a launch slot, in admission order. */
export function planAdmission(input: AdmissionInput): number[] {
  const free = freeLaunchSlots(input);
  for (const w of input.waiting) {
    if (!Number.isInteger(w.jobId) || !Number.isFinite(w.priority) || !Number.isFinite(w.since)) {
      throw new ValidationError(`planAdmission: bad waiting entry ${JSON.stringify(w)}`);
    }
  }
  if (free === 0) return [];
  const ordered = [...input.waiting].sort(compareWaiting);
  const granted: number[] = [];
  const seen = new Set<number>();
  for (const w of ordered) {
    if (granted.length === free) break;
    if (seen.has(w.jobId)) continue;
    seen.add(w.jobId);
    granted.push(w.jobId);
  }
  return granted;
}
