// npm run bench:scale — the scheduler at scale, and the control plane's cost per job.
//
// Runs batches of 100, 1,000 and 10,000 jobs (maxLaunching 1,000, maxRunning 10,000) through the REAL
// control plane — the Lambda handlers, job.asl.json on the local ASL engine, DynamoJobStore on
// dynalite (in a child process, so the database has its own core as it would on AWS) — on the
// simulated cloud (adapters/sim), whose instances play the agent against the real API with
// compressed time, spot preemptions and per-region capacity. Then measures the queue's first page at
// 100 / 10k / 100k stored jobs, one `cancel -a` of 10,000 pending jobs, and the unit costs
// (per heartbeat, per sweep, per idle tick). Prints one table, with a model of SkyPilot's controller
// beside the figures. Not a test: it prints numbers, it does not pass or fail.
//
// Options: --sizes=100,1000,10000  --skip-queue  --skip-cancel  --time-scale=0.2  --cancel-jobs=10000
//          --save=FILE (the measurements as JSON)  --report-from=FILE (print the report of a saved run)
//          --queue-points=100,10000,100000   (time scale: real seconds per simulated second)
//
// How a batch runs: admission is closed while the batch is submitted (maxLaunching 0), then opened,
// so the whole batch waits at once (as after a burst) and the launch limit is really tested. Every
// job's `run` lasts until the whole batch has been admitted and held its slots for 5 s (the peak);
// then all runs end within one simulated minute and the batch drains. The time scale (0.2) makes a
// launch take 12-30 s: longer than granting 1,000 slots takes here, so launching can reach its limit.
// Heartbeats are switched off inside the batches (heartbeatSeconds beyond the batch length): their
// cost grows with run time, not with attempts, so they are measured on their own and reported per
// running job-hour at the deployed interval (30 s). The batches use a DynamoDB client without SigV4
// signing and user-agent/logging middleware (dynalite ignores them; they are a third of the client's
// CPU per request); calibration keeps the full client.
//
// Lambda duration (GB-s) is MODELLED, because on this box a handler's wall time is mostly queueing
// behind thousands of simulated jobs: per invocation, the function's own compute (measured in a
// calibration run of jobs one at a time: wall time minus time spent waiting on calls) plus, for each
// call it makes (DynamoDB, Step Functions, EventBridge, S3, EC2, Lambda), a typical AWS latency
// (AWS_LATENCY_MS). The measured wall times are printed beside it.

// Prices: us-east-1 list prices (checked 2025-11; DynamoDB on-demand after its 2024-11-01 cut):
//  - Step Functions Standard: $0.025 per 1,000 state transitions        aws.amazon.com/step-functions/pricing/
//  - Lambda (arm64): $0.0000133334 per GB-s, $0.20 per 1M requests      aws.amazon.com/lambda/pricing/
//  - API Gateway HTTP API: $1.00 per million requests (first 300M)      aws.amazon.com/api-gateway/pricing/
//  - DynamoDB on-demand: $0.625 per million WRU, $0.125 per million RRU aws.amazon.com/dynamodb/pricing/on-demand/
//  - S3 Standard: PUT/COPY/POST/LIST $0.005 per 1,000, GET $0.0004/1,000 aws.amazon.com/s3/pricing/
//  - EventBridge: custom events $1.00 per million; the 1-minute schedule priced like EventBridge
//    Scheduler invocations, $1.00 per million (beyond its 14M free per month; a scheduled rule's
//    events are not billed, so this is an upper bound)                   aws.amazon.com/eventbridge/pricing/
//  - CloudWatch Logs ingestion: $0.50 per GB                             aws.amazon.com/cloudwatch/pricing/
// Lambda memory per function as deployed (stacks/skyless-stack.ts): api and workflow 1,024 MB,
// scheduler and events 512 MB.
//
// SkyPilot model (docs/behaviour.md §4 peer numbers): one controller process on a $0.25/h VM launches at most 8
// jobs at a time and runs at most 200, polling job status every 15 s; its cost per job is the VM's
// time divided among the jobs it serves when it is saturated, and an idle month is the VM's month.

import '../core/polyfills.ts';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { readFileSync, writeFileSync } from 'node:fs';
import { renderTable } from '../cli/table.ts';
import { percentile } from './stats.ts';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Agent } from 'node:http';
import { createApiApp } from '../lambdas/api/app.ts';
import { createHandler as workflowHandler } from '../lambdas/workflow/handler.ts';
import { createHandler as eventsHandler } from '../lambdas/events/handler.ts';
import { createHandler as schedulerHandler } from '../lambdas/scheduler/handler.ts';
import { startSimPlane, simApi, type SimPlane, type SimPlaneOptions } from '../adapters/sim/sim-plane.ts';
import { startDynaliteProcess, type DynaliteProcess } from '../adapters/sim/dynalite-process.ts';
import { DynamoJobStore } from '../adapters/aws/dynamo-job-store.ts';
import { ensureTable } from '../adapters/local/dynalite.ts';
import { CostMeter, CALL_KINDS, diffUsage, invocationProfile, lambdaGbSeconds, lambdaInvocations, modelledLambda, scaleUsage, stopCallAttribution, type CallKind, type InvocationProfile, type Usage } from '../adapters/metered/meter.ts';
import { CANCEL_CONCURRENCY } from '../core/usecases/cancel.ts';
import { meterDynamo } from '../adapters/metered/dynamo-meter.ts';
import type { Deps, Settings } from '../core/usecases/deps.ts';
import type { JobRecord } from '../core/job/records.ts';
import { isTerminal } from '../core/job/status.ts';

// ---- configuration ------------------------------------------------------------------------------

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100,1000,10000' },
    'time-scale': { type: 'string', default: '0.2' },
    'cancel-jobs': { type: 'string', default: '10000' },
    'queue-points': { type: 'string', default: '100,10000,100000' },
    'skip-cancel': { type: 'boolean', default: false },
    'skip-queue': { type: 'boolean', default: false },
    save: { type: 'string' },
    'report-from': { type: 'string' },
  },
});
/** A positive number from a flag, or an error naming the flag. */
function positive(flag: string, text: string): number {
  const x = Number(text);
  if (!(Number.isFinite(x) && x > 0)) throw new Error(`--${flag} must be a positive number, got '${text}'`);
  return x;
}
const SIZES = args.sizes.split(',').map((x) => positive('sizes', x));
const TIME_SCALE = positive('time-scale', args['time-scale']);
const CANCEL_JOBS = positive('cancel-jobs', args['cancel-jobs']);
const QUEUE_POINTS = args['queue-points'].split(',').map((x) => positive('queue-points', x));
/** Time scale of the phases where timing does not matter (calibration, unit costs). */
const FAST_SCALE = 0.01;
const MAX_LAUNCHING = 1000;
const MAX_RUNNING = 10_000;
/** AWS deployment defaults (lambdas/aws-deps.ts) used to turn unit costs into per-hour figures. */
const AWS_HEARTBEAT_SECONDS = 30;
const SCHEDULE_TICKS_PER_MONTH = 43_200; // one a minute, 30 days
const HOURS_PER_MONTH = 730;
/** Simulated seconds an EC2 spot instance takes from RunInstances to the agent registering (boot, agent download). */
const LAUNCH_LATENCY = { min: 60, max: 150 };
const YAML = 'name: sim\nresources:\n  infra: aws\n  cpus: 2\n  use_spot: true\nsetup: pip install -r requirements.txt\nrun: python train.py\n';

const PRICE = {
  sfnTransition: 0.025 / 1000,
  lambdaGbSecond: 0.0000133334,
  lambdaRequest: 0.2 / 1e6,
  apiRequest: 1.0 / 1e6,
  wru: 0.625 / 1e6,
  rru: 0.125 / 1e6,
  s3Tier1: 0.005 / 1000,
  s3Tier2: 0.0004 / 1000,
  busEvent: 1.0 / 1e6,
  scheduleInvocation: 1.0 / 1e6,
  logGb: 0.5,
};

/**
 * Typical in-region latency (ms) of each call a handler waits on, for the Lambda duration model (the
 * handlers' own compute is measured; see calibrate()). Assumptions, not measurements: DynamoDB
 * single-item operations 5 ms; Step Functions SendTaskSuccess/StartExecution 25 ms; EventBridge PutEvents
 * 20 ms; S3 15 ms; EC2 API calls 300 ms (RunInstances is slower, DescribeInstances faster); Lambda
 * asynchronous Invoke 15 ms.
 */
const AWS_LATENCY_MS: Record<CallKind, number> = { dynamodb: 5, stepfunctions: 25, eventbridge: 20, s3: 15, ec2: 300, lambda: 15 };

const SKYPILOT = { launchesPerProcess: 8, jobsPerProcess: 200, pollSeconds: 15, vmPerHour: 0.25 };

// ---- helpers ------------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const progress = (msg: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);


function dollars(usage: Usage): Record<string, number> {
  return {
    'Step Functions': usage.sfnTransitions * PRICE.sfnTransition,
    'Lambda GB-s': lambdaGbSeconds(usage) * PRICE.lambdaGbSecond,
    'Lambda requests': lambdaInvocations(usage) * PRICE.lambdaRequest,
    'API Gateway': usage.apiRequests * PRICE.apiRequest,
    'DynamoDB': usage.ddbWriteUnits * PRICE.wru + usage.ddbReadUnits * PRICE.rru,
    S3: usage.s3Tier1Requests * PRICE.s3Tier1 + usage.s3Tier2Requests * PRICE.s3Tier2,
    EventBridge: usage.busEvents * PRICE.busEvent,
    'CloudWatch Logs': (usage.logBytes / 1e9) * PRICE.logGb,
  };
}

const total = (d: Record<string, number>) => Object.values(d).reduce((s, x) => s + x, 0);
const usd = (x: number) => (x >= 1 ? `$${x.toFixed(2)}` : x >= 0.01 ? `$${x.toFixed(4)}` : `$${x.toPrecision(3)}`);

let maxRss = 0;
let maxChildRss = 0;
function sampleMemory(dyn: DynaliteProcess): NodeJS.Timeout {
  const t = setInterval(() => {
    maxRss = Math.max(maxRss, process.memoryUsage().rss);
    void dyn.rssBytes().then((b) => (maxChildRss = Math.max(maxChildRss, b ?? 0)));
  }, 250);
  t.unref();
  return t;
}

const HANDLERS: SimPlaneOptions['handlers'] = {
  api: (d) => simApi(createApiApp(d, { callerOf: (c) => c.req.header('x-skyless-user') ?? 'bench' })),
  workflow: workflowHandler,
  events: eventsHandler,
  scheduler: schedulerHandler,
};

function settings(overrides: Partial<Settings> = {}): Settings {
  return {
    deployment: 'bench',
    apiUrl: 'https://bench.invalid',
    heartbeatSeconds: 3600,
    heartbeatTimeoutSeconds: 7200,
    registerTimeoutSeconds: 600,
    backoff: { initial: 2, factor: 1.6, max: 10, jitter: 0.4 },
    // The deployed 15 s poll, compressed like the cloud (the engine's Wait has 1 s granularity).
    teardownPollSeconds: Math.max(1, Math.round(15 * TIME_SCALE)),
    maxLaunching: MAX_LAUNCHING,
    maxRunning: MAX_RUNNING,
    cyclesPerExecution: 500,
    candidatesPerLaunchStep: 10,
    logChunkBytes: 1024 * 1024,
    allowedClouds: ['aws'],
    janitorIntervalSeconds: 60,
    launchStallSeconds: 1800,
    ...overrides,
  };
}

function cloud(preemptionsPerHour: number, timeScale = TIME_SCALE): SimPlaneOptions['cloud'] {
  return {
    cloud: 'aws',
    timeScale,
    launchLatencySeconds: (rng) => LAUNCH_LATENCY.min + rng() * (LAUNCH_LATENCY.max - LAUNCH_LATENCY.min),
    setupSeconds: (rng) => 20 + rng() * 20,
    runSeconds: () => 30 * 86_400, // held until endRuns()
    capacityPerRegion: () => 4000,
    preemptionsPerHour,
    interruptionNoticeSeconds: 120,
    terminateSeconds: 30,
    retainTerminatedSeconds: 600,
    logBytes: 400,
  };
}

async function submitAll(plane: SimPlane, n: number, concurrency = 32): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next += 1;
        const r = await plane.api('POST', '/jobs', { yaml: YAML });
        if (r.status !== 201) throw new Error(`submit failed: ${r.status} ${JSON.stringify(r.body)}`);
      }
    }),
  );
}

async function waitFor(what: string, check: () => boolean, report: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastReport = Date.now();
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${report()}`);
    if (Date.now() - lastReport > 15_000) {
      progress(`  waiting for ${what}: ${report()}`);
      lastReport = Date.now();
    }
    await sleep(100);
  }
}

// ---- a batch ------------------------------------------------------------------------------------

interface BatchResult {
  size: number;
  wallSeconds: number;
  /** Jobs per second through POST /jobs (32 at a time), each starting its workflow. */
  submitRate: number;
  admissionSeconds: number;
  admissionRate: number;
  maxLaunching: number;
  maxRunning: number;
  maxHolding: number;
  attempts: number;
  preempted: number;
  capacityErrors: number;
  succeeded: number;
  tickP50: number;
  tickP95: number;
  tickCount: number;
  /** Ticks that granted at least one slot. */
  grantingP50: number;
  grantingP95: number;
  grantingCount: number;
  grantsMax: number;
  sweepP50: number;
  usage: Usage;
  recordBytes: number;
  sample?: JobRecord;
}

async function runBatch(dyn: DynaliteProcess, size: number): Promise<BatchResult> {
  // Spot preemptions while the batch is admitted (recoveries then compete for launch slots): a hazard
  // that preempts about 5% of the instances up during admission (estimated at 30 jobs/s).
  const admissionSimHours = (Math.max(30, size / 30) / TIME_SCALE) / 3600;
  // Admission is closed (maxLaunching 0) while the batch is submitted, then opened: the whole batch
  // waits at once, as after a burst of submissions, so the launch limit is really tested.
  const cfg = settings({ maxLaunching: 0 });
  const plane = await startSimPlane({
    settings: cfg,
    cloud: cloud(0.05 / admissionSimHours),
    seed: size,
    handlers: HANDLERS,
    dynamoEndpoint: dyn.endpoint,
    tableName: `batch-${size}`,
    scheduleEveryMs: 60_000,
    leanDynamoClient: true,
    attributeCalls: false,
    log: (msg, fields) => {
      if (!/ended abnormally/.test(msg)) progress(`  log: ${msg} ${JSON.stringify(fields ?? {}).slice(0, 300)}`);
    },
  });
  const status = () => {
    const c = plane.census;
    return `admitted ${c.admitted}/${size}, launching ${c.slots.LAUNCHING}, running ${c.slots.RUNNING}, waiting ${c.slots.WAITING}, terminal ${c.terminal}, rss ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`;
  };
  progress(`batch of ${size}: submitting`);
  const t0 = Date.now();
  await submitAll(plane, size);
  const submitSeconds = (Date.now() - t0) / 1000;
  await waitFor('every job parked', () => plane.census.slots.WAITING === size, status, 20 * 60_000);
  progress(`batch of ${size}: submitted in ${submitSeconds.toFixed(1)} s, all parked after ${((Date.now() - t0) / 1000).toFixed(1)} s; opening admission`);
  const opened = Date.now();
  const openedPerf = performance.now();
  cfg.maxLaunching = MAX_LAUNCHING;
  await plane.deps.wakeScheduler();
  await waitFor('every job admitted', () => plane.census.admitted === size, status, 40 * 60_000);
  const admissionSeconds = (plane.census.lastAdmittedAt - opened) / 1000;
  // The peak: the spot market calms down, the last recoveries come back through admission, and
  // every job holds a slot (ideally all RUNNING); hold that for 5 s, then let every run end.
  plane.cloud.stopPreemptions();
  const peakBy = Date.now() + 5 * 60_000;
  await waitFor('the peak', () => plane.census.slots.RUNNING === size || Date.now() > peakBy, status, 6 * 60_000);
  if (plane.census.slots.RUNNING !== size) progress(`batch of ${size}: peak not reached in 5 min; ${status()}`);
  await sleep(5000);
  const ended = plane.cloud.endRuns(60);
  progress(`batch of ${size}: admitted in ${admissionSeconds.toFixed(1)} s; ended ${ended} runs; ${status()}`);
  await waitFor('every job finished', () => plane.census.terminal === size && plane.workflows.runningExecutions().length === 0, status, 40 * 60_000);
  const wallSeconds = (Date.now() - t0) / 1000;
  const usage = plane.meter.snapshot();
  progress(`batch of ${size}: finished in ${wallSeconds.toFixed(1)} s`);

  const full = plane.ticks.filter((t) => !t.skipped && !t.sweep && t.active >= 0.95 * size && t.startedAt >= openedPerf);
  const granting = full.filter((t) => t.granted > 0);
  const sweeps = plane.ticks.filter((t) => t.sweep);
  let succeeded = 0;
  let recordBytes = 0;
  let sample: JobRecord | undefined;
  const others: string[] = [];
  for (let id = 1; id <= size; id++) {
    const j = await plane.deps.store.getJob(id);
    if (j?.status === 'SUCCEEDED') succeeded += 1;
    else if (others.length < 5) others.push(`job ${id} ${j?.status}: ${j?.tasks[0]?.failureReason ?? ''}`);
    if (id === size && j) {
      sample = j;
      recordBytes = Buffer.byteLength(JSON.stringify(j));
    }
  }
  if (!isTerminal(sample?.status ?? 'PENDING')) throw new Error('batch ended with a job not terminal');
  for (const o of others) progress(`  not SUCCEEDED: ${o.slice(0, 400)}`);

  const result: BatchResult = {
    size,
    wallSeconds,
    submitRate: size / submitSeconds,
    admissionSeconds,
    admissionRate: size / admissionSeconds,
    maxLaunching: plane.census.maxLaunching,
    maxRunning: plane.census.maxRunning,
    maxHolding: plane.census.maxHolding,
    attempts: plane.cloud.stats.launched,
    preempted: plane.cloud.stats.preempted,
    capacityErrors: plane.cloud.stats.capacityErrors,
    succeeded,
    tickP50: percentile(full.map((t) => t.ms), 50),
    tickP95: percentile(full.map((t) => t.ms), 95),
    tickCount: full.length,
    grantingP50: percentile(granting.map((t) => t.ms), 50),
    grantingP95: percentile(granting.map((t) => t.ms), 95),
    grantingCount: granting.length,
    grantsMax: Math.max(0, ...granting.map((t) => t.granted)),
    sweepP50: percentile(sweeps.map((t) => t.ms), 50),
    usage,
    recordBytes,
    sample,
  };
  await plane.close();
  return result;
}

// ---- queue first page at 100 / 10k / 100k stored jobs ---------------------------------------------

interface QueuePoint {
  stored: number;
  userP50: number;
  userP95: number;
  allP50: number;
  rruPerPage: number;
}

async function measureQueue(dyn: DynaliteProcess, template: JobRecord): Promise<QueuePoint[]> {
  const meter = new CostMeter({ attributeCalls: false });
  const client = new DynamoDBClient({ endpoint: dyn.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'sim', secretAccessKey: 'sim' }, requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 128 }) } });
  meterDynamo(client, meter);
  await ensureTable(client, 'queue');
  const store = new DynamoJobStore({ client, tableName: 'queue' });
  // The API handler's queue route on the big table (the user's default view, and --all-users); that
  // route reads nothing but the store.
  const api = createApiApp({ store, log: () => {} } as unknown as Deps, { callerOf: () => 'bench' });
  const get = async (query: Record<string, string>) => {
    const r = await api.request(`/jobs?${new URLSearchParams(query)}`);
    if (r.status !== 200) throw new Error(`queue failed: ${r.status} ${await r.text()}`);
    return (await r.json()) as { jobs: unknown[] };
  };
  let stored = 0;
  const grow = async (to: number) => {
    progress(`queue: storing jobs ${stored + 1}…${to}`);
    let next = stored + 1;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        for (let id = next++; id <= to; id = next++) {
          // Finished jobs of two users; the measured user owns every other one.
          await store.putJob({ ...template, jobId: id, user: id % 2 ? 'bench' : 'other', version: 0, status: 'SUCCEEDED', slot: 'NONE', wait: undefined }, null);
        }
      }),
    );
    stored = to;
  };
  const points: QueuePoint[] = [];
  for (const target of QUEUE_POINTS) {
    await grow(target);
    for (let i = 0; i < 3; i++) await get({ limit: '50', user: 'bench' }); // warm
    const user: number[] = [];
    const all: number[] = [];
    const before = meter.snapshot();
    const rounds = 20;
    for (let i = 0; i < rounds; i++) {
      let t = performance.now();
      const page = await get({ limit: '50', user: 'bench' });
      user.push(performance.now() - t);
      if (page.jobs.length !== 50) throw new Error(`first page has ${page.jobs.length} jobs`);
      t = performance.now();
      await get({ limit: '50', allUsers: 'true' });
      all.push(performance.now() - t);
    }
    const used = diffUsage(before, meter.snapshot());
    points.push({ stored: target, userP50: percentile(user, 50), userP95: percentile(user, 95), allP50: percentile(all, 50), rruPerPage: used.ddbReadUnits / (2 * rounds) });
    progress(`queue: at ${target} stored, first page p50 ${percentile(user, 50).toFixed(1)} ms`);
  }
  client.destroy();
  return points;
}

// ---- cancel -a of 10,000 pending jobs ----------------------------------------------------------------

interface CancelResult {
  pending: number;
  requestSeconds: number;
  cancelled: number;
  settledSeconds: number;
  usage: Usage;
  /** Modelled answer time on AWS: the request's calls × AWS_LATENCY_MS / CANCEL_CONCURRENCY. */
  awsSeconds: number;
  calls?: Record<CallKind, number>;
}

async function measureCancel(dyn: DynaliteProcess, n: number): Promise<CancelResult> {
  // maxLaunching 0: every job parks in WaitForLaunchSlot (PENDING), as behind a full deployment.
  const plane = await startSimPlane({ settings: settings({ maxLaunching: 0 }), cloud: cloud(0), seed: 99, handlers: HANDLERS, dynamoEndpoint: dyn.endpoint, tableName: 'cancel', scheduleEveryMs: 0, leanDynamoClient: true });
  progress(`cancel: submitting ${n} jobs`);
  await submitAll(plane, n);
  await waitFor('every job parked', () => plane.census.slots.WAITING === n, () => `waiting ${plane.census.slots.WAITING}`, 20 * 60_000);
  const before = plane.meter.snapshot();
  const t0 = performance.now();
  const r = await plane.api('POST', '/jobs/cancel', { all: true });
  const requestSeconds = (performance.now() - t0) / 1000;
  if (r.status !== 200) throw new Error(`cancel failed: ${r.status} ${JSON.stringify(r.body)}`);
  progress(`cancel: one request cancelled ${r.body.cancelled.length} jobs in ${requestSeconds.toFixed(1)} s`);
  await waitFor('every cancelled job finalized', () => plane.census.terminal === n && plane.workflows.runningExecutions().length === 0, () => `terminal ${plane.census.terminal}`, 20 * 60_000);
  const settledSeconds = (performance.now() - t0) / 1000;
  const usage = diffUsage(before, plane.meter.snapshot());
  // The request's own calls (attributed to its API invocation), at AWS latencies, CANCEL_CONCURRENCY at a time.
  const api = usage.lambda.api;
  const awsSeconds = CALL_KINDS.reduce((sum, k) => sum + (api?.calls[k] ?? 0) * AWS_LATENCY_MS[k], 0) / CANCEL_CONCURRENCY / 1000;
  await plane.close();
  return { pending: n, requestSeconds, cancelled: r.body.cancelled.length, settledSeconds, usage, awsSeconds, calls: api?.calls };
}

// ---- unit costs: a heartbeat, a sweep per running job --------------------------------------------

interface UnitCosts {
  heartbeat: Usage;
  heartbeatsPerSecond: number;
  sweepPerJob: Usage;
  sweepMs: number;
  jobs: number;
  /** One scheduled tick with nothing to do. */
  idle: Usage;
  idleMs: number;
}

async function measureUnits(dyn: DynaliteProcess): Promise<UnitCosts> {
  const jobs = 200;
  const plane = await startSimPlane({ settings: settings({ teardownPollSeconds: 1 }), cloud: cloud(0, FAST_SCALE), seed: 5, handlers: HANDLERS, dynamoEndpoint: dyn.endpoint, tableName: 'units', scheduleEveryMs: 0 });
  await submitAll(plane, jobs);
  await waitFor('every job running', () => plane.census.slots.RUNNING === jobs, () => `running ${plane.census.slots.RUNNING}`, 5 * 60_000);
  // Let setups finish so heartbeats meet jobs in their run phase.
  await sleep(1000);
  const tokens = Array.from({ length: jobs }, (_, i) => plane.deps.agentTokens.sign({ job: i + 1, task: 0, attempt: 1, node: 0 }));
  let before = plane.meter.snapshot();
  const rounds = 5;
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = next++; i < jobs * rounds; i = next++) {
        // The agent's heartbeat, as API Gateway delivers it (through the metered API handler).
        const r = await plane.agentApi('/agent/heartbeat', tokens[i % jobs], { phase: 'RUN' });
        if (r.status !== 200) throw new Error(`heartbeat answered ${r.status} ${JSON.stringify(r.body)}`);
      }
    }),
  );
  const hbSeconds = (performance.now() - t0) / 1000;
  const heartbeat = scaleUsage(diffUsage(before, plane.meter.snapshot()), 1 / (jobs * rounds));
  before = plane.meter.snapshot();
  const start = plane.ticks.length;
  await plane.scheduledTick();
  const sweepPerJob = scaleUsage(diffUsage(before, plane.meter.snapshot()), 1 / jobs);
  const sweepMs = plane.ticks[start]?.ms ?? NaN;
  plane.cloud.endRuns(10);
  await waitFor('the unit-cost jobs finished', () => plane.census.terminal === jobs && plane.workflows.runningExecutions().length === 0, () => `terminal ${plane.census.terminal}`, 5 * 60_000);
  // Idle: scheduled ticks with nothing to do (the table keeps the finished jobs).
  before = plane.meter.snapshot();
  const idleStart = plane.ticks.length;
  const idleTicks = 10;
  for (let i = 0; i < idleTicks; i++) await plane.scheduledTick();
  const idle = scaleUsage(diffUsage(before, plane.meter.snapshot()), 1 / idleTicks);
  const idleMs = plane.ticks.slice(idleStart).reduce((sum, t) => sum + t.ms, 0) / idleTicks;
  await plane.close();
  return { heartbeat, heartbeatsPerSecond: (jobs * rounds) / hbSeconds, sweepPerJob, sweepMs, jobs, idle, idleMs };
}

// ---- report ---------------------------------------------------------------------------------------

/** A label column, then right-aligned figures: the CLI's table renderer (cli/table.ts). */
function figures(headers: string[], rows: string[][]): string {
  return renderTable(
    headers.map((header, i) => ({ header, align: i === 0 ? 'left' : 'right' })),
    rows,
  );
}

// ---- calibration: the handlers' own compute, with little contention ----------------------------

interface Calibration {
  jobs: number;
  profile: InvocationProfile;
  usage: Usage;
}

/** Jobs one after another: each handler's wall time minus its waiting is its compute. */
async function calibrate(dyn: DynaliteProcess): Promise<Calibration> {
  const jobs = 15;
  // Timing does not change what a handler does: a fast clock keeps this phase short.
  const plane = await startSimPlane({ settings: settings({ teardownPollSeconds: 1 }), cloud: { ...cloud(0, FAST_SCALE), runSeconds: () => 60 }, seed: 11, handlers: HANDLERS, dynamoEndpoint: dyn.endpoint, tableName: 'calibration', scheduleEveryMs: 0 });
  progress(`calibration: ${jobs} jobs, one at a time`);
  for (let i = 1; i <= jobs; i++) {
    await submitAll(plane, 1, 1);
    await waitFor(`calibration job ${i}`, () => plane.census.terminal === i && plane.workflows.runningExecutions().length === 0, () => `terminal ${plane.census.terminal}`, 60_000);
  }
  await plane.scheduledTick(); // one sweep, so the scheduler's figure includes one
  const usage = plane.meter.snapshot();
  await plane.close();
  return { jobs, profile: invocationProfile(usage), usage };
}

let CALIBRATION: Calibration | undefined;

/** Dollars of a usage, with Lambda durations from the latency model (see AWS_LATENCY_MS). */
function priced(u: Usage): Record<string, number> {
  return dollars(modelledLambda(u, CALIBRATION!.profile, AWS_LATENCY_MS));
}

const modelledGbSeconds = (u: Usage) => lambdaGbSeconds(modelledLambda(u, CALIBRATION!.profile, AWS_LATENCY_MS));

async function main(): Promise<void> {
  const started = Date.now();
  const load0 = os.loadavg();
  const dyn = await startDynaliteProcess();
  const sampler = sampleMemory(dyn);
  const batches: BatchResult[] = [];
  try {
    // Phases that attribute calls to invocations first; then the hooks are dropped for the batches.
    CALIBRATION = await calibrate(dyn);
    const units = await measureUnits(dyn);
    const cancel = args['skip-cancel'] ? undefined : await measureCancel(dyn, CANCEL_JOBS);
    stopCallAttribution();
    for (const size of SIZES) batches.push(await runBatch(dyn, size));
    const template = batches[batches.length - 1].sample!;
    const queue = args['skip-queue'] ? [] : await measureQueue(dyn, template);
    const load1 = os.loadavg();
    clearInterval(sampler);
    const run = { seconds: (Date.now() - started) / 1000, load0, load1, dynCpu: await dyn.cpuSeconds() };
    // The measurements, so that the report can be printed again without re-running (--report-from).
    if (args.save) writeFileSync(args.save, JSON.stringify({ calibration: CALIBRATION, batches, units, queue, cancel, run, maxRss, maxChildRss }));
    report(batches, units, queue, cancel, run);
  } finally {
    clearInterval(sampler);
    await dyn.close();
  }
}

function report(batches: BatchResult[], units: UnitCosts, queue: QueuePoint[], cancel: CancelResult | undefined, run: { seconds: number; load0: number[]; load1: number[]; dynCpu?: number }): void {
  const cpus = os.cpus();
  const out: string[] = [];
  const line = (s = '') => out.push(s);
  const n = (x: number) => x.toLocaleString('en-US');
  line('skyless bench:scale — scheduler at scale and control-plane cost');
  line(`machine: ${cpus.length} × ${cpus[0]?.model.trim()}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, Node ${process.version}`);
  line(`load average at start ${run.load0.map((x) => x.toFixed(1)).join(' ')}, at end ${run.load1.map((x) => x.toFixed(1)).join(' ')} (other work on the machine slows every timing below)`);
  line(`limits: maxLaunching ${n(MAX_LAUNCHING)}, maxRunning ${n(MAX_RUNNING)}; time scale ${TIME_SCALE} (1 simulated minute = ${(60 * TIME_SCALE).toFixed(2)} s); launches ${LAUNCH_LATENCY.min}-${LAUNCH_LATENCY.max} simulated s; 4,000 instances per region; whole bench ${(run.seconds / 60).toFixed(1)} min`);
  line();
  const batchRows: string[][] = [];
  const r = (label: string, f: (b: BatchResult) => string) => batchRows.push([label, ...batches.map(f)]);
  r('wall time (s)', (b) => b.wallSeconds.toFixed(0));
  r('submission rate, POST /jobs (jobs/s)', (b) => b.submitRate.toFixed(1));
  r('admission rate, queue full (jobs/s)', (b) => b.admissionRate.toFixed(1));
  r(`highest launching (limit ${n(MAX_LAUNCHING)})`, (b) => n(b.maxLaunching));
  r('highest running', (b) => n(b.maxRunning));
  r(`highest launching+running (limit ${n(MAX_RUNNING)})`, (b) => n(b.maxHolding));
  r('succeeded', (b) => n(b.succeeded));
  r('attempts (preempted; capacity errors)', (b) => `${n(b.attempts)} (${b.preempted}; ${b.capacityErrors})`);
  r('scheduler tick p50 / p95 (ms)', (b) => `${b.tickP50.toFixed(0)} / ${b.tickP95.toFixed(0)}`);
  r('  ticks measured (all jobs active)', (b) => n(b.tickCount));
  r('granting ticks p50 / p95 (ms)', (b) => `${b.grantingP50.toFixed(0)} / ${b.grantingP95.toFixed(0)}`);
  r('  granting ticks (most grants in one)', (b) => `${n(b.grantingCount)} (${n(b.grantsMax)})`);
  r('sweep tick p50, janitor incl. (ms)', (b) => (Number.isNaN(b.sweepP50) ? '-' : b.sweepP50.toFixed(0)));
  r('control-plane $ per job attempt', (b) => usd(total(priced(b.usage)) / b.attempts));
  line(figures(['batch', ...batches.map((b) => `${n(b.size)} jobs`)], batchRows));
  line('  (timings are this 2-core box saturated by the simulation; AWS models below)');
  line();

  const big = batches[batches.length - 1];
  const per = scaleUsage(big.usage, 1 / big.attempts);
  const cal = scaleUsage(CALIBRATION!.usage, 1 / CALIBRATION!.jobs);
  line(`per job attempt (${n(big.size)}-job batch; calibration run of ${CALIBRATION!.jobs} jobs one at a time in brackets):`);
  line(`  ${per.sfnTransitions.toFixed(1)} (${cal.sfnTransitions.toFixed(1)}) state transitions; ${lambdaInvocations(per).toFixed(1)} (${lambdaInvocations(cal).toFixed(1)}) Lambda invocations; ${per.apiRequests.toFixed(1)} API requests; ${per.busEvents.toFixed(1)} events; ${(per.s3Tier1Requests + per.s3Tier2Requests).toFixed(1)} S3 requests`);
  line(`  DynamoDB: ${per.ddbRequests.toFixed(0)} requests, ${per.ddbWriteUnits.toFixed(1)} WRU (${per.ddbIndexWriteUnits.toFixed(1)} to indexes, ${per.ddbFailedConditionalWrites.toFixed(2)} failed conditions), ${per.ddbReadUnits.toFixed(1)} RRU; job record ${(big.recordBytes / 1024).toFixed(1)} KB`);
  line(`  Lambda GB-s: ${modelledGbSeconds(per).toFixed(3)} modelled (compute measured in calibration + AWS call latencies; EC2 calls are most of it); measured wall time ${lambdaGbSeconds(cal).toFixed(3)} in calibration (dynalite answers in ~1 ms)`);
  line(`  per invocation in calibration: ${Object.entries(CALIBRATION!.profile).map(([fn, p]) => `${fn} ${p.computeMs.toFixed(1)} ms compute + ${CALL_KINDS.filter((k) => p.calls[k] > 0).map((k) => `${p.calls[k].toFixed(1)} ${k}`).join(', ')}`).join('; ')}`);
  line(`  ${Object.entries(priced(per)).map(([k, v]) => `${k} ${usd(v)}`).join('; ')}`);
  // A tick granting 1,000 slots on AWS: per grant a GetItem, a conditional PutItem and a
  // SendTaskSuccess, 32 at a time; plus the WAITING listing (a Query, ten BatchGetItems of 100) and
  // three COUNT queries.
  const grantMs = 2 * AWS_LATENCY_MS.dynamodb + AWS_LATENCY_MS.stepfunctions;
  const tickMs = (1000 * grantMs) / 32 + 14 * AWS_LATENCY_MS.dynamodb;
  line(`  a tick granting 1,000 slots, modelled on AWS: ${(tickMs / 1000).toFixed(1)} s (1,000 × ${grantMs} ms / 32 at a time + listing and counts)`);
  line();

  // Per running job-hour: heartbeats at the deployed interval + one sweep a minute.
  const hbPerHour = 3600 / AWS_HEARTBEAT_SECONDS;
  const hb = total(priced(units.heartbeat));
  const sweep = total(priced(units.sweepPerJob));
  const perHour = hbPerHour * hb + 60 * sweep;
  line(`per running job-hour: ${hbPerHour} heartbeats × ${usd(hb)} + 60 sweeps × ${usd(sweep)} = ${usd(perHour)}`);
  line(`  a heartbeat: ${units.heartbeat.ddbRequests.toFixed(1)} DynamoDB requests (${units.heartbeat.ddbWriteUnits.toFixed(1)} WRU, ${units.heartbeat.ddbReadUnits.toFixed(1)} RRU), 1 API request, ${modelledGbSeconds(units.heartbeat).toFixed(4)} GB-s; this machine served ${units.heartbeatsPerSecond.toFixed(0)} heartbeats/s`);
  line(`  a sweep over ${units.jobs} running jobs: ${units.sweepMs.toFixed(0)} ms here, ${units.sweepPerJob.ddbReadUnits.toFixed(2)} RRU per running job`);

  // Idle month: the schedule alone (43,200 ticks), with the biggest finished batch still stored.
  const idle = units.idle;
  const idleTick = total(priced(idle)) + PRICE.scheduleInvocation;
  const idleMonth = idleTick * SCHEDULE_TICKS_PER_MONTH;
  line(`idle month: ${n(SCHEDULE_TICKS_PER_MONTH)} scheduled ticks × ${usd(idleTick)} = ${usd(idleMonth)} (a tick: ${idle.ddbRequests.toFixed(1)} DynamoDB requests, ${idle.ddbReadUnits.toFixed(2)} RRU, ${modelledGbSeconds(idle).toFixed(3)} GB-s incl. the janitor's EC2 describe; ${units.idleMs.toFixed(1)} ms here)`);
  line();

  if (queue.length) {
    line('queue, first page of 50 (GET /jobs, newest first):');
    for (const q of queue) line(`  ${n(q.stored).padStart(7)} stored jobs: one user p50 ${q.userP50.toFixed(1)} ms (p95 ${q.userP95.toFixed(1)}); all users p50 ${q.allP50.toFixed(1)} ms; ${q.rruPerPage.toFixed(1)} RRU per page`);
  }
  if (cancel) {
    line(`cancel -a of ${n(cancel.pending)} pending jobs: ONE request, answered in ${cancel.requestSeconds.toFixed(1)} s here (${n(cancel.cancelled)} cancelled; the woken workflows share this CPU); every workflow finalized ${cancel.settledSeconds.toFixed(1)} s after it was sent; ${usd(total(priced(cancel.usage)))} in all`);
    line(`  modelled on AWS: ${cancel.awsSeconds.toFixed(1)} s (API Gateway allows 29 s): its calls ${CALL_KINDS.filter((k) => (cancel.calls?.[k] ?? 0) > 0).map((k) => `${n(cancel.calls![k])} ${k}`).join(', ')} at the latencies above, ${CANCEL_CONCURRENCY} at a time`);
  }
  line(`peak memory: control-plane process ${(maxRss / 2 ** 20).toFixed(0)} MiB RSS (sampled every 250 ms); dynalite process ${(maxChildRss / 2 ** 20).toFixed(0)} MiB; dynalite used ${run.dynCpu?.toFixed(0) ?? '?'} CPU-s`);
  line();

  // SkyPilot model, beside the same figures.
  const L = (LAUNCH_LATENCY.min + LAUNCH_LATENCY.max) / 2;
  const skyAdmission = SKYPILOT.launchesPerProcess / L;
  const oursAtRealLatency = Math.min(big.admissionRate, MAX_LAUNCHING / L);
  const skyPerAttempt = (SKYPILOT.vmPerHour * (L / 3600)) / SKYPILOT.launchesPerProcess;
  const skyPerHour = SKYPILOT.vmPerHour / SKYPILOT.jobsPerProcess;
  const skyIdle = SKYPILOT.vmPerHour * HOURS_PER_MONTH;
  const oursPerAttempt = total(priced(big.usage)) / big.attempts;
  const cmpRows: string[][] = [];
  const cmp = (label: string, ours: number, theirs: number, fmt: (x: number) => string, higherIsBetter: boolean) =>
    cmpRows.push([label, fmt(ours), fmt(theirs), `${(higherIsBetter ? ours / theirs : theirs / ours).toFixed(1)}×`]);
  cmp(`admission rate, ${L} s launches (jobs/s)`, oursAtRealLatency, skyAdmission, (x) => x.toFixed(2), true);
  cmp('highest launching', big.maxLaunching, SKYPILOT.launchesPerProcess, n, true);
  cmp('highest launching+running', big.maxHolding, SKYPILOT.jobsPerProcess, n, true);
  cmp('cost per job attempt (launch to end)', oursPerAttempt, skyPerAttempt, usd, false);
  cmp('cost per running job-hour', perHour, skyPerHour, usd, false);
  cmp('cost per idle month', idleMonth, skyIdle, usd, false);
  line(figures(['vs a SkyPilot controller (model)', 'skyless', 'SkyPilot', 'ratio'], cmpRows));
  line(`  ratio: how many times better skyless is. skyless admission measured here: ${big.admissionRate.toFixed(1)} jobs/s (bound by this machine's CPU);`);
  line(`  with ${L} s launches the launch limit caps it at ${(MAX_LAUNCHING / L).toFixed(1)} jobs/s. SkyPilot: ${SKYPILOT.launchesPerProcess} launches and ${SKYPILOT.jobsPerProcess} jobs per controller process,`);
  line(`  status polled every ${SKYPILOT.pollSeconds} s (a preemption is seen up to ${SKYPILOT.pollSeconds} s late; skyless reacts to the event); its costs are the $${SKYPILOT.vmPerHour}/h VM of a saturated`);
  line(`  process: per attempt = the VM time of one of ${SKYPILOT.launchesPerProcess} launch slots for one launch, per job-hour = VM-hour / ${SKYPILOT.jobsPerProcess}, idle month = the VM's month.`);
  process.stdout.write(out.join('\n') + '\n');
}

if (args['report-from']) {
  const saved = JSON.parse(readFileSync(args['report-from'], 'utf8'));
  CALIBRATION = saved.calibration;
  maxRss = saved.maxRss;
  maxChildRss = saved.maxChildRss;
  report(saved.batches, saved.units, saved.queue, saved.cancel, saved.run);
} else await main();
