// The local DynamoDB: dynalite (a DynamoDB-compatible HTTP server in-process) on 127.0.0.1, persisted
// in a LevelDB directory or, without a path, in memory. Local mode and the tests run the very same
// DynamoJobStore against it. dynalite has conditional writes, GSIs and Query/Select COUNT, but no
// transactions, streams, TTL or ReturnValuesOnConditionCheckFailure; the store uses none of them.

import { createRequire } from 'node:module';
import { Agent, type Server } from 'node:http';
import { createConnection, type AddressInfo, type Socket } from 'node:net';
import { rm } from 'node:fs/promises';
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { createTableInput, TABLE_DESIGN } from '../aws/table-design.ts';

interface DynaliteOptions {
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}
type DynaliteFactory = (options: DynaliteOptions) => Server;

// dynalite is CommonJS without type declarations; load it through require with a typed signature.
const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as DynaliteFactory;

export interface StartDynaliteOptions {
  /** LevelDB directory (created if missing). Undefined = in memory, gone when closed. */
  path?: string;
  /** TCP port on 127.0.0.1; 0 or undefined = any free port. */
  port?: number;
  /**
   * Listen on this Unix socket instead of TCP (local mode): only processes that may open the
   * socket's directory reach the store, where a loopback port answers every local user and, through
   * the browser, every web page. Clients connect with `unixSocketRequestHandler`.
   */
  socketPath?: string;
}

export interface RunningDynalite {
  /** `http://127.0.0.1:<port>` (or `http://localhost` on a socket), for the SDK's `endpoint`. */
  endpoint: string;
  /** The TCP port; 0 on a Unix socket. */
  port: number;
  socketPath?: string;
  /** Stops listening and closes the database (flushes LevelDB). Safe to call twice. */
  close(): Promise<void>;
}

/** Starts dynalite on 127.0.0.1. Table state transitions are instant (createTableMs etc. = 0). */
export async function startDynalite(options: StartDynaliteOptions = {}): Promise<RunningDynalite> {
  const server = dynalite({ path: options.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  if (options.socketPath) return listenOnSocket(server, options.socketPath);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(new Error(`dynalite could not listen on 127.0.0.1:${options.port ?? 0}: ${err.message}`));
    server.once('error', onError);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return running(server, `http://127.0.0.1:${port}`, port);
}

async function listenOnSocket(server: Server, socketPath: string): Promise<RunningDynalite> {
  // A socket file left by a process that died is removed; one that answers belongs to a live store.
  const live = await new Promise<boolean>((resolve) => {
    const s: Socket = createConnection(socketPath);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
  if (live) throw new Error(`the store socket ${socketPath} is in use: is another skyless control plane running for this SKYLESS_HOME?`);
  await rm(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(new Error(`dynalite could not listen on ${socketPath}: ${err.message}`));
    server.once('error', onError);
    server.listen(socketPath, () => {
      server.off('error', onError);
      resolve();
    });
  });
  return { ...running(server, 'http://localhost', 0), socketPath };
}

/** The SDK client option that sends every request over `socketPath` (the endpoint's host is ignored). */
export function unixSocketRequestHandler(socketPath: string): { httpAgent: Agent } {
  class SocketAgent extends Agent {
    override createConnection(): Socket {
      return createConnection(socketPath);
    }
  }
  return { httpAgent: new SocketAgent({ keepAlive: true }) };
}

function running(server: Server, endpoint: string, port: number): RunningDynalite {
  let closing: Promise<void> | undefined;
  return {
    endpoint,
    port,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err?: Error) => (err ? reject(err) : resolve()));
        // Keep-alive sockets of SDK clients would hold close() open; nothing more will be served.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

export interface EnsureTableOptions {
  /** Give up waiting for ACTIVE after this long (real DynamoDB needs seconds to minutes). */
  timeoutMs?: number;
  pollMs?: number;
}

/**
 * Creates the job-store table (TABLE_DESIGN) if it does not exist and waits until it and all its
 * indexes are ACTIVE. An existing table that lacks an index of the design is an error naming the
 * missing indexes: the store would fail later in a far less obvious way.
 */
export async function ensureTable(client: DynamoDBClient, tableName: string, options: EnsureTableOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 300_000;
  const pollMs = options.pollMs ?? 50;
  let table = await describeTable(client, tableName);
  if (!table) {
    try {
      await client.send(new CreateTableCommand(createTableInput(tableName)));
    } catch (err) {
      // Another process created it between our describe and create: fine, wait for it below.
      if ((err as Error).name !== 'ResourceInUseException') throw err;
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    table = await describeTable(client, tableName);
    if (table && isActive(table)) break;
    if (Date.now() > deadline) {
      throw new Error(`DynamoDB table ${tableName} is not ACTIVE after ${timeoutMs} ms (status ${table?.TableStatus ?? 'missing'})`);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
  const present = new Set((table.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName));
  const missing = TABLE_DESIGN.indexes.map((i) => i.name).filter((name) => !present.has(name));
  if (missing.length > 0) {
    throw new Error(`DynamoDB table ${tableName} exists but lacks the indexes ${missing.join(', ')} of the job-store design; migrate or delete it`);
  }
}

async function describeTable(client: DynamoDBClient, tableName: string): Promise<TableDescription | undefined> {
  try {
    const out = await client.send(new DescribeTableCommand({ TableName: tableName }));
    return out.Table;
  } catch (err) {
    if ((err as Error).name === 'ResourceNotFoundException') return undefined;
    throw err;
  }
}

function isActive(table: TableDescription): boolean {
  return table.TableStatus === 'ACTIVE' && (table.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE');
}
