// Guardrails against a cost bomb: deployment-wide caps a submission must fit, checked at submit
// (before anything is stored) with an error naming the cap and its setting. The instance-type
// allow-list is also applied by the optimizer on every launch (workflow-steps.ts launch) and, on
// AWS, by IAM (the ec2:InstanceType condition of stacks/constructs/compute-policy.ts), so a job
// stored before the list was narrowed still cannot launch a type the list no longer has.

import type { JobSpec } from '../spec/types.ts';
import { candidatesFor } from '../optimizer/index.ts';
import { ValidationError } from '../errors.ts';
import type { Deps, Settings } from './deps.ts';

/** The submission exceeds a deployment cap; `cap` is the setting's name. Mapped to HTTP 400 (CLI exit 2). */
export class CapExceededError extends ValidationError {
  override readonly name = 'ValidationError' as const;
  constructor(readonly cap: string, message: string) {
    super(message, { cap });
  }
}

/** The per-job caps (pure): num_nodes of every task, --num-jobs, and the instance-type allow-list. */
export function checkJobCaps(spec: JobSpec, numJobs: number, settings: Settings): void {
  const maxNodes = settings.maxNodesPerJob;
  if (maxNodes !== undefined) {
    for (const [i, t] of spec.tasks.entries()) {
      if (t.numNodes > maxNodes) {
        const where = spec.isPipeline ? `tasks[${i}].num_nodes` : 'num_nodes';
        throw new CapExceededError('maxNodesPerJob', `${where} is ${t.numNodes}, over this deployment's cap maxNodesPerJob=${maxNodes}`);
      }
    }
  }
  const maxJobs = settings.maxJobsPerSubmission;
  if (maxJobs !== undefined && numJobs > maxJobs) {
    throw new CapExceededError('maxJobsPerSubmission', `--num-jobs is ${numJobs}, over this deployment's cap maxJobsPerSubmission=${maxJobs}`);
  }
  const types = settings.allowedInstanceTypes;
  if (types?.length) {
    for (const [i, t] of spec.tasks.entries()) {
      const opts = { allowedClouds: settings.allowedClouds };
      if (candidatesFor(t.resources, t.numNodes, { ...opts, allowedInstanceTypes: types }).length > 0) continue;
      // Feasible without the list (else the feasibility check already said why): the list is the cause.
      const wanted = [...new Set(candidatesFor(t.resources, t.numNodes, opts).map((c) => c.instanceType))];
      if (wanted.length === 0) continue;
      const where = spec.isPipeline ? `tasks[${i}].resources` : 'resources';
      throw new CapExceededError(
        'allowedInstanceTypes',
        `${where} can only be met by ${wanted.slice(0, 5).join(', ')}${wanted.length > 5 ? ', …' : ''}, none of which is in this deployment's allowedInstanceTypes (${types.join(', ')})`,
      );
    }
  }
}

/**
 * The per-user cap on unfinished jobs: counts the user's active jobs (through the user's active-job
 * index, stopping once over the cap) and refuses a submission that would pass it. Two submissions
 * racing may together pass the cap by at most one submission each: the cap bounds a runaway script,
 * it is not a billing quota.
 */
export async function checkUserActiveJobs(deps: Deps, user: string, adding: number): Promise<void> {
  const cap = deps.settings.maxActiveJobsPerUser;
  if (cap === undefined) return;
  let active = 0;
  let cursor: string | undefined;
  do {
    const page = await deps.store.listJobs({ limit: 1000, cursor, skipFinished: true, user });
    active += page.jobs.length;
    cursor = page.nextCursor;
  } while (cursor && active + adding <= cap);
  if (active + adding > cap) {
    throw new CapExceededError('maxActiveJobsPerUser', `you have ${active} unfinished job(s); ${adding} more would pass this deployment's cap maxActiveJobsPerUser=${cap}`);
  }
}
