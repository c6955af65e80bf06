// The Task of every wait state of statemachines/job.asl.json (see core/workflow/cursor.ts for the
// ring): settle the job — run every synchronous step until it waits, pauses or is done — and then park
// in this state if the job waits for what this state waits for, or hand over at once.
//
// `settle` is a reconciler: it re-reads the job and its current attempt before every step and asks
// the pure nextStep() what to do, so a restart, a lost or duplicated event or a continue-as-new resumes
// exactly where the job stands. Bounded work per invocation (the workflow Lambda has 5 minutes): each
// of the slow steps — LAUNCH (≤ candidatesPerLaunchStep provider launches), TEARDOWN (a terminate and
// a describe), FINALIZE (an upload prefix deleted) — runs at most once per call, and at most
// MAX_STEPS steps in all; what remains is handed to the next state, which settles again.

import { nextStep, type WaitKind } from '../../workflow/next-step.ts';
import { makeCursor, RESUME_NEXT, WAIT_NEXT, type Cursor, type Next } from '../../workflow/cursor.ts';
import { cancelLaterTasks, cancelIdle } from '../../job/transitions.ts';
import { advanceTask, succeedWithoutRun } from '../../workflow/changes.ts';
import { isTerminal } from '../../job/status.ts';
import type { Deps } from '../deps.ts';
import { mutateJob } from '../mutate.ts';
import { markLost, signalWait } from '../completers.ts';
import { applyOutcome } from './outcome.ts';
import { launch } from './launch.ts';
import { teardown } from './teardown.ts';
import { finalize } from '../end-job.ts';

/** Steps one settle may take (each is one conditional write or one bounded slow step). */
const MAX_STEPS = 16;

export interface SettleInput {
  jobId: number;
  cycle: number;
  execution?: string;
}

/** Runs the job's synchronous steps; returns where the workflow goes next (cycle + 1). */
export async function settle(deps: Deps, input: SettleInput): Promise<Cursor> {
  const base = { jobId: input.jobId, cycle: input.cycle + 1 };
  const to = (next: Next, attempt = 0, waitSeconds = 0) => makeCursor(base, deps.settings, next, attempt, waitSeconds);
  if (input.cycle >= deps.settings.cyclesPerExecution) return to('CONTINUE_AS_NEW');
  const slowDone = new Set<string>();
  const once = (kind: string) => (slowDone.has(kind) ? false : (slowDone.add(kind), true));
  for (let i = 0; i < MAX_STEPS; i++) {
    const job = await deps.store.getJob(input.jobId);
    const t = job?.tasks[job.currentTask];
    const attempt = job && t && t.attempt > 0 ? await deps.store.getAttempt(job.jobId, t.index, t.attempt) : undefined;
    const step = nextStep(job, attempt, deps.clock.now());
    switch (step.kind) {
      case 'DONE':
        return to('DONE');
      case 'WAIT':
        return to(WAIT_NEXT[step.wait], step.attempt);
      case 'PAUSE':
        return to('PAUSE', step.attempt, step.seconds);
      case 'LAUNCH':
        if (!once('LAUNCH') || (await launch(deps, input.jobId)) === 'MORE') return to('SETTLE', t!.attempt);
        break;
      case 'TEARDOWN':
        if (!once('TEARDOWN')) return to('SETTLE', step.attempt);
        if ((await teardown(deps, input.jobId, t!.index, step.attempt)) === 'PENDING') return to('PAUSE', step.attempt, deps.settings.teardownPollSeconds);
        break;
      case 'FINALIZE':
        if (!once('FINALIZE')) return to('SETTLE');
        await finalize(deps, input.jobId);
        break;
      case 'APPLY_OUTCOME':
        await applyOutcome(deps, input.jobId, step.attempt);
        break;
      case 'CANCEL_LATER_TASKS':
        await mutateJob(deps, input.jobId, (j) => {
          const r = cancelLaterTasks(j, step.task, deps.clock.now());
          return r.events.length ? r : null;
        });
        break;
      case 'CANCEL_IDLE':
        await mutateJob(deps, input.jobId, (j) => cancelIdle(j, deps.clock.now()));
        break;
      case 'NEXT_TASK':
        await mutateJob(deps, input.jobId, (j) => advanceTask(j, step.task));
        break;
      case 'SUCCEED_WITHOUT_RUN':
        await mutateJob(deps, input.jobId, (j) => succeedWithoutRun(j, step.task, deps.clock.now()));
        break;
    }
  }
  return to('SETTLE'); // more to do: the next state settles again
}

/** What a wait state's Task receives: its own state input (`state`), its kind and its token. */
export interface WaitInput {
  kind: WaitKind;
  taskToken: string;
  execution?: string;
  /** The state's input: a Cursor, the execution's start input `{jobId, cycle}`, or either with `lost` (a heartbeat timeout caught). */
  state: { jobId: number; cycle: number; lost?: { Error?: string; Cause?: string } };
}

/**
 * Settles, then parks here or hands over. A heartbeat timeout of AwaitNodes/AwaitRun is caught into
 * WaitForLaunchSlot with `lost` set: the wait that timed out (stored on the job) names the attempt.
 */
export async function enterWait(deps: Deps, input: WaitInput): Promise<void> {
  const { jobId, cycle, lost } = input.state;
  if (lost) await loseTimedOutAttempt(deps, jobId);
  const c = await settle(deps, { jobId, cycle, execution: input.execution });
  if (c.next !== WAIT_NEXT[input.kind]) {
    await deps.workflows.sendTaskSuccess(input.taskToken, c);
    return;
  }
  await park(deps, input.kind, input.taskToken, c);
}

async function loseTimedOutAttempt(deps: Deps, jobId: number): Promise<void> {
  const job = await deps.store.getJob(jobId);
  const w = job?.wait;
  if (!job || !w || (w.kind !== 'NODES' && w.kind !== 'RUN')) return;
  const reason = w.kind === 'NODES' ? 'a node never registered within the registration timeout' : 'heartbeat lost: a node stopped reporting';
  await markLost(deps, jobId, w.taskIndex, w.attempt, reason);
}

/**
 * Stores the token (with the state a completer resumes with), then checks whether the awaited
 * condition already holds — an agent may have reported while we were not parked — and if so completes
 * its own token. Completers check the stored wait after writing; one of the two always sees the other.
 */
async function park(deps: Deps, kind: WaitKind, token: string, c: Cursor): Promise<void> {
  const resume: Cursor = { ...c, next: RESUME_NEXT[kind] };
  const { job } = await mutateJob(deps, c.jobId, (j) => {
    const now = deps.clock.now();
    const wait = { kind, token, taskIndex: j.currentTask, attempt: c.attempt, since: now, resume };
    if (kind !== 'SLOT') return { job: { ...j, wait } };
    const slot = j.slot === 'LAUNCHING' ? 'LAUNCHING' : 'WAITING';
    return { job: { ...j, wait, slot, slotSince: j.slot === slot ? j.slotSince : now } };
  });
  let ready = job.cancelRequested !== undefined || isTerminal(job.status);
  if (kind === 'SLOT') ready ||= job.slot === 'LAUNCHING';
  else {
    const attempt = await deps.store.getAttempt(job.jobId, job.currentTask, c.attempt);
    ready ||= !attempt || attempt.state === 'ENDED' || attempt.outcome !== undefined || (kind === 'NODES' && attempt.state !== 'PROVISIONING');
  }
  if (ready) {
    await signalWait(deps, job, [kind]);
    return;
  }
  if (kind === 'SLOT') await deps.wakeScheduler();
}

/** Starts the next execution of the job (same name with `-cN`); it resumes from the stored state. */
export async function continueAsNew(deps: Deps, input: SettleInput): Promise<void> {
  const name = input.execution ?? `job-${input.jobId}`;
  const m = /^(.*)-c(\d+)$/.exec(name);
  const nextName = m ? `${m[1]}-c${Number(m[2]) + 1}` : `${name}-c1`;
  await deps.workflows.startExecution(nextName, { jobId: input.jobId, cycle: 0 });
}
