// The single-table design of the job store, as data. The CDK stack, the local bootstrap
// (adapters/local/dynalite.ts `ensureTable`) and the test harness all create the table from this one
// description, so the deployed table, the local one and the tested one cannot drift apart.
// docs/store-design.md explains every item type and access pattern.
//
// Terms:
// - "job item": one per job, holds the whole JobRecord (JSON) plus the derived index attributes below.
// - "queue index": a GSI whose sort key is `jobOrder` (the job ID zero-padded), so that a Query with
//   ScanIndexForward=false lists newest first. One queue index per common filter (all, active, per
//   status, per user, per user active), so a first page never reads jobs that the filter rejects.
// - "sparse index": an index whose key attribute is written only on some items (e.g. non-terminal
//   jobs); items without it are simply absent from the index and cost nothing there.

import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

export const DEFAULT_TABLE_NAME = 'skyless';

/** Attribute names of the table and its indexes. Every index key attribute is a string (S). */
export const ATTR = {
  /** Table partition key: `JOB#<id>`, `COUNTER#jobId`, `CLAIM#<key>`. */
  pk: 'pk',
  /** Table sort key: `JOB`, `ATT#<task>#<attempt>`, `EVT#<time>#<seq>#<random>`, `COUNTER`, `CLAIM`. */
  sk: 'sk',
  /** Item type, for humans reading the table (`JOB`, `ATTEMPT`, `EVENT`, `COUNTER`, `CLAIM`). */
  kind: 'kind',
  /** Optimistic-concurrency version of job and attempt items (number). */
  version: 'version',
  /** The record as a JSON string (job, attempt without nodes/state/version, event). */
  data: 'data',
  /** Attempt state (PROVISIONING | RUNNING | ENDED), a native attribute so heartbeats can be refused after ENDED. */
  attemptState: 'attemptState',
  /** Attempt nodes as a map keyed by rank ("0", "1", …), so one heartbeat updates one node in place. */
  nodes: 'nodes',
  /** Counter value (number) of the job-ID counter item. */
  counterValue: 'counterValue',
  /** Claim value and expiry (epoch seconds; the table's TTL attribute) of idempotency claims. */
  claimValue: 'claimValue',
  expiresAt: 'expiresAt',

  // Job item: derived index attributes (never read back; the JSON in `data` is the truth).
  /** Zero-padded job ID: the sort key of every queue index (newest first = descending). */
  jobOrder: 'jobOrder',
  /** Constant `JOB` on every job item: the partition of the all-jobs queue index. */
  queueAll: 'queueAll',
  /** Constant `ACTIVE`, only while the job is not terminal (sparse). */
  queueActive: 'queueActive',
  /** The job's status. */
  queueStatus: 'queueStatus',
  /** The job's user (always present; partition of the per-user queue index). */
  jobUser: 'jobUser',
  /** The job's user, only while the job is not terminal (sparse). */
  queueUserActive: 'queueUserActive',
  /** Projected into the queue indexes so name/pool filters run inside the index. */
  jobName: 'jobName',
  jobPool: 'jobPool',
  /** Slot state, only while the job is not terminal and its slot is not NONE (sparse). */
  slotState: 'slotState',
  /** `<1e6 - priority, 7 digits>#<slotSince, 15 digits>#<jobId, 12 digits>`: admission order ascending. */
  slotOrder: 'slotOrder',
} as const;

export const INDEX = {
  queueAll: 'queue-all',
  queueActive: 'queue-active',
  queueStatus: 'queue-status',
  queueUser: 'queue-user',
  queueUserActive: 'queue-user-active',
  slot: 'slot',
} as const;

export type IndexName = (typeof INDEX)[keyof typeof INDEX];

export interface IndexDesign {
  name: IndexName;
  partitionKey: string;
  sortKey: string;
  projection: { type: 'KEYS_ONLY' } | { type: 'INCLUDE'; nonKeyAttributes: string[] };
  /** What the index serves (documentation that travels with the data). */
  purpose: string;
}

export interface TableDesign {
  defaultTableName: string;
  partitionKey: string;
  sortKey: string;
  billingMode: 'PAY_PER_REQUEST';
  /** Enabled by the CDK stack (UpdateTimeToLive); dynalite has no TTL, claimOnce checks expiry itself. */
  timeToLiveAttribute: string;
  /** Enabled by the CDK stack. */
  pointInTimeRecovery: boolean;
  indexes: IndexDesign[];
}

// The queue indexes project only the attributes that filters read (user, name, pool). They never change
// after submit, so a job write that does not move an index key (most writes: wait tokens, durations,
// attempts) does not write to these indexes at all. Full records are then read from the table by key.
const QUEUE_FILTER_ATTRIBUTES = [ATTR.jobUser, ATTR.jobName, ATTR.jobPool];

export const TABLE_DESIGN: TableDesign = {
  defaultTableName: DEFAULT_TABLE_NAME,
  partitionKey: ATTR.pk,
  sortKey: ATTR.sk,
  billingMode: 'PAY_PER_REQUEST',
  timeToLiveAttribute: ATTR.expiresAt,
  pointInTimeRecovery: true,
  indexes: [
    {
      name: INDEX.queueAll,
      partitionKey: ATTR.queueAll,
      sortKey: ATTR.jobOrder,
      projection: { type: 'INCLUDE', nonKeyAttributes: QUEUE_FILTER_ATTRIBUTES },
      purpose: 'every job, newest first (queue --all-users)',
    },
    {
      name: INDEX.queueActive,
      partitionKey: ATTR.queueActive,
      sortKey: ATTR.jobOrder,
      projection: { type: 'INCLUDE', nonKeyAttributes: QUEUE_FILTER_ATTRIBUTES },
      purpose: 'non-terminal jobs only (skipFinished, listActiveJobIds); sparse',
    },
    {
      name: INDEX.queueStatus,
      partitionKey: ATTR.queueStatus,
      sortKey: ATTR.jobOrder,
      projection: { type: 'INCLUDE', nonKeyAttributes: QUEUE_FILTER_ATTRIBUTES },
      purpose: 'jobs in one status, newest first (queue --status)',
    },
    {
      name: INDEX.queueUser,
      partitionKey: ATTR.jobUser,
      sortKey: ATTR.jobOrder,
      projection: { type: 'INCLUDE', nonKeyAttributes: [ATTR.jobName, ATTR.jobPool] },
      purpose: "one user's jobs, newest first (the default queue)",
    },
    {
      name: INDEX.queueUserActive,
      partitionKey: ATTR.queueUserActive,
      sortKey: ATTR.jobOrder,
      projection: { type: 'INCLUDE', nonKeyAttributes: QUEUE_FILTER_ATTRIBUTES },
      purpose: "one user's non-terminal jobs (queue --skip-finished); sparse",
    },
    {
      name: INDEX.slot,
      partitionKey: ATTR.slotState,
      sortKey: ATTR.slotOrder,
      projection: { type: 'KEYS_ONLY' },
      purpose: 'scheduler: jobs per slot state in admission order, and counts; sparse',
    },
  ],
};

/** The CreateTable request for the design (DynamoDB, dynalite and moto accept it as is). */
export function createTableInput(tableName: string = DEFAULT_TABLE_NAME): CreateTableCommandInput {
  const keyAttributes = new Set<string>([TABLE_DESIGN.partitionKey, TABLE_DESIGN.sortKey]);
  for (const index of TABLE_DESIGN.indexes) {
    keyAttributes.add(index.partitionKey);
    keyAttributes.add(index.sortKey);
  }
  return {
    TableName: tableName,
    BillingMode: TABLE_DESIGN.billingMode,
    AttributeDefinitions: [...keyAttributes].map((name) => ({ AttributeName: name, AttributeType: 'S' })),
    KeySchema: [
      { AttributeName: TABLE_DESIGN.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE_DESIGN.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: TABLE_DESIGN.indexes.map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' },
        { AttributeName: index.sortKey, KeyType: 'RANGE' },
      ],
      Projection:
        index.projection.type === 'INCLUDE'
          ? { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.projection.nonKeyAttributes] }
          : { ProjectionType: 'KEYS_ONLY' },
    })),
  };
}
