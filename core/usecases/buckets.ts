// Named buckets of storage mounts (SkyPilot's Storage with `name:`): created by the control plane,
// not the node, before a task's nodes launch, in the candidate's region when the store is that
// cloud's own; deleted when the job ends if this job created them and they are `persistent: false`
// (a bucket that existed before is never deleted, as SkyPilot deletes only the buckets it manages).

import { namedBuckets } from '../spec/node-mounts.ts';
import type { Candidate } from '../optimizer/types.ts';
import type { JobRecord } from '../job/records.ts';
import type { TaskSpec } from '../spec/types.ts';
import type { Deps } from './deps.ts';
import { mutateJob } from './mutate.ts';

/** The cloud whose regions a store's buckets live in. */
const STORE_CLOUD: Record<string, string> = { s3: 'aws', gcs: 'gcp', local: 'local' };

/**
 * Creates the task's named buckets that do not exist yet on the stores this deployment manages, and
 * records the ones it created on the job. Idempotent: a retried step finds them existing.
 */
export async function ensureTaskBuckets(deps: Deps, jobId: number, task: TaskSpec, cand: Candidate): Promise<void> {
  for (const b of namedBuckets(task, cand.cloud)) {
    const store = deps.buckets?.[b.store];
    if (!store) continue;
    const region = STORE_CLOUD[b.store] === cand.cloud ? cand.region : undefined;
    if ((await store.ensure(b.name, region)) !== 'created') continue;
    await mutateJob(deps, jobId, (j) => {
      const created = j.createdBuckets ?? [];
      if (created.some((c) => c.store === b.store && c.name === b.name)) return null;
      return { job: { ...j, createdBuckets: [...created, b] } };
    });
  }
}

/** Deletes the job's created `persistent: false` buckets, then forgets them. Safe to repeat. */
export async function deleteJobBuckets(deps: Deps, job: JobRecord): Promise<void> {
  const doomed = (job.createdBuckets ?? []).filter((b) => !b.persistent);
  if (doomed.length === 0) return;
  for (const b of doomed) {
    const store = deps.buckets?.[b.store];
    if (store) await store.delete(b.name);
  }
  await mutateJob(deps, job.jobId, (j) => {
    const left = (j.createdBuckets ?? []).filter((b) => b.persistent);
    if (left.length === (j.createdBuckets ?? []).length) return null;
    return { job: { ...j, createdBuckets: left } };
  });
}
