// Pools (SPEC §5): `jobs pool apply | status | down`. A pool is one item (core/pools/records.ts);
// every change is a read-modify-write of it conditional on its version (mutatePool). Workers are
// launched, replaced, drained and terminated by the reconciler (pools-reconcile.ts), never here:
// these use cases only record what the user wants and wake the scheduler, so they answer at once.

import type { PoolRecord, WorkerRecord } from '../pools/records.ts';
import { displayState, isAlive } from '../pools/records.ts';
import { needsNewGeneration, poolSpecIssues, workerConfigHash, policyText, POOL_NAME } from '../pools/policy.ts';
import type { PoolStore } from '../ports.ts';
import { parseJobSpec } from '../spec/index.ts';
import { candidatesFor, explainEmpty } from '../optimizer/index.ts';
import { unplaceableMounts } from '../spec/node-mounts.ts';
import { ConflictError, NotFoundError, SpecError, ValidationError } from '../errors.ts';
import type { Deps } from './deps.ts';
import { activeJobIds, cancelJobs } from './cancel.ts';

const MAX_TRIES = 16;

export function poolStore(deps: Deps): PoolStore {
  if (!deps.pools) throw new ValidationError('pools are not configured in this deployment');
  return deps.pools;
}

export function checkPoolName(name: unknown): string {
  if (typeof name !== 'string' || !POOL_NAME.test(name)) {
    throw new ValidationError(`pool name must start with a letter and hold only letters, digits, '-', '_' or '.' (at most 63), got ${JSON.stringify(name)}`);
  }
  return name;
}

/**
 * Read-modify-write of one pool item. `change` is pure on the record it is given and returns the new
 * record, null for "nothing to do", or 'delete'. On a version conflict it runs again on a fresh read.
 */
export async function mutatePool(
  deps: Deps,
  name: string,
  change: (pool: PoolRecord) => PoolRecord | null | 'delete',
): Promise<{ pool: PoolRecord | undefined; changed: boolean }> {
  const store = poolStore(deps);
  for (let i = 0; ; i++) {
    const current = await store.getPool(name);
    if (!current) return { pool: undefined, changed: false };
    const next = change(current);
    if (next === null) return { pool: current, changed: false };
    try {
      if (next === 'delete') {
        await store.deletePool(name, current.version);
        return { pool: undefined, changed: true };
      }
      return { pool: await store.putPool({ ...next, updatedAt: deps.clock.now() }, current.version), changed: true };
    } catch (err) {
      if (err instanceof ConflictError && i < MAX_TRIES) continue;
      throw err;
    }
  }
}

export function withWorker(pool: PoolRecord, id: number, patch: (w: WorkerRecord) => WorkerRecord | null): PoolRecord | null {
  const w = pool.workers.find((x) => x.id === id);
  if (!w) return null;
  const next = patch(w);
  if (!next) return null;
  return { ...pool, workers: pool.workers.map((x) => (x.id === id ? next : x)) };
}

export interface ApplyRequest {
  name: string;
  yaml: string;
  source?: string;
  user: string;
}

export interface ApplyResult {
  pool: string;
  created: boolean;
  /** in place: the workers were kept; replace: new workers, the old ones are drained. */
  update: 'created' | 'in-place' | 'replace';
  generation: number;
  minWorkers: number;
  maxWorkers: number;
}

/** Parses and checks a pool YAML; throws SpecError listing every problem (nothing is stored). */
export function validatePoolSpec(deps: Deps, req: Pick<ApplyRequest, 'yaml' | 'source'>) {
  const spec = parseJobSpec(req.yaml, { source: req.source, requireEnvValues: true });
  const issues = poolSpecIssues(spec);
  const task = spec.tasks[0];
  if (task) {
    const candidates = candidatesFor(task.resources, 1, { allowedClouds: deps.settings.allowedClouds });
    if (candidates.length === 0) issues.push({ path: 'resources', message: `no feasible resource: ${explainEmpty(task.resources)}` });
    if (task.workdir !== undefined) issues.push({ path: 'workdir', message: 'a pool cannot take a local workdir yet; put the code in a bucket and mount it, or fetch it in setup' });
    const clouds = [...new Set(candidates.map((c) => c.cloud))];
    issues.push(...unplaceableMounts(task, { hasArchives: false, clouds, localBucketsDir: deps.settings.localBucketsDir }));
  }
  if (issues.length) throw new SpecError(issues, req.source);
  return spec;
}

export async function applyPool(deps: Deps, req: ApplyRequest): Promise<ApplyResult> {
  const name = checkPoolName(req.name);
  const spec = validatePoolSpec(deps, req);
  const task = spec.tasks[0];
  const { minWorkers, maxWorkers } = task.pool!;
  const store = poolStore(deps);
  const now = deps.clock.now();
  for (let i = 0; i < MAX_TRIES; i++) {
    const existing = await store.getPool(name);
    if (!existing) {
      const pool: PoolRecord = {
        name, user: req.user, spec, minWorkers, maxWorkers, generation: 1, workerConfigHash: workerConfigHash(task),
        createdAt: now, updatedAt: now, workers: [], setupFailures: 0, version: 0,
      };
      try {
        await store.putPool(pool, null);
      } catch (err) {
        if (err instanceof ConflictError) continue;
        throw err;
      }
      await deps.wakeScheduler();
      return { pool: name, created: true, update: 'created', generation: 1, minWorkers, maxWorkers };
    }
    if (existing.downRequestedAt !== undefined) throw new ValidationError(`pool '${name}' is being terminated; apply again once 'skyless jobs pool status' no longer lists it`);
    const replace = needsNewGeneration(existing, task);
    const next: PoolRecord = {
      ...existing, spec, minWorkers, maxWorkers,
      ...(replace ? { generation: existing.generation + 1, workerConfigHash: workerConfigHash(task), setupFailures: 0, launchBackoffUntil: undefined, lastError: undefined } : {}),
      updatedAt: now,
    };
    try {
      await store.putPool(next, existing.version);
    } catch (err) {
      if (err instanceof ConflictError) continue;
      throw err;
    }
    await deps.wakeScheduler();
    return { pool: name, created: false, update: replace ? 'replace' : 'in-place', generation: next.generation, minWorkers, maxWorkers };
  }
  throw new ConflictError(`pool ${name}: too many concurrent updates`);
}

export interface WorkerStatus {
  id: number;
  generation: number;
  state: ReturnType<typeof displayState>;
  infra?: string;
  instanceType?: string;
  instanceIds: string[];
  spot?: boolean;
  jobIds: number[];
  hourlyPrice?: number;
  launchedAt: number;
  failedReason?: string;
}

export interface PoolStatus {
  name: string;
  user: string;
  policy: string;
  minWorkers: number;
  maxWorkers: number;
  generation: number;
  terminating: boolean;
  counts: Record<string, number>;
  workers: WorkerStatus[];
  lastError?: string;
  createdAt: number;
}


function statusOf(pool: PoolRecord): PoolStatus {
  const workers: WorkerStatus[] = pool.workers.map((w) => ({
    id: w.id,
    generation: w.generation,
    state: displayState(w),
    infra: w.candidate ? `${w.candidate.cloud} (${w.zone ?? w.candidate.region})` : undefined,
    instanceType: w.candidate?.instanceType,
    instanceIds: w.instanceIds,
    spot: w.candidate?.spot,
    jobIds: w.assignments.map((a) => a.jobId),
    hourlyPrice: w.candidate?.hourlyPrice,
    launchedAt: w.launchedAt,
    failedReason: w.failedReason,
  }));
  const counts: Record<string, number> = {};
  for (const w of workers) counts[w.state] = (counts[w.state] ?? 0) + 1;
  return {
    name: pool.name, user: pool.user, policy: policyText(pool), minWorkers: pool.minWorkers, maxWorkers: pool.maxWorkers, generation: pool.generation,
    terminating: pool.downRequestedAt !== undefined, counts, workers, lastError: pool.lastError, createdAt: pool.createdAt,
  };
}

export async function poolStatus(deps: Deps, name?: string): Promise<{ pools: PoolStatus[] }> {
  const store = poolStore(deps);
  if (name !== undefined) {
    const pool = await store.getPool(checkPoolName(name));
    if (!pool) throw new NotFoundError(`pool '${name}' not found`);
    return { pools: [statusOf(pool)] };
  }
  const pools = await store.listPools();
  return { pools: pools.sort((a, b) => a.name.localeCompare(b.name)).map(statusOf) };
}

/** Marks the pool for termination and cancels its pending and running jobs; the reconciler tears down. */
export async function downPool(deps: Deps, name: string, by: string): Promise<{ pool: string; cancelled: number[] }> {
  checkPoolName(name);
  const now = deps.clock.now();
  const r = await mutatePool(deps, name, (p) => (p.downRequestedAt !== undefined ? null : { ...p, downRequestedAt: now }));
  if (!r.pool && !r.changed) throw new NotFoundError(`pool '${name}' not found`);
  const ids = await activeJobIds(deps, { pool: name });
  const cancelled = ids.length ? (await cancelJobs(deps, ids, by)).cancelled : [];
  await deps.wakeScheduler();
  return { pool: name, cancelled };
}

/** Live workers of every pool: they count against maxRunning like running jobs. */
export async function liveWorkerCount(deps: Deps): Promise<number> {
  if (!deps.pools) return 0;
  const pools = await deps.pools.listPools();
  return pools.reduce((n, p) => n + p.workers.filter(isAlive).length, 0);
}
