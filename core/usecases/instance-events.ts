// Cloud instance events (EventBridge on AWS, the local bus for cloud `local`): a spot interruption
// warning, a rebalance recommendation, an instance state change. Events say only which instance; the
// tags (read from the provider, never trusted from the event) say which job, task and attempt. Every
// handler is idempotent and fenced: an event for an attempt that already ended or was replaced, a
// duplicate, or one that arrives after the job ended changes nothing.

import type { Deps } from './deps.ts';
import type { DescribedInstance } from '../ports.ts';
import { markLost } from './completers.ts';
import { ConflictError } from '../errors.ts';

export interface InstanceRef {
  cloud: string;
  region?: string;
  instanceId: string;
}

async function owner(deps: Deps, ref: InstanceRef): Promise<{ inst: DescribedInstance; jobId: number; task: number; attempt: number; node: number } | undefined> {
  const provider = deps.providers[ref.cloud];
  if (!provider) return undefined;
  const all = await provider.describe(ref.region ? { regions: [ref.region] } : undefined);
  const inst = all.find((i) => i.instanceId === ref.instanceId);
  if (!inst) return undefined;
  const n = (k: string) => Number((inst.tags as Record<string, string | undefined>)[k]);
  const out = { inst, jobId: n('skyless:job'), task: n('skyless:task'), attempt: n('skyless:attempt'), node: n('skyless:node') };
  if (![out.jobId, out.task, out.attempt, out.node].every(Number.isInteger)) return undefined;
  return out;
}

/** The attempt is live and its outcome not yet decided: only then can an event change anything. */
async function liveUndecided(deps: Deps, jobId: number, task: number, attempt: number): Promise<boolean> {
  const job = await deps.store.getJob(jobId);
  if (!job) return false;
  const t = job.tasks[task];
  if (!t || job.currentTask !== task || t.attempt !== attempt || t.decidedAttempt === attempt) return false;
  const a = await deps.store.getAttempt(jobId, task, attempt);
  return !!a && a.state !== 'ENDED' && !a.outcome;
}

export type InstanceEventResult = { handled: false; why: string } | { handled: true; jobId: number; attempt: number };

export async function onInterruptionWarning(deps: Deps, ref: InstanceRef, action: string): Promise<InstanceEventResult> {
  const o = await owner(deps, ref);
  if (!o) return { handled: false, why: 'not a skyless instance (or already gone)' };
  if (!(await liveUndecided(deps, o.jobId, o.task, o.attempt))) return { handled: false, why: 'attempt already ended or replaced' };
  const lost = await markLost(deps, o.jobId, o.task, o.attempt, `spot interruption warning (${action}) for ${ref.instanceId} (node ${o.node}) in ${ref.region ?? o.inst.region}`);
  return lost ? { handled: true, jobId: o.jobId, attempt: o.attempt } : { handled: false, why: 'outcome already recorded' };
}

const LOST_STATES = new Set(['stopping', 'stopped', 'shutting-down', 'terminated']);

export async function onStateChange(deps: Deps, ref: InstanceRef, state: string): Promise<InstanceEventResult> {
  if (!LOST_STATES.has(state)) return { handled: false, why: `state ${state} needs nothing` };
  const o = await owner(deps, ref);
  if (!o) return { handled: false, why: 'not a skyless instance (or already gone)' };
  // Our own terminations happen only after the attempt's outcome is decided (teardown) — those
  // are fenced out here; any other stop or termination is a loss, whoever caused it.
  if (!(await liveUndecided(deps, o.jobId, o.task, o.attempt))) return { handled: false, why: 'attempt already ended, decided or replaced' };
  const why = o.inst.stateReason ? ` (${o.inst.stateReason})` : '';
  const lost = await markLost(deps, o.jobId, o.task, o.attempt, `instance ${ref.instanceId} (node ${o.node}) is ${state}${why}`);
  return lost ? { handled: true, jobId: o.jobId, attempt: o.attempt } : { handled: false, why: 'outcome already recorded' };
}

export async function onRebalanceRecommendation(deps: Deps, ref: InstanceRef): Promise<InstanceEventResult> {
  const o = await owner(deps, ref);
  if (!o) return { handled: false, why: 'not a skyless instance (or already gone)' };
  for (let i = 0; i < 8; i++) {
    const a = await deps.store.getAttempt(o.jobId, o.task, o.attempt);
    if (!a || a.state === 'ENDED') return { handled: false, why: 'attempt already ended' };
    if (a.rebalanceRecommendedAt) return { handled: false, why: 'already recorded' };
    try {
      await deps.store.putAttempt({ ...a, rebalanceRecommendedAt: deps.clock.now() }, a.version);
      await deps.store.appendEvents([{ jobId: o.jobId, time: deps.clock.now(), task: o.task, attempt: o.attempt, reason: `rebalance recommendation for ${ref.instanceId}: elevated interruption risk` }]);
      return { handled: true, jobId: o.jobId, attempt: o.attempt };
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
    }
  }
  throw new ConflictError('rebalance recommendation: too many concurrent writers');
}
