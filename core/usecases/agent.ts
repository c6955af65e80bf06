// The node agent's side of the API (agent/PROTOCOL.md). Each call is authorized by a token scoped to
// one (job, task, attempt, node); every answer is computed from the stored attempt, so a repeated or
// late call is harmless, and a call for an attempt that has ENDED is refused (410 Gone).

import type { AttemptRecord, JobRecord, NodeRecord } from '../job/records.ts';
import { isTerminal } from '../job/status.ts';
import { transitionTask } from '../job/transitions.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import type { AgentClaim } from './agent-token.ts';
import type { Deps } from './deps.ts';
import { mutateJob } from './mutate.ts';
import { recordOutcome, signalWait, markLost } from './completers.ts';
import { taskEnvironment } from './task-env.ts';
import { planNodeMounts } from '../spec/node-mounts.ts';
// The reply shapes are the agent protocol's (agent/PROTOCOL.md); type-only, no runtime dependency.
import type { RegisterReply, RegisterReadyReply } from '../contracts/agent.ts';

export type { RegisterReply };

/** The attempt is over (or never existed): the agent must stop. Mapped to HTTP 410. */
export class AttemptGoneError extends Error {
  override readonly name = 'AttemptGoneError' as const;
}

export const LOG_PREFIX = 'logs';

/** How often a node saves its saved mounts (MOUNT-mode buckets) while it works, by default. */
export const DEFAULT_MOUNT_SAVE_SECONDS = 30;

export function logKey(jobId: number, task: number, attempt: number, node: number, offset: number): string {
  return `${LOG_PREFIX}/${jobId}/${task}/${attempt}/${node}/${String(offset).padStart(14, '0')}`;
}

async function liveAttempt(deps: Deps, c: AgentClaim): Promise<AttemptRecord> {
  const a = await deps.store.getAttempt(c.job, c.task, c.attempt);
  if (!a || a.state === 'ENDED' || c.node >= a.nodes.length) throw new AttemptGoneError(`attempt ${c.job}/${c.task}/${c.attempt} is over`);
  return a;
}

/** Read-modify-write of an attempt (conditional on its version), re-reading on conflict. */
async function mutateAttempt(deps: Deps, c: AgentClaim, change: (a: AttemptRecord) => AttemptRecord | null): Promise<AttemptRecord> {
  for (let i = 0; i < 16; i++) {
    const a = await liveAttempt(deps, c);
    const next = change(a);
    if (!next) return a;
    try {
      return await deps.store.putAttempt(next, a.version);
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
    }
  }
  throw new ConflictError(`attempt ${c.job}/${c.task}/${c.attempt}: too many concurrent writers`);
}

function withNode(a: AttemptRecord, rank: number, patch: Partial<NodeRecord>): AttemptRecord {
  return { ...a, nodes: a.nodes.map((n) => (n.rank === rank ? { ...n, ...patch } : n)) };
}

/**
 * True while the attempt is being launched: the task's current attempt is this one (launch() writes
 * the number before calling the provider) but the attempt record, written when the provider's call
 * returns, is not there yet. A node that boots fast (a local process; an EC2 instance whose launch
 * step is slow to record it) registers in that window and must be told to wait, not that it is gone.
 */
async function launchInFlight(deps: Deps, c: AgentClaim): Promise<boolean> {
  const job = await deps.store.getJob(c.job);
  if (!job || job.cancelRequested || isTerminal(job.status)) return false;
  const t = job.tasks[c.task];
  return job.currentTask === c.task && t !== undefined && t.attempt === c.attempt && !isTerminal(t.status);
}

export async function register(deps: Deps, c: AgentClaim, body: { ip?: string }): Promise<RegisterReply> {
  const now = deps.clock.now();
  let a: AttemptRecord;
  try {
    a = await mutateAttempt(deps, c, (x) => {
      const n = x.nodes[c.node];
      if (n.registeredAt) return null;
      return withNode(x, c.node, { registeredAt: now, lastHeartbeatAt: now, ip: body.ip || n.ip, phase: 'REGISTERED' });
    });
  } catch (err) {
    // Only on this rare path: is the record missing because the launch has not recorded it yet?
    if (err instanceof AttemptGoneError && !(await deps.store.getAttempt(c.job, c.task, c.attempt)) && (await launchInFlight(deps, c))) {
      return { state: 'WAIT', retryAfterMs: 300 };
    }
    throw err;
  }
  if (a.state === 'PROVISIONING' && a.nodes.every((n) => n.registeredAt)) {
    a = await mutateAttempt(deps, c, (x) => (x.state === 'PROVISIONING' ? { ...x, state: 'RUNNING', runningAt: now } : null));
    const { job } = await mutateJob(deps, c.job, (j) => {
      const t = j.tasks[c.task];
      // Not once the attempt's outcome was decided: a late registration racing the recovery of this
      // attempt (another node lost) must not mark the task RUNNING while it relaunches. Nor once a
      // cancel was requested: the attempt is about to be torn down, the task never runs.
      if (j.currentTask !== c.task || t.attempt !== c.attempt || t.decidedAttempt === c.attempt || j.cancelRequested || isTerminal(t.status) || t.status === 'RUNNING' || t.status === 'CANCELLING') return null;
      const r = transitionTask(j, c.task, 'RUNNING', `attempt ${c.attempt}: ${a.nodes.length} node(s) up`, deps.clock.now());
      return { job: { ...r.job, slot: 'RUNNING', slotSince: deps.clock.now() }, events: [r.event] };
    });
    await signalWait(deps, job, ['NODES'], c.attempt);
    await deps.wakeScheduler(); // a launch slot became free
  }
  if (a.outcome) throw new AttemptGoneError(`attempt ${c.job}/${c.task}/${c.attempt} has ended`);
  if (a.state !== 'RUNNING') return { state: 'WAIT', retryAfterMs: 300 };
  const job = await deps.store.getJob(c.job);
  if (!job) throw new NotFoundError(`managed job ${c.job} not found`);
  const spec = job.spec.tasks[c.task];
  const nodeIps = a.nodes.map((n) => n.ip ?? '127.0.0.1');
  const files = await fileUrls(deps, job, c.task, a.candidate.cloud);
  return {
    state: 'READY',
    rank: c.node,
    numNodes: a.nodes.length,
    nodeIps,
    env: taskEnvironment(job, c.task, { rank: c.node, nodeIps, candidate: a.candidate }),
    setup: spec.setup,
    run: spec.run,
    ...files,
    heartbeatSeconds: deps.settings.heartbeatSeconds,
    logChunkBytes: deps.settings.logChunkBytes,
  };
}

/** Object keys of a job's uploaded files (the CLI uploads them under job.filesPrefix). */
export function workdirKey(prefix: string, task: number): string {
  return `${prefix}task-${task}/workdir.tar.gz`;
}
export function mountKey(prefix: string, task: number, i: number): string {
  return `${prefix}task-${task}/mount-${i}.tar.gz`;
}

async function fileUrls(deps: Deps, job: JobRecord, task: number, cloud: string): Promise<Pick<RegisterReadyReply, 'workdir' | 'fileMounts' | 'saveSeconds'>> {
  const spec = job.spec.tasks[task];
  const out: Pick<RegisterReadyReply, 'workdir' | 'fileMounts' | 'saveSeconds'> = { fileMounts: [] };
  const ttl = 6 * 3600;
  const prefix = job.filesPrefix;
  if (spec.workdir && prefix) out.workdir = { url: await deps.objects.presignGet(workdirKey(prefix, task), ttl) };
  for (const m of planNodeMounts(spec, { cloud, localBucketsDir: deps.settings.localBucketsDir })) {
    // An archive without a prefix cannot happen: submit refuses local paths that were not uploaded.
    if ('archive' in m) {
      if (prefix) out.fileMounts.push({ dest: m.dest, url: await deps.objects.presignGet(mountKey(prefix, task, m.archive), ttl) });
    } else out.fileMounts.push(m);
  }
  if (out.fileMounts.some((m) => 'mirror' in m)) out.saveSeconds = deps.settings.mountSaveSeconds ?? DEFAULT_MOUNT_SAVE_SECONDS;
  return out;
}

export async function heartbeat(deps: Deps, c: AgentClaim, _body: { phase?: string }): Promise<{ action: 'CONTINUE' | 'CANCEL' }> {
  const now = deps.clock.now();
  const a = await deps.store.recordHeartbeat(c.job, c.task, c.attempt, c.node, now);
  if (!a) throw new AttemptGoneError(`attempt ${c.job}/${c.task}/${c.attempt} is over`);
  const job = await deps.store.getJob(c.job);
  if (!job || a.outcome || job.cancelRequested || isTerminal(job.tasks[c.task].status)) return { action: 'CANCEL' };
  // Keep the workflow's AwaitRun alive only while EVERY node is fresh, so that one silent node
  // (the others still beating) still ends in a heartbeat timeout → recovery.
  const freshWithin = deps.settings.heartbeatTimeoutSeconds * 1000;
  const allFresh = a.nodes.every((n) => n.lastHeartbeatAt !== undefined && now - n.lastHeartbeatAt < freshWithin);
  const w = job.wait;
  if (allFresh && w && w.kind === 'RUN' && w.attempt === c.attempt) {
    try {
      await deps.workflows.sendTaskHeartbeat(w.token);
    } catch (err) {
      if ((err as Error).name !== 'TokenGoneError') throw err;
    }
  }
  return { action: 'CONTINUE' };
}

export async function shipLogs(deps: Deps, c: AgentClaim, offset: number, bytes: Uint8Array): Promise<{ nextOffset: number }> {
  if (!Number.isInteger(offset) || offset < 0) throw new RangeError(`offset must be a non-negative integer, got ${offset}`);
  if (bytes.length > deps.settings.logChunkBytes * 2) throw new RangeError(`log chunk of ${bytes.length} bytes exceeds the limit of ${deps.settings.logChunkBytes}`);
  await liveAttempt(deps, c);
  if (bytes.length) await deps.objects.put(logKey(c.job, c.task, c.attempt, c.node, offset), bytes, 'application/octet-stream');
  return { nextOffset: offset + bytes.length };
}

export async function reportExit(deps: Deps, c: AgentClaim, body: { phase: 'SETUP' | 'RUN'; exitCode: number }): Promise<{ action: 'RUN' | 'WAIT' | 'STOP'; retryAfterMs?: number }> {
  const code = body.exitCode;
  const a = await mutateAttempt(deps, c, (x) => {
    const n = x.nodes[c.node];
    let next = x;
    if (body.phase === 'SETUP' && n.setupExitCode === undefined) next = withNode(next, c.node, { setupExitCode: code, phase: code === 0 ? 'SETUP' : 'DONE' });
    else if (body.phase === 'RUN' && n.runExitCode === undefined) next = withNode(next, c.node, { runExitCode: code, phase: 'DONE' });
    if (next === x) return null;
    return next;
  });
  const nodes = a.nodes;
  let outcome: AttemptRecord['outcome'];
  if (body.phase === 'SETUP' && nodes.some((n) => n.setupExitCode !== undefined && n.setupExitCode !== 0)) {
    outcome = { kind: 'SETUP_FAILED', exitCodes: nodes.map((n) => n.setupExitCode ?? null) };
  } else if (body.phase === 'RUN' && nodes.some((n) => n.runExitCode !== undefined && n.runExitCode !== 0)) {
    outcome = { kind: 'RUN_FAILED', exitCodes: nodes.map((n) => n.runExitCode ?? null) };
  } else if (body.phase === 'RUN' && nodes.every((n) => n.runExitCode === 0)) {
    outcome = { kind: 'SUCCEEDED' };
  }
  if (outcome && !a.outcome) {
    const recorded = await recordOutcome(deps, c.job, c.task, c.attempt, outcome);
    if (recorded) {
      const job = await deps.store.getJob(c.job);
      if (job) await signalWait(deps, job, ['RUN', 'NODES'], c.attempt);
    }
    return { action: 'STOP' };
  }
  if (a.outcome || body.phase === 'RUN') return { action: 'STOP' };
  const job = await deps.store.getJob(c.job);
  if (!job || job.cancelRequested) return { action: 'STOP' };
  return nodes.every((n) => n.setupExitCode === 0) ? { action: 'RUN' } : { action: 'WAIT', retryAfterMs: 300 };
}

export async function reportInterrupted(deps: Deps, c: AgentClaim, body: { reason?: string }): Promise<Record<string, never>> {
  await liveAttempt(deps, c);
  await markLost(deps, c.job, c.task, c.attempt, `node ${c.node}: ${body.reason || 'cloud interruption notice'}`);
  return {};
}
