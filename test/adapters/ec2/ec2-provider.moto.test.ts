// Ec2Provider against moto_server with the real SDK client: launch (spot and on-demand), tags per
// node on instances and volumes, user data, idempotent relaunch, describe, terminate. moto is a
// required dependency here: startMoto throws (the file fails) when it is missing.

import {
  DescribeImagesCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  EC2Client,
  TerminateInstancesCommand,
  type Instance,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Ec2Provider,
  TAG_TERMINATED_BY,
  defaultImageFor,
  type Ec2ProviderOptions,
} from '../../../adapters/aws/ec2-provider.ts';
import { PrecheckError } from '../../../core/errors.ts';
import type { Candidate } from '../../../core/optimizer/types.ts';
import type { LaunchRequest } from '../../../core/ports.ts';
import { awsTestClientConfig, startMoto, type RunningMoto } from '../../support/moto.ts';

let moto: RunningMoto;
const clients = new Map<string, EC2Client>();

function clientFor(region: string): EC2Client {
  let client = clients.get(region);
  if (!client) {
    client = new EC2Client({ ...awsTestClientConfig(moto.endpoint), region });
    clients.set(region, client);
  }
  return client;
}

function provider(overrides: Partial<Ec2ProviderOptions> = {}): Ec2Provider {
  return new Ec2Provider({ clientFor, deployment: 'test', regions: ['us-east-1', 'us-west-2'], sleep: async () => {}, ...overrides });
}

function candidate(overrides: Partial<Candidate> = {}): Candidate {
  return {
    cloud: 'aws',
    region: 'us-east-1',
    zones: ['us-east-1b', 'us-east-1c'],
    instanceType: 't3.micro',
    vcpus: 2,
    memoryGb: 1,
    spot: false,
    hourlyPrice: 0.0104,
    requestIndex: 0,
    ...overrides,
  };
}

let nextJobId = 100;
function request(overrides: Partial<LaunchRequest> = {}): LaunchRequest {
  const numNodes = overrides.numNodes ?? 2;
  return {
    jobId: nextJobId++,
    taskIndex: 0,
    attempt: 1,
    numNodes,
    candidate: candidate(),
    diskSizeGb: 40,
    bootstrap: { apiUrl: 'https://api.skyless.test/prod/', tokens: Array.from({ length: numNodes }, (_, i) => `token-node-${i}`) },
    ...overrides,
  };
}

async function getInstance(region: string, instanceId: string): Promise<Instance> {
  const out = await clientFor(region).send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  return out.Reservations![0]!.Instances![0]!;
}

function tagsOf(instance: { Tags?: { Key?: string; Value?: string }[] }): Record<string, string> {
  return Object.fromEntries((instance.Tags ?? []).map((t) => [t.Key!, t.Value!]));
}

async function attemptInstanceIds(req: LaunchRequest, states = ['pending', 'running']): Promise<string[]> {
  const out = await clientFor(req.candidate.region).send(
    new DescribeInstancesCommand({
      Filters: [
        { Name: 'tag:skyless:job', Values: [String(req.jobId)] },
        { Name: 'tag:skyless:attempt', Values: [String(req.attempt)] },
        { Name: 'instance-state-name', Values: states },
      ],
    }),
  );
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId!).sort();
}

beforeAll(async () => {
  moto = await startMoto();
});

afterAll(async () => {
  for (const client of clients.values()) client.destroy();
  await moto?.stop();
});

describe('Ec2Provider.launch against moto', () => {
  it('launches an on-demand gang in the first zone, tagged per node on instance and volume, with decodable user data', async () => {
    const req = request({ numNodes: 2 });
    const launched = await provider().launch(req);

    expect(launched.map((l) => l.node)).toEqual([0, 1]);
    expect(new Set(launched.map((l) => l.zone))).toEqual(new Set(['us-east-1b']));
    expect(new Set(launched.map((l) => l.instanceId)).size).toBe(2);

    for (const { instanceId, node } of launched) {
      const instance = await getInstance('us-east-1', instanceId);
      expect(instance.InstanceLifecycle).toBeUndefined(); // on-demand
      expect(instance.InstanceType).toBe('t3.micro');
      expect(instance.Placement?.AvailabilityZone).toBe('us-east-1b');
      expect(instance.MetadataOptions?.HttpTokens).toBe('required');
      expect(tagsOf(instance)).toEqual({
        'skyless:job': String(req.jobId),
        'skyless:task': '0',
        'skyless:attempt': '1',
        'skyless:node': String(node),
        'skyless:deployment': 'test',
        Name: `skyless-test-j${req.jobId}-t0-a1-n${node}`,
      });

      const volumes = await clientFor('us-east-1').send(
        new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }] }),
      );
      expect(volumes.Volumes).toHaveLength(1);
      expect(volumes.Volumes![0]!.Size).toBe(40);
      expect(tagsOf(volumes.Volumes![0]!)).toMatchObject({ 'skyless:node': String(node), 'skyless:job': String(req.jobId) });

      const attr = await clientFor('us-east-1').send(new DescribeInstanceAttributeCommand({ InstanceId: instanceId, Attribute: 'userData' }));
      const script = Buffer.from(attr.UserData!.Value!, 'base64').toString('utf8');
      expect(script.startsWith('#!/bin/sh\n')).toBe(true);
      expect(script).toContain(`export SKYLESS_AGENT_TOKEN='token-node-${node}'`);
      expect(script).toContain(`export SKYLESS_API_URL='https://api.skyless.test/prod'`);
      expect(script).toContain(`export SKYLESS_CLOUD='aws'`);
      expect(script).toContain('"$SKYLESS_API_URL/agent/agent.sh"');
    }
  });

  it('launches spot instances with the one-time, terminate-on-interruption market options', async () => {
    const req = request({ numNodes: 1, candidate: candidate({ spot: true, zones: ['us-east-1d'], instanceType: 'm5.large' }) });
    const [node0] = await provider().launch(req);
    const instance = await getInstance('us-east-1', node0!.instanceId);
    expect(instance.InstanceLifecycle).toBe('spot');
    expect(instance.Placement?.AvailabilityZone).toBe('us-east-1d');
    expect(tagsOf(instance)['skyless:node']).toBe('0');
  });

  it('creates nothing new when the same launch is repeated', async () => {
    const req = request({ numNodes: 3 });
    const first = await provider().launch(req);
    const second = await provider().launch(req);
    expect(second).toEqual(first);
    expect(await attemptInstanceIds(req)).toEqual(first.map((l) => l.instanceId).sort());
  });

  it('relaunches only the missing node, in the zone the rest of the gang is in', async () => {
    const req = request({ numNodes: 2, candidate: candidate({ zones: ['us-east-1b', 'us-east-1c'] }) });
    const first = await provider().launch(req);
    await clientFor('us-east-1').send(new TerminateInstancesCommand({ InstanceIds: [first[1]!.instanceId] }));

    const second = await provider().launch(req);
    expect(second[0]!.instanceId).toBe(first[0]!.instanceId);
    expect(second[1]!.instanceId).not.toBe(first[1]!.instanceId);
    expect(second.map((l) => l.zone)).toEqual([first[0]!.zone, first[0]!.zone]);
    const replacement = await getInstance('us-east-1', second[1]!.instanceId);
    expect(tagsOf(replacement)['skyless:node']).toBe('1');
  });

  it('terminates leftovers of an abandoned candidate (another instance type) before launching', async () => {
    const req = request({ numNodes: 1 });
    const [stale] = await provider().launch({ ...req, candidate: candidate({ instanceType: 'c5.large' }) });
    const [fresh] = await provider().launch(req);
    expect(fresh!.instanceId).not.toBe(stale!.instanceId);
    expect((await getInstance('us-east-1', stale!.instanceId)).State?.Name).toBe('terminated');
    expect(await attemptInstanceIds(req)).toEqual([fresh!.instanceId]);
  });

  it('puts the disk size on the root device an AMI declares', async () => {
    const images = await clientFor('us-east-1').send(new DescribeImagesCommand({ Owners: ['amazon'] }));
    const image = images.Images!.find((i) => i.RootDeviceName === '/dev/sda1')!;
    const req = request({ numNodes: 1, imageId: image.ImageId!, diskSizeGb: 77 });
    const [node0] = await provider().launch(req);
    const instance = await getInstance('us-east-1', node0!.instanceId);
    expect(instance.ImageId).toBe(image.ImageId);
    expect(instance.BlockDeviceMappings?.map((b) => b.DeviceName)).toEqual(['/dev/sda1']);
    const volume = await clientFor('us-east-1').send(
      new DescribeVolumesCommand({ VolumeIds: [instance.BlockDeviceMappings![0]!.Ebs!.VolumeId!] }),
    );
    expect(volume.Volumes![0]!.Size).toBe(77);
  });

  it('refuses an AMI that does not exist with a PrecheckError, launching nothing', async () => {
    const req = request({ numNodes: 1, imageId: 'ami-0000000000deadbee' });
    const err = await provider().launch(req).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PrecheckError);
    expect((err as PrecheckError).code).toMatch(/^InvalidAMIID\./);
    expect(await attemptInstanceIds(req, ['pending', 'running', 'stopped', 'terminated'])).toEqual([]);
  });
});

describe('Ec2Provider.describe / terminate against moto', () => {
  it('describes by tag, filtered by job, deployment and region', async () => {
    const p = provider();
    const a = request({ numNodes: 2 });
    const b = request({ numNodes: 1, candidate: candidate({ region: 'us-west-2', zones: ['us-west-2a'] }) });
    const launchedA = await p.launch(a);
    const launchedB = await p.launch(b);
    // Same job number in another deployment of skyless: must stay invisible to this one.
    await provider({ deployment: 'other' }).launch({ ...request({ numNodes: 1 }), jobId: a.jobId });

    const onlyA = await p.describe({ jobId: a.jobId });
    expect(onlyA.map((d) => d.instanceId).sort()).toEqual(launchedA.map((l) => l.instanceId).sort());
    for (const d of onlyA) {
      expect(d).toMatchObject({ cloud: 'aws', region: 'us-east-1', zone: 'us-east-1b', state: 'running' });
      expect(d.tags).toMatchObject({ 'skyless:job': String(a.jobId), 'skyless:deployment': 'test' });
    }

    const all = await p.describe();
    const ids = all.map((d) => d.instanceId);
    for (const l of [...launchedA, ...launchedB]) expect(ids).toContain(l.instanceId);
    expect(all.every((d) => d.tags['skyless:deployment'] === 'test')).toBe(true);
    expect(all.find((d) => d.instanceId === launchedB[0]!.instanceId)?.region).toBe('us-west-2');

    const eastOnly = await p.describe({ regions: ['us-east-1'] });
    expect(eastOnly.map((d) => d.instanceId)).not.toContain(launchedB[0]!.instanceId);
  });

  it('terminates every node of the attempt (and only that attempt), repeatably', async () => {
    const p = provider();
    const req = request({ numNodes: 2 });
    const launched = await p.launch(req);
    const otherAttempt = await p.launch({ ...req, attempt: 2 });

    await p.terminate(req.jobId, req.taskIndex, req.attempt, 'us-east-1');
    for (const { instanceId } of launched) {
      const instance = await getInstance('us-east-1', instanceId);
      expect(instance.State?.Name).toBe('terminated');
      expect(tagsOf(instance)[TAG_TERMINATED_BY]).toBe('skyless');
    }
    expect((await getInstance('us-east-1', otherAttempt[0]!.instanceId)).State?.Name).toBe('running');

    // Again, and without a region (sweeps the configured regions): nothing left to do, no error.
    await p.terminate(req.jobId, req.taskIndex, req.attempt, 'us-east-1');
    await p.terminate(req.jobId, req.taskIndex, req.attempt);

    const described = await p.describe({ jobId: req.jobId });
    const byId = new Map(described.map((d) => [d.instanceId, d]));
    for (const { instanceId } of launched) {
      expect(byId.get(instanceId)).toMatchObject({ state: 'terminated', stateReason: 'Client.UserInitiatedShutdown' });
    }
  });

  it('describeStateReason tells our terminations from everyone else\'s', async () => {
    const p = provider();
    const ours = request({ numNodes: 1 });
    const theirs = request({ numNodes: 1 });
    const [oursNode] = await p.launch(ours);
    const [theirsNode] = await p.launch(theirs);

    await p.terminate(ours.jobId, 0, 1, 'us-east-1');
    await clientFor('us-east-1').send(new TerminateInstancesCommand({ InstanceIds: [theirsNode!.instanceId] }));

    expect(await p.describeStateReason(oursNode!.instanceId, 'us-east-1')).toMatchObject({
      state: 'terminated',
      code: 'Client.UserInitiatedShutdown',
      terminatedBySkyless: true,
      tags: { 'skyless:job': String(ours.jobId), 'skyless:node': '0' },
    });
    expect(await p.describeStateReason(theirsNode!.instanceId, 'us-east-1')).toMatchObject({
      state: 'terminated',
      code: 'Client.UserInitiatedShutdown',
      terminatedBySkyless: false,
    });
    expect(await p.describeStateReason('i-0123456789abcdef0', 'us-east-1')).toBeUndefined();
  });
});

describe('defaultImageFor', () => {
  it('picks AL2023 by architecture for CPU and the Deep Learning AMI for GPU candidates', () => {
    expect(defaultImageFor(candidate({ instanceType: 'm7g.large' }))).toBe(
      'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64',
    );
    expect(defaultImageFor(candidate({ instanceType: 'm7i.large' }))).toBe(
      'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64',
    );
    expect(defaultImageFor(candidate({ instanceType: 'g5.xlarge', accelerator: { name: 'A10G', count: 1 } }))).toBe(
      'resolve:ssm:/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id',
    );
    expect(defaultImageFor(candidate({ instanceType: 'g5g.xlarge', accelerator: { name: 'T4', count: 1 } }))).toBe(
      'resolve:ssm:/aws/service/deeplearning/ami/arm64/base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id',
    );
  });
});
