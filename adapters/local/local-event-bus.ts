// EventBus for local mode: events are appended to a JSON-lines file (the local "archive") and handed
// to subscribers asynchronously, at least once, like an EventBridge rule targeting a Lambda.
import { appendFile } from 'node:fs/promises';
import type { BusEvent, EventBus } from '../../core/ports.ts';
import { randomUUID } from 'node:crypto';

export type Subscriber = (event: BusEvent) => Promise<unknown>;

export class LocalEventBus implements EventBus {
  private readonly subscribers: Subscriber[] = [];
  /** Every event published in this process, newest last (tests and `skyless local events`). */
  readonly published: BusEvent[] = [];

  constructor(private readonly archivePath?: string) {}

  subscribe(fn: Subscriber): void {
    this.subscribers.push(fn);
  }

  async publish(events: BusEvent[]): Promise<void> {
    const stamped = events.map((e) => ({ version: '0', id: randomUUID(), account: 'local', region: 'local', time: new Date().toISOString(), resources: [], ...e }));
    this.published.push(...stamped);
    if (this.archivePath) await appendFile(this.archivePath, stamped.map((e) => JSON.stringify(e)).join('\n') + '\n');
    for (const e of stamped) for (const s of this.subscribers) setImmediate(() => void s(e).catch(() => {}));
  }

  /** Delivers an event exactly as given (fault injection emits AWS-shaped events this way). */
  async deliver(event: BusEvent): Promise<unknown[]> {
    return Promise.all(this.subscribers.map((s) => s(event)));
  }
}
