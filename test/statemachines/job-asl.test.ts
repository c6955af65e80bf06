// statemachines/job.asl.json is the one definition both engines run: check that it is valid ASL,
// that its Choice covers every step the reconciler can name, and that every Task is protected.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { substituteDefinition, prepareForLocalEngine } from '../../adapters/local/local-workflows.ts';

const text = readFileSync(new URL('../../statemachines/job.asl.json', import.meta.url), 'utf8');
const definition = JSON.parse(substituteDefinition(text, { WorkflowFunction: 'arn:aws:lambda:us-east-1:123456789012:function:skyless-workflow' }));
type State = Record<string, any>;
const states = definition.States as Record<string, State>;

import { NEXT_VALUES } from '../../core/workflow/cursor.ts';

// The values a settle may name as `next` (core/workflow/cursor.ts, type Next).
const NEXT = [...NEXT_VALUES];

describe('job.asl.json', () => {
  it('is valid Amazon States Language (asl-validator)', () => {
    const validator = createRequire(import.meta.url)('asl-validator') as (d: unknown, o?: unknown) => { isValid: boolean; errors: unknown[] };
    const r = validator(definition, { checkPaths: true, checkArn: true });
    expect(r.errors).toEqual([]);
    expect(r.isValid).toBe(true);
  });

  it('routes every step the reconciler can name, and nothing else', () => {
    const routed = (states.Route.Choices as { StringEquals: string }[]).map((c) => c.StringEquals);
    expect([...routed].sort()).toEqual([...NEXT].sort());
    for (const c of states.Route.Choices) expect(states[c.Next], `Route → ${c.Next}`).toBeDefined();
  });

  it('every transition points at an existing state', () => {
    for (const [name, s] of Object.entries(states)) {
      for (const target of [s.Next, s.Default, ...(s.Catch ?? []).map((c: State) => c.Next)].filter(Boolean)) {
        expect(states[target], `${name} → ${target}`).toBeDefined();
      }
    }
  });

  it('every Task retries transient errors and is caught into ControllerFailed (except ControllerFailed itself)', () => {
    for (const [name, s] of Object.entries(states)) {
      if (s.Type !== 'Task') continue;
      const retried = (s.Retry ?? []).flatMap((r: State) => r.ErrorEquals);
      expect(retried, name).toEqual(expect.arrayContaining(['ConflictError', 'TransientError', 'Lambda.TooManyRequestsException']));
      if (name === 'ControllerFailed') continue;
      const catchAll = (s.Catch ?? []).find((c: State) => c.ErrorEquals.includes('States.ALL'));
      expect(catchAll?.Next, name).toBe('ControllerFailed');
    }
  });

  it('waits use task tokens with heartbeats from the cursor; a heartbeat timeout settles in WaitForLaunchSlot with $.lost set', () => {
    for (const [name, hbPath] of [
      ['AwaitNodes', '$.registerTimeoutSeconds'],
      ['AwaitRun', '$.heartbeatTimeoutSeconds'],
    ]) {
      const s = states[name];
      expect(s.Resource).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
      expect(s.Parameters.Payload['taskToken.$']).toBe('$$.Task.Token');
      expect(s.HeartbeatSecondsPath).toBe(hbPath);
      expect(s.Catch[0]).toMatchObject({ ErrorEquals: ['States.HeartbeatTimeout'], ResultPath: '$.lost', Next: 'WaitForLaunchSlot' });
    }
    expect(states.WaitForLaunchSlot.Resource).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
  });

  it('the waits form the ring WaitForLaunchSlot → Route → AwaitNodes → AwaitRun → WaitForLaunchSlot, each settling with its whole state', () => {
    expect(definition.StartAt).toBe('WaitForLaunchSlot');
    expect(states.WaitForLaunchSlot.Next).toBe('Route');
    expect(states.AwaitNodes.Next).toBe('AwaitRun');
    expect(states.AwaitRun.Next).toBe('WaitForLaunchSlot');
    expect(states.Pause.Next).toBe('WaitForLaunchSlot');
    for (const [name, kind] of [['WaitForLaunchSlot', 'SLOT'], ['AwaitNodes', 'NODES'], ['AwaitRun', 'RUN']]) {
      expect(states[name].Parameters.Payload, name).toMatchObject({ action: 'wait', kind, 'state.$': '$' });
    }
  });

  it('is rewritten for the local engine without losing the token or the heartbeat', () => {
    const { definition: local, tasks } = prepareForLocalEngine(definition);
    expect(tasks.map((t) => t.name).sort()).toEqual(Object.entries(states).filter(([, s]) => s.Type === 'Task').map(([n]) => n).sort());
    const run = local.States.AwaitRun as State;
    expect(run.HeartbeatSecondsPath).toBeUndefined();
    expect(run.Parameters['__skylessHeartbeatSeconds.$']).toBe('$.heartbeatTimeoutSeconds');
    expect(run.Parameters.Payload.taskToken).toBe('__SKYLESS_LOCAL_TASK_TOKEN__');
    // The source definition is untouched (the same object is deployed).
    expect(states.AwaitRun.HeartbeatSecondsPath).toBe('$.heartbeatTimeoutSeconds');
  });

  it('refuses a definition with a placeholder it was not given', () => {
    expect(() => substituteDefinition(text, {})).toThrow(/no substitution for \$\{WorkflowFunction\}/);
  });
});
