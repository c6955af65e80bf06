// EventBus on an EventBridge event bus (the deployment's `skyless` bus). PutEvents takes at most 10
// entries and 256 KiB per call and may accept some entries of a call and refuse others
// (FailedEntryCount): refused entries with a passing cause (throttling, internal failure) are sent
// again with back-off; any other refusal is an error naming the entry and the reason.

import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { BusEvent, EventBus } from '../../core/ports.ts';
import { ValidationError } from '../../core/errors.ts';

/** PutEvents limits. */
export const PUT_EVENTS_MAX_ENTRIES = 10;
export const PUT_EVENTS_MAX_BYTES = 256 * 1024;

/** Entry error codes that may succeed when the same entry is sent again. */
const RETRYABLE_ENTRY_CODES = new Set(['ThrottlingException', 'InternalFailure', 'InternalException', 'ServiceUnavailable']);

export interface EventBridgeBusOptions {
  client: EventBridgeClient;
  /** Name or ARN of the bus every event goes to. */
  busName: string;
  /** PutEvents calls per batch while entries keep failing with a retryable code (default 5). */
  maxAttempts?: number;
  /** Injected so tests do not wait. */
  sleep?(ms: number): Promise<void>;
  /** Uniform [0, 1) for back-off jitter. */
  random?(): number;
}

export interface FailedEntry {
  /** Index of the event in the list given to publish(). */
  index: number;
  source: string;
  detailType: string;
  code: string;
  message: string;
}

/** Some events were not accepted by EventBridge (after retries, for the retryable ones). */
export class EventPublishError extends Error {
  override readonly name = 'EventPublishError' as const;
  constructor(
    message: string,
    readonly failures: FailedEntry[],
  ) {
    super(message);
  }
}

/**
 * The size EventBridge charges an entry against the 256 KiB limit: UTF-8 bytes of Source,
 * DetailType, Detail and each resource, plus 14 bytes when Time is set.
 */
export function entrySize(entry: PutEventsRequestEntry): number {
  let size = 0;
  if (entry.Time) size += 14;
  for (const s of [entry.Source, entry.DetailType, entry.Detail, ...(entry.Resources ?? [])]) if (s) size += Buffer.byteLength(s);
  return size;
}

export class EventBridgeBus implements EventBus {
  private readonly client: EventBridgeClient;
  private readonly busName: string;
  private readonly maxAttempts: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(options: EventBridgeBusOptions) {
    if (!options.busName) throw new ValidationError('EventBridgeBus: busName is required');
    this.client = options.client;
    this.busName = options.busName;
    this.maxAttempts = options.maxAttempts ?? 5;
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) throw new ValidationError(`EventBridgeBus: maxAttempts must be a positive integer, got ${options.maxAttempts}`);
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.random = options.random ?? Math.random;
  }

  toEntry(event: BusEvent): PutEventsRequestEntry {
    return {
      EventBusName: this.busName,
      Source: event.source,
      DetailType: event['detail-type'],
      Detail: JSON.stringify(event.detail ?? {}),
      ...(event.resources?.length ? { Resources: event.resources } : {}),
      ...(event.time ? { Time: new Date(event.time) } : {}),
    };
  }

  async publish(events: BusEvent[]): Promise<void> {
    const entries = events.map((e, index) => {
      const entry = this.toEntry(e);
      const size = entrySize(entry);
      if (size > PUT_EVENTS_MAX_BYTES) {
        throw new ValidationError(`event ${index} (${e.source} / ${e['detail-type']}) is ${size} bytes; EventBridge accepts at most ${PUT_EVENTS_MAX_BYTES}`);
      }
      if (entry.Time && Number.isNaN(entry.Time.getTime())) throw new ValidationError(`event ${index} (${e.source} / ${e['detail-type']}): time '${e.time}' is not a date`);
      return { index, entry, size };
    });
    const failures: FailedEntry[] = [];
    for (const batch of batches(entries)) failures.push(...(await this.putBatch(batch)));
    if (failures.length > 0) {
      const first = failures[0]!;
      throw new EventPublishError(
        `EventBridge refused ${failures.length} of ${events.length} event(s) on bus ${this.busName}; first: event ${first.index} ` +
          `(${first.source} / ${first.detailType}): ${first.code}: ${first.message}`,
        failures,
      );
    }
  }

  /** Sends one batch, re-sending entries refused for a passing reason; returns the final failures. */
  private async putBatch(batch: { index: number; entry: PutEventsRequestEntry }[]): Promise<FailedEntry[]> {
    let pending = batch;
    const failures: FailedEntry[] = [];
    for (let attempt = 1; pending.length > 0; attempt++) {
      const out = await this.client.send(new PutEventsCommand({ Entries: pending.map((p) => p.entry) }));
      if (!out.FailedEntryCount) return failures;
      const retry: typeof pending = [];
      // Result entries are in request order; a failed one carries ErrorCode instead of EventId.
      pending.forEach((p, i) => {
        const result = out.Entries?.[i];
        if (result && !result.ErrorCode) return;
        const code = result?.ErrorCode ?? 'MissingResultEntry';
        const failure: FailedEntry = {
          index: p.index,
          source: p.entry.Source ?? '',
          detailType: p.entry.DetailType ?? '',
          code,
          message: result?.ErrorMessage ?? 'no result entry returned for this event',
        };
        if ((RETRYABLE_ENTRY_CODES.has(code) || !result) && attempt < this.maxAttempts) retry.push(p);
        else failures.push(failure);
      });
      pending = retry;
      if (pending.length > 0) {
        const ceiling = Math.min(5_000, 100 * 2 ** (attempt - 1));
        await this.sleep(Math.round(ceiling * (0.5 + this.random() / 2)));
      }
    }
    return failures;
  }
}

/** Consecutive groups of at most 10 entries and 256 KiB (by EventBridge's size rule). */
function batches<T extends { size: number }>(entries: T[]): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const e of entries) {
    if (current.length === PUT_EVENTS_MAX_ENTRIES || (current.length > 0 && bytes + e.size > PUT_EVENTS_MAX_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(e);
    bytes += e.size;
  }
  if (current.length) out.push(current);
  return out;
}
