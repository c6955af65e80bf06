// EventBridgeBus: delivery through moto_server's EventBridge to an SQS queue (a rule on the bus
// targets the queue; the event is read back from SQS), and batching/retry at the SDK boundary.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { CreateEventBusCommand, EventBridgeClient, PutEventsCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { EventBridgeBus, EventPublishError, PUT_EVENTS_MAX_BYTES } from '../../../adapters/aws/eventbridge-bus.ts';
import type { BusEvent } from '../../../core/ports.ts';
import { ValidationError } from '../../../core/errors.ts';
import { awsTestClientConfig, startMoto, type RunningMoto } from '../../support/moto.ts';

function statusEvent(jobId: number, status = 'RUNNING'): BusEvent {
  return { source: 'skyless', 'detail-type': 'Managed Job Status Change', time: '2026-11-20T10:00:00.000Z', resources: [], detail: { version: '1', jobId, status } };
}

describe('EventBridgeBus on moto (rule → SQS)', () => {
  let moto: RunningMoto;
  let events: EventBridgeClient;
  let sqs: SQSClient;
  let queueUrl: string;
  beforeAll(async () => {
    moto = await startMoto();
    events = new EventBridgeClient(awsTestClientConfig(moto.endpoint));
    sqs = new SQSClient(awsTestClientConfig(moto.endpoint));
    await events.send(new CreateEventBusCommand({ Name: 'skyless-test' }));
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'status-changes' }))).QueueUrl!;
    const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
    await events.send(
      new PutRuleCommand({ Name: 'to-queue', EventBusName: 'skyless-test', EventPattern: JSON.stringify({ source: ['skyless'], 'detail-type': ['Managed Job Status Change'] }) }),
    );
    await events.send(new PutTargetsCommand({ Rule: 'to-queue', EventBusName: 'skyless-test', Targets: [{ Id: 'q', Arn: queueArn }] }));
  });
  afterAll(async () => {
    events?.destroy();
    sqs?.destroy();
    await moto?.stop();
  });

  it('publishes more than one batch and every event reaches the rule target with its detail', async () => {
    const bus = new EventBridgeBus({ client: events, busName: 'skyless-test' });
    await bus.publish(Array.from({ length: 11 }, (_, i) => statusEvent(100 + i)));
    // An event of another detail type is not routed by the rule.
    await bus.publish([{ source: 'skyless', 'detail-type': 'Something Else', detail: { jobId: 999 } }]);
    const received: { source: string; 'detail-type': string; detail: { jobId: number; status: string; version: string } }[] = [];
    for (let i = 0; i < 10 && received.length < 11; i++) {
      const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      for (const m of out.Messages ?? []) received.push(JSON.parse(m.Body!));
    }
    expect(received.map((e) => e.detail.jobId).sort((a, b) => a - b)).toEqual(Array.from({ length: 11 }, (_, i) => 100 + i));
    expect(received.every((e) => e.source === 'skyless' && e['detail-type'] === 'Managed Job Status Change' && e.detail.version === '1')).toBe(true);
  });
});

describe('EventBridgeBus batching and retries (SDK mocked)', () => {
  // Mocks this one client instance only (a class-wide mock would also catch the moto suite's client).
  const client = new EventBridgeClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  const eb = mockClient(client);
  const sleeps: number[] = [];
  const bus = new EventBridgeBus({ client, busName: 'skyless-bus', sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 });
  beforeEach(() => {
    eb.reset();
    sleeps.length = 0;
  });
  afterAll(() => eb.restore());

  it('sends at most 10 entries per PutEvents, each on the bus with source, detail type and JSON detail', async () => {
    eb.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({ FailedEntryCount: 0, Entries: input.Entries.map((_, i) => ({ EventId: `e${i}` })) }));
    await bus.publish(Array.from({ length: 23 }, (_, i) => statusEvent(i)));
    const calls = eb.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries!);
    expect(calls.map((c) => c.length)).toEqual([10, 10, 3]);
    const first = calls[0]![0]!;
    expect(first).toMatchObject({ EventBusName: 'skyless-bus', Source: 'skyless', DetailType: 'Managed Job Status Change' });
    expect(JSON.parse(first.Detail!)).toEqual({ version: '1', jobId: 0, status: 'RUNNING' });
    expect(first.Time).toEqual(new Date('2026-11-20T10:00:00.000Z'));
  });

  it('splits batches by the 256 KiB request limit too', async () => {
    eb.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({ FailedEntryCount: 0, Entries: input.Entries.map(() => ({ EventId: 'e' })) }));
    const big = (jobId: number): BusEvent => ({ source: 'skyless', 'detail-type': 'Big', detail: { jobId, pad: 'x'.repeat(100 * 1024) } });
    await bus.publish([big(1), big(2), big(3)]);
    expect(eb.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries!.length)).toEqual([2, 1]);
  });

  it('re-sends only the entries refused with a retryable code, with back-off', async () => {
    eb.on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 2, Entries: [{ EventId: 'a' }, { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' }, { EventId: 'c' }, { ErrorCode: 'InternalFailure', ErrorMessage: 'oops' }] })
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ EventId: 'b' }, { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' }] })
      .resolvesOnce({ FailedEntryCount: 0, Entries: [{ EventId: 'd' }] });
    await bus.publish([statusEvent(1), statusEvent(2), statusEvent(3), statusEvent(4)]);
    const sent = eb.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries!.map((e) => JSON.parse(e.Detail!).jobId));
    expect(sent).toEqual([[1, 2, 3, 4], [2, 4], [4]]);
    expect(sleeps).toEqual([75, 150]);
  });

  it('fails with EventPublishError naming the entry refused for a permanent reason (after sending the rest)', async () => {
    eb.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ EventId: 'a' }, { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' }] });
    const err = await bus.publish([statusEvent(1), statusEvent(2)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EventPublishError);
    expect((err as EventPublishError).failures).toEqual([{ index: 1, source: 'skyless', detailType: 'Managed Job Status Change', code: 'MalformedDetail', message: 'Detail is malformed.' }]);
    expect(eb.commandCalls(PutEventsCommand)).toHaveLength(1);
  });

  it('gives up on retryable refusals after maxAttempts', async () => {
    eb.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' }] });
    const err = await bus.publish([statusEvent(1)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EventPublishError);
    expect((err as Error).message).toMatch(/ThrottlingException/);
    expect(eb.commandCalls(PutEventsCommand)).toHaveLength(5);
  });

  it('refuses an event larger than EventBridge accepts without calling it', async () => {
    await expect(bus.publish([{ source: 'skyless', 'detail-type': 'Huge', detail: { pad: 'x'.repeat(PUT_EVENTS_MAX_BYTES) } }])).rejects.toThrow(ValidationError);
    expect(eb.commandCalls(PutEventsCommand)).toHaveLength(0);
  });
});
