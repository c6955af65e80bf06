// local/admin.ts is product code and cannot read test fixtures, so it generates the EC2 events a
// preemption sends. This holds the generated events to the shapes of the in-repo fixtures
// (test/fixtures/events): same envelope keys, same detail keys and types, same detail-type/source.
import { describe, expect, it } from 'vitest';
import { interruptionWarningEvent, stateChangeEvent } from '../../../local/admin.ts';
import type { DescribedInstance } from '../../../core/ports.ts';
import { fixtureEvent } from '../../support/events.ts';

const inst: DescribedInstance = { instanceId: 'i-0123456789abcdef0', cloud: 'local', region: 'local-1', state: 'running', tags: {} };

/** Keys and value types, recursively: the "shape" a handler parses. */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(shape);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, shape(x)]));
  return typeof v;
}

describe('local fault-injection events have the shapes of the AWS fixtures', () => {
  it('spot interruption warning', () => {
    const ours = interruptionWarningEvent(inst);
    const theirs = fixtureEvent('ec2-spot-interruption-warning');
    expect(shape(ours)).toEqual(shape(theirs));
    expect([ours['detail-type'], ours.source]).toEqual([theirs['detail-type'], theirs.source]);
    expect(ours.detail).toMatchObject({ 'instance-id': inst.instanceId, 'instance-action': 'terminate' });
    expect(ours.resources).toEqual([expect.stringMatching(new RegExp(`:instance/${inst.instanceId}$`))]);
  });

  for (const state of ['stopping', 'stopped', 'shutting-down', 'terminated'] as const) {
    it(`state change: ${state}`, () => {
      const ours = stateChangeEvent(inst, state);
      const theirs = fixtureEvent(`ec2-state-change-${state}`);
      expect(shape(ours)).toEqual(shape(theirs));
      expect([ours['detail-type'], ours.source, ours.detail.state]).toEqual([theirs['detail-type'], theirs.source, theirs.detail.state]);
    });
  }
});
