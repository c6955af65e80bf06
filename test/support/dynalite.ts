// dynalite for tests: an in-memory DynamoDB on 127.0.0.1 with an SDK client already pointed at it.
//
//   let db: TestDynalite;
//   beforeAll(async () => { db = await startTestDynalite(); });
//   afterAll(async () => { await db?.close(); });
//   // per test: const table = uniqueTableName(); await ensureTable(db.client, table);
//
// Fresh table names per test isolate tests without restarting the server (table creation is instant).

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startDynalite, type RunningDynalite } from '../../adapters/local/dynalite.ts';
import { awsTestClientConfig } from './moto.ts';

export interface TestDynalite {
  endpoint: string;
  port: number;
  /** Low-level client for the server (fake credentials, us-east-1). */
  client: DynamoDBClient;
  /** Destroys the client, then stops the server. */
  close(): Promise<void>;
}

export async function startTestDynalite(options: { path?: string } = {}): Promise<TestDynalite> {
  const server: RunningDynalite = await startDynalite({ path: options.path, port: 0 });
  const client = new DynamoDBClient(awsTestClientConfig(server.endpoint));
  return {
    endpoint: server.endpoint,
    port: server.port,
    client,
    async close() {
      client.destroy();
      await server.close();
    },
  };
}

let tableCounter = 0;

/** A table name unique within this process (DynamoDB names: 3–255 of [a-zA-Z0-9_.-]). */
export function uniqueTableName(prefix = 'skyless-test'): string {
  tableCounter += 1;
  return `${prefix}-${process.pid}-${tableCounter}`;
}
