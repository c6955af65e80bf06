// The embedded control plane: the same lambdas, the same job.asl.json and the same DynamoDB store
// code as the AWS deployment, wired in one process on 127.0.0.1. State lives under
// $SKYLESS_HOME/local (dynalite's LevelDB, objects, instance directories), so a restart resumes
// every unfinished job from its stored state.

import '../core/polyfills.ts';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { getRequestListener } from '@hono/node-server';
import type { Context } from 'hono';
import { startDynalite, ensureTable, type RunningDynalite } from '../adapters/local/dynalite.ts';
import { DynamoJobStore } from '../adapters/aws/dynamo-job-store.ts';
import { LocalWorkflows } from '../adapters/local/local-workflows.ts';
import { FileObjectStore } from '../adapters/local/file-object-store.ts';
import { ProcessProvider } from '../adapters/local/process-provider.ts';
import { LocalEventBus } from '../adapters/local/local-event-bus.ts';
import type { Deps, Settings } from '../core/usecases/deps.ts';
import { hmacAgentTokens } from '../core/usecases/agent-token.ts';
import { createApiApp, type CallerOf } from '../lambdas/api/app.ts';
import { createHandler as createWorkflowHandler } from '../lambdas/workflow/handler.ts';
import { createHandler as createEventsHandler } from '../lambdas/events/handler.ts';
import { schedulerTick, onWorkflowExecutionEnded } from '../core/usecases/scheduler.ts';
import { AGENT_SCRIPT_PATH } from '../agent/protocol.ts';
import { DEFAULT_BACKOFF } from '../core/recovery/backoff.ts';
import { FileFaultSource, faultsPath, withLaunchFaults } from './faults.ts';

export const TABLE_NAME = 'skyless';

function envNumber(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got '${v}'`);
  return n;
}

/** Local defaults: fast detection (a process dies in a blink), SkyPilot's launch back-off. */
export function localSettings(apiUrl: string, overrides: Partial<Settings> = {}): Settings {
  return {
    deployment: 'local',
    apiUrl,
    heartbeatSeconds: envNumber('SKYLESS_HEARTBEAT_SECONDS', 2),
    heartbeatTimeoutSeconds: envNumber('SKYLESS_HEARTBEAT_TIMEOUT_SECONDS', 10),
    registerTimeoutSeconds: envNumber('SKYLESS_REGISTER_TIMEOUT_SECONDS', 60),
    backoff: {
      ...DEFAULT_BACKOFF,
      initial: envNumber('SKYLESS_BACKOFF_INITIAL_SECONDS', DEFAULT_BACKOFF.initial),
      max: envNumber('SKYLESS_BACKOFF_MAX_SECONDS', DEFAULT_BACKOFF.max),
    },
    teardownPollSeconds: 1,
    maxLaunching: envNumber('SKYLESS_MAX_LAUNCHING', 16),
    maxRunning: envNumber('SKYLESS_MAX_RUNNING', 64),
    cyclesPerExecution: 500,
    candidatesPerLaunchStep: 50,
    logChunkBytes: 64 * 1024,
    mountSaveSeconds: envNumber('SKYLESS_MOUNT_SAVE_SECONDS', 30),
    allowedClouds: ['local'],
    ...overrides,
  };
}

export interface ControlPlaneOptions {
  home: string;
  port?: number;
  settings?: Partial<Settings>;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export interface ControlPlane {
  url: string;
  /** The SKYLESS_HOME this plane keeps its state under. */
  home: string;
  port: number;
  deps: Deps;
  workflows: LocalWorkflows;
  provider: ProcessProvider;
  bus: LocalEventBus;
  /** Stops serving and driving; agents (separate process groups) keep running, like real VMs. */
  stop(): Promise<void>;
  /** Installs the handler of /local/* routes beyond status and shutdown (local/admin.ts). */
  setLocalAdmin(fn: LocalAdminHandler | undefined): void;
}

/** Answers a /local/* request, or undefined when the route is not its own. */
export type LocalAdminHandler = (method: string, u: URL, body: Buffer) => Promise<{ status: number; body: unknown } | undefined>;

async function secretFile(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    const key = randomBytes(32).toString('base64url');
    await writeFile(path, key, { mode: 0o600 });
    return key;
  }
}

/**
 * Who is calling, locally: the user this machine's CLI says it is (`x-skyless-user`), else the
 * user running the control plane.
 */
export const localCaller: CallerOf = (c: Context) => c.req.header('x-skyless-user') ?? process.env.USER ?? 'local';

export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const root = join(opts.home, 'local');
  await mkdir(join(root, 'db'), { recursive: true });
  const log = opts.log ?? (() => {});
  const dynalite: RunningDynalite = await startDynalite({ path: join(root, 'db') });
  const client = new DynamoDBClient({
    endpoint: dynalite.endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await ensureTable(client, TABLE_NAME);
  const store = new DynamoJobStore({ client, tableName: TABLE_NAME });
  const key = await secretFile(join(root, 'secret.key'));

  // Agents are given the API's URL when they launch and outlive this process (as VMs outlive a
  // controller), so the port must survive a restart: the first start records it, later ones reuse it.
  const portFile = join(root, 'port');
  const savedPort = opts.port ?? Number((await readFile(portFile, 'utf8').catch(() => '0')).trim() || 0);
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`port ${savedPort} (recorded in ${portFile}) is in use; is another skyless control plane running for this SKYLESS_HOME?`) : err),
    );
    server.listen(savedPort, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  if (port !== savedPort) await writeFile(portFile, String(port));
  const url = `http://127.0.0.1:${port}`;

  const objects = new FileObjectStore(join(root, 'objects'), url, key);
  // Cloud `local`'s buckets (storage mounts `{name, mode}`) are directories here, shared by every node.
  const settings = localSettings(url, { localBucketsDir: join(root, 'buckets'), ...opts.settings });
  // Launch faults (`skyless local faults`) are read from a file on every launch: no restart needed.
  const faults = new FileFaultSource(faultsPath(opts.home));
  // SKYLESS_LOCAL_BOOT_HANG (fault injection): comma-separated instance IDs (local-<job>-<task>-<attempt>-<node>)
  // whose machine hangs at boot: it runs, but its agent never starts, so the node never registers.
  const bootHang = new Set((process.env.SKYLESS_LOCAL_BOOT_HANG ?? '').split(',').map((s) => s.trim()).filter(Boolean));
  const provider = new ProcessProvider({ stateDir: root, agentScript: AGENT_SCRIPT_PATH, apiUrl: url, heartbeatSeconds: settings.heartbeatSeconds, faults, bootHang: (id) => bootHang.has(id) });
  const bus = new LocalEventBus(join(root, 'events.jsonl'));
  const definitionText = await readFile(new URL('../statemachines/job.asl.json', import.meta.url), 'utf8');

  let deps!: Deps;
  let stopping = false;
  let tickRunning = false;
  let tickAgain = false;
  const runTick = async () => {
    if (stopping) return;
    if (tickRunning) {
      tickAgain = true;
      return;
    }
    tickRunning = true;
    try {
      do {
        tickAgain = false;
        await schedulerTick(deps);
      } while (tickAgain && !stopping);
    } catch (err) {
      log('scheduler tick failed', { error: String(err) });
    } finally {
      tickRunning = false;
    }
  };
  const workflowFn = (payload: unknown) => workflowHandler(payload as never);
  const workflows = new LocalWorkflows({
    definitionText,
    substitutions: { WorkflowFunction: 'workflow' },
    functions: { workflow: workflowFn },
    ids: { token: () => randomBytes(24).toString('base64url'), uuid: () => randomUUID() },
    onExecutionEnd: (end) => {
      if (end.status === 'SUCCEEDED' || stopping) return;
      log('workflow execution ended abnormally', { ...end });
      // As the Step Functions status-change event does on AWS: nothing drives the job any more.
      void onWorkflowExecutionEnded(deps, { name: end.name, status: end.status, error: end.error, cause: end.cause }).catch((err) =>
        log('handling the end of a workflow execution failed', { name: end.name, error: String(err) }),
      );
    },
  });
  deps = {
    store,
    workflows,
    objects,
    bus,
    providers: { local: withLaunchFaults(provider, faults) },
    clock: { now: () => Date.now() },
    ids: { token: () => randomBytes(24).toString('base64url'), uuid: () => randomUUID() },
    rng: Math.random,
    settings,
    agentTokens: hmacAgentTokens(key),
    wakeScheduler: async () => {
      setImmediate(() => void runTick());
    },
    log,
  };
  const workflowHandler = createWorkflowHandler(deps);
  // The API's one router (lambdas/api/app.ts), as a node:http listener.
  const api = getRequestListener(createApiApp(deps, { callerOf: localCaller }).fetch);
  const events = createEventsHandler(deps);
  bus.subscribe((event) => events(event as never));

  server.on('request', (req, res) => void serve(req, res));
  async function serve(req: IncomingMessage, res: ServerResponse) {
    try {
      const u = new URL(req.url ?? '/', url);
      if (u.pathname.startsWith('/files/')) return await serveFile(req.method ?? 'GET', u, await readBody(req), res);
      if (u.pathname.startsWith('/local/')) return await serveLocalAdmin(req.method ?? 'GET', u, await readBody(req), res);
      await api(req, res);
    } catch (err) {
      log('local server error', { error: String((err as Error)?.stack ?? err) });
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'InternalError', message: 'internal error' }));
    }
  }
  async function serveFile(method: string, u: URL, body: Buffer, res: ServerResponse) {
    const key = decodeURIComponent(u.pathname.slice('/files/'.length));
    if (!objects.verify(method, key, u.searchParams.get('exp'), u.searchParams.get('sig'))) {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'Forbidden', message: 'bad or expired signature' }));
      return;
    }
    if (method === 'PUT') {
      await objects.put(key, body);
      res.writeHead(200).end();
    } else if (method === 'GET') {
      const data = await objects.get(key);
      if (!data) res.writeHead(404).end();
      else res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from(data));
    } else res.writeHead(405).end();
  }
  async function serveLocalAdmin(method: string, u: URL, body: Buffer, res: ServerResponse) {
    const reply = (code: number, v: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(v));
    };
    if (u.pathname === '/local/status' && method === 'GET') {
      return reply(200, { pid: process.pid, url, home: opts.home, executions: workflows.runningExecutions().length });
    }
    if (u.pathname === '/local/shutdown' && method === 'POST') {
      reply(200, { stopping: true });
      setTimeout(() => void stop().then(() => process.exit(0)), 50);
      return;
    }
    const admin = localAdmin;
    if (admin) {
      const r = await admin(method, u, body);
      if (r) return reply(r.status, r.body);
    }
    reply(404, { error: 'NotFound', message: `no local route ${method} ${u.pathname}` });
  }
  let localAdmin: LocalAdminHandler | undefined;

  const interval = setInterval(() => void runTick(), 1000);
  interval.unref();

  // Resume every unfinished job: a new execution starts at Advance, which reads where the job is.
  const bootId = randomBytes(4).toString('hex');
  let cursor: string | undefined;
  do {
    const page = await store.listActiveJobIds(500, cursor);
    for (const jobId of page.jobIds) await workflows.startExecution(`job-${jobId}-boot-${bootId}`, { jobId, cycle: 0 });
    cursor = page.nextCursor;
  } while (cursor);
  void runTick();

  async function stop() {
    if (stopping) return;
    stopping = true;
    clearInterval(interval);
    await workflows.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await dynalite.close();
    client.destroy();
  }

  const plane: ControlPlane = {
    url,
    home: opts.home,
    port,
    deps,
    workflows,
    provider,
    bus,
    stop,
    setLocalAdmin(fn) {
      localAdmin = fn;
    },
  };
  return plane;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 64 * 1024 * 1024) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
