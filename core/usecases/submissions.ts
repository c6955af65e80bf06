// Submissions with nobody to answer: a YAML uploaded under `submit/` in the deployment's bucket (an
// S3 "Object Created" event) and a `Launch Managed Job` event put on the skyless bus. Both go
// through the same validation as the API (submitUnattended); an invalid one becomes a
// FAILED_PRECHECKS job holding the reasons, so that nothing submitted is silently lost.
//
// Delivery is at least once, so each submission is made idempotent:
//   1. reserve a job ID (allocateJobIds),
//   2. claimOnce(idempotency key, that ID): the first delivery's ID wins; later deliveries read it,
//   3. create the job under the winning ID — the job item's conditional write (expected version
//      null) lets it exist once, so two concurrent deliveries, or a retry after a crash between
//      steps, still make ONE job;
//   4. (re)start its workflow execution, which is idempotent by name.
// A duplicate delivery burns the ID it reserved in step 1: job IDs may have gaps.

import { createHash } from 'node:crypto';
import type { Deps } from './deps.ts';
import type { JobRecord } from '../job/records.ts';
import { isTerminal } from '../job/status.ts';
import { nameFromSource } from '../spec/index.ts';
import { ConflictError } from '../errors.ts';
import { executionName, storeFailedPrechecks, submitUnattended, type SubmitRequest } from './submit.ts';
import { EVENT_SOURCE } from './integration-events.ts';

/** Uploads under this prefix are submissions. */
export const SUBMIT_PREFIX = 'submit/';
/** `<key>.result.json` next to each submission says the job ID or the errors. */
export const RESULT_SUFFIX = '.result.json';
/** Largest YAML accepted from an upload (a task YAML is a few KiB; the job item holds it). */
export const MAX_SUBMISSION_BYTES = 256 * 1024;
/** How long an idempotency claim is kept: EventBridge retries a delivery for up to 24 hours. */
export const CLAIM_TTL_SECONDS = 14 * 24 * 3600;

/** The bus event that submits a job, and the source it must carry (see docs/aws-runtime.md). */
export const LAUNCH_DETAIL_TYPE = 'Launch Managed Job';
export const LAUNCH_SOURCE = 'skyless.client';
/** Published on the bus once a bus or S3 submission has its job (the answer to the submitter). */
export const SUBMITTED_DETAIL_TYPE = 'Managed Job Submitted';
export const SUBMITTED_VERSION = '1';

const YAML_KEY = /\.ya?ml$/i;
const IDEMPOTENCY_KEY_MAX = 256;

export interface UploadedObject {
  bucket: string;
  key: string;
  versionId?: string;
  /** S3's per-key ordering token; unique per PUT of a key. */
  sequencer?: string;
  etag?: string;
  size?: number;
  /** Account or principal that uploaded it, as S3 reports it. */
  requester?: string;
}

export interface LaunchEvent {
  /** EventBridge's event id: the same for every delivery of one PutEvents entry. */
  id?: string;
  account?: string;
  detail: unknown;
}

export type SubmissionOutcome =
  | { handled: false; why: string }
  | {
      handled: true;
      jobId: number;
      /** SUBMITTED: the job will run; FAILED_PRECHECKS: it was stored as failed, see `errors`. */
      result: 'SUBMITTED' | 'FAILED_PRECHECKS';
      errors?: string[];
      /** True when an earlier delivery of the same submission already made the job. */
      duplicate: boolean;
    };

/** What `submit/<key>.result.json` holds. */
export interface SubmissionResultFile {
  key: string;
  versionId?: string;
  jobId: number;
  name: string;
  result: 'SUBMITTED' | 'FAILED_PRECHECKS';
  errors?: string[];
  submittedAt: string;
}

export function resultKeyFor(key: string): string {
  return key + RESULT_SUFFIX;
}

/** Why an uploaded key is not a submission, or undefined when it is one. */
export function notASubmission(key: string): string | undefined {
  if (!key.startsWith(SUBMIT_PREFIX)) return `key '${key}' is not under ${SUBMIT_PREFIX}`;
  if (key.endsWith(RESULT_SUFFIX)) return `key '${key}' is a submission result`;
  if (!YAML_KEY.test(key)) return `key '${key}' is not a .yaml or .yml file`;
  return undefined;
}

function hashed(parts: string[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url');
}

/**
 * One upload of one key: the version when the bucket is versioned, else the sequencer (unique per
 * PUT), else the ETag. Re-uploading the same file is a new submission; a re-delivered event is not.
 */
export function objectIdempotencyKey(o: UploadedObject): string {
  const version = o.versionId ? `v:${o.versionId}` : o.sequencer ? `s:${o.sequencer}` : `e:${o.etag ?? ''}`;
  return `submit:s3:${hashed([o.bucket, o.key, version])}`;
}

export function eventIdempotencyKey(e: LaunchEvent, idempotencyKey?: string): string {
  return idempotencyKey !== undefined ? `submit:event-key:${hashed([idempotencyKey])}` : `submit:event-id:${hashed([e.id ?? ''])}`;
}

interface Created {
  job: JobRecord;
  /**
   * True unless this delivery stored the job item. Exactly one delivery stores it (the conditional
   * write), and that one writes the result object and announces it.
   */
  duplicate: boolean;
  /** The reasons when this delivery stored the submission as FAILED_PRECHECKS. */
  errors?: string[];
}

/**
 * Creates the job for `req` exactly once per idempotency key. `reasons` given: the submission is
 * already known to be invalid (malformed event detail, unreadable upload) and is stored as such.
 */
async function createOnce(deps: Deps, idempotencyKey: string, req: SubmitRequest, reasons?: string[]): Promise<Created> {
  const [reserved] = await deps.store.allocateJobIds(1);
  const claim = await deps.store.claimOnce(idempotencyKey, String(reserved), CLAIM_TTL_SECONDS);
  const jobId = Number(claim.value);
  if (!Number.isInteger(jobId) || jobId < 1) throw new Error(`idempotency claim ${idempotencyKey} holds '${claim.value}', not a job ID`);
  let errors: string[] | undefined;
  let stored = false;
  // Whoever holds the claim, the job may not exist yet: the claimer may still be working, or have
  // died after claiming. Any delivery may store it; the conditional write keeps it to one.
  if (!(await deps.store.getJob(jobId))) {
    try {
      const r = reasons ? await storeFailedPrechecks(deps, { ...req, jobIds: [jobId] }, reasons) : await submitUnattended(deps, { ...req, jobIds: [jobId] });
      errors = r.errors;
      stored = true;
    } catch (err) {
      // Another delivery stored the job between our read and our write: it is the same job.
      if (!(err instanceof ConflictError)) throw err;
    }
  }
  const job = await deps.store.getJob(jobId);
  if (!job) throw new Error(`job ${jobId} of submission ${idempotencyKey} is missing after it was created`);
  // The delivery that stored the job may have died before starting its execution (idempotent by name).
  if (!stored && !isTerminal(job.status)) await deps.workflows.startExecution(job.executionName ?? executionName(jobId), { jobId, cycle: 0 });
  return { job, duplicate: !stored, errors };
}

function outcomeOf(c: Created): Extract<SubmissionOutcome, { handled: true }> {
  const failed = c.job.status === 'FAILED_PRECHECKS';
  const errors = c.errors ?? (failed && c.job.tasks[0]?.failureReason ? [c.job.tasks[0].failureReason] : undefined);
  return { handled: true, jobId: c.job.jobId, result: failed ? 'FAILED_PRECHECKS' : 'SUBMITTED', ...(errors ? { errors } : {}), duplicate: c.duplicate };
}

/** Best effort, like every integration event: the job exists whether or not this is published. */
async function announce(deps: Deps, o: Extract<SubmissionOutcome, { handled: true }>, name: string, via: Record<string, unknown>): Promise<void> {
  try {
    await deps.bus.publish([
      {
        source: EVENT_SOURCE,
        'detail-type': SUBMITTED_DETAIL_TYPE,
        time: new Date(deps.clock.now()).toISOString(),
        resources: [],
        detail: { version: SUBMITTED_VERSION, jobId: o.jobId, name, result: o.result, ...(o.errors ? { errors: o.errors } : {}), via },
      },
    ]);
  } catch (err) {
    deps.log?.('publishing the submission event failed', { jobId: o.jobId, error: String(err) });
  }
}

function decodeKeyVariant(key: string): string | undefined {
  // S3 notifications elsewhere (SQS/SNS/Lambda) carry URL-encoded keys ('+' for space); accept
  // that form too, in case a key reaches us encoded.
  if (!/[+%]/.test(key)) return undefined;
  try {
    const decoded = decodeURIComponent(key.replace(/\+/g, ' '));
    return decoded !== key ? decoded : undefined;
  } catch {
    return undefined;
  }
}

/**
 * An object created in the deployment's bucket (`bucket` is that bucket's name). A YAML under
 * `submit/` becomes a job named after the key's base name; `<key>.result.json` is written with the
 * job ID, or the errors for an invalid file. Anything else is ignored.
 */
export async function submitUploadedObject(deps: Deps, bucket: string, upload: UploadedObject): Promise<SubmissionOutcome> {
  if (upload.bucket !== bucket) return { handled: false, why: `bucket '${upload.bucket}' is not the deployment's bucket '${bucket}'` };
  let key = upload.key;
  const skip = notASubmission(key);
  if (skip) return { handled: false, why: skip };
  // The event says the object's size: an oversized upload is refused without reading it (a
  // multi-gigabyte object would exhaust the function's memory before any check on the bytes).
  const oversized = typeof upload.size === 'number' && upload.size > MAX_SUBMISSION_BYTES;
  let bytes = oversized ? new Uint8Array(0) : await deps.objects.get(key);
  const decoded = bytes === undefined ? decodeKeyVariant(key) : undefined;
  if (decoded !== undefined && !notASubmission(decoded)) {
    bytes = await deps.objects.get(decoded);
    if (bytes !== undefined) key = decoded;
  }
  if (bytes === undefined) return { handled: false, why: `object '${key}' no longer exists` };

  const name = nameFromSource(key, 'submitted');
  // S3 names the requester's account (or an AWS service principal), never the IAM user or role:
  // the job's owner is that account, as `s3:<account>` (docs/security.md).
  const req: SubmitRequest = { yaml: '', source: key, name, user: `s3:${upload.requester ?? 'unknown'}` };
  let reasons: string[] | undefined;
  if (oversized) {
    reasons = [`${key} is ${upload.size} bytes; a submitted YAML may be at most ${MAX_SUBMISSION_BYTES} bytes`];
  } else if (bytes.byteLength > MAX_SUBMISSION_BYTES) {
    reasons = [`${key} is ${bytes.byteLength} bytes; a submitted YAML may be at most ${MAX_SUBMISSION_BYTES} bytes`];
  } else {
    try {
      req.yaml = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      reasons = [`${key} is not UTF-8 text`];
    }
  }
  const created = await createOnce(deps, objectIdempotencyKey({ ...upload, key }), req, reasons);
  const outcome = outcomeOf(created);

  // Written by the delivery that stored the job; a duplicate writes it only if it is missing (that
  // delivery died before writing it), never changing an answer already given.
  const resultKey = resultKeyFor(key);
  if (!created.duplicate || (await deps.objects.get(resultKey)) === undefined) {
    const file: SubmissionResultFile = {
      key,
      ...(upload.versionId ? { versionId: upload.versionId } : {}),
      jobId: outcome.jobId,
      name: created.job.name,
      result: outcome.result,
      ...(outcome.errors ? { errors: outcome.errors } : {}),
      submittedAt: new Date(created.job.submittedAt).toISOString(),
    };
    await deps.objects.put(resultKey, JSON.stringify(file, null, 2) + '\n', 'application/json');
  }
  if (!created.duplicate) await announce(deps, outcome, created.job.name, { s3: { bucket, key, ...(upload.versionId ? { versionId: upload.versionId } : {}) } });
  return outcome;
}

interface LaunchDetail {
  yaml?: string;
  name?: string;
  envs?: Record<string, string>;
  idempotencyKey?: string;
}

/** The detail's fields, and every problem with them (paths as in the event: `detail.<field>`). */
export function parseLaunchDetail(detail: unknown): { detail: LaunchDetail; problems: string[] } {
  const problems: string[] = [];
  const out: LaunchDetail = {};
  if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) return { detail: out, problems: ['detail must be a JSON object {yaml, name?, envs?, idempotencyKey?}'] };
  const d = detail as Record<string, unknown>;
  const known = new Set(['yaml', 'name', 'envs', 'idempotencyKey']);
  for (const k of Object.keys(d)) if (!known.has(k)) problems.push(`detail.${k} is not a field of ${LAUNCH_DETAIL_TYPE} (yaml, name, envs, idempotencyKey)`);
  if (typeof d.yaml === 'string' && d.yaml.trim() !== '') out.yaml = d.yaml;
  else problems.push('detail.yaml is required: the task YAML as a string');
  if (d.name !== undefined) {
    if (typeof d.name === 'string') out.name = d.name;
    else problems.push('detail.name must be a string');
  }
  if (d.envs !== undefined) {
    if (d.envs !== null && typeof d.envs === 'object' && !Array.isArray(d.envs) && Object.values(d.envs).every((v) => typeof v === 'string')) {
      out.envs = d.envs as Record<string, string>;
    } else problems.push('detail.envs must be an object of strings');
  }
  if (d.idempotencyKey !== undefined) {
    if (typeof d.idempotencyKey === 'string' && d.idempotencyKey.length > 0 && d.idempotencyKey.length <= IDEMPOTENCY_KEY_MAX) out.idempotencyKey = d.idempotencyKey;
    else problems.push(`detail.idempotencyKey must be a string of 1 to ${IDEMPOTENCY_KEY_MAX} characters`);
  }
  return { detail: out, problems };
}

/**
 * A `Launch Managed Job` event: detail {yaml, name?, envs?, idempotencyKey?}. Deliveries of one
 * event (same id), or events with the same idempotencyKey, make one job. A malformed detail or an
 * invalid spec becomes a FAILED_PRECHECKS job with the reasons. The answer is published on the bus
 * as `Managed Job Submitted` (detail.via.event holds the event id and idempotencyKey).
 */
export async function submitLaunchEvent(deps: Deps, event: LaunchEvent): Promise<SubmissionOutcome> {
  const { detail, problems } = parseLaunchDetail(event.detail);
  if (!detail.idempotencyKey && !event.id) return { handled: false, why: 'the event has neither an id nor detail.idempotencyKey: duplicates could not be told apart' };
  const req: SubmitRequest = {
    yaml: detail.yaml ?? '',
    name: detail.name,
    envs: detail.envs,
    user: `events:${event.account ?? 'unknown'}`,
  };
  const created = await createOnce(deps, eventIdempotencyKey(event, detail.idempotencyKey), problems.length ? { ...req, name: typeof detail.name === 'string' ? detail.name : 'event' } : req, problems.length ? problems : undefined);
  const outcome = outcomeOf(created);
  if (!created.duplicate) {
    await announce(deps, outcome, created.job.name, { event: { id: event.id, ...(detail.idempotencyKey ? { idempotencyKey: detail.idempotencyKey } : {}) } });
  }
  return outcome;
}
