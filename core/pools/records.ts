// Pool records (SPEC §5). A pool is ONE item holding its spec and every worker with what each worker
// holds, so that an assignment — "worker W takes job J" — is one conditional write that can check
// both invariants at once: no other worker of the pool holds J, and W has room for J. (Jobs of a
// pool run only on that pool's workers, so no other item can hold J.) The job item mirrors the
// assignment (`poolWorker`) for display only; the pool item is the truth.
//
// Terms.
//  - offer: what a worker gives to jobs. Today a whole worker (`slots: 1`); packing (issue 12) adds
//    fractions of its accelerators here without changing how assignments are written.
//  - assignment: a job's attempt on a worker and what it took of the offer. A worker is free for a
//    job when the sum of its assignments' `takes` plus the job's need fits its offer.
//  - generation: bumped by `pool apply` when anything but `pool:` changed; workers of an older
//    generation take no new job and are terminated once idle (drained).

import type { JobSpec } from '../spec/types.ts';
import type { Candidate } from '../optimizer/types.ts';

/** PROVISIONING → SETTING_UP → READY; DRAINING: no new jobs, terminated once idle; FAILED: setup failed or lost. */
export type WorkerState = 'PROVISIONING' | 'SETTING_UP' | 'READY' | 'DRAINING' | 'FAILED';
/** As `pool status` shows it: READY with an assignment is BUSY. */
export type WorkerDisplayState = WorkerState | 'BUSY';

export interface Offer {
  /** Whole-worker jobs it can hold at once (1: a worker is exclusively one job's). */
  slots: number;
}

export interface Assignment {
  jobId: number;
  taskIndex: number;
  /** The job's attempt on this worker: fences reports from an earlier run of the same job. */
  attempt: number;
  takes: Offer;
  at: number;
}

export interface WorkerRecord {
  /** Unique in the deployment (a counter), also the instance's `skyless:worker` tag. */
  id: number;
  generation: number;
  state: WorkerState;
  offers: Offer;
  assignments: Assignment[];
  launchedAt: number;
  /** What it was launched as (set once the provider answered). */
  candidate?: Candidate;
  zone?: string;
  instanceIds: string[];
  ip?: string;
  registeredAt?: number;
  readyAt?: number;
  /** When its last assignment ended (or it became READY): scale-in waits an idle timeout from here. */
  idleSince?: number;
  failedReason?: string;
}

export interface PoolRecord {
  name: string;
  user: string;
  /** The pool YAML as parsed (one task; its `run` is ignored). */
  spec: JobSpec;
  minWorkers: number;
  maxWorkers: number;
  generation: number;
  /** Hash of what makes a worker (setup, resources, workdir, file_mounts, envs): a change → new generation. */
  workerConfigHash: string;
  createdAt: number;
  updatedAt: number;
  /** Set by `pool down`: every worker is terminated, then the item is deleted. */
  downRequestedAt?: number;
  workers: WorkerRecord[];
  /** Setup failures in the current generation: launching stops at MAX_SETUP_FAILURES. */
  setupFailures: number;
  /** No worker launch before this time (every candidate had no capacity). */
  launchBackoffUntil?: number;
  lastError?: string;
  version: number;
}

export const WHOLE_WORKER: Offer = { slots: 1 };

export function isBusy(w: WorkerRecord): boolean {
  return w.assignments.length > 0;
}

export function displayState(w: WorkerRecord): WorkerDisplayState {
  return w.state === 'READY' && isBusy(w) ? 'BUSY' : w.state;
}

/** Whether `need` fits beside what the worker already holds. */
export function hasRoom(w: WorkerRecord, need: Offer): boolean {
  const used = w.assignments.reduce((n, a) => n + a.takes.slots, 0);
  return used + need.slots <= w.offers.slots;
}

/** Workers that are (or will be) machines: FAILED ones are being terminated and count for nothing. */
export function isAlive(w: WorkerRecord): boolean {
  return w.state !== 'FAILED';
}

export function workerOf(pool: PoolRecord, jobId: number): WorkerRecord | undefined {
  return pool.workers.find((w) => w.assignments.some((a) => a.jobId === jobId));
}
