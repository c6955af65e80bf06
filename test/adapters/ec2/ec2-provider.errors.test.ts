// Ec2Provider's error table and zone walk, with EC2 errors injected by aws-sdk-client-mock (moto
// cannot run out of capacity). The injected errors are real EC2ServiceException instances whose
// `name` is the AWS error code, exactly what the SDK throws for an EC2 error response.

import {
  CreateTagsCommand,
  DescribeInstancesCommand,
  EC2Client,
  EC2ServiceException,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type Instance,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Ec2Provider, ZonesExhaustedError, type Ec2ProviderOptions } from '../../../adapters/aws/ec2-provider.ts';
import { CapacityError, PrecheckError, TransientError } from '../../../core/errors.ts';
import type { Candidate } from '../../../core/optimizer/types.ts';
import type { LaunchRequest } from '../../../core/ports.ts';

function awsError(code: string): EC2ServiceException {
  return new EC2ServiceException({ name: code, $fault: 'client', $metadata: { httpStatusCode: 400 }, message: `${code} (injected)` });
}

function candidate(overrides: Partial<Candidate> = {}): Candidate {
  return {
    cloud: 'aws', region: 'us-east-1', zones: ['us-east-1a'], instanceType: 'p3.2xlarge', vcpus: 8, memoryGb: 61,
    accelerator: { name: 'V100', count: 1 }, spot: false, hourlyPrice: 3.06, requestIndex: 0, ...overrides,
  };
}

function request(overrides: Partial<LaunchRequest> = {}): LaunchRequest {
  const numNodes = overrides.numNodes ?? 1;
  return {
    jobId: 7, taskIndex: 0, attempt: 1, numNodes, candidate: candidate(), diskSizeGb: 100,
    bootstrap: { apiUrl: 'https://api.test', tokens: Array.from({ length: numNodes }, (_, i) => `tok-${i}`) },
    ...overrides,
  };
}

const zoneOf = (input: RunInstancesCommandInput) => input.Placement?.AvailabilityZone ?? `subnet:${input.SubnetId}`;
const nodeOf = (input: RunInstancesCommandInput) =>
  Number(input.TagSpecifications![0]!.Tags!.find((t) => t.Key === 'skyless:node')!.Value);

let client: EC2Client;
let ec2: AwsClientStub<EC2Client>;
let sleeps: number[];
let nextId: number;

/** What one RunInstances call does: an instance (launched) or an error (thrown). */
type RunBehavior = (input: RunInstancesCommandInput, callIndex: number) => Partial<Instance> | Error | undefined;

function onRunInstances(behavior: RunBehavior): void {
  let calls = 0;
  ec2.on(RunInstancesCommand).callsFake(async (input: RunInstancesCommandInput) => {
    const outcome = behavior(input, calls++);
    if (outcome instanceof Error) throw outcome;
    const instance: Instance = {
      InstanceId: `i-${String(nextId++).padStart(17, '0')}`,
      State: { Name: 'pending', Code: 0 },
      PrivateIpAddress: '10.0.0.1',
      Placement: { AvailabilityZone: input.Placement?.AvailabilityZone },
      InstanceType: input.InstanceType,
      ...(outcome ?? {}),
    };
    return { Instances: [instance] };
  });
}

function runCalls(): RunInstancesCommandInput[] {
  return ec2.commandCalls(RunInstancesCommand).map((c) => c.args[0].input);
}

function terminatedIds(): string[] {
  return ec2.commandCalls(TerminateInstancesCommand).flatMap((c) => c.args[0].input.InstanceIds ?? []);
}

function provider(overrides: Partial<Ec2ProviderOptions> = {}): Ec2Provider {
  return new Ec2Provider({
    clientFor: () => client,
    deployment: 'test',
    regions: ['us-east-1'],
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    ...overrides,
  });
}

beforeEach(() => {
  client = new EC2Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  ec2 = mockClient(client);
  ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
  ec2.on(CreateTagsCommand).resolves({});
  ec2.on(TerminateInstancesCommand).resolves({});
  sleeps = [];
  nextId = 1;
});

afterEach(() => {
  ec2.restore();
  client.destroy();
});

describe('error table (one zone, one node)', () => {
  const capacityCases: [code: string, scope: 'zone' | 'region' | 'cloud'][] = [
    ['InsufficientInstanceCapacity', 'zone'],
    ['InsufficientCapacity', 'zone'],
    ['Unsupported', 'zone'],
    ['SpotMaxPriceTooLow', 'zone'],
    ['MaxSpotInstanceCountExceeded', 'region'],
    ['VcpuLimitExceeded', 'region'],
    ['InstanceLimitExceeded', 'region'],
    ['UnauthorizedOperation', 'cloud'],
    ['OptInRequired', 'cloud'],
    ['AuthFailure', 'cloud'],
  ];
  it.each(capacityCases)('%s → CapacityError scope %s', async (code, scope) => {
    onRunInstances(() => awsError(code));
    const err = await provider().launch(request()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CapacityError);
    const capacity = err as CapacityError;
    expect(capacity.name).toBe('CapacityError');
    expect(capacity.scope).toBe(scope);
    expect(capacity.code).toBe(code);
    expect(capacity.where.cloud).toBe('aws');
    if (scope === 'zone') expect(capacity.where).toEqual({ cloud: 'aws', region: 'us-east-1', zone: 'us-east-1a' });
    if (scope === 'region') expect(capacity.where).toEqual({ cloud: 'aws', region: 'us-east-1' });
    if (scope === 'cloud') expect(capacity.message).toMatch(/access in region us-east-1/);
  });

  it.each(['InvalidParameterValue', 'InvalidParameterCombination', 'InvalidAMIID.NotFound', 'InvalidAMIID.Malformed', 'InvalidInstanceType'])(
    '%s → PrecheckError',
    async (code) => {
      onRunInstances(() => awsError(code));
      const err = await provider().launch(request()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PrecheckError);
      expect((err as PrecheckError).name).toBe('PrecheckError');
      expect((err as PrecheckError).code).toBe(code);
    },
  );

  it('rethrows an error it does not know untouched', async () => {
    const novel = awsError('SomethingAwsInventedTomorrow');
    onRunInstances(() => novel);
    await expect(provider().launch(request())).rejects.toBe(novel);
  });
});

describe('zone walk', () => {
  it('moves to the next zone after InsufficientInstanceCapacity and launches the whole gang there', async () => {
    onRunInstances((input) => (zoneOf(input) === 'us-east-1a' ? awsError('InsufficientInstanceCapacity') : undefined));
    const launched = await provider().launch(request({ numNodes: 2, candidate: candidate({ zones: ['us-east-1a', 'us-east-1b'] }) }));
    expect(launched.map((l) => [l.node, l.zone])).toEqual([[0, 'us-east-1b'], [1, 'us-east-1b']]);
    expect(runCalls().map((i) => [zoneOf(i), nodeOf(i)])).toEqual([['us-east-1a', 0], ['us-east-1b', 0], ['us-east-1b', 1]]);
    expect(terminatedIds()).toEqual([]);
  });

  it('never splits a gang: nodes started in a zone that runs out are terminated before the next zone', async () => {
    onRunInstances((input) => (zoneOf(input) === 'us-east-1a' && nodeOf(input) === 1 ? awsError('InsufficientInstanceCapacity') : undefined));
    const launched = await provider().launch(request({ numNodes: 2, candidate: candidate({ zones: ['us-east-1a', 'us-east-1b'] }) }));
    expect(launched.map((l) => l.zone)).toEqual(['us-east-1b', 'us-east-1b']);
    // i-…1 was node 0 in us-east-1a.
    expect(terminatedIds()).toEqual(['i-00000000000000001']);
    const marked = ec2.commandCalls(CreateTagsCommand).map((c) => c.args[0].input);
    expect(marked).toEqual([{ Resources: ['i-00000000000000001'], Tags: [{ Key: 'skyless:terminated-by', Value: 'skyless' }] }]);
  });

  it('when every zone is out of capacity, throws one region-scoped error that lists every zone', async () => {
    onRunInstances((input) => awsError(zoneOf(input) === 'us-east-1c' ? 'Unsupported' : 'InsufficientInstanceCapacity'));
    const zones = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
    const err = await provider().launch(request({ numNodes: 2, candidate: candidate({ zones }) })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZonesExhaustedError);
    expect(err).toBeInstanceOf(CapacityError);
    const exhausted = err as ZonesExhaustedError;
    expect(exhausted.name).toBe('CapacityError');
    expect(exhausted.scope).toBe('region');
    expect(exhausted.code).toBe('AllZonesExhausted');
    expect(exhausted.where).toEqual({ cloud: 'aws', region: 'us-east-1' });
    expect(exhausted.zoneFailures.map((f) => [f.zone, f.code])).toEqual([
      ['us-east-1a', 'InsufficientInstanceCapacity'],
      ['us-east-1b', 'InsufficientInstanceCapacity'],
      ['us-east-1c', 'Unsupported'],
    ]);
    expect(runCalls()).toHaveLength(3);
  });

  it('stops at a region-scoped quota error (no other zone tried) and drops the partial gang', async () => {
    onRunInstances((input) => (nodeOf(input) === 1 ? awsError('VcpuLimitExceeded') : undefined));
    const err = await provider()
      .launch(request({ numNodes: 2, candidate: candidate({ zones: ['us-east-1a', 'us-east-1b'] }) }))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'CapacityError', scope: 'region', code: 'VcpuLimitExceeded' });
    expect(runCalls().map(zoneOf)).toEqual(['us-east-1a', 'us-east-1a']);
    expect(terminatedIds()).toEqual(['i-00000000000000001']);
  });

  it('skips a zone that has no configured subnet and launches into the subnet of the next', async () => {
    onRunInstances(() => undefined);
    const p = provider({ subnetIds: { 'us-east-1b': 'subnet-0b' }, securityGroupIds: { 'us-east-1': ['sg-1'] } });
    const launched = await p.launch(request({ candidate: candidate({ zones: ['us-east-1a', 'us-east-1b'] }) }));
    expect(launched[0]!.zone).toBe('us-east-1b');
    const [input] = runCalls();
    expect(input!.SubnetId).toBe('subnet-0b');
    expect(input!.Placement).toBeUndefined();
    expect(input!.SecurityGroupIds).toEqual(['sg-1']);
  });
});

describe('throttling', () => {
  it('retries RequestLimitExceeded with growing back-off, then launches', async () => {
    onRunInstances((_input, call) => (call < 2 ? awsError('RequestLimitExceeded') : undefined));
    const launched = await provider().launch(request());
    expect(launched).toHaveLength(1);
    expect(runCalls()).toHaveLength(3);
    // random() = 0.5 → 75% of the 500 ms, 1000 ms ceilings.
    expect(sleeps).toEqual([375, 750]);
  });

  it('gives up after maxApiAttempts with a TransientError and keeps the nodes already started', async () => {
    onRunInstances((input) => (nodeOf(input) === 1 ? awsError('RequestLimitExceeded') : undefined));
    const err = await provider({ maxApiAttempts: 4 }).launch(request({ numNodes: 2 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).code).toBe('RequestLimitExceeded');
    expect(runCalls()).toHaveLength(1 + 4);
    expect(sleeps).toHaveLength(3);
    // A repeated launch reuses node 0 (it is idempotent), so it must not be thrown away.
    expect(terminatedIds()).toEqual([]);
  });

  it('retries a throttled DescribeInstances too', async () => {
    ec2.on(DescribeInstancesCommand).rejectsOnce(awsError('RequestLimitExceeded')).resolves({ Reservations: [] });
    onRunInstances(() => undefined);
    await provider().launch(request());
    expect(ec2.commandCalls(DescribeInstancesCommand)).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
  });
});

describe('request shape and ClientToken', () => {
  it('asks for a one-time spot instance that terminates on interruption, tagged at creation', async () => {
    onRunInstances(() => undefined);
    await provider().launch(request({ candidate: candidate({ spot: true }) }));
    const [input] = runCalls();
    expect(input!.InstanceMarketOptions).toEqual({
      MarketType: 'spot',
      SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate' },
    });
    expect(input!.MinCount).toBe(1);
    expect(input!.MaxCount).toBe(1);
    expect(input!.TagSpecifications!.map((t) => t.ResourceType)).toEqual(['instance', 'volume']);
    expect(input!.ImageId).toBe('resolve:ssm:/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id');
    expect(input!.BlockDeviceMappings).toEqual([{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 100, VolumeType: 'gp3', DeleteOnTermination: true } }]);
    expect(Buffer.from(input!.UserData!, 'base64').toString()).toContain("SKYLESS_AGENT_TOKEN='tok-0'");
    // IMDSv2 only, hop limit 1: a container on the node cannot get an IMDS token, so it reads neither
    // the user data (bootstrap token) nor the identity document (docs/security.md "Nodes and agents").
    expect(input!.MetadataOptions).toEqual({ HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 1 });
  });

  it('uses the same ClientToken for the same node when launch is repeated, a different one per node', async () => {
    onRunInstances(() => undefined);
    const req = request({ numNodes: 2 });
    await provider().launch(req);
    await provider().launch(req); // DescribeInstances (mocked) finds nothing, so both nodes are asked for again
    const tokens = runCalls().map((i) => i.ClientToken!);
    expect(tokens).toHaveLength(4);
    expect(tokens[2]).toBe(tokens[0]);
    expect(tokens[3]).toBe(tokens[1]);
    expect(tokens[0]).not.toBe(tokens[1]);
    for (const t of tokens) expect(t.length).toBeLessThanOrEqual(64);
  });

  it('derives a fresh ClientToken when the old one answers with an instance someone terminated', async () => {
    onRunInstances((_input, call) =>
      call === 0 ? { State: { Name: 'terminated', Code: 48 }, StateReason: { Code: 'Client.UserInitiatedShutdown' } } : undefined,
    );
    const launched = await provider().launch(request());
    const tokens = runCalls().map((i) => i.ClientToken);
    expect(tokens).toHaveLength(2);
    expect(tokens[1]).not.toBe(tokens[0]);
    expect(launched[0]!.instanceId).toBe('i-00000000000000002');
  });

  it('treats an instance EC2 itself ended at launch as no capacity in that zone', async () => {
    onRunInstances(() => ({ State: { Name: 'terminated', Code: 48 }, StateReason: { Code: 'Server.InsufficientInstanceCapacity' } }));
    const err = await provider().launch(request({ candidate: candidate({ spot: true }) })).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'CapacityError', scope: 'zone', code: 'InstanceTerminatedAtLaunch' });
    expect(runCalls()).toHaveLength(1);
  });
});

describe('region sweeps', () => {
  it('skips a region that refuses access when sweeping the default regions, but not when it is named', async () => {
    const refusing = new EC2Client({ region: 'ap-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    const refusingMock = mockClient(refusing);
    refusingMock.on(DescribeInstancesCommand).rejects(awsError('AuthFailure'));
    try {
      ec2.on(DescribeInstancesCommand).resolves({
        Reservations: [{ Instances: [{ InstanceId: 'i-1', State: { Name: 'running' }, Placement: { AvailabilityZone: 'us-east-1a' }, Tags: [{ Key: 'skyless:job', Value: '7' }] }] }],
      });
      const p = provider({ regions: ['ap-east-1', 'us-east-1'], clientFor: (r) => (r === 'ap-east-1' ? refusing : client) });
      expect((await p.describe()).map((d) => [d.instanceId, d.region])).toEqual([['i-1', 'us-east-1']]);
      await p.terminate(7, 0, 1);
      expect(terminatedIds()).toEqual(['i-1']);
      await expect(p.terminate(7, 0, 1, 'ap-east-1')).rejects.toMatchObject({ name: 'AuthFailure' });
      await expect(p.describe({ regions: ['ap-east-1'] })).rejects.toMatchObject({ name: 'AuthFailure' });
    } finally {
      refusingMock.restore();
      refusing.destroy();
    }
  });
});
