// EventBridge targets: EC2 spot interruption warnings, rebalance recommendations and instance
// state changes (and the same shapes from the local bus). Parses the event, calls one use case.
import type { Deps } from '../../core/usecases/deps.ts';
import { onInterruptionWarning, onRebalanceRecommendation, onStateChange, type InstanceEventResult } from '../../core/usecases/instance-events.ts';

export interface IncomingEvent {
  source?: string;
  'detail-type'?: string;
  region?: string;
  detail?: Record<string, unknown>;
}

function cloudOf(instanceId: string): string {
  return instanceId.startsWith('local-') ? 'local' : 'aws';
}

export function createHandler(deps: Deps) {
  return async function handler(event: IncomingEvent): Promise<InstanceEventResult | { handled: false; why: string }> {
    const type = event?.['detail-type'];
    const detail = event?.detail ?? {};
    const instanceId = typeof detail['instance-id'] === 'string' ? (detail['instance-id'] as string) : undefined;
    if (event?.source === 'aws.ec2' && instanceId) {
      const cloud = cloudOf(instanceId);
      const ref = { cloud, instanceId, region: cloud === 'aws' ? event.region : undefined };
      if (type === 'EC2 Spot Instance Interruption Warning') return onInterruptionWarning(deps, ref, String(detail['instance-action'] ?? 'terminate'));
      if (type === 'EC2 Instance Rebalance Recommendation') return onRebalanceRecommendation(deps, ref);
      if (type === 'EC2 Instance State-change Notification') return onStateChange(deps, ref, String(detail.state ?? ''));
    }
    return { handled: false, why: `event ${event?.source}/${type} is not handled` };
  };
}
