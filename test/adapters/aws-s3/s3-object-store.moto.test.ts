// S3ObjectStore against moto_server's S3 with the real SDK client: put/get, listing across pages,
// batched prefix deletion, and presigned URLs used with plain fetch (as the agent and CLI use them).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { S3ObjectStore } from '../../../adapters/aws/s3-object-store.ts';
import { ValidationError } from '../../../core/errors.ts';
import { awsTestClientConfig, startMoto, type RunningMoto } from '../../support/moto.ts';

let moto: RunningMoto;
let client: S3Client;
let bucketNo = 0;

beforeAll(async () => {
  moto = await startMoto();
  client = new S3Client(awsTestClientConfig(moto.endpoint));
});
afterAll(async () => {
  client?.destroy();
  await moto?.stop();
});

async function freshStore(pageSize?: number): Promise<S3ObjectStore> {
  const bucket = `skyless-test-${process.pid}-${++bucketNo}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return new S3ObjectStore({ client, bucket, ...(pageSize ? { pageSize } : {}) });
}

describe('S3ObjectStore on moto', () => {
  it('puts and gets bytes and text; a missing key is undefined', async () => {
    const store = await freshStore();
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    await store.put('logs/1/0/1/0/00000000000000', bytes, 'application/octet-stream');
    await store.put('submit/a.yaml', 'run: echo hi\n', 'text/yaml');
    expect(Buffer.from((await store.get('logs/1/0/1/0/00000000000000'))!)).toEqual(Buffer.from(bytes));
    expect(Buffer.from((await store.get('submit/a.yaml'))!).toString('utf8')).toBe('run: echo hi\n');
    expect(await store.get('submit/missing.yaml')).toBeUndefined();
  });

  it('lists every object under a prefix across pages, in key order, with sizes', async () => {
    const store = await freshStore(2);
    const keys = ['uploads/x/a', 'uploads/x/b', 'uploads/x/c/d', 'uploads/x/e', 'uploads/x/f'];
    for (const [i, k] of keys.entries()) await store.put(k, 'x'.repeat(i + 1));
    await store.put('uploads/y/other', 'not listed');
    const listed = await store.list('uploads/x/');
    expect(listed).toEqual(keys.map((key, i) => ({ key, size: i + 1 })));
    expect(await store.list('nothing/')).toEqual([]);
  });

  it('deletes a prefix in DeleteObjects batches and returns the count, leaving other keys', async () => {
    const seeded = await freshStore();
    for (let i = 0; i < 7; i++) await seeded.put(`uploads/job/${i}`, String(i));
    await seeded.put('uploads/jobber', 'shares the string prefix but not the folder');
    // A client of its own that records each call's keys: 7 keys in pages of 3 = 3 DeleteObjects.
    const counting = new S3Client(awsTestClientConfig(moto.endpoint));
    const deleteBatches: number[] = [];
    counting.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'DeleteObjectsCommand') deleteBatches.push((args.input as { Delete: { Objects: unknown[] } }).Delete.Objects.length);
        return next(args);
      },
      { step: 'initialize' },
    );
    const store = new S3ObjectStore({ client: counting, bucket: seeded.bucket, pageSize: 3 });
    expect(await store.deletePrefix('uploads/job/')).toBe(7);
    expect(deleteBatches).toEqual([3, 3, 1]);
    const left = await client.send(new ListObjectsV2Command({ Bucket: store.bucket }));
    expect((left.Contents ?? []).map((o) => o.Key)).toEqual(['uploads/jobber']);
    expect(await store.deletePrefix('uploads/job/')).toBe(0);
    counting.destroy();
  });

  it('refuses an empty prefix for deletePrefix (it would empty the bucket)', async () => {
    const store = await freshStore();
    await store.put('keep', '1');
    await expect(store.deletePrefix('')).rejects.toThrow(ValidationError);
    expect(await store.get('keep')).toBeDefined();
  });

  it('presigned PUT then presigned GET work with plain fetch and no credentials', async () => {
    const store = await freshStore();
    const putUrl = await store.presignPut('uploads/u1/task-0/workdir.tar.gz', 600);
    expect(putUrl).toMatch(/X-Amz-Signature=/);
    const body = Buffer.from('tarball bytes \u00e9');
    const put = await fetch(putUrl, { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream' } });
    expect(put.status).toBe(200);
    const getUrl = await store.presignGet('uploads/u1/task-0/workdir.tar.gz', 600);
    const got = await fetch(getUrl);
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer())).toEqual(body);
    // The stored object is the uploaded one, read back through the SDK too.
    expect(Buffer.from((await store.get('uploads/u1/task-0/workdir.tar.gz'))!)).toEqual(body);
  });

  it('checks keys and expiries before calling S3', async () => {
    const store = await freshStore();
    await expect(store.put('', 'x')).rejects.toThrow(/non-empty/);
    await expect(store.presignGet('a', 0)).rejects.toThrow(/expiresSeconds/);
    await expect(store.presignPut('a', 8 * 24 * 3600)).rejects.toThrow(/7 days/);
    expect(() => new S3ObjectStore({ client, bucket: '' })).toThrow(/bucket is required/);
    expect(() => new S3ObjectStore({ client, bucket: 'b', pageSize: 1001 })).toThrow(/pageSize/);
  });
});
