// A simulated cloud for benchmarks and scale tests: a ComputeProvider whose instances are timers.
// An instance boots after a launch latency, then plays the node agent by calling the REAL agent API
// (register → SETUP exit 0 → run for a while, heartbeating → ship a log chunk → RUN exit 0) through
// whatever `api` the caller wires (the bench wires the API Lambda handler, so every call is a real
// HTTP-API-shaped request through the real use cases and store). Spot instances are preempted with a
// configurable hazard: the interruption warning and the state changes are emitted as the EC2
// EventBridge events the events Lambda consumes, and the agent reports the notice like the real one.
//
// Time. Every duration in the options is SIMULATED seconds; `timeScale` converts to real time
// (real ms = simulated ms × timeScale), so hours of simulated work run in minutes. Values that come
// from the control plane (heartbeat interval, register retry) are real already and are not scaled.
//
// Capacity is per region: a launch that would put more live (not terminated) instances in a region
// than its capacity fails with CapacityError scoped to the region, as EC2's
// InsufficientInstanceCapacity does for a zone; terminated instances free capacity.
//
// Lookups are O(1) per instance or per attempt (maps by id, attempt, job and region), so thousands of
// instances and tens of thousands of events stay cheap; describe() without a filter is O(instances).

import type { BusEvent, ComputeProvider, DescribedInstance, InstanceTags, LaunchedInstance, LaunchRequest, Rng } from '../../core/ports.ts';
import { attemptTags } from '../../core/ports.ts';
import { CapacityError, PrecheckError, ValidationError } from '../../core/errors.ts';

/** A reply of the agent API as the sim agent needs it. */
export interface SimApiReply {
  status: number;
  body: Record<string, unknown>;
}

/** How a simulated agent reaches the API: one call per agent route (path like `/agent/register`). */
export type SimAgentApi = (path: string, token: string, body: unknown, query?: Record<string, string>) => Promise<SimApiReply>;

export interface SimCloudOptions {
  /** Cloud name this provider answers for (the candidates' `cloud`), e.g. `aws`. */
  cloud: string;
  /** Real milliseconds per simulated millisecond (0.01: 100 simulated seconds take 1 real second). */
  timeScale: number;
  /** Simulated seconds from launch until the agent starts (boot). */
  launchLatencySeconds: (rng: Rng) => number;
  setupSeconds: (rng: Rng) => number;
  /** Simulated seconds the user's `run` takes, per job. */
  runSeconds: (jobId: number, rng: Rng) => number;
  /** Live instances each region holds at most (undefined = unlimited). */
  capacityPerRegion?: (region: string) => number | undefined;
  /** Observers (benchmarks): an interruption warning sent; a launch call accepted (after the capacity check). */
  onWarning?: (w: { instanceId: string; jobId: number; attempt: number; at: number }) => void;
  onLaunchCall?: (l: { jobId: number; attempt: number; region: string; at: number }) => void;
  /** Spot preemption hazard per instance-hour (simulated); 0 = never. On-demand is never preempted. */
  preemptionsPerHour: number;
  /** Simulated seconds between the interruption warning and the termination (EC2: 120). */
  interruptionNoticeSeconds?: number;
  /** Simulated seconds from terminate (or preemption) until the instance is `terminated`. */
  terminateSeconds?: number;
  /** Simulated seconds a terminated instance stays visible to describe (EC2: about an hour). */
  retainTerminatedSeconds?: number;
  /** Shortest real timer, so huge scale-downs do not spin (default 1 ms). */
  minDelayMs?: number;
  /** Bytes of output each node ships before reporting its run exit (0 = none). */
  logBytes?: number;
  rng: Rng;
  api: SimAgentApi;
  /** EC2-shaped events (interruption warning, state changes) for the events handler. */
  emit: (event: BusEvent) => Promise<unknown>;
  /**
   * Probability that an agent call is sent a second time right after its reply (an agent retrying
   * a call whose reply it lost): tests that every route answers repeats idempotently. Default 0.
   */
  repeatAgentCallRate?: number;
  /** Emit state-change events for instances skyless itself terminated (EC2 does). Default true. */
  emitOwnTerminations?: boolean;
  now?: () => number;
}

type SimState = DescribedInstance['state'];

interface SimInstance {
  instanceId: string;
  region: string;
  zone: string;
  node: number;
  jobId: number;
  taskIndex: number;
  attempt: number;
  spot: boolean;
  tags: InstanceTags;
  state: SimState;
  stateReason?: string;
  terminatedBySkyless: boolean;
  token: string;
  ip: string;
  /** The agent stops at its next step once this is set (instance gone, 410, STOP, CANCEL). */
  agentStopped: boolean;
  timers: Set<NodeJS.Timeout>;
  launchedAt: number;
  /** Ends the user's run now (set while the run is in progress). */
  endRun?: () => void;
}

/** Counters a benchmark reads. */
export interface SimStats {
  launched: number;
  capacityErrors: number;
  preempted: number;
  terminatedBySkyless: number;
  agentCalls: number;
  /** Agent API calls answered 5xx (retried) or with an unexpected status. */
  agentErrors: number;
  emitted: number;
  emitErrors: number;
  /** Instances booting right now / highest seen. */
  booting: number;
  maxBooting: number;
  /** Instances whose agent is past register (running the job) / highest seen. */
  working: number;
  maxWorking: number;
  /** Runs that completed (RUN exit 0 reported). */
  runsCompleted: number;
  /** Agent calls sent twice (repeatAgentCallRate). */
  repeatedCalls: number;
}

const STATE_REASON = {
  spot: 'Server.SpotInstanceTermination',
  user: 'Client.UserInitiatedShutdown',
} as const;

function attemptKey(jobId: number, taskIndex: number, attempt: number): string {
  return `${jobId}/${taskIndex}/${attempt}`;
}

export class SimCloud implements ComputeProvider {
  readonly cloud: string;
  private readonly byId = new Map<string, SimInstance>();
  private readonly byAttempt = new Map<string, SimInstance[]>();
  private readonly byJob = new Map<number, Set<SimInstance>>();
  private readonly liveInRegion = new Map<string, number>();
  private nextSerial = 1;
  /** Set by endRuns(): every run from then on lasts at most this many simulated seconds. */
  private runsEndWithin?: number;
  private preemptionsStopped = false;
  private closed = false;
  private readonly now: () => number;
  readonly stats: SimStats = {
    launched: 0,
    capacityErrors: 0,
    preempted: 0,
    terminatedBySkyless: 0,
    agentCalls: 0,
    agentErrors: 0,
    emitted: 0,
    emitErrors: 0,
    booting: 0,
    maxBooting: 0,
    working: 0,
    maxWorking: 0,
    runsCompleted: 0,
    repeatedCalls: 0,
  };

  constructor(private readonly o: SimCloudOptions) {
    if (!o.cloud) throw new ValidationError('SimCloud: cloud is required');
    if (!(o.timeScale > 0)) throw new ValidationError(`SimCloud: timeScale must be > 0, got ${o.timeScale}`);
    if (!(o.preemptionsPerHour >= 0)) throw new ValidationError(`SimCloud: preemptionsPerHour must be >= 0, got ${o.preemptionsPerHour}`);
    this.cloud = o.cloud;
    this.now = o.now ?? (() => Date.now());
  }

  /** Real milliseconds for `simSeconds` simulated seconds. */
  realMs(simSeconds: number): number {
    return Math.max(this.o.minDelayMs ?? 1, simSeconds * 1000 * this.o.timeScale);
  }

  async launch(req: LaunchRequest): Promise<LaunchedInstance[]> {
    const c = req.candidate;
    if (c.cloud !== this.cloud) throw new PrecheckError(`SimCloud '${this.cloud}' cannot launch a candidate of cloud '${c.cloud}'`);
    if (!Number.isInteger(req.numNodes) || req.numNodes < 1) throw new ValidationError(`launch: numNodes must be a positive integer, got ${req.numNodes}`);
    if (req.bootstrap.tokens.length !== req.numNodes) throw new ValidationError(`launch: ${req.bootstrap.tokens.length} tokens for ${req.numNodes} nodes`);
    if (this.closed) throw new PrecheckError('SimCloud is closed');
    const key = attemptKey(req.jobId, req.taskIndex, req.attempt);
    const existing = (this.byAttempt.get(key) ?? []).filter((i) => i.state !== 'terminated' && i.state !== 'shutting-down');
    const have = new Set(existing.map((i) => i.node));
    const missing = Array.from({ length: req.numNodes }, (_, n) => n).filter((n) => !have.has(n));
    const capacity = this.o.capacityPerRegion?.(c.region);
    const live = this.liveInRegion.get(c.region) ?? 0;
    if (capacity !== undefined && live + missing.length > capacity) {
      this.stats.capacityErrors += 1;
      throw new CapacityError(`InsufficientInstanceCapacity: region ${c.region} is full (${live}/${capacity} instances)`, 'region', { cloud: this.cloud, region: c.region }, 'InsufficientInstanceCapacity');
    }
    const zone = c.zones[0] ?? `${c.region}a`;
    this.o.onLaunchCall?.({ jobId: req.jobId, attempt: req.attempt, region: c.region, at: Date.now() });
    for (const node of missing) {
      const serial = this.nextSerial++;
      const inst: SimInstance = {
        instanceId: `i-${serial.toString(16).padStart(17, '0')}`,
        region: c.region,
        zone,
        node,
        jobId: req.jobId,
        taskIndex: req.taskIndex,
        attempt: req.attempt,
        spot: c.spot,
        tags: attemptTags(req, node),
        state: 'pending',
        terminatedBySkyless: false,
        token: req.bootstrap.tokens[node],
        ip: `10.${(serial >> 16) & 255}.${(serial >> 8) & 255}.${serial & 255}`,
        agentStopped: false,
        timers: new Set(),
        launchedAt: this.now(),
      };
      this.byId.set(inst.instanceId, inst);
      this.byAttempt.set(key, [...(this.byAttempt.get(key) ?? []), inst]);
      const forJob = this.byJob.get(req.jobId) ?? new Set();
      forJob.add(inst);
      this.byJob.set(req.jobId, forJob);
      this.liveInRegion.set(c.region, (this.liveInRegion.get(c.region) ?? 0) + 1);
      this.stats.launched += 1;
      this.bump('booting', +1);
      this.after(inst, this.o.launchLatencySeconds(this.o.rng), () => this.boot(inst));
      existing.push(inst);
    }
    return existing
      .sort((a, b) => a.node - b.node)
      .map((i) => ({ instanceId: i.instanceId, node: i.node, zone: i.zone, ip: i.ip }));
  }

  async terminate(jobId: number, taskIndex: number, attempt: number, region?: string): Promise<void> {
    for (const inst of this.byAttempt.get(attemptKey(jobId, taskIndex, attempt)) ?? []) {
      if (region !== undefined && inst.region !== region) continue;
      if (inst.state === 'terminated' || inst.state === 'shutting-down') continue;
      inst.terminatedBySkyless = true;
      this.stats.terminatedBySkyless += 1;
      this.shutDown(inst, STATE_REASON.user, this.o.emitOwnTerminations ?? true);
    }
  }

  async describe(filter: { jobId?: number; regions?: string[] } = {}): Promise<DescribedInstance[]> {
    const pool = filter.jobId !== undefined ? [...(this.byJob.get(filter.jobId) ?? [])] : [...this.byId.values()];
    const regions = filter.regions ? new Set(filter.regions) : undefined;
    return pool.filter((i) => !regions || regions.has(i.region)).map((i) => this.described(i));
  }

  /** What the events handler asks EC2 (Ec2Provider has the same method): did skyless end it? */
  async describeStateReason(instanceId: string, region: string): Promise<{ terminatedBySkyless: boolean; code?: string; state: SimState } | undefined> {
    const inst = this.byId.get(instanceId);
    if (!inst || inst.region !== region) return undefined;
    return { terminatedBySkyless: inst.terminatedBySkyless, code: inst.stateReason, state: inst.state };
  }

  /** Instances not yet terminated (booting, running or shutting down). */
  liveInstances(): number {
    let n = 0;
    for (const v of this.liveInRegion.values()) n += v;
    return n;
  }

  /**
   * Makes every run in progress end within `spreadSimSeconds` (uniformly spread), as if the users'
   * programs finished: a benchmark holds a batch at its peak, then lets it complete. Returns how many.
   */
  endRuns(spreadSimSeconds: number): number {
    // Runs that start from now on (recoveries) end as soon, too.
    this.runsEndWithin = spreadSimSeconds;
    let n = 0;
    for (const inst of this.byId.values()) {
      const end = inst.endRun;
      if (!end || inst.agentStopped) continue;
      inst.endRun = undefined;
      n += 1;
      this.after(inst, this.o.rng() * spreadSimSeconds, end);
    }
    return n;
  }

  /**
   * A region-wide reclaim: every running spot instance in `region` gets its interruption warning at a
   * random moment within `withinMs` real milliseconds, then terminates after the notice, as EC2 does.
   * Happens even after stopPreemptions() (it is the event under test). Returns the instances warned.
   */
  reclaimRegion(region: string, withinMs: number): { instanceId: string; jobId: number; attempt: number }[] {
    const warned: { instanceId: string; jobId: number; attempt: number }[] = [];
    for (const inst of this.byId.values()) {
      if (!inst.spot || inst.region !== region || inst.state !== 'running') continue;
      warned.push({ instanceId: inst.instanceId, jobId: inst.jobId, attempt: inst.attempt });
      this.afterReal(inst, this.o.rng() * withinMs, () => this.preempt(inst, true));
    }
    return warned;
  }

  /** The spot market calms down: no preemption from now on (those already warned still end). */
  stopPreemptions(): void {
    this.preemptionsStopped = true;
  }

  /** Stops every timer and agent (the bench's end). */
  close(): void {
    this.closed = true;
    for (const inst of this.byId.values()) this.stopTimers(inst);
  }

  // ---- instance life ----------------------------------------------------------------------------

  private described(i: SimInstance): DescribedInstance {
    return {
      instanceId: i.instanceId,
      cloud: this.cloud,
      region: i.region,
      zone: i.zone,
      state: i.state,
      tags: { ...i.tags },
      ...(i.stateReason ? { stateReason: i.stateReason } : {}),
    };
  }

  private bump(counter: 'booting' | 'working', delta: number): void {
    this.stats[counter] += delta;
    const max = counter === 'booting' ? 'maxBooting' : 'maxWorking';
    if (this.stats[counter] > this.stats[max]) this.stats[max] = this.stats[counter];
  }

  /** Runs `fn` after `simSeconds` simulated seconds, unless the instance's timers are stopped first. */
  private after(inst: SimInstance, simSeconds: number, fn: () => void | Promise<void>): void {
    this.afterReal(inst, this.realMs(simSeconds), fn);
  }

  private afterReal(inst: SimInstance, ms: number, fn: () => void | Promise<void>): void {
    if (this.closed) return;
    const t = setTimeout(() => {
      inst.timers.delete(t);
      void Promise.resolve()
        .then(fn)
        .catch(() => {
          inst.agentStopped = true;
        });
    }, ms);
    inst.timers.add(t);
  }

  private sleep(inst: SimInstance, ms: number): Promise<void> {
    return new Promise((resolve) => this.afterReal(inst, ms, resolve));
  }

  private stopTimers(inst: SimInstance): void {
    for (const t of inst.timers) clearTimeout(t);
    inst.timers.clear();
  }

  private boot(inst: SimInstance): void {
    if (inst.state !== 'pending') return;
    inst.state = 'running';
    this.bump('booting', -1);
    if (inst.spot && this.o.preemptionsPerHour > 0) {
      // Exponential time to preemption: -ln(U) / λ hours.
      const hours = -Math.log(1 - this.o.rng()) / this.o.preemptionsPerHour;
      this.after(inst, hours * 3600, () => this.preempt(inst));
    }
    void this.runAgent(inst);
  }

  private async preempt(inst: SimInstance, reclaim = false): Promise<void> {
    if (inst.state !== 'running' || (this.preemptionsStopped && !reclaim)) return;
    this.stats.preempted += 1;
    this.o.onWarning?.({ instanceId: inst.instanceId, jobId: inst.jobId, attempt: inst.attempt, at: Date.now() });
    await this.emit({
      source: 'aws.ec2',
      'detail-type': 'EC2 Spot Instance Interruption Warning',
      region: inst.region,
      detail: { 'instance-id': inst.instanceId, 'instance-action': 'terminate' },
    });
    // The real agent polls the instance-action notice and reports it (PROTOCOL route 5).
    if (!inst.agentStopped) await this.call(inst, '/agent/interrupted', { reason: `aws interruption notice: {"action":"terminate"}` });
    this.after(inst, this.o.interruptionNoticeSeconds ?? 120, () => {
      if (inst.state === 'running' || inst.state === 'pending') this.shutDown(inst, STATE_REASON.spot, true);
    });
  }

  private shutDown(inst: SimInstance, reason: string, emit: boolean): void {
    const wasBooting = inst.state === 'pending';
    this.stopTimers(inst);
    if (wasBooting) this.bump('booting', -1);
    this.stopAgent(inst);
    inst.state = 'shutting-down';
    inst.stateReason = reason;
    if (emit) void this.emitState(inst, 'shutting-down');
    this.after(inst, this.o.terminateSeconds ?? 30, () => {
      inst.state = 'terminated';
      this.liveInRegion.set(inst.region, (this.liveInRegion.get(inst.region) ?? 1) - 1);
      if (emit) void this.emitState(inst, 'terminated');
      this.after(inst, this.o.retainTerminatedSeconds ?? 3600, () => this.forget(inst));
    });
  }

  private forget(inst: SimInstance): void {
    this.byId.delete(inst.instanceId);
    const key = attemptKey(inst.jobId, inst.taskIndex, inst.attempt);
    const rest = (this.byAttempt.get(key) ?? []).filter((i) => i !== inst);
    if (rest.length) this.byAttempt.set(key, rest);
    else this.byAttempt.delete(key);
    const forJob = this.byJob.get(inst.jobId);
    forJob?.delete(inst);
    if (forJob && forJob.size === 0) this.byJob.delete(inst.jobId);
  }

  private stopAgent(inst: SimInstance): void {
    if (!inst.agentStopped && inst.state === 'running' && this.working.has(inst)) {
      this.working.delete(inst);
      this.bump('working', -1);
    }
    inst.agentStopped = true;
  }

  private readonly working = new Set<SimInstance>();

  private emitState(inst: SimInstance, state: SimState): Promise<void> {
    return this.emit({
      source: 'aws.ec2',
      'detail-type': 'EC2 Instance State-change Notification',
      region: inst.region,
      detail: { 'instance-id': inst.instanceId, state },
    });
  }

  private async emit(event: BusEvent): Promise<void> {
    this.stats.emitted += 1;
    try {
      await this.o.emit({ version: '0', account: '000000000000', time: new Date(this.now()).toISOString(), resources: [], ...event });
    } catch {
      this.stats.emitErrors += 1;
    }
  }

  /**
   * One agent API call with the real agent's retry rule: 5xx and 408/429 are retried with back-off
   * (1, 2, 4, 5… simulated seconds); anything else is returned. Undefined = the agent must stop.
   */
  private async call(inst: SimInstance, path: string, body: unknown, query?: Record<string, string>): Promise<SimApiReply | undefined> {
    for (let round = 0; round < 20; round++) {
      if (inst.agentStopped || this.closed) return undefined;
      this.stats.agentCalls += 1;
      let reply: SimApiReply;
      try {
        reply = await this.o.api(path, inst.token, body, query);
        if ((this.o.repeatAgentCallRate ?? 0) > 0 && this.o.rng() < this.o.repeatAgentCallRate!) {
          this.stats.agentCalls += 1;
          this.stats.repeatedCalls += 1;
          reply = await this.o.api(path, inst.token, body, query);
        }
      } catch {
        reply = { status: 503, body: {} };
      }
      if (reply.status < 500 && reply.status !== 408 && reply.status !== 429) return reply;
      this.stats.agentErrors += 1;
      await this.sleep(inst, this.realMs(Math.min(5, 2 ** round)));
    }
    return undefined;
  }

  /** The node agent (agent/PROTOCOL.md), minus the shell: register, setup, run, heartbeats, exit. */
  private async runAgent(inst: SimInstance): Promise<void> {
    let ready: Record<string, unknown> | undefined;
    while (!ready) {
      const r = await this.call(inst, '/agent/register', { ip: inst.ip });
      if (!r || r.status !== 200) return this.agentGone(inst, r);
      if (r.body.state === 'READY') ready = r.body;
      else await this.sleep(inst, Number(r.body.retryAfterMs ?? 300));
    }
    this.working.add(inst);
    this.bump('working', +1);
    const heartbeatMs = Number(ready.heartbeatSeconds ?? 10) * 1000;
    const beat = () => {
      this.afterReal(inst, heartbeatMs, async () => {
        const r = await this.call(inst, '/agent/heartbeat', { phase: 'RUN' });
        if (!r || r.status === 410 || r.body.action === 'CANCEL') return this.stopAgent(inst);
        beat();
      });
    };
    beat();

    await this.sleep(inst, this.realMs(this.o.setupSeconds(this.o.rng)));
    for (;;) {
      const r = await this.call(inst, '/agent/exit', { phase: 'SETUP', exitCode: 0 });
      if (!r || r.status !== 200) return this.agentGone(inst, r);
      if (r.body.action === 'RUN') break;
      if (r.body.action === 'STOP') return this.stopAgent(inst);
      await this.sleep(inst, Number(r.body.retryAfterMs ?? 1000));
    }
    await new Promise<void>((resolve) => {
      inst.endRun = resolve;
      const simSeconds = this.runsEndWithin !== undefined ? this.o.rng() * this.runsEndWithin : this.o.runSeconds(inst.jobId, this.o.rng);
      this.afterReal(inst, this.realMs(simSeconds), resolve);
    });
    inst.endRun = undefined;
    if (inst.agentStopped) return;
    if (this.o.logBytes) {
      const text = `run of job ${inst.jobId} attempt ${inst.attempt} node ${inst.node} finished\n`.padEnd(this.o.logBytes, '.');
      await this.call(inst, '/agent/logs', text, { offset: '0' });
    }
    const r = await this.call(inst, '/agent/exit', { phase: 'RUN', exitCode: 0 });
    if (r?.status === 200) this.stats.runsCompleted += 1;
    this.stopAgent(inst);
  }

  private agentGone(inst: SimInstance, r: SimApiReply | undefined): void {
    if (r && r.status !== 410) this.stats.agentErrors += 1;
    this.stopAgent(inst);
  }
}
