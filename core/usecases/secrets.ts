// Job secrets at rest. `--secret K=V` values (and a spec's `secrets:`) are sealed at submit, never
// stored in plain text: the job item keeps the names with empty values in its spec and the values in
// `sealedSecrets`, encrypted under a key the store never holds (deps.secrets: KMS on AWS, a 0600 key
// file locally). They are opened only to answer a registering node (secretsForNode) and removed from
// the item when the job is finalized (scrubSecrets), so a table backup or export of an ended job
// holds nothing, and one of a live job only ciphertext.

import type { JobSpec } from '../spec/types.ts';
import type { JobRecord, SealedSecrets } from '../job/records.ts';
import type { Deps } from './deps.ts';

/** Binds the ciphertext to this deployment and submission: copied to another job, it will not open. */
function contextOf(deps: Deps, submission: number): Record<string, string> {
  return { 'skyless:deployment': deps.settings.deployment, 'skyless:submission': String(submission) };
}

/**
 * Seals the secret values of `spec` (submission = its first job ID). Returns the spec to store (names
 * kept, values emptied) and the sealed values, or no sealed value when the spec has no secret value.
 */
export async function sealSpecSecrets(deps: Deps, spec: JobSpec, submission: number): Promise<{ spec: JobSpec; sealed?: SealedSecrets }> {
  const values: Record<number, Record<string, string>> = {};
  let any = false;
  for (const [i, t] of spec.tasks.entries()) {
    for (const [k, v] of Object.entries(t.secrets)) {
      if (v === null || v === '') continue;
      (values[i] ??= {})[k] = v;
      any = true;
    }
  }
  const stripped: JobSpec = { ...spec, tasks: spec.tasks.map((t) => ({ ...t, secrets: Object.fromEntries(Object.keys(t.secrets).map((k) => [k, ''])) })) };
  if (!any) return { spec: stripped };
  const blob = await deps.secrets.seal(Buffer.from(JSON.stringify(values), 'utf8'), contextOf(deps, submission));
  return { spec: stripped, sealed: { submission, blob } };
}

/**
 * The secret values of task `taskIndex` of `job`, for the node that registers to run it — the only
 * caller (core/usecases/agent.ts register). Empty once the job's secrets are scrubbed. A job stored
 * before sealing existed keeps its values in the spec; those are returned as they are.
 */
export async function secretsForNode(deps: Deps, job: JobRecord, taskIndex: number): Promise<Record<string, string>> {
  const legacy: Record<string, string> = {};
  for (const [k, v] of Object.entries(job.spec.tasks[taskIndex]?.secrets ?? {})) if (v) legacy[k] = v;
  if (!job.sealedSecrets) return legacy;
  const plain = await deps.secrets.open(job.sealedSecrets.blob, contextOf(deps, job.sealedSecrets.submission));
  const all = JSON.parse(Buffer.from(plain).toString('utf8')) as Record<string, Record<string, string>>;
  return { ...legacy, ...(all[taskIndex] ?? {}) };
}

/** The job without its secrets (sealed or, for an old item, in the spec): done by Finalize. */
export function scrubSecrets(job: JobRecord): JobRecord {
  const hasPlain = job.spec.tasks.some((t) => Object.values(t.secrets).some((v) => v));
  if (!job.sealedSecrets && !hasPlain) return job;
  const { sealedSecrets: _gone, ...rest } = job;
  return { ...rest, spec: { ...job.spec, tasks: job.spec.tasks.map((t) => ({ ...t, secrets: Object.fromEntries(Object.keys(t.secrets).map((k) => [k, ''])) })) } };
}
