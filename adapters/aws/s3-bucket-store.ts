// BucketStore on S3: the control plane creates a storage mount's named bucket when it does not
// exist (in the job's region), and deletes the ones it created with `persistent: false`.

import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  type BucketLocationConstraint,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { BucketStore } from '../../core/ports.ts';
import { PrecheckError, TransientError } from '../../core/errors.ts';

export interface S3BucketStoreOptions {
  client: S3Client;
  /** Region for a bucket whose job runs on another cloud (default: the client's region). */
  defaultRegion?: string;
}

interface AwsError {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const status = (err: unknown) => (err as AwsError)?.$metadata?.httpStatusCode;
const named = (err: unknown, ...names: string[]) => names.includes((err as AwsError)?.name ?? '');

function translate(err: unknown, name: string, action: string): never {
  if (named(err, 'SlowDown', 'ThrottlingException', 'RequestLimitExceeded') || status(err) === 503) {
    throw new TransientError(`s3://${name}: ${action}: ${(err as AwsError).message ?? 'throttled'}`, (err as AwsError).name);
  }
  if (named(err, 'AccessDenied') || status(err) === 403) {
    throw new PrecheckError(`s3://${name}: ${action} was denied: the bucket belongs to another account, or the control plane may not ${action} (it needs s3:CreateBucket, s3:DeleteBucket, s3:ListBucket, s3:DeleteObject on it)`, 'AccessDenied');
  }
  if (named(err, 'BucketAlreadyExists')) {
    throw new PrecheckError(`s3://${name}: the name is taken by another AWS account (bucket names are global); choose another name`, 'BucketAlreadyExists');
  }
  if (named(err, 'InvalidBucketName')) throw new PrecheckError(`s3://${name}: invalid bucket name (3-63 lowercase letters, digits, '.' or '-')`, 'InvalidBucketName');
  throw err;
}

export class S3BucketStore implements BucketStore {
  constructor(private readonly o: S3BucketStoreOptions) {}

  async ensure(name: string, region?: string): Promise<'created' | 'existed'> {
    try {
      await this.o.client.send(new HeadBucketCommand({ Bucket: name }));
      return 'existed';
    } catch (err) {
      if (!(status(err) === 404 || named(err, 'NotFound', 'NoSuchBucket'))) translate(err, name, 'check the bucket');
    }
    const where = region ?? this.o.defaultRegion ?? (await this.o.client.config.region());
    try {
      await this.o.client.send(
        new CreateBucketCommand({
          Bucket: name,
          // us-east-1 is S3's default location and must not be named.
          ...(where && where !== 'us-east-1' ? { CreateBucketConfiguration: { LocationConstraint: where as BucketLocationConstraint } } : {}),
        }),
      );
      return 'created';
    } catch (err) {
      // Another launch of ours created it in between (this account owns it).
      if (named(err, 'BucketAlreadyOwnedByYou')) return 'existed';
      translate(err, name, 'create the bucket');
    }
  }

  async delete(name: string): Promise<void> {
    try {
      // A bucket must be empty to be deleted: remove every object, a page at a time.
      for (;;) {
        const page = await this.o.client.send(new ListObjectsV2Command({ Bucket: name, MaxKeys: 1000 }));
        const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
        if (keys.length === 0) break;
        await this.o.client.send(new DeleteObjectsCommand({ Bucket: name, Delete: { Objects: keys, Quiet: true } }));
      }
      await this.o.client.send(new DeleteBucketCommand({ Bucket: name }));
    } catch (err) {
      if (named(err, 'NoSuchBucket') || status(err) === 404) return;
      translate(err, name, 'delete the bucket');
    }
  }
}
