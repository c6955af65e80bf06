// The cost meter: counts the billable operations of the control plane as the adapters perform them,
// so a benchmark can multiply them by prices. Counting happens at the ports' edges (the DynamoDB
// client's middleware, wrappers around the object store, the bus and each Lambda handler, the local
// engine's state events), never inside use cases.
//
// Units, as AWS bills them:
//  - Step Functions Standard: state transitions (every state entered, and every retry).
//  - Lambda: invocations, and duration × configured memory (GB-s), duration rounded up to 1 ms.
//  - API Gateway HTTP API: requests (each 512 KB of a request counts as one more; ours are small).
//  - DynamoDB on-demand: read request units (4 KB strongly consistent = 1, eventually = 0.5) and
//    write request units (1 KB = 1), including global-secondary-index writes and failed conditional
//    writes (both are billed).
//  - S3: PUT/COPY/POST/LIST requests (tier 1) and GET (tier 2).
//  - EventBridge: custom events published (each 64 KB chunk of an entry counts as one).
//  - CloudWatch Logs: bytes ingested (estimated: the REPORT/START/END lines Lambda writes per
//    invocation, plus what the handlers log).

import { AsyncLocalStorage } from 'node:async_hooks';

/** Services a Lambda handler waits on; their latency on AWS is part of the billed duration. */
export type CallKind = 'dynamodb' | 'stepfunctions' | 'eventbridge' | 's3' | 'ec2' | 'lambda';
export const CALL_KINDS: readonly CallKind[] = ['dynamodb', 'stepfunctions', 'eventbridge', 's3', 'ec2', 'lambda'];

export interface LambdaUsage {
  invocations: number;
  /** Sum of billed milliseconds (each invocation rounded up to 1 ms): measured wall time. */
  billedMs: number;
  memoryMb: number;
  /** Downstream calls made by the invocations, by service (for a latency model, see modelledLambda). */
  calls: Record<CallKind, number>;
  /** Milliseconds the invocations spent waiting on those calls (measured; overlapping calls add up). */
  ioMs: number;
}

/** The invocation a downstream call belongs to (Node's AsyncLocalStorage follows it across awaits). */
interface InvocationScope {
  calls: Record<CallKind, number>;
  ioMs: number;
}

const invocationScope = new AsyncLocalStorage<InvocationScope>();

function noCalls(): Record<CallKind, number> {
  return { dynamodb: 0, stepfunctions: 0, eventbridge: 0, s3: 0, ec2: 0, lambda: 0 };
}

export interface Usage {
  sfnTransitions: number;
  sfnExecutionsStarted: number;
  lambda: Record<string, LambdaUsage>;
  apiRequests: number;
  ddbReadUnits: number;
  ddbWriteUnits: number;
  /** Of ddbWriteUnits: the share written to global secondary indexes. */
  ddbIndexWriteUnits: number;
  ddbRequests: number;
  ddbFailedConditionalWrites: number;
  s3Tier1Requests: number;
  s3Tier2Requests: number;
  busEvents: number;
  logBytes: number;
}

/** Bytes CloudWatch Logs ingests per Lambda invocation with no application logging (START, END, REPORT lines). */
export const LAMBDA_PLATFORM_LOG_BYTES = 330;

export function emptyUsage(): Usage {
  return {
    sfnTransitions: 0,
    sfnExecutionsStarted: 0,
    lambda: {},
    apiRequests: 0,
    ddbReadUnits: 0,
    ddbWriteUnits: 0,
    ddbIndexWriteUnits: 0,
    ddbRequests: 0,
    ddbFailedConditionalWrites: 0,
    s3Tier1Requests: 0,
    s3Tier2Requests: 0,
    busEvents: 0,
    logBytes: 0,
  };
}

/**
 * Stops attributing downstream calls to invocations for the rest of the process (Node then drops its
 * async-context hooks, which cost CPU on every promise). Meters created afterwards must not ask for it.
 */
export function stopCallAttribution(): void {
  invocationScope.disable();
}

export interface CostMeterOptions {
  /**
   * Attribute each downstream call to the invocation making it (AsyncLocalStorage). Costs some CPU
   * per promise; without it, invocations are counted and timed but their calls are not. Default true.
   */
  attributeCalls?: boolean;
}

export class CostMeter {
  private readonly u: Usage = emptyUsage();
  private readonly attribute: boolean;

  constructor(options: CostMeterOptions = {}) {
    this.attribute = options.attributeCalls ?? true;
  }

  /** A deep copy of the counts so far (take one before and after a phase, then `diffUsage`). */
  snapshot(): Usage {
    return JSON.parse(JSON.stringify(this.u)) as Usage;
  }

  stateTransitions(n = 1): void {
    this.u.sfnTransitions += n;
  }

  executionStarted(): void {
    this.u.sfnExecutionsStarted += 1;
  }

  lambdaInvocation(fn: string, memoryMb: number, ms: number, scope?: InvocationScope, loggedBytes = 0): void {
    const l = (this.u.lambda[fn] ??= { invocations: 0, billedMs: 0, memoryMb, calls: noCalls(), ioMs: 0 });
    l.invocations += 1;
    l.billedMs += Math.max(1, Math.ceil(ms));
    if (scope) {
      for (const k of CALL_KINDS) l.calls[k] += scope.calls[k];
      l.ioMs += scope.ioMs;
    }
    this.u.logBytes += LAMBDA_PLATFORM_LOG_BYTES + loggedBytes;
  }

  /** Runs `fn` as one Lambda invocation: downstream calls made inside it are attributed to it. */
  async invocation<R>(fn: string, memoryMb: number, body: () => Promise<R>): Promise<R> {
    const scope: InvocationScope | undefined = this.attribute ? { calls: noCalls(), ioMs: 0 } : undefined;
    const started = performance.now();
    try {
      return await (scope ? invocationScope.run(scope, body) : body());
    } finally {
      this.lambdaInvocation(fn, memoryMb, performance.now() - started, scope);
    }
  }

  /** A call to another service that took `ms`; counted against the current invocation, if any. */
  downstream(kind: CallKind, ms: number): void {
    if (!this.attribute) return;
    const scope = invocationScope.getStore();
    if (!scope) return;
    scope.calls[kind] += 1;
    scope.ioMs += ms;
  }

  /** Times `call` as a downstream call of `kind`. */
  async timed<R>(kind: CallKind, call: () => Promise<R>): Promise<R> {
    const started = performance.now();
    try {
      return await call();
    } finally {
      this.downstream(kind, performance.now() - started);
    }
  }

  apiRequest(): void {
    this.u.apiRequests += 1;
  }

  dynamo(read: number, write: number, indexWrite = 0): void {
    this.u.ddbRequests += 1;
    this.u.ddbReadUnits += read;
    this.u.ddbWriteUnits += write + indexWrite;
    this.u.ddbIndexWriteUnits += indexWrite;
  }

  dynamoFailedConditionalWrite(units: number): void {
    this.u.ddbRequests += 1;
    this.u.ddbFailedConditionalWrites += 1;
    this.u.ddbWriteUnits += units;
  }

  s3(tier: 1 | 2, n = 1): void {
    if (tier === 1) this.u.s3Tier1Requests += n;
    else this.u.s3Tier2Requests += n;
  }

  busEvents(n: number): void {
    this.u.busEvents += n;
  }
}

/** b − a, field by field (for a phase between two snapshots). */
export function diffUsage(a: Usage, b: Usage): Usage {
  const out = emptyUsage();
  for (const k of Object.keys(out) as (keyof Usage)[]) {
    if (k === 'lambda') continue;
    (out[k] as number) = (b[k] as number) - (a[k] as number);
  }
  for (const [fn, l] of Object.entries(b.lambda)) {
    const before = a.lambda[fn] ?? { invocations: 0, billedMs: 0, memoryMb: l.memoryMb, calls: noCalls(), ioMs: 0 };
    const calls = noCalls();
    for (const k of CALL_KINDS) calls[k] = l.calls[k] - before.calls[k];
    out.lambda[fn] = { invocations: l.invocations - before.invocations, billedMs: l.billedMs - before.billedMs, memoryMb: l.memoryMb, calls, ioMs: l.ioMs - before.ioMs };
  }
  return out;
}

/** Usage × k, field by field (per attempt, per heartbeat…). */
export function scaleUsage(u: Usage, k: number): Usage {
  const out = JSON.parse(JSON.stringify(u)) as Usage;
  for (const key of Object.keys(out) as (keyof Usage)[]) if (key !== 'lambda') (out[key] as number) = (u[key] as number) * k;
  for (const l of Object.values(out.lambda)) {
    l.invocations *= k;
    l.billedMs *= k;
    l.ioMs *= k;
    for (const c of CALL_KINDS) l.calls[c] *= k;
  }
  return out;
}

/** Per function, what one invocation does on average: its own compute, and its calls by service. */
export type InvocationProfile = Record<string, { computeMs: number; calls: Record<CallKind, number> }>;

/**
 * Profiles from a usage whose calls were attributed (CostMeter with attributeCalls): compute = measured
 * wall time minus time spent waiting on calls, per invocation (at least 1 ms). Take it from a run with
 * little contention, where wall time is not queueing.
 */
export function invocationProfile(u: Usage): InvocationProfile {
  const out: InvocationProfile = {};
  for (const [fn, l] of Object.entries(u.lambda)) {
    if (!l.invocations) continue;
    const calls = noCalls();
    for (const k of CALL_KINDS) calls[k] = l.calls[k] / l.invocations;
    out[fn] = { computeMs: Math.max(1, (l.billedMs - l.ioMs) / l.invocations), calls };
  }
  return out;
}

/**
 * A latency model of Lambda duration: per invocation, the function's compute (from `profile`) plus,
 * for each downstream call, that service's typical latency on AWS (calls taken as sequential: an
 * upper bound for handlers that make calls in parallel). The calls are the usage's own when it
 * attributed them, else the profile's average per invocation. Returns the usage with billedMs
 * replaced by the model; use it when measured wall times include a benchmark's queueing.
 */
export function modelledLambda(u: Usage, profile: InvocationProfile, latencyMs: Record<CallKind, number>): Usage {
  const out = JSON.parse(JSON.stringify(u)) as Usage;
  for (const [fn, l] of Object.entries(out.lambda)) {
    const p = profile[fn];
    const attributed = CALL_KINDS.some((k) => l.calls[k] > 0);
    const io = CALL_KINDS.reduce((sum, k) => sum + (attributed ? l.calls[k] : l.invocations * (p?.calls[k] ?? 0)) * latencyMs[k], 0);
    l.billedMs = l.invocations * (p?.computeMs ?? 1) + io;
  }
  return out;
}

/** Lambda GB-seconds of a usage (billed milliseconds × configured memory). */
export function lambdaGbSeconds(u: Usage): number {
  return Object.values(u.lambda).reduce((s, l) => s + (l.billedMs / 1000) * (l.memoryMb / 1024), 0);
}

export function lambdaInvocations(u: Usage): number {
  return Object.values(u.lambda).reduce((s, l) => s + l.invocations, 0);
}
