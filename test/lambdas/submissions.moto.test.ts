// S3 and EventBridge submissions end to end against moto: the real AWS wiring (awsDeps) — DynamoDB
// store, S3 objects, Step Functions, EventBridge bus — and the submissions handler fed with the real
// "Object Created" event shape. Uploads become jobs named after the key with a result object; an
// invalid file becomes a FAILED_PRECHECKS job; duplicates make one job.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createHandler } from '../../lambdas/submissions/handler.ts';
import type { SubmissionOutcome, SubmissionResultFile } from '../../core/usecases/submissions.ts';
import { objectCreated } from '../support/events.ts';
import { startMotoDeployment, type MotoDeployment } from './moto-aws.ts';

const VALID = 'name: from-the-yaml\nresources:\n  cpus: 2\nrun: echo hello\n';
const INVALID = 'resources:\n  accelerators: A1000:1\n  cpus: lots\nrun: echo never\n';

let d: MotoDeployment;
let handler: ReturnType<typeof createHandler>;
let sequencer = 0x100;

beforeAll(async () => {
  d = await startMotoDeployment();
  handler = createHandler(d.deps, { bucket: d.bucket });
});
afterAll(async () => {
  await d?.stop();
});

async function upload(key: string, body: string) {
  const out = await d.clients.s3.send(new PutObjectCommand({ Bucket: d.bucket, Key: key, Body: body }));
  const event = objectCreated(d.bucket, key, { etag: out.ETag?.replace(/"/g, ''), sequencer: (sequencer++).toString(16).toUpperCase().padStart(18, '0'), size: Buffer.byteLength(body) });
  delivered.set(key, event);
  return event;
}

/** The last upload's event per key: delivering it again is what an EventBridge retry does. */
const delivered = new Map<string, ReturnType<typeof objectCreated>>();
function redelivery(key: string) {
  const e = delivered.get(key);
  if (!e) throw new Error(`no delivery recorded for ${key}`);
  return e;
}

async function resultFile(key: string): Promise<SubmissionResultFile> {
  const out = await d.clients.s3.send(new GetObjectCommand({ Bucket: d.bucket, Key: `${key}.result.json` }));
  return JSON.parse(await out.Body!.transformToString()) as SubmissionResultFile;
}

function handled(o: SubmissionOutcome) {
  if (!o.handled) throw new Error(`not handled: ${o.why}`);
  return o;
}

describe('S3 submission (Object Created under submit/)', () => {
  it('a valid YAML becomes a job named after the key, started, with a result object', async () => {
    const event = await upload('submit/team-a/finetune.yaml', VALID);
    const outcome = handled(await handler(event));
    expect(outcome).toMatchObject({ result: 'SUBMITTED', duplicate: false });
    const job = await d.deps.store.getJob(outcome.jobId);
    expect(job).toMatchObject({ name: 'finetune', status: 'PENDING', executionName: `job-${outcome.jobId}` });
    expect(job!.user).toBe('s3:123456789012');
    expect(await d.executionNames()).toContain(`job-${outcome.jobId}`);
    expect(await resultFile('submit/team-a/finetune.yaml')).toMatchObject({ key: 'submit/team-a/finetune.yaml', jobId: outcome.jobId, name: 'finetune', result: 'SUBMITTED' });
  });

  it('the same object delivered twice (and concurrently) makes ONE job', async () => {
    const event = await upload('submit/twice.yaml', VALID);
    const [a, b] = await Promise.all([handler(event), handler(event)]);
    const c = await handler(event);
    const ids = [a, b, c].map((o) => handled(o).jobId);
    expect(new Set(ids).size).toBe(1);
    expect([a, b, c].filter((o) => handled(o).duplicate)).toHaveLength(2);
    const jobs = (await d.deps.store.listJobs({ limit: 100, name: 'twice' })).jobs;
    expect(jobs.map((j) => j.jobId)).toEqual([ids[0]]);
    expect((await d.executionNames()).filter((n) => n === `job-${ids[0]}`)).toHaveLength(1);
    expect((await resultFile('submit/twice.yaml')).jobId).toBe(ids[0]);
  });

  it('uploading the same key again (a new PUT) is a new submission', async () => {
    const first = handled(await handler(await upload('submit/again.yaml', VALID)));
    const second = handled(await handler(await upload('submit/again.yaml', VALID)));
    expect(second.jobId).not.toBe(first.jobId);
    expect((await resultFile('submit/again.yaml')).jobId).toBe(second.jobId);
  });

  it('an invalid file becomes a FAILED_PRECHECKS job with the reasons, also in the result object', async () => {
    const outcome = handled(await handler(await upload('submit/broken.yaml', INVALID)));
    expect(outcome.result).toBe('FAILED_PRECHECKS');
    expect(outcome.errors!.join('\n')).toMatch(/A1000/);
    expect(outcome.errors!.join('\n')).toMatch(/cpus/);
    const job = await d.deps.store.getJob(outcome.jobId);
    expect(job).toMatchObject({ name: 'broken', status: 'FAILED_PRECHECKS' });
    expect(job!.tasks[0]!.failureReason).toMatch(/A1000/);
    expect(await d.executionNames()).not.toContain(`job-${outcome.jobId}`);
    const file = await resultFile('submit/broken.yaml');
    expect(file).toMatchObject({ jobId: outcome.jobId, result: 'FAILED_PRECHECKS' });
    expect(file.errors).toEqual(outcome.errors);
    // A duplicate of the invalid upload finds the same job and reports the same failure.
    const again = handled(await handler(redelivery('submit/broken.yaml')));
    expect(again).toMatchObject({ jobId: outcome.jobId, result: 'FAILED_PRECHECKS', duplicate: true });
  });

  it('ignores result objects, other extensions, other prefixes and other buckets, and makes no job for them', async () => {
    const before = (await d.deps.store.listJobs({ limit: 1000 })).jobs.length;
    const resultEvent = await upload('submit/team-a/finetune.yaml.result.json', '{}');
    expect(await handler(resultEvent)).toMatchObject({ handled: false, why: expect.stringMatching(/submission result/) });
    expect(await handler(await upload('submit/readme.txt', 'hi'))).toMatchObject({ handled: false });
    expect(await handler(await upload('uploads/x.yaml', VALID))).toMatchObject({ handled: false });
    const elsewhere = objectCreated('someone-elses-bucket', 'submit/x.yaml', { sequencer: 'AA' });
    expect(await handler(elsewhere)).toMatchObject({ handled: false, why: expect.stringMatching(/not the deployment's bucket/) });
    expect((await d.deps.store.listJobs({ limit: 1000 })).jobs.length).toBe(before);
  });

  it('reports an upload deleted before it was processed, without making a job', async () => {
    const event = objectCreated(d.bucket, 'submit/gone.yaml', { sequencer: 'FFFF' });
    expect(await handler(event)).toMatchObject({ handled: false, why: expect.stringMatching(/no longer exists/) });
  });
});

describe('Launch Managed Job on the skyless bus', () => {
  const launch = (detail: unknown, id = `evt-${Math.random().toString(36).slice(2)}`) => ({
    version: '0',
    id,
    'detail-type': 'Launch Managed Job',
    source: 'skyless.client',
    account: '123456789012',
    time: '2026-11-20T10:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail,
  });

  it('submits a job with the same validation; redelivery of the event makes one job', async () => {
    const event = launch({ yaml: VALID, name: 'via-bus', envs: {} });
    const first = handled(await handler(event));
    const again = handled(await handler(event));
    expect(first).toMatchObject({ result: 'SUBMITTED', duplicate: false });
    expect(again).toMatchObject({ jobId: first.jobId, duplicate: true });
    expect(await d.deps.store.getJob(first.jobId)).toMatchObject({ name: 'via-bus', status: 'PENDING', user: 'events:123456789012' });
    expect(await d.executionNames()).toContain(`job-${first.jobId}`);
  });

  it('events with the same idempotencyKey make one job even with different event ids', async () => {
    const a = handled(await handler(launch({ yaml: VALID, idempotencyKey: 'nightly-2026-11-20' }, 'id-1')));
    const b = handled(await handler(launch({ yaml: VALID, idempotencyKey: 'nightly-2026-11-20' }, 'id-2')));
    expect(b.jobId).toBe(a.jobId);
    expect(b.duplicate).toBe(true);
  });

  it('an invalid spec or a malformed detail becomes a FAILED_PRECHECKS job naming the problem', async () => {
    const bad = handled(await handler(launch({ yaml: INVALID, name: 'bad-spec' })));
    expect(bad.result).toBe('FAILED_PRECHECKS');
    expect(bad.errors!.join('\n')).toMatch(/A1000/);
    const malformed = handled(await handler(launch({ name: 'no-yaml', envs: { A: 1 }, extra: true })));
    expect(malformed.result).toBe('FAILED_PRECHECKS');
    expect(malformed.errors).toEqual([
      'detail.extra is not a field of Launch Managed Job (yaml, name, envs, idempotencyKey)',
      'detail.yaml is required: the task YAML as a string',
      'detail.envs must be an object of strings',
    ]);
    expect(await d.deps.store.getJob(malformed.jobId)).toMatchObject({ name: 'no-yaml', status: 'FAILED_PRECHECKS' });
  });

  it('ignores the event from any source but skyless.client', async () => {
    const spoofed = { ...launch({ yaml: VALID }), source: 'skyless' };
    expect(await handler(spoofed)).toMatchObject({ handled: false });
  });

  it('answers on the bus: Managed Job Submitted, and the FAILED_PRECHECKS status change, reach the integration queue', async () => {
    await d.receiveEvents(0); // drain what earlier tests published
    const ok = handled(await handler(launch({ yaml: VALID, idempotencyKey: 'answer-me' }, 'answer-1')));
    const bad = handled(await handler(launch({ yaml: INVALID, name: 'answer-bad' }, 'answer-2')));
    const received = await d.receiveEvents(3);
    const submitted = received.filter((e) => e['detail-type'] === 'Managed Job Submitted');
    expect(submitted.map((e) => e.detail)).toEqual([
      { version: '1', jobId: ok.jobId, name: 'from-the-yaml', result: 'SUBMITTED', via: { event: { id: 'answer-1', idempotencyKey: 'answer-me' } } },
      { version: '1', jobId: bad.jobId, name: 'answer-bad', result: 'FAILED_PRECHECKS', errors: bad.errors, via: { event: { id: 'answer-2' } } },
    ]);
    const change = received.find((e) => e['detail-type'] === 'Managed Job Status Change');
    expect(change).toMatchObject({ source: 'skyless', detail: { version: '1', jobId: bad.jobId, status: 'FAILED_PRECHECKS', previous: 'PENDING', jobStatus: 'FAILED_PRECHECKS' } });
  });
});
