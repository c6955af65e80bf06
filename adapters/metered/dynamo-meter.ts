// DynamoDB request units, counted by a middleware on the SDK client the JobStore uses. The table's
// own units come from the service (`ReturnConsumedCapacity`, which dynalite computes from item sizes
// as DynamoDB does); global-secondary-index write units, which dynalite does not report, are derived
// here from the index design (adapters/aws/table-design.ts) and a shadow of each job item's index
// entries: a write costs an index nothing when the entry's keys and projected attributes are
// unchanged, one unit per KB when the entry appears, disappears or changes its projected attributes,
// and two when its key changes (delete + put). Failed conditional writes are billed like writes.
//
// Read minimums: a Query returning nothing still costs 0.5 RRU (1 if strongly consistent); dynalite
// reports 0, so the minimum is applied here.

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TABLE_DESIGN } from '../aws/table-design.ts';
import type { CostMeter } from './meter.ts';

type Item = Record<string, unknown>;

/** DynamoDB's item size rules (attribute names + values), in bytes; good to a few bytes. */
export function itemSize(item: Item): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    size += Buffer.byteLength(name) + valueSize(value);
  }
  return size;
}

function valueSize(v: unknown): number {
  if (v === null || typeof v === 'boolean') return 1;
  if (typeof v === 'string') return Buffer.byteLength(v);
  if (typeof v === 'number') return Math.ceil(String(Math.abs(v)).replace(/^0\.|\./, '').length / 2) + 1;
  if (v instanceof Uint8Array) return v.length;
  if (Array.isArray(v)) return 3 + v.reduce((s: number, x) => s + 1 + valueSize(x), 0);
  if (typeof v === 'object') return 3 + Object.entries(v as Item).reduce((s, [k, x]) => (x === undefined ? s : s + 1 + Buffer.byteLength(k) + valueSize(x)), 0);
  return 0;
}

interface IndexEntry {
  key: string;
  projected: string;
  units: number;
}

/** Index name → the entry a job item has in it (absent = not in the index). */
type IndexEntries = Map<string, IndexEntry>;

/** Per-index bookkeeping overhead DynamoDB adds to every index entry. */
const INDEX_ENTRY_OVERHEAD = 100;

function entriesOf(item: Item): IndexEntries {
  const out: IndexEntries = new Map();
  for (const index of TABLE_DESIGN.indexes) {
    const pk = item[index.partitionKey];
    const sk = item[index.sortKey];
    if (pk === undefined || sk === undefined) continue;
    const attrs: Item = { pk: item.pk, sk: item.sk, [index.partitionKey]: pk, [index.sortKey]: sk };
    if (index.projection.type === 'INCLUDE') for (const a of index.projection.nonKeyAttributes) if (item[a] !== undefined) attrs[a] = item[a];
    const projected = index.projection.type === 'INCLUDE' ? JSON.stringify(index.projection.nonKeyAttributes.map((a) => item[a] ?? null)) : '';
    out.set(index.name, { key: `${String(pk)}\u0000${String(sk)}`, projected, units: Math.ceil((itemSize(attrs) + INDEX_ENTRY_OVERHEAD) / 1024) });
  }
  return out;
}

function indexWriteUnits(before: IndexEntries | undefined, after: IndexEntries): number {
  let units = 0;
  for (const index of TABLE_DESIGN.indexes) {
    const a = before?.get(index.name);
    const b = after.get(index.name);
    if (!a && !b) continue;
    if (!a) units += b!.units;
    else if (!b) units += a.units;
    else if (a.key !== b.key) units += a.units + b.units;
    else if (a.projected !== b.projected) units += b.units;
  }
  return units;
}

export interface DynamoMeterOptions {
  /** Called after every successful write of a job item (the item as stored), in commit order per item. */
  onJobItemWritten?: (item: Item) => void;
}

function consumed(output: { ConsumedCapacity?: unknown } | undefined): { units: number; table: number } {
  const c = output?.ConsumedCapacity;
  const list = (Array.isArray(c) ? c : c ? [c] : []) as { CapacityUnits?: number }[];
  const units = list.reduce((s, x) => s + (x.CapacityUnits ?? 0), 0);
  return { units, table: units };
}

const READS = new Set(['GetItemCommand', 'BatchGetItemCommand', 'QueryCommand', 'ScanCommand']);
const WRITES = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'BatchWriteItemCommand']);

/**
 * Adds the metering middleware to `client` (the low-level client the JobStore's document client
 * wraps). Returns the shadow's job-item count, for tests.
 */
export function meterDynamo(client: DynamoDBClient, meter: CostMeter, options: DynamoMeterOptions = {}): { shadowSize: () => number } {
  const shadow = new Map<string, IndexEntries>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String(context.commandName ?? '');
      const input = args.input as Item;
      const isRead = READS.has(command);
      const isWrite = WRITES.has(command);
      if (isRead || isWrite) input.ReturnConsumedCapacity = 'INDEXES';
      let result;
      const started = performance.now();
      try {
        result = await next(args);
      } catch (err) {
        meter.downstream('dynamodb', performance.now() - started);
        if ((err as Error).name === 'ConditionalCheckFailedException' && isWrite) {
          meter.dynamoFailedConditionalWrite(Math.max(1, Math.ceil(itemSize((input.Item as Item) ?? {}) / 1024)));
        }
        throw err;
      }
      meter.downstream('dynamodb', performance.now() - started);
      const output = result.output as { ConsumedCapacity?: unknown; Count?: number };
      if (isRead) {
        let { units } = consumed(output);
        if (command === 'QueryCommand' || command === 'ScanCommand') units = Math.max(units, input.ConsistentRead ? 1 : 0.5);
        meter.dynamo(units, 0);
      } else if (isWrite) {
        const { units } = consumed(output);
        let indexUnits = 0;
        const puts: Item[] =
          command === 'PutItemCommand'
            ? [input.Item as Item]
            : command === 'BatchWriteItemCommand'
              ? Object.values((input.RequestItems ?? {}) as Record<string, { PutRequest?: { Item: Item } }[]>)
                  .flat()
                  .map((r) => r.PutRequest?.Item)
                  .filter((x): x is Item => x !== undefined)
              : [];
        for (const item of puts) {
          if (item.sk !== 'JOB') continue;
          const key = String(item.pk);
          const after = entriesOf(item);
          indexUnits += indexWriteUnits(shadow.get(key), after);
          shadow.set(key, after);
          options.onJobItemWritten?.(item);
        }
        meter.dynamo(0, units, indexUnits);
      }
      return result;
    },
    { step: 'initialize', name: 'skylessCostMeter', override: true },
  );
  return { shadowSize: () => shadow.size };
}
