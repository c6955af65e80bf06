// The Task states of statemachines/job.asl.json. The workflow is a loop around `advance`, a reconciler:
// it re-reads the job and its current attempt and names the next state, so that a lost or duplicated
// event, a restart of the control plane or a continue-as-new resumes exactly where the job stands.
// Every other step does one bounded piece of work and then returns `advance`'s answer.

import type { JobRecord, AttemptRecord, TaskState, AttemptOutcome, JobEvent } from '../job/records.ts';
import type { TaskStatus } from '../job/status.ts';
import { isTerminal } from '../job/status.ts';
import { transitionTask, cancelLaterTasks } from '../job/transitions.ts';
import { decideAfterAttempt } from '../recovery/decide.ts';
import { backoffSeconds } from '../recovery/backoff.ts';
import { scrubSecrets } from './secrets.ts';
import { candidatesFor, reorderAfterLoss, explainEmpty } from '../optimizer/index.ts';
import { startWalk, walkResult, onLaunchError, type WalkStep } from '../recovery/launch-walk.ts';
import type { Candidate, BlockedScope } from '../optimizer/types.ts';
import { ConflictError, TokenGoneError } from '../errors.ts';
import type { Deps } from './deps.ts';
import { providerFor } from './deps.ts';
import { mutateJob, type Change } from './mutate.ts';
import { submissionJobIds } from './uploads.ts';

export type Next =
  | 'PARK_SLOT'
  | 'LAUNCH'
  | 'AWAIT_NODES'
  | 'AWAIT_RUN'
  | 'PAUSE'
  | 'TEARDOWN'
  | 'FINALIZE'
  | 'CONTINUE_AS_NEW'
  | 'DONE';

/** The workflow's state between steps. Every field is always present (ASL paths must resolve). */
export interface Cursor {
  jobId: number;
  cycle: number;
  next: Next;
  attempt: number;
  waitSeconds: number;
  heartbeatTimeoutSeconds: number;
  registerTimeoutSeconds: number;
}

export interface StepInput {
  jobId: number;
  cycle: number;
  execution?: string;
}

function cursor(deps: Deps, input: StepInput, next: Next, attempt = 0, waitSeconds = 0): Cursor {
  return {
    jobId: input.jobId,
    cycle: input.cycle + 1,
    next,
    attempt,
    waitSeconds: Math.max(0, Math.ceil(waitSeconds)),
    heartbeatTimeoutSeconds: deps.settings.heartbeatTimeoutSeconds,
    registerTimeoutSeconds: deps.settings.registerTimeoutSeconds,
  };
}

function current(job: JobRecord): TaskState {
  return job.tasks[job.currentTask];
}

/** Applies one status change through the one transition module, collecting its event. */
function transition(job: JobRecord, taskIndex: number, to: TaskStatus, reason: string, now: number, events: JobEvent[]): JobRecord {
  const r = transitionTask(job, taskIndex, to, reason, now);
  events.push(r.event);
  return r.job;
}

function note(job: JobRecord, reason: string, now: number, attempt?: number): JobEvent {
  return { jobId: job.jobId, time: now, task: job.currentTask, reason, attempt };
}

function withTask(job: JobRecord, patch: Partial<TaskState>, index = job.currentTask): JobRecord {
  return { ...job, tasks: job.tasks.map((t) => (t.index === index ? { ...t, ...patch } : t)) };
}

/** Sends the job's parked token if it is of one of `kinds` (and of `attempt`, when given). */
export async function signalWait(deps: Deps, job: JobRecord, kinds: string[], attempt: number | undefined, output: unknown): Promise<boolean> {
  const w = job.wait;
  if (!w || !kinds.includes(w.kind) || (attempt !== undefined && w.attempt !== attempt)) return false;
  try {
    await deps.workflows.sendTaskSuccess(w.token, output);
    return true;
  } catch (err) {
    if (err instanceof TokenGoneError) return false; // spent by a duplicate; harmless
    throw err;
  }
}

export async function advance(deps: Deps, input: StepInput): Promise<Cursor> {
  if (input.cycle >= deps.settings.cyclesPerExecution) return cursor(deps, input, 'CONTINUE_AS_NEW');
  for (let guard = 0; guard < 10; guard++) {
    const job = await deps.store.getJob(input.jobId);
    if (!job) return cursor(deps, input, 'DONE');
    const now = deps.clock.now();
    const t = current(job);
    const attempt = t.attempt > 0 ? await deps.store.getAttempt(job.jobId, t.index, t.attempt) : undefined;
    const live = attempt !== undefined && attempt.state !== 'ENDED';

    if (live) {
      const decided = t.decidedAttempt === attempt.attempt;
      if (decided || isTerminal(t.status)) return cursor(deps, input, 'TEARDOWN', attempt.attempt);
      if (attempt.outcome || job.cancelRequested) {
        await applyOutcome(deps, job.jobId, attempt.attempt);
        continue;
      }
      return cursor(deps, input, attempt.state === 'PROVISIONING' ? 'AWAIT_NODES' : 'AWAIT_RUN', attempt.attempt);
    }

    if (isTerminal(t.status) && t.status !== 'SUCCEEDED' && job.tasks.some((x) => x.index > t.index && !isTerminal(x.status))) {
      // A failed (or cancelled) task: every later task is CANCELLED before the job is finalized. This
      // must precede the job-status check below: the job's status is already this task's (terminal).
      await mutateJob(deps, job.jobId, (j) => {
        const r = cancelLaterTasks(j, t.index, deps.clock.now());
        return r.events.length ? { job: r.job, events: r.events } : null;
      });
      continue;
    }
    if (isTerminal(job.status)) return cursor(deps, input, job.finalizedAt ? 'DONE' : 'FINALIZE');

    if (job.cancelRequested) {
      await mutateJob(deps, job.jobId, (j) => cancelAllIdle(j, deps.clock.now()));
      continue;
    }
    if (t.status === 'SUCCEEDED') {
      await mutateJob(deps, job.jobId, (j) =>
        j.currentTask === t.index && j.currentTask + 1 < j.tasks.length ? { job: { ...j, currentTask: j.currentTask + 1 } } : null,
      );
      continue;
    }
    if (t.status === 'CANCELLING') {
      await mutateJob(deps, job.jobId, (j) => cancelAllIdle(j, deps.clock.now()));
      continue;
    }
    const taskSpec = job.spec.tasks[t.index];
    if (!taskSpec.run) {
      await mutateJob(deps, job.jobId, (j) => succeedWithoutRun(j, t.index, deps.clock.now()));
      continue;
    }
    if (t.nextLaunchAt && t.nextLaunchAt > now) return cursor(deps, input, 'PAUSE', t.attempt, (t.nextLaunchAt - now) / 1000);
    if (job.slot === 'LAUNCHING') return cursor(deps, input, 'LAUNCH', t.attempt);
    return cursor(deps, input, 'PARK_SLOT', t.attempt);
  }
  throw new Error(`advance did not settle for job ${input.jobId}`);
}

function succeedWithoutRun(job: JobRecord, index: number, now: number): Change | null {
  const t = job.tasks[index];
  if (t.status !== 'PENDING' || job.currentTask !== index) return null;
  const events: JobEvent[] = [];
  let j = transition(job, index, 'STARTING', 'task has no run command', now, events);
  j = transition(j, index, 'RUNNING', 'task has no run command', now, events);
  j = transition(j, index, 'SUCCEEDED', 'task has no run command: nothing to run', now, events);
  return { job: j, events };
}

/** Every non-terminal task with nothing live → CANCELLED (the cancel of a PENDING job is immediate). */
export function cancelAllIdle(job: JobRecord, now: number): Change | null {
  if (!job.cancelRequested) return null;
  const events: JobEvent[] = [];
  let j = job;
  for (const t of job.tasks) {
    if (isTerminal(t.status)) continue;
    if (t.status !== 'PENDING' && t.status !== 'CANCELLING') {
      j = transition(j, t.index, 'CANCELLING', 'cancel requested', now, events);
    }
    j = transition(j, t.index, 'CANCELLED', 'cancelled by user', now, events);
  }
  if (!events.length) return null;
  return { job: { ...j, slot: 'NONE', slotSince: now, wait: undefined }, events };
}

/** Applies the recorded outcome of `attemptNo` to the task's status, exactly once (decidedAttempt fences). */
export async function applyOutcome(deps: Deps, jobId: number, attemptNo: number): Promise<void> {
  const job0 = (await deps.store.getJob(jobId))!;
  let attempt = await deps.store.getAttempt(jobId, job0.currentTask, attemptNo);
  if (!attempt) return;
  if (!attempt.outcome && job0.cancelRequested && attempt.state !== 'ENDED') {
    // The cancel stops this attempt only if nothing ended it first: record CANCELLED as its outcome
    // (first writer wins), so that a run that finished meanwhile keeps its real status and the
    // decision below always agrees with the stored outcome.
    await recordOutcome(deps, jobId, job0.currentTask, attemptNo, { kind: 'CANCELLED' }, `cancelled by ${job0.cancelRequested.by}`);
    attempt = (await deps.store.getAttempt(jobId, job0.currentTask, attemptNo)) ?? attempt;
  }
  const decided = attempt;
  const result = await mutateJob(deps, jobId, (job) => {
    const t = current(job);
    if (t.attempt !== attemptNo || t.decidedAttempt === attemptNo || isTerminal(t.status)) return null;
    const outcome: AttemptOutcome | undefined = decided.outcome ?? (job.cancelRequested ? { kind: 'CANCELLED' } : undefined);
    if (!outcome) return null;
    const now = deps.clock.now();
    const spec = job.spec.tasks[t.index];
    const decision = decideAfterAttempt({
      recovery: spec.resources.jobRecovery,
      outcome,
      restartCount: t.restartCount,
      cancelRequested: job.cancelRequested !== undefined,
    });
    const events: JobEvent[] = [];
    let j = job;
    let patch: Partial<TaskState> = { decidedAttempt: attemptNo };
    switch (decision.action) {
      case 'SUCCEED':
        j = transition(j, t.index, 'SUCCEEDED', 'every node exited 0', now, events);
        break;
      case 'FAIL':
        j = transition(j, t.index, decision.status, decision.reason, now, events);
        break;
      case 'CANCEL':
        if (t.status !== 'CANCELLING') j = transition(j, t.index, 'CANCELLING', 'cancel requested', now, events);
        break;
      case 'RECOVER': {
        // transitionTask counts the recovery (and the restart, when counted); RECOVERING → RECOVERING
        // is a new recovery of a task that was still relaunching.
        const r = transitionTask(j, t.index, 'RECOVERING', decision.reason, now, { countedRestart: decision.counted });
        events.push(r.event);
        j = r.job;
        patch = {
          ...patch,
          lostRegion: outcome.kind === 'LOST' ? { cloud: decided.candidate.cloud, region: decided.candidate.region } : j.tasks[t.index].lostRegion,
          blocked: [],
          blockedRounds: 0,
          nextLaunchAt: undefined,
        };
        break;
      }
    }
    j = withTask(j, patch, t.index);
    return { job: { ...j, slot: 'NONE', slotSince: now, wait: undefined }, events };
  });
  if (result.changed) await deps.wakeScheduler();
}

export async function park(deps: Deps, input: StepInput & { kind: 'SLOT' | 'NODES' | 'RUN'; attempt: number; taskToken: string }): Promise<void> {
  const { kind, taskToken } = input;
  const { job } = await mutateJob(deps, input.jobId, (j) => {
    const now = deps.clock.now();
    const wait = { kind, token: taskToken, taskIndex: j.currentTask, attempt: input.attempt, since: now };
    if (kind !== 'SLOT') return { job: { ...j, wait } };
    const slot = j.slot === 'LAUNCHING' ? 'LAUNCHING' : 'WAITING';
    return { job: { ...j, wait, slot, slotSince: j.slot === slot ? j.slotSince : now } };
  });
  // The condition may already hold (an agent reported while we were not parked): do not wait for an
  // event that has already happened. Completers check the stored wait after writing; we check the
  // stored state after parking; one of the two always sees the other.
  let ready = job.cancelRequested !== undefined || isTerminal(job.status);
  if (kind === 'SLOT') ready ||= job.slot === 'LAUNCHING';
  else {
    const attempt = await deps.store.getAttempt(job.jobId, job.currentTask, input.attempt);
    ready ||= !attempt || attempt.state === 'ENDED' || attempt.outcome !== undefined || (kind === 'NODES' && attempt.state !== 'PROVISIONING');
  }
  if (ready) {
    await signalWait(deps, job, [kind], undefined, { ready: true });
    return;
  }
  if (kind === 'SLOT') await deps.wakeScheduler();
}

export async function recordOutcome(deps: Deps, jobId: number, taskIndex: number, attemptNo: number, outcome: AttemptOutcome, reason?: string): Promise<AttemptRecord | undefined> {
  for (let i = 0; i < 12; i++) {
    const a = await deps.store.getAttempt(jobId, taskIndex, attemptNo);
    if (!a || a.state === 'ENDED' || a.outcome) return undefined;
    try {
      return await deps.store.putAttempt({ ...a, outcome, reason: reason ?? a.reason }, a.version);
    } catch (err) {
      if (err instanceof ConflictError) continue;
      throw err;
    }
  }
  throw new ConflictError(`attempt ${jobId}/${taskIndex}/${attemptNo}: too many concurrent writers`);
}

/** A node was lost (heartbeat timeout, never registered, interruption, stopped by someone else). */
export async function markLost(deps: Deps, jobId: number, taskIndex: number, attemptNo: number, reason: string): Promise<boolean> {
  const recorded = await recordOutcome(deps, jobId, taskIndex, attemptNo, { kind: 'LOST', reason }, reason);
  if (!recorded) return false;
  const job = await deps.store.getJob(jobId);
  if (job) {
    await deps.store.appendEvents([{ jobId, time: deps.clock.now(), task: taskIndex, reason: `attempt ${attemptNo} lost: ${reason}`, attempt: attemptNo }]);
    await signalWait(deps, job, ['NODES', 'RUN'], attemptNo, { lost: reason });
  }
  return true;
}

export async function lost(deps: Deps, input: StepInput & { attempt: number; reason: string }): Promise<Cursor> {
  const job = await deps.store.getJob(input.jobId);
  if (job) await markLost(deps, job.jobId, job.currentTask, input.attempt, input.reason);
  return advance(deps, input);
}

function candidateLabel(c: Candidate, numNodes: number): string {
  const where = c.spot ? `${c.cloud}/${c.region}/${c.zones[0]}` : `${c.cloud}/${c.region}`;
  return `${numNodes}x ${c.instanceType}${c.accelerator ? ` [${c.accelerator.name}:${c.accelerator.count}]` : ''} ${c.spot ? 'spot' : 'on-demand'} in ${where} ($${(c.hourlyPrice * numNodes).toFixed(4)}/h)`;
}

export async function launch(deps: Deps, input: StepInput): Promise<Cursor> {
  const job0 = await deps.store.getJob(input.jobId);
  if (!job0) return cursor(deps, input, 'DONE');
  const t0 = current(job0);
  if (job0.slot !== 'LAUNCHING' || job0.cancelRequested || isTerminal(t0.status)) return advance(deps, input);
  const spec = job0.spec.tasks[t0.index];
  const existing = t0.attempt > 0 ? await deps.store.getAttempt(job0.jobId, t0.index, t0.attempt) : undefined;
  if (existing && existing.state !== 'ENDED') return advance(deps, input);
  // An attempt number is used by the first launch that creates instances; a walk that launched
  // nothing leaves no attempt record, and the next walk reuses the number.
  const attemptNo = t0.attempt === 0 || existing ? t0.attempt + 1 : t0.attempt;

  const all = candidatesFor(spec.resources, spec.numNodes, { allowedClouds: deps.settings.allowedClouds, allowedInstanceTypes: deps.settings.allowedInstanceTypes });
  if (all.length === 0) {
    await mutateJob(deps, job0.jobId, (j) => failTask(j, 'FAILED_PRECHECKS', `no feasible resource: ${explainEmpty(spec.resources)}`, deps.clock.now()));
    return advance(deps, input);
  }
  const ordered = t0.lostRegion ? reorderAfterLoss(all, t0.lostRegion, spec.resources.jobRecovery.strategy) : all;

  const started = await mutateJob(deps, job0.jobId, (j) => {
    const t = current(j);
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
  const t = current(job);
  if (t.attempt !== attemptNo || job.slot !== 'LAUNCHING' || job.cancelRequested) return advance(deps, input);

  // The walk's rules (what a failure blocks, when to back off or give up) are core/recovery's; this
  // step only performs the provider calls and stores the result.
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
      return cursor(deps, input, 'LAUNCH', attemptNo);
    }
    const cand = step.candidate;
    const provider = providerFor(deps, cand.cloud);
    const tokens = Array.from({ length: spec.numNodes }, (_, node) => deps.agentTokens.sign({ job: job.jobId, task: t.index, attempt: attemptNo, node }));
    try {
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
        const tt = current(j);
        if (tt.attempt !== attemptNo) return null;
        return { job: withTask(j, { candidate: cand, blocked: [], blockedRounds: 0, launchedBefore: true, lostRegion: undefined }, tt.index), events: notes };
      });
      return advance(deps, input);
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
    const tt = current(j);
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
  return advance(deps, input);
}

async function saveBlocked(deps: Deps, jobId: number, attemptNo: number, blocked: BlockedScope[], notes: JobEvent[]): Promise<void> {
  await mutateJob(deps, jobId, (j) => {
    const t = current(j);
    if (t.attempt !== attemptNo) return null;
    return { job: withTask(j, { blocked }, t.index), events: notes };
  });
}

function describeScope(s: BlockedScope): string {
  if (s.scope === 'zone') return `zone ${s.cloud}/${s.region}/${s.zone}`;
  if (s.scope === 'region') return `region ${s.cloud}/${s.region}`;
  return `cloud ${s.cloud}`;
}

function failTask(job: JobRecord, status: TaskStatus, reason: string, now: number): Change {
  const events: JobEvent[] = [];
  const t = current(job);
  const j = transition(job, t.index, status, reason, now, events);
  return { job: { ...j, slot: 'NONE', slotSince: now, wait: undefined }, events };
}

export async function teardown(deps: Deps, input: StepInput & { attempt: number }): Promise<Cursor> {
  const job = await deps.store.getJob(input.jobId);
  if (!job) return cursor(deps, input, 'DONE');
  const t = current(job);
  const attempt = await deps.store.getAttempt(job.jobId, t.index, input.attempt);
  if (!attempt || attempt.state === 'ENDED') return advance(deps, input);
  const provider = providerFor(deps, attempt.candidate.cloud);
  await provider.terminate(job.jobId, t.index, attempt.attempt, attempt.candidate.region);
  const remaining = (await provider.describe({ jobId: job.jobId, regions: [attempt.candidate.region] })).filter(
    (i) => i.tags['skyless:task'] === String(t.index) && i.tags['skyless:attempt'] === String(attempt.attempt) && i.state !== 'terminated',
  );
  if (remaining.length) return cursor(deps, input, 'PAUSE', attempt.attempt, deps.settings.teardownPollSeconds);
  const now = deps.clock.now();
  const hours = Math.max(0, now - attempt.startedAt) / 3_600_000;
  const cost = attempt.candidate.hourlyPrice * attempt.nodes.length * hours;
  await mutateJob(deps, job.jobId, (j) => {
    const tt = j.tasks[t.index];
    if (tt.costedAttempt === attempt.attempt) return null;
    return {
      job: withTask(j, { costUsd: tt.costUsd + cost, costedAttempt: attempt.attempt }, t.index),
      events: [{ jobId: j.jobId, time: now, task: t.index, attempt: attempt.attempt, reason: `attempt ${attempt.attempt} torn down (${attempt.outcome ? describeOutcome(attempt.outcome) : 'no outcome'}); cost $${cost.toFixed(4)}` }],
    };
  });
  for (let i = 0; i < 12; i++) {
    const a = await deps.store.getAttempt(job.jobId, t.index, attempt.attempt);
    if (!a || a.state === 'ENDED') break;
    try {
      await deps.store.putAttempt({ ...a, state: 'ENDED', endedAt: now, costUsd: cost }, a.version);
      break;
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
    }
  }
  await deps.wakeScheduler();
  return advance(deps, input);
}

export function describeOutcome(o: AttemptOutcome): string {
  switch (o.kind) {
    case 'SUCCEEDED':
      return 'succeeded';
    case 'SETUP_FAILED':
      return `setup failed, exit codes [${o.exitCodes.map((c) => c ?? '-').join(', ')}]`;
    case 'RUN_FAILED':
      return `run failed, exit codes [${o.exitCodes.map((c) => c ?? '-').join(', ')}]`;
    case 'LOST':
      return `lost: ${o.reason}`;
    case 'CANCELLED':
      return 'cancelled';
  }
}

export async function finalize(deps: Deps, input: StepInput): Promise<Cursor> {
  const job = await deps.store.getJob(input.jobId);
  if (!job) return cursor(deps, input, 'DONE');
  if (!isTerminal(job.status)) return advance(deps, input);
  // A `--num-jobs` array shares one upload: the last of its jobs to end deletes it. Each job is
  // terminal before it gets here, so of two ending at once at least one sees the other ended.
  if (job.filesPrefix && (await siblingsEnded(deps, job))) await deps.objects.deletePrefix(job.filesPrefix);
  await mutateJob(deps, job.jobId, (j) =>
    // The job's secrets go with it: nothing will ever need them again (core/usecases/secrets.ts).
    j.finalizedAt ? null : { job: { ...scrubSecrets(j), finalizedAt: deps.clock.now(), slot: 'NONE', wait: undefined } },
  );
  await deps.wakeScheduler();
  return cursor(deps, input, 'DONE');
}

async function siblingsEnded(deps: Deps, job: JobRecord): Promise<boolean> {
  for (const id of submissionJobIds(job)) {
    if (id === job.jobId) continue;
    const sibling = await deps.store.getJob(id);
    if (sibling && sibling.filesPrefix === job.filesPrefix && !isTerminal(sibling.status)) return false;
  }
  return true;
}

export async function continueAsNew(deps: Deps, input: StepInput): Promise<Cursor> {
  const name = input.execution ?? `job-${input.jobId}`;
  const m = /^(.*)-c(\d+)$/.exec(name);
  const nextName = m ? `${m[1]}-c${Number(m[2]) + 1}` : `${name}-c1`;
  await deps.workflows.startExecution(nextName, { jobId: input.jobId, cycle: 0 });
  return cursor(deps, input, 'DONE');
}

/** Marks an attempt ENDED (its instances are gone or going), keeping the first end recorded. */
async function endAttempt(deps: Deps, attempt: AttemptRecord, reason: string): Promise<void> {
  for (let i = 0; i < 12; i++) {
    const a = await deps.store.getAttempt(attempt.jobId, attempt.taskIndex, attempt.attempt);
    if (!a || a.state === 'ENDED') return;
    try {
      await deps.store.putAttempt({ ...a, state: 'ENDED', endedAt: deps.clock.now(), reason: a.reason ?? reason }, a.version);
      return;
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
    }
  }
}

/** The last resort: tear down what exists (best effort) and record why the control plane failed. */
export async function controllerFailed(deps: Deps, input: StepInput & { error?: { Error?: string; Cause?: string } }): Promise<Cursor> {
  const reason = `controller error: ${input.error?.Error ?? 'unknown'}${input.error?.Cause ? `: ${String(input.error.Cause).slice(0, 500)}` : ''}`;
  const job = await deps.store.getJob(input.jobId);
  if (!job) return cursor(deps, input, 'DONE');
  const t = current(job);
  if (t.attempt > 0) {
    const attempt = await deps.store.getAttempt(job.jobId, t.index, t.attempt);
    if (!attempt || attempt.state !== 'ENDED') {
      // Without an attempt record (the step failed between the provider's launch and storing its
      // answer) the instances are known only to the cloud, by their tags: ask every provider.
      const targets = attempt
        ? [{ provider: providerFor(deps, attempt.candidate.cloud), region: attempt.candidate.region as string | undefined }]
        : Object.values(deps.providers).flatMap((p) => (p ? [{ provider: p, region: undefined }] : []));
      let terminated = true;
      for (const { provider, region } of targets) {
        try {
          await provider.terminate(job.jobId, t.index, t.attempt, region);
        } catch (err) {
          terminated = false;
          deps.log?.('teardown after controller failure failed; the janitor will retry', { jobId: job.jobId, cloud: provider.cloud, error: String(err) });
        }
      }
      if (attempt && terminated) await endAttempt(deps, attempt, reason);
    }
  }
  await mutateJob(deps, job.jobId, (j) => {
    const now = deps.clock.now();
    const tt = current(j);
    const ev: JobEvent[] = [];
    let next = j;
    if (tt.status !== 'FAILED_CONTROLLER') next = transition(next, tt.index, 'FAILED_CONTROLLER', reason, now, ev);
    const r = cancelLaterTasks(next, tt.index, now);
    ev.push(...r.events);
    if (!ev.length) return null;
    return { job: { ...r.job, slot: 'NONE', slotSince: now, wait: undefined }, events: ev };
  });
  return finalize(deps, input);
}
