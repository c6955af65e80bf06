// PoolStore on DynamoDB/dynalite, in the job store's table (adapters/aws/table-design.ts):
//  - pool item: pk `POOLS`, sk `POOL#<name>`, the PoolRecord as JSON in `data`, `version`. All pools
//    share one partition, so `listPools` is one Query and needs no index (pools are few);
//  - worker-ID counter: pk `COUNTER#workerId`, sk `COUNTER` (ADD, like the job-ID counter);
//  - a pool's queue is the slot index partition `POOL#<name>` (written by the job store from a job's
//    slot POOL), read keys-only in admission order.
// Every write is ONE conditional PutItem/DeleteItem on the version read; a failed condition is a
// ConflictError, anything else is rethrown.

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { PoolStore } from '../../core/ports.ts';
import type { PoolRecord } from '../../core/pools/records.ts';
import { ConflictError, ValidationError } from '../../core/errors.ts';
import { ATTR, INDEX } from './table-design.ts';
import { MAX_RECORD_BYTES, poolQueuePartition } from './dynamo-job-store.ts';

const POOLS_PK = 'POOLS';
const COUNTER_KEY = { [ATTR.pk]: 'COUNTER#workerId', [ATTR.sk]: 'COUNTER' };

function poolKey(name: string) {
  return { [ATTR.pk]: POOLS_PK, [ATTR.sk]: `POOL#${name}` };
}

function isConditionFailure(err: unknown): boolean {
  return (err as { name?: string })?.name === 'ConditionalCheckFailedException';
}

export class DynamoPoolStore implements PoolStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(options: { client: DynamoDBDocumentClient | DynamoDBClient; tableName: string }) {
    this.doc =
      options.client instanceof DynamoDBDocumentClient
        ? options.client
        : DynamoDBDocumentClient.from(options.client, { marshallOptions: { removeUndefinedValues: true } });
    this.table = options.tableName;
  }

  async getPool(name: string): Promise<PoolRecord | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: poolKey(name), ConsistentRead: true }));
    return out.Item ? (JSON.parse(String(out.Item[ATTR.data])) as PoolRecord) : undefined;
  }

  async putPool(pool: PoolRecord, expectedVersion: number | null): Promise<PoolRecord> {
    const stored: PoolRecord = { ...pool, version: (expectedVersion ?? 0) + 1 };
    const data = JSON.stringify(stored);
    if (Buffer.byteLength(data) > MAX_RECORD_BYTES) throw new ValidationError(`pool ${pool.name}: record of ${Buffer.byteLength(data)} bytes exceeds ${MAX_RECORD_BYTES}`);
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...poolKey(pool.name), [ATTR.kind]: 'POOL', [ATTR.version]: stored.version, [ATTR.data]: data },
          ...(expectedVersion === null
            ? { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': ATTR.pk } }
            : { ConditionExpression: '#version = :expected', ExpressionAttributeNames: { '#version': ATTR.version }, ExpressionAttributeValues: { ':expected': expectedVersion } }),
        }),
      );
    } catch (err) {
      if (isConditionFailure(err)) throw new ConflictError(`pool ${pool.name}: conditional write lost`, `${POOLS_PK}/POOL#${pool.name}`);
      throw err;
    }
    return stored;
  }

  async deletePool(name: string, expectedVersion: number): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: poolKey(name),
          ConditionExpression: '#version = :expected',
          ExpressionAttributeNames: { '#version': ATTR.version },
          ExpressionAttributeValues: { ':expected': expectedVersion },
        }),
      );
    } catch (err) {
      if (isConditionFailure(err)) throw new ConflictError(`pool ${name}: conditional delete lost`, `${POOLS_PK}/POOL#${name}`);
      throw err;
    }
  }

  async listPools(): Promise<PoolRecord[]> {
    const pools: PoolRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': ATTR.pk },
          ExpressionAttributeValues: { ':pk': POOLS_PK },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of out.Items ?? []) pools.push(JSON.parse(String(item[ATTR.data])) as PoolRecord);
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return pools;
  }

  async allocateWorkerIds(count: number): Promise<number[]> {
    if (!Number.isInteger(count) || count < 1 || count > 10_000) throw new ValidationError(`allocateWorkerIds: count must be an integer in [1, 10000], got ${count}`);
    const out = await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: COUNTER_KEY,
        UpdateExpression: 'ADD #value :count SET #kind = :kind',
        ExpressionAttributeNames: { '#value': ATTR.counterValue, '#kind': ATTR.kind },
        ExpressionAttributeValues: { ':count': count, ':kind': 'COUNTER' },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const last = Number(out.Attributes?.[ATTR.counterValue]);
    if (!Number.isInteger(last)) throw new Error('allocateWorkerIds: counter update returned no value');
    return Array.from({ length: count }, (_, i) => last - count + 1 + i);
  }

  async listQueuedJobIds(pool: string, limit: number): Promise<number[]> {
    const ids: number[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: INDEX.slot,
          KeyConditionExpression: '#slot = :slot',
          ExpressionAttributeNames: { '#slot': ATTR.slotState },
          ExpressionAttributeValues: { ':slot': poolQueuePartition(pool) },
          ScanIndexForward: true,
          Limit: limit - ids.length,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of out.Items ?? []) ids.push(Number(String(item[ATTR.pk]).slice('JOB#'.length)));
      startKey = out.LastEvaluatedKey;
    } while (startKey && ids.length < limit);
    return ids;
  }
}
