// Small, honest fakes at the port boundary for the recovery property and idempotency tests: a cloud
// that keeps instances in memory (with region capacity faults and "someone else" kills), a Workflows
// that records task tokens (spent once, like Step Functions), an in-memory object store and a bus
// that records what is published. Everything else — store, use cases, handlers — is the real code.

import type { BusEvent, ComputeProvider, DescribedInstance, EventBus, LaunchedInstance, LaunchRequest, ObjectInfo, ObjectStore, Workflows } from '../../../core/ports.ts';
import { CapacityError, TokenGoneError } from '../../../core/errors.ts';

export interface FakeInstance {
  instanceId: string;
  jobId: number;
  task: number;
  attempt: number;
  node: number;
  region: string;
  zone: string;
  state: 'running' | 'stopped' | 'terminated';
  stateReason?: string;
  /** True when skyless (terminate) ended it; false when a preemption or someone else did. */
  endedBySkyless?: boolean;
}

/** Cloud `local` in memory. Instance IDs look like the process provider's, which the events handler relies on. */
export class FakeCloud implements ComputeProvider {
  readonly cloud = 'local';
  readonly instances = new Map<string, FakeInstance>();
  /** Regions whose launches fail with a region-scoped capacity error. */
  readonly blockedRegions = new Set<string>();
  /** Every launch call, with the time it was made (benchmarks and tests read it). */
  readonly launchCalls: { at: number; req: LaunchRequest; ok: boolean }[] = [];
  /** Called for every instance created (the world starts its simulated agent here). */
  onCreate?: (inst: FakeInstance, token: string) => void;

  constructor(private readonly now: () => number = Date.now) {}

  static id(jobId: number, task: number, attempt: number, node: number): string {
    return `local-${jobId}-${task}-${attempt}-${node}`;
  }

  async launch(req: LaunchRequest): Promise<LaunchedInstance[]> {
    const { region, zones } = req.candidate;
    if (this.blockedRegions.has(region)) {
      this.launchCalls.push({ at: this.now(), req, ok: false });
      throw new CapacityError(`InsufficientInstanceCapacity: no capacity in ${region} (fake)`, 'region', { cloud: 'local', region }, 'InsufficientInstanceCapacity');
    }
    this.launchCalls.push({ at: this.now(), req, ok: true });
    const out: LaunchedInstance[] = [];
    for (let node = 0; node < req.numNodes; node++) {
      const instanceId = FakeCloud.id(req.jobId, req.taskIndex, req.attempt, node);
      let inst = this.instances.get(instanceId);
      if (!inst) {
        inst = { instanceId, jobId: req.jobId, task: req.taskIndex, attempt: req.attempt, node, region, zone: zones[0] ?? `${region}a`, state: 'running' };
        this.instances.set(instanceId, inst);
        this.onCreate?.(inst, req.bootstrap.tokens[node]);
      }
      out.push({ instanceId, node, zone: inst.zone, ip: `10.0.0.${node + 1}` });
    }
    return out;
  }

  async terminate(jobId: number, taskIndex: number, attempt: number, region?: string): Promise<void> {
    for (const i of this.instances.values()) {
      if (i.jobId === jobId && i.task === taskIndex && i.attempt === attempt && (region === undefined || i.region === region) && i.state !== 'terminated') {
        i.state = 'terminated';
        i.stateReason = 'Client.UserInitiatedShutdown';
        i.endedBySkyless = true;
      }
    }
  }

  async describe(filter?: { jobId?: number; regions?: string[] }): Promise<DescribedInstance[]> {
    return [...this.instances.values()]
      .filter((i) => (filter?.jobId === undefined || i.jobId === filter.jobId) && (!filter?.regions || filter.regions.includes(i.region)))
      .map((i) => ({
        instanceId: i.instanceId,
        cloud: 'local',
        region: i.region,
        zone: i.zone,
        state: i.state,
        stateReason: i.stateReason,
        tags: { 'skyless:job': String(i.jobId), 'skyless:task': String(i.task), 'skyless:attempt': String(i.attempt), 'skyless:node': String(i.node) },
      }));
  }

  /** The cloud takes the instance away (preemption) or someone else stops it. */
  kill(instanceId: string, how: 'preempted' | 'stopped'): FakeInstance {
    const i = this.instances.get(instanceId);
    if (!i) throw new Error(`no fake instance ${instanceId}`);
    if (i.state === 'running') {
      i.state = how === 'stopped' ? 'stopped' : 'terminated';
      i.stateReason = how === 'stopped' ? 'Client.UserInitiatedShutdown' : 'Server.SpotInstanceTermination';
      i.endedBySkyless = false;
    }
    return i;
  }

  running(): FakeInstance[] {
    return [...this.instances.values()].filter((i) => i.state === 'running');
  }
}

type TokenState = 'WAITING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'DROPPED';

/** Task tokens as Step Functions keeps them: each completes once; later completions are TokenGoneError. */
export class TokenWorkflows implements Workflows {
  readonly tokens = new Map<string, { state: TokenState; output?: unknown; error?: string; heartbeats: number }>();
  readonly executions: { name: string; input: unknown }[] = [];
  private readonly started = new Set<string>();
  private next = 0;

  newToken(): string {
    const token = `tok-${++this.next}`;
    this.tokens.set(token, { state: 'WAITING', heartbeats: 0 });
    return token;
  }

  state(token: string): TokenState | undefined {
    return this.tokens.get(token)?.state;
  }

  /** States.HeartbeatTimeout: the engine stops waiting; a later completion finds the token gone. */
  timeOut(token: string): void {
    const t = this.tokens.get(token);
    if (t?.state === 'WAITING') t.state = 'TIMED_OUT';
  }

  /** A control-plane restart forgets every waiting token. */
  dropAll(): void {
    for (const t of this.tokens.values()) if (t.state === 'WAITING') t.state = 'DROPPED';
  }

  async startExecution(name: string, input: unknown): Promise<void> {
    if (this.started.has(name)) return;
    this.started.add(name);
    this.executions.push({ name, input });
  }

  private waiting(token: string) {
    const t = this.tokens.get(token);
    if (!t || t.state !== 'WAITING') throw new TokenGoneError('task token is not waiting (spent, timed out or unknown)');
    return t;
  }

  async sendTaskSuccess(token: string, output: unknown): Promise<void> {
    const t = this.waiting(token);
    t.state = 'SUCCEEDED';
    t.output = output;
  }

  async sendTaskFailure(token: string, error: string): Promise<void> {
    const t = this.waiting(token);
    t.state = 'FAILED';
    t.error = error;
  }

  async sendTaskHeartbeat(token: string): Promise<void> {
    this.waiting(token).heartbeats++;
  }

  async stopExecution(): Promise<void> {}
}

export class MemoryObjects implements ObjectStore {
  readonly objects = new Map<string, Uint8Array>();
  async put(key: string, body: Uint8Array | string): Promise<void> {
    this.objects.set(key, typeof body === 'string' ? Buffer.from(body) : body);
  }
  async get(key: string): Promise<Uint8Array | undefined> {
    return this.objects.get(key);
  }
  async list(prefix: string): Promise<ObjectInfo[]> {
    return [...this.objects.entries()].filter(([k]) => k.startsWith(prefix)).sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, v]) => ({ key, size: v.length }));
  }
  async deletePrefix(prefix: string): Promise<number> {
    let n = 0;
    for (const k of [...this.objects.keys()]) if (k.startsWith(prefix)) n += Number(this.objects.delete(k));
    return n;
  }
  async presignGet(key: string): Promise<string> {
    return `memory://${key}`;
  }
  async presignPut(key: string): Promise<string> {
    return `memory://${key}`;
  }
}

export class RecordingBus implements EventBus {
  readonly published: BusEvent[] = [];
  async publish(events: BusEvent[]): Promise<void> {
    this.published.push(...events);
  }
}
