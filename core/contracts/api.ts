// The HTTP API's contract, defined once: each route's method, path, who may call it, and the zod
// schemas of its path parameters, query, body and reply. The router (lambdas/api/app.ts) validates
// requests with these (a 400 ValidationError naming the field) and is typed against the replies;
// the CLI's client (cli/client.ts) is typed from the same table, so a drift is a compile error.
//
// Paths use the router's syntax: `:name{regex}` is a path parameter.

import { z } from 'zod';
import { TASK_STATUSES, type TaskStatus } from '../job/status.ts';
import type { AttemptRecord, JobEvent } from '../job/records.ts';
import type { JobView } from '../usecases/read.ts';
import * as agent from './agent.ts';

/** Every error reply: `error` is the error's name, `message` says what and where. */
export const ErrorReply = z.object({ error: z.string(), message: z.string(), details: z.unknown().optional() });
export type ErrorReply = z.infer<typeof ErrorReply>;

/** A non-negative integer written in a query string or path. */
const queryInt = z.string().regex(/^\d+$/, 'must be a non-negative integer').transform(Number);
const queryBool = z.enum(['true', 'false']).transform((v) => v === 'true');
const stringMap = z.record(z.string(), z.string());

// Records the store defines (core/job/records.ts); passed through as stored, never rebuilt here.
const jobView = z.custom<JobView>(() => true);
const attemptRecord = z.custom<AttemptRecord>(() => true);
const jobEvent = z.custom<JobEvent>(() => true);

export const JobIdParams = z.object({ jobId: queryInt.pipe(z.number().int().positive()) });

/** The launch flags that change resources or the name, as the user typed them. */
export const LaunchOverrides = z.strictObject({
  name: z.string().optional(),
  useSpot: z.boolean().optional(),
  gpus: z.string().optional(),
  cpus: z.string().optional(),
  memory: z.string().optional(),
  infra: z.string().optional(),
  numNodes: z.string().optional(),
  priority: z.string().optional(),
});
export type LaunchOverrides = z.infer<typeof LaunchOverrides>;

export const SubmitBody = z.object({
  yaml: z.string({ error: 'the task YAML text is required' }),
  /** Where the YAML came from (a file name): names the job when the spec has no name. */
  source: z.string().optional(),
  envs: stringMap.nullish(),
  secrets: stringMap.nullish(),
  overrides: LaunchOverrides.nullish(),
  name: z.string().optional(),
  numJobs: z.number().int().min(1).max(10_000).optional(),
  pool: z.string().optional(),
  /** A prefix POST /uploads issued to the same caller. */
  filesPrefix: z.string().optional(),
});
export const SubmitReply = z.object({ jobIds: z.array(z.number().int().positive()) });

const objectName = z.string().regex(/^[-\w./]+$/, 'must be a relative object name').refine((f) => !f.includes('..'), 'must not contain ..');
export const UploadBody = z.object({ files: z.array(objectName) });
export const UploadReply = z.object({ prefix: z.string(), urls: z.record(z.string(), z.string()) });

export const StatusList = z.string().transform((value, ctx): TaskStatus[] => {
  const out = value.split(',').map((s) => s.trim().toUpperCase());
  for (const s of out) {
    if (!(TASK_STATUSES as readonly string[]).includes(s)) ctx.addIssue({ code: 'custom', message: `unknown status '${s}' (one of ${TASK_STATUSES.join(', ')})` });
  }
  return out as TaskStatus[];
});

export const QueueQuery = z.object({
  /** Page size, 1–1000 (default 50). */
  limit: queryInt.optional(),
  cursor: z.string().optional(),
  /** Comma-separated statuses. */
  status: StatusList.optional(),
  skipFinished: queryBool.optional(),
  user: z.string().optional(),
  allUsers: queryBool.optional(),
  name: z.string().optional(),
  pool: z.string().optional(),
});
export const QueueReply = z.object({ jobs: z.array(jobView), nextCursor: z.string().optional() });

const CANCEL_SELECTORS = ['jobIds', 'name', 'pool', 'all'] as const;
/** Exactly one selector: a body naming several (e.g. {pool, all}) was once read as the broadest one. */
export const CancelBody = z
  .object({
    jobIds: z.array(z.number().int().positive()).optional(),
    name: z.string().min(1).optional(),
    pool: z.string().min(1).optional(),
    all: z.boolean().optional(),
    allUsers: z.boolean().optional(),
  })
  .superRefine((b, ctx) => {
    const selectors = CANCEL_SELECTORS.filter((k) => b[k] !== undefined && b[k] !== false);
    if (selectors.length !== 1) ctx.addIssue({ code: 'custom', message: `say exactly one of jobIds, name, pool or all (got ${selectors.length ? selectors.join(', ') : 'none'})` });
    if (b.allUsers !== undefined && b.all !== true) ctx.addIssue({ code: 'custom', path: ['allUsers'], message: 'allUsers goes with all' });
  });
export const CancelReply = z.object({
  cancelled: z.array(z.number().int()),
  alreadyFinished: z.array(z.number().int()),
  notFound: z.array(z.number().int()),
  /** A bulk cancel (a selector): its record, and whether covered jobs remain for the background sweep. */
  request: z.object({ id: z.string(), at: z.number(), background: z.boolean() }).optional(),
});
export type CancelResult = z.infer<typeof CancelReply>;

export const JobReply = z.object({ job: jobView, attempts: z.array(attemptRecord) });
export const JobEventsReply = z.object({ events: z.array(jobEvent), attempts: z.array(attemptRecord) });

export const LogsQuery = z.object({
  task: queryInt.optional(),
  /** Opaque position from a previous answer: only what came after it. */
  after: z.string().optional(),
  /** At most this many bytes of chunks per answer. */
  maxBytes: queryInt.optional(),
});
export const LogChunk = z.object({ task: z.number().int(), attempt: z.number().int(), node: z.number().int(), offset: z.number().int(), text: z.string() });
export type LogChunk = z.infer<typeof LogChunk>;
export const LogPage = z.object({
  chunks: z.array(LogChunk),
  /** Pass back as `after` to continue. */
  position: z.string().optional(),
  /** Every chunk has been returned and no more can come (the job, or the queried task, is finished). */
  complete: z.boolean(),
  /** The job's status, or the task's when the query names a task. */
  status: z.enum(TASK_STATUSES),
  currentTask: z.number().int(),
});
export type LogPage = z.infer<typeof LogPage>;

/** Relaunch: the stored spec again; secret values are never kept for it, so each must be given. */
export const RelaunchBody = z.object({ secrets: stringMap.optional() });

export const CostsQuery = z
  .object({
    /** Epoch milliseconds, inclusive. */
    from: queryInt,
    /** Epoch milliseconds, exclusive. */
    to: queryInt,
    /** Only this user's jobs (default all). */
    user: z.string().min(1).optional(),
  })
  .refine((q) => q.to > q.from, { message: 'to must be after from', path: ['to'] });
const usd = z.number();
export const CostsReply = z.object({
  from: z.number(),
  to: z.number(),
  totalUsd: usd,
  days: z.array(z.object({ day: z.string(), usd })),
  byUser: z.array(z.object({ user: z.string(), usd })),
  byPool: z.array(z.object({ pool: z.string(), usd })),
  estimatedUsd: usd,
  attempts: z.number().int(),
  jobsScanned: z.number().int(),
  truncated: z.boolean(),
});

/** Who may call a route: an IAM-authorized (or local) user, a node's agent token, or anyone. */
export type RouteAuth = 'user' | 'agent' | 'none';

export interface RouteContract {
  method: 'GET' | 'POST';
  path: string;
  auth: RouteAuth;
  /** HTTP status of a successful JSON reply. */
  status: 200 | 201;
  params?: z.ZodType;
  query?: z.ZodType;
  /** A JSON body's schema, or 'bytes' for a raw body. */
  body?: z.ZodType | 'bytes';
  reply: z.ZodType;
}

/** Every route of the API. The router serves exactly these (test/lambdas/api-router.test.ts). */
export const API = {
  health: { method: 'GET', path: '/health', auth: 'none', status: 200, reply: z.object({ ok: z.literal(true) }) },
  submitJobs: { method: 'POST', path: '/jobs', auth: 'user', status: 201, body: SubmitBody, reply: SubmitReply },
  issueUpload: { method: 'POST', path: '/uploads', auth: 'user', status: 201, body: UploadBody, reply: UploadReply },
  queue: { method: 'GET', path: '/jobs', auth: 'user', status: 200, query: QueueQuery, reply: QueueReply },
  cancelJobs: { method: 'POST', path: '/jobs/cancel', auth: 'user', status: 200, body: CancelBody, reply: CancelReply },
  getJob: { method: 'GET', path: '/jobs/:jobId{[0-9]+}', auth: 'user', status: 200, params: JobIdParams, reply: JobReply },
  jobEvents: { method: 'GET', path: '/jobs/:jobId{[0-9]+}/events', auth: 'user', status: 200, params: JobIdParams, reply: JobEventsReply },
  jobLogs: { method: 'GET', path: '/jobs/:jobId{[0-9]+}/logs', auth: 'user', status: 200, params: JobIdParams, query: LogsQuery, reply: LogPage },
  relaunchJob: { method: 'POST', path: '/jobs/:jobId{[0-9]+}/relaunch', auth: 'user', status: 201, params: JobIdParams, body: RelaunchBody, reply: SubmitReply },
  costs: { method: 'GET', path: '/costs', auth: 'user', status: 200, query: CostsQuery, reply: CostsReply },
  agentScript: { method: 'GET', path: '/agent/agent.sh', auth: 'none', status: 200, reply: z.string() },
  agentRegister: { method: 'POST', path: '/agent/register', auth: 'agent', status: 200, query: agent.RegisterQuery, body: agent.RegisterRequest, reply: agent.RegisterReply },
  agentHeartbeat: { method: 'POST', path: '/agent/heartbeat', auth: 'agent', status: 200, body: agent.HeartbeatRequest, reply: agent.HeartbeatReply },
  agentLogs: { method: 'POST', path: '/agent/logs', auth: 'agent', status: 200, query: agent.LogsQuery, body: 'bytes', reply: agent.LogsReply },
  agentExit: { method: 'POST', path: '/agent/exit', auth: 'agent', status: 200, body: agent.ExitRequest, reply: agent.ExitReply },
  agentInterrupted: { method: 'POST', path: '/agent/interrupted', auth: 'agent', status: 200, body: agent.InterruptedRequest, reply: agent.InterruptedReply },
} as const satisfies Record<string, RouteContract>;

export type Api = typeof API;
export type RouteName = keyof Api;

type Schema<C, K extends 'params' | 'query' | 'body'> = C extends { [P in K]: infer S } ? (S extends z.ZodType ? S : never) : never;

/** What a caller sends (before parsing): the CLI builds these. */
export type RouteBody<N extends RouteName> = Api[N] extends { body: z.ZodType } ? z.input<Schema<Api[N], 'body'>> : undefined;
export type RouteQuery<N extends RouteName> = Api[N] extends { query: z.ZodType } ? z.input<Schema<Api[N], 'query'>> : undefined;
export type RouteParams<N extends RouteName> = Api[N] extends { params: z.ZodType } ? z.input<Schema<Api[N], 'params'>> : undefined;
/** What the server has after parsing. */
export type ParsedBody<N extends RouteName> = Api[N] extends { body: z.ZodType } ? z.output<Schema<Api[N], 'body'>> : Api[N] extends { body: 'bytes' } ? Uint8Array : undefined;
export type ParsedQuery<N extends RouteName> = Api[N] extends { query: z.ZodType } ? z.output<Schema<Api[N], 'query'>> : undefined;
export type ParsedParams<N extends RouteName> = Api[N] extends { params: z.ZodType } ? z.output<Schema<Api[N], 'params'>> : undefined;
/** The success reply of a route. */
export type RouteReply<N extends RouteName> = z.infer<Api[N]['reply']>;

/** Fills a route's path parameters: pathFor('getJob', {jobId: '7'}) is `/jobs/7`. */
export function pathFor(name: RouteName, params: Record<string, string | number> = {}): string {
  return API[name].path.replace(/:(\w+)(\{[^}]*\})?/g, (_m, key: string) => {
    const v = params[key];
    if (v === undefined) throw new Error(`route ${name} needs path parameter ${key}`);
    return encodeURIComponent(String(v));
  });
}

/** A regular expression matching the concrete paths of a route (for 404 vs 405). */
export function pathPattern(path: string): RegExp {
  const body = path
    .split(/(:\w+(?:\{[^}]*\})?)/)
    .map((part) => {
      const m = /^:\w+(?:\{([^}]*)\})?$/.exec(part);
      if (m) return `(${m[1] ?? '[^/]+'})`;
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${body}$`);
}
