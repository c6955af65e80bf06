// Fixtures for the scheduler and janitor use-case tests: the real DynamoJobStore on dynalite, a
// Workflows double that holds task tokens like Step Functions does (a token completes once; an
// unknown or spent token is TokenGoneError), a ComputeProvider double whose instances are plain
// records, and a ManualClock.

import { TokenGoneError } from '../../core/errors.ts';
import type { ComputeProvider, DescribedInstance, LaunchedInstance, LaunchRequest, Workflows } from '../../core/ports.ts';
import type { Deps, Settings } from '../../core/usecases/deps.ts';
import type { JobRecord, SlotState } from '../../core/job/records.ts';
import { hmacAgentTokens } from '../../core/usecases/agent-token.ts';
import { DEFAULT_BACKOFF } from '../../core/recovery/backoff.ts';
import { DynamoJobStore } from '../../adapters/aws/dynamo-job-store.ts';
import { ensureTable } from '../../adapters/local/dynalite.ts';
import { MemoryObjectStore } from '../../adapters/sim/memory-object-store.ts';
import type { TestDynalite } from '../support/dynalite.ts';
import { uniqueTableName } from '../support/dynalite.ts';
import { ManualClock } from '../support/clock.ts';
import { makeJobRecord, T0 } from '../support/records.ts';
import { envelopeSealer, localDataKeys } from '../../adapters/crypto/envelope.ts';
import { randomBytes } from 'node:crypto';

/** Task tokens as Step Functions keeps them: each completes at most once. */
export class TokenDouble implements Workflows {
  readonly waiting = new Set<string>();
  readonly completed: { token: string; output: unknown }[] = [];
  readonly stopped: string[] = [];
  private n = 0;

  /** A fresh token that is waiting (what park() is given). */
  issue(): string {
    const t = `token-${++this.n}`;
    this.waiting.add(t);
    return t;
  }

  async startExecution(): Promise<void> {}
  async sendTaskSuccess(token: string, output: unknown): Promise<void> {
    if (!this.waiting.delete(token)) throw new TokenGoneError(`token ${token} is not waiting`);
    this.completed.push({ token, output });
  }
  async sendTaskFailure(token: string): Promise<void> {
    if (!this.waiting.delete(token)) throw new TokenGoneError(`token ${token} is not waiting`);
  }
  async sendTaskHeartbeat(token: string): Promise<void> {
    if (!this.waiting.has(token)) throw new TokenGoneError(`token ${token} is not waiting`);
  }
  async stopExecution(name: string): Promise<void> {
    this.stopped.push(name);
  }
}

/** Instances as records; terminate marks them shutting-down (as EC2 does at first). */
export class ProviderDouble implements ComputeProvider {
  instances: DescribedInstance[] = [];
  readonly terminated: { jobId: number; taskIndex: number; attempt: number; region?: string }[] = [];
  /** Runs inside describe(), before it answers (to stage races). */
  onDescribe?: () => Promise<void>;
  describeError?: Error;

  constructor(readonly cloud = 'aws') {}

  add(jobId: number, taskIndex: number, attempt: number, extra: Partial<DescribedInstance> & { deployment?: string } = {}): DescribedInstance {
    const { deployment, ...rest } = extra;
    const inst: DescribedInstance = {
      instanceId: `i-${jobId}-${taskIndex}-${attempt}-${this.instances.length}`,
      cloud: this.cloud,
      region: 'us-east-1',
      zone: 'us-east-1a',
      state: 'running',
      tags: {
        'skyless:job': String(jobId),
        'skyless:task': String(taskIndex),
        'skyless:attempt': String(attempt),
        'skyless:node': '0',
        ...(deployment ? { 'skyless:deployment': deployment } : {}),
      },
      ...rest,
    };
    this.instances.push(inst);
    return inst;
  }

  async launch(req: LaunchRequest): Promise<LaunchedInstance[]> {
    const inst = this.add(req.jobId, req.taskIndex, req.attempt, { region: req.candidate.region });
    return [{ instanceId: inst.instanceId, node: 0, zone: inst.zone ?? 'us-east-1a' }];
  }

  async terminate(jobId: number, taskIndex: number, attempt: number, region?: string): Promise<void> {
    this.terminated.push({ jobId, taskIndex, attempt, region });
    for (const i of this.instances) {
      if (i.tags['skyless:job'] === String(jobId) && i.tags['skyless:task'] === String(taskIndex) && i.tags['skyless:attempt'] === String(attempt) && (!region || i.region === region)) {
        i.state = 'shutting-down';
      }
    }
  }

  async describe(filter: { jobId?: number; regions?: string[] } = {}): Promise<DescribedInstance[]> {
    if (this.describeError) throw this.describeError;
    if (this.onDescribe) await this.onDescribe();
    return this.instances
      .filter((i) => filter.jobId === undefined || i.tags['skyless:job'] === String(filter.jobId))
      .filter((i) => !filter.regions || filter.regions.includes(i.region))
      .map((i) => ({ ...i, tags: { ...i.tags } }));
  }
}

export function testSettings(overrides: Partial<Settings> = {}): Settings {
  return {
    deployment: 'test',
    apiUrl: 'https://api.test',
    heartbeatSeconds: 10,
    heartbeatTimeoutSeconds: 60,
    registerTimeoutSeconds: 120,
    backoff: DEFAULT_BACKOFF,
    teardownPollSeconds: 5,
    maxLaunching: 2,
    maxRunning: 4,
    cyclesPerExecution: 500,
    candidatesPerLaunchStep: 10,
    logChunkBytes: 65536,
    allowedClouds: ['aws'],
    ...overrides,
  };
}

export interface SchedulerWorld {
  deps: Deps;
  clock: ManualClock;
  tokens: TokenDouble;
  provider: ProviderDouble;
  wakes: () => number;
  logs: { msg: string; fields?: Record<string, unknown> }[];
}

export async function schedulerWorld(db: TestDynalite, settings: Partial<Settings> = {}): Promise<SchedulerWorld> {
  const tableName = uniqueTableName('sched');
  await ensureTable(db.client, tableName);
  const clock = new ManualClock(T0);
  const store = new DynamoJobStore({ client: db.client, tableName, clock });
  const tokens = new TokenDouble();
  const provider = new ProviderDouble('aws');
  let wakes = 0;
  let ids = 0;
  const logs: SchedulerWorld['logs'] = [];
  const deps: Deps = {
    store,
    workflows: tokens,
    objects: new MemoryObjectStore(),
    bus: { publish: async () => {} },
    providers: { aws: provider },
    clock,
    ids: { token: () => `t${++ids}`, uuid: () => `u${++ids}` },
    rng: () => 0.5,
    settings: testSettings(settings),
    secrets: envelopeSealer(localDataKeys(randomBytes(32))),
    agentTokens: hmacAgentTokens('test-key'),
    wakeScheduler: async () => {
      wakes += 1;
    },
    log: (msg, fields) => logs.push({ msg, fields }),
  };
  return { deps, clock, tokens, provider, wakes: () => wakes, logs };
}

/**
 * Stores a job in a slot state. WAITING jobs get a waiting SLOT token (as park() leaves them);
 * `status` defaults to PENDING for WAITING, STARTING for LAUNCHING, RUNNING for RUNNING.
 */
export async function putJobIn(
  w: SchedulerWorld,
  jobId: number,
  slot: SlotState,
  extra: Partial<JobRecord> & { attempt?: number } = {},
): Promise<JobRecord> {
  const { attempt, ...rest } = extra;
  const status = rest.status ?? (slot === 'LAUNCHING' ? 'STARTING' : slot === 'RUNNING' ? 'RUNNING' : 'PENDING');
  const base = makeJobRecord({ jobId, status, slot, slotSince: rest.slotSince ?? T0 + jobId, ...rest });
  const job: JobRecord = {
    ...base,
    tasks: base.tasks.map((t) => ({ ...t, attempt: attempt ?? t.attempt })),
    wait: slot === 'WAITING' ? { kind: 'SLOT', token: w.tokens.issue(), taskIndex: 0, attempt: attempt ?? 0, since: T0 } : rest.wait,
  };
  return w.deps.store.putJob(job, null);
}

/** The jobs in each slot state, from the store (consistent reads). */
export async function slotsOf(w: SchedulerWorld, ids: number[]): Promise<Record<number, SlotState>> {
  const out: Record<number, SlotState> = {};
  for (const id of ids) out[id] = (await w.deps.store.getJob(id))!.slot;
  return out;
}
