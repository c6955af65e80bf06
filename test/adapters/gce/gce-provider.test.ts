// GceProvider against an in-memory Compute REST API (test/support/gce-fake.ts): gangs in one zone,
// capacity errors walked zone by zone and mapped to block scopes, idempotent relaunch by name,
// label-scoped terminate and describe, and retries on throttling.
import { beforeEach, describe, expect, it } from 'vitest';
import { GceProvider, parseGceInstanceType, toGceLaunchError, GceApiError } from '../../../adapters/gcp/gce-provider.ts';
import { parseGcpCredentials, projectOfCredentials } from '../../../adapters/gcp/gce-transport.ts';
import { CapacityError, PrecheckError, TransientError, ValidationError } from '../../../core/errors.ts';
import type { Candidate } from '../../../core/optimizer/types.ts';
import type { LaunchRequest } from '../../../core/ports.ts';
import { GceFake } from '../../support/gce-fake.ts';

const PROJECT = 'ml-team-prod';
let fake: GceFake;
let provider: GceProvider;

function candidate(overrides: Partial<Candidate> = {}): Candidate {
  return {
    cloud: 'gcp', region: 'us-central1', zones: ['us-central1-a', 'us-central1-b'], instanceType: 'n1-standard-8+T4:1', vcpus: 8, memoryGb: 30,
    accelerator: { name: 'T4', count: 1 }, spot: true, hourlyPrice: 0.219, requestIndex: 0, ...overrides,
  };
}

function request(overrides: Partial<LaunchRequest> = {}): LaunchRequest {
  const numNodes = overrides.numNodes ?? 1;
  return {
    jobId: 7, taskIndex: 0, attempt: 1, numNodes, candidate: candidate(), diskSizeGb: 120,
    bootstrap: { apiUrl: 'https://api.skyless.test/prod', tokens: Array.from({ length: numNodes }, (_, i) => `token-node-${i}`) },
    ...overrides,
  };
}

beforeEach(() => {
  fake = new GceFake(PROJECT);
  provider = new GceProvider({ transport: fake.transport, project: PROJECT, deployment: 'skyless', regions: ['us-central1', 'us-west1'], sleep: async () => {} });
});

describe('launch', () => {
  it('starts a spot gang in one zone: labels, SPOT scheduling deleted on preemption, the T4 attached, one token per node', async () => {
    const launched = await provider.launch(request({ numNodes: 2 }));
    expect(launched.map((l) => [l.instanceId, l.node, l.zone])).toEqual([
      ['skyless-skyless-7-0-1-0', 0, 'us-central1-a'],
      ['skyless-skyless-7-0-1-1', 1, 'us-central1-a'],
    ]);
    expect(launched.every((l) => /^10\.0\.0\.\d+$/.test(l.ip ?? ''))).toBe(true);
    const [first, second] = fake.inserts();
    expect(first).toMatchObject({
      machineType: 'zones/us-central1-a/machineTypes/n1-standard-8',
      labels: { 'skyless-deployment': 'skyless', 'skyless-job': '7', 'skyless-task': '0', 'skyless-attempt': '1', 'skyless-node': '0' },
      guestAccelerators: [{ acceleratorType: 'zones/us-central1-a/acceleratorTypes/nvidia-tesla-t4', acceleratorCount: 1 }],
      scheduling: { provisioningModel: 'SPOT', instanceTerminationAction: 'DELETE', onHostMaintenance: 'TERMINATE' },
      disks: [{ boot: true, autoDelete: true, initializeParams: { diskSizeGb: '120', sourceImage: 'projects/deeplearning-platform-release/global/images/family/common-cu129-ubuntu-2204-nvidia-580' } }],
    });
    const script = (b: Record<string, unknown>) => (b.metadata as { items: { key: string; value: string }[] }).items.find((i) => i.key === 'startup-script')!.value;
    expect(script(first!)).toContain('token-node-0');
    expect(script(first!)).toContain("SKYLESS_CLOUD='gcp'");
    expect(script(second!)).toContain('token-node-1');
  });

  it('an on-demand CPU candidate: Debian, STANDARD scheduling that live-migrates, no accelerator', async () => {
    await provider.launch(request({ candidate: candidate({ instanceType: 'e2-standard-4', accelerator: undefined, spot: false }) }));
    const [body] = fake.inserts();
    expect(body).toMatchObject({ scheduling: { provisioningModel: 'STANDARD', onHostMaintenance: 'MIGRATE' } });
    expect(body!.guestAccelerators).toBeUndefined();
    expect(JSON.stringify(body!.disks)).toContain('debian-cloud/global/images/family/debian-12');
  });

  it('a zone without capacity: the partial gang there is deleted and the whole gang starts in the next zone', async () => {
    // Zone a holds node 0 then runs out: simulate by failing zone a after the first insert.
    const transport = fake.transport;
    let insertsInA = 0;
    provider = new GceProvider({
      transport: async (req) => {
        if (req.method === 'POST' && req.url.includes('/zones/us-central1-a/instances') && ++insertsInA === 2) fake.zoneErrors.set('us-central1-a', { code: 'ZONE_RESOURCE_POOL_EXHAUSTED', message: 'The zone does not have enough resources' });
        return transport(req);
      },
      project: PROJECT, deployment: 'skyless', sleep: async () => {},
    });
    const launched = await provider.launch(request({ numNodes: 2 }));
    expect(launched.map((l) => l.zone)).toEqual(['us-central1-b', 'us-central1-b']);
    expect([...fake.instances.keys()].sort()).toEqual(['us-central1-b/skyless-skyless-7-0-1-0', 'us-central1-b/skyless-skyless-7-0-1-1']);
  });

  it('every zone out of capacity → a region-scoped CapacityError naming each zone; one zone → zone scope', async () => {
    for (const z of ['us-central1-a', 'us-central1-b']) fake.zoneErrors.set(z, { code: 'ZONE_RESOURCE_POOL_EXHAUSTED', message: 'no room' });
    const all = await provider.launch(request()).catch((e: unknown) => e);
    expect(all).toBeInstanceOf(CapacityError);
    expect(all).toMatchObject({ name: 'CapacityError', scope: 'region', code: 'AllZonesExhausted', where: { cloud: 'gcp', region: 'us-central1' } });
    expect((all as Error).message).toMatch(/us-central1-a ZONE_RESOURCE_POOL_EXHAUSTED, us-central1-b ZONE_RESOURCE_POOL_EXHAUSTED/);
    const one = await provider.launch(request({ candidate: candidate({ zones: ['us-central1-a'] }) })).catch((e: unknown) => e);
    expect(one).toMatchObject({ scope: 'zone', where: { cloud: 'gcp', region: 'us-central1', zone: 'us-central1-a' } });
    expect(fake.instances.size).toBe(0);
  });

  it('a spot node preempted right after its insert counts as no capacity in that zone', async () => {
    fake.insertStatus = 'TERMINATED';
    const e = await provider.launch(request({ candidate: candidate({ zones: ['us-central1-a'] }) })).catch((x: unknown) => x);
    expect(e).toMatchObject({ name: 'CapacityError', scope: 'zone', code: 'STOCKOUT' });
    expect(fake.instances.size).toBe(0); // deleted, not left stopped with a billed disk
  });

  it('is idempotent: a repeated launch keeps the nodes that exist, creates only the missing ones, and deletes leftovers', async () => {
    await provider.launch(request({ numNodes: 2 }));
    fake.instances.delete('us-central1-a/skyless-skyless-7-0-1-1'); // node 1 vanished
    // A leftover of the same attempt with another machine type (an earlier candidate) must not join.
    fake.add({ name: 'skyless-skyless-7-0-1-5', zone: 'us-central1-b', status: 'RUNNING', machineType: 'e2-standard-2', labels: { 'skyless-deployment': 'skyless', 'skyless-job': '7', 'skyless-task': '0', 'skyless-attempt': '1', 'skyless-node': '5' } });
    const before = fake.inserts().length;
    const again = await provider.launch(request({ numNodes: 2 }));
    expect(again.map((l) => [l.instanceId, l.zone])).toEqual([
      ['skyless-skyless-7-0-1-0', 'us-central1-a'],
      ['skyless-skyless-7-0-1-1', 'us-central1-a'],
    ]);
    expect(fake.inserts().length - before).toBe(1);
    expect([...fake.instances.keys()].sort()).toEqual(['us-central1-a/skyless-skyless-7-0-1-0', 'us-central1-a/skyless-skyless-7-0-1-1']);
  });

  it('a name that already exists (an earlier call lost its answer) is reused, not duplicated', async () => {
    fake.add({ name: 'skyless-skyless-7-0-1-0', zone: 'us-central1-a', status: 'STAGING', machineType: 'n1-standard-8', labels: {} }); // unlabelled: invisible to the list
    const [node] = await provider.launch(request());
    expect(node).toMatchObject({ instanceId: 'skyless-skyless-7-0-1-0', zone: 'us-central1-a' });
    expect(fake.instances.size).toBe(1);
  });

  it('a machine type a zone does not offer (400 invalid) moves the gang to the next zone', async () => {
    fake.missingTypes.set('us-central1-a', new Set(['n1-standard-8']));
    const launched = await provider.launch(request());
    expect(launched.map((l) => l.zone)).toEqual(['us-central1-b']);
  });

  it('a spot node deleted by a preemption right after its insert (404) is a stockout in that zone', async () => {
    fake.insertStatus = 'GONE';
    await expect(provider.launch(request({ candidate: candidate({ zones: ['us-central1-a'] }) }))).rejects.toMatchObject({ name: 'CapacityError', scope: 'zone', code: 'STOCKOUT' });
  });

  it('an operation slower than the budget hands back (TransientError), and the next call resumes without a duplicate', async () => {
    let t = 0;
    provider = new GceProvider({ transport: fake.transport, project: PROJECT, deployment: 'skyless', sleep: async () => {}, now: () => (t += 60_000), launchBudgetMs: 150_000 });
    fake.slowWaits = 5;
    await expect(provider.launch(request({ numNodes: 2 }))).rejects.toMatchObject({ name: 'TransientError', code: 'OperationTimeout' });
    fake.slowWaits = 0;
    const launched = await provider.launch(request({ numNodes: 2 }));
    expect(launched.map((l) => l.instanceId)).toEqual(['skyless-skyless-7-0-1-0', 'skyless-skyless-7-0-1-1']);
    expect(fake.instances.size).toBe(2);
  });

  it('never takes a partial list for a complete one: an unreachable zone makes terminate and describe hand back', async () => {
    await provider.launch(request());
    fake.unreachables = ['us-central1-c'];
    await expect(provider.terminate(7, 0, 1)).rejects.toMatchObject({ name: 'TransientError', code: 'Unreachable' });
    await expect(provider.describe()).rejects.toBeInstanceOf(TransientError);
    expect(fake.instances.size).toBe(1);
    // An unreachable zone outside the regions asked about does not matter.
    fake.unreachables = ['asia-east1-a'];
    await provider.terminate(7, 0, 1, 'us-central1');
    expect(fake.instances.size).toBe(0);
  });

  it('retries throttling, then maps quota, permission and bad-request answers to the launch walk', async () => {
    // GCE's rate limits answer 403 rateLimitExceeded (and sometimes 429); both are retried, as is a 5xx.
    fake.nextHttpErrors.push({ status: 403, reason: 'rateLimitExceeded', message: 'Rate Limit Exceeded' }, { status: 429, reason: 'rateLimitExceeded', message: 'Too Many Requests' }, { status: 503, reason: 'backendError', message: 'Backend Error' });
    await expect(provider.launch(request())).resolves.toHaveLength(1);

    fake.zoneErrors.set('us-central1-a', { code: 'QUOTA_EXCEEDED', message: "Quota 'NVIDIA_T4_GPUS' exceeded. Limit: 0.0 in region us-central1." });
    await expect(provider.launch(request({ attempt: 2 }))).rejects.toMatchObject({ scope: 'region', where: { region: 'us-central1' } });
    fake.zoneErrors.set('us-central1-a', { code: 'QUOTA_EXCEEDED', message: "Quota 'GPUS_ALL_REGIONS' exceeded. Limit: 0.0 globally." });
    await expect(provider.launch(request({ attempt: 3 }))).rejects.toMatchObject({ scope: 'cloud' });

    expect(toGceLaunchError(new GceApiError('Required permission compute.instances.create', 403, 'forbidden'), 'us-central1')).toMatchObject({ name: 'CapacityError', scope: 'cloud' });
    expect(toGceLaunchError(new GceApiError("Invalid value for field 'resource.disks[0]'", 400, 'invalid'), 'us-central1', 'us-central1-a')).toBeInstanceOf(PrecheckError);
    expect(toGceLaunchError(new GceApiError("The resource 'zones/us-west1-c/machineTypes/a2-highgpu-1g' was not found", 404, 'notFound'), 'us-west1', 'us-west1-c')).toMatchObject({ scope: 'zone' });
    expect(toGceLaunchError(new GceApiError('Operation rate exceeded for resource', 403, 'RESOURCE_OPERATION_RATE_EXCEEDED'), 'us-west1', 'us-west1-c')).toBeInstanceOf(TransientError);
    fake.zoneErrors.clear();
    fake.nextHttpErrors.push(...Array.from({ length: 5 }, () => ({ status: 503, reason: 'backendError', message: 'Backend Error' })));
    await expect(provider.launch(request({ attempt: 4 }))).rejects.toBeInstanceOf(TransientError);
  });
});

describe('terminate and describe', () => {
  it('terminate deletes only the attempt, in every swept region; describe maps labels to tags and ignores other deployments', async () => {
    await provider.launch(request({ numNodes: 2 }));
    await provider.launch(request({ attempt: 2, candidate: candidate({ region: 'us-west1', zones: ['us-west1-b'] }) }));
    fake.add({ name: 'other-deployment-node', zone: 'us-central1-a', status: 'RUNNING', machineType: 'e2-standard-2', labels: { 'skyless-deployment': 'team-b', 'skyless-job': '7', 'skyless-task': '0', 'skyless-attempt': '1', 'skyless-node': '0' } });
    fake.add({ name: 'skyless-skyless-8-0-1-0', zone: 'us-west1-b', status: 'TERMINATED', machineType: 'e2-standard-2', labels: { 'skyless-deployment': 'skyless', 'skyless-job': '8', 'skyless-task': '0', 'skyless-attempt': '1', 'skyless-node': '0' } });

    const all = await provider.describe();
    expect(all.map((d) => [d.instanceId, d.region, d.state]).sort()).toEqual([
      ['skyless-skyless-7-0-1-0', 'us-central1', 'running'],
      ['skyless-skyless-7-0-1-1', 'us-central1', 'running'],
      ['skyless-skyless-7-0-2-0', 'us-west1', 'running'],
      ['skyless-skyless-8-0-1-0', 'us-west1', 'stopped'],
    ]);
    expect(all.find((d) => d.instanceId === 'skyless-skyless-7-0-2-0')).toMatchObject({ cloud: 'gcp', zone: 'us-west1-b', tags: { 'skyless:job': '7', 'skyless:task': '0', 'skyless:attempt': '2', 'skyless:node': '0', 'skyless:deployment': 'skyless' } });
    expect((await provider.describe({ jobId: 8 })).map((d) => d.instanceId)).toEqual(['skyless-skyless-8-0-1-0']);
    expect((await provider.describe({ regions: ['us-west1'] })).length).toBe(2);

    await provider.terminate(7, 0, 1);
    expect([...fake.instances.keys()].sort()).toEqual(['us-central1-a/other-deployment-node', 'us-west1-b/skyless-skyless-7-0-2-0', 'us-west1-b/skyless-skyless-8-0-1-0']);
    await provider.terminate(7, 0, 1); // repeated: nothing left, no error
    await provider.terminate(8, 0, 1, 'us-west1'); // a stopped node still bills its disk: deleted too
    expect(fake.instances.has('us-west1-b/skyless-skyless-8-0-1-0')).toBe(false);
  });
});

describe('shapes and configuration', () => {
  it('parses catalog instance types and refuses what GCE has no accelerator for', () => {
    expect(parseGceInstanceType('a2-highgpu-1g')).toEqual({ machineType: 'a2-highgpu-1g' });
    expect(parseGceInstanceType('n1-highmem-8+V100:1')).toEqual({ machineType: 'n1-highmem-8', accelerator: { type: 'nvidia-tesla-v100', count: 1 } });
    expect(() => parseGceInstanceType('n1-standard-8+H200:1')).toThrow(/no GCE accelerator type for H200/);
    expect(() => new GceProvider({ transport: fake.transport, project: PROJECT, deployment: 'Bad_Name' })).toThrow(ValidationError);
  });

  it('reads the project from a service-account key or a Workload Identity Federation config, and names a bad secret', () => {
    expect(projectOfCredentials({ type: 'service_account', project_id: 'ml-team-prod' })).toBe('ml-team-prod');
    const wif = {
      type: 'external_account',
      audience: '//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/aws/providers/acct',
      service_account_impersonation_url: 'https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/skyless@ml-team-prod.iam.gserviceaccount.com:generateAccessToken',
    };
    expect(projectOfCredentials(wif)).toBe('ml-team-prod');
    expect(projectOfCredentials({ type: 'external_account' })).toBeUndefined();
    expect(() => parseGcpCredentials('not json', 'secret X')).toThrow(/secret X does not hold JSON/);
    expect(() => parseGcpCredentials('{"type":"authorized_user"}', 'secret X')).toThrow(/"type" must be external_account .* got "authorized_user"/);
  });
});
