// The JobStore contract against DynamoJobStore on dynalite (the local mode's database), in memory.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoJobStore } from '../../../adapters/aws/dynamo-job-store.ts';
import { ensureTable } from '../../../adapters/local/dynalite.ts';
import { TABLE_DESIGN } from '../../../adapters/aws/table-design.ts';
import { startTestDynalite, uniqueTableName, type TestDynalite } from '../../support/dynalite.ts';
import { makeAttemptRecord, makeJobRecord, makeNode } from '../../support/records.ts';
import { describeJobStoreContract } from './store-contract.ts';

let db: TestDynalite;
beforeAll(async () => {
  db = await startTestDynalite();
});
afterAll(async () => {
  await db?.close();
});

describeJobStoreContract('DynamoJobStore on dynalite', async ({ clock }) => {
  const tableName = uniqueTableName();
  await ensureTable(db.client, tableName);
  return { store: new DynamoJobStore({ client: db.client, tableName, clock }), close: async () => {} };
});

describe('dynalite runner', () => {
  it('ensureTable creates the designed table once and accepts it on later calls', async () => {
    const tableName = uniqueTableName();
    await ensureTable(db.client, tableName);
    await ensureTable(db.client, tableName);
    const { Table } = await db.client.send(new DescribeTableCommand({ TableName: tableName }));
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect((Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName).sort()).toEqual(
      TABLE_DESIGN.indexes.map((i) => i.name).sort(),
    );
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
  });

  it('persists jobs in a LevelDB directory across restarts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'skyless-dynalite-'));
    try {
      const first = await startTestDynalite({ path: dir });
      const store1 = new DynamoJobStore({ client: first.client, tableName: 'skyless' });
      await ensureTable(first.client, 'skyless');
      const stored = await store1.putJob(makeJobRecord({ jobId: 7 }), null);
      await first.close();

      const second = await startTestDynalite({ path: dir });
      try {
        const store2 = new DynamoJobStore({ client: second.client, tableName: 'skyless' });
        await ensureTable(second.client, 'skyless');
        expect(await store2.getJob(7)).toEqual(stored);
        expect(await store2.allocateJobIds(1)).toEqual([1]);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('works with a caller-supplied document client that keeps undefined values (no marshalling options)', async () => {
    const tableName = uniqueTableName();
    await ensureTable(db.client, tableName);
    const store = new DynamoJobStore({ client: DynamoDBDocumentClient.from(db.client), tableName });
    const attempt = makeAttemptRecord({ jobId: 1, nodes: [makeNode(0, { ip: undefined, lastHeartbeatAt: undefined })] });
    const stored = await store.putAttempt(attempt, null);
    expect(await store.getAttempt(1, 0, 1)).toEqual(stored);
    expect((await store.claimOnce('k', 'v')).claimed).toBe(true);
    expect((await store.putJob(makeJobRecord({ jobId: 1, pool: undefined }), null)).version).toBe(1);
  });
});
