// The EC2 event handler fed with the real EventBridge event shapes (spot interruption warning,
// rebalance recommendation, state-change), with duplicates, against the AWS wiring on moto: the job
// store on moto's DynamoDB, and instances launched by Ec2Provider on moto's EC2 with skyless tags, so
// the handler finds each instance's owner from its tags as it does on AWS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { createHandler, type IncomingEvent } from '../../lambdas/events/handler.ts';
import type { Deps } from '../../core/usecases/deps.ts';
import type { LaunchedInstance, Workflows } from '../../core/ports.ts';
import { makeAttemptRecord, makeCandidate, makeJobRecord, makeTaskState } from '../support/records.ts';
import { ec2Event } from '../support/events.ts';
import { startMotoDeployment, type MotoDeployment } from './moto-aws.ts';

let d: MotoDeployment;
let deps: Deps;
let handler: (e: IncomingEvent) => Promise<unknown>;
const sentTokens: { token: string; output: unknown }[] = [];
let nextJobId = 9000;

beforeAll(async () => {
  d = await startMotoDeployment();
  // The real SfnWorkflows, watched: completions of the job's parked token are recorded.
  const real = d.deps.workflows;
  const workflows: Workflows = {
    startExecution: (n, i) => real.startExecution(n, i),
    sendTaskSuccess: async (token, output) => {
      sentTokens.push({ token, output });
      await real.sendTaskSuccess(token, output);
    },
    sendTaskFailure: (t, e, c) => real.sendTaskFailure(t, e, c),
    sendTaskHeartbeat: (t) => real.sendTaskHeartbeat(t),
    stopExecution: (n, c) => real.stopExecution(n, c),
  };
  deps = { ...d.deps, workflows };
  handler = createHandler(deps) as (e: IncomingEvent) => Promise<unknown>;
});
afterAll(async () => {
  await d?.stop();
});

/** A RUNNING job whose attempt 1 has `numNodes` spot instances launched on moto by Ec2Provider. */
async function runningAttempt(numNodes = 2): Promise<{ jobId: number; nodes: LaunchedInstance[] }> {
  const jobId = nextJobId++;
  const candidate = makeCandidate({ instanceType: 't3.micro', zones: ['us-east-1a'], accelerator: undefined, vcpus: 2, memoryGb: 1, hourlyPrice: 0.0104 });
  const nodes = await deps.providers.aws!.launch({
    jobId,
    taskIndex: 0,
    attempt: 1,
    numNodes,
    candidate,
    diskSizeGb: 20,
    bootstrap: { apiUrl: deps.settings.apiUrl, tokens: Array.from({ length: numNodes }, (_, node) => deps.agentTokens.sign({ job: jobId, task: 0, attempt: 1, node })) },
  });
  const job = makeJobRecord({
    jobId,
    status: 'RUNNING',
    slot: 'RUNNING',
    tasks: [makeTaskState({ status: 'RUNNING', attempt: 1, launchedBefore: true, candidate })],
    wait: { kind: 'RUN', token: `run-token-${jobId}`, taskIndex: 0, attempt: 1, since: Date.now() },
  });
  await deps.store.putJob(job, null);
  await deps.store.putAttempt(
    makeAttemptRecord({ jobId, attempt: 1, candidate, zone: 'us-east-1a', state: 'RUNNING', nodes: nodes.map((n) => ({ rank: n.node, instanceId: n.instanceId, ip: n.ip, phase: 'RUN' as const })) }),
    null,
  );
  return { jobId, nodes };
}

describe('EC2 events → recovery, on moto', () => {
  it('a spot interruption warning marks the attempt lost once and completes the RUN wait; duplicates change nothing', async () => {
    const { jobId, nodes } = await runningAttempt(2);
    const warning = ec2Event('ec2-spot-interruption-warning', nodes[0]!.instanceId);
    expect(await handler(warning)).toEqual({ handled: true, jobId, attempt: 1 });
    const attempt = await deps.store.getAttempt(jobId, 0, 1);
    expect(attempt!.outcome).toMatchObject({ kind: 'LOST' });
    expect(attempt!.reason).toMatch(new RegExp(`spot interruption warning \\(terminate\\) for ${nodes[0]!.instanceId} \\(node 0\\) in us-east-1`));
    // The RUN wait is completed once, with the parker's stored resume state (none here); the loss
    // itself is the stored outcome above, which the woken workflow reads.
    expect(sentTokens.filter((s) => s.token === `run-token-${jobId}`)).toEqual([{ token: `run-token-${jobId}`, output: {} }]);
    // The same event again, and the warning for the other node of the gang: already decided.
    const decided = { handled: false, why: 'attempt already ended or replaced' };
    expect(await handler(warning)).toEqual(decided);
    expect(await handler(ec2Event('ec2-spot-interruption-warning', nodes[1]!.instanceId))).toEqual(decided);
    expect(sentTokens.filter((s) => s.token === `run-token-${jobId}`)).toHaveLength(1);
    const lostEvents = (await deps.store.listEvents(jobId)).filter((e) => /lost/.test(e.reason));
    expect(lostEvents).toHaveLength(1);
  });

  it('a rebalance recommendation is recorded on the attempt once, and does not end it', async () => {
    const { jobId, nodes } = await runningAttempt(1);
    const event = ec2Event('ec2-rebalance-recommendation', nodes[0]!.instanceId);
    expect(await handler(event)).toEqual({ handled: true, jobId, attempt: 1 });
    const first = await deps.store.getAttempt(jobId, 0, 1);
    expect(first!.rebalanceRecommendedAt).toBeGreaterThan(0);
    expect(first!.outcome).toBeUndefined();
    expect(await handler(event)).toEqual({ handled: false, why: 'already recorded' });
    expect((await deps.store.getAttempt(jobId, 0, 1))!.rebalanceRecommendedAt).toBe(first!.rebalanceRecommendedAt);
  });

  it('an instance terminated by someone else is a loss (state-change), reported once', async () => {
    const { jobId, nodes } = await runningAttempt(2);
    await d.clients.ec2.send(new TerminateInstancesCommand({ InstanceIds: [nodes[1]!.instanceId] }));
    const event = ec2Event('ec2-state-change-terminated', nodes[1]!.instanceId);
    expect(await handler(event)).toEqual({ handled: true, jobId, attempt: 1 });
    const attempt = await deps.store.getAttempt(jobId, 0, 1);
    expect(attempt!.outcome).toMatchObject({ kind: 'LOST' });
    expect(attempt!.reason).toMatch(new RegExp(`instance ${nodes[1]!.instanceId} \\(node 1\\) is terminated`));
    expect(await handler(event)).toEqual({ handled: false, why: 'attempt already ended, decided or replaced' });
  });

  it('a node skyless itself terminated while the attempt is undecided is not taken for a preemption', async () => {
    const { jobId, nodes } = await runningAttempt(1);
    // What a launch does with a partial gang or leftovers: Ec2Provider terminates (and tags) them.
    await deps.providers.aws!.terminate(jobId, 0, 1, 'us-east-1');
    const described = await d.clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: [nodes[0]!.instanceId] }));
    const tags = Object.fromEntries((described.Reservations![0]!.Instances![0]!.Tags ?? []).map((t) => [t.Key, t.Value]));
    expect(tags['skyless:terminated-by']).toBe('skyless');
    const result = (await handler(ec2Event('ec2-state-change-terminated', nodes[0]!.instanceId))) as { handled: boolean; why: string };
    expect(result.handled).toBe(false);
    expect(result.why).toMatch(/because skyless ended it/);
    expect((await deps.store.getAttempt(jobId, 0, 1))!.outcome).toBeUndefined();
  });

  it('a stop by someone else is a loss too; a state that needs nothing is ignored', async () => {
    const { jobId, nodes } = await runningAttempt(1);
    expect(await handler(ec2Event('ec2-state-change-running', nodes[0]!.instanceId))).toEqual({ handled: false, why: 'state running needs nothing' });
    expect(await handler(ec2Event('ec2-state-change-stopped', nodes[0]!.instanceId))).toEqual({ handled: true, jobId, attempt: 1 });
  });

  it('ignores instances skyless does not own, and events for an attempt that was replaced', async () => {
    // The fixture's own instance id: no such instance in this account.
    const unknown = ec2Event('ec2-spot-interruption-warning', 'i-0a1b2c3d4e5f60718');
    expect(await handler(unknown)).toEqual({ handled: false, why: 'not a skyless instance (or already gone)' });
    const { jobId, nodes } = await runningAttempt(1);
    const job = (await deps.store.getJob(jobId))!;
    await deps.store.putJob({ ...job, tasks: [{ ...job.tasks[0]!, attempt: 2 }] }, job.version);
    expect(await handler(ec2Event('ec2-spot-interruption-warning', nodes[0]!.instanceId))).toEqual({ handled: false, why: 'attempt already ended or replaced' });
    expect((await deps.store.getAttempt(jobId, 0, 1))!.outcome).toBeUndefined();
  });

  it('ignores events it does not route', async () => {
    expect(await handler({ source: 'aws.s3', 'detail-type': 'Object Created', detail: {} })).toMatchObject({ handled: false });
  });
});
