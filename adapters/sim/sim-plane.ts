// A whole control plane on the simulated cloud, in one process, with every billable operation metered:
// the REAL store (DynamoJobStore on dynalite), the REAL job.asl.json on the local ASL engine, the REAL
// Lambda handlers (passed in by the caller: adapters do not import lambdas/), and SimCloud instances
// whose agents call the API handler as API Gateway would. Benchmarks and scale tests drive it.
//
// Wakes are modelled as on AWS: every wakeScheduler() is one asynchronous invocation of the
// scheduler Lambda carrying the time it was sent; invocations run one at a time (reserved
// concurrency 1), and one that waited behind a tick started after it returns at once (TickOptions
// .wokenAt). Each is metered as an invocation with its own duration.

import '../../core/polyfills.ts';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Agent } from 'node:http';
import { DynamoJobStore } from '../aws/dynamo-job-store.ts';
import { startDynalite, ensureTable } from '../local/dynalite.ts';
import { LocalWorkflows } from '../local/local-workflows.ts';
import type { BusEvent, EventBus } from '../../core/ports.ts';
import type { Deps, Settings } from '../../core/usecases/deps.ts';
import type { TickResult } from '../../core/usecases/scheduler.ts';
import { hmacAgentTokens } from '../../core/usecases/agent-token.ts';
import { isTerminal, type JobStatus } from '../../core/job/status.ts';
import type { SlotState } from '../../core/job/records.ts';
import { CostMeter } from '../metered/meter.ts';
import { meterDynamo } from '../metered/dynamo-meter.ts';
import { meteredApi, meteredBus, meteredFunction, meteredObjectStore, meteredProvider, meteredWorkflows, transitionCounter } from '../metered/metered-ports.ts';
import { MemoryObjectStore } from './memory-object-store.ts';
import { SimCloud, type SimCloudOptions, type SimApiReply } from './sim-cloud.ts';

/** The API's router as a fetch handler (lambdas/api/app.ts createApiApp(...).fetch). */
type ApiHandler = (request: Request) => Promise<Response>;

/** The API's router served as API Gateway would (e.g. simApi(createApiApp(deps, {callerOf}))). */
export function simApi(app: { fetch(request: Request): Response | Promise<Response> }): ApiHandler {
  return async (request) => app.fetch(request);
}

/** The Lambda handlers' factories (lambdas/<name>/handler.ts createHandler; the API's router for `api`). */
export interface SimPlaneHandlers {
  api(deps: Deps): ApiHandler;
  workflow(deps: Deps): (payload: never) => Promise<unknown>;
  events(deps: Deps): (event: never) => Promise<unknown>;
  scheduler(deps: Deps): (event?: never) => Promise<TickResult>;
}

/** Lambda memory sizes (MB), as deployed (stacks/skyless-stack.ts). */
export const DEPLOYED_MEMORY_MB = { api: 1024, workflow: 1024, scheduler: 512, events: 512 } as const;

export interface SimPlaneOptions {
  settings: Settings;
  cloud: Omit<SimCloudOptions, 'api' | 'emit' | 'rng'>;
  /** Seeds every random choice of the simulation (launch latencies, run times, preemptions, jitter). */
  seed: number;
  handlers: SimPlaneHandlers;
  /** DynamoDB endpoint (e.g. startDynaliteProcess()); default: dynalite in this process. */
  dynamoEndpoint?: string;
  tableName?: string;
  /**
   * Strip the DynamoDB client of what only matters against the real service (SigV4 signing, the
   * user-agent and recursion-detection headers, logging): requests, their serialization, retries, the
   * store and the database are unchanged. Saves about a third of the client's CPU per request, which
   * on a small machine running thousands of simulated jobs is the bottleneck. Default false.
   */
  leanDynamoClient?: boolean;
  /** Attribute downstream calls to invocations (CostMeter attributeCalls). Default true. */
  attributeCalls?: boolean;
  /** Real ms between scheduled ticks (which sweep); 0 = none (the caller ticks). */
  scheduleEveryMs: number;
  /**
   * Probability that a cloud event is delivered twice (EventBridge delivers at least once), the
   * second time a few ms later. Default 0.
   */
  duplicateEventRate?: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/** Job counts kept from the stream of job writes (exact: every write passes the meter). */
export interface Census {
  slots: Record<Exclude<SlotState, 'NONE'>, number>;
  active: number;
  terminal: number;
  byStatus: Partial<Record<JobStatus, number>>;
  maxLaunching: number;
  maxRunning: number;
  /** Highest launching + running at one moment (what maxRunning bounds). */
  maxHolding: number;
  /** Jobs granted a launch slot at least once, and when the latest of those first grants was written (ms). */
  admitted: number;
  lastAdmittedAt: number;
  /** Grants of any kind (first launches and recoveries). */
  grants: number;
}

export interface TickSample {
  startedAt: number;
  ms: number;
  active: number;
  granted: number;
  skipped: boolean;
  sweep: boolean;
}

export interface SimPlane {
  deps: Deps;
  meter: CostMeter;
  cloud: SimCloud;
  workflows: LocalWorkflows;
  census: Census;
  ticks: TickSample[];
  /** The API as API Gateway would call it (metered), as the bench user. */
  api(method: string, path: string, body?: unknown, query?: Record<string, string>): Promise<{ status: number; body: any }>;
  /** An agent route called with an agent token, as a node would (metered). */
  agentApi(path: string, token: string, body: unknown, query?: Record<string, string>): Promise<SimApiReply>;
  /** Runs one scheduled tick (sweeps), serialized with the wakes. */
  scheduledTick(): Promise<TickResult>;
  /** Delivers an event to the events handler (metered), e.g. a Step Functions status change. */
  deliverEvent(event: BusEvent): Promise<unknown>;
  /** Cloud events delivered a second time (duplicateEventRate). */
  duplicatedEvents(): number;
  close(): Promise<void>;
}

/** Small fast seeded PRNG (mulberry32), uniform in [0, 1). */
export function seededRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const noBus: EventBus = { publish: async () => {} };

export async function startSimPlane(o: SimPlaneOptions): Promise<SimPlane> {
  const meter = new CostMeter({ attributeCalls: o.attributeCalls ?? true });
  const log = o.log ?? (() => {});
  const inProcess = o.dynamoEndpoint ? undefined : await startDynalite({});
  const endpoint = o.dynamoEndpoint ?? inProcess!.endpoint;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'sim', secretAccessKey: 'sim' },
    // Thousands of simulated jobs queue requests behind 128 sockets on purpose (dynalite answers one
    // at a time anyway): no warning about it.
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 128 }), socketAcquisitionWarningTimeout: 3_600_000 },
    maxAttempts: 5,
  });
  if (o.leanDynamoClient) {
    for (const m of ['loggerMiddleware', 'getUserAgentMiddleware', 'recursionDetectionMiddleware', 'httpSigningMiddleware']) client.middlewareStack.remove(m);
    // dynalite wants a well-formed Authorization header; it never checks the signature.
    client.middlewareStack.add(
      (next) => async (args) => {
        const headers = (args.request as { headers: Record<string, string> }).headers;
        headers.authorization = 'AWS4-HMAC-SHA256 Credential=sim/20250101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0';
        headers['x-amz-date'] = '20250101T000000Z';
        return next(args);
      },
      { step: 'finalizeRequest', name: 'simUnsignedAuthorization' },
    );
  }
  const tableName = o.tableName ?? 'skyless';
  await ensureTable(client, tableName);

  const census: Census = { slots: { WAITING: 0, LAUNCHING: 0, RUNNING: 0 }, active: 0, terminal: 0, byStatus: {}, maxLaunching: 0, maxRunning: 0, maxHolding: 0, admitted: 0, lastAdmittedAt: 0, grants: 0 };
  const lastOf = new Map<string, { slot?: string; status: JobStatus; admitted: boolean }>();
  meterDynamo(client, meter, {
    onJobItemWritten: (item) => {
      const key = String(item.pk);
      const before = lastOf.get(key);
      const status = String(item.queueStatus) as JobStatus;
      const slot = item.slotState === undefined ? undefined : String(item.slotState);
      if (before?.slot) census.slots[before.slot as keyof Census['slots']] -= 1;
      if (slot) census.slots[slot as keyof Census['slots']] += 1;
      if (before) {
        census.byStatus[before.status] = (census.byStatus[before.status] ?? 1) - 1;
        if (isTerminal(before.status)) census.terminal -= 1;
        else census.active -= 1;
      }
      census.byStatus[status] = (census.byStatus[status] ?? 0) + 1;
      if (isTerminal(status)) census.terminal += 1;
      else census.active += 1;
      let admitted = before?.admitted ?? false;
      if (slot === 'LAUNCHING' && before?.slot !== 'LAUNCHING') {
        census.grants += 1;
        if (!admitted) {
          admitted = true;
          census.admitted += 1;
          census.lastAdmittedAt = Date.now();
        }
      }
      lastOf.set(key, { slot, status, admitted });
      census.maxLaunching = Math.max(census.maxLaunching, census.slots.LAUNCHING);
      census.maxRunning = Math.max(census.maxRunning, census.slots.RUNNING);
      census.maxHolding = Math.max(census.maxHolding, census.slots.LAUNCHING + census.slots.RUNNING);
    },
  });
  const store = new DynamoJobStore({ client, tableName });
  const rng = seededRng(o.seed);
  const ids = { token: () => randomBytes(24).toString('base64url'), uuid: () => randomUUID() };
  const definitionText = await readFile(new URL('../../statemachines/job.asl.json', import.meta.url), 'utf8');

  let deps!: Deps;
  let workflowFn!: (payload: unknown) => Promise<unknown>;
  const workflows = new LocalWorkflows({
    definitionText,
    substitutions: { WorkflowFunction: 'workflow' },
    functions: { workflow: (payload) => workflowFn(payload) },
    ids,
    onEngineEvent: transitionCounter(meter),
    onExecutionEnd: (end) => {
      if (end.status !== 'SUCCEEDED' && !closing) log('workflow execution ended abnormally', { ...end });
    },
  });

  let apiFn!: ApiHandler;
  // A request as API Gateway would pass it on: the same router the Lambda and the local plane serve.
  const callApi = async (method: string, path: string, body: unknown, headers: Record<string, string>, query?: Record<string, string>) => {
    const binary = typeof body === 'string';
    const raw = body === undefined ? undefined : binary ? body : JSON.stringify(body);
    const search = query ? `?${new URLSearchParams(query)}` : '';
    const r = await apiFn(new Request(`http://sim.invalid${path}${search}`, { method, headers: { 'content-type': binary ? 'application/octet-stream' : 'application/json', ...headers }, body: raw }));
    const text = await r.text();
    let parsed: any = {};
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = { text };
    }
    return { status: r.status, body: parsed };
  };

  let eventsFn!: (event: BusEvent) => Promise<unknown>;
  let duplicatedEvents = 0;
  const cloud = new SimCloud({
    ...o.cloud,
    rng,
    api: (path, token, body, query): Promise<SimApiReply> => callApi('POST', path, body, { authorization: `Bearer ${token}` }, query),
    // EventBridge delivers asynchronously: the emitter does not wait for the target.
    emit: async (event) => {
      const deliver = () => void eventsFn(event).catch((err) => log('events handler failed', { error: String(err) }));
      setImmediate(deliver);
      if ((o.duplicateEventRate ?? 0) > 0 && rng() < o.duplicateEventRate!) {
        duplicatedEvents += 1;
        setTimeout(deliver, 1 + Math.floor(rng() * 20));
      }
    },
  });

  // Scheduler invocations, one at a time, each metered with its own run time.
  let schedulerFn!: (event?: unknown) => Promise<TickResult>;
  let schedulerChain: Promise<unknown> = Promise.resolve();
  const ticks: TickSample[] = [];
  let closing = false;
  const invokeScheduler = (event: Record<string, unknown>, sweep: boolean): Promise<TickResult> => {
    const run = schedulerChain.then(async () => {
      const startedAt = performance.now();
      const active = census.active;
      const r = await schedulerFn(event);
      ticks.push({ startedAt, ms: performance.now() - startedAt, active, granted: r.granted.length, skipped: r.skipped === true, sweep });
      return r;
    });
    schedulerChain = run.catch((err) => log('scheduler tick failed', { error: String(err) }));
    return run;
  };

  deps = {
    store,
    workflows: meteredWorkflows(workflows, meter),
    objects: meteredObjectStore(new MemoryObjectStore(), meter),
    bus: meteredBus(noBus, meter),
    providers: { [cloud.cloud]: meteredProvider(cloud, meter) },
    clock: { now: () => Date.now() },
    ids,
    rng,
    settings: o.settings,
    agentTokens: hmacAgentTokens(randomBytes(32)),
    wakeScheduler: async () => {
      if (closing) return;
      meter.downstream('lambda', 0); // the asynchronous Invoke of the scheduler
      void invokeScheduler({ source: 'skyless.wake', at: Date.now() }, false).catch(() => {});
    },
    log,
  };
  workflowFn = meteredFunction(meter, 'workflow', DEPLOYED_MEMORY_MB.workflow, o.handlers.workflow(deps) as (p: unknown) => Promise<unknown>);
  apiFn = meteredApi(meter, DEPLOYED_MEMORY_MB.api, o.handlers.api(deps));
  eventsFn = meteredFunction(meter, 'events', DEPLOYED_MEMORY_MB.events, o.handlers.events(deps) as (e: BusEvent) => Promise<unknown>);
  schedulerFn = meteredFunction(meter, 'scheduler', DEPLOYED_MEMORY_MB.scheduler, o.handlers.scheduler(deps) as (e?: unknown) => Promise<TickResult>);

  const scheduledTick = () => invokeScheduler({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, true);
  const interval = o.scheduleEveryMs > 0 ? setInterval(() => void scheduledTick().catch(() => {}), o.scheduleEveryMs) : undefined;

  return {
    deps,
    meter,
    cloud,
    workflows,
    census,
    ticks,
    api: (method, path, body, query) => callApi(method, path, body, { 'x-skyless-user': 'bench' }, query),
    agentApi: (path, token, body, query) => callApi('POST', path, body, { authorization: `Bearer ${token}` }, query),
    scheduledTick,
    deliverEvent: (event) => eventsFn(event),
    duplicatedEvents: () => duplicatedEvents,
    async close() {
      closing = true;
      if (interval) clearInterval(interval);
      cloud.close();
      await workflows.close();
      await schedulerChain.catch(() => {});
      client.destroy();
      await inProcess?.close();
    },
  };
}
