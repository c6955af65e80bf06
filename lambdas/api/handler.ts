// API Gateway HTTP API (payload v2) handler: user routes (IAM-authorized on AWS) and agent routes
// (scoped agent token). Only parsing, one use case per route, and mapping results and errors to HTTP.
// Errors are translated here, once: {error, message, details}.

import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Deps } from '../../core/usecases/deps.ts';
import { submitJobs, type LaunchOverrideFlags } from '../../core/usecases/submit.ts';
import { queue, getJob, controllerLog, jobLogs } from '../../core/usecases/read.ts';
import { cancelJobs, requestCancel } from '../../core/usecases/cancel.ts';
import { issueUpload } from '../../core/usecases/uploads.ts';
import { register, heartbeat, shipLogs, reportExit, reportInterrupted, AttemptGoneError } from '../../core/usecases/agent.ts';
import type { AgentClaim } from '../../core/usecases/agent-token.ts';
import { TASK_STATUSES, type TaskStatus } from '../../core/job/status.ts';
import { AuthError, ConflictError, NotFoundError, SpecError, ValidationError } from '../../core/errors.ts';
import { agentScript } from '../../agent/script.ts';
import { encodeRegisterReplyText } from '../../agent/protocol.ts';
import { awsDeps, lazyHandler } from '../aws-deps.ts';

type Result = APIGatewayProxyStructuredResultV2;

export interface ApiOptions {
  /** Who the caller is, from IAM on AWS or the local user. */
  callerOf?: (event: APIGatewayProxyEventV2) => string;
}

function json(statusCode: number, body: unknown): Result {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

function errorResult(err: unknown): Result {
  const e = err as Error;
  if (err instanceof SpecError) return json(400, { error: 'SpecError', message: e.message, details: err.issues });
  if (err instanceof ValidationError) return json(400, { error: 'ValidationError', message: e.message, details: err.details });
  if (err instanceof RangeError || err instanceof SyntaxError) return json(400, { error: 'ValidationError', message: e.message });
  if (err instanceof NotFoundError) return json(404, { error: 'NotFound', message: e.message });
  if (err instanceof AuthError) return json(401, { error: 'Unauthorized', message: e.message });
  if (err instanceof AttemptGoneError) return json(410, { error: 'Gone', message: e.message });
  if (err instanceof ConflictError) return json(409, { error: 'Conflict', message: e.message });
  return json(500, { error: 'InternalError', message: 'internal error; see the API logs' });
}

function bodyBytes(event: APIGatewayProxyEventV2): Buffer {
  if (!event.body) return Buffer.alloc(0);
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
}

function bodyJson(event: APIGatewayProxyEventV2): Record<string, unknown> {
  const raw = bodyBytes(event).toString('utf8');
  if (!raw) return {};
  try {
    const v = JSON.parse(raw);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ValidationError('request body must be a JSON object');
    return v as Record<string, unknown>;
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    throw new ValidationError(`request body is not valid JSON: ${(err as Error).message}`);
  }
}

function intParam(value: string | undefined, name: string, dflt?: number): number | undefined {
  if (value === undefined || value === '') return dflt;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new ValidationError(`${name} must be a non-negative integer, got '${value}'`);
  return n;
}

function statusesParam(value: string | undefined): TaskStatus[] | undefined {
  if (!value) return undefined;
  const out = value.split(',').map((s) => s.trim().toUpperCase());
  for (const s of out) if (!(TASK_STATUSES as readonly string[]).includes(s)) throw new ValidationError(`unknown status '${s}' (one of ${TASK_STATUSES.join(', ')})`);
  return out as TaskStatus[];
}

function agentClaim(deps: Deps, event: APIGatewayProxyEventV2): AgentClaim {
  const auth = event.headers?.authorization ?? event.headers?.Authorization ?? '';
  const m = /^Bearer\s+(\S+)$/.exec(auth);
  const claim = m ? deps.agentTokens.verify(m[1]) : undefined;
  if (!claim) throw new AuthError('missing or invalid agent token');
  return claim;
}

function stringMap(v: unknown, name: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'string')) throw new ValidationError(`${name} must be an object of strings`);
  return v as Record<string, string>;
}

const OVERRIDE_KEYS = ['name', 'useSpot', 'gpus', 'cpus', 'memory', 'infra', 'numNodes', 'priority'] as const;

function overrideFlags(v: unknown): LaunchOverrideFlags | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new ValidationError('overrides must be an object');
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (!(OVERRIDE_KEYS as readonly string[]).includes(k)) throw new ValidationError(`overrides.${k} is not a launch override (one of ${OVERRIDE_KEYS.join(', ')})`);
    if (k === 'useSpot' ? typeof x !== 'boolean' : typeof x !== 'string') throw new ValidationError(`overrides.${k} must be a ${k === 'useSpot' ? 'boolean' : 'string'}`);
    out[k] = x;
  }
  return out as LaunchOverrideFlags;
}

export function createHandler(deps: Deps, opts: ApiOptions = {}) {
  const callerOf = opts.callerOf ?? ((e: APIGatewayProxyEventV2) => {
    const arn = (e.requestContext as { authorizer?: { iam?: { userArn?: string } } }).authorizer?.iam?.userArn;
    return arn ? arn.replace(/^.*[:/]/, '') : 'unknown';
  });

  const routes: { method: string; pattern: RegExp; run: (e: APIGatewayProxyEventV2, m: RegExpExecArray) => Promise<Result> }[] = [
    { method: 'GET', pattern: /^\/health$/, run: async () => json(200, { ok: true }) },
    {
      method: 'POST', pattern: /^\/jobs$/, run: async (e) => {
        const b = bodyJson(e);
        if (typeof b.yaml !== 'string') throw new ValidationError('yaml (the task YAML text) is required');
        const numJobs = b.numJobs === undefined ? undefined : Number(b.numJobs);
        if (numJobs !== undefined && (!Number.isInteger(numJobs) || numJobs < 1 || numJobs > 10_000)) throw new ValidationError('numJobs must be an integer from 1 to 10000');
        const r = await submitJobs(deps, {
          yaml: b.yaml,
          source: typeof b.source === 'string' ? b.source : undefined,
          envs: stringMap(b.envs, 'envs'),
          secrets: stringMap(b.secrets, 'secrets'),
          overrides: overrideFlags(b.overrides),
          name: typeof b.name === 'string' ? b.name : undefined,
          user: callerOf(e),
          numJobs,
          pool: typeof b.pool === 'string' ? b.pool : undefined,
          filesPrefix: typeof b.filesPrefix === 'string' ? b.filesPrefix : undefined,
        });
        return json(201, r);
      },
    },
    {
      method: 'POST', pattern: /^\/uploads$/, run: async (e) => {
        const b = bodyJson(e);
        const files = b.files;
        if (!Array.isArray(files) || !files.every((f) => typeof f === 'string' && /^[-\w./]+$/.test(f) && !f.includes('..'))) throw new ValidationError('files must be a list of relative object names');
        return json(201, await issueUpload(deps, callerOf(e), files as string[]));
      },
    },
    {
      method: 'GET', pattern: /^\/jobs$/, run: async (e) => {
        const q = e.queryStringParameters ?? {};
        const limit = intParam(q.limit, 'limit', 50)!;
        const r = await queue(deps, {
          limit: Math.min(Math.max(limit, 1), 1000),
          cursor: q.cursor,
          statuses: statusesParam(q.status),
          skipFinished: q.skipFinished === 'true',
          user: q.allUsers === 'true' ? undefined : q.user,
          name: q.name,
          pool: q.pool,
        });
        return json(200, r);
      },
    },
    {
      method: 'POST', pattern: /^\/jobs\/cancel$/, run: async (e) => {
        const b = bodyJson(e);
        const by = callerOf(e);
        // Exactly one selector. A body naming several (e.g. {pool, all}) is refused rather than read
        // as the broadest one: `cancel -p NAME` once cancelled every job of the caller that way.
        const selectors = (['jobIds', 'name', 'pool', 'all'] as const).filter((k) => b[k] !== undefined && b[k] !== false);
        if (selectors.length !== 1) throw new ValidationError(`say exactly one of jobIds, name, pool or all (got ${selectors.length ? selectors.join(', ') : 'none'})`);
        if (b.allUsers !== undefined && b.all !== true) throw new ValidationError('allUsers goes with all');
        if (selectors[0] === 'jobIds') {
          if (!Array.isArray(b.jobIds) || !b.jobIds.every((x) => Number.isInteger(x) && x > 0)) throw new ValidationError('jobIds must be positive integers');
          return json(200, await cancelJobs(deps, b.jobIds as number[], by));
        }
        // A selector: recorded, then answered; the jobs are cancelled behind it (core/usecases/cancel.ts).
        if (selectors[0] === 'name') {
          if (typeof b.name !== 'string' || !b.name) throw new ValidationError('name must be a non-empty string');
          return json(200, await requestCancel(deps, { name: b.name }, by));
        }
        if (selectors[0] === 'pool') {
          if (typeof b.pool !== 'string' || !b.pool) throw new ValidationError('pool must be a non-empty string');
          return json(200, await requestCancel(deps, { pool: b.pool }, by));
        }
        if (b.all !== true) throw new ValidationError('all must be true');
        return json(200, await requestCancel(deps, b.allUsers === true ? {} : { user: by }, by));
      },
    },
    { method: 'GET', pattern: /^\/jobs\/(\d+)$/, run: async (_e, m) => json(200, await getJob(deps, Number(m[1]))) },
    { method: 'GET', pattern: /^\/jobs\/(\d+)\/events$/, run: async (_e, m) => json(200, await controllerLog(deps, Number(m[1]))) },
    {
      method: 'GET', pattern: /^\/jobs\/(\d+)\/logs$/, run: async (e, m) => {
        const q = e.queryStringParameters ?? {};
        return json(200, await jobLogs(deps, Number(m[1]), { task: intParam(q.task, 'task'), after: q.after, maxBytes: intParam(q.maxBytes, 'maxBytes') }));
      },
    },
    {
      method: 'GET', pattern: /^\/agent\/agent\.sh$/, run: async () => ({ statusCode: 200, headers: { 'content-type': 'text/x-shellscript' }, body: await agentScript() }),
    },
    {
      method: 'POST', pattern: /^\/agent\/register$/, run: async (e) => {
        const reply = await register(deps, agentClaim(deps, e), bodyJson(e) as { ip?: string });
        // The agent asks for the line-oriented text form: images have no JSON parser.
        if (e.queryStringParameters?.format === 'text') return { statusCode: 200, headers: { 'content-type': 'text/plain' }, body: encodeRegisterReplyText(reply) };
        return json(200, reply);
      },
    },
    { method: 'POST', pattern: /^\/agent\/heartbeat$/, run: async (e) => json(200, await heartbeat(deps, agentClaim(deps, e), bodyJson(e))) },
    {
      method: 'POST', pattern: /^\/agent\/logs$/, run: async (e) => {
        const claim = agentClaim(deps, e);
        const offset = intParam(e.queryStringParameters?.offset, 'offset');
        if (offset === undefined) throw new ValidationError('offset query parameter is required');
        return json(200, await shipLogs(deps, claim, offset, bodyBytes(e)));
      },
    },
    {
      method: 'POST', pattern: /^\/agent\/exit$/, run: async (e) => {
        const claim = agentClaim(deps, e);
        const b = bodyJson(e);
        const phase = String(b.phase ?? '').toUpperCase();
        const exitCode = Number(b.exitCode);
        if ((phase !== 'SETUP' && phase !== 'RUN') || !Number.isInteger(exitCode) || exitCode < 0 || exitCode > 255) throw new ValidationError('phase must be SETUP or RUN and exitCode an integer 0-255');
        return json(200, await reportExit(deps, claim, { phase, exitCode }));
      },
    },
    { method: 'POST', pattern: /^\/agent\/interrupted$/, run: async (e) => json(200, await reportInterrupted(deps, agentClaim(deps, e), bodyJson(e) as { reason?: string })) },
  ];

  return async function handler(event: APIGatewayProxyEventV2): Promise<Result> {
    const method = event.requestContext?.http?.method ?? 'GET';
    const path = event.rawPath ?? event.requestContext?.http?.path ?? '/';
    try {
      let pathMatched = false;
      for (const r of routes) {
        const m = r.pattern.exec(path);
        if (!m) continue;
        pathMatched = true;
        if (r.method === method) return await r.run(event, m);
      }
      return pathMatched ? json(405, { error: 'MethodNotAllowed', message: `${method} ${path} is not allowed` }) : json(404, { error: 'NotFound', message: `no route ${method} ${path}` });
    } catch (err) {
      const result = errorResult(err);
      if (result.statusCode === 500) deps.log?.('API error', { path, method, error: (err as Error)?.stack ?? String(err) });
      return result;
    }
  };
}

/** The Lambda entry point; builds the AWS dependencies on the first event, never at import. */
export const handler = lazyHandler(async () => createHandler(await awsDeps()));
