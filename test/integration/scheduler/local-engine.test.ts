// The local engine must wait as long as Step Functions does: a job waits for a launch slot, or runs,
// for hours. aws-local-stepfunctions gives a Task without TimeoutSeconds 60 s (Step Functions: no
// limit), which turned every wait past a minute into States.Timeout → FAILED_CONTROLLER.
import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { NO_TASK_TIMEOUT_SECONDS, prepareForLocalEngine, substituteDefinition } from '../../../adapters/local/local-workflows.ts';

describe('job.asl.json on the local engine', () => {
  it('gives every Task state the longest timeout a timer allows, as Step Functions gives none', async () => {
    const text = await readFile(new URL('../../../statemachines/job.asl.json', import.meta.url), 'utf8');
    const { definition } = prepareForLocalEngine(JSON.parse(substituteDefinition(text, { WorkflowFunction: 'workflow' })));
    const tasks = Object.entries(definition.States).filter(([, s]) => s.Type === 'Task');
    expect(tasks.map(([name]) => name)).toEqual(expect.arrayContaining(['WaitForLaunchSlot', 'AwaitNodes', 'AwaitRun']));
    for (const [, state] of tasks) expect(state.TimeoutSeconds).toBe(NO_TASK_TIMEOUT_SECONDS);
    // Beyond 2^31 − 1 ms Node fires a timer at once: the bound must stay below it.
    expect(NO_TASK_TIMEOUT_SECONDS * 1000).toBeLessThanOrEqual(2 ** 31 - 1);
    expect(NO_TASK_TIMEOUT_SECONDS).toBeGreaterThan(20 * 86_400);
  });
});
