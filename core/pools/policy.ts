// Pure decisions about pools (SPEC §5): what a `pool apply` changes, how many workers a pool wants,
// whether a job fits a pool, and which queued job goes to which free worker. No I/O; callers pass
// the clock's time.

import { createHash } from 'node:crypto';
import type { JobSpec, TaskSpec, Cloud, SpecIssue } from '../spec/types.ts';
import { candidatesFor } from '../optimizer/index.ts';
import { hasRoom, isAlive, isBusy, WHOLE_WORKER, type Offer, type PoolRecord, type WorkerRecord } from './records.ts';

/** Default cap on `--num-jobs` (a deployment setting, `maxNumJobs`, may lower or raise it). */
export const DEFAULT_MAX_NUM_JOBS = 10_000;
/** Autoscaled pools: an idle worker is removed after this long (settings.poolIdleSeconds). */
export const DEFAULT_POOL_IDLE_SECONDS = 60;
/** Idle workers ask for a job this often (settings.workerPollMs). */
export const DEFAULT_WORKER_POLL_MS = 1000;
/** Setup failures per generation after which the pool stops launching workers (apply again to retry). */
export const MAX_SETUP_FAILURES = 3;
/** Worker launches per pool per reconcile pass (bounded work; the next pass continues). */
export const MAX_WORKER_LAUNCHES_PER_PASS = 16;
/** No capacity for any candidate: wait this long before trying to launch workers again. */
export const WORKER_LAUNCH_BACKOFF_SECONDS = 30;

/** Pool names: what SkyPilot accepts for cluster names, bounded for keys and tags. */
export const POOL_NAME = /^[a-zA-Z][-a-zA-Z0-9_.]{0,62}$/;

/** What makes a worker: a change to any of these needs new workers (a new generation). */
export function workerConfigHash(task: TaskSpec): string {
  const identity = { setup: task.setup ?? null, resources: task.resources, numNodes: task.numNodes, workdir: task.workdir ?? null, fileMounts: task.fileMounts, envs: task.envs, secrets: task.secrets };
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 32);
}

/**
 * Whether applying `next` over a pool needs new workers. SkyPilot's rule: in place when only `pool:`
 * changed; new workers when setup, resources, workdir or file_mounts changed, and always when the
 * spec has a workdir or file mounts (their data may have changed even if the YAML did not).
 */
export function needsNewGeneration(pool: PoolRecord, next: TaskSpec): boolean {
  return pool.workerConfigHash !== workerConfigHash(next) || next.workdir !== undefined || next.fileMounts.length > 0;
}

/** Problems with a pool YAML beyond the parser's (which checks `pool:` itself). */
export function poolSpecIssues(spec: JobSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  if (spec.isPipeline || spec.tasks.length !== 1) issues.push({ path: '', message: 'a pool YAML has exactly one task (pipelines cannot be pools)' });
  const task = spec.tasks[0];
  if (task && !task.pool) issues.push({ path: 'pool', message: 'a pool YAML needs a pool: section (workers: N, or min_workers and max_workers)' });
  if (task && task.numNodes > 1) issues.push({ path: 'num_nodes', message: `pool workers of ${task.numNodes} nodes are not supported yet; a worker is one node` });
  return issues;
}

/**
 * How many live workers of the current generation the pool wants. Fixed-size pools: their size.
 * Autoscaled: one per busy or queued job, within [min, max].
 */
export function desiredWorkers(pool: Pick<PoolRecord, 'minWorkers' | 'maxWorkers'>, demand: number): number {
  if (pool.minWorkers === pool.maxWorkers) return pool.maxWorkers;
  return Math.min(pool.maxWorkers, Math.max(pool.minWorkers, demand));
}

export function currentWorkers(pool: PoolRecord): WorkerRecord[] {
  return pool.workers.filter((w) => w.generation === pool.generation && isAlive(w) && w.state !== 'DRAINING');
}

export interface ScalePlan {
  launch: number;
  /** Idle current-generation workers to terminate now. */
  terminate: number[];
  /** Busy current-generation workers to drain (fixed-size pools shrunk below their busy count). */
  drain: number[];
}

/**
 * Scale decision. `queued` is the number of jobs waiting for a worker (bounded by the caller).
 * Scale-in of an autoscaled pool takes only workers idle for `idleMs`; a fixed-size pool that was
 * made smaller gives up idle workers at once and drains busy ones (they finish their job first).
 */
export function planScale(pool: PoolRecord, queued: number, now: number, idleMs: number): ScalePlan {
  const live = currentWorkers(pool);
  const busy = live.filter(isBusy).length;
  const want = desiredWorkers(pool, busy + queued);
  const plan: ScalePlan = { launch: 0, terminate: [], drain: [] };
  if (live.length < want) {
    plan.launch = want - live.length;
    return plan;
  }
  let extra = live.length - want;
  const fixed = pool.minWorkers === pool.maxWorkers;
  // Not-yet-ready workers first (they hold nothing), then the longest idle.
  const idle = live
    .filter((w) => !isBusy(w))
    .sort((a, b) => Number(a.state === 'READY') - Number(b.state === 'READY') || (a.idleSince ?? a.launchedAt) - (b.idleSince ?? b.launchedAt));
  for (const w of idle) {
    if (extra === 0) break;
    if (!fixed && w.state === 'READY' && now - (w.idleSince ?? w.readyAt ?? w.launchedAt) < idleMs) continue;
    if (!fixed && w.state !== 'READY') continue; // an autoscaled pool keeps a worker it is still setting up
    plan.terminate.push(w.id);
    extra--;
  }
  if (fixed) for (const w of live.filter(isBusy)) {
    if (extra === 0) break;
    plan.drain.push(w.id);
    extra--;
  }
  return plan;
}

export interface QueuedJob {
  jobId: number;
  priority: number;
  /** Age for fairness: when the job was submitted (a recovered job keeps its place). */
  since: number;
  need: Offer;
}

/**
 * Pairs queued jobs with free READY workers of the current generation: jobs in admission order
 * (priority, then age, then ID), each to the first worker with room (lowest ID). Pure; the caller
 * writes each pair with one conditional write of the pool item.
 */
export function planAssignments(pool: PoolRecord, queued: QueuedJob[]): { jobId: number; workerId: number; need: Offer }[] {
  const held = new Set(pool.workers.flatMap((w) => w.assignments.map((a) => a.jobId)));
  const workers = currentWorkers(pool)
    .filter((w) => w.state === 'READY')
    .map((w) => ({ ...w, assignments: [...w.assignments] }))
    .sort((a, b) => a.id - b.id);
  const order = [...queued].filter((j) => !held.has(j.jobId)).sort((a, b) => b.priority - a.priority || a.since - b.since || a.jobId - b.jobId);
  const out: { jobId: number; workerId: number; need: Offer }[] = [];
  for (const job of order) {
    const w = workers.find((x) => hasRoom(x, job.need));
    if (!w) break; // exclusive workers: no room for this job means no room for any later one
    w.assignments.push({ jobId: job.jobId, taskIndex: 0, attempt: 0, takes: job.need, at: 0 });
    out.push({ jobId: job.jobId, workerId: w.id, need: job.need });
  }
  return out;
}

/** What a job takes of a worker: the whole worker until packing (issue 12). */
export function jobNeed(_task: TaskSpec): Offer {
  return WHOLE_WORKER;
}

/**
 * Whether a job's resources fit the pool's workers: some instance the pool may launch (cloud, type,
 * spot or not) is one the job would accept. An empty answer names both sides.
 */
export function fitsPool(job: TaskSpec, pool: TaskSpec, allowedClouds: Cloud[]): boolean {
  const key = (c: { cloud: string; instanceType: string; spot: boolean }) => `${c.cloud}|${c.instanceType}|${c.spot}`;
  const poolKeys = new Set(candidatesFor(pool.resources, 1, { allowedClouds }).map(key));
  return candidatesFor(job.resources, 1, { allowedClouds }).some((c) => poolKeys.has(key(c)));
}

/** `3,4,5` — or `3-1002` when the IDs are consecutive and more than 10. */
export function formatJobIds(ids: number[]): string {
  const consecutive = ids.every((id, i) => i === 0 || id === ids[i - 1] + 1);
  if (ids.length > 10 && consecutive) return `${ids[0]}-${ids[ids.length - 1]}`;
  return ids.join(',');
}

/** `Fixed-size (3 workers)` or `Autoscaling (0-3 workers)`, as SkyPilot prints a worker policy. */
export function policyText(p: { minWorkers: number; maxWorkers: number }): string {
  if (p.minWorkers === p.maxWorkers) return `Fixed-size (${p.maxWorkers} worker${p.maxWorkers === 1 ? '' : 's'})`;
  return `Autoscaling (${p.minWorkers}-${p.maxWorkers} workers)`;
}
