// The scheduler (docs/behaviour.md §4). One tick: recount launching and running jobs from the store (never a
// running counter: a lost event must not leak a slot), then grant launch slots to waiting jobs,
// highest priority first, then oldest, without exceeding either limit. Runs as ONE instance at a
// time: on AWS the scheduler Lambda has reserved concurrency 1; within a process, ticks on the same
// Deps are serialized here.
//
// Terms. Waiting: parked in WaitForLaunchSlot (slot WAITING, a SLOT wait token stored). Launching:
// holds a launch slot (slot LAUNCHING). Running: holds a run slot (slot RUNNING). A grant moves a job
// WAITING → LAUNCHING with one conditional write, then completes its SLOT token.
//
// Invariants:
//  - A grant never exceeds a limit: the counts come from the store at the start of the tick, grants
//    are bounded by freeLaunchSlots(), only this tick grants (serialized), and a grant is a
//    conditional write that only a WAITING job accepts (a duplicate grant changes nothing).
//  - A slot held by a workflow that died is freed (detection, by how the workflow died):
//      a. died while parked: completing its token fails → the grant is taken back at once, fenced on
//         the version the grant wrote, so a workflow that did move on (its Launch step writes the
//         job before calling any provider) is never robbed of its slot;
//      b. died anywhere, on AWS: Step Functions' "Execution Status Change" event (FAILED, ABORTED,
//         TIMED_OUT) → onWorkflowExecutionEnded marks the job FAILED_CONTROLLER (slot NONE);
//      c. died with no event: a sweep finds a LAUNCHING job with no live attempt whose record has
//         not changed for `launchStallSeconds` → FAILED_CONTROLLER. A live Launch step always writes
//         the job within one Lambda timeout, so the bound only has to exceed that.
//    The next tick's recount sees the freed slot; (a) and (c) free it within the tick itself.
//  - Sweeps (the stall check and the janitor) run on scheduled ticks, and on on-demand ticks at
//    most every `janitorIntervalSeconds`, so a burst of on-demand ticks stays cheap.

import { freeLaunchSlots, planAdmission } from '../admission/plan.ts';
import type { JobRecord } from '../job/records.ts';
import { isTerminal } from '../job/status.ts';
import { NotFoundError, TokenGoneError } from '../errors.ts';
import type { Deps } from './deps.ts';
import { mutateJob } from './mutate.ts';
import { sweepOrphans, type JanitorReport } from './janitor.ts';
import { failController, finalize } from './end-job.ts';
import { honourCancelRequests, sweepCancelRequests } from './cancel.ts';

/** At most this many grants per tick: bounded work per invocation (the next tick continues). */
export const MAX_GRANTS_PER_TICK = 1000;
/** Grants (conditional write + token completion) in flight at once. */
const GRANT_CONCURRENCY = 32;
export const DEFAULT_LAUNCH_STALL_SECONDS = 1800;
export const DEFAULT_JANITOR_INTERVAL_SECONDS = 60;

export interface TickOptions {
  /**
   * true: run the sweeps now (the 1-minute schedule); false: never (a pure admission tick);
   * undefined: run them when the last sweep is `janitorIntervalSeconds` old.
   */
  sweep?: boolean;
  /**
   * When the wake that asked for this tick was sent (clock ms). A tick that STARTED after that moment
   * has already seen whatever the wake was about, so this one returns at once without reading the
   * store: a burst of wakes queued behind one running tick costs one tick, not one per wake.
   */
  wokenAt?: number;
}

export interface TickResult {
  /**
   * Counts after this tick's reclaims and grants, when the tick needed them: launching is not
   * counted when nobody waits, running not when launching is at its limit.
   */
  launching?: number;
  running?: number;
  /** Waiting jobs looked at and not granted (bounded by the free room). */
  waiting: number;
  granted: number[];
  /** Grants taken back because the workflow could not be told (case a above). */
  revoked: number[];
  /** LAUNCHING jobs whose workflow was presumed lost (case c above), now FAILED_CONTROLLER. */
  reclaimed: number[];
  /** Jobs cancelled by this tick's pass over recorded bulk cancels. */
  cancelled?: number;
  janitor?: JanitorReport;
  /** True when the tick was skipped (see TickOptions.wokenAt): nothing was read or granted. */
  skipped?: boolean;
}

interface SchedulerState {
  /** Serializes ticks on one Deps. */
  chain: Promise<unknown>;
  /** Clock times of recent grants (for slotIndexLagMs). */
  recentGrants: number[];
  lastSweepAt?: number;
  lastTickStartedAt?: number;
  /** LAUNCHING job → the version last seen and since when (the stall check's "no progress"). */
  seen: Map<number, { version: number; since: number }>;
}

const states = new WeakMap<Deps, SchedulerState>();

function stateOf(deps: Deps): SchedulerState {
  let s = states.get(deps);
  if (!s) {
    s = { chain: Promise.resolve(), recentGrants: [], seen: new Map() };
    states.set(deps, s);
  }
  return s;
}

export function schedulerTick(deps: Deps, options: TickOptions = {}): Promise<TickResult> {
  const st = stateOf(deps);
  const run = st.chain.then(() => tick(deps, st, options));
  st.chain = run.catch(() => undefined);
  return run;
}

async function tick(deps: Deps, st: SchedulerState, options: TickOptions): Promise<TickResult> {
  const now = deps.clock.now();
  if (options.wokenAt !== undefined && options.sweep !== true && st.lastTickStartedAt !== undefined && options.wokenAt < st.lastTickStartedAt) {
    return { waiting: 0, granted: [], revoked: [], reclaimed: [], skipped: true };
  }
  st.lastTickStartedAt = now;
  const interval = (deps.settings.janitorIntervalSeconds ?? DEFAULT_JANITOR_INTERVAL_SECONDS) * 1000;
  const sweep = options.sweep ?? (st.lastSweepAt === undefined || now - st.lastSweepAt >= interval);
  let reclaimed: number[] = [];
  if (sweep) {
    st.lastSweepAt = now;
    reclaimed = await reclaimStalledSlots(deps, st); // before counting: a reclaimed slot is free now
  }
  const result = await admit(deps, st, now, reclaimed);
  // Recorded bulk cancels, a bounded pass (admission already skips what they cover); another tick
  // follows at once while work remains.
  const cancels = await sweepCancelRequests(deps);
  if (cancels.cancelled) result.cancelled = cancels.cancelled;
  if (cancels.more) await deps.wakeScheduler();
  // The janitor last: a long sweep (thousands of instances) must not delay this tick's grants.
  if (sweep) result.janitor = await sweepOrphans(deps);
  return result;
}

/** The admission part of a tick: counts, then grants. */
async function admit(deps: Deps, st: SchedulerState, now: number, reclaimed: number[]): Promise<TickResult> {
  const { maxLaunching, maxRunning } = deps.settings;
  // Cheapest questions first, each only when the previous answer leaves room for a grant: is anyone
  // waiting (one index entry)? is there launch room (count of LAUNCHING, at most maxLaunching
  // entries)? only then the count of RUNNING, which reads every running job's index entry.
  const lag = deps.settings.slotIndexLagMs ?? 0;
  st.recentGrants = lag > 0 ? st.recentGrants.filter((t) => now - t < lag) : [];
  const head = await deps.store.listJobsBySlot('WAITING', 1);
  if (head.jobs.length === 0 && head.nextCursor === undefined) return { waiting: 0, granted: [], revoked: [], reclaimed };
  // Conservative under index lag: a recent grant may be counted twice, never zero times.
  const launching = (await deps.store.countJobsBySlot('LAUNCHING')) + st.recentGrants.length;
  if (launching >= maxLaunching) return { launching, waiting: head.jobs.length, granted: [], revoked: [], reclaimed };
  const running = await deps.store.countJobsBySlot('RUNNING');
  const room = Math.min(freeLaunchSlots({ launching, running, maxLaunching, maxRunning }), MAX_GRANTS_PER_TICK);
  if (room === 0) return { launching, running, waiting: head.jobs.length, granted: [], revoked: [], reclaimed };

  // The slot index lists WAITING jobs in admission order; planAdmission re-sorts (a total order)
  // and caps at the room, so the first `room` in priority-then-age order are granted, never others.
  const page = await deps.store.listJobsBySlot('WAITING', room);
  // A job a recorded bulk cancel covers is cancelled, never granted (it may not have been swept yet).
  const covered = await honourCancelRequests(deps, page.jobs);
  const plan = planAdmission({
    waiting: page.jobs.filter((j) => !covered.has(j.jobId)).map((j) => ({ jobId: j.jobId, priority: j.priority, since: j.slotSince })),
    launching,
    running,
    maxLaunching,
    maxRunning,
  });
  const granted: number[] = [];
  const revoked: number[] = [];
  const queue = [...plan];
  await Promise.all(
    Array.from({ length: Math.min(GRANT_CONCURRENCY, queue.length) }, async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        const r = await grant(deps, id);
        if (r === 'granted') granted.push(id);
        else if (r === 'revoked') revoked.push(id);
      }
    }),
  );
  if (lag > 0) for (let i = 0; i < granted.length; i++) st.recentGrants.push(now);
  const byId = (a: number, b: number) => a - b;
  return {
    launching: launching + granted.length,
    running,
    waiting: page.jobs.length - granted.length,
    granted: granted.sort(byId),
    revoked: revoked.sort(byId),
    reclaimed,
  };
}

/** WAITING → LAUNCHING, then completes the SLOT token; takes the slot back if that fails. */
async function grant(deps: Deps, jobId: number): Promise<'granted' | 'revoked' | 'skipped'> {
  let job: JobRecord;
  try {
    const r = await mutateJob(deps, jobId, (j) =>
      j.slot === 'WAITING' && j.wait?.kind === 'SLOT' && !j.cancelRequested && !isTerminal(j.status)
        ? { job: { ...j, slot: 'LAUNCHING', slotSince: deps.clock.now() } }
        : null,
    );
    if (!r.changed) return 'skipped'; // no longer waiting (cancelled, duplicate grant, index lag)
    job = r.job;
  } catch (err) {
    if (err instanceof NotFoundError) return 'skipped';
    deps.log?.('scheduler: grant failed', { jobId, error: String(err) });
    return 'skipped';
  }
  try {
    await deps.workflows.sendTaskSuccess(job.wait!.token, job.wait!.resume ?? {});
    return 'granted';
  } catch (err) {
    await revoke(deps, job, err);
    return 'revoked';
  }
}

/**
 * Takes a grant back when its workflow could not be told. Fenced on the version the grant wrote: if
 * the workflow did receive the grant and moved on, its Launch step has written the job (a new
 * version) before calling any provider, so the revoke changes nothing; if the revoke wins, Launch
 * sees the slot gone and the workflow parks again. Slot NONE, not WAITING: a token-less WAITING job
 * would head the admission order forever; a live workflow parks again and is WAITING once more.
 */
async function revoke(deps: Deps, granted: JobRecord, cause: unknown): Promise<void> {
  const why =
    cause instanceof TokenGoneError
      ? 'its workflow was no longer waiting for it (the execution ended or moved on)'
      : `its workflow could not be told (${(cause as Error)?.message ?? String(cause)})`;
  try {
    await mutateJob(deps, granted.jobId, (j) =>
      j.version === granted.version && j.slot === 'LAUNCHING'
        ? {
            job: { ...j, slot: 'NONE', slotSince: deps.clock.now(), wait: undefined },
            events: [{ jobId: j.jobId, time: deps.clock.now(), task: j.currentTask, reason: `scheduler: launch slot taken back: ${why}` }],
          }
        : null,
    );
  } catch (err) {
    deps.log?.('scheduler: could not take back a grant; the stall check will', { jobId: granted.jobId, error: String(err) });
  }
}

/** Case (c): LAUNCHING jobs with no live attempt and no change for launchStallSeconds. */
async function reclaimStalledSlots(deps: Deps, st: SchedulerState): Promise<number[]> {
  const bound = (deps.settings.launchStallSeconds ?? DEFAULT_LAUNCH_STALL_SECONDS) * 1000;
  const now = deps.clock.now();
  const reclaimed: number[] = [];
  const stillLaunching = new Set<number>();
  let cursor: string | undefined;
  do {
    const page = await deps.store.listJobsBySlot('LAUNCHING', 1000, cursor);
    for (const job of page.jobs) {
      stillLaunching.add(job.jobId);
      const seen = st.seen.get(job.jobId);
      if (!seen || seen.version !== job.version) {
        st.seen.set(job.jobId, { version: job.version, since: now });
        continue;
      }
      // Unchanged since `seen.since`, and LAUNCHING since slotSince: the later of the two is when
      // the job last made progress that this process can vouch for.
      if (now - Math.max(seen.since, job.slotSince) < bound) continue;
      const t = job.tasks[job.currentTask];
      const attempt = t.attempt > 0 ? await deps.store.getAttempt(job.jobId, t.index, t.attempt) : undefined;
      if (attempt && attempt.state !== 'ENDED') continue; // instances exist: their own timeouts decide
      const reason = `launch slot held for ${Math.round((now - job.slotSince) / 1000)} s with no launch progress: the job's workflow is presumed lost`;
      try {
        const fresh = await deps.store.getJob(job.jobId);
        if (!fresh || fresh.version !== job.version) continue; // it moved after all
        await failController(deps, job.jobId, { Error: 'LaunchStalled', Cause: reason });
        reclaimed.push(job.jobId);
        st.seen.delete(job.jobId);
      } catch (err) {
        deps.log?.('scheduler: reclaiming a stalled launch slot failed', { jobId: job.jobId, error: String(err) });
      }
    }
    cursor = page.nextCursor;
  } while (cursor);
  for (const id of st.seen.keys()) if (!stillLaunching.has(id)) st.seen.delete(id);
  return reclaimed.sort((a, b) => a - b);
}

// ---- Step Functions execution ended (AWS: EventBridge "Step Functions Execution Status Change") ----

export interface ExecutionEnded {
  /** Execution name: `job-<id>`, or a continuation/resume of it (`job-<id>-…`). */
  name: string;
  status: string;
  error?: string;
  cause?: string;
  /** From the execution input when present (it names the job even if the name does not). */
  jobId?: number;
}

export type ExecutionEndedResult = { handled: true; jobId: number; action: 'failed' | 'finalized' } | { handled: false; why: string };

const DEAD_STATUSES: ReadonlySet<string> = new Set(['FAILED', 'ABORTED', 'TIMED_OUT']);

/** The job an execution drives: from its input, else from its name. */
export function jobIdOfExecution(name: string, inputJobId?: number): number | undefined {
  const m = /^job-(\d+)(?:-.*)?$/.exec(name);
  const fromName = m ? Number(m[1]) : undefined;
  if (inputJobId !== undefined) return fromName === undefined || fromName === inputJobId ? inputJobId : undefined;
  return fromName;
}

/**
 * A job's workflow execution ended without finishing the job (case b). Executions of one job run one
 * after another (continue-as-new starts the next and then succeeds), so a failed execution of the
 * job's chain means nothing drives the job any more: it becomes FAILED_CONTROLLER with the reason
 * (after a best-effort teardown), which frees its slot. A job that is already terminal only gets its
 * missing Finalize. Duplicate events change nothing (a terminal job is left alone).
 */
export async function onWorkflowExecutionEnded(deps: Deps, e: ExecutionEnded): Promise<ExecutionEndedResult> {
  if (!DEAD_STATUSES.has(e.status)) return { handled: false, why: `status ${e.status} needs nothing` };
  const jobId = jobIdOfExecution(e.name, e.jobId);
  if (jobId === undefined) return { handled: false, why: `execution ${e.name} is not a skyless job execution` };
  const job = await deps.store.getJob(jobId);
  if (!job) return { handled: false, why: `job ${jobId} not found` };
  if (isTerminal(job.status)) {
    if (job.finalizedAt) return { handled: false, why: `job ${jobId} is already ${job.status}` };
    await finalize(deps, jobId);
    return { handled: true, jobId, action: 'finalized' };
  }
  await failController(deps, jobId, { Error: `workflow execution ${e.name} ${e.status}${e.error ? ` (${e.error})` : ''}`, Cause: e.cause });
  await deps.wakeScheduler();
  return { handled: true, jobId, action: 'failed' };
}
