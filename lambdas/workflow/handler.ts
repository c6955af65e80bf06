// The Task states of statemachines/job.asl.json: one function, dispatched by `action`. Errors are
// thrown with their literal `name` so the state machine's Retry (ConflictError, TransientError) and
// Catch (States.ALL → ControllerFailed) match them.

import type { Deps } from '../../core/usecases/deps.ts';
import { enterWait, continueAsNew } from '../../core/usecases/workflow/settle.ts';
import { failController } from '../../core/usecases/end-job.ts';
import { ValidationError } from '../../core/errors.ts';
import { awsDeps, lazyHandler } from '../aws-deps.ts';

export type WorkflowPayload =
  | { action: 'wait'; kind: 'SLOT' | 'NODES' | 'RUN'; taskToken: string; execution?: string; state: { jobId: number; cycle: number; lost?: { Error?: string; Cause?: string } } }
  | { action: 'continueAsNew'; jobId: number; cycle: number; execution?: string }
  | { action: 'controllerFailed'; jobId: number; cycle: number; execution?: string; error?: { Error?: string; Cause?: string } };

const KINDS = new Set(['SLOT', 'NODES', 'RUN']);

export function createHandler(deps: Deps) {
  return async function handler(p: WorkflowPayload): Promise<unknown> {
    switch (p?.action) {
      case 'wait': {
        const s = p.state;
        if (!s || !Number.isInteger(s.jobId) || !Number.isInteger(s.cycle)) throw new ValidationError('wait: state needs integer jobId and cycle');
        if (!KINDS.has(p.kind) || typeof p.taskToken !== 'string' || !p.taskToken) throw new ValidationError('wait: needs kind SLOT|NODES|RUN and a taskToken');
        await enterWait(deps, p);
        return {};
      }
      case 'continueAsNew':
        if (!Number.isInteger(p.jobId)) throw new ValidationError('continueAsNew needs an integer jobId');
        await continueAsNew(deps, p);
        return {};
      case 'controllerFailed':
        if (!Number.isInteger(p.jobId)) throw new ValidationError('controllerFailed needs an integer jobId');
        await failController(deps, p.jobId, p.error);
        return {};
      default:
        throw new ValidationError(`unknown workflow action '${(p as { action?: string } | undefined)?.action}'`);
    }
  };
}

/** The Lambda entry point; builds the AWS dependencies on the first event, never at import. */
export const handler = lazyHandler(async () => createHandler(await awsDeps()));
