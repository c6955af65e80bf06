// JobStore on DynamoDB (and on dynalite, which speaks the same API locally). The table layout is
// adapters/aws/table-design.ts; docs/store-design.md lists every access pattern and its cost.
//
// Invariants:
// - Every job/attempt write is ONE conditional PutItem: `attribute_not_exists(pk)` to create,
//   `version = :expected` otherwise. The stored version is expectedVersion + 1 (1 on create).
//   ConditionalCheckFailedException becomes ConflictError; any other error is rethrown untouched.
// - The record's JSON (`data`) is the truth; the index attributes on the job item are derived from it
//   on every write, so indexes can never disagree with a record that was written successfully.
// - Index reads are eventually consistent, so listings re-read the records from the table
//   (consistent BatchGetItem) and drop any job that no longer matches the query.
// - No transactions and no ReturnValuesOnConditionCheckFailure: dynalite supports neither.
// - Secrets: the job item stores the spec as given. Redaction is the API's job, at its edge.

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
  paginateQuery,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { randomBytes } from 'node:crypto';
import type { Clock, JobPage, JobQuery, JobStore } from '../../core/ports.ts';
import type { AttemptRecord, CancelRequest, JobEvent, JobRecord, NodeRecord, SlotState } from '../../core/job/records.ts';
import { isTerminal, TASK_STATUSES } from '../../core/job/status.ts';
import { ConflictError, TransientError, ValidationError } from '../../core/errors.ts';
import { ATTR, INDEX } from './table-design.ts';

export interface DynamoJobStoreOptions {
  /** A plain client is wrapped in a document client that drops undefined values. */
  client: DynamoDBDocumentClient | DynamoDBClient;
  tableName: string;
  /** Only claimOnce reads the time (claim expiry). Defaults to the system clock. */
  clock?: Clock;
}

/** Largest JSON record accepted on one item; DynamoDB's hard limit is 400 KB including attribute names. */
export const MAX_RECORD_BYTES = 350 * 1024;

const SLOT_STATES: readonly Exclude<SlotState, 'NONE'>[] = ['WAITING', 'LAUNCHING', 'RUNNING'];
const ALL_SLOT_STATES: readonly SlotState[] = ['NONE', ...SLOT_STATES];
const ATTEMPT_STATES: readonly AttemptRecord['state'][] = ['PROVISIONING', 'RUNNING', 'ENDED'];
const STATUS_SET: ReadonlySet<string> = new Set(TASK_STATUSES);

// Key widths. Zero padding makes string order equal numeric order in sort keys.
const JOB_ID_DIGITS = 12;
const TASK_DIGITS = 4;
const ATTEMPT_DIGITS = 6;
const TIME_DIGITS = 15;
const EVENT_SEQUENCE_DIGITS = 12;
/** Priorities are stored inverted (PRIORITY_OFFSET - priority) so that ascending order is highest first. */
const PRIORITY_OFFSET = 1_000_000;
const PRIORITY_DIGITS = 7;

const JOB_SK = 'JOB';
const COUNTER_KEY = { [ATTR.pk]: 'COUNTER#jobId', [ATTR.sk]: 'COUNTER' };
const QUEUE_ALL_VALUE = 'JOB';
const QUEUE_ACTIVE_VALUE = 'ACTIVE';
/** Longest idempotency key accepted (DynamoDB partition keys may be 2048 bytes; leave room for the prefix). */
const MAX_CLAIM_KEY_BYTES = 1024;
const BATCH_GET_MAX = 100;
const BATCH_WRITE_MAX = 25;
const BATCH_RETRIES = 10;

// Orders events appended by this process within the same millisecond (append order); the random
// suffix keeps appends from other processes at the same millisecond from overwriting each other.
let eventSequence = 0;

type Item = Record<string, unknown>;

export class DynamoJobStore implements JobStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly clock: Clock;

  constructor(options: DynamoJobStoreOptions) {
    if (!options.tableName) throw new ValidationError('DynamoJobStore: tableName is required');
    this.doc =
      options.client instanceof DynamoDBDocumentClient
        ? options.client
        : DynamoDBDocumentClient.from(options.client, { marshallOptions: { removeUndefinedValues: true } });
    this.table = options.tableName;
    this.clock = options.clock ?? { now: () => Date.now() };
  }

  // ---- counters -------------------------------------------------------------------------------

  async allocateJobIds(count: number): Promise<number[]> {
    if (!Number.isInteger(count) || count < 1 || count > 100_000) {
      throw new ValidationError(`allocateJobIds: count must be an integer in [1, 100000], got ${count}`);
    }
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
    if (!Number.isInteger(last)) throw new Error(`allocateJobIds: counter update returned no value (${JSON.stringify(out.Attributes)})`);
    return Array.from({ length: count }, (_, i) => last - count + 1 + i);
  }

  // ---- jobs -----------------------------------------------------------------------------------

  async getJob(jobId: number): Promise<JobRecord | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: jobKey(jobId), ConsistentRead: true }),
    );
    return out.Item ? parseJob(out.Item) : undefined;
  }

  async putJob(job: JobRecord, expectedVersion: number | null): Promise<JobRecord> {
    checkExpectedVersion(expectedVersion, `job ${job.jobId}`);
    const stored: JobRecord = { ...job, version: (expectedVersion ?? 0) + 1 };
    const item = jobItem(stored);
    await this.conditionalPut(item, expectedVersion, `job ${job.jobId}`);
    return parseJob(item);
  }

  async listJobs(query: JobQuery): Promise<JobPage> {
    checkLimit(query.limit, 'listJobs');
    const plan = planJobQuery(query);
    if (plan.partitions.length === 0) return { jobs: [] };
    const before = query.cursor === undefined ? undefined : decodeCursor(query.cursor, 'before').jobId;

    // One stream per index partition (several only for a multi-status filter), merged newest first.
    // Each stream stops once it has `limit` matches, so a page reads O(limit × partitions) index items.
    const streams = await Promise.all(
      plan.partitions.map((value) => this.queueStream(plan.index, plan.partitionKey, value, plan.filters, query.limit, before)),
    );
    const matched = streams.flatMap((s) => s.jobIds).sort((a, b) => b - a);
    const taken = matched.slice(0, query.limit);
    const more = matched.length > taken.length || streams.some((s) => !s.exhausted);
    const records = await this.batchGetJobs(taken);
    const jobs = taken.map((id) => records.get(id)).filter((job): job is JobRecord => job !== undefined && matchesQuery(job, query));
    return {
      jobs,
      nextCursor: more && taken.length > 0 ? encodeCursor({ kind: 'before', jobId: taken[taken.length - 1] }) : undefined,
    };
  }

  async listJobsBySlot(slot: Exclude<SlotState, 'NONE'>, limit: number, cursor?: string): Promise<JobPage> {
    checkSlot(slot);
    checkLimit(limit, 'listJobsBySlot');
    const startKey = cursor === undefined ? undefined : decodeCursor(cursor, 'slot', slot).key;
    const { items, more } = await this.firstItems(
      {
        TableName: this.table,
        IndexName: INDEX.slot,
        KeyConditionExpression: '#slot = :slot',
        ExpressionAttributeNames: { '#slot': ATTR.slotState },
        ExpressionAttributeValues: { ':slot': slot },
        ScanIndexForward: true,
      },
      limit,
      startKey,
    );
    const ids = items.map((item) => jobIdFromPk(item[ATTR.pk]));
    const records = await this.batchGetJobs(ids);
    const jobs = ids
      .map((id) => records.get(id))
      .filter((job): job is JobRecord => job !== undefined && job.slot === slot && !isTerminal(job.status));
    // The slot index is KEYS_ONLY: an item read from it is exactly its key, so the last one taken is
    // where the next page starts (whether or not DynamoDB's page ended there).
    const last = items.at(-1);
    return { jobs, nextCursor: more && last ? encodeCursor({ kind: 'slot', slot, key: slotIndexKey(last) }) : undefined };
  }

  async countJobsBySlot(slot: Exclude<SlotState, 'NONE'>): Promise<number> {
    checkSlot(slot);
    let count = 0;
    const pages = paginateQuery(
      { client: this.doc },
      {
        TableName: this.table,
        IndexName: INDEX.slot,
        KeyConditionExpression: '#slot = :slot',
        ExpressionAttributeNames: { '#slot': ATTR.slotState },
        ExpressionAttributeValues: { ':slot': slot },
        Select: 'COUNT',
      },
    );
    for await (const page of pages) count += page.Count ?? 0;
    return count;
  }

  async listActiveJobIds(limit: number, cursor?: string): Promise<{ jobIds: number[]; nextCursor?: string }> {
    checkLimit(limit, 'listActiveJobIds');
    const after = cursor === undefined ? undefined : decodeCursor(cursor, 'after').jobId;
    const { items, more } = await this.firstItems(
      {
        TableName: this.table,
        IndexName: INDEX.queueActive,
        KeyConditionExpression: after === undefined ? '#p = :p' : '#p = :p AND #o > :after',
        ExpressionAttributeNames: { '#p': ATTR.queueActive, '#o': ATTR.jobOrder },
        ExpressionAttributeValues: { ':p': QUEUE_ACTIVE_VALUE, ...(after === undefined ? {} : { ':after': padJobId(after) }) },
        ProjectionExpression: '#o',
        ScanIndexForward: true,
      },
      limit,
    );
    const jobIds = items.map((item) => Number(item[ATTR.jobOrder]));
    return {
      jobIds,
      nextCursor: more && jobIds.length > 0 ? encodeCursor({ kind: 'after', jobId: jobIds[jobIds.length - 1] }) : undefined,
    };
  }

  /**
   * The first `limit` items of a query, read with the SDK's paginator (pages of `limit` items; a
   * page may hold fewer when DynamoDB's 1 MB page limit cuts it). `more` is true when the query may
   * hold items beyond those returned.
   */
  private async firstItems(input: QueryCommandInput, limit: number, startKey?: Item): Promise<{ items: Item[]; more: boolean }> {
    const items: Item[] = [];
    for await (const page of paginateQuery({ client: this.doc, pageSize: limit, startingToken: startKey }, input)) {
      const got = page.Items ?? [];
      const needed = limit - items.length;
      items.push(...got.slice(0, needed));
      if (got.length > needed) return { items, more: true };
      if (items.length >= limit) return { items, more: page.LastEvaluatedKey !== undefined };
    }
    return { items, more: false };
  }

  // ---- attempts -------------------------------------------------------------------------------

  async getAttempt(jobId: number, taskIndex: number, attempt: number): Promise<AttemptRecord | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: attemptKey(jobId, taskIndex, attempt), ConsistentRead: true }),
    );
    return out.Item ? parseAttempt(out.Item) : undefined;
  }

  async listAttempts(jobId: number, taskIndex?: number): Promise<AttemptRecord[]> {
    const prefix = taskIndex === undefined ? 'ATT#' : `ATT#${pad(taskIndex, TASK_DIGITS, 'taskIndex')}#`;
    const items = await this.queryPartition(jobKey(jobId)[ATTR.pk], prefix);
    return items.map(parseAttempt);
  }

  async putAttempt(attempt: AttemptRecord, expectedVersion: number | null): Promise<AttemptRecord> {
    const what = `attempt ${attempt.jobId}/${attempt.taskIndex}/${attempt.attempt}`;
    checkExpectedVersion(expectedVersion, what);
    const item = attemptItem({ ...attempt, version: (expectedVersion ?? 0) + 1 });
    await this.conditionalPut(item, expectedVersion, what);
    return parseAttempt(item);
  }

  async recordHeartbeat(jobId: number, taskIndex: number, attempt: number, rank: number, at: number): Promise<AttemptRecord | undefined> {
    checkNonNegativeInteger(rank, 'recordHeartbeat: rank');
    if (!Number.isFinite(at)) throw new ValidationError(`recordHeartbeat: at must be epoch milliseconds, got ${at}`);
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: attemptKey(jobId, taskIndex, attempt),
          UpdateExpression: 'SET #nodes.#rank.#hb = :at',
          // attribute_exists(nodes.rank): a heartbeat for an unknown node must not fail with a
          // document-path error, nor create a half node; it is refused like one for an ended attempt.
          ConditionExpression: 'attribute_exists(#pk) AND #state <> :ended AND attribute_exists(#nodes.#rank)',
          ExpressionAttributeNames: {
            '#pk': ATTR.pk,
            '#state': ATTR.attemptState,
            '#nodes': ATTR.nodes,
            '#rank': String(rank),
            '#hb': 'lastHeartbeatAt',
          },
          ExpressionAttributeValues: { ':at': at, ':ended': 'ENDED' },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return out.Attributes ? parseAttempt(out.Attributes) : undefined;
    } catch (err) {
      if (isConditionFailure(err)) return undefined;
      throw err;
    }
  }

  // ---- events ---------------------------------------------------------------------------------

  async appendEvents(events: JobEvent[]): Promise<void> {
    const items = events.map(eventItem);
    for (let i = 0; i < items.length; i += BATCH_WRITE_MAX) {
      let requests: Record<string, unknown>[] = items.slice(i, i + BATCH_WRITE_MAX).map((Item) => ({ PutRequest: { Item } }));
      for (let round = 0; requests.length > 0; round++) {
        if (round > BATCH_RETRIES) {
          throw new TransientError(`appendEvents: ${requests.length} events still unprocessed after ${BATCH_RETRIES} retries`);
        }
        if (round > 0) await backoff(round);
        const out = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: requests } }));
        requests = (out.UnprocessedItems?.[this.table] ?? []) as Record<string, unknown>[];
      }
    }
  }

  async listEvents(jobId: number): Promise<JobEvent[]> {
    const items = await this.queryPartition(jobKey(jobId)[ATTR.pk], 'EVT#');
    return items.map((item) => JSON.parse(String(item[ATTR.data])) as JobEvent);
  }

  // ---- bulk cancels ---------------------------------------------------------------------------
  // One partition (CANCEL), sort key REQ#<at, 15 digits>#<id>: a bulk cancel is rare, and every
  // submission, launch and admission pass reads the whole partition (a Query of a few small items).

  async putCancelRequest(request: CancelRequest): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.table, Item: { ...cancelKey(request), [ATTR.kind]: 'CANCEL', [ATTR.data]: JSON.stringify(request) } }));
  }

  async listCancelRequests(): Promise<CancelRequest[]> {
    return (await this.queryPartition('CANCEL', 'REQ#')).map((item) => JSON.parse(String(item[ATTR.data])) as CancelRequest);
  }

  async deleteCancelRequest(request: CancelRequest): Promise<void> {
    await this.doc.send(new DeleteCommand({ TableName: this.table, Key: cancelKey(request) }));
  }

  // ---- idempotency ----------------------------------------------------------------------------

  async claimOnce(key: string, value: string, ttlSeconds?: number): Promise<{ claimed: boolean; value: string }> {
    if (typeof key !== 'string' || key.length === 0 || Buffer.byteLength(key) > MAX_CLAIM_KEY_BYTES) {
      throw new ValidationError(`claimOnce: key must be a non-empty string of at most ${MAX_CLAIM_KEY_BYTES} bytes`);
    }
    if (typeof value !== 'string') throw new ValidationError('claimOnce: value must be a string');
    if (ttlSeconds !== undefined && !(Number.isFinite(ttlSeconds) && ttlSeconds > 0)) {
      throw new ValidationError(`claimOnce: ttlSeconds must be a positive number, got ${ttlSeconds}`);
    }
    const claimKey = { [ATTR.pk]: `CLAIM#${key}`, [ATTR.sk]: 'CLAIM' };
    // A claim past its expiry counts as absent: DynamoDB deletes expired items only eventually, and
    // dynalite never does, so the condition itself enforces the TTL.
    for (let round = 0; round < 3; round++) {
      const nowSeconds = Math.floor(this.clock.now() / 1000);
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.table,
            Item: {
              ...claimKey,
              [ATTR.kind]: 'CLAIM',
              [ATTR.claimValue]: value,
              ...(ttlSeconds === undefined ? {} : { [ATTR.expiresAt]: nowSeconds + Math.ceil(ttlSeconds) }),
            },
            ConditionExpression: 'attribute_not_exists(#pk) OR #exp < :now',
            ExpressionAttributeNames: { '#pk': ATTR.pk, '#exp': ATTR.expiresAt },
            ExpressionAttributeValues: { ':now': nowSeconds },
          }),
        );
        return { claimed: true, value };
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
      }
      const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: claimKey, ConsistentRead: true }));
      const expiresAt = out.Item?.[ATTR.expiresAt];
      if (out.Item && (expiresAt === undefined || Number(expiresAt) >= nowSeconds)) {
        return { claimed: false, value: String(out.Item[ATTR.claimValue]) };
      }
      // The claim expired or was deleted between our put and our read: try to claim it again.
    }
    throw new ConflictError(`claimOnce: key ${key} kept changing while being claimed`, key);
  }

  // ---- helpers --------------------------------------------------------------------------------

  private async conditionalPut(item: Item, expectedVersion: number | null, what: string): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: item,
          ...(expectedVersion === null
            ? { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': ATTR.pk } }
            : {
                ConditionExpression: '#version = :expected',
                ExpressionAttributeNames: { '#version': ATTR.version },
                ExpressionAttributeValues: { ':expected': expectedVersion },
              }),
        }),
      );
    } catch (err) {
      if (isConditionFailure(err)) {
        const expected = expectedVersion === null ? 'it must not exist yet' : `expected version ${expectedVersion}`;
        throw new ConflictError(`${what}: conditional write lost (${expected})`, `${String(item[ATTR.pk])}/${String(item[ATTR.sk])}`);
      }
      throw err;
    }
  }

  /** Every item of one partition whose sort key starts with `prefix`, in sort-key order. */
  private async queryPartition(pk: string, prefix: string): Promise<Item[]> {
    const items: Item[] = [];
    const pages = paginateQuery(
      { client: this.doc },
      {
        TableName: this.table,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: { '#pk': ATTR.pk, '#sk': ATTR.sk },
        ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) items.push(...(page.Items ?? []));
    return items;
  }

  /**
   * Up to `limit` job IDs from one queue-index partition, newest first, below `before`, that pass the
   * filters. `exhausted` is false when the partition may hold more matches.
   */
  private async queueStream(
    index: string,
    partitionKey: string,
    partitionValue: string,
    filters: QueueFilters,
    limit: number,
    before: number | undefined,
  ): Promise<{ jobIds: number[]; exhausted: boolean }> {
    // DynamoDB rejects unused expression names/values, so each is added only with its use.
    const names: Record<string, string> = { '#p': partitionKey };
    const values: Record<string, unknown> = { ':p': partitionValue };
    let keyCondition = '#p = :p';
    if (before !== undefined) {
      keyCondition += ' AND #o < :before';
      names['#o'] = ATTR.jobOrder;
      values[':before'] = padJobId(before);
    }
    const filterParts: string[] = [];
    for (const [attribute, value] of Object.entries(filters)) {
      if (value === undefined) continue;
      const n = filterParts.length;
      names[`#f${n}`] = attribute;
      values[`:f${n}`] = value;
      filterParts.push(`#f${n} = :f${n}`);
    }
    const hasFilter = filterParts.length > 0;
    const jobIds: number[] = [];
    const input: QueryCommandInput = {
      TableName: this.table,
      IndexName: index,
      KeyConditionExpression: keyCondition,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ScanIndexForward: false,
      ...(hasFilter ? { FilterExpression: filterParts.join(' AND ') } : {}),
    };
    // The page size bounds the items *read* (before the filter). Without a filter, read what the
    // listing needs; with one, read ahead a little so a selective filter needs fewer round trips.
    const pageSize = hasFilter ? Math.max(limit * 2, 100) : limit;
    for await (const page of paginateQuery({ client: this.doc, pageSize }, input)) {
      const items = page.Items ?? [];
      const needed = limit - jobIds.length;
      for (const item of items.slice(0, needed)) jobIds.push(Number(item[ATTR.jobOrder]));
      if (items.length > needed) return { jobIds, exhausted: false };
      if (!page.LastEvaluatedKey) return { jobIds, exhausted: true };
      if (jobIds.length >= limit) return { jobIds, exhausted: false };
    }
    return { jobIds, exhausted: true };
  }

  /** Consistent reads of job records by ID (missing ones are absent from the map). */
  private async batchGetJobs(jobIds: number[]): Promise<Map<number, JobRecord>> {
    const found = new Map<number, JobRecord>();
    const unique = [...new Set(jobIds)];
    for (let i = 0; i < unique.length; i += BATCH_GET_MAX) {
      let keys: Item[] = unique.slice(i, i + BATCH_GET_MAX).map(jobKey);
      for (let round = 0; keys.length > 0; round++) {
        if (round > BATCH_RETRIES) {
          throw new TransientError(`BatchGetItem: ${keys.length} job keys still unprocessed after ${BATCH_RETRIES} retries`);
        }
        if (round > 0) await backoff(round);
        const out = await this.doc.send(
          new BatchGetCommand({ RequestItems: { [this.table]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of out.Responses?.[this.table] ?? []) {
          const job = parseJob(item);
          found.set(job.jobId, job);
        }
        keys = (out.UnprocessedKeys?.[this.table]?.Keys ?? []) as Item[];
      }
    }
    return found;
  }
}

// ---- item mapping -----------------------------------------------------------------------------

function jobKey(jobId: number): { pk: string; sk: string } {
  checkJobId(jobId);
  return { [ATTR.pk]: `JOB#${jobId}`, [ATTR.sk]: JOB_SK } as { pk: string; sk: string };
}

function attemptKey(jobId: number, taskIndex: number, attempt: number): Item {
  return {
    [ATTR.pk]: jobKey(jobId)[ATTR.pk],
    [ATTR.sk]: `ATT#${pad(taskIndex, TASK_DIGITS, 'taskIndex')}#${pad(attempt, ATTEMPT_DIGITS, 'attempt')}`,
  };
}

/** The slot index's key of an item read from it (table key + index key: an ExclusiveStartKey). */
function slotIndexKey(item: Item): Item {
  return { [ATTR.pk]: item[ATTR.pk], [ATTR.sk]: item[ATTR.sk], [ATTR.slotState]: item[ATTR.slotState], [ATTR.slotOrder]: item[ATTR.slotOrder] };
}

function jobIdFromPk(pk: unknown): number {
  const id = Number(String(pk).slice('JOB#'.length));
  if (!Number.isInteger(id)) throw new Error(`job store: malformed job key ${String(pk)}`);
  return id;
}

function padJobId(jobId: number): string {
  return pad(jobId, JOB_ID_DIGITS, 'jobId');
}

/**
 * The job item: record JSON + the derived, sparse index attributes (see table-design.ts). Exported
 * for bulk seeding (bench:dashboard writes 100k jobs with BatchWriteItem before the plane starts).
 */
export function jobItem(job: JobRecord): Item {
  const where = `job ${job.jobId}`;
  checkJobId(job.jobId);
  if (!STATUS_SET.has(job.status)) throw new ValidationError(`${where}: unknown status ${JSON.stringify(job.status)}`);
  if (!ALL_SLOT_STATES.includes(job.slot)) throw new ValidationError(`${where}: unknown slot state ${JSON.stringify(job.slot)}`);
  if (typeof job.user !== 'string' || job.user.length === 0) throw new ValidationError(`${where}: user must be a non-empty string`);
  if (typeof job.name !== 'string') throw new ValidationError(`${where}: name must be a string`);
  if (job.pool !== undefined && (typeof job.pool !== 'string' || job.pool.length === 0)) {
    throw new ValidationError(`${where}: pool must be a non-empty string when present`);
  }
  if (!Number.isInteger(job.priority) || Math.abs(job.priority) >= PRIORITY_OFFSET) {
    throw new ValidationError(`${where}: priority must be an integer in (-${PRIORITY_OFFSET}, ${PRIORITY_OFFSET}), got ${job.priority}`);
  }
  const data = JSON.stringify(job);
  checkSize(data, where);
  const active = !isTerminal(job.status);
  const item: Item = {
    ...jobKey(job.jobId),
    [ATTR.kind]: 'JOB',
    [ATTR.version]: job.version,
    [ATTR.data]: data,
    [ATTR.jobOrder]: padJobId(job.jobId),
    [ATTR.queueAll]: QUEUE_ALL_VALUE,
    [ATTR.queueStatus]: job.status,
    [ATTR.jobUser]: job.user,
    [ATTR.jobName]: job.name,
  };
  if (job.pool !== undefined) item[ATTR.jobPool] = job.pool;
  if (active) {
    item[ATTR.queueActive] = QUEUE_ACTIVE_VALUE;
    item[ATTR.queueUserActive] = job.user;
    if (job.slot !== 'NONE') {
      item[ATTR.slotState] = job.slot;
      item[ATTR.slotOrder] = [
        pad(PRIORITY_OFFSET - job.priority, PRIORITY_DIGITS, 'inverted priority'),
        pad(Math.floor(job.slotSince), TIME_DIGITS, `${where}: slotSince`),
        padJobId(job.jobId),
      ].join('#');
    }
  }
  return item;
}

function parseJob(item: Item): JobRecord {
  return JSON.parse(String(item[ATTR.data])) as JobRecord;
}

/**
 * The attempt item: nodes as a map keyed by rank and the state as native attributes (so that
 * recordHeartbeat can update one node and refuse an ENDED attempt); everything else as JSON.
 */
function attemptItem(attempt: AttemptRecord): Item {
  const where = `attempt ${attempt.jobId}/${attempt.taskIndex}/${attempt.attempt}`;
  if (!ATTEMPT_STATES.includes(attempt.state)) throw new ValidationError(`${where}: unknown state ${JSON.stringify(attempt.state)}`);
  if (!Array.isArray(attempt.nodes)) throw new ValidationError(`${where}: nodes must be an array`);
  const nodes: Record<string, NodeRecord> = {};
  for (const node of attempt.nodes) {
    checkNonNegativeInteger(node.rank, `${where}: node rank`);
    if (nodes[String(node.rank)]) throw new ValidationError(`${where}: two nodes have rank ${node.rank}`);
    // JSON round trip: drops undefined fields whatever the document client's marshalling options.
    nodes[String(node.rank)] = JSON.parse(JSON.stringify(node)) as NodeRecord;
  }
  const { nodes: _nodes, state, version, ...rest } = attempt;
  const data = JSON.stringify(rest);
  checkSize(data + JSON.stringify(nodes), where);
  return {
    ...attemptKey(attempt.jobId, attempt.taskIndex, attempt.attempt),
    [ATTR.kind]: 'ATTEMPT',
    [ATTR.version]: version,
    [ATTR.attemptState]: state,
    [ATTR.nodes]: nodes,
    [ATTR.data]: data,
  };
}

function parseAttempt(item: Item): AttemptRecord {
  const rest = JSON.parse(String(item[ATTR.data])) as Omit<AttemptRecord, 'nodes' | 'state' | 'version'>;
  const nodes = Object.values((item[ATTR.nodes] ?? {}) as Record<string, NodeRecord>).sort((a, b) => a.rank - b.rank);
  return {
    ...rest,
    nodes,
    state: item[ATTR.attemptState] as AttemptRecord['state'],
    version: Number(item[ATTR.version]),
  };
}

function eventItem(event: JobEvent): Item {
  checkJobId(event.jobId);
  if (!Number.isFinite(event.time) || event.time < 0) {
    throw new ValidationError(`event of job ${event.jobId}: time must be epoch milliseconds, got ${event.time}`);
  }
  eventSequence = (eventSequence + 1) % 10 ** EVENT_SEQUENCE_DIGITS;
  const sk = [
    'EVT',
    pad(Math.floor(event.time), TIME_DIGITS, 'event time'),
    pad(eventSequence, EVENT_SEQUENCE_DIGITS, 'event sequence'),
    randomBytes(6).toString('hex'),
  ].join('#');
  return { [ATTR.pk]: jobKey(event.jobId)[ATTR.pk], [ATTR.sk]: sk, [ATTR.kind]: 'EVENT', [ATTR.data]: JSON.stringify(event) };
}

// ---- queries ----------------------------------------------------------------------------------

/** Attribute → required value, applied as an equality FilterExpression inside the index. */
type QueueFilters = Record<string, string | undefined>;

interface QueuePlan {
  index: string;
  partitionKey: string;
  /** One Query per value; several only for a multi-status filter. Empty = nothing can match. */
  partitions: string[];
  filters: QueueFilters;
}

/**
 * Picks the queue index whose partition already is the most common filter, so that a first page
 * never walks over jobs the filter rejects: status > skipFinished (active) > user > all.
 */
function planJobQuery(query: JobQuery): QueuePlan {
  const nameAndPool = { [ATTR.jobName]: query.name, [ATTR.jobPool]: query.pool };
  if (query.user !== undefined && (typeof query.user !== 'string' || query.user.length === 0)) {
    throw new ValidationError('listJobs: user must be a non-empty string when given');
  }
  if (query.statuses && query.statuses.length > 0) {
    for (const s of query.statuses) {
      if (!STATUS_SET.has(s)) throw new ValidationError(`listJobs: unknown status ${JSON.stringify(s)} (known: ${TASK_STATUSES.join(', ')})`);
    }
    const statuses = [...new Set(query.statuses)].filter((s) => !(query.skipFinished && isTerminal(s)));
    return {
      index: INDEX.queueStatus,
      partitionKey: ATTR.queueStatus,
      partitions: statuses,
      filters: { [ATTR.jobUser]: query.user, ...nameAndPool },
    };
  }
  if (query.skipFinished) {
    return query.user === undefined
      ? { index: INDEX.queueActive, partitionKey: ATTR.queueActive, partitions: [QUEUE_ACTIVE_VALUE], filters: nameAndPool }
      : { index: INDEX.queueUserActive, partitionKey: ATTR.queueUserActive, partitions: [query.user], filters: nameAndPool };
  }
  return query.user === undefined
    ? { index: INDEX.queueAll, partitionKey: ATTR.queueAll, partitions: [QUEUE_ALL_VALUE], filters: nameAndPool }
    : { index: INDEX.queueUser, partitionKey: ATTR.jobUser, partitions: [query.user], filters: nameAndPool };
}

/** Re-check of a freshly read record against the query (index reads lag behind the table). */
function matchesQuery(job: JobRecord, query: JobQuery): boolean {
  if (query.statuses && query.statuses.length > 0 && !query.statuses.includes(job.status)) return false;
  if (query.skipFinished && isTerminal(job.status)) return false;
  if (query.user !== undefined && job.user !== query.user) return false;
  if (query.name !== undefined && job.name !== query.name) return false;
  if (query.pool !== undefined && job.pool !== query.pool) return false;
  return true;
}

// ---- cursors ----------------------------------------------------------------------------------

/**
 * Opaque page cursors (base64url JSON). Queue listings resume below a job ID (works across merged
 * multi-status streams); listActiveJobIds above one; slot listings from the index's own key.
 */
type Cursor =
  | { kind: 'before'; jobId: number }
  | { kind: 'after'; jobId: number }
  | { kind: 'slot'; slot: string; key: Item };

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodeCursor(text: string, kind: 'before' | 'after'): { jobId: number };
function decodeCursor(text: string, kind: 'slot', slot: string): { key: Item };
function decodeCursor(text: string, kind: Cursor['kind'], slot?: string): { jobId?: number; key?: Item } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(String(text), 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const c = parsed as Partial<Record<string, unknown>> | undefined;
  const invalid = () => new ValidationError(`invalid page cursor ${JSON.stringify(text)}: not one returned by this listing`);
  if (!c || typeof c !== 'object' || c.kind !== kind) throw invalid();
  if (kind === 'slot') {
    const key = c.key as Item | undefined;
    const keyAttributes = [ATTR.pk, ATTR.sk, ATTR.slotState, ATTR.slotOrder];
    if (c.slot !== slot || !key || typeof key !== 'object' || !keyAttributes.every((a) => typeof key[a] === 'string')) throw invalid();
    return { key: Object.fromEntries(keyAttributes.map((a) => [a, key[a]])) };
  }
  if (!Number.isInteger(c.jobId) || (c.jobId as number) < 0) throw invalid();
  return { jobId: c.jobId as number };
}

// ---- validation -------------------------------------------------------------------------------

function pad(n: number, width: number, what: string): string {
  if (!Number.isInteger(n) || n < 0 || n >= 10 ** width) {
    throw new ValidationError(`${what} must be an integer in [0, ${10 ** width}), got ${n}`);
  }
  return String(n).padStart(width, '0');
}

function checkJobId(jobId: number): void {
  pad(jobId, JOB_ID_DIGITS, 'jobId');
}

function checkNonNegativeInteger(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0) throw new ValidationError(`${what} must be a non-negative integer, got ${n}`);
}

function checkExpectedVersion(expected: number | null, what: string): void {
  if (expected !== null && (!Number.isInteger(expected) || expected < 0)) {
    throw new ValidationError(`${what}: expectedVersion must be null or a non-negative integer, got ${expected}`);
  }
}

function checkLimit(limit: number, what: string): void {
  if (!Number.isInteger(limit) || limit < 1) throw new ValidationError(`${what}: limit must be a positive integer, got ${limit}`);
}

function checkSlot(slot: string): void {
  if (!SLOT_STATES.includes(slot as Exclude<SlotState, 'NONE'>)) {
    throw new ValidationError(`slot must be one of ${SLOT_STATES.join(', ')}, got ${JSON.stringify(slot)}`);
  }
}

function checkSize(data: string, where: string): void {
  const bytes = Buffer.byteLength(data);
  if (bytes > MAX_RECORD_BYTES) {
    throw new ValidationError(
      `${where}: the stored record would be ${Math.ceil(bytes / 1024)} KB, above the ${MAX_RECORD_BYTES / 1024} KB limit ` +
        '(DynamoDB items are at most 400 KB); move large run/setup scripts or envs into files',
      { bytes, limit: MAX_RECORD_BYTES },
    );
  }
}

function isConditionFailure(err: unknown): boolean {
  return (err as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException';
}

function backoff(round: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** round)));
}

function cancelKey(r: CancelRequest): Record<string, string> {
  return { [ATTR.pk]: 'CANCEL', [ATTR.sk]: `REQ#${String(r.at).padStart(15, '0')}#${r.id}` };
}
