// Cloud `local`: every "instance" is a detached process group running the node agent (agent/agent.sh)
// in a fresh directory that plays the machine's disk (HOME points there). Agents are detached and
// write to files, so they outlive a restart of the control plane process; all state lives in
// `<stateDir>/instances/<instanceId>/instance.json`, so a new provider object sees the old instances.
//
// "Machine" = the agent's process group, the user command's process group (the agent runs it in its
// own session) and, on Linux, every process whose environment carries SKYLESS_MACHINE=<instance dir>
// (inherited by everything the agent starts, even processes that left both groups; the directory, not
// the instance ID, because two state dirs may both hold a `local-1-0-1-0`). Terminating an
// instance signals all of them, as switching a VM off would.

import { spawn } from 'node:child_process';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, openSync, closeSync, readFileSync, readdirSync, writeSync } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type {
  NodeIdentityProof,
  VerifiedNodeIdentity,
  Clock,
  ComputeProvider,
  DescribedInstance,
  InstanceTags,
  LaunchedInstance,
  LaunchRequest,
} from '../../core/ports.ts';
import { attemptTags } from '../../core/ports.ts';
import { AuthError, CapacityError, NotFoundError, PrecheckError, ValidationError } from '../../core/errors.ts';

/** Environment variable marking every process of a local "machine" (see file comment). */
export const MACHINE_ENV = 'SKYLESS_MACHINE';

/** Fault injection, consulted before each node is spawned (capacity exhaustion per region/zone). */
export interface FaultSource {
  /** An error to throw instead of launching there (e.g. a CapacityError), or undefined to launch. */
  launchError?(region: string, zone: string, instanceType: string): Error | undefined;
}

export interface ProcessProviderOptions {
  stateDir: string;
  /** Path of agent.sh. */
  agentScript: string;
  /** Overrides the bootstrap's API URL (the local control plane knows its own address). */
  apiUrl?: string;
  /** Passed to agents as SKYLESS_HEARTBEAT_SECONDS (used only if the API's reply names none). */
  heartbeatSeconds?: number;
  /** Extra environment for every agent (e.g. SKYLESS_API_PATIENCE_SECONDS). */
  env?: Record<string, string>;
  faults?: FaultSource;
  clock?: Clock;
  /** How long terminate waits after TERM before KILL. Default 2000 ms. */
  killGraceMs?: number;
  /**
   * Fault injection: true for an instance whose machine hangs at boot. The instance is created and
   * runs (a placeholder process carrying the machine marker, so terminate finds it), but its agent
   * never starts, so the node never registers: the registration timeout must count it as lost.
   */
  bootHang?: (instanceId: string) => boolean;
}

/** instance.json: the local "cloud"'s record of one instance. */
export interface LocalInstanceRecord {
  instanceId: string;
  node: number;
  region: string;
  zone: string;
  instanceType: string;
  spot: boolean;
  ip: string;
  tags: InstanceTags;
  /** 'pending' between claiming the instance and spawning its agent. */
  state: 'pending' | 'running' | 'shutting-down' | 'terminated';
  stateReason?: string;
  /** The agent's PID, which is also its process group (spawned detached). */
  pid?: number;
  /** /proc start time of `pid` (clock ticks since boot), to tell it from a later process reusing the PID. */
  pidStartTime?: number;
  launchedAt: number;
  terminatedAt?: number;
  /**
   * SHA-256 (hex) of the identity secret given to this instance's agent alone (the file `identity`,
   * mode 0600, in the instance's directory): the local stand-in for a cloud's signed instance identity.
   */
  identityHash?: string;
}

/** The identity secret's file in an instance's directory (SKYLESS_IDENTITY_FILE of its agent). */
export const IDENTITY_FILE = 'identity';

function sha256hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** State reasons, shaped like EC2's. */
export const STATE_REASON = {
  userInitiated: 'Client.UserInitiatedShutdown',
  processExited: 'Local.ProcessExited',
  launchIncomplete: 'Local.LaunchIncomplete',
} as const;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class ProcessProvider implements ComputeProvider {
  readonly cloud = 'local';
  private readonly instancesDir: string;
  private readonly clock: Clock;

  constructor(private readonly options: ProcessProviderOptions) {
    if (!options.stateDir) throw new ValidationError('ProcessProvider: stateDir is required');
    if (!existsSync(options.agentScript)) {
      throw new ValidationError(`ProcessProvider: agent script ${options.agentScript} does not exist`);
    }
    this.instancesDir = path.resolve(options.stateDir, 'instances');
    this.clock = options.clock ?? { now: () => Date.now() };
  }

  static instanceId(jobId: number, taskIndex: number, attempt: number, node: number): string {
    return `local-${jobId}-${taskIndex}-${attempt}-${node}`;
  }

  /** The instance's "disk" (its HOME); the agent's own output is in agent.out / agent.err there. */
  instanceDir(instanceId: string): string {
    return path.join(this.instancesDir, instanceId);
  }

  async launch(req: LaunchRequest): Promise<LaunchedInstance[]> {
    const { candidate } = req;
    if (candidate.cloud !== 'local') {
      throw new PrecheckError(`ProcessProvider launches cloud 'local' only, got candidate cloud '${candidate.cloud}'`);
    }
    if (!Number.isInteger(req.numNodes) || req.numNodes < 1) {
      throw new ValidationError(`launch: numNodes must be a positive integer, got ${req.numNodes}`);
    }
    if (req.bootstrap.tokens.length !== req.numNodes) {
      throw new ValidationError(`launch: bootstrap.tokens has ${req.bootstrap.tokens.length} tokens for ${req.numNodes} nodes`);
    }
    await mkdir(this.instancesDir, { recursive: true });

    const existing = new Map<number, LocalInstanceRecord>();
    for (let node = 0; node < req.numNodes; node++) {
      const record = await this.read(ProcessProvider.instanceId(req.jobId, req.taskIndex, req.attempt, node));
      if (record) existing.set(node, record);
    }
    // Every node of an attempt lands in one zone: the zone of nodes already launched, else the first
    // zone the fault source lets through.
    const zone = existing.size > 0 ? [...existing.values()][0].zone : this.pickZone(candidate.region, candidate.zones, candidate.instanceType);

    const launched: LaunchedInstance[] = [];
    for (let node = 0; node < req.numNodes; node++) {
      const record = existing.get(node) ?? (await this.launchNode(req, node, zone));
      launched.push({ instanceId: record.instanceId, node, zone: record.zone, ip: record.ip });
    }
    return launched;
  }

  async terminate(jobId: number, taskIndex: number, attempt: number, region?: string): Promise<void> {
    const records = (await this.readAll()).filter(
      (r) =>
        r.tags['skyless:job'] === String(jobId) &&
        r.tags['skyless:task'] === String(taskIndex) &&
        r.tags['skyless:attempt'] === String(attempt) &&
        (region === undefined || r.region === region),
    );
    await Promise.all(records.map((record) => this.terminateInstance(record)));
  }

  async describe(filter?: { jobId?: number; regions?: string[] }): Promise<DescribedInstance[]> {
    const records = await this.readAll();
    return records
      .filter((r) => filter?.jobId === undefined || r.tags['skyless:job'] === String(filter.jobId))
      .filter((r) => !filter?.regions || filter.regions.includes(r.region))
      .map((r) => this.describeRecord(r));
  }

  /**
   * Sends `signal` to every process of the instance's machine without marking it terminated by
   * skyless (`skyless local preempt`): describe then reports it terminated with `stateReason`
   * (default Local.ProcessExited). Returns how many processes were signalled.
   */
  /** The instance whose agent holds this secret (docs/security.md "Nodes and agents"). */
  async verifyIdentity(proof: NodeIdentityProof): Promise<VerifiedNodeIdentity> {
    if (proof.kind !== 'local') throw new AuthError(`a local node must present its identity secret, got a ${proof.kind} proof`);
    const instanceId = proof.secret.slice(0, Math.max(0, proof.secret.lastIndexOf('.')));
    const record = /^[A-Za-z0-9_-]+$/.test(instanceId) ? await this.read(instanceId) : undefined;
    const want = Buffer.from(record?.identityHash ?? '', 'utf8');
    const got = Buffer.from(sha256hex(proof.secret), 'utf8');
    if (!record?.identityHash || want.length !== got.length || !timingSafeEqual(want, got)) throw new AuthError('the identity secret is not one this machine gave a local instance');
    return { instanceId, region: record.region };
  }

  async kill(instanceId: string, signal: NodeJS.Signals = 'SIGKILL', stateReason?: string): Promise<number> {
    const record = await this.read(instanceId);
    if (!record) throw new NotFoundError(`local instance ${instanceId} does not exist`);
    if (stateReason !== undefined) await this.write({ ...record, stateReason });
    return this.signalMachine(record, signal);
  }

  private pickZone(region: string, zones: string[], instanceType: string): string {
    const candidates = zones.length > 0 ? zones : [`${region}a`];
    let lastError: Error | undefined;
    for (const zone of candidates) {
      const error = this.options.faults?.launchError?.(region, zone, instanceType);
      if (!error) return zone;
      // A zone-scoped capacity error lets the walk try the region's next zone, as EC2 does.
      if (error instanceof CapacityError && error.scope === 'zone') {
        lastError = error;
        continue;
      }
      throw error;
    }
    throw lastError as Error;
  }

  private async launchNode(req: LaunchRequest, node: number, zone: string): Promise<LocalInstanceRecord> {
    const instanceId = ProcessProvider.instanceId(req.jobId, req.taskIndex, req.attempt, node);
    const dir = this.instanceDir(instanceId);
    await mkdir(dir, { recursive: true });
    const record: LocalInstanceRecord = {
      instanceId,
      node,
      region: req.candidate.region,
      zone,
      instanceType: req.candidate.instanceType,
      spot: req.candidate.spot,
      ip: nodeIp(node),
      tags: attemptTags(req, node),
      state: 'pending',
      launchedAt: this.clock.now(),
    };
    // `<instanceId>.<random>`: names the instance it proves, and only its holder knows the rest.
    const identitySecret = `${instanceId}.${randomBytes(32).toString('base64url')}`;
    record.identityHash = sha256hex(identitySecret);
    // Claim the instance by creating instance.json exclusively: of two concurrent launches of the same
    // attempt, exactly one spawns the agent; the other returns the winner's record.
    try {
      const handle = await open(path.join(dir, 'instance.json'), 'wx');
      await handle.writeFile(JSON.stringify(record, null, 2));
      await handle.close();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const winner = await this.read(instanceId);
      if (!winner) throw new Error(`local instance ${instanceId}: instance.json exists but cannot be read`);
      return winner;
    }

    await writeFile(path.join(dir, IDENTITY_FILE), identitySecret, { mode: 0o600 });
    const work = path.join(dir, 'skyless');
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      LANG: process.env.LANG ?? 'C.UTF-8',
      ...this.options.env,
      ...(this.options.heartbeatSeconds !== undefined ? { SKYLESS_HEARTBEAT_SECONDS: String(this.options.heartbeatSeconds) } : {}),
      HOME: dir,
      SKYLESS_API_URL: (this.options.apiUrl ?? req.bootstrap.apiUrl).replace(/\/+$/, ''),
      SKYLESS_AGENT_TOKEN: req.bootstrap.tokens[node],
      SKYLESS_CLOUD: 'local',
      SKYLESS_IDENTITY_FILE: path.join(dir, IDENTITY_FILE),
      SKYLESS_NODE_IP: record.ip,
      SKYLESS_WORK_DIR: work,
      [MACHINE_ENV]: dir,
    };
    const out = openSync(path.join(dir, 'agent.out'), 'a');
    const err = openSync(path.join(dir, 'agent.err'), 'a');
    try {
      const hang = this.options.bootHang?.(instanceId) === true;
      if (hang) writeSync(err, `skyless: boot hang injected for ${instanceId}: the agent is not started\n`);
      const [command, args]: [string, string[]] = hang ? ['sleep', ['2147483']] : ['bash', [path.resolve(this.options.agentScript)]];
      const child = spawn(command, args, { cwd: dir, env, detached: true, stdio: ['ignore', out, err] });
      // A failed spawn (bash missing) surfaces as an 'error' event, with pid undefined.
      child.on('error', () => undefined);
      child.unref();
      if (child.pid === undefined) {
        await this.write({ ...record, state: 'terminated', stateReason: STATE_REASON.launchIncomplete, terminatedAt: this.clock.now() });
        throw new Error(`local instance ${instanceId}: could not start bash ${this.options.agentScript}`);
      }
      const running: LocalInstanceRecord = { ...record, state: 'running', pid: child.pid, pidStartTime: processStartTime(child.pid) };
      await this.write(running);
      return running;
    } finally {
      closeSync(out);
      closeSync(err);
    }
  }

  private describeRecord(r: LocalInstanceRecord): DescribedInstance {
    const base = { instanceId: r.instanceId, cloud: 'local', region: r.region, zone: r.zone, tags: r.tags };
    const alive = r.pid !== undefined && isProcessAlive(r.pid, r.pidStartTime);
    switch (r.state) {
      case 'terminated':
        return { ...base, state: 'terminated', stateReason: r.stateReason ?? STATE_REASON.userInitiated };
      case 'shutting-down':
        return alive
          ? { ...base, state: 'shutting-down', stateReason: STATE_REASON.userInitiated }
          : { ...base, state: 'terminated', stateReason: STATE_REASON.userInitiated };
      case 'pending':
        return { ...base, state: 'pending' };
      case 'running':
        return alive ? { ...base, state: 'running' } : { ...base, state: 'terminated', stateReason: r.stateReason ?? STATE_REASON.processExited };
    }
  }

  private async terminateInstance(record: LocalInstanceRecord): Promise<void> {
    if (record.state !== 'terminated') {
      await this.write({ ...record, state: 'shutting-down', stateReason: STATE_REASON.userInitiated });
    }
    const grace = this.options.killGraceMs ?? 2000;
    if (this.signalMachine(record, 'SIGTERM') > 0) {
      const deadline = Date.now() + grace;
      while (this.machineProcesses(record).length > 0 && Date.now() < deadline) await sleep(100);
      this.signalMachine(record, 'SIGKILL');
    }
    const latest = (await this.read(record.instanceId)) ?? record;
    if (latest.state !== 'terminated') {
      await this.write({ ...latest, state: 'terminated', stateReason: STATE_REASON.userInitiated, terminatedAt: this.clock.now() });
    }
  }

  /** Live (non-zombie) PIDs of the instance's machine. */
  private machineProcesses(record: LocalInstanceRecord): number[] {
    const pids = new Set<number>();
    if (procAvailable()) {
      for (const pid of findMachineProcesses(this.instanceDir(record.instanceId))) pids.add(pid);
      for (const group of this.groups(record)) for (const pid of groupMembers(group)) pids.add(pid);
    } else {
      for (const group of this.groups(record)) if (signalGroup(group, 0)) pids.add(group);
    }
    return [...pids];
  }

  /**
   * Process groups of the machine: the agent's (if its PID still belongs to our agent) and the user
   * command's (if that group still has members; on Linux, members that carry the machine's marker, so
   * a stale user.pgid whose number was reused is never signalled).
   */
  private groups(record: LocalInstanceRecord): number[] {
    const groups: number[] = [];
    if (record.pid !== undefined && isProcessAlive(record.pid, record.pidStartTime)) groups.push(record.pid);
    const userGroup = readUserGroup(path.join(this.instanceDir(record.instanceId), 'skyless'));
    if (userGroup !== undefined && userGroup !== record.pid) {
      if (procAvailable()) {
        const marked = new Set(findMachineProcesses(this.instanceDir(record.instanceId)));
        if (groupMembers(userGroup).some((pid) => marked.has(pid))) groups.push(userGroup);
      } else if (signalGroup(userGroup, 0)) {
        groups.push(userGroup);
      }
    }
    return groups;
  }

  private signalMachine(record: LocalInstanceRecord, signal: NodeJS.Signals): number {
    let signalled = 0;
    for (const group of this.groups(record)) if (signalGroup(group, signal)) signalled++;
    for (const pid of procAvailable() ? findMachineProcesses(this.instanceDir(record.instanceId)) : []) {
      try {
        process.kill(pid, signal);
        signalled++;
      } catch {
        // already gone
      }
    }
    return signalled;
  }

  private async read(instanceId: string): Promise<LocalInstanceRecord | undefined> {
    try {
      return JSON.parse(await readFile(path.join(this.instanceDir(instanceId), 'instance.json'), 'utf8')) as LocalInstanceRecord;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      throw new Error(`local instance ${instanceId}: cannot read instance.json: ${(error as Error).message}`);
    }
  }

  private async readAll(): Promise<LocalInstanceRecord[]> {
    let names: string[];
    try {
      names = await readdir(this.instancesDir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const records = await Promise.all(names.sort().map((name) => this.read(name)));
    return records.filter((r): r is LocalInstanceRecord => r !== undefined);
  }

  /** Atomic replace, so a concurrent reader never sees half a file. */
  private async write(record: LocalInstanceRecord): Promise<void> {
    const file = path.join(this.instanceDir(record.instanceId), 'instance.json');
    const temporary = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(temporary, JSON.stringify(record, null, 2));
    await rename(temporary, file);
  }
}

/** Loopback addresses, distinct per node: 127.0.0.1, 127.0.0.2, … */
function nodeIp(node: number): string {
  const n = node + 1;
  return `127.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

function procAvailable(): boolean {
  return existsSync('/proc/self/stat');
}

/** Fields of /proc/<pid>/stat after the command name: [0] state, [1] ppid, [2] pgrp, …, [19] starttime. */
function procStat(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Start time of a process in clock ticks since boot (Linux), or undefined. */
export function processStartTime(pid: number): number | undefined {
  const fields = procStat(pid);
  return fields ? Number(fields[19]) : undefined;
}

/**
 * True if `pid` runs and is not a zombie (where init does not reap orphans, a dead agent stays a zombie
 * forever and `kill(pid, 0)` still succeeds). With `startTime`, also false if the PID was reused.
 */
export function isProcessAlive(pid: number, startTime?: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (!procAvailable()) return true;
  const fields = procStat(pid);
  if (!fields) return false;
  if (fields[0] === 'Z' || fields[0] === 'X') return false;
  return startTime === undefined || Number(fields[19]) === startTime;
}

/** Live (non-zombie) PIDs whose process group is `pgid` (Linux). */
function groupMembers(pgid: number): number[] {
  return listProcs().filter((pid) => {
    const fields = procStat(pid);
    return fields !== undefined && Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X';
  });
}

/** Live (non-zombie) PIDs whose environment has SKYLESS_MACHINE=<machine> (Linux; [] elsewhere). */
export function findMachineProcesses(machine: string): number[] {
  const marker = Buffer.from(`${MACHINE_ENV}=${machine}\0`);
  return listProcs().filter((pid) => {
    if (pid === process.pid) return false;
    let environ: Buffer;
    try {
      environ = readFileSync(`/proc/${pid}/environ`);
    } catch {
      return false;
    }
    const at = environ.indexOf(marker);
    if (at < 0 || (at > 0 && environ[at - 1] !== 0)) return false;
    const fields = procStat(pid);
    return fields !== undefined && fields[0] !== 'Z' && fields[0] !== 'X';
  });
}

function listProcs(): number[] {
  try {
    return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number);
  } catch {
    return [];
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

function readUserGroup(workDir: string): number | undefined {
  try {
    const pgid = Number(readFileSync(path.join(workDir, '.agent', 'user.pgid'), 'utf8').trim());
    return Number.isInteger(pgid) && pgid > 1 ? pgid : undefined;
  } catch {
    return undefined;
  }
}
