import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  canTransition,
  allowedTargets,
  deriveJobStatus,
  transitionTask,
  cancelLaterTasks,
  requestCancel,
} from '../../../core/job/transitions.ts';
import { TASK_STATUSES, TERMINAL_STATUSES, isTerminal, type TaskStatus } from '../../../core/job/status.ts';
import { InvalidTransitionError } from '../../../core/errors.ts';
import type { JobRecord } from '../../../core/job/records.ts';
import { newJob, deepFreeze } from './job-fixture.ts';

// docs/behaviour.md §2 restated edge by edge, independently of the implementation's table. FAILED_CONTROLLER is
// reachable from everything and is checked separately.
const SPEC_EDGES: Record<string, string> = {
  'PENDING>STARTING': 'first launch granted a slot',
  'PENDING>RECOVERING': 'a recovery resumes after back-off',
  'PENDING>FAILED_PRECHECKS': 'nothing feasible before any attempt',
  'PENDING>CANCELLING': 'any non-terminal → CANCELLING',
  'PENDING>CANCELLED': 'a PENDING task is cancelled at once / later pipeline tasks',
  'STARTING>RUNNING': 'instances up',
  'STARTING>PENDING': 'every candidate blocked: back-off',
  'STARTING>RECOVERING': 'instances lost before RUNNING (node never reports)',
  'STARTING>FAILED_PRECHECKS': 'only non-capacity failures',
  'STARTING>FAILED_NO_RESOURCE': 'max_launch_attempts reached',
  'STARTING>CANCELLING': 'any non-terminal → CANCELLING',
  'RUNNING>SUCCEEDED': 'every node exited 0',
  'RUNNING>FAILED': 'run failed, no restart applies',
  'RUNNING>FAILED_SETUP': 'setup failed, no restart applies',
  'RUNNING>RECOVERING': 'preemption or restart',
  'RUNNING>CANCELLING': 'any non-terminal → CANCELLING',
  'RECOVERING>RUNNING': 'relaunched',
  'RECOVERING>PENDING': 'every candidate blocked: back-off',
  'RECOVERING>RECOVERING': 'relaunch lost before RUNNING',
  'RECOVERING>FAILED_PRECHECKS': 'only non-capacity failures',
  'RECOVERING>FAILED_NO_RESOURCE': 'max_launch_attempts reached',
  'RECOVERING>CANCELLING': 'any non-terminal → CANCELLING',
  'CANCELLING>CANCELLED': 'cleanup done',
  'CANCELLING>SUCCEEDED': 'finished first, keeps its real status',
  'CANCELLING>FAILED': 'finished first, keeps its real status',
  'CANCELLING>FAILED_SETUP': 'finished first, keeps its real status',
};

describe('canTransition (docs/behaviour.md §2 status graph)', () => {
  const pairs = TASK_STATUSES.flatMap((from) => TASK_STATUSES.map((to) => [from, to] as const));
  it.each(pairs)('%s → %s matches the spec', (from, to) => {
    const expected = to === 'FAILED_CONTROLLER' || `${from}>${to}` in SPEC_EDGES;
    expect(canTransition(from, to)).toBe(expected);
  });

  it('every listed spec edge names real statuses', () => {
    for (const key of Object.keys(SPEC_EDGES)) {
      const [from, to] = key.split('>');
      expect(TASK_STATUSES).toContain(from);
      expect(TASK_STATUSES).toContain(to);
    }
  });

  it('a terminal status only goes to FAILED_CONTROLLER', () => {
    for (const from of TERMINAL_STATUSES) expect(allowedTargets(from)).toEqual(['FAILED_CONTROLLER']);
  });

  it('property: no transition leaves a terminal status except to FAILED_CONTROLLER', () => {
    fc.assert(
      fc.property(fc.constantFrom(...TERMINAL_STATUSES), fc.constantFrom(...TASK_STATUSES), (from, to) => {
        expect(canTransition(from, to)).toBe(to === 'FAILED_CONTROLLER');
      }),
    );
  });
});

describe('deriveJobStatus', () => {
  it.each<[TaskStatus[], TaskStatus]>([
    [['PENDING'], 'PENDING'],
    [['SUCCEEDED'], 'SUCCEEDED'],
    [['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED'], 'SUCCEEDED'],
    [['SUCCEEDED', 'RUNNING', 'PENDING'], 'RUNNING'],
    [['SUCCEEDED', 'PENDING'], 'PENDING'],
    [['FAILED', 'CANCELLED', 'CANCELLED'], 'FAILED'],
    [['SUCCEEDED', 'FAILED_SETUP', 'CANCELLED'], 'FAILED_SETUP'],
    [['SUCCEEDED', 'SUCCEEDED', 'CANCELLING'], 'CANCELLING'],
  ])('%j → %s', (statuses, expected) => {
    expect(deriveJobStatus(statuses.map((status) => ({ status })))).toBe(expected);
  });

  it('rejects a job with no tasks', () => {
    expect(() => deriveJobStatus([])).toThrow(InvalidTransitionError);
  });
});

/** Applies a path of transitions to task 0, one second apart, returning every intermediate job. */
function walk(job: JobRecord, path: TaskStatus[], start = 2_000_000, step = 1000): JobRecord {
  let j = job;
  path.forEach((to, i) => {
    j = transitionTask(j, 0, to, `to ${to}`, start + i * step).job;
  });
  return j;
}

describe('transitionTask bookkeeping', () => {
  it('returns a new record and an event, leaving the input untouched', () => {
    const job = deepFreeze(newJob());
    const { job: next, event } = transitionTask(job, 0, 'STARTING', 'slot granted', 5000);
    expect(job.tasks[0].status).toBe('PENDING');
    expect(next.tasks[0].status).toBe('STARTING');
    expect(next.status).toBe('STARTING');
    expect(next).not.toBe(job);
    expect(event).toEqual({ jobId: 1, time: 5000, task: 0, from: 'PENDING', to: 'STARTING', reason: 'slot granted' });
  });

  it('carries the attempt number in the event once the task has launched', () => {
    const job = newJob();
    const launched: JobRecord = { ...job, tasks: [{ ...job.tasks[0], status: 'STARTING', attempt: 3 }], status: 'STARTING' };
    expect(transitionTask(launched, 0, 'RUNNING', 'up', 10).event.attempt).toBe(3);
  });

  it('sets startedAt on the first RUNNING only (SkyPilot start_at), not on STARTING', () => {
    let j = transitionTask(newJob(), 0, 'STARTING', 'slot', 100).job;
    expect(j.tasks[0].startedAt).toBeUndefined();
    j = transitionTask(j, 0, 'RUNNING', 'up', 200).job;
    expect(j.tasks[0].startedAt).toBe(200);
    j = transitionTask(j, 0, 'RECOVERING', 'preempted', 300).job;
    j = transitionTask(j, 0, 'RUNNING', 'up again', 400).job;
    expect(j.tasks[0].startedAt).toBe(200);
  });

  it('job duration counts RUNNING time only, across recoveries', () => {
    let j = transitionTask(newJob(), 0, 'STARTING', 'slot', 0).job;
    j = transitionTask(j, 0, 'RUNNING', 'up', 1_000).job; // runs 10 s
    expect(j.tasks[0].runningSince).toBe(1_000);
    j = transitionTask(j, 0, 'RECOVERING', 'preempted', 11_000).job; // 30 s recovering
    expect(j.tasks[0].runningSince).toBeUndefined();
    expect(j.tasks[0].jobDurationMs).toBe(10_000);
    j = transitionTask(j, 0, 'RUNNING', 'up', 41_000).job; // runs 5 s
    j = transitionTask(j, 0, 'SUCCEEDED', 'exit 0', 46_000).job;
    expect(j.tasks[0].jobDurationMs).toBe(15_000);
    expect(j.tasks[0].runningSince).toBeUndefined();
  });

  it('RUNNING → CANCELLING stops the job-duration clock', () => {
    let j = walk(newJob(), ['STARTING', 'RUNNING'], 0, 1000); // RUNNING at 1000
    j = transitionTask(j, 0, 'CANCELLING', 'user', 4000).job;
    expect(j.tasks[0].jobDurationMs).toBe(3000);
    j = transitionTask(j, 0, 'CANCELLED', 'cleaned up', 9000).job;
    expect(j.tasks[0].jobDurationMs).toBe(3000);
  });

  it('entering RUNNING resets the launch walk state (blockedRounds, blocked)', () => {
    const base = transitionTask(newJob(), 0, 'STARTING', 'slot', 0).job;
    const blocked: JobRecord = {
      ...base,
      tasks: [{ ...base.tasks[0], blockedRounds: 2, blocked: [{ scope: 'region', cloud: 'aws', region: 'us-east-1' }] }],
    };
    const j = transitionTask(blocked, 0, 'RUNNING', 'up', 10).job;
    expect(j.tasks[0].blockedRounds).toBe(0);
    expect(j.tasks[0].blocked).toEqual([]);
  });

  it('counts a recovery when entering RECOVERING from a launched state, not when resuming from PENDING', () => {
    let j = walk(newJob(), ['STARTING', 'RUNNING', 'RECOVERING']);
    expect(j.tasks[0].recoveryCount).toBe(1);
    j = transitionTask(j, 0, 'PENDING', 'all blocked, backing off', 9_000_000).job;
    j = transitionTask(j, 0, 'RECOVERING', 'back-off over', 9_100_000).job;
    expect(j.tasks[0].recoveryCount).toBe(1);
    j = transitionTask(j, 0, 'RECOVERING', 'relaunch lost before running', 9_200_000).job;
    expect(j.tasks[0].recoveryCount).toBe(2);
    expect(j.tasks[0].restartCount).toBe(0);
  });

  it('a counted restart increments restartCount as well as recoveryCount', () => {
    const j = transitionTask(walk(newJob(), ['STARTING', 'RUNNING']), 0, 'RECOVERING', 'run exit 1; restart 1 of 3', 9e6, {
      countedRestart: true,
    }).job;
    expect(j.tasks[0].restartCount).toBe(1);
    expect(j.tasks[0].recoveryCount).toBe(1);
  });

  it('rejects countedRestart on anything but the start of a recovery', () => {
    const running = walk(newJob(), ['STARTING', 'RUNNING']);
    expect(() => transitionTask(running, 0, 'FAILED', 'x', 1, { countedRestart: true })).toThrow(InvalidTransitionError);
    const pending = walk(newJob(), ['STARTING', 'RUNNING', 'RECOVERING', 'PENDING']);
    expect(() => transitionTask(pending, 0, 'RECOVERING', 'x', 1, { countedRestart: true })).toThrow(InvalidTransitionError);
  });

  it('PENDING resumes a first launch as STARTING and a recovery as RECOVERING, never the other way', () => {
    const backedOff = walk(newJob(), ['STARTING', 'PENDING']);
    expect(transitionTask(backedOff, 0, 'STARTING', 'retry', 1).job.tasks[0].status).toBe('STARTING');
    expect(() => transitionTask(backedOff, 0, 'RECOVERING', 'retry', 1)).toThrow(/first launch goes to STARTING/);
    const recoveringBackedOff = walk(newJob(), ['STARTING', 'RUNNING', 'RECOVERING', 'PENDING']);
    expect(transitionTask(recoveringBackedOff, 0, 'RECOVERING', 'retry', 1).job.tasks[0].status).toBe('RECOVERING');
    expect(() => transitionTask(recoveringBackedOff, 0, 'STARTING', 'retry', 1)).toThrow(/resumed recovery goes to RECOVERING/);
  });

  it('sets endedAt and the failure reason on a failure status', () => {
    const j = transitionTask(walk(newJob(), ['STARTING', 'RUNNING']), 0, 'FAILED', 'run failed: node 0 exited 1', 7_000_000).job;
    expect(j.tasks[0].endedAt).toBe(7_000_000);
    expect(j.tasks[0].failureReason).toBe('run failed: node 0 exited 1');
    expect(j.status).toBe('FAILED');
    expect(j.endedAt).toBe(7_000_000);
  });

  it('does not set a failure reason on SUCCEEDED or CANCELLED', () => {
    const ok = walk(newJob(), ['STARTING', 'RUNNING', 'SUCCEEDED']);
    expect(ok.tasks[0].failureReason).toBeUndefined();
    const cancelled = transitionTask(newJob(), 0, 'CANCELLED', 'cancelled by alice', 5).job;
    expect(cancelled.tasks[0].failureReason).toBeUndefined();
    expect(cancelled.tasks[0].endedAt).toBe(5);
  });

  it('FAILED_CONTROLLER puts the new reason before the old one and keeps the original endedAt', () => {
    let j = transitionTask(walk(newJob(), ['STARTING', 'RUNNING']), 0, 'FAILED', 'run failed', 100).job;
    j = transitionTask(j, 0, 'FAILED_CONTROLLER', 'teardown failed', 200).job;
    expect(j.tasks[0].status).toBe('FAILED_CONTROLLER');
    expect(j.tasks[0].failureReason).toBe('teardown failed; run failed');
    expect(j.tasks[0].endedAt).toBe(100);
    expect(j.endedAt).toBe(100);
    j = transitionTask(j, 0, 'FAILED_CONTROLLER', 'janitor found leaked instance', 300).job;
    expect(j.tasks[0].failureReason).toBe('janitor found leaked instance; teardown failed; run failed');
  });

  it('FAILED_CONTROLLER from a running task ends it now and stops the duration clock', () => {
    const j = transitionTask(walk(newJob(), ['STARTING', 'RUNNING'], 0, 1000), 0, 'FAILED_CONTROLLER', 'bug', 5000).job;
    expect(j.tasks[0].endedAt).toBe(5000);
    expect(j.tasks[0].jobDurationMs).toBe(4000);
    expect(j.tasks[0].failureReason).toBe('bug');
  });

  it('FAILED_CONTROLLER overrides SUCCEEDED (e.g. cleanup failed) and the job status follows', () => {
    let j = walk(newJob(), ['STARTING', 'RUNNING', 'SUCCEEDED']);
    expect(j.status).toBe('SUCCEEDED');
    j = transitionTask(j, 0, 'FAILED_CONTROLLER', 'could not delete job files', 9e6).job;
    expect(j.status).toBe('FAILED_CONTROLLER');
  });

  it('throws InvalidTransitionError (literal name) for a forbidden change and names the task', () => {
    const j = walk(newJob(), ['STARTING', 'RUNNING']);
    let caught: unknown;
    try {
      transitionTask(j, 0, 'PENDING', 'no', 1);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(InvalidTransitionError);
    expect((caught as Error).name).toBe('InvalidTransitionError');
    expect((caught as Error).message).toBe('job 1 task 0 (train): RUNNING → PENDING is not allowed (docs/behaviour.md §2)');
  });

  it('a terminal task cannot be revived', () => {
    const done = walk(newJob(), ['STARTING', 'RUNNING', 'SUCCEEDED']);
    for (const to of TASK_STATUSES.filter((s) => s !== 'FAILED_CONTROLLER')) {
      expect(() => transitionTask(done, 0, to, 'again', 1)).toThrow(InvalidTransitionError);
    }
  });

  it('rejects an unknown task index, an empty reason and a non-finite time', () => {
    const j = newJob();
    expect(() => transitionTask(j, 1, 'STARTING', 'x', 1)).toThrow(/no task 1 \(the job has 1 task/);
    expect(() => transitionTask(j, -1, 'STARTING', 'x', 1)).toThrow(InvalidTransitionError);
    expect(() => transitionTask(j, 0, 'STARTING', '  ', 1)).toThrow(/needs a reason/);
    expect(() => transitionTask(j, 0, 'STARTING', 'x', Number.NaN)).toThrow(/finite/);
  });

  it('a pipeline job is terminal only when every task is; its status is the first non-SUCCEEDED task', () => {
    let j = newJob(['prep', 'train']);
    j = walk(j, ['STARTING', 'RUNNING', 'SUCCEEDED']);
    expect(j.status).toBe('PENDING');
    expect(j.endedAt).toBeUndefined();
    const t1 = (to: TaskStatus, at: number) => (j = transitionTask(j, 1, to, `to ${to}`, at).job);
    t1('STARTING', 10e6);
    expect(j.status).toBe('STARTING');
    t1('RUNNING', 11e6);
    t1('SUCCEEDED', 12e6);
    expect(j.status).toBe('SUCCEEDED');
    expect(j.endedAt).toBe(12e6);
  });
});

describe('pipelines and cancel', () => {
  it('cancelLaterTasks: a failed task cancels every later PENDING task, with events', () => {
    let j = newJob(['a', 'b', 'c']);
    j = transitionTask(walk(j, ['STARTING', 'RUNNING']), 0, 'FAILED', 'run failed', 50e6).job;
    expect(j.status).toBe('FAILED');
    expect(j.endedAt).toBeUndefined(); // later tasks still pending
    const { job, events } = cancelLaterTasks(j, 0, 50e6);
    expect(job.tasks.map((t) => t.status)).toEqual(['FAILED', 'CANCELLED', 'CANCELLED']);
    expect(events.map((e) => [e.task, e.from, e.to])).toEqual([
      [1, 'PENDING', 'CANCELLED'],
      [2, 'PENDING', 'CANCELLED'],
    ]);
    expect(events[0].reason).toBe('earlier task 0 (a) ended FAILED');
    expect(job.status).toBe('FAILED');
    expect(job.endedAt).toBe(50e6);
  });

  it('cancelLaterTasks is harmless to repeat and refuses a later task that already started', () => {
    let j = newJob(['a', 'b']);
    j = transitionTask(j, 0, 'FAILED_PRECHECKS', 'no feasible resources', 1).job;
    const once = cancelLaterTasks(j, 0, 2).job;
    const twice = cancelLaterTasks(once, 0, 3);
    expect(twice.events).toEqual([]);
    expect(twice.job.tasks[1].endedAt).toBe(2);
    const outOfOrder = transitionTask(newJob(['a', 'b']), 1, 'STARTING', 'bug', 1).job;
    expect(() => cancelLaterTasks(outOfOrder, 0, 2)).toThrow(InvalidTransitionError);
    expect(() => cancelLaterTasks(j, 5, 2)).toThrow(/no task 5/);
  });

  it('requestCancel: PENDING → CANCELLED at once; tasks that may hold instances → CANCELLING', () => {
    let j = newJob(['a', 'b', 'c']);
    j = walk(j, ['STARTING', 'RUNNING']);
    const { job, events } = requestCancel(j, 'alice', 77);
    expect(job.tasks.map((t) => t.status)).toEqual(['CANCELLING', 'CANCELLED', 'CANCELLED']);
    expect(job.cancelRequested).toEqual({ at: 77, by: 'alice' });
    expect(job.status).toBe('CANCELLING');
    expect(events).toHaveLength(3);
    expect(events[0].reason).toBe('cancelled by alice');
    // repeating changes nothing and keeps the first request
    const again = requestCancel(job, 'bob', 99);
    expect(again.events).toEqual([]);
    expect(again.job.cancelRequested).toEqual({ at: 77, by: 'alice' });
  });

  it('requestCancel on a PENDING single-task job ends it CANCELLED immediately', () => {
    const { job } = requestCancel(newJob(), 'alice', 5);
    expect(job.status).toBe('CANCELLED');
    expect(job.endedAt).toBe(5);
  });

  it('a run that finishes during CANCELLING keeps its real terminal status', () => {
    const cancelling = requestCancel(walk(newJob(), ['STARTING', 'RUNNING']), 'alice', 9e6).job;
    expect(transitionTask(cancelling, 0, 'SUCCEEDED', 'exit 0', 9.1e6).job.status).toBe('SUCCEEDED');
    expect(transitionTask(cancelling, 0, 'FAILED', 'exit 1', 9.1e6).job.status).toBe('FAILED');
  });
});

describe('property: random status walks keep the bookkeeping consistent', () => {
  it('invariants hold after every accepted transition; terminal tasks only move to FAILED_CONTROLLER', () => {
    const stepArb = fc.record({
      to: fc.constantFrom(...TASK_STATUSES),
      dt: fc.integer({ min: 0, max: 100_000 }),
      counted: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 60 }), (steps) => {
        let job = deepFreeze(newJob(['only'], 0));
        let now = 0;
        // Independent model of the bookkeeping.
        let runningTime = 0;
        let runningSince: number | undefined;
        let recoveries = 0;
        let restarts = 0;
        let everRan = false;
        for (const { to, dt, counted } of steps) {
          now += dt;
          const from = job.tasks[0].status;
          const useCounted = counted && to === 'RECOVERING' && from !== 'PENDING';
          let result;
          try {
            result = transitionTask(job, 0, to, 'step', now, { countedRestart: useCounted });
          } catch (e) {
            expect(e).toBeInstanceOf(InvalidTransitionError);
            // It was refused: either the graph forbids it or PENDING's history rule did.
            const historyRule =
              from === 'PENDING' &&
              ((to === 'STARTING' && job.tasks[0].recoveryCount > 0) || (to === 'RECOVERING' && job.tasks[0].recoveryCount === 0));
            expect(!canTransition(from, to) || historyRule).toBe(true);
            continue;
          }
          expect(canTransition(from, to)).toBe(true);
          if (isTerminal(from)) expect(to).toBe('FAILED_CONTROLLER');
          if (from === 'RUNNING' && runningSince !== undefined) {
            runningTime += now - runningSince;
            runningSince = undefined;
          }
          if (to === 'RUNNING') {
            runningSince = now;
            everRan = true;
          }
          if (to === 'RECOVERING' && from !== 'PENDING') {
            recoveries++;
            if (useCounted) restarts++;
          }
          job = deepFreeze(result.job);
          const t = job.tasks[0];
          expect(result.event).toMatchObject({ time: now, task: 0, from, to });
          expect(t.status).toBe(to);
          expect(job.status).toBe(to);
          expect(t.jobDurationMs).toBe(runningTime);
          expect(t.runningSince).toBe(runningSince);
          expect(t.recoveryCount).toBe(recoveries);
          expect(t.restartCount).toBe(restarts);
          expect(t.startedAt !== undefined).toBe(everRan);
          expect(t.endedAt !== undefined).toBe(isTerminal(to));
          expect(job.endedAt !== undefined).toBe(isTerminal(to));
          if (to === 'FAILED_CONTROLLER') expect(t.failureReason?.startsWith('step')).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});
