// Port wrappers that count billable operations into a CostMeter (see meter.ts for the units). Each
// wrapper forwards every call unchanged; only counting is added.

import type { BusEvent, ComputeProvider, EventBus, ObjectInfo, ObjectStore, Workflows } from '../../core/ports.ts';
import type { CostMeter } from './meter.ts';

/** S3 bills LIST per request of up to 1,000 keys, and a multi-object delete as one POST per 1,000 keys. */
const S3_PAGE = 1000;
/** EventBridge bills each 64 KB chunk of an entry as one event. */
const EVENT_CHUNK = 64 * 1024;

export function meteredObjectStore(inner: ObjectStore, meter: CostMeter): ObjectStore {
  return {
    async put(key, body, contentType) {
      meter.s3(1);
      return meter.timed('s3', () => inner.put(key, body, contentType));
    },
    async get(key) {
      meter.s3(2);
      return meter.timed('s3', () => inner.get(key));
    },
    async list(prefix): Promise<ObjectInfo[]> {
      const out = await meter.timed('s3', () => inner.list(prefix));
      meter.s3(1, Math.max(1, Math.ceil(out.length / S3_PAGE)));
      return out;
    },
    async deletePrefix(prefix) {
      const n = await meter.timed('s3', () => inner.deletePrefix(prefix));
      // One LIST per page to find the keys, one DeleteObjects per page to delete them.
      meter.s3(1, Math.max(1, Math.ceil(n / S3_PAGE)) + Math.ceil(n / S3_PAGE));
      return n;
    },
    // Presigning is local computation; the request the URL is used for is the node's, counted there.
    presignGet: (key, expires) => inner.presignGet(key, expires),
    presignPut: (key, expires) => inner.presignPut(key, expires),
  };
}

export function meteredBus(inner: EventBus, meter: CostMeter): EventBus {
  return {
    async publish(events: BusEvent[]) {
      meter.busEvents(events.reduce((s, e) => s + Math.max(1, Math.ceil(Buffer.byteLength(JSON.stringify(e)) / EVENT_CHUNK)), 0));
      return meter.timed('eventbridge', () => inner.publish(events));
    },
  };
}

/**
 * A Lambda handler as billed: one invocation and its duration × memory per call. The duration is
 * the handler's wall time in this process, which under a benchmark's load includes waiting for the
 * event loop; callers should read it as an upper bound.
 */
export function meteredFunction<A extends unknown[], R>(meter: CostMeter, name: string, memoryMb: number, fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return (...args: A): Promise<R> => meter.invocation(name, memoryMb, () => fn(...args));
}

/**
 * Step Functions API calls (start, task success/failure/heartbeat, stop) timed as downstream calls of
 * the invocation making them. They are not billed themselves (Standard bills state transitions).
 */
export function meteredWorkflows<W extends Workflows>(inner: W, meter: CostMeter): Workflows {
  return {
    startExecution: (name, input) => meter.timed('stepfunctions', () => inner.startExecution(name, input)),
    sendTaskSuccess: (token, output) => meter.timed('stepfunctions', () => inner.sendTaskSuccess(token, output)),
    sendTaskFailure: (token, error, cause) => meter.timed('stepfunctions', () => inner.sendTaskFailure(token, error, cause)),
    sendTaskHeartbeat: (token) => meter.timed('stepfunctions', () => inner.sendTaskHeartbeat(token)),
    stopExecution: (name, cause) => meter.timed('stepfunctions', () => inner.stopExecution(name, cause)),
  };
}

/**
 * Cloud API calls (launch, terminate, describe, and any extra method such as describeStateReason)
 * timed as downstream calls; the provider's other properties pass through.
 */
export function meteredProvider<P extends ComputeProvider>(inner: P, meter: CostMeter): P {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || prop === 'constructor') return value;
      const api = prop === 'launch' || prop === 'terminate' || prop === 'describe' || prop === 'describeStateReason';
      if (!api) return value.bind(target);
      return (...args: unknown[]) => meter.timed('ec2', () => value.apply(target, args));
    },
  });
}

/** The API Lambda behind API Gateway: one HTTP API request and one invocation per call. */
export function meteredApi<A extends unknown[], R>(meter: CostMeter, memoryMb: number, fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  const inner = meteredFunction(meter, 'api', memoryMb, fn);
  return (...args: A) => {
    meter.apiRequest();
    return inner(...args);
  };
}

/** Counts Step Functions Standard state transitions from the local engine's events (LocalWorkflows onEngineEvent). */
export function transitionCounter(meter: CostMeter): (execution: string, event: { type: string }) => void {
  return (_execution, event) => {
    if (event.type === 'StateEntered' || event.type === 'StateRetried') meter.stateTransitions(1);
    else if (event.type === 'ExecutionStarted') meter.executionStarted();
  };
}
