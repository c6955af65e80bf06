// Read side: the queue, one job, its attempts, its controller log and its output. Secrets are stored
// only in the job item; every view built here replaces their values, so no API answer carries them.

import type { JobRecord, AttemptRecord, JobEvent } from '../job/records.ts';
import type { JobSpec } from '../spec/types.ts';
import type { JobQuery } from '../ports.ts';
import { isTerminal } from '../job/status.ts';
import { NotFoundError } from '../errors.ts';
import type { Deps } from './deps.ts';
import { LOG_PREFIX } from './agent.ts';
import { assertCanAccess, canAccess, type Caller } from './ownership.ts';

export const REDACTED = '<redacted>';

export function redactSpec(spec: JobSpec): JobSpec {
  return {
    ...spec,
    tasks: spec.tasks.map((t) => ({ ...t, secrets: Object.fromEntries(Object.keys(t.secrets).map((k) => [k, REDACTED])) })),
  };
}

/** What the API returns for a job: the record without secrets, wait tokens or internal fences. */
export type JobView = Omit<JobRecord, 'wait' | 'spec' | 'sealedSecrets'> & { spec: JobSpec; finished: boolean };

export function jobView(job: JobRecord): JobView {
  const { wait: _wait, spec, sealedSecrets: _sealed, ...rest } = job;
  return { ...rest, spec: redactSpec(spec), finished: isTerminal(job.status) };
}

/**
 * A queue row of another user's job (SkyPilot's `queue -u` lists everyone's jobs): what it asks for
 * and how it is doing, without its commands, envs or file mounts, which only its owner or an admin reads.
 */
export function listingView(job: JobRecord): JobView {
  const v = jobView(job);
  return { ...v, spec: { ...v.spec, tasks: v.spec.tasks.map((t) => ({ name: t.name, numNodes: t.numNodes, resources: t.resources, envs: {}, secrets: {}, fileMounts: [] })) } };
}

/**
 * The queue: the caller's jobs, or with `allUsers` everyone's (SkyPilot's `-u`), other users' rows
 * reduced to listingView unless the caller is an admin.
 */
export async function queue(deps: Deps, caller: Caller, query: Omit<JobQuery, 'user'> & { allUsers?: boolean }): Promise<{ jobs: JobView[]; nextCursor?: string }> {
  const { allUsers, ...rest } = query;
  const page = await deps.store.listJobs({ ...rest, user: allUsers ? undefined : caller.principal });
  return { jobs: page.jobs.map((j) => (canAccess(caller, j) ? jobView(j) : listingView(j))), nextCursor: page.nextCursor };
}

/** A job by ID, for its owner or an admin. */
async function ownJob(deps: Deps, caller: Caller, jobId: number, action: string): Promise<JobRecord> {
  const job = await deps.store.getJob(jobId);
  if (!job) throw new NotFoundError(`managed job ${jobId} not found`);
  assertCanAccess(caller, job, action);
  return job;
}

export async function getJob(deps: Deps, caller: Caller, jobId: number): Promise<{ job: JobView; attempts: AttemptRecord[] }> {
  const job = await ownJob(deps, caller, jobId, 'reading');
  return { job: jobView(job), attempts: await deps.store.listAttempts(jobId) };
}

export async function controllerLog(deps: Deps, caller: Caller, jobId: number): Promise<{ events: JobEvent[]; attempts: AttemptRecord[] }> {
  await ownJob(deps, caller, jobId, 'reading');
  return { events: await deps.store.listEvents(jobId), attempts: await deps.store.listAttempts(jobId) };
}

export interface LogQuery {
  task?: number;
  /** Opaque position from a previous answer: return only what came after it. */
  after?: string;
  /** At most this many bytes of chunks per answer (follow mode pages through the rest). */
  maxBytes?: number;
}

export interface LogChunk {
  task: number;
  attempt: number;
  node: number;
  offset: number;
  text: string;
}

export interface LogPage {
  chunks: LogChunk[];
  /** Pass back as `after` to continue. */
  position?: string;
  /**
   * True when every chunk has been returned and no more can come: the job is finished (or, for a
   * query of one task, that task is finished and its last attempt torn down).
   */
  complete: boolean;
  /** The job's status, or the task's when the query names a task. */
  status: JobRecord['status'];
  currentTask: number;
}

function parseLogKey(key: string): Omit<LogChunk, 'text'> | undefined {
  const m = /^logs\/\d+\/(\d+)\/(\d+)\/(\d+)\/(\d+)$/.exec(key);
  if (!m) return undefined;
  return { task: Number(m[1]), attempt: Number(m[2]), node: Number(m[3]), offset: Number(m[4]) };
}

/**
 * A job's output, oldest first: by task, attempt, node, offset (keys sort that way, zero-padded).
 * Every attempt's output is kept (logs live under their own prefix, never deleted with the job files).
 */
export async function jobLogs(deps: Deps, caller: Caller, jobId: number, q: LogQuery): Promise<LogPage> {
  const job = await ownJob(deps, caller, jobId, 'reading the logs of');
  let complete0 = isTerminal(job.status) && job.finalizedAt !== undefined;
  let status = job.status;
  if (q.task !== undefined) {
    const t = job.tasks[q.task];
    if (!t) throw new NotFoundError(`managed job ${jobId} has no task ${q.task} (it has ${job.tasks.length})`);
    // A torn-down attempt takes no more log chunks (shipLogs refuses an ENDED attempt), so a finished
    // task whose last attempt has ENDED has all its output stored, even while later tasks run.
    const last = t.attempt > 0 ? await deps.store.getAttempt(jobId, t.index, t.attempt) : undefined;
    complete0 ||= isTerminal(t.status) && (last === undefined || last.state === 'ENDED');
    status = t.status;
  } else if (!complete0 && isTerminal(job.status)) {
    // Ended but not finalized yet (a job cancelled while backing off is finalized only when its
    // workflow's Wait ends, minutes later): with no attempt live, no more output can come.
    complete0 = (await deps.store.listAttempts(jobId)).every((a) => a.state === 'ENDED');
  }
  const prefix = q.task === undefined ? `${LOG_PREFIX}/${jobId}/` : `${LOG_PREFIX}/${jobId}/${q.task}/`;
  const objects = (await deps.objects.list(prefix))
    .map((o) => ({ key: o.key, parsed: parseLogKey(o.key) }))
    .filter((o): o is { key: string; parsed: Omit<LogChunk, 'text'> } => o.parsed !== undefined)
    .sort((a, b) => a.parsed.task - b.parsed.task || a.parsed.attempt - b.parsed.attempt || a.parsed.node - b.parsed.node || a.parsed.offset - b.parsed.offset);
  // Position: the last offset returned per stream (task/attempt/node). An agent ships a stream's
  // chunks in offset order, one at a time, so everything at or below that offset has been seen.
  const last: Record<string, number> = q.after ? decodePosition(q.after) : {};
  const max = q.maxBytes ?? 4 * 1024 * 1024;
  const chunks: LogChunk[] = [];
  let bytes = 0;
  let truncated = false;
  for (const o of objects) {
    const stream = `${o.parsed.task}/${o.parsed.attempt}/${o.parsed.node}`;
    if ((last[stream] ?? -1) >= o.parsed.offset) continue;
    if (bytes >= max) {
      truncated = true;
      break;
    }
    const body = await deps.objects.get(o.key);
    if (!body) continue;
    bytes += body.length;
    chunks.push({ ...o.parsed, text: Buffer.from(body).toString('utf8') });
    last[stream] = o.parsed.offset;
  }
  const position = Object.keys(last).length ? Buffer.from(JSON.stringify(last)).toString('base64url') : undefined;
  return { chunks, position, complete: complete0 && !truncated, status, currentTask: job.currentTask };
}

function decodePosition(p: string): Record<string, number> {
  try {
    const v = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    if (v && typeof v === 'object' && Object.values(v).every((n) => typeof n === 'number')) return v as Record<string, number>;
  } catch {
    // fall through
  }
  throw new RangeError(`invalid log position '${p.slice(0, 40)}'`);
}
