// Step LAUNCH: walks the candidates in the optimizer's order, calling the provider, until one launches.
// The walk's rules (what a failure blocks, when to back off or give up) are core/recovery's; this step
// performs the provider calls and stores the result. Bounded: at most `candidatesPerLaunchStep`
// provider launches per call; 'MORE' says the walk is not finished and the next call continues it.

import type { AttemptRecord, JobEvent } from '../../job/records.ts';
import type { TaskStatus } from '../../job/status.ts';
import { isTerminal } from '../../job/status.ts';
import { backoffSeconds } from '../../recovery/backoff.ts';
import { candidatesFor, reorderAfterLoss, explainEmpty } from '../../optimizer/index.ts';
import { startWalk, walkResult, onLaunchError, type WalkStep } from '../../recovery/launch-walk.ts';
import type { Candidate, BlockedScope } from '../../optimizer/types.ts';
import { currentTask, failTask, note, transition, withTask } from '../../workflow/changes.ts';
import { ConflictError } from '../../errors.ts';
import type { Deps } from '../deps.ts';
import { providerFor } from '../deps.ts';
import { mutateJob } from '../mutate.ts';
import { honourCancelRequests } from '../cancel.ts';
import { ensureTaskBuckets } from '../buckets.ts';

function candidateLabel(c: Candidate, numNodes: number): string {
  const where = c.spot ? `${c.cloud}/${c.region}/${c.zones[0]}` : `${c.cloud}/${c.region}`;
  return `${numNodes}x ${c.instanceType}${c.accelerator ? ` [${c.accelerator.name}:${c.accelerator.count}]` : ''} ${c.spot ? 'spot' : 'on-demand'} in ${where} ($${(c.hourlyPrice * numNodes).toFixed(4)}/h)`;
}

function describeScope(s: BlockedScope): string {
  if (s.scope === 'zone') return `zone ${s.cloud}/${s.region}/${s.zone}`;
  if (s.scope === 'region') return `region ${s.cloud}/${s.region}`;
  return `cloud ${s.cloud}`;
}

export async function launch(deps: Deps, jobId: number): Promise<'DONE' | 'MORE'> {
  const job0 = await deps.store.getJob(jobId);
  if (!job0) return 'DONE';
  const t0 = currentTask(job0);
  if (job0.slot !== 'LAUNCHING' || job0.cancelRequested || isTerminal(t0.status)) return 'DONE';
  const spec = job0.spec.tasks[t0.index];
  const existing = t0.attempt > 0 ? await deps.store.getAttempt(job0.jobId, t0.index, t0.attempt) : undefined;
  if (existing && existing.state !== 'ENDED') return 'DONE';
  // A bulk cancel recorded after the grant: nothing it covers may launch.
  if ((await honourCancelRequests(deps, [job0])).size) return 'DONE';
  // An attempt number is used by the first launch that creates instances; a walk that launched
  // nothing leaves no attempt record, and the next walk reuses the number.
  const attemptNo = t0.attempt === 0 || existing ? t0.attempt + 1 : t0.attempt;

  const all = candidatesFor(spec.resources, spec.numNodes, { allowedClouds: deps.settings.allowedClouds });
  if (all.length === 0) {
    await mutateJob(deps, job0.jobId, (j) => failTask(j, 'FAILED_PRECHECKS', `no feasible resource: ${explainEmpty(spec.resources)}`, deps.clock.now()));
    return 'DONE';
  }
  const ordered = t0.lostRegion ? reorderAfterLoss(all, t0.lostRegion, spec.resources.jobRecovery.strategy) : all;

  const started = await mutateJob(deps, job0.jobId, (j) => {
    const t = currentTask(j);
    if (t.index !== t0.index || j.slot !== 'LAUNCHING' || j.cancelRequested || isTerminal(t.status)) return null;
    const events: JobEvent[] = [];
    const now = deps.clock.now();
    let next = j;
    // A task that has recovered before relaunches as RECOVERING (also after backing off in PENDING).
    const target: TaskStatus = t.recoveryCount > 0 ? 'RECOVERING' : 'STARTING';
    if (t.status === 'PENDING') next = transition(next, t.index, target, target === 'RECOVERING' ? 'relaunching' : 'launching', now, events);
    if (t.attempt === attemptNo && t.status !== 'PENDING') return null;
    return { job: withTask(next, { attempt: attemptNo, nextLaunchAt: undefined }, t.index), events };
  });
  const job = started.job;
  const t = currentTask(job);
  if (t.attempt !== attemptNo || job.slot !== 'LAUNCHING' || job.cancelRequested) return 'DONE';

  let walk = startWalk(t.blocked);
  const limits = { blockedRounds: t.blockedRounds, maxLaunchAttempts: spec.resources.jobRecovery.maxLaunchAttempts ?? deps.settings.maxLaunchAttempts };
  const notes: JobEvent[] = [];
  let end: Exclude<WalkStep, { kind: 'TRY' }>;
  for (let tried = 0; ; tried++) {
    const step = walkResult(ordered, walk, limits);
    if (step.kind !== 'TRY') {
      end = step;
      break;
    }
    if (tried >= deps.settings.candidatesPerLaunchStep) {
      await saveBlocked(deps, job.jobId, attemptNo, walk.blocked, notes);
      return 'MORE';
    }
    const cand = step.candidate;
    const provider = providerFor(deps, cand.cloud);
    const tokens = Array.from({ length: spec.numNodes }, (_, node) => deps.agentTokens.sign({ job: job.jobId, task: t.index, attempt: attemptNo, node }));
    try {
      // Named buckets first, from the control plane (a precheck failure rules this candidate out).
      await ensureTaskBuckets(deps, job.jobId, spec, cand);
      const instances = await provider.launch({
        jobId: job.jobId,
        taskIndex: t.index,
        attempt: attemptNo,
        numNodes: spec.numNodes,
        candidate: cand,
        diskSizeGb: spec.resources.requests[cand.requestIndex]?.diskSizeGb ?? 256,
        imageId: spec.resources.requests[cand.requestIndex]?.imageId,
        bootstrap: { apiUrl: deps.settings.apiUrl, tokens },
      });
      const now = deps.clock.now();
      const record: AttemptRecord = {
        jobId: job.jobId,
        taskIndex: t.index,
        attempt: attemptNo,
        candidate: cand,
        zone: instances[0]?.zone,
        nodes: [...instances].sort((x, y) => x.node - y.node).map((i) => ({ rank: i.node, instanceId: i.instanceId, ip: i.ip, phase: 'LAUNCHED' as const })),
        state: 'PROVISIONING',
        startedAt: now,
        version: 0,
      };
      try {
        await deps.store.putAttempt(record, null);
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err; // created by an earlier try of this step
      }
      notes.push(note(job, `attempt ${attemptNo}: launched ${candidateLabel(cand, spec.numNodes)}`, now, attemptNo));
      await mutateJob(deps, job.jobId, (j) => {
        const tt = currentTask(j);
        if (tt.attempt !== attemptNo) return null;
        return { job: withTask(j, { candidate: cand, blocked: [], blockedRounds: 0, launchedBefore: true, lostRegion: undefined }, tt.index), events: notes };
      });
      return 'DONE';
    } catch (err) {
      // Capacity → block its scope; precheck → rule the candidate out; anything else is rethrown
      // (TransientError to the workflow's Retry, the unexpected to ControllerFailed).
      walk = onLaunchError(walk, err, step.index, cand);
      const f = walk.failures[walk.failures.length - 1];
      notes.push(note(job, `attempt ${attemptNo}: ${candidateLabel(cand, spec.numNodes)}: ${f.message}${f.blocked ? ` → blocking ${describeScope(f.blocked)}` : ''}`, deps.clock.now(), attemptNo));
      // A partial launch (some nodes up, then no capacity) must not leave instances behind.
      await provider.terminate(job.jobId, t.index, attemptNo, cand.region);
    }
  }

  // Every candidate is blocked or ruled out: back off, or end as the walk says.
  await mutateJob(deps, job.jobId, (j) => {
    const tt = currentTask(j);
    if (tt.attempt !== attemptNo || isTerminal(tt.status) || j.slot !== 'LAUNCHING') return null;
    const now = deps.clock.now();
    if (end.kind !== 'BACKOFF') {
      const r = failTask(j, end.kind, end.reason, now);
      return { job: r.job, events: [...notes, ...(r.events ?? [])] };
    }
    const wait = backoffSeconds(end.blockedRounds - 1, deps.rng, deps.settings.backoff);
    const events = [...notes];
    let next = transition(j, tt.index, 'PENDING', `${end.reason}; retrying in ${Math.round(wait)} s`, now, events);
    next = withTask(next, { blocked: [], blockedRounds: end.blockedRounds, nextLaunchAt: now + wait * 1000 }, tt.index);
    return { job: { ...next, slot: 'NONE', slotSince: now, wait: undefined }, events };
  });
  await deps.wakeScheduler();
  return 'DONE';
}

async function saveBlocked(deps: Deps, jobId: number, attemptNo: number, blocked: BlockedScope[], notes: JobEvent[]): Promise<void> {
  await mutateJob(deps, jobId, (j) => {
    const t = currentTask(j);
    if (t.attempt !== attemptNo) return null;
    return { job: withTask(j, { blocked }, t.index), events: notes };
  });
}
