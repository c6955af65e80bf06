// `jobs launch -p POOL`: what the server checks before storing anything (SPEC §5). The pool must
// exist and not be going down; the job must be one task whose resources fit the pool's workers and
// whose node count is the workers' (one, until multi-node workers come).

import type { JobSpec } from '../spec/types.ts';
import { fitsPool } from '../pools/policy.ts';
import { checkPoolName } from './pools.ts';
import { ValidationError } from '../errors.ts';
import type { Deps } from './deps.ts';
import { poolStore } from './pools.ts';

function describeResources(r: JobSpec['tasks'][number]['resources']): string {
  const parts = r.requests.map((q) => [q.accelerator ? `${q.accelerator.name}:${q.accelerator.count}` : undefined, q.cpus ? `cpus=${q.cpus.value}${q.cpus.atLeast ? '+' : ''}` : undefined, q.memoryGb ? `memory=${q.memoryGb.value}${q.memoryGb.atLeast ? '+' : ''}` : undefined, q.instanceType, q.infra.cloud].filter(Boolean).join(' ') || 'default');
  return `{${[...new Set(parts)].join(' | ')}}`;
}

export async function checkPoolSubmission(deps: Deps, spec: JobSpec, poolName: string): Promise<void> {
  checkPoolName(poolName);
  const pool = await poolStore(deps).getPool(poolName);
  if (!pool) throw new ValidationError(`pool '${poolName}' does not exist (create it with: skyless jobs pool apply -p ${poolName} pool.yaml)`);
  if (pool.downRequestedAt !== undefined) throw new ValidationError(`pool '${poolName}' is being terminated; it takes no new jobs`);
  if (spec.isPipeline || spec.tasks.length !== 1) throw new ValidationError(`a job on pool '${poolName}' has one task; this one has ${spec.tasks.length}`);
  const task = spec.tasks[0];
  const poolTask = pool.spec.tasks[0];
  if (task.numNodes !== poolTask.numNodes) {
    throw new ValidationError(`the job asks for num_nodes ${task.numNodes} but pool '${poolName}' workers have ${poolTask.numNodes} node${poolTask.numNodes === 1 ? '' : 's'}`);
  }
  if (!fitsPool(task, poolTask, deps.settings.allowedClouds)) {
    throw new ValidationError(`the job's resources ${describeResources(task.resources)} do not fit pool '${poolName}' workers' resources ${describeResources(poolTask.resources)}`);
  }
}
