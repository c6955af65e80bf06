// The cost meter turns operations into billable units; bench:scale multiplies those by prices. These
// tests pin the units to DynamoDB's and Lambda's billing rules on a real dynalite, so a cost figure
// the bench prints is only as wrong as the public price list.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { startDynalite, ensureTable, type RunningDynalite } from '../../../adapters/local/dynalite.ts';
import { meterDynamo, itemSize } from '../../../adapters/metered/dynamo-meter.ts';
import { CostMeter, diffUsage, invocationProfile, lambdaGbSeconds, modelledLambda, scaleUsage } from '../../../adapters/metered/meter.ts';
import { ATTR, INDEX } from '../../../adapters/aws/table-design.ts';

const TABLE = 'meter-test';
let dyn: RunningDynalite;
let low: DynamoDBClient;
let doc: DynamoDBDocumentClient;
let meter: CostMeter;

beforeAll(async () => {
  dyn = await startDynalite();
  low = new DynamoDBClient({ endpoint: dyn.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  await ensureTable(low, TABLE);
  meter = new CostMeter();
  meterDynamo(low, meter);
  doc = DynamoDBDocumentClient.from(low);
});

afterAll(async () => {
  low?.destroy();
  await dyn?.close();
});

/** The usage of one phase. */
async function measure(phase: () => Promise<unknown>) {
  const before = meter.snapshot();
  await phase();
  return diffUsage(before, meter.snapshot());
}

/** A job item as DynamoJobStore writes it: `data` plus the derived index attributes. */
function jobItem(id: number, o: { status: string; active: boolean; data?: string; slot?: string }) {
  return {
    [ATTR.pk]: `JOB#${id}`,
    [ATTR.sk]: 'JOB',
    [ATTR.kind]: 'JOB',
    [ATTR.version]: 1,
    [ATTR.data]: o.data ?? '{}',
    [ATTR.jobOrder]: String(id).padStart(12, '0'),
    [ATTR.queueAll]: 'JOB',
    [ATTR.queueStatus]: o.status,
    [ATTR.jobUser]: 'alice',
    [ATTR.jobName]: 'train',
    ...(o.active ? { [ATTR.queueActive]: 'ACTIVE', [ATTR.queueUserActive]: 'alice' } : {}),
    ...(o.slot ? { [ATTR.slotState]: o.slot, [ATTR.slotOrder]: `0999999#000000000000001#${String(id).padStart(12, '0')}` } : {}),
  };
}

describe('item size (DynamoDB rules: name bytes + value bytes)', () => {
  it('counts strings by UTF-8 bytes, numbers by significant digits, and list/map overheads', () => {
    expect(itemSize({ pk: 'JOB#1' })).toBe(2 + 5);
    expect(itemSize({ s: 'é' })).toBe(1 + 2);
    // 123: ceil(3 digits / 2) + 1; 0.5: one significant digit → 1 + 1.
    expect(itemSize({ n: 123, m: 0.5 })).toBe(1 + 3 + 1 + 2);
    expect(itemSize({ b: true, z: null })).toBe(2 + 2);
    // A list: 3 bytes + 1 per element + the elements.
    expect(itemSize({ l: ['ab', 'c'] })).toBe(1 + 3 + (1 + 2) + (1 + 1));
    // A map: 3 bytes + per entry 1 + its name + its value.
    expect(itemSize({ m: { k: 'v' } })).toBe(1 + 3 + 1 + 1 + 1);
  });
});

describe('DynamoDB request units on dynalite', () => {
  it('bills a write per KB and a read per 4 KB (half when eventually consistent)', async () => {
    const item = { pk: 'BLOB#1', sk: 'BLOB', payload: 'x'.repeat(2500) };
    const put = await measure(() => doc.send(new PutCommand({ TableName: TABLE, Item: item })));
    expect(put.ddbRequests).toBe(1);
    expect(put.ddbWriteUnits).toBe(3);
    expect(put.ddbIndexWriteUnits).toBe(0);

    const eventual = await measure(() => doc.send(new GetCommand({ TableName: TABLE, Key: { pk: 'BLOB#1', sk: 'BLOB' } })));
    expect(eventual.ddbReadUnits).toBe(0.5);
    const strong = await measure(() => doc.send(new GetCommand({ TableName: TABLE, Key: { pk: 'BLOB#1', sk: 'BLOB' }, ConsistentRead: true })));
    expect(strong.ddbReadUnits).toBe(1);
  });

  it('bills an empty query its minimum, and a failed conditional write like a write', async () => {
    const empty = await measure(() =>
      doc.send(new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': 'NOBODY' } })),
    );
    expect(empty.ddbReadUnits).toBe(0.5);

    const failed = await measure(() =>
      doc
        .send(new PutCommand({ TableName: TABLE, Item: { pk: 'BLOB#1', sk: 'BLOB' }, ConditionExpression: 'attribute_not_exists(pk)' }))
        .catch((err: Error) => expect(err.name).toBe('ConditionalCheckFailedException')),
    );
    expect(failed.ddbFailedConditionalWrites).toBe(1);
    expect(failed.ddbWriteUnits).toBe(1);
  });

  it('bills index writes only when an index entry appears, moves, changes its projection or disappears', async () => {
    // New job, active, waiting for a slot: one entry in queue-all, -active, -status, -user,
    // -user-active and slot; each small entry is 1 WRU.
    const created = await measure(() => doc.send(new PutCommand({ TableName: TABLE, Item: jobItem(1, { status: 'PENDING', active: true, slot: 'WAITING' }) })));
    expect(created.ddbIndexWriteUnits).toBe(6);
    expect(created.ddbWriteUnits).toBe(1 + 6);

    // Only the record's JSON changes (a token, a duration): no index is touched.
    const quiet = await measure(() => doc.send(new PutCommand({ TableName: TABLE, Item: jobItem(1, { status: 'PENDING', active: true, slot: 'WAITING', data: '{"x":1}' }) })));
    expect(quiet.ddbIndexWriteUnits).toBe(0);

    // Status moves (queue-status key changes: delete + put = 2) and the slot key changes (2).
    const moved = await measure(() => doc.send(new PutCommand({ TableName: TABLE, Item: jobItem(1, { status: 'STARTING', active: true, slot: 'LAUNCHING' }) })));
    expect(moved.ddbIndexWriteUnits).toBe(4);

    // Terminal: leaves queue-active, queue-user-active and slot (1 each); queue-status moves (2).
    const ended = await measure(() => doc.send(new PutCommand({ TableName: TABLE, Item: jobItem(1, { status: 'SUCCEEDED', active: false }) })));
    expect(ended.ddbIndexWriteUnits).toBe(3 + 2);

    // What the meter assumed is what dynalite holds: the job is in queue-status under its new status only.
    const inStatus = async (status: string) =>
      (
        await doc.send(
          new QueryCommand({ TableName: TABLE, IndexName: INDEX.queueStatus, KeyConditionExpression: '#s = :s', ExpressionAttributeNames: { '#s': ATTR.queueStatus }, ExpressionAttributeValues: { ':s': status } }),
        )
      ).Count;
    expect(await inStatus('SUCCEEDED')).toBe(1);
    expect(await inStatus('STARTING')).toBe(0);
  });
});

describe('Lambda usage', () => {
  it('attributes downstream calls to the invocation making them, and models duration from compute + latencies', async () => {
    const m = new CostMeter();
    const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const before = m.snapshot();
    for (let i = 0; i < 2; i += 1) {
      await m.invocation('api', 1024, async () => {
        await m.timed('dynamodb', () => wait(20));
        await m.timed('stepfunctions', () => wait(5));
      });
    }
    // A call outside any invocation is no Lambda's.
    await m.timed('dynamodb', () => wait(1));
    const u = diffUsage(before, m.snapshot());
    const api = u.lambda.api;
    expect(api.invocations).toBe(2);
    expect(api.calls).toMatchObject({ dynamodb: 2, stepfunctions: 2, ec2: 0 });
    expect(api.ioMs).toBeGreaterThanOrEqual(2 * 24);
    expect(api.billedMs).toBeGreaterThanOrEqual(api.ioMs);

    const profile = invocationProfile(u);
    expect(profile.api.calls.dynamodb).toBe(1);
    expect(profile.api.computeMs).toBeGreaterThanOrEqual(1);
    // On AWS latencies: per invocation compute + 10 ms (DynamoDB) + 30 ms (Step Functions).
    const modelled = modelledLambda(u, { api: { computeMs: 2, calls: profile.api.calls } }, { dynamodb: 10, stepfunctions: 30, eventbridge: 0, s3: 0, ec2: 0, lambda: 0 });
    expect(modelled.lambda.api.billedMs).toBe(2 * (2 + 10 + 30));
    expect(lambdaGbSeconds(modelled)).toBeCloseTo((84 / 1000) * 1, 10);
    expect(lambdaGbSeconds(scaleUsage(modelled, 0.5))).toBeCloseTo(0.042, 10);
  });
});
