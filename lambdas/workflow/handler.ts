// The Task states of statemachines/job.asl.json: one function, dispatched by `action`. Errors are
// thrown with their literal `name` so the state machine's Retry (ConflictError, TransientError) and
// Catch (States.ALL → ControllerFailed) match them.

import type { Deps } from '../../core/usecases/deps.ts';
import * as steps from '../../core/usecases/workflow-steps.ts';
import { ValidationError } from '../../core/errors.ts';
import { awsDeps, lazyHandler } from '../aws-deps.ts';

export interface WorkflowPayload {
  action: 'advance' | 'park' | 'launch' | 'teardown' | 'finalize' | 'lost' | 'continueAsNew' | 'controllerFailed';
  jobId: number;
  cycle: number;
  execution?: string;
  kind?: 'SLOT' | 'NODES' | 'RUN';
  attempt?: number;
  taskToken?: string;
  reason?: string;
  error?: { Error?: string; Cause?: string };
}

export function createHandler(deps: Deps) {
  return async function handler(p: WorkflowPayload): Promise<unknown> {
    if (!p || !Number.isInteger(p.jobId) || !Number.isInteger(p.cycle)) throw new ValidationError('workflow step needs integer jobId and cycle');
    const input = { jobId: p.jobId, cycle: p.cycle, execution: p.execution };
    switch (p.action) {
      case 'advance':
        return steps.advance(deps, input);
      case 'park':
        if (!p.kind || !p.taskToken) throw new ValidationError('park needs kind and taskToken');
        await steps.park(deps, { ...input, kind: p.kind, attempt: p.attempt ?? 0, taskToken: p.taskToken });
        return {};
      case 'launch':
        return steps.launch(deps, input);
      case 'teardown':
        return steps.teardown(deps, { ...input, attempt: p.attempt ?? 0 });
      case 'finalize':
        return steps.finalize(deps, input);
      case 'lost':
        return steps.lost(deps, { ...input, attempt: p.attempt ?? 0, reason: p.reason ?? 'node lost' });
      case 'continueAsNew':
        return steps.continueAsNew(deps, input);
      case 'controllerFailed':
        return steps.controllerFailed(deps, { ...input, error: p.error });
      default:
        throw new ValidationError(`unknown workflow action '${(p as { action?: string }).action}'`);
    }
  };
}

/** The Lambda entry point; builds the AWS dependencies on the first event, never at import. */
export const handler = lazyHandler(async () => createHandler(await awsDeps()));
