// Local-only routes (/local/...) for fault injection on cloud `local`. A preemption is what AWS does
// to a spot instance: the machine goes away and EventBridge delivers an "EC2 Spot Instance
// Interruption Warning" and then an "EC2 Instance State-change Notification", in exactly the shapes
// of /work/shared/fixtures/events, to the same events handler (lambdas/events) the EventBridge rules
// target on AWS. Variants: `silent` (the machine dies, no event at all: only the missing heartbeats
// tell), `stop` (someone else stopped the instance: state changes stopping → stopped, no warning).
//
//   POST /local/preempt {jobId, node?, mode?: 'warning' | 'silent' | 'stop'}
//   GET  /local/faults            the launch faults in effect (local/faults.ts)

import { randomUUID } from 'node:crypto';
import type { ControlPlane } from './control-plane.ts';
import type { BusEvent, DescribedInstance } from '../core/ports.ts';
import { NotFoundError, ValidationError } from '../core/errors.ts';
import { isTerminal } from '../core/job/status.ts';
import { readFaults } from './faults.ts';

export const PREEMPT_MODES = ['warning', 'silent', 'stop'] as const;
export type PreemptMode = (typeof PREEMPT_MODES)[number];

export interface PreemptRequest {
  jobId: number;
  /** Only this node (rank); default every node of the job's live attempt. */
  node?: number;
  mode?: PreemptMode;
}

export interface PreemptedInstance {
  instanceId: string;
  node: number;
  region: string;
  attempt: number;
  signalled: number;
}

export interface PreemptResult {
  jobId: number;
  mode: PreemptMode;
  instances: PreemptedInstance[];
  /** The events delivered, each with what the events handler answered. */
  events: { 'detail-type': string; instanceId: string; state?: string; result: unknown }[];
  /** Epoch ms at which the first event was handed to the events handler (benchmarks measure from here). */
  firstEventAt?: number;
}

/** Placeholder account of the local "cloud" (AWS accounts are 12 digits). */
const LOCAL_ACCOUNT = '000000000000';

function ec2Event(detailType: string, inst: DescribedInstance, detail: Record<string, unknown>): BusEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': detailType,
    source: 'aws.ec2',
    account: LOCAL_ACCOUNT,
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: inst.region,
    resources: [`arn:aws:ec2:${inst.region}:${LOCAL_ACCOUNT}:instance/${inst.instanceId}`],
    detail: { 'instance-id': inst.instanceId, ...detail },
  };
}

/** Spot interruption warning, in the fixture's shape. */
export function interruptionWarningEvent(inst: DescribedInstance, action: 'terminate' | 'stop' | 'hibernate' = 'terminate'): BusEvent {
  return ec2Event('EC2 Spot Instance Interruption Warning', inst, { 'instance-action': action });
}

/** Instance state-change notification, in the fixture's shape. */
export function stateChangeEvent(inst: DescribedInstance, state: DescribedInstance['state']): BusEvent {
  return ec2Event('EC2 Instance State-change Notification', inst, { state });
}

/** EC2's own reason codes for the two ways an instance goes away here. */
const REASON = { spot: 'Server.SpotInstanceTermination', stopped: 'Client.UserInitiatedShutdown' } as const;

/**
 * Preempts the job's live instances (every node of its newest attempt that still runs, or one
 * node): kills their processes as the cloud would, then delivers the events the cloud would send.
 */
export async function injectPreemption(plane: ControlPlane, req: PreemptRequest): Promise<PreemptResult> {
  const mode = req.mode ?? 'warning';
  if (!PREEMPT_MODES.includes(mode)) throw new ValidationError(`mode must be one of ${PREEMPT_MODES.join(', ')}, got '${String(mode)}'`);
  if (!Number.isInteger(req.jobId) || req.jobId < 1) throw new ValidationError(`jobId must be a positive integer, got ${String(req.jobId)}`);
  if (req.node !== undefined && (!Number.isInteger(req.node) || req.node < 0)) throw new ValidationError(`node must be a non-negative integer, got ${String(req.node)}`);
  const job = await plane.deps.store.getJob(req.jobId);
  if (!job) throw new NotFoundError(`managed job ${req.jobId} not found`);
  if (isTerminal(job.status)) throw new ValidationError(`managed job ${req.jobId} has ended (${job.status}); it has no instance to preempt`);

  let targets: DescribedInstance[];
  if (job.pool !== undefined) {
    // A pool job runs on a worker: preempting the job preempts the worker it is on.
    const worker = job.poolWorker;
    const live = (await plane.provider.describe({ jobId: 0 })).filter((i) => i.state === 'running' || i.state === 'pending');
    targets = worker === undefined ? [] : live.filter((i) => i.tags['skyless:pool'] === job.pool && i.tags['skyless:worker'] === String(worker));
  } else {
    const live = (await plane.provider.describe({ jobId: req.jobId })).filter((i) => i.state === 'running' || i.state === 'pending');
    // The newest attempt of the current task is the one that runs; an older one is being torn down.
    const task = String(job.currentTask);
    const ofTask = live.filter((i) => i.tags['skyless:task'] === task);
    const newest = Math.max(...ofTask.map((i) => Number(i.tags['skyless:attempt'])));
    targets = ofTask.filter((i) => Number(i.tags['skyless:attempt']) === newest);
  }
  if (req.node !== undefined) targets = targets.filter((i) => Number(i.tags['skyless:node']) === req.node);
  if (!targets.length) {
    const which = req.node !== undefined ? `node ${req.node} of managed job ${req.jobId}` : `managed job ${req.jobId}`;
    throw new ValidationError(`${which} has no running instance (status ${job.status}); nothing to preempt`);
  }

  const instances: PreemptedInstance[] = [];
  for (const inst of targets) {
    const signalled = await plane.provider.kill(inst.instanceId, 'SIGKILL', mode === 'stop' ? REASON.stopped : REASON.spot);
    instances.push({ instanceId: inst.instanceId, node: Number(inst.tags['skyless:node']), region: inst.region, attempt: Number(inst.tags['skyless:attempt']), signalled });
  }

  const result: PreemptResult = { jobId: req.jobId, mode, instances, events: [] };
  if (mode === 'silent') return result;
  const sequence: BusEvent[] = [];
  for (const inst of targets) {
    if (mode === 'warning') sequence.push(interruptionWarningEvent(inst), stateChangeEvent(inst, 'shutting-down'), stateChangeEvent(inst, 'terminated'));
    else sequence.push(stateChangeEvent(inst, 'stopping'), stateChangeEvent(inst, 'stopped'));
  }
  // Warnings first (EC2 sends them before it reclaims), then the state changes.
  sequence.sort((a, b) => rank(a) - rank(b));
  for (const event of sequence) {
    result.firstEventAt ??= Date.now();
    // Subscribers other than the events handler (observers) answer nothing.
    const answers = (await plane.bus.deliver(event)).filter((a) => a !== undefined);
    result.events.push({
      'detail-type': event['detail-type'],
      instanceId: String(event.detail['instance-id']),
      state: event.detail.state as string | undefined,
      result: answers.length === 1 ? answers[0] : answers,
    });
  }
  return result;
}

function rank(e: BusEvent): number {
  if (e['detail-type'] === 'EC2 Spot Instance Interruption Warning') return 0;
  const order = ['stopping', 'shutting-down', 'stopped', 'terminated'];
  return 1 + order.indexOf(String(e.detail.state));
}

function parseBody(body: Buffer): Record<string, unknown> {
  if (!body.length) return {};
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new ValidationError(`request body is not valid JSON: ${(err as Error).message}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ValidationError('request body must be a JSON object');
  return v as Record<string, unknown>;
}

export function installLocalAdmin(plane: ControlPlane): void {
  const home = plane.home;
  plane.setLocalAdmin(async (method, u, body) => {
    try {
      if (u.pathname === '/local/preempt' && method === 'POST') {
        const b = parseBody(body);
        const r = await injectPreemption(plane, { jobId: Number(b.jobId), node: b.node === undefined || b.node === null ? undefined : Number(b.node), mode: b.mode as PreemptMode | undefined });
        return { status: 200, body: r };
      }
      if (u.pathname === '/local/faults' && method === 'GET') return { status: 200, body: await readFaults(home) };
      return undefined;
    } catch (err) {
      if (err instanceof ValidationError) return { status: 400, body: { error: 'ValidationError', message: err.message } };
      if (err instanceof NotFoundError) return { status: 404, body: { error: 'NotFound', message: err.message } };
      throw err;
    }
  });
}
