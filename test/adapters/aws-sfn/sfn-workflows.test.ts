// SfnWorkflows: the error mapping at the SDK boundary (aws-sdk-client-mock: moto cannot produce
// TaskTimedOut and friends on demand), and start/stop idempotency against moto_server's Step Functions.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  ListExecutionsCommand,
  SFNClient,
  SFNServiceException,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { SfnWorkflows, TOKEN_GONE_ERRORS } from '../../../adapters/aws/sfn-workflows.ts';
import { TokenGoneError, ValidationError } from '../../../core/errors.ts';
import { awsTestClientConfig, startMoto, type RunningMoto } from '../../support/moto.ts';

const ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:skyless-job';

function serviceError(name: string, message = `${name} happened`): SFNServiceException {
  return new SFNServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: 400 }, message });
}

describe('SfnWorkflows error mapping (SDK mocked)', () => {
  // Mocks this one client instance only (a class-wide mock would also catch the moto suite's client).
  const client = new SFNClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  const sfn = mockClient(client);
  const workflows = new SfnWorkflows({ client, stateMachineArn: ARN });
  beforeEach(() => sfn.reset());
  afterAll(() => sfn.restore());

  it('starts an execution by name with JSON input on the configured state machine', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${ARN}:job-7`, startDate: new Date() });
    await workflows.startExecution('job-7', { jobId: 7, cycle: 0 });
    const call = sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(call).toEqual({ stateMachineArn: ARN, name: 'job-7', input: '{"jobId":7,"cycle":0}' });
  });

  it('treats ExecutionAlreadyExists as started; other errors propagate', async () => {
    sfn.on(StartExecutionCommand).rejectsOnce(serviceError('ExecutionAlreadyExists')).rejectsOnce(serviceError('StateMachineDoesNotExist'));
    await expect(workflows.startExecution('job-7', { jobId: 7, cycle: 0 })).resolves.toBeUndefined();
    await expect(workflows.startExecution('job-7', { jobId: 7, cycle: 0 })).rejects.toMatchObject({ name: 'StateMachineDoesNotExist' });
  });

  it('refuses execution names Step Functions would refuse, before calling it', async () => {
    await expect(workflows.startExecution('job 7', {})).rejects.toThrow(ValidationError);
    await expect(workflows.startExecution('x'.repeat(81), {})).rejects.toThrow(/1-80/);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it.each(TOKEN_GONE_ERRORS)('maps %s to TokenGoneError for success, failure and heartbeat', async (code) => {
    sfn.on(SendTaskSuccessCommand).rejects(serviceError(code));
    sfn.on(SendTaskFailureCommand).rejects(serviceError(code));
    sfn.on(SendTaskHeartbeatCommand).rejects(serviceError(code));
    await expect(workflows.sendTaskSuccess('tok', { granted: true })).rejects.toThrow(TokenGoneError);
    await expect(workflows.sendTaskFailure('tok', 'Lost', 'node gone')).rejects.toThrow(TokenGoneError);
    const err = await workflows.sendTaskHeartbeat('tok').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenGoneError);
    expect((err as Error).name).toBe('TokenGoneError');
    expect((err as Error).message).toContain(code);
  });

  it('passes throttling and other errors through unchanged', async () => {
    const throttled = serviceError('ThrottlingException');
    sfn.on(SendTaskSuccessCommand).rejects(throttled);
    await expect(workflows.sendTaskSuccess('tok', {})).rejects.toBe(throttled);
  });

  it('sends success output as JSON and truncates failure error/cause to Step Functions limits', async () => {
    sfn.on(SendTaskSuccessCommand).resolves({});
    sfn.on(SendTaskFailureCommand).resolves({});
    await workflows.sendTaskSuccess('tok-1', { registered: true });
    await workflows.sendTaskFailure('tok-2', 'E'.repeat(300), 'c'.repeat(40_000));
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0]!.args[0].input).toEqual({ taskToken: 'tok-1', output: '{"registered":true}' });
    const failure = sfn.commandCalls(SendTaskFailureCommand)[0]!.args[0].input;
    expect(failure.taskToken).toBe('tok-2');
    expect(failure.error!.length).toBe(256);
    expect(failure.cause!.length).toBe(32_768);
  });

  it('stops by execution ARN derived from the state machine ARN; a missing execution is fine', async () => {
    sfn.on(StopExecutionCommand).resolvesOnce({ stopDate: new Date() }).rejectsOnce(serviceError('ExecutionDoesNotExist'));
    await workflows.stopExecution('job-7-c2', 'cancelled');
    await workflows.stopExecution('job-8', 'cancelled');
    expect(sfn.commandCalls(StopExecutionCommand).map((c) => c.args[0].input.executionArn)).toEqual([
      'arn:aws:states:us-east-1:123456789012:execution:skyless-job:job-7-c2',
      'arn:aws:states:us-east-1:123456789012:execution:skyless-job:job-8',
    ]);
  });

  it('refuses a state machine ARN it cannot derive execution ARNs from', () => {
    expect(() => new SfnWorkflows({ client, stateMachineArn: 'skyless-job' })).toThrow(/not a state machine ARN/);
  });
});

describe('SfnWorkflows on moto', () => {
  let moto: RunningMoto;
  let client: SFNClient;
  let stateMachineArn: string;
  beforeAll(async () => {
    moto = await startMoto();
    client = new SFNClient(awsTestClientConfig(moto.endpoint));
    const out = await client.send(
      new CreateStateMachineCommand({
        name: 'skyless-job',
        roleArn: 'arn:aws:iam::123456789012:role/skyless-sfn',
        definition: JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Succeed' } } }),
      }),
    );
    stateMachineArn = out.stateMachineArn!;
  });
  afterAll(async () => {
    client?.destroy();
    await moto?.stop();
  });

  it('starting the same name twice makes one execution; stopping it is repeatable', async () => {
    const workflows = new SfnWorkflows({ client, stateMachineArn });
    await workflows.startExecution('job-1', { jobId: 1, cycle: 0 });
    await workflows.startExecution('job-1', { jobId: 1, cycle: 0 });
    // A different input under the same name is ExecutionAlreadyExists on AWS: still "started".
    await workflows.startExecution('job-1', { jobId: 1, cycle: 5 });
    const list = await client.send(new ListExecutionsCommand({ stateMachineArn }));
    expect(list.executions!.filter((e) => e.name === 'job-1')).toHaveLength(1);
    const described = await client.send(new DescribeExecutionCommand({ executionArn: workflows.executionArn('job-1') }));
    expect(JSON.parse(described.input!)).toEqual({ jobId: 1, cycle: 0 });
    await workflows.stopExecution('job-1', 'test');
    await workflows.stopExecution('never-started', 'test');
  });
});
