// A deterministic world for the recovery property and idempotency tests. The REAL use cases and
// handlers (core/usecases, lambdas/workflow, lambdas/events) run against the REAL store
// (DynamoJobStore on dynalite); only the ports at the edge are fakes (support/fakes.ts). The world
// also plays the parts that are not our code:
//  - the workflow engine: `Driver` interprets statemachines/job.asl.json (its states' Next, Route's
//    choices, Pause, a heartbeat timeout's Catch), one state at a time;
//  - the node agents: one `SimAgent` per instance, calling the agent use cases as agent.sh would;
//  - the cloud's event delivery: an inbox of EC2-shaped events, delivered late, twice, reordered or never.
// Every action runs to completion before the next starts, so a run is reproducible from its choices.

import { seededRng } from '../../../adapters/sim/sim-plane.ts';
import { DynamoJobStore } from '../../../adapters/aws/dynamo-job-store.ts';
import { ensureTable } from '../../../adapters/local/dynalite.ts';
import type { TestDynalite } from '../../support/dynalite.ts';
import { uniqueTableName } from '../../support/dynalite.ts';
import { ManualClock } from '../../support/clock.ts';
import type { Deps, Settings } from '../../../core/usecases/deps.ts';
import { hmacAgentTokens, type AgentClaim } from '../../../core/usecases/agent-token.ts';
import { submitJobs } from '../../../core/usecases/submit.ts';
import { schedulerTick } from '../../../core/usecases/scheduler.ts';
import { cancelJobs } from '../../../core/usecases/cancel.ts';
import * as agent from '../../../core/usecases/agent.ts';
import { createHandler as createWorkflowHandler, type WorkflowPayload } from '../../../lambdas/workflow/handler.ts';
import { createHandler as createEventsHandler } from '../../../lambdas/events/handler.ts';
import { readFileSync } from 'node:fs';
import type { AttemptRecord, JobRecord } from '../../../core/job/records.ts';
import type { BusEvent } from '../../../core/ports.ts';
import { FakeCloud, MemoryObjects, RecordingBus, TokenWorkflows, type FakeInstance } from './fakes.ts';

export const REGIONS = ['local-1', 'local-2', 'local-3'] as const;

export function worldSettings(overrides: Partial<Settings> = {}): Settings {
  return {
    deployment: 'prop',
    apiUrl: 'http://api.invalid',
    heartbeatSeconds: 1,
    heartbeatTimeoutSeconds: 10,
    registerTimeoutSeconds: 20,
    backoff: { initial: 1, factor: 1.6, max: 2, jitter: 0.4 },
    teardownPollSeconds: 1,
    maxLaunching: 4,
    maxRunning: 8,
    // Small, so that long runs continue as new executions (resuming from the stored state).
    cyclesPerExecution: 30,
    candidatesPerLaunchStep: 50,
    logChunkBytes: 64 * 1024,
    allowedClouds: ['local'],
    ...overrides,
  };
}

/**
 * The agent's exit codes for one attempt, per node (a node beyond the list exits 0). `hang`: the
 * node's run never ends (it keeps running until something takes the machine away).
 */
export interface AttemptScript {
  setup: number[];
  run: (number | 'hang')[];
}

type AgentPhase = 'BOOT' | 'SETUP' | 'SETUP_WAIT' | 'RUN' | 'DONE' | 'GONE';

/** A node agent: the calls agent.sh makes, in its order, against the use cases. */
export class SimAgent {
  phase: AgentPhase = 'BOOT';
  /** The last request it made, to replay as a duplicate or a late arrival. */
  lastCall?: () => Promise<unknown>;
  constructor(readonly world: World, readonly inst: FakeInstance, readonly claim: AgentClaim) {}

  get alive(): boolean {
    return this.inst.state === 'running';
  }

  /** Can make its next call (its machine runs and it has not exited). */
  get active(): boolean {
    return this.alive && this.phase !== 'DONE' && this.phase !== 'GONE';
  }

  private code(kind: 'setup' | 'run'): number | 'hang' {
    const script = this.world.scripts[this.claim.attempt - 1];
    return script?.[kind][this.claim.node] ?? 0;
  }

  /** One call of the agent's main line. Returns true when its phase changed. */
  async step(): Promise<boolean> {
    const before = this.phase;
    const d = this.world.deps;
    const c = this.claim;
    const call = async <T>(fn: () => Promise<T>): Promise<T | undefined> => {
      this.lastCall = fn;
      try {
        return await fn();
      } catch (err) {
        if (err instanceof agent.AttemptGoneError) {
          this.phase = 'GONE';
          return undefined;
        }
        throw err;
      }
    };
    switch (this.phase) {
      case 'BOOT': {
        const r = await call(() => agent.register(d, c, { ip: `10.0.0.${c.node + 1}` }));
        if (r?.state === 'READY') this.phase = 'SETUP';
        break;
      }
      case 'SETUP':
      case 'SETUP_WAIT': {
        const exitCode = this.code('setup') as number;
        const r = await call(() => agent.reportExit(d, c, { phase: 'SETUP', exitCode }));
        if (r) this.world.truth.exit(c, 'SETUP', exitCode);
        if (r?.action === 'RUN') this.phase = 'RUN';
        else if (r?.action === 'WAIT') this.phase = 'SETUP_WAIT';
        else if (r?.action === 'STOP') this.phase = 'DONE';
        break;
      }
      case 'RUN': {
        const exitCode = this.code('run');
        if (exitCode === 'hang') break;
        const r = await call(() => agent.reportExit(d, c, { phase: 'RUN', exitCode }));
        if (r) this.world.truth.exit(c, 'RUN', exitCode);
        if (r) this.phase = 'DONE';
        break;
      }
      default:
        break;
    }
    return this.phase !== before;
  }

  async heartbeat(): Promise<void> {
    if (!this.active || this.phase === 'BOOT') return;
    const d = this.world.deps;
    this.lastCall = () => agent.heartbeat(d, this.claim, { phase: this.phase });
    try {
      const r = await agent.heartbeat(d, this.claim, { phase: this.phase });
      if (r.action === 'CANCEL') this.phase = 'DONE'; // kills the user's work and exits
    } catch (err) {
      if (err instanceof agent.AttemptGoneError) this.phase = 'GONE';
      else throw err;
    }
  }

  /** The node saw its cloud's interruption notice (agent.sh polls IMDS). */
  async interrupted(): Promise<void> {
    const d = this.world.deps;
    this.lastCall = () => agent.reportInterrupted(d, this.claim, { reason: 'aws interruption notice: terminate' });
    try {
      await agent.reportInterrupted(d, this.claim, { reason: 'aws interruption notice: terminate' });
      this.world.truth.lost(this.claim.attempt, 'agent interruption notice');
    } catch (err) {
      if (err instanceof agent.AttemptGoneError) this.phase = 'GONE';
      else throw err;
    }
  }
}

/** What really happened to each attempt: the ground truth recorded outcomes must agree with. */
export class Truth {
  readonly losses = new Map<number, string[]>();
  /** attempt → node → reported exit code per phase (only calls the API accepted). */
  readonly exits = new Map<number, Map<number, { SETUP?: number; RUN?: number }>>();
  everyRegionBlocked = false;
  cancels = 0;

  lost(attempt: number, why: string): void {
    this.losses.set(attempt, [...(this.losses.get(attempt) ?? []), why]);
  }

  exit(c: AgentClaim, phase: 'SETUP' | 'RUN', code: number): void {
    const byNode = this.exits.get(c.attempt) ?? new Map();
    const e = byNode.get(c.node) ?? {};
    e[phase] ??= code;
    byNode.set(c.node, e);
    this.exits.set(c.attempt, byNode);
  }
}

type DriverState =
  | { at: 'STATE'; name: string; input: Record<string, unknown> }
  | { at: 'PARKED'; name: string; kind: 'SLOT' | 'NODES' | 'RUN'; token: string; attempt: number; input: Record<string, unknown> }
  | { at: 'DONE' };

type AslState = Record<string, any>;
const ASL = JSON.parse(readFileSync(new URL('../../../statemachines/job.asl.json', import.meta.url), 'utf8')) as { StartAt: string; States: Record<string, AslState> };

/**
 * Plays Step Functions for one job: interprets statemachines/job.asl.json (its Next, Choice, Wait,
 * Catch of States.HeartbeatTimeout and Succeed), one state at a time, calling the real workflow handler.
 */
export class Driver {
  state: DriverState = { at: 'DONE' };
  execution = '';
  /** Steps retried after a ConflictError/TransientError (the ASL's Retry). */
  retries = 0;
  /** Names of the states entered, in order (each is a billed state transition on AWS). */
  readonly visited: string[] = [];
  constructor(readonly world: World) {}

  start(execution: string): void {
    this.execution = execution;
    this.state = { at: 'STATE', name: ASL.StartAt, input: { jobId: this.world.jobId, cycle: 0 } };
  }

  /** Whether the next step can run now (a parked wait needs its token completed or timed out). */
  get runnable(): boolean {
    const s = this.state;
    if (s.at === 'DONE') return false;
    if (s.at !== 'PARKED') return true;
    return this.world.workflows.state(s.token) !== 'WAITING';
  }

  get parkedOn(): { kind: 'SLOT' | 'NODES' | 'RUN'; token: string; attempt: number } | undefined {
    const s = this.state;
    return s.at === 'PARKED' && this.world.workflows.state(s.token) === 'WAITING' ? { kind: s.kind, token: s.token, attempt: s.attempt } : undefined;
  }

  private call(p: Record<string, unknown>): Promise<unknown> {
    return this.world.workflowHandler({ ...p, execution: this.execution } as WorkflowPayload);
  }

  async step(): Promise<void> {
    const before = this.state;
    try {
      await this.stepOnce();
    } catch (err) {
      const name = (err as Error).name;
      if (name === 'ConflictError' || name === 'TransientError') {
        this.retries++;
        this.state = before; // the ASL's Retry: the same state runs again
        return;
      }
      throw new Error(`workflow step at ${JSON.stringify(before)} failed (would be FAILED_CONTROLLER): ${(err as Error).stack ?? err}`);
    }
  }

  private goTo(name: string, input: Record<string, unknown>): void {
    this.state = ASL.States[name].Type === 'Succeed' ? { at: 'DONE' } : { at: 'STATE', name, input };
    this.visited.push(name);
  }

  private async stepOnce(): Promise<void> {
    const s = this.state;
    if (s.at === 'DONE') return;
    if (s.at === 'PARKED') {
      const def = ASL.States[s.name];
      const t = this.world.workflows.tokens.get(s.token)!;
      if (t.state === 'SUCCEEDED') this.goTo(def.Next, t.output as Record<string, unknown>);
      else if (t.state === 'TIMED_OUT') {
        const c = (def.Catch as AslState[]).find((x) => x.ErrorEquals.includes('States.HeartbeatTimeout'))!;
        if (c.ResultPath !== '$.lost') throw new Error(`the driver supports a heartbeat Catch into $.lost only, not ${c.ResultPath}`);
        this.goTo(c.Next, { ...s.input, lost: { Error: 'States.HeartbeatTimeout', Cause: 'no heartbeat' } });
      } else if (t.state === 'FAILED') throw new Error(`task token ${s.token} failed`);
      return;
    }
    const def = ASL.States[s.name];
    switch (def.Type) {
      case 'Task': {
        const payload = def.Parameters.Payload as Record<string, unknown>;
        if (def.Resource.endsWith('.waitForTaskToken')) {
          const kind = payload.kind as 'SLOT' | 'NODES' | 'RUN';
          const token = this.world.workflows.newToken();
          this.state = { at: 'PARKED', name: s.name, kind, token, attempt: 0, input: s.input };
          await this.call({ action: payload.action, kind, taskToken: token, state: s.input });
          const job = await this.world.deps.store.getJob(this.world.jobId);
          if (job?.wait?.token === token) this.state = { ...this.state, attempt: job.wait.attempt };
          return;
        }
        const action = payload.action as string;
        if (action === 'continueAsNew') {
          const before = this.world.workflows.executions.length;
          await this.call({ action, jobId: s.input.jobId, cycle: s.input.cycle });
          const started = this.world.workflows.executions.slice(before);
          if (started.length !== 1) throw new Error(`continueAsNew started ${started.length} executions`);
          this.start(started[0].name);
          return;
        }
        throw new Error(`the driver does not run Task ${s.name} (${action}) on the success path`);
      }
      case 'Choice': {
        const hit = (def.Choices as AslState[]).find((c) => s.input[String(c.Variable).slice(2)] === c.StringEquals);
        if (!hit) throw new Error(`Route: no choice for ${JSON.stringify(s.input)} (would be UnknownStep)`);
        this.goTo(hit.Next, s.input);
        return;
      }
      case 'Wait':
        // The Wait state: time passes.
        this.world.clock.advance(Number(s.input[String(def.SecondsPath).slice(2)]) * 1000);
        this.goTo(def.Next, s.input);
        return;
      default:
        throw new Error(`the driver does not interpret state ${s.name} of type ${def.Type}`);
    }
  }
}

export interface WorldOptions {
  db: TestDynalite;
  yaml: string;
  scripts?: AttemptScript[];
  settings?: Partial<Settings>;
}

export class World {
  readonly clock = new ManualClock();
  readonly cloud = new FakeCloud(() => this.clock.now());
  readonly workflows = new TokenWorkflows();
  readonly objects = new MemoryObjects();
  readonly bus = new RecordingBus();
  readonly truth = new Truth();
  readonly agents = new Map<string, SimAgent>();
  /** EC2 events the cloud has sent but not yet delivered (delivery is late, unordered, maybe never). */
  readonly inbox: BusEvent[] = [];
  /** Events delivered at least once (candidates for a duplicate delivery). */
  readonly delivered: BusEvent[] = [];
  readonly log: string[] = [];
  scripts: AttemptScript[];
  deps!: Deps;
  jobId = 0;
  wakePending = false;
  readonly driver = new Driver(this);
  workflowHandler!: (p: WorkflowPayload) => Promise<unknown>;
  eventsHandler!: (e: BusEvent) => Promise<unknown>;
  private ids = 0;
  private restarts = 0;

  private constructor(scripts: AttemptScript[]) {
    this.scripts = scripts;
  }

  static async create(opts: WorldOptions): Promise<World> {
    const w = new World(opts.scripts ?? []);
    const tableName = uniqueTableName('skyless-prop');
    await ensureTable(opts.db.client, tableName);
    const store = new DynamoJobStore({ client: opts.db.client, tableName, clock: w.clock });
    w.deps = {
      store,
      workflows: w.workflows,
      objects: w.objects,
      bus: w.bus,
      providers: { local: w.cloud },
      clock: w.clock,
      ids: { token: () => `id-${++w.ids}`, uuid: () => `00000000-0000-4000-8000-${String(++w.ids).padStart(12, '0')}` },
      rng: seededRng(42), // back-off jitter is reproducible
      settings: worldSettings(opts.settings),
      agentTokens: hmacAgentTokens('property-test-key'),
      wakeScheduler: async () => {
        w.wakePending = true;
      },
      log: (msg, fields) => w.log.push(`${msg} ${JSON.stringify(fields ?? {})}`),
    };
    w.workflowHandler = createWorkflowHandler(w.deps) as (p: WorkflowPayload) => Promise<unknown>;
    w.eventsHandler = createEventsHandler(w.deps) as (e: BusEvent) => Promise<unknown>;
    w.cloud.onCreate = (inst) => {
      w.agents.set(inst.instanceId, new SimAgent(w, inst, { job: inst.jobId, task: inst.task, attempt: inst.attempt, node: inst.node }));
    };
    const { jobIds } = await submitJobs(w.deps, { yaml: opts.yaml, user: 'tester' });
    w.jobId = jobIds[0];
    const exec = w.workflows.executions[0];
    if (!exec) throw new Error('submit started no execution');
    w.driver.start(exec.name);
    return w;
  }

  async job(): Promise<JobRecord> {
    const j = await this.deps.store.getJob(this.jobId);
    if (!j) throw new Error(`job ${this.jobId} vanished`);
    return j;
  }

  async attempts(): Promise<AttemptRecord[]> {
    return (await this.deps.store.listAttempts(this.jobId)).sort((a, b) => a.attempt - b.attempt);
  }

  async tick(): Promise<void> {
    this.wakePending = false;
    await schedulerTick(this.deps);
  }

  async cancel(): Promise<void> {
    this.truth.cancels++;
    await cancelJobs(this.deps, [this.jobId], 'tester');
  }

  /** AwaitNodes/AwaitRun's HeartbeatSeconds ran out (silent nodes, or a partition). */
  heartbeatTimeout(): boolean {
    const p = this.driver.parkedOn;
    if (!p || p.kind === 'SLOT') return false;
    this.workflows.timeOut(p.token);
    this.truth.lost(p.attempt, `heartbeat timeout while parked on ${p.kind}`);
    return true;
  }

  /** A crash and restart of the control plane: tokens forgotten, a new execution resumes from the store. */
  restart(): void {
    this.workflows.dropAll();
    this.driver.start(`job-${this.jobId}-boot-${++this.restarts}`);
  }

  /** Takes an instance away: `preempted` (spot reclaim: warning + terminated), `stopped` by someone, or `silent`. */
  kill(inst: FakeInstance, how: 'preempted' | 'stopped' | 'silent'): void {
    if (inst.state !== 'running') return;
    this.cloud.kill(inst.instanceId, how === 'stopped' ? 'stopped' : 'preempted');
    this.truth.lost(inst.attempt, `${how} ${inst.instanceId}`);
    if (how === 'preempted') this.inbox.push(ec2Event(inst, 'EC2 Spot Instance Interruption Warning', { 'instance-action': 'terminate' }), ec2Event(inst, 'EC2 Instance State-change Notification', { state: 'terminated' }));
    if (how === 'stopped') this.inbox.push(ec2Event(inst, 'EC2 Instance State-change Notification', { state: 'stopping' }), ec2Event(inst, 'EC2 Instance State-change Notification', { state: 'stopped' }));
  }

  async deliver(event: BusEvent): Promise<unknown> {
    this.delivered.push(event);
    return this.eventsHandler(event);
  }

  activeAgents(): SimAgent[] {
    return [...this.agents.values()].filter((a) => a.active);
  }

  blockRegion(region: string): void {
    this.cloud.blockedRegions.add(region);
    if (REGIONS.every((r) => this.cloud.blockedRegions.has(r))) this.truth.everyRegionBlocked = true;
  }
}

let eventCounter = 0;
export function ec2Event(inst: FakeInstance, detailType: string, detail: Record<string, unknown>): BusEvent {
  eventCounter++;
  return {
    version: '0',
    id: `00000000-0000-4000-9000-${String(eventCounter).padStart(12, '0')}`,
    'detail-type': detailType,
    source: 'aws.ec2',
    account: '000000000000',
    time: '2025-01-01T00:00:00Z',
    region: inst.region,
    resources: [`arn:aws:ec2:${inst.region}:000000000000:instance/${inst.instanceId}`],
    detail: { 'instance-id': inst.instanceId, ...detail },
  };
}

/**
 * Runs the world calmly to its end: capacity back, every pending event delivered, agents follow
 * their scripts, the scheduler ticks, and a wait whose nodes can no longer report times out (as the
 * engine's HeartbeatSeconds would). Throws if the job does not finish within `maxSteps`.
 */
export async function drain(w: World, maxSteps = 3000): Promise<void> {
  w.cloud.blockedRegions.clear();
  await runCalm(w, () => w.driver.state.at === 'DONE', { maxSteps });
}

/**
 * Calm steps (see drain) until `done` holds. With `timeouts: false` a wait is never timed out: the
 * world stops as stuck instead (scenario tests that hold a job RUNNING with a hanging node).
 */
export async function runCalm(w: World, done: () => boolean | Promise<boolean>, opts: { maxSteps?: number; timeouts?: boolean } = {}): Promise<void> {
  const maxSteps = opts.maxSteps ?? 3000;
  let idleTicks = 0;
  for (let i = 0; i < maxSteps; i++) {
    if (await done()) return;
    if (w.driver.state.at === 'DONE') throw new Error(`the workflow ended before the awaited condition held; job ${JSON.stringify((await w.job()).tasks[0].status)}`);
    if (w.inbox.length) {
      await w.deliver(w.inbox.shift()!);
      continue;
    }
    if (w.driver.runnable) {
      idleTicks = 0;
      await w.driver.step();
      continue;
    }
    let progressed = false;
    for (const a of w.activeAgents()) {
      if (await a.step()) {
        progressed = true;
        break;
      }
    }
    if (progressed) continue;
    if (w.wakePending || w.driver.parkedOn?.kind === 'SLOT') {
      await w.tick();
      if (w.driver.runnable) continue;
    }
    if (opts.timeouts !== false && w.heartbeatTimeout()) continue;
    // Parked for a launch slot: only the scheduler can free it, and one job alone never waits long.
    if (w.driver.parkedOn?.kind === 'SLOT' && ++idleTicks < 20) continue;
    throw new Error(`world is stuck: driver ${JSON.stringify(w.driver.state)}, agents ${JSON.stringify([...w.agents.values()].map((a) => [a.inst.instanceId, a.inst.state, a.phase]))}`);
  }
  throw new Error(`job did not finish within ${maxSteps} calm steps; driver ${JSON.stringify(w.driver.state)}; job ${JSON.stringify((await w.job()).tasks[0])}`);
}
