// The JobStore contract against DynamoJobStore on moto's DynamoDB (moto_server, which must be
// installed: the suite fails, never skips, without it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DynamoJobStore } from '../../../adapters/aws/dynamo-job-store.ts';
import { ensureTable } from '../../../adapters/local/dynalite.ts';
import { awsTestClientConfig, MOTO_MISSING_MESSAGE, resetMoto, startMoto, type RunningMoto } from '../../support/moto.ts';
import { uniqueTableName } from '../../support/dynalite.ts';
import { describeJobStoreContract } from './store-contract.ts';

let moto: RunningMoto;
let client: DynamoDBClient;
beforeAll(async () => {
  moto = await startMoto();
  client = new DynamoDBClient(awsTestClientConfig(moto.endpoint));
});
afterAll(async () => {
  client?.destroy();
  await moto?.stop();
});

describeJobStoreContract('DynamoJobStore on moto', async ({ clock }) => {
  const tableName = uniqueTableName();
  await ensureTable(client, tableName);
  return { store: new DynamoJobStore({ client, tableName, clock }), close: async () => {} };
});

// Runs after the contract suite (tests in a file run in order): reset wipes every table.
describe('moto harness', () => {
  it('fails loudly, naming the fix, when moto_server is not installed', async () => {
    await expect(startMoto({ command: 'moto_server_that_does_not_exist' })).rejects.toThrow(MOTO_MISSING_MESSAGE);
  });

  it('resets every service state', async () => {
    const tableName = uniqueTableName();
    await ensureTable(client, tableName);
    expect((await client.send(new ListTablesCommand({}))).TableNames).toContain(tableName);
    await resetMoto(moto.endpoint);
    expect((await client.send(new ListTablesCommand({}))).TableNames ?? []).toEqual([]);
  });
});
