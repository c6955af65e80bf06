// The API's one router (hono), served by the API Lambda (lambdas/api/handler.ts), the embedded
// control plane (local/control-plane.ts) and the simulated plane (adapters/sim/sim-plane.ts). Each
// route is a contract in core/contracts/api.ts (validated here: a bad request is a 400 naming the
// field) and one use case; errors are translated here, once, to {error, message, details}.
// Who is calling is the only thing that differs per edge: each edge passes its `callerOf`.

import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { z } from 'zod';
import type { Deps } from '../../core/usecases/deps.ts';
import { submitJobs } from '../../core/usecases/submit.ts';
import { queue, getJob, controllerLog, jobLogs } from '../../core/usecases/read.ts';
import { cancelJobs, requestCancel } from '../../core/usecases/cancel.ts';
import { issueUpload } from '../../core/usecases/uploads.ts';
import { relaunchJob } from '../../core/usecases/relaunch.ts';
import { costReport } from '../../core/usecases/costs.ts';
import { register, heartbeat, shipLogs, reportExit, reportInterrupted, AttemptGoneError } from '../../core/usecases/agent.ts';
import type { AgentClaim } from '../../core/usecases/agent-token.ts';
import { AuthError, ConflictError, NotFoundError, SpecError, ValidationError } from '../../core/errors.ts';
import { API, pathPattern, type ErrorReply, type ParsedBody, type ParsedParams, type ParsedQuery, type RouteName, type RouteReply } from '../../core/contracts/api.ts';
import { parseAt } from '../../core/contracts/validate.ts';
import { agentScript } from '../../agent/script.ts';
import { encodeRegisterReplyText } from '../../agent/protocol.ts';

/** Who the caller is, as this edge knows it (an IAM principal on AWS, the local user locally). */
export type CallerOf = (c: Context) => string;

export interface ApiOptions {
  callerOf: CallerOf;
}

/** API Gateway HTTP APIs refuse bodies over 10 MB. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

type Status = 400 | 401 | 404 | 405 | 409 | 410 | 500;

/** The error reply for a thrown error, and its status: the one place errors become HTTP. */
export function errorReply(err: unknown): { status: Status; body: ErrorReply } {
  const e = err as Error;
  if (err instanceof SpecError) return { status: 400, body: { error: 'SpecError', message: e.message, details: err.issues } };
  if (err instanceof ValidationError) return { status: 400, body: { error: 'ValidationError', message: e.message, details: err.details } };
  if (err instanceof RangeError || err instanceof SyntaxError) return { status: 400, body: { error: 'ValidationError', message: e.message } };
  if (err instanceof NotFoundError) return { status: 404, body: { error: 'NotFound', message: e.message } };
  if (err instanceof AuthError) return { status: 401, body: { error: 'Unauthorized', message: e.message } };
  if (err instanceof AttemptGoneError) return { status: 410, body: { error: 'Gone', message: e.message } };
  if (err instanceof ConflictError) return { status: 409, body: { error: 'Conflict', message: e.message } };
  return { status: 500, body: { error: 'InternalError', message: 'internal error; see the API logs' } };
}

/** What a route's use case gets: the parsed request and the caller (user routes) or claim (agent routes). */
export interface RouteRequest<N extends RouteName> {
  params: ParsedParams<N>;
  query: ParsedQuery<N>;
  body: ParsedBody<N>;
  /** The calling user (routes with auth 'user'). */
  caller: string;
  /** The verified agent token's claim (routes with auth 'agent'). */
  claim: AgentClaim;
  c: Context;
}

type Run<N extends RouteName> = (req: RouteRequest<N>) => Promise<RouteReply<N> | Response>;

async function jsonBody(c: Context): Promise<unknown> {
  const raw = await c.req.text();
  if (!raw) return {};
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (err) {
    throw new ValidationError(`request body is not valid JSON: ${(err as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ValidationError('request body must be a JSON object');
  return v;
}

function agentClaim(deps: Deps, c: Context): AgentClaim {
  const m = /^Bearer\s+(\S+)$/.exec(c.req.header('authorization') ?? '');
  const claim = m ? deps.agentTokens.verify(m[1]) : undefined;
  if (!claim) throw new AuthError('missing or invalid agent token');
  return claim;
}

/** The API as one hono app. Every route of core/contracts/api.ts API is registered, no other. */
export function createApiApp(deps: Deps, opts: ApiOptions): Hono {
  const app = new Hono();
  // API Gateway's own payload limit, on every edge: larger files go to presigned upload URLs.
  app.use(bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => c.json({ error: 'PayloadTooLarge', message: `request body exceeds ${MAX_BODY_BYTES} bytes` }, 413) }));

  function route<N extends RouteName>(name: N, run: Run<N>): void {
    const contract = API[name] as (typeof API)[RouteName];
    app.on(contract.method, contract.path, async (c) => {
      // Authentication first: an unauthenticated caller learns nothing about its request's shape.
      const claim = contract.auth === 'agent' ? agentClaim(deps, c) : (undefined as unknown as AgentClaim);
      const caller = contract.auth === 'user' ? opts.callerOf(c) : '';
      const params = 'params' in contract ? parseAt(contract.params, c.req.param(), 'params') : undefined;
      const query = 'query' in contract ? parseAt(contract.query, c.req.query(), 'query') : undefined;
      let body: unknown;
      if ('body' in contract) body = contract.body === 'bytes' ? new Uint8Array(await c.req.arrayBuffer()) : parseAt(contract.body as z.ZodType, await jsonBody(c), 'body');
      const reply = await run({ params, query, body, caller, claim, c } as RouteRequest<N>);
      if (reply instanceof Response) return reply;
      return c.json(reply as object, contract.status);
    });
  }

  route('health', async () => ({ ok: true }));
  route('submitJobs', async ({ body: b, caller }) =>
    submitJobs(deps, {
      yaml: b.yaml,
      source: b.source,
      envs: b.envs ?? undefined,
      secrets: b.secrets ?? undefined,
      overrides: b.overrides ?? undefined,
      name: b.name,
      user: caller,
      numJobs: b.numJobs,
      pool: b.pool,
      filesPrefix: b.filesPrefix,
    }),
  );
  route('issueUpload', async ({ body, caller }) => issueUpload(deps, caller, body.files));
  route('queue', async ({ query: q }) =>
    queue(deps, {
      limit: Math.min(Math.max(q.limit ?? 50, 1), 1000),
      cursor: q.cursor,
      statuses: q.status,
      skipFinished: q.skipFinished === true,
      user: q.allUsers === true ? undefined : q.user,
      name: q.name,
      pool: q.pool,
    }),
  );
  route('cancelJobs', async ({ body: b, caller }) => {
    if (b.jobIds) return cancelJobs(deps, b.jobIds, caller);
    // A selector: recorded, then answered; the jobs are cancelled behind it (core/usecases/cancel.ts).
    return requestCancel(deps, b.name !== undefined ? { name: b.name } : b.pool !== undefined ? { pool: b.pool } : b.allUsers === true ? {} : { user: caller }, caller);
  });
  route('getJob', async ({ params }) => getJob(deps, params.jobId));
  route('jobEvents', async ({ params }) => controllerLog(deps, params.jobId));
  route('jobLogs', async ({ params, query: q }) => jobLogs(deps, params.jobId, { task: q.task, after: q.after, maxBytes: q.maxBytes }));
  route('relaunchJob', async ({ params, body, caller }) => relaunchJob(deps, { jobId: params.jobId, user: caller, secrets: body.secrets }));
  route('costs', async ({ query }) => costReport(deps, { from: query.from, to: query.to, user: query.user }));
  route('agentScript', async ({ c }) => c.body(await agentScript(), 200, { 'content-type': 'text/x-shellscript' }));
  route('agentRegister', async ({ claim, body, query, c }) => {
    const reply = await register(deps, claim, body);
    // The agent asks for the line-oriented text form: images have no JSON parser.
    if (query.format === 'text') return c.body(encodeRegisterReplyText(reply), 200, { 'content-type': 'text/plain' });
    return reply;
  });
  route('agentHeartbeat', async ({ claim, body }) => heartbeat(deps, claim, body));
  route('agentLogs', async ({ claim, query, body }) => shipLogs(deps, claim, query.offset, body));
  route('agentExit', async ({ claim, body }) => reportExit(deps, claim, body));
  route('agentInterrupted', async ({ claim, body }) => reportInterrupted(deps, claim, body));

  const patterns = Object.values(API).map((r) => ({ method: r.method as string, pattern: pathPattern(r.path) }));
  app.notFound((c) => {
    const { method, path } = c.req;
    const known = patterns.some((p) => p.pattern.test(path));
    return known ? c.json({ error: 'MethodNotAllowed', message: `${method} ${path} is not allowed` }, 405) : c.json({ error: 'NotFound', message: `no route ${method} ${path}` }, 404);
  });
  app.onError((err, c) => {
    const { status, body } = errorReply(err);
    if (status === 500) deps.log?.('API error', { path: c.req.path, method: c.req.method, error: (err as Error)?.stack ?? String(err) });
    return c.json(body, status);
  });
  return app;
}

/** The API's route table as the app serves it: "METHOD path" per route (for the entry-point tests). */
export function routeTable(app: Hono): string[] {
  // Middleware (the body limit) is registered for ALL methods; it is not a route.
  return app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`).sort();
}
