// A pool worker's side of the agent API (agent/PROTOCOL.md, "Worker mode"). The worker's token names
// its pool and worker ID; every answer is computed from the stored pool item, so a repeated or late
// call is harmless, and a worker the pool no longer has is told it is gone (410).
//
//   register   → the pool's setup, envs and file mounts (run once per worker);
//   setup      → its exit code: READY, or FAILED (the reconciler replaces it, up to a limit);
//   next       → {state: JOB, token} while it holds a run that has not ended (the token is that job
//                attempt's, so the job's logs, heartbeats and exit go under the job), else WAIT.

import type { RegisterReadyReply } from '../../agent/protocol.ts';
import type { WorkerClaim } from './agent-token.ts';
import type { Deps } from './deps.ts';
import { AttemptGoneError } from './agent.ts';
import { mutatePool, poolStore, withWorker } from './pools.ts';
import { settleAssignment } from './pools-reconcile.ts';
import { DEFAULT_WORKER_POLL_MS } from '../pools/policy.ts';
import { planNodeMounts } from '../spec/node-mounts.ts';
import type { PoolRecord, WorkerRecord } from '../pools/records.ts';

async function liveWorker(deps: Deps, c: WorkerClaim): Promise<{ pool: PoolRecord; worker: WorkerRecord }> {
  const pool = await poolStore(deps).getPool(c.pool);
  const worker = pool?.workers.find((w) => w.id === c.worker);
  if (!pool || !worker || worker.state === 'FAILED' || pool.downRequestedAt !== undefined) throw new AttemptGoneError(`worker ${c.worker} of pool ${c.pool} is gone`);
  return { pool, worker };
}

export async function workerRegister(deps: Deps, c: WorkerClaim, body: { ip?: string }): Promise<RegisterReadyReply> {
  await liveWorker(deps, c);
  const now = deps.clock.now();
  const r = await mutatePool(deps, c.pool, (p) =>
    withWorker(p, c.worker, (w) => (w.state === 'PROVISIONING' ? { ...w, state: 'SETTING_UP', registeredAt: now, ip: body.ip || w.ip } : null)),
  );
  const pool = r.pool!;
  const worker = pool.workers.find((w) => w.id === c.worker)!;
  const task = pool.spec.tasks[0];
  const ip = worker.ip ?? body.ip ?? '127.0.0.1';
  const env: Record<string, string> = {
    SKYPILOT_NODE_RANK: '0',
    SKYPILOT_NODE_IPS: ip,
    SKYPILOT_NUM_NODES: '1',
    SKYPILOT_NUM_GPUS_PER_NODE: String(Math.ceil(worker.candidate?.accelerator?.count ?? 0)),
    SKYLESS_POOL: pool.name,
    SKYLESS_POOL_WORKER: String(worker.id),
  };
  for (const [k, v] of Object.entries(task.envs)) if (v !== null) env[k] = v;
  for (const [k, v] of Object.entries(task.secrets)) if (v !== null) env[k] = v;
  const fileMounts = worker.candidate
    ? planNodeMounts(task, { cloud: worker.candidate.cloud, localBucketsDir: deps.settings.localBucketsDir }).filter((m): m is Exclude<typeof m, { archive: number }> => !('archive' in m))
    : [];
  return {
    state: 'READY',
    rank: 0,
    numNodes: 1,
    nodeIps: [ip],
    env,
    setup: worker.state === 'SETTING_UP' ? task.setup : undefined,
    fileMounts,
    heartbeatSeconds: deps.settings.heartbeatSeconds,
    logChunkBytes: deps.settings.logChunkBytes,
  };
}

export async function workerSetupDone(deps: Deps, c: WorkerClaim, body: { exitCode: number }): Promise<{ action: 'READY' | 'STOP' }> {
  await liveWorker(deps, c);
  const now = deps.clock.now();
  const ok = body.exitCode === 0;
  const r = await mutatePool(deps, c.pool, (p) => {
    const next = withWorker(p, c.worker, (w) =>
      w.state !== 'SETTING_UP' && w.state !== 'PROVISIONING'
        ? null
        : ok
          ? { ...w, state: 'READY', readyAt: now, idleSince: now }
          : { ...w, state: 'FAILED', failedReason: `setup exited ${body.exitCode}` },
    );
    if (!next) return null;
    return ok ? next : { ...next, setupFailures: p.setupFailures + 1, lastError: `worker ${c.worker}: setup exited ${body.exitCode}` };
  });
  await deps.wakeScheduler();
  const w = r.pool?.workers.find((x) => x.id === c.worker);
  return { action: w && w.state !== 'FAILED' && w.state !== 'DRAINING' ? 'READY' : 'STOP' };
}

export type NextReply = { state: 'JOB'; jobId: number; attempt: number; token: string } | { state: 'WAIT'; retryAfterMs: number } | { state: 'STOP' };

export async function workerNext(deps: Deps, c: WorkerClaim): Promise<NextReply> {
  const { pool, worker } = await liveWorker(deps, c);
  const pollMs = deps.settings.workerPollMs ?? DEFAULT_WORKER_POLL_MS;
  if (worker.state === 'PROVISIONING' || worker.state === 'SETTING_UP') return { state: 'WAIT', retryAfterMs: pollMs };
  for (const a of worker.assignments) {
    const attempt = await deps.store.getAttempt(a.jobId, a.taskIndex, a.attempt);
    if (attempt && attempt.state !== 'ENDED' && !attempt.outcome) {
      return { state: 'JOB', jobId: a.jobId, attempt: a.attempt, token: deps.agentTokens.sign({ job: a.jobId, task: a.taskIndex, attempt: a.attempt, node: 0 }) };
    }
    // The run ended (its exit was reported): settle it now rather than at the next pass, so the
    // worker is free for the next job sooner. The same idempotent step the reconciler runs.
    if (attempt) await settleAssignment(deps, pool, worker, a);
  }
  if (worker.state === 'DRAINING' && worker.assignments.length === 0) return { state: 'STOP' };
  return { state: 'WAIT', retryAfterMs: pollMs };
}
