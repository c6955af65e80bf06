// EventBridge targets: EC2 spot interruption warnings, rebalance recommendations and instance
// state changes (and the same shapes from the local bus). Parses the event, calls one use case.
import type { Deps } from '../../core/usecases/deps.ts';
import { onInterruptionWarning, onRebalanceRecommendation, onStateChange, type InstanceEventResult } from '../../core/usecases/instance-events.ts';
import { awsDeps, lazyHandler } from '../aws-deps.ts';
import { onWorkflowExecutionEnded, type ExecutionEndedResult } from '../../core/usecases/scheduler.ts';
import { ValidationError } from '../../core/errors.ts';

export interface IncomingEvent {
  source?: string;
  'detail-type'?: string;
  region?: string;
  detail?: Record<string, unknown>;
}

function cloudOf(instanceId: string): string {
  return instanceId.startsWith('local-') ? 'local' : 'aws';
}

/** A provider that can tell whether skyless itself ended an instance (Ec2Provider: its terminated-by tag). */
interface StateReasonSource {
  describeStateReason(instanceId: string, region: string): Promise<{ terminatedBySkyless: boolean; code?: string } | undefined>;
}

const ENDING_STATES = new Set(['stopping', 'stopped', 'shutting-down', 'terminated']);

/**
 * Why a stop/termination is skyless's own doing (undefined when it is not, or cannot be told). The
 * event does not say who ended the instance. Terminations by teardown are fenced by the attempt's
 * decided outcome, but the nodes a launch drops while the attempt is still undecided (a gang that a
 * zone could only partly hold, leftovers of a repeated launch) are not: without this check their
 * termination would be taken for a preemption of the attempt that is being launched.
 */
async function endedBySkyless(deps: Deps, cloud: string, instanceId: string, region: string, state: string): Promise<string | undefined> {
  if (!ENDING_STATES.has(state)) return undefined;
  const provider = deps.providers[cloud] as Partial<StateReasonSource> | undefined;
  if (typeof provider?.describeStateReason !== 'function') return undefined;
  const report = await provider.describeStateReason(instanceId, region);
  return report?.terminatedBySkyless ? `instance ${instanceId} is ${state} because skyless ended it${report.code ? ` (${report.code})` : ''}` : undefined;
}

export function createHandler(deps: Deps) {
  return async function handler(event: IncomingEvent): Promise<InstanceEventResult | ExecutionEndedResult | { handled: false; why: string }> {
    const type = event?.['detail-type'];
    const detail = event?.detail ?? {};
    if (event?.source === 'aws.states' && type === 'Step Functions Execution Status Change') {
      // A job's workflow execution ended (FAILED / ABORTED / TIMED_OUT): nothing drives the job now.
      return onWorkflowExecutionEnded(deps, executionEnded(detail));
    }
    const instanceId = typeof detail['instance-id'] === 'string' ? (detail['instance-id'] as string) : undefined;
    if (event?.source === 'aws.ec2' && instanceId) {
      const cloud = cloudOf(instanceId);
      const ref = { cloud, instanceId, region: cloud === 'aws' ? event.region : undefined };
      if (type === 'EC2 Spot Instance Interruption Warning') return onInterruptionWarning(deps, ref, String(detail['instance-action'] ?? 'terminate'));
      if (type === 'EC2 Instance Rebalance Recommendation') return onRebalanceRecommendation(deps, ref);
      if (type === 'EC2 Instance State-change Notification') {
        const state = String(detail.state ?? '');
        const ours = ref.region ? await endedBySkyless(deps, cloud, instanceId, ref.region, state) : undefined;
        if (ours) return { handled: false, why: ours };
        return onStateChange(deps, ref, state);
      }
    }
    return { handled: false, why: `event ${event?.source}/${type} is not handled` };
  };
}

/** The parts of a Step Functions status-change detail the use case needs; bad shapes are named. */
function executionEnded(detail: Record<string, unknown>): Parameters<typeof onWorkflowExecutionEnded>[1] {
  const name = detail.name;
  const status = detail.status;
  if (typeof name !== 'string' || typeof status !== 'string') throw new ValidationError('Step Functions status change: detail.name and detail.status must be strings', { detail });
  let jobId: number | undefined;
  if (typeof detail.input === 'string') {
    try {
      const raw = (JSON.parse(detail.input) as { jobId?: unknown } | null)?.jobId;
      const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
      if (typeof n === 'number' && Number.isInteger(n) && n > 0) jobId = n;
    } catch {
      // Input not JSON (or not included): the execution name still names the job.
    }
  }
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  return { name, status, jobId, error: text(detail.error), cause: text(detail.cause) };
}

/** The Lambda entry point; builds the AWS dependencies on the first event, never at import. */
export const handler = lazyHandler(async () => createHandler(await awsDeps()));
