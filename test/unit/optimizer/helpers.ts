// Builders for optimizer inputs: a request with only the fields a test cares about.
import type { ResourceRequest, ResourcesSpec } from '../../../core/spec/types.ts';

export function req(partial: Partial<ResourceRequest> = {}): ResourceRequest {
  return { infra: {}, useSpot: false, diskSizeGb: 256, ports: [], labels: {}, ...partial };
}

export function resources(requests: ResourceRequest[], order: ResourcesSpec['order'] = 'cheapest'): ResourcesSpec {
  return {
    order,
    requests,
    jobRecovery: { strategy: 'EAGER_NEXT_REGION', maxRestartsOnErrors: 0, recoverOnExitCodes: [] },
    priority: 0,
  };
}
