// The pool reconciler: one pass per scheduler tick (and a fast path when a worker asks for work).
// It re-reads each pool item and the jobs it holds and moves them one step towards what the pool
// item and the jobs say should be: settle finished runs, replace lost workers, drain replaced
// generations, scale, and assign queued jobs to free workers. Bounded work per pool and pass.
//
// Assignment (the invariant this file exists for). "Worker W takes job J" is ONE conditional write
// of the pool item, which holds every worker and what each holds: it succeeds only if no worker of
// the pool holds J and W has room, on the version that was read. The job item is written after it
// (attempt number, STARTING, `poolWorker`) and the attempt record after that; a crash between the
// writes is repaired by the next pass (the job is adopted, or the assignment dropped if the job
// moved on), so duplicated wakes, passes running side by side and replayed events change nothing.
//
// Pool jobs have no workflow execution: this file plays its part (apply the attempt's outcome, end
// the attempt, requeue a recovery, cancel, finalize), reusing the same steps the workflow uses.

import type { JobRecord, AttemptRecord } from '../job/records.ts';
import { isTerminal } from '../job/status.ts';
import { transitionTask } from '../job/transitions.ts';
import type { PoolRecord, WorkerRecord, Assignment } from '../pools/records.ts';
import { hasRoom, isAlive, isBusy } from '../pools/records.ts';
import {
  planScale, planAssignments, currentWorkers, jobNeed,
  DEFAULT_POOL_IDLE_SECONDS, MAX_SETUP_FAILURES, MAX_WORKER_LAUNCHES_PER_PASS, WORKER_LAUNCH_BACKOFF_SECONDS,
  type QueuedJob,
} from '../pools/policy.ts';
import { workerLaunchKey, type DescribedInstance } from '../ports.ts';
import { candidatesFor } from '../optimizer/index.ts';
import { CapacityError, ConflictError, PrecheckError } from '../errors.ts';
import type { Deps } from './deps.ts';
import { providerFor } from './deps.ts';
import { mutateJob } from './mutate.ts';
import { mutatePool, withWorker, liveWorkerCount } from './pools.ts';
import { applyOutcome, cancelAllIdle, finalize, markLost } from './workflow-steps.ts';

export interface PoolPassReport {
  assigned: { jobId: number; workerId: number }[];
  settled: number[];
  launched: number[];
  terminated: number[];
  lost: number[];
  errors: string[];
}

function emptyReport(): PoolPassReport {
  return { assigned: [], settled: [], launched: [], terminated: [], lost: [], errors: [] };
}

/** Every pool, one after another. `sweep`: also compare workers with the cloud's instances. */
export async function reconcilePools(deps: Deps, opts: { sweep?: boolean } = {}): Promise<PoolPassReport> {
  const report = emptyReport();
  if (!deps.pools) return report;
  const pools = await deps.pools.listPools();
  const room = { value: undefined as number | undefined };
  for (const p of pools) {
    try {
      await reconcilePool(deps, p.name, report, { sweep: opts.sweep === true, room });
    } catch (err) {
      report.errors.push(`pool ${p.name}: ${(err as Error).message}`);
      deps.log?.('pool reconcile failed', { pool: p.name, error: String((err as Error)?.stack ?? err) });
    }
  }
  return report;
}

interface PassContext {
  sweep: boolean;
  /** Free room under maxRunning for new workers, computed once per pass when first needed. */
  room: { value: number | undefined };
}

async function reconcilePool(deps: Deps, name: string, report: PoolPassReport, ctx: PassContext): Promise<void> {
  let pool = await deps.pools!.getPool(name);
  if (!pool) return;

  // 1. Runs on workers: settle what finished, catch silent nodes, repair half-done assignments.
  for (const w of pool.workers) for (const a of w.assignments) {
    if (await settleAssignment(deps, pool, w, a)) report.settled.push(a.jobId);
  }
  pool = await deps.pools!.getPool(name);
  if (!pool) return;

  // 2. Worker lifecycle: lost instances, stuck boots, replaced generations, teardown.
  if (ctx.sweep) await markVanishedWorkers(deps, pool, report);
  await retireWorkers(deps, name, report);
  pool = await deps.pools!.getPool(name);
  if (!pool) return;
  if (pool.downRequestedAt !== undefined) {
    if (pool.workers.length === 0) await mutatePool(deps, name, (p) => (p.workers.length === 0 && p.downRequestedAt !== undefined ? 'delete' : null));
    return;
  }

  // 3. Scale, then assign.
  const idleMs = (deps.settings.poolIdleSeconds ?? DEFAULT_POOL_IDLE_SECONDS) * 1000;
  const queuedIds = await deps.pools!.listQueuedJobIds(name, pool.maxWorkers + 16);
  const queued = await readQueued(deps, queuedIds);
  const now = deps.clock.now();
  const plan = planScale(pool, queued.length, now, idleMs);
  if (plan.terminate.length || plan.drain.length) {
    const stop = new Set(plan.terminate);
    const drain = new Set(plan.drain);
    await mutatePool(deps, name, (p) => {
      let changed = false;
      const workers = p.workers.map((w) => {
        if (stop.has(w.id) && !isBusy(w) && w.state !== 'FAILED') {
          changed = true;
          return { ...w, state: 'DRAINING' as const };
        }
        if (drain.has(w.id) && w.state !== 'DRAINING') {
          changed = true;
          return { ...w, state: 'DRAINING' as const };
        }
        return w;
      });
      return changed ? { ...p, workers } : null;
    });
    await retireWorkers(deps, name, report);
  }
  if (plan.launch > 0) await launchWorkers(deps, name, plan.launch, report, ctx);

  pool = await deps.pools!.getPool(name);
  if (!pool) return;
  for (const pair of planAssignments(pool, queued)) {
    const ok = await assign(deps, name, pair.workerId, pair.jobId);
    if (ok) report.assigned.push({ jobId: pair.jobId, workerId: pair.workerId });
  }
}

/** Queued jobs still waiting (cancelled ones are finished here: nothing else drives a pool job). */
async function readQueued(deps: Deps, ids: number[]): Promise<QueuedJob[]> {
  const out: QueuedJob[] = [];
  for (const id of ids) {
    const job = await deps.store.getJob(id);
    if (!job || job.slot !== 'POOL' || isTerminal(job.status)) continue;
    if (job.cancelRequested) {
      await mutateJob(deps, id, (j) => cancelAllIdle(j, deps.clock.now()));
      await finalize(deps, { jobId: id, cycle: 0 });
      continue;
    }
    out.push({ jobId: id, priority: job.priority, since: job.submittedAt, need: jobNeed(job.spec.tasks[job.currentTask]) });
  }
  return out;
}

/** The attempt a worker runs for an assignment, as the job's node 0. */
function attemptFor(job: JobRecord, w: WorkerRecord, a: Assignment, now: number): AttemptRecord {
  return {
    jobId: job.jobId,
    taskIndex: a.taskIndex,
    attempt: a.attempt,
    candidate: w.candidate!,
    zone: w.zone,
    nodes: [{ rank: 0, instanceId: w.instanceIds[0] ?? `worker-${w.id}`, ip: w.ip, phase: 'LAUNCHED' }],
    state: 'PROVISIONING',
    startedAt: now,
    version: 0,
  };
}

/**
 * Worker `workerId` takes job `jobId`: the pool-item write (the assignment), then the job write,
 * then the attempt record. Returns false when any condition no longer holds (nothing is left held).
 */
export async function assign(deps: Deps, poolName: string, workerId: number, jobId: number): Promise<boolean> {
  const job0 = await deps.store.getJob(jobId);
  if (!job0 || job0.slot !== 'POOL' || job0.cancelRequested || isTerminal(job0.status)) return false;
  const t0 = job0.tasks[job0.currentTask];
  const attemptNo = t0.attempt + 1;
  const now = deps.clock.now();
  const need = jobNeed(job0.spec.tasks[t0.index]);
  const assignment: Assignment = { jobId, taskIndex: t0.index, attempt: attemptNo, takes: need, at: now };
  const r = await mutatePool(deps, poolName, (p) => {
    if (p.downRequestedAt !== undefined || p.workers.some((w) => w.assignments.some((x) => x.jobId === jobId))) return null;
    return withWorker(p, workerId, (w) =>
      w.state === 'READY' && w.generation === p.generation && w.candidate && hasRoom(w, need) ? { ...w, assignments: [...w.assignments, assignment] } : null,
    );
  });
  if (!r.changed || !r.pool) return false;
  const worker = r.pool.workers.find((w) => w.id === workerId)!;
  const adopted = await adoptAssignment(deps, poolName, worker, assignment);
  return adopted;
}

/**
 * The job side of an assignment the pool item already holds: attempt number, status, worker mirror,
 * then the attempt record. Drops the assignment when the job no longer wants it. Idempotent.
 */
async function adoptAssignment(deps: Deps, poolName: string, w: WorkerRecord, a: Assignment): Promise<boolean> {
  const { job, changed } = await mutateJob(deps, a.jobId, (j) => {
    const t = j.tasks[a.taskIndex];
    if (j.currentTask !== a.taskIndex || j.slot !== 'POOL' || j.cancelRequested || isTerminal(j.status) || t.attempt >= a.attempt) return null;
    const now = deps.clock.now();
    const events = [];
    let next = j;
    if (t.status === 'PENDING') {
      const to = t.recoveryCount > 0 ? 'RECOVERING' : 'STARTING';
      const r = transitionTask(next, t.index, to, `assigned to worker ${w.id} of pool ${poolName}`, now);
      next = r.job;
      events.push(r.event);
    }
    const tasks = next.tasks.map((x) => (x.index === t.index ? { ...x, attempt: a.attempt, candidate: w.candidate, launchedBefore: true, nextLaunchAt: undefined } : x));
    events.push({ jobId: j.jobId, time: now, task: t.index, attempt: a.attempt, reason: `attempt ${a.attempt}: runs on worker ${w.id} of pool ${poolName} (${w.candidate?.instanceType ?? '?'} in ${w.zone ?? w.candidate?.region ?? '?'})` });
    return { job: { ...next, tasks, slot: 'NONE', slotSince: now, poolWorker: w.id }, events };
  });
  const t = job.tasks[a.taskIndex];
  if (!changed && !(t?.attempt === a.attempt && job.poolWorker === w.id && !isTerminal(job.status))) {
    await dropAssignment(deps, poolName, w.id, a);
    return false;
  }
  try {
    await deps.store.putAttempt(attemptFor(job, w, a, deps.clock.now()), null);
  } catch (err) {
    if (!(err instanceof ConflictError)) throw err; // written by an earlier try
  }
  return true;
}

async function dropAssignment(deps: Deps, poolName: string, workerId: number, a: Pick<Assignment, 'jobId' | 'attempt'>): Promise<void> {
  const now = deps.clock.now();
  await mutatePool(deps, poolName, (p) =>
    withWorker(p, workerId, (w) => {
      const rest = w.assignments.filter((x) => !(x.jobId === a.jobId && x.attempt === a.attempt));
      return rest.length === w.assignments.length ? null : { ...w, assignments: rest, idleSince: rest.length === 0 ? now : w.idleSince };
    }),
  );
}

/**
 * One assignment, one step: repair, detect a silent node, or finish a run that has an outcome.
 * Returns true when the assignment was released.
 */
export async function settleAssignment(deps: Deps, pool: PoolRecord, w: WorkerRecord, a: Assignment): Promise<boolean> {
  const job = await deps.store.getJob(a.jobId);
  if (!job) {
    await dropAssignment(deps, pool.name, w.id, a);
    return true;
  }
  const t = job.tasks[a.taskIndex];
  if (t && t.attempt < a.attempt && job.slot === 'POOL' && !job.cancelRequested && !isTerminal(job.status)) {
    await adoptAssignment(deps, pool.name, w, a); // the job write after the assignment never happened
    return false;
  }
  if (!t || t.attempt !== a.attempt || job.currentTask !== a.taskIndex) {
    await dropAssignment(deps, pool.name, w.id, a);
    return true;
  }
  let attempt = await deps.store.getAttempt(a.jobId, a.taskIndex, a.attempt);
  const now = deps.clock.now();
  if (!attempt && !isTerminal(job.status) && w.state !== 'FAILED') {
    try {
      attempt = await deps.store.putAttempt(attemptFor(job, w, a, now), null);
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      attempt = await deps.store.getAttempt(a.jobId, a.taskIndex, a.attempt);
    }
  }
  if (attempt && attempt.state !== 'ENDED' && !attempt.outcome && !job.cancelRequested) {
    // The worker is lost (event, sweep) or its run went silent: the attempt is lost.
    let lost: string | undefined;
    if (w.state === 'FAILED') lost = `worker ${w.id} of pool ${pool.name} lost: ${w.failedReason ?? 'unknown'}`;
    else if (attempt.state === 'RUNNING') {
      const timeout = deps.settings.heartbeatTimeoutSeconds * 1000;
      const stale = attempt.nodes.find((n) => now - (n.lastHeartbeatAt ?? attempt!.runningAt ?? attempt!.startedAt) > timeout);
      if (stale) lost = `no heartbeat from worker ${w.id} for ${Math.round((now - (stale.lastHeartbeatAt ?? attempt.startedAt)) / 1000)} s`;
    } else if (now - attempt.startedAt > deps.settings.registerTimeoutSeconds * 1000) {
      lost = `worker ${w.id} did not start the job within ${deps.settings.registerTimeoutSeconds} s`;
    }
    if (!lost) return false;
    await markLost(deps, a.jobId, a.taskIndex, a.attempt, lost);
    if (w.state !== 'FAILED') await markWorkerFailed(deps, pool.name, w.id, lost);
    attempt = await deps.store.getAttempt(a.jobId, a.taskIndex, a.attempt);
  }
  await finishRun(deps, job.jobId, a, attempt);
  await dropAssignment(deps, pool.name, w.id, a);
  return true;
}

/** The pool job's part of the workflow after a run: decide, end the attempt, then requeue, cancel or finalize. */
async function finishRun(deps: Deps, jobId: number, a: Assignment, attempt: AttemptRecord | undefined): Promise<void> {
  if (attempt && attempt.state !== 'ENDED') {
    await applyOutcome(deps, jobId, a.attempt);
    const now = deps.clock.now();
    const cost = (attempt.candidate?.hourlyPrice ?? 0) * (Math.max(0, now - attempt.startedAt) / 3_600_000);
    for (let i = 0; i < 12; i++) {
      const cur = await deps.store.getAttempt(jobId, a.taskIndex, a.attempt);
      if (!cur || cur.state === 'ENDED') break;
      try {
        await deps.store.putAttempt({ ...cur, state: 'ENDED', endedAt: now, costUsd: cost }, cur.version);
        break;
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
      }
    }
    await mutateJob(deps, jobId, (j) => {
      const t = j.tasks[a.taskIndex];
      if (!t || t.costedAttempt === a.attempt) return null;
      return { job: { ...j, tasks: j.tasks.map((x) => (x.index === t.index ? { ...x, costUsd: x.costUsd + cost, costedAttempt: a.attempt } : x)) } };
    });
  } else if (!attempt) {
    // Lost before its attempt record was written: the assignment counts as a lost attempt.
    await mutateJob(deps, jobId, (j) => {
      const t = j.tasks[a.taskIndex];
      if (!t || t.attempt !== a.attempt || t.decidedAttempt === a.attempt || isTerminal(t.status) || j.cancelRequested) return null;
      if (t.status !== 'STARTING' && t.status !== 'RECOVERING' && t.status !== 'RUNNING') return null;
      const r = transitionTask(j, t.index, 'RECOVERING', 'the worker was lost before the job started', deps.clock.now());
      return { job: { ...r.job, tasks: r.job.tasks.map((x) => (x.index === t.index ? { ...x, decidedAttempt: a.attempt } : x)) }, events: [r.event] };
    });
  }
  const job = await deps.store.getJob(jobId);
  if (!job) return;
  const t = job.tasks[job.currentTask];
  if (job.cancelRequested && !isTerminal(job.status)) await mutateJob(deps, jobId, (j) => cancelAllIdle(j, deps.clock.now()));
  else if (t.status === 'RECOVERING' && t.attempt === a.attempt) {
    // Back in the pool's queue, keeping its place (age = submission) and its task ID and rank.
    await mutateJob(deps, jobId, (j) => {
      const tt = j.tasks[j.currentTask];
      if (tt.status !== 'RECOVERING' || tt.attempt !== a.attempt || j.slot === 'POOL' || j.cancelRequested) return null;
      return { job: { ...j, slot: 'POOL', slotSince: j.submittedAt, poolWorker: undefined, wait: undefined } };
    });
  }
  const after = await deps.store.getJob(jobId);
  if (after && isTerminal(after.status) && !after.finalizedAt) await finalize(deps, { jobId, cycle: 0 });
  await deps.wakeScheduler();
}

export async function markWorkerFailed(deps: Deps, poolName: string, workerId: number, reason: string): Promise<boolean> {
  const r = await mutatePool(deps, poolName, (p) => withWorker(p, workerId, (w) => (w.state === 'FAILED' ? null : { ...w, state: 'FAILED', failedReason: reason })));
  if (r.changed) {
    const pool = r.pool;
    const w = pool?.workers.find((x) => x.id === workerId);
    // Its runs are lost now (not at the next pass): the jobs recover at once.
    for (const a of w?.assignments ?? []) await markLost(deps, a.jobId, a.taskIndex, a.attempt, `worker ${workerId} of pool ${poolName} lost: ${reason}`);
    await deps.wakeScheduler();
  }
  return r.changed;
}

/**
 * Terminates workers that must go: FAILED ones, DRAINING or older-generation ones once idle, every
 * worker of a pool being torn down, and workers that never registered. A worker leaves the pool
 * item only after its instances were terminated (the janitor trusts the item).
 */
async function retireWorkers(deps: Deps, name: string, report: PoolPassReport): Promise<void> {
  const pool = await deps.pools!.getPool(name);
  if (!pool) return;
  const now = deps.clock.now();
  const down = pool.downRequestedAt !== undefined;
  for (const w of pool.workers) {
    const stale = w.generation !== pool.generation;
    if (!down && w.state === 'PROVISIONING' && now - w.launchedAt > deps.settings.registerTimeoutSeconds * 1000 + 60_000) {
      if (await markWorkerFailed(deps, name, w.id, `never registered within ${deps.settings.registerTimeoutSeconds} s of launch`)) report.lost.push(w.id);
      continue;
    }
    if (stale && isBusy(w) && w.state !== 'DRAINING' && w.state !== 'FAILED') {
      // A replaced generation's busy worker finishes its job first, then goes.
      await mutatePool(deps, name, (p) => withWorker(p, w.id, (x) => (x.state === 'DRAINING' || x.state === 'FAILED' ? null : { ...x, state: 'DRAINING' })));
      continue;
    }
    const goes = w.state === 'FAILED' || down || ((stale || w.state === 'DRAINING') && !isBusy(w));
    if (!goes) continue;
    try {
      if (w.candidate) await providerFor(deps, w.candidate.cloud).terminate(0, 0, w.id, w.candidate.region);
      // Launched but not recorded yet: find it by its tags (the janitor catches one that appears later).
      else for (const p of Object.values(deps.providers)) await p?.terminate(0, 0, w.id);
    } catch (err) {
      report.errors.push(`terminate worker ${w.id}: ${(err as Error).message}`);
      continue;
    }
    if (!report.terminated.includes(w.id)) report.terminated.push(w.id);
    // A worker leaves the item only once it holds nothing (the next pass settles its runs first).
    await mutatePool(deps, name, (p) => {
      const x = p.workers.find((y) => y.id === w.id);
      if (!x || isBusy(x)) return null;
      return { ...p, workers: p.workers.filter((y) => y.id !== w.id) };
    });
  }
}

/** Sweep: a worker whose instances are all gone (and which is not still being launched) is lost. */
async function markVanishedWorkers(deps: Deps, pool: PoolRecord, report: PoolPassReport): Promise<void> {
  const byCloud = new Map<string, WorkerRecord[]>();
  for (const w of pool.workers) {
    if (!w.candidate || w.state === 'FAILED' || w.instanceIds.length === 0) continue;
    byCloud.set(w.candidate.cloud, [...(byCloud.get(w.candidate.cloud) ?? []), w]);
  }
  for (const [cloud, workers] of byCloud) {
    let instances: DescribedInstance[];
    try {
      instances = await providerFor(deps, cloud).describe({ jobId: 0 });
    } catch (err) {
      report.errors.push(`describe ${cloud}: ${(err as Error).message}`);
      continue;
    }
    const up = new Set(instances.filter((i) => i.state === 'running' || i.state === 'pending').map((i) => i.instanceId));
    for (const w of workers) {
      if (w.instanceIds.some((id) => up.has(id))) continue;
      const inst = instances.find((i) => w.instanceIds.includes(i.instanceId));
      if (await markWorkerFailed(deps, pool.name, w.id, `instance ${w.instanceIds.join(', ')} is ${inst?.state ?? 'gone'}${inst?.stateReason ? ` (${inst.stateReason})` : ''}`)) report.lost.push(w.id);
    }
  }
}

async function launchRoom(deps: Deps, ctx: PassContext): Promise<number> {
  if (ctx.room.value === undefined) {
    const running = (await deps.store.countJobsBySlot('RUNNING')) + (await deps.store.countJobsBySlot('LAUNCHING'));
    ctx.room.value = Math.max(0, deps.settings.maxRunning - running - (await liveWorkerCount(deps)));
  }
  return ctx.room.value;
}

/** Launches up to `count` workers of the current generation (bounded by maxRunning and per pass). */
async function launchWorkers(deps: Deps, name: string, count: number, report: PoolPassReport, ctx: PassContext): Promise<void> {
  const pool0 = await deps.pools!.getPool(name);
  if (!pool0 || pool0.downRequestedAt !== undefined) return;
  const now = deps.clock.now();
  if (pool0.launchBackoffUntil && pool0.launchBackoffUntil > now) return;
  if (pool0.setupFailures >= MAX_SETUP_FAILURES) return;
  const n = Math.min(count, MAX_WORKER_LAUNCHES_PER_PASS, await launchRoom(deps, ctx));
  if (n <= 0) return;
  ctx.room.value! -= n;
  const ids = await deps.pools!.allocateWorkerIds(n);
  const generation = pool0.generation;
  // Recorded BEFORE the provider is called (as an attempt number is): the janitor, which describes
  // first and reads the pool after, can then never take a worker being launched for an orphan.
  const r = await mutatePool(deps, name, (p) => {
    if (p.downRequestedAt !== undefined || p.generation !== generation) return null;
    const fresh: WorkerRecord[] = ids.map((id) => ({ id, generation, state: 'PROVISIONING', offers: { slots: 1 }, assignments: [], launchedAt: now, instanceIds: [] }));
    return { ...p, workers: [...p.workers, ...fresh] };
  });
  if (!r.changed || !r.pool) return;
  const task = r.pool.spec.tasks[0];
  const candidates = candidatesFor(task.resources, 1, { allowedClouds: deps.settings.allowedClouds });
  await Promise.all(ids.map(async (id) => {
    let lastError = 'no feasible resource';
    for (const cand of candidates.slice(0, 8)) {
      try {
        const instances = await providerFor(deps, cand.cloud).launch({
          ...workerLaunchKey(id),
          numNodes: 1,
          candidate: cand,
          diskSizeGb: task.resources.requests[cand.requestIndex]?.diskSizeGb ?? 256,
          imageId: task.resources.requests[cand.requestIndex]?.imageId,
          bootstrap: { apiUrl: deps.settings.apiUrl, tokens: [deps.agentTokens.signWorker({ kind: 'worker', pool: name, worker: id, node: 0 })] },
          worker: { pool: name, id },
        });
        await mutatePool(deps, name, (p) => withWorker(p, id, (w) => (w.candidate ? null : { ...w, candidate: cand, zone: instances[0]?.zone, instanceIds: instances.map((i) => i.instanceId), ip: w.ip ?? instances[0]?.ip })));
        report.launched.push(id);
        return;
      } catch (err) {
        lastError = (err as Error).message;
        if (!(err instanceof CapacityError) && !(err instanceof PrecheckError)) break;
      }
    }
    // Nothing launched: the worker leaves the item, and the pool waits before trying again.
    for (const p of Object.values(deps.providers)) await p?.terminate(0, 0, id).catch(() => undefined);
    await mutatePool(deps, name, (p) => ({
      ...p,
      workers: p.workers.filter((w) => w.id !== id),
      lastError: `worker launch failed: ${lastError}`,
      launchBackoffUntil: deps.clock.now() + WORKER_LAUNCH_BACKOFF_SECONDS * 1000,
    }));
    report.errors.push(`launch worker ${id}: ${lastError}`);
  }));
}

/** Instance events (interruption, stopped/terminated by someone else) for a worker's instance. */
export async function onWorkerInstanceLost(deps: Deps, poolName: string, workerId: number, reason: string): Promise<boolean> {
  if (!deps.pools) return false;
  const pool = await deps.pools.getPool(poolName);
  const w = pool?.workers.find((x) => x.id === workerId);
  if (!pool || !w || w.state === 'FAILED') return false;
  // Our own terminations (drain, scale-in, down) come after the worker holds nothing and is leaving.
  if (pool.downRequestedAt !== undefined || (w.state === 'DRAINING' && !isBusy(w))) return false;
  return markWorkerFailed(deps, poolName, workerId, reason);
}

export { currentWorkers, isAlive };
