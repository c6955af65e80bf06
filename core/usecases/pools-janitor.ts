// The janitor's part for pool workers (called from sweepOrphans with the instances it described).
// A worker instance is an orphan when no pool item lists its worker ID: the pool was deleted after
// `pool down`, or the worker was retired (the reconciler removes a worker from the item only after
// terminating it, so this catches a terminate that failed or a launch that answered late). Safe for
// a worker being launched: the reconciler writes the worker into the pool item BEFORE calling the
// provider, and the pools are read here AFTER the describe.

import type { ComputeProvider, DescribedInstance } from '../ports.ts';
import type { Deps } from './deps.ts';
import type { JanitorReport } from './janitor.ts';

export async function sweepOrphanWorkers(deps: Deps, instances: { provider: ComputeProvider; inst: DescribedInstance }[], report: JanitorReport): Promise<void> {
  if (!deps.pools) return; // pools not configured here: leave them alone rather than guess
  let pools;
  try {
    pools = await deps.pools.listPools();
  } catch (err) {
    report.errors.push(`list pools: ${(err as Error).message}`);
    return;
  }
  const known = new Set(pools.flatMap((p) => p.workers.map((w) => `${p.name}|${w.id}`)));
  const done = new Set<string>();
  for (const { provider, inst } of instances) {
    const pool = inst.tags['skyless:pool'] ?? '';
    const raw = inst.tags['skyless:worker'] ?? '';
    if (!/^\d+$/.test(raw)) {
      report.malformed.push(`${inst.cloud}/${inst.region}/${inst.instanceId}`);
      continue;
    }
    const id = Number(raw);
    report.examined += 1;
    if (known.has(`${pool}|${id}`)) continue;
    const key = `${provider.cloud}|${id}|${inst.region}`;
    if (!done.has(key)) {
      done.add(key);
      try {
        await provider.terminate(0, 0, id, inst.region);
      } catch (err) {
        report.errors.push(`terminate worker ${id} of pool ${pool}: ${(err as Error).message}`);
        continue;
      }
      deps.log?.(`janitor: terminated orphan worker ${id} of pool ${pool}`, { instanceId: inst.instanceId });
    }
    report.terminated.push({ cloud: inst.cloud, region: inst.region, instanceId: inst.instanceId, jobId: 0, taskIndex: 0, attempt: id, why: 'worker-unknown' });
  }
}
