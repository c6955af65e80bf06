// Workflows on AWS Step Functions (Standard): one execution per job (and per continue-as-new), named
// by the caller, so that starting is idempotent and stopping needs no stored execution ARN.

import {
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
  StopExecutionCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import type { Workflows } from '../../core/ports.ts';
import { TokenGoneError, ValidationError } from '../../core/errors.ts';

/** Step Functions' own limits on names and error strings. */
const EXECUTION_NAME_MAX = 80;
const ERROR_MAX = 256;
const CAUSE_MAX = 32_768;
/**
 * Execution names: Step Functions refuses whitespace, wildcards, brackets, most punctuation and
 * control characters; skyless names (`job-<id>`, `job-<id>-c<n>`) use letters, digits, `-` and `_`.
 */
const EXECUTION_NAME = /^[A-Za-z0-9_-]+$/;
/** `arn:<partition>:states:<region>:<account>:stateMachine:<name>`. */
const STATE_MACHINE_ARN = /^arn:([a-z-]+):states:([a-z0-9-]+):(\d{12}):stateMachine:([A-Za-z0-9_-]+)$/;

/** The error names Step Functions answers when a task token can no longer be completed. */
export const TOKEN_GONE_ERRORS: readonly string[] = ['TaskDoesNotExist', 'TaskTimedOut', 'InvalidToken'];

export interface SfnWorkflowsOptions {
  client: SFNClient;
  /** The job state machine (statemachines/job.asl.json as deployed). */
  stateMachineArn: string;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function errorName(err: unknown): string | undefined {
  return (err as { name?: string })?.name;
}

export class SfnWorkflows implements Workflows {
  private readonly client: SFNClient;
  private readonly stateMachineArn: string;
  /** Prefix of this state machine's execution ARNs: `arn:…:execution:<state machine name>:`. */
  private readonly executionArnPrefix: string;

  constructor(options: SfnWorkflowsOptions) {
    const m = STATE_MACHINE_ARN.exec(options.stateMachineArn ?? '');
    if (!m) {
      throw new ValidationError(
        `SfnWorkflows: '${options.stateMachineArn}' is not a state machine ARN (arn:<partition>:states:<region>:<account>:stateMachine:<name>)`,
      );
    }
    const [, partition, region, account, name] = m;
    this.client = options.client;
    this.stateMachineArn = options.stateMachineArn;
    this.executionArnPrefix = `arn:${partition}:states:${region}:${account}:execution:${name}:`;
  }

  executionArn(name: string): string {
    return this.executionArnPrefix + name;
  }

  /**
   * Starts the named execution. Idempotent: Standard workflows return the existing execution for a
   * repeated name with the same input, and ExecutionAlreadyExists (another input, or the execution
   * already closed) also means "it was started" — which is what the caller needs to know.
   */
  async startExecution(name: string, input: unknown): Promise<void> {
    if (typeof name !== 'string' || name.length === 0 || name.length > EXECUTION_NAME_MAX || !EXECUTION_NAME.test(name)) {
      throw new ValidationError(`startExecution: execution name '${name}' must be 1-${EXECUTION_NAME_MAX} letters, digits, '-' or '_'`);
    }
    try {
      await this.client.send(new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name, input: JSON.stringify(input ?? {}) }));
    } catch (err) {
      if (errorName(err) === 'ExecutionAlreadyExists') return;
      throw err;
    }
  }

  async sendTaskSuccess(token: string, output: unknown): Promise<void> {
    await this.withToken('SendTaskSuccess', () => this.client.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(output ?? {}) })));
  }

  async sendTaskFailure(token: string, error: string, cause: string): Promise<void> {
    await this.withToken('SendTaskFailure', () =>
      this.client.send(new SendTaskFailureCommand({ taskToken: token, error: truncate(error, ERROR_MAX), cause: truncate(cause, CAUSE_MAX) })),
    );
  }

  async sendTaskHeartbeat(token: string): Promise<void> {
    await this.withToken('SendTaskHeartbeat', () => this.client.send(new SendTaskHeartbeatCommand({ taskToken: token })));
  }

  /** Stops the named execution; one that does not exist (never started, or expired) needs no stopping. */
  async stopExecution(name: string, cause: string): Promise<void> {
    try {
      await this.client.send(new StopExecutionCommand({ executionArn: this.executionArn(name), cause: truncate(cause, CAUSE_MAX) }));
    } catch (err) {
      if (errorName(err) === 'ExecutionDoesNotExist') return;
      throw err;
    }
  }

  private async withToken(operation: string, send: () => Promise<unknown>): Promise<void> {
    try {
      await send();
    } catch (err) {
      const name = errorName(err);
      if (name && TOKEN_GONE_ERRORS.includes(name)) {
        throw new TokenGoneError(`${operation}: the task token is spent, timed out or unknown (${name}: ${(err as Error).message})`);
      }
      throw err;
    }
  }
}
