// Submission: validate, store one job item per job, start one workflow execution per job. With a
// caller to answer (API/CLI) an invalid spec is rejected and nothing is stored; without one (an S3
// upload, an EventBridge event) it is stored as a FAILED_PRECHECKS job so that nothing is lost.

import type { JobSpec } from '../spec/types.ts';
import { parseJobSpec } from '../spec/index.ts';
import { parseLaunchOverrides, applyLaunchOverrides, type LaunchFlags } from '../spec/overrides.ts';
import { checkEnvValuesSupplied } from '../spec/envs.ts';
import { IssueList } from '../spec/issues.ts';

/** Launch flags the API accepts as typed (strings), validated by the same parser as the CLI's. */
export type LaunchOverrideFlags = Pick<LaunchFlags, 'name' | 'useSpot' | 'gpus' | 'cpus' | 'memory' | 'infra' | 'numNodes' | 'priority'>;
import type { JobRecord, TaskState, JobEvent } from '../job/records.ts';
import { skypilotTaskId } from '../job/task-id.ts';
import { candidatesFor, explainEmpty } from '../optimizer/index.ts';
import { SpecError, ValidationError } from '../errors.ts';
import { unplaceableMounts } from '../spec/node-mounts.ts';
import type { Deps } from './deps.ts';
import { honourCancelRequests } from './cancel.ts';
import { publishStatusChanges } from './integration-events.ts';
import { bindUpload } from './uploads.ts';

export interface SubmitRequest {
  /** YAML text of the task or pipeline. */
  yaml: string;
  /** Where the YAML came from (file name, S3 key): names the job when the spec has no name. */
  source?: string;
  /** `--env K=V` values (resolved by the CLI), applied like the flag. */
  envs?: Record<string, string>;
  /** `--secret K=V` values; stored only in the job item, never echoed. */
  secrets?: Record<string, string>;
  /** The launch flags that change resources or the name, as the user typed them. */
  overrides?: LaunchOverrideFlags;
  name?: string;
  user: string;
  numJobs?: number;
  pool?: string;
  /** Object-store prefix the caller uploaded the workdir/file mounts under. */
  filesPrefix?: string;
  /**
   * Job IDs reserved by the caller (one per job) instead of allocating new ones. Idempotent
   * submitters (S3 uploads, bus events) reserve them and record them under an idempotency key, so
   * that a repeated delivery creates the same job item, which the conditional write lets exist once.
   */
  jobIds?: number[];
}

export interface SubmitResult {
  jobIds: number[];
}

/** Parses and checks feasibility; throws SpecError listing every problem. */
export function validateSubmission(deps: Deps, req: SubmitRequest): JobSpec {
  // The same override rules as the CLI's (core/spec/overrides.ts): the server is the authority.
  const assignments = (m?: Record<string, string>) => Object.entries(m ?? {}).map(([k, v]) => `${k}=${v}`);
  const { overrides, issues: flagIssues } = parseLaunchOverrides({ ...req.overrides, name: req.overrides?.name ?? req.name, env: assignments(req.envs), secret: assignments(req.secrets) }, {});
  if (flagIssues.length) throw new SpecError(flagIssues, req.source);
  // Envs go to the parser, which also substitutes them; the other overrides apply to the result.
  const parsed = parseJobSpec(req.yaml, { source: req.source, envOverrides: overrides.envs, requireEnvValues: false });
  const spec = applyLaunchOverrides(parsed, overrides);
  const missing = new IssueList();
  spec.tasks.forEach((task, i) => checkEnvValuesSupplied(task, spec.isPipeline ? missing.within(`tasks[${i}]`) : missing));
  if (missing.size > 0) throw new SpecError([...missing.items], req.source);
  const issues = [];
  for (const [i, task] of spec.tasks.entries()) {
    const candidates = candidatesFor(task.resources, task.numNodes, { allowedClouds: deps.settings.allowedClouds });
    if (candidates.length === 0) {
      issues.push({ path: spec.isPipeline ? `tasks[${i}].resources` : 'resources', message: `no feasible resource: ${explainEmpty(task.resources)}` });
    }
    // Files no node could get: nothing is silently left out of a job.
    const clouds = [...new Set(candidates.map((c) => c.cloud))];
    issues.push(...unplaceableMounts(task, { hasArchives: req.filesPrefix !== undefined, clouds, localBucketsDir: deps.settings.localBucketsDir, prefix: spec.isPipeline ? `tasks[${i}]` : undefined }));
  }
  if (issues.length) throw new SpecError(issues, req.source);
  if ((req.numJobs ?? 1) > 1 && !req.pool) throw new ValidationError('--num-jobs needs --pool');
  return spec;
}

function newJob(spec: JobSpec, jobId: number, req: SubmitRequest, now: number, rank: number, numJobs: number): { job: JobRecord; events: JobEvent[] } {
  const tasks = spec.tasks.map((t, index) => newTaskState(index, t.name, skypilotTaskId(now, spec.name, jobId, index, t.name, spec.isPipeline), now));
  const job: JobRecord = {
    jobId,
    name: spec.name,
    user: req.user,
    pool: req.pool,
    spec,
    submittedAt: now,
    priority: spec.tasks[0]?.resources.priority ?? 0,
    jobRank: rank,
    numJobs,
    tasks,
    status: 'PENDING',
    currentTask: 0,
    slot: 'NONE',
    slotSince: now,
    filesPrefix: req.filesPrefix,
    version: 0,
  };
  const events: JobEvent[] = [{ jobId, time: now, task: null, to: undefined, reason: `submitted by ${req.user}: ${spec.tasks.length} task(s)` }];
  return { job, events };
}

/** A task as submitted: PENDING, nothing launched, nothing counted. */
function newTaskState(index: number, name: string, taskId: string, now: number): TaskState {
  return { index, name, status: 'PENDING', taskId, submittedAt: now, jobDurationMs: 0, recoveryCount: 0, restartCount: 0, attempt: 0, blockedRounds: 0, blocked: [], costUsd: 0 };
}

export function executionName(jobId: number): string {
  return `job-${jobId}`;
}

export async function submitJobs(deps: Deps, req: SubmitRequest): Promise<SubmitResult> {
  // The time the submission was received: a bulk cancel recorded after it covers this job.
  const now = deps.clock.now();
  const spec = validateSubmission(deps, req);
  const numJobs = req.numJobs ?? 1;
  if (req.jobIds && req.jobIds.length !== numJobs) throw new ValidationError(`jobIds has ${req.jobIds.length} IDs for ${numJobs} job(s)`);
  const ids = req.jobIds ?? (await deps.store.allocateJobIds(numJobs));
  if (req.filesPrefix !== undefined) await bindUpload(deps, req.user, req.filesPrefix, ids[0]!);
  return storeAndStart(deps, spec, req, ids, now);
}

/**
 * Stores one job item per reserved ID and starts its workflow: the common tail of every submission.
 * `now` is when the submission was received (a bulk cancel recorded after it covers these jobs).
 */
export async function storeAndStart(deps: Deps, spec: JobSpec, req: SubmitRequest, ids: number[], now = deps.clock.now()): Promise<SubmitResult> {
  const numJobs = ids.length;
  const stored: JobRecord[] = [];
  for (const [rank, jobId] of ids.entries()) {
    const { job, events } = newJob(spec, jobId, req, now, rank, numJobs);
    stored.push(await deps.store.putJob({ ...job, executionName: executionName(jobId) }, null));
    await deps.store.appendEvents(events);
  }
  // Written first, checked after: a bulk cancel recorded meanwhile either lists these jobs or is seen
  // here (SkyPilot's `cancel -a` misses a job whose submission is in flight). Its workflow finalizes it.
  await honourCancelRequests(deps, stored);
  for (const jobId of ids) await deps.workflows.startExecution(executionName(jobId), { jobId, cycle: 0 });
  return { jobIds: ids };
}

/**
 * For submissions with no caller to answer: an invalid spec becomes a FAILED_PRECHECKS job holding
 * the reasons. Returns the job IDs either way.
 */
export async function submitUnattended(deps: Deps, req: SubmitRequest): Promise<{ jobIds: number[]; errors?: string[] }> {
  try {
    return await submitJobs(deps, req);
  } catch (err) {
    if (!(err instanceof SpecError) && !(err instanceof ValidationError)) throw err;
    const reasons = err instanceof SpecError ? err.issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)) : [err.message];
    return storeFailedPrechecks(deps, req, reasons);
  }
}

/**
 * Stores a submission that cannot run as a FAILED_PRECHECKS job holding `reasons` (and publishes
 * that status change), for callers with nobody to answer. Uses req.jobIds[0] when reserved.
 */
export async function storeFailedPrechecks(deps: Deps, req: SubmitRequest, reasons: string[]): Promise<{ jobIds: number[]; errors: string[] }> {
  const jobId = req.jobIds?.[0] ?? (await deps.store.allocateJobIds(1))[0];
  const now = deps.clock.now();
  const name = (req.name ?? req.source ?? 'invalid').replace(/^.*\//, '').replace(/\.ya?ml$/i, '').replace(/[^-_.a-zA-Z0-9]/g, '-') || 'invalid';
  const spec: JobSpec = { name, isPipeline: false, tasks: [] };
  const job: JobRecord = {
    jobId,
    name,
    user: req.user,
    spec,
    submittedAt: now,
    priority: 0,
    jobRank: 0,
    numJobs: 1,
    tasks: [
      {
        ...newTaskState(0, name, skypilotTaskId(now, name, jobId, 0, name, false), now),
        status: 'FAILED_PRECHECKS',
        endedAt: now,
        failureReason: reasons.join('; '),
      },
    ],
    status: 'FAILED_PRECHECKS',
    currentTask: 0,
    slot: 'NONE',
    slotSince: now,
    endedAt: now,
    finalizedAt: now,
    version: 0,
  };
  const stored = await deps.store.putJob(job, null);
  const events: JobEvent[] = [{ jobId, time: now, task: 0, from: 'PENDING', to: 'FAILED_PRECHECKS', reason: `invalid submission: ${reasons.join('; ')}` }];
  await deps.store.appendEvents(events);
  await publishStatusChanges(deps, stored, events);
  return { jobIds: [jobId], errors: reasons };
}
