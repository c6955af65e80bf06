// Relaunch: submit a finished or running job's stored spec again as a new job of the caller. The
// stored spec is already normalized (envs substituted, launch overrides applied), so it is reused as
// is, not re-parsed. Two things are not kept for a relaunch and must come from the caller or the CLI:
// secret values (the API never returns them, and a relaunch must not reuse another run's secrets
// unseen) and files uploaded from the submitter's machine (workdir, local file mounts: deleted when
// the job ended).

import type { JobSpec } from '../spec/types.ts';
import { candidatesFor, explainEmpty } from '../optimizer/index.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import type { Deps } from './deps.ts';
import { storeAndStart, type SubmitResult } from './submit.ts';

export interface RelaunchRequest {
  jobId: number;
  user: string;
  /** Values for the job's secret keys (every key must be given again). */
  secrets?: Record<string, string>;
}

/** The secret keys of a spec, across its tasks, each once. */
export function secretKeys(spec: JobSpec): string[] {
  return [...new Set(spec.tasks.flatMap((t) => Object.keys(t.secrets)))].sort();
}

/** Why a stored spec cannot be submitted again from the API, or undefined when it can. */
export function relaunchBlocker(spec: JobSpec, filesPrefix: string | undefined): string | undefined {
  if (spec.tasks.length === 0) return 'it never had a valid spec (FAILED_PRECHECKS); fix the YAML and launch it with `skyless jobs launch`';
  const local = (s: string | string[] | undefined) => [s ?? []].flat().some((x) => !/^[a-z0-9]+:\/\//.test(x));
  const uploaded = spec.tasks.some((t) => t.workdir !== undefined || t.fileMounts.some((m) => m.kind === 'upload' || (m.kind === 'storage' && local(m.source))));
  if (filesPrefix !== undefined || uploaded) return 'it ran with files uploaded from the submitting machine (workdir or local file mounts), which are deleted when a job ends; launch it again with `skyless jobs launch`';
  return undefined;
}

export async function relaunchJob(deps: Deps, req: RelaunchRequest): Promise<SubmitResult> {
  const job = await deps.store.getJob(req.jobId);
  if (!job) throw new NotFoundError(`managed job ${req.jobId} not found`);
  const blocker = relaunchBlocker(job.spec, job.filesPrefix);
  if (blocker) throw new ValidationError(`managed job ${req.jobId} cannot be relaunched from the stored spec: ${blocker}`);
  const keys = secretKeys(job.spec);
  const given = req.secrets ?? {};
  const missing = keys.filter((k) => typeof given[k] !== 'string');
  if (missing.length) throw new ValidationError(`managed job ${req.jobId} has secrets whose values are not kept for a relaunch; supply ${missing.join(', ')} again`, { missingSecrets: missing });
  const extra = Object.keys(given).filter((k) => !keys.includes(k));
  if (extra.length) throw new ValidationError(`managed job ${req.jobId} has no secret named ${extra.join(', ')}`);
  const spec: JobSpec = {
    ...job.spec,
    tasks: job.spec.tasks.map((t) => ({ ...t, secrets: Object.fromEntries(Object.keys(t.secrets).map((k) => [k, given[k]!])) })),
  };
  // The catalog or the allowed clouds may have changed since: the same feasibility check as a submit.
  for (const [i, task] of spec.tasks.entries()) {
    if (candidatesFor(task.resources, task.numNodes, { allowedClouds: deps.settings.allowedClouds }).length === 0) {
      throw new ValidationError(`managed job ${req.jobId} task ${i} has no feasible resource any more: ${explainEmpty(task.resources)}`);
    }
  }
  const ids = await deps.store.allocateJobIds(1);
  return storeAndStart(deps, spec, { yaml: '', user: req.user, pool: job.pool, name: job.name }, ids);
}
