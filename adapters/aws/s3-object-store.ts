// ObjectStore on one S3 bucket: job files uploaded by the CLI, agent logs, S3 submissions and their
// result objects. Presigned URLs let a node (or the CLI) move exactly one object without AWS
// credentials of its own.
//
// A presigned URL is signed with the credentials of whoever signs it (on Lambda: the function
// role's temporary credentials), so it stops working when those credentials expire even if
// `expiresSeconds` is longer. Agents fetch their files right after registering, well within that.

import {
  DeleteObjectsCommand,
  GetObjectCommand,
  PutObjectCommand,
  paginateListObjectsV2,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { ObjectInfo, ObjectStore } from '../../core/ports.ts';
import { ValidationError } from '../../core/errors.ts';

/** S3 answers at most 1000 keys per ListObjectsV2 page and deletes at most 1000 per DeleteObjects. */
const S3_PAGE_MAX = 1000;
/** SigV4 presigned URLs are valid for at most seven days. */
const PRESIGN_MAX_SECONDS = 7 * 24 * 3600;
const KEY_MAX_BYTES = 1024;

export interface S3ObjectStoreOptions {
  client: S3Client;
  bucket: string;
  /** Keys per ListObjectsV2 page (1..1000, default 1000); tests lower it to exercise pagination. */
  pageSize?: number;
}

/** DeleteObjects reported per-key failures (the successfully deleted keys stay deleted). */
export class ObjectDeleteError extends Error {
  override readonly name = 'ObjectDeleteError' as const;
  constructor(
    message: string,
    readonly failures: { key: string; code: string; message: string }[],
  ) {
    super(message);
  }
}

function checkKey(key: string, what: string): void {
  if (typeof key !== 'string' || key.length === 0 || Buffer.byteLength(key) > KEY_MAX_BYTES) {
    throw new ValidationError(`${what}: object key must be a non-empty string of at most ${KEY_MAX_BYTES} bytes, got '${String(key).slice(0, 80)}'`);
  }
}

function checkExpiry(expiresSeconds: number, what: string): void {
  if (!Number.isInteger(expiresSeconds) || expiresSeconds < 1 || expiresSeconds > PRESIGN_MAX_SECONDS) {
    throw new ValidationError(`${what}: expiresSeconds must be an integer from 1 to ${PRESIGN_MAX_SECONDS} (7 days), got ${expiresSeconds}`);
  }
}

function isNoSuchKey(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

export class S3ObjectStore implements ObjectStore {
  private readonly client: S3Client;
  readonly bucket: string;
  private readonly pageSize: number;

  constructor(options: S3ObjectStoreOptions) {
    if (!options.bucket) throw new ValidationError('S3ObjectStore: bucket is required');
    const pageSize = options.pageSize ?? S3_PAGE_MAX;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > S3_PAGE_MAX) {
      throw new ValidationError(`S3ObjectStore: pageSize must be an integer from 1 to ${S3_PAGE_MAX}, got ${pageSize}`);
    }
    this.client = options.client;
    this.bucket = options.bucket;
    this.pageSize = pageSize;
  }

  async put(key: string, body: Uint8Array | string, contentType?: string): Promise<void> {
    checkKey(key, 'put');
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
        ...(contentType ? { ContentType: contentType } : {}),
      }),
    );
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    checkKey(key, 'get');
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (!out.Body) return new Uint8Array();
      return await out.Body.transformToByteArray();
    } catch (err) {
      if (isNoSuchKey(err)) return undefined;
      throw err;
    }
  }

  /** Every object under `prefix`, in S3's (UTF-8 binary) key order, across all pages. */
  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    for await (const page of this.pages(prefix)) out.push(...page);
    return out;
  }

  private async *pages(prefix: string): AsyncGenerator<ObjectInfo[]> {
    for await (const page of paginateListObjectsV2({ client: this.client, pageSize: this.pageSize }, { Bucket: this.bucket, Prefix: prefix })) {
      yield (page.Contents ?? []).filter((o) => o.Key !== undefined).map((o) => ({ key: o.Key!, size: Number(o.Size ?? 0) }));
    }
  }

  /**
   * Deletes every object under `prefix` (one DeleteObjects per listed page of at most 1000 keys) and
   * returns how many were deleted. An empty prefix is refused: it would empty the whole bucket.
   */
  async deletePrefix(prefix: string): Promise<number> {
    if (typeof prefix !== 'string' || prefix.length === 0) {
      throw new ValidationError('deletePrefix: prefix must be non-empty (an empty prefix would delete the whole bucket)');
    }
    let deleted = 0;
    for await (const page of this.pages(prefix)) {
      if (page.length === 0) continue;
      const out = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: page.map((o) => ({ Key: o.key })), Quiet: true },
        }),
      );
      const failures = (out.Errors ?? []).map((e) => ({ key: e.Key ?? '?', code: e.Code ?? 'Unknown', message: e.Message ?? '' }));
      if (failures.length > 0) {
        throw new ObjectDeleteError(
          `S3 DeleteObjects in ${this.bucket} failed for ${failures.length} key(s) under '${prefix}': ` +
            failures.slice(0, 3).map((f) => `${f.key} (${f.code})`).join(', '),
          failures,
        );
      }
      deleted += page.length;
    }
    return deleted;
  }

  async presignGet(key: string, expiresSeconds: number): Promise<string> {
    checkKey(key, 'presignGet');
    checkExpiry(expiresSeconds, 'presignGet');
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn: expiresSeconds });
  }

  /**
   * A URL for one HTTP PUT of the object's bytes. No content type or checksum is signed, so any
   * client (curl, fetch) can upload with whatever Content-Type header it sends.
   */
  async presignPut(key: string, expiresSeconds: number): Promise<string> {
    checkKey(key, 'presignPut');
    checkExpiry(expiresSeconds, 'presignPut');
    return getSignedUrl(this.client, new PutObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn: expiresSeconds });
  }
}
