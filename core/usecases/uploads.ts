// Job file uploads. The CLI must upload a job's workdir and local file mounts before the job exists,
// so `POST /uploads` issues a fresh prefix and presigned PUT URLs, and the submission then names that
// prefix. Finalize deletes a job's prefix when the job ends, so a prefix taken from the request as
// given would let any caller delete or read anyone's objects (`"logs/"`, another user's upload).
// Invariants kept here:
//   - a prefix is accepted only in the form this module issues (`uploads/<uuid>/`);
//   - only the caller it was issued to may submit with it (an issuance claim holds the caller);
//   - it is bound to one submission (a use claim holds that submission's first job ID), so no
//     other job's Finalize can delete files a running job still needs.

import { ValidationError } from '../errors.ts';
import type { Deps } from './deps.ts';

export const UPLOAD_PREFIX_ROOT = 'uploads/';
/** How long an issued prefix may wait for its submission; its presigned URLs live one hour. */
const ISSUE_TTL_SECONDS = 7 * 24 * 3600;
const UPLOAD_URL_SECONDS = 3600;
const PREFIX_FORM = /^uploads\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/$/;
/** Stored as the issuance claim's value when a prefix is checked that nobody was issued. */
const NEVER_ISSUED = '\u0000never-issued';

const issuedKey = (prefix: string) => `upload-issued:${prefix}`;
const usedKey = (prefix: string) => `upload-used:${prefix}`;

/** Files one submission may upload: the CLI packs each mount into one archive, so a handful. */
export const MAX_UPLOAD_FILES = 256;
const MAX_UPLOAD_NAME = 256;

export async function issueUpload(deps: Deps, caller: string, files: string[]): Promise<{ prefix: string; urls: Record<string, string> }> {
  if (files.length > MAX_UPLOAD_FILES) throw new ValidationError(`files lists ${files.length} names; one upload takes at most ${MAX_UPLOAD_FILES}`, { field: 'files' });
  const long = files.find((f) => f.length > MAX_UPLOAD_NAME);
  if (long !== undefined) throw new ValidationError(`file name '${long.slice(0, 40)}…' is over ${MAX_UPLOAD_NAME} characters`, { field: 'files' });
  const prefix = `${UPLOAD_PREFIX_ROOT}${deps.ids.uuid()}/`;
  await deps.store.claimOnce(issuedKey(prefix), caller, ISSUE_TTL_SECONDS);
  const urls: Record<string, string> = {};
  for (const f of files) urls[f] = await deps.objects.presignPut(prefix + f, UPLOAD_URL_SECONDS);
  return { prefix, urls };
}

/**
 * Checks that `prefix` was issued to `caller` and binds it to the submission whose first job is
 * `firstJobId`. Throws ValidationError naming the field otherwise. Idempotent for the same submission.
 */
export async function bindUpload(deps: Deps, caller: string, prefix: string, firstJobId: number): Promise<void> {
  if (!PREFIX_FORM.test(prefix)) throw new ValidationError(`filesPrefix '${prefix}' is not an upload prefix (ask POST /uploads for one)`, { field: 'filesPrefix' });
  // Reading the issuance claim by claiming it: an unissued prefix becomes claimed by nobody, so it can
  // never be issued later (issued prefixes are fresh UUIDs anyway).
  const issued = await deps.store.claimOnce(issuedKey(prefix), NEVER_ISSUED, ISSUE_TTL_SECONDS);
  if (issued.claimed || issued.value === NEVER_ISSUED) throw new ValidationError(`filesPrefix '${prefix}' was not issued by POST /uploads`, { field: 'filesPrefix' });
  if (issued.value !== caller) throw new ValidationError(`filesPrefix '${prefix}' was issued to another caller`, { field: 'filesPrefix' });
  const used = await deps.store.claimOnce(usedKey(prefix), String(firstJobId));
  if (!used.claimed && used.value !== String(firstJobId)) {
    throw new ValidationError(`filesPrefix '${prefix}' is already used by managed job ${used.value}; upload the files again for a new submission`, { field: 'filesPrefix' });
  }
}

/** The job IDs that share one submission's files: a `--num-jobs` array has consecutive IDs. */
export function submissionJobIds(job: { jobId: number; jobRank: number; numJobs: number }): number[] {
  const first = job.jobId - job.jobRank;
  return Array.from({ length: job.numJobs }, (_, k) => first + k);
}
