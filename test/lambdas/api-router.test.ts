// The API's one router (lambdas/api/app.ts): it serves exactly the routes of the contract
// (core/contracts/api.ts), a request failing a route's schema is a 400 ValidationError naming the
// field, and the Lambda, the embedded control plane and the simulated plane answer every request
// identically, because all three serve that same app.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { API, pathFor, type RouteName } from '../../core/contracts/api.ts';
import { createApiApp, routeTable } from '../../lambdas/api/app.ts';
import { createHandler } from '../../lambdas/api/handler.ts';
import { startControlPlane, type ControlPlane } from '../../local/control-plane.ts';
import type { SimPlane } from '../../adapters/sim/sim-plane.ts';
import type { Deps } from '../../core/usecases/deps.ts';
import { startWorld } from '../integration/scheduler/sim-world.ts';

interface Case {
  route: RouteName;
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  /** The field the 400 must name. */
  names: string;
}

// One failing request per schema of every route (params, query, body).
const CASES: Case[] = [
  { route: 'submitJobs', body: { yaml: 'run: echo', numJobs: 0 }, names: 'body.numJobs' },
  { route: 'submitJobs', body: { yaml: 'run: echo', overrides: { cpu: '2' } }, names: 'body.overrides' },
  { route: 'issueUpload', body: { files: ['ok.tar.gz', '../escape'] }, names: 'body.files.1' },
  { route: 'queue', query: { limit: 'many' }, names: 'query.limit' },
  { route: 'queue', query: { status: 'RUNNING,NAPPING' }, names: 'query.status' },
  { route: 'cancelJobs', body: { jobIds: [1, -2] }, names: 'body.jobIds.1' },
  { route: 'cancelJobs', body: { pool: 'p', all: true }, names: 'say exactly one of' },
  { route: 'getJob', params: { jobId: '0' }, names: 'params.jobId' },
  { route: 'jobEvents', params: { jobId: '0' }, names: 'params.jobId' },
  { route: 'jobLogs', params: { jobId: '1' }, query: { task: 'first' }, names: 'query.task' },
  { route: 'relaunchJob', params: { jobId: '1' }, body: { secrets: { K: 5 } }, names: 'body.secrets.K' },
  { route: 'costs', query: { from: 'yesterday', to: '1' }, names: 'query.from' },
  { route: 'costs', query: { from: '10', to: '5' }, names: 'query.to' },
  { route: 'agentRegister', body: { ip: 7 }, names: 'body.ip' },
  { route: 'agentRegister', query: { format: 'xml' }, names: 'query.format' },
  { route: 'agentHeartbeat', body: { phase: 'NAP' }, names: 'body.phase' },
  { route: 'agentLogs', query: { offset: '-1' }, names: 'query.offset' },
  { route: 'agentExit', body: { phase: 'RUN', exitCode: 300 }, names: 'body.exitCode' },
  { route: 'agentInterrupted', body: { reason: 5 }, names: 'body.reason' },
];

const CLAIM = { job: 1, task: 0, attempt: 1, node: 0 };

type Reply = { status: number; body: unknown };
type Edge = (c: Case, token: (deps: Deps) => string) => Promise<Reply>;

function lambdaEdge(deps: Deps): Edge {
  const api = createHandler(deps, { callerOf: () => 'tester' });
  return async (c, token) => {
    const { method } = API[c.route];
    const path = pathFor(c.route, c.params);
    const agent = API[c.route].auth === 'agent';
    const event = {
      version: '2.0',
      rawPath: path,
      rawQueryString: new URLSearchParams(c.query ?? {}).toString(),
      headers: { 'content-type': 'application/json', ...(agent ? { authorization: `Bearer ${token(deps)}` } : {}) },
      requestContext: { domainName: 'api.test', http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.1', userAgent: 'test' } },
      body: c.body === undefined ? undefined : JSON.stringify(c.body),
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEventV2;
    const r = await api(event);
    return { status: r.statusCode ?? 0, body: JSON.parse(r.body ?? '{}') };
  };
}

function localEdge(plane: ControlPlane): Edge {
  return async (c, token) => {
    const { method } = API[c.route];
    const search = c.query ? `?${new URLSearchParams(c.query)}` : '';
    const agent = API[c.route].auth === 'agent';
    const r = await fetch(`${plane.url}${pathFor(c.route, c.params)}${search}`, {
      method,
      headers: { 'content-type': 'application/json', ...(agent ? { authorization: `Bearer ${token(plane.deps)}` } : {}) },
      body: c.body === undefined ? undefined : JSON.stringify(c.body),
    });
    return { status: r.status, body: await r.json() };
  };
}

function simEdge(plane: SimPlane): Edge {
  return async (c, token) => {
    const path = pathFor(c.route, c.params);
    if (API[c.route].auth === 'agent') return plane.agentApi(path, token(plane.deps), c.body, c.query);
    return plane.api(API[c.route].method, path, c.body, c.query);
  };
}

const sign = (deps: Deps) => deps.agentTokens.sign(CLAIM);

let home: string;
let local: ControlPlane;
let sim: SimPlane;
let edges: Record<'lambda' | 'local' | 'sim', Edge>;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'skyless-router-'));
  local = await startControlPlane({ home });
  sim = await startWorld();
  edges = { lambda: lambdaEdge(sim.deps), local: localEdge(local), sim: simEdge(sim) };
}, 120_000);
afterAll(async () => {
  await sim?.close();
  await local?.stop();
  rmSync(home, { recursive: true, force: true });
});

describe('the API router', () => {
  it('serves exactly the routes of the contract', () => {
    const app = createApiApp({} as Deps, { callerOf: () => 'x' });
    expect(routeTable(app)).toEqual(Object.values(API).map((r) => `${r.method} ${r.path}`).sort());
  });

  it('has a failing case for every route that takes params, a query or a JSON body', () => {
    const withSchema = (Object.keys(API) as RouteName[]).filter((n) => {
      const r = API[n] as { params?: unknown; query?: unknown; body?: unknown };
      return r.params !== undefined || r.query !== undefined || (r.body !== undefined && r.body !== 'bytes');
    });
    expect([...new Set(CASES.map((c) => c.route))].sort()).toEqual(withSchema.sort());
  });

  for (const c of CASES) {
    it(`${c.route}: a request failing its schema is a 400 naming ${c.names}, the same from the Lambda, local and simulated planes`, async () => {
      const replies: Record<string, Reply> = {};
      for (const [name, edge] of Object.entries(edges)) replies[name] = await edge(c, sign);
      expect(replies.lambda.status).toBe(400);
      expect(replies.lambda.body).toMatchObject({ error: 'ValidationError' });
      expect((replies.lambda.body as { message: string }).message).toContain(c.names);
      expect(replies.local).toEqual(replies.lambda);
      expect(replies.sim).toEqual(replies.lambda);
    });
  }

  it('answers an unknown path 404 and a known path with the wrong method 405, on every edge', async () => {
    const lambda = createHandler(sim.deps, { callerOf: () => 'tester' });
    const ev = (method: string, path: string) => ({ version: '2.0', rawPath: path, rawQueryString: '', headers: {}, requestContext: { domainName: 'api.test', http: { method, path } } }) as unknown as APIGatewayProxyEventV2;
    for (const [method, path, status] of [['GET', '/nope', 404], ['DELETE', '/jobs', 405]] as const) {
      const viaLambda = await lambda(ev(method, path));
      const viaLocal = await fetch(`${local.url}${path}`, { method });
      const viaSim = await sim.api(method, path);
      expect([viaLambda.statusCode, viaLocal.status, viaSim.status]).toEqual([status, status, status]);
      expect(await viaLocal.json()).toEqual(JSON.parse(viaLambda.body ?? '{}'));
      expect(viaSim.body).toEqual(JSON.parse(viaLambda.body ?? '{}'));
    }
  });

  it('an agent route without a valid token is 401 before its body is read', async () => {
    const r = await edges.local({ route: 'agentHeartbeat', body: { phase: 'NAP' }, names: '' }, () => 'forged');
    expect(r).toEqual({ status: 401, body: { error: 'Unauthorized', message: 'missing or invalid agent token' } });
  });
});
