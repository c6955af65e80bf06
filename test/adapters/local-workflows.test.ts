// The local engine wrapper supplies what aws-local-stepfunctions lacks: task tokens and heartbeats.
// These tests run small real ASL definitions through it.
import { describe, it, expect } from 'vitest';
import { LocalWorkflows, type ExecutionEnd, type HeartbeatTimer } from '../../adapters/local/local-workflows.ts';
import { TokenGoneError } from '../../core/errors.ts';

function machine(extra: Record<string, unknown> = {}) {
  return JSON.stringify({
    StartAt: 'Wait',
    States: {
      Wait: {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
        Parameters: { FunctionName: '${Fn}', Payload: { 'job.$': '$.job', 'taskToken.$': '$$.Task.Token' } },
        HeartbeatSecondsPath: '$.hb',
        ResultPath: '$.signal',
        Catch: [{ ErrorEquals: ['States.HeartbeatTimeout'], ResultPath: '$.error', Next: 'TimedOut' }, { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Failed' }],
        Next: 'Done',
        ...extra,
      },
      TimedOut: { Type: 'Pass', Result: 'timed-out', ResultPath: '$.end', Next: 'Done' },
      Failed: { Type: 'Pass', Result: 'failed', ResultPath: '$.end', Next: 'Done' },
      Done: { Type: 'Succeed' },
    },
  });
}

/** Heartbeat timers the test fires by hand: live ones are those armed and not cancelled. */
function manualTimers() {
  const armed: { ms: number; fire: () => void; cancelled: boolean }[] = [];
  const timer: HeartbeatTimer = (fire, ms) => {
    const t = { ms, fire, cancelled: false };
    armed.push(t);
    return { cancel: () => void (t.cancelled = true) };
  };
  return { timer, armed, live: () => armed.filter((t) => !t.cancelled) };
}

function setup(heartbeatTimer?: HeartbeatTimer) {
  const tokens: string[] = [];
  const ends: ExecutionEnd[] = [];
  let n = 0;
  const wf = new LocalWorkflows({
    definitionText: machine(),
    substitutions: { Fn: 'park' },
    functions: {
      park: async (payload) => {
        tokens.push((payload as { taskToken: string }).taskToken);
      },
    },
    ids: { token: () => `tok-${++n}`, uuid: () => `u-${n}` },
    onExecutionEnd: (e) => ends.push(e),
    heartbeatTimer,
  });
  return { wf, tokens, ends };
}

async function until(pred: () => boolean, ms = 5_000) {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('LocalWorkflows', () => {
  it('parks on a task token and resumes with the output sent to it', async () => {
    const { wf, tokens, ends } = setup();
    await wf.startExecution('e1', { job: 7, hb: 30 });
    await until(() => tokens.length === 1);
    expect(tokens[0]).toBe('tok-1');
    await wf.sendTaskSuccess(tokens[0], { granted: true });
    await until(() => ends.length === 1);
    expect(ends[0]).toMatchObject({ name: 'e1', status: 'SUCCEEDED', output: { job: 7, hb: 30, signal: { granted: true } } });
  });

  it('a spent or unknown token is TokenGoneError (duplicates are harmless)', async () => {
    const { wf, tokens, ends } = setup();
    await wf.startExecution('e1', { job: 1, hb: 30 });
    await until(() => tokens.length === 1);
    await wf.sendTaskSuccess(tokens[0], {});
    await expect(wf.sendTaskSuccess(tokens[0], {})).rejects.toBeInstanceOf(TokenGoneError);
    await expect(wf.sendTaskHeartbeat('nope')).rejects.toBeInstanceOf(TokenGoneError);
    await until(() => ends.length === 1);
  });

  it('fails the task with States.HeartbeatTimeout when no heartbeat comes, and heartbeats keep it alive', async () => {
    // The timer is the test's: each heartbeat must cancel the armed timer and arm a fresh one of
    // HeartbeatSeconds; only a timer left to fire times the task out.
    const timers = manualTimers();
    const { wf, tokens, ends } = setup(timers.timer);
    await wf.startExecution('e1', { job: 1, hb: 0.3 });
    await until(() => tokens.length === 1);
    expect(timers.live().map((t) => t.ms)).toEqual([300]);
    for (let i = 0; i < 9; i++) {
      const before = timers.live()[0];
      await wf.sendTaskHeartbeat(tokens[0]);
      expect(before.cancelled).toBe(true);
      expect(timers.live()).toHaveLength(1);
    }
    expect(timers.armed).toHaveLength(10);
    expect(ends).toEqual([]);
    timers.live()[0].fire();
    await until(() => ends.length === 1);
    expect(ends[0].output).toMatchObject({ end: 'timed-out', error: { Error: 'States.HeartbeatTimeout' } });
    await expect(wf.sendTaskSuccess(tokens[0], {})).rejects.toBeInstanceOf(TokenGoneError);
  });

  it('SendTaskFailure raises the named error for Catch', async () => {
    const { wf, tokens, ends } = setup();
    await wf.startExecution('e1', { job: 1, hb: 30 });
    await until(() => tokens.length === 1);
    await wf.sendTaskFailure(tokens[0], 'Cancelled', 'by user');
    await until(() => ends.length === 1);
    expect(ends[0].output).toMatchObject({ end: 'failed', error: { Error: 'Cancelled', Cause: 'by user' } });
  });

  it('starting an execution name twice runs it once', async () => {
    const { wf, tokens } = setup();
    await wf.startExecution('same', { job: 1, hb: 30 });
    await wf.startExecution('same', { job: 1, hb: 30 });
    await until(() => tokens.length >= 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(tokens).toHaveLength(1);
    await wf.close();
  });

  it('close() stops every execution and forgets every token, as a crash would', async () => {
    const { wf, tokens } = setup();
    await wf.startExecution('a', { job: 1, hb: 30 });
    await until(() => tokens.length === 1);
    await wf.close();
    expect(wf.runningExecutions()).toEqual([]);
    await expect(wf.sendTaskSuccess(tokens[0], {})).rejects.toBeInstanceOf(TokenGoneError);
  });

  it('refuses a Task resource it cannot run locally (it would call real AWS)', () => {
    expect(
      () =>
        new LocalWorkflows({
          definitionText: machine({ Resource: 'arn:aws:states:::dynamodb:putItem' }),
          substitutions: { Fn: 'park' },
          functions: {},
          ids: { token: () => 't', uuid: () => 'u' },
        }),
    ).toThrow(/has no local implementation/);
  });
});
