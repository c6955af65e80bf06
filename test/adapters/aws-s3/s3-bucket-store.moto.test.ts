// S3BucketStore against moto_server's S3 with the real SDK client: create-if-missing in the job's
// region (idempotent), delete with contents, a missing bucket's delete is a no-op; throttling and
// a name taken by another account (which moto never answers) injected at the SDK boundary.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetBucketLocationCommand, HeadBucketCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { S3BucketStore } from '../../../adapters/aws/s3-bucket-store.ts';
import { PrecheckError, TransientError } from '../../../core/errors.ts';
import { awsTestClientConfig, startMoto, type RunningMoto } from '../../support/moto.ts';

let moto: RunningMoto;
let client: S3Client;
let n = 0;
const fresh = () => `skyless-bkt-${process.pid}-${++n}`;

beforeAll(async () => {
  moto = await startMoto();
  client = new S3Client(awsTestClientConfig(moto.endpoint));
});
afterAll(async () => {
  client?.destroy();
  await moto?.stop();
});

const exists = async (name: string) =>
  client.send(new HeadBucketCommand({ Bucket: name })).then(
    () => true,
    () => false,
  );

describe('S3BucketStore on moto', () => {
  it('creates a missing bucket in the given region, then finds it existing', async () => {
    const store = new S3BucketStore({ client });
    const name = fresh();
    expect(await exists(name)).toBe(false);
    expect(await store.ensure(name, 'eu-west-1')).toBe('created');
    expect(await exists(name)).toBe(true);
    const loc = await client.send(new GetBucketLocationCommand({ Bucket: name }));
    expect(loc.LocationConstraint).toBe('eu-west-1');
    expect(await store.ensure(name, 'eu-west-1')).toBe('existed');
  });

  it('creates in us-east-1 without a location constraint', async () => {
    const store = new S3BucketStore({ client });
    const name = fresh();
    expect(await store.ensure(name, 'us-east-1')).toBe('created');
    const loc = await client.send(new GetBucketLocationCommand({ Bucket: name }));
    expect(loc.LocationConstraint ?? 'us-east-1').toBe('us-east-1');
  });

  it('deletes a bucket with its objects (more than one page), and a missing one quietly', async () => {
    const store = new S3BucketStore({ client });
    const name = fresh();
    await store.ensure(name, 'us-west-2');
    for (let i = 0; i < 1005; i += 100) {
      await Promise.all(Array.from({ length: Math.min(100, 1005 - i) }, (_, k) => client.send(new PutObjectCommand({ Bucket: name, Key: `ckpt/${i + k}`, Body: 'x' }))));
    }
    await store.delete(name);
    expect(await exists(name)).toBe(false);
    await store.delete(name);
  }, 120_000);

  it('a name another account owns is a precheck error naming the bucket; throttling is transient', async () => {
    const mock = mockClient(S3Client);
    try {
      const notFound = new S3ServiceException({ name: 'NotFound', $fault: 'client', $metadata: { httpStatusCode: 404 }, message: 'Not Found' });
      const taken = new S3ServiceException({ name: 'BucketAlreadyExists', $fault: 'client', $metadata: { httpStatusCode: 409 }, message: 'taken' });
      mock.onAnyCommand().rejects(notFound);
      mock.on(HeadBucketCommand).rejects(notFound);
      const { CreateBucketCommand } = await import('@aws-sdk/client-s3');
      mock.on(CreateBucketCommand).rejects(taken);
      const store = new S3BucketStore({ client: new S3Client({ region: 'us-east-1' }) });
      const err = await store.ensure('popular-name', 'us-east-1').catch((e) => e);
      expect(err).toBeInstanceOf(PrecheckError);
      expect(err.message).toMatch(/s3:\/\/popular-name: the name is taken by another AWS account/);

      mock.reset();
      mock.on(HeadBucketCommand).rejects(new S3ServiceException({ name: 'SlowDown', $fault: 'server', $metadata: { httpStatusCode: 503 }, message: 'slow down' }));
      expect(await store.ensure('any-name', 'us-east-1').catch((e) => e)).toBeInstanceOf(TransientError);
    } finally {
      mock.restore();
    }
  });
});
