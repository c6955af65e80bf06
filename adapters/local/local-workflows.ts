// Runs the very ASL file Step Functions runs (statemachines/*.asl.json) in-process, with the
// aws-local-stepfunctions engine. That engine lacks three things we rely on, supplied here:
//  - `.waitForTaskToken`: a token registry; the Task's promise settles when SendTaskSuccess/Failure
//    is called with its token (from the API, an event handler or the scheduler).
//  - `HeartbeatSeconds` / `HeartbeatSecondsPath`: a timer per token, reset by SendTaskHeartbeat,
//    that fails the Task with `States.HeartbeatTimeout` (catchable, as on AWS).
//  - `$$.Task.Token`: replaced by a fresh token per Task entry.
// Every Task state must map to a local function: the engine would otherwise call real AWS.

import '../../core/polyfills.ts';
import { StateMachine } from 'aws-local-stepfunctions';
import type { Workflows, Ids } from '../../core/ports.ts';
import { TokenGoneError } from '../../core/errors.ts';

export type LocalFunction = (payload: unknown) => Promise<unknown>;

const TOKEN_PLACEHOLDER = '__SKYLESS_LOCAL_TASK_TOKEN__';
const HEARTBEAT_KEY = '__skylessHeartbeatSeconds';
const WAIT_SUFFIX = '.waitForTaskToken';
/** The longest timer Node can set (2^31 − 1 ms, about 24.8 days): "no timeout" for the local engine. */
export const NO_TASK_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

interface PendingToken {
  execution: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  heartbeatSeconds?: number;
  timer?: { cancel(): void };
}

interface Execution {
  abort: () => void;
  done: Promise<unknown>;
}

export interface ExecutionEnd {
  name: string;
  status: 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  output?: unknown;
  error?: string;
  cause?: string;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type StateDef = Record<string, Json>;

/** Applies CloudFormation-style `${Name}` definition substitutions to the ASL text. */
export function substituteDefinition(text: string, substitutions: Record<string, string>): string {
  return text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (whole, key: string) => {
    if (!(key in substitutions)) throw new Error(`state machine definition: no substitution for \${${key}}`);
    return substitutions[key];
  });
}

/**
 * Rewrites a definition for the local engine: `$$.Task.Token` becomes a placeholder we fill per entry,
 * HeartbeatSeconds(Path) moves into Parameters (the engine would ignore it) so the Task handler sees it.
 * Returns the rewritten definition and the names of Task states (recursively through Map/Parallel).
 */
export function prepareForLocalEngine(definition: { States: Record<string, StateDef> }): {
  definition: { States: Record<string, StateDef>; StartAt: string };
  tasks: { name: string; resource: string }[];
} {
  const copy = JSON.parse(JSON.stringify(definition));
  const tasks: { name: string; resource: string }[] = [];
  const visit = (states: Record<string, StateDef>) => {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Task') {
        tasks.push({ name, resource: String(state.Resource) });
        // Step Functions gives a Task with no TimeoutSeconds no timeout at all; the local engine gives
        // it 60 s, which would fail every wait (a slot, a run) longer than a minute with States.Timeout.
        if (state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined) state.TimeoutSeconds = NO_TASK_TIMEOUT_SECONDS;
        const params = (state.Parameters ?? {}) as Record<string, Json>;
        replaceTokenRefs(params);
        if (typeof state.HeartbeatSecondsPath === 'string') params[`${HEARTBEAT_KEY}.$`] = state.HeartbeatSecondsPath;
        else if (typeof state.HeartbeatSeconds === 'number') params[HEARTBEAT_KEY] = state.HeartbeatSeconds;
        delete state.HeartbeatSecondsPath;
        delete state.HeartbeatSeconds;
        state.Parameters = params;
      }
      if (state.Type === 'Map') {
        const proc = (state.ItemProcessor ?? state.Iterator) as { States: Record<string, StateDef> };
        visit(proc.States);
      }
      if (state.Type === 'Parallel') for (const b of state.Branches as { States: Record<string, StateDef> }[]) visit(b.States);
    }
  };
  visit(copy.States);
  return { definition: copy, tasks };
}

function replaceTokenRefs(obj: Record<string, Json>): void {
  for (const [k, v] of Object.entries(obj)) {
    if (k.endsWith('.$') && v === '$$.Task.Token') {
      delete obj[k];
      obj[k.slice(0, -2)] = TOKEN_PLACEHOLDER;
    } else if (v && typeof v === 'object' && !Array.isArray(v)) replaceTokenRefs(v as Record<string, Json>);
  }
}

function fillToken(value: unknown, token: string): unknown {
  if (value === TOKEN_PLACEHOLDER) return token;
  if (Array.isArray(value)) return value.map((v) => fillToken(v, token));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillToken(v, token)]));
  }
  return value;
}

function namedError(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

export interface LocalWorkflowsOptions {
  /** ASL text with `${...}` placeholders, as deployed. */
  definitionText: string;
  substitutions: Record<string, string>;
  /** Function name (after substitution) → implementation, for `lambda:invoke` Tasks. */
  functions: Record<string, LocalFunction>;
  ids: Ids;
  onExecutionEnd?: (end: ExecutionEnd) => void;
  /** Overrides of Wait states in ms (tests compress time). */
  waitTimeOverrides?: Record<string, number>;
  /**
   * The engine's event stream of every execution (StateEntered, StateRetried, ExecutionStarted, …),
   * e.g. to count billable state transitions. When set, the stream is consumed (otherwise the engine
   * keeps each execution's events in memory until the execution ends).
   */
  onEngineEvent?: (execution: string, event: { type: string; state?: { name?: string } }) => void;
  /**
   * Arms one heartbeat timer (default: an unref'd setTimeout). Tests inject a manual timer so that
   * "no heartbeat for N s" is decided by the test, not by how busy the machine is.
   */
  heartbeatTimer?: HeartbeatTimer;
}

export type HeartbeatTimer = (onTimeout: () => void, ms: number) => { cancel(): void };

const realHeartbeatTimer: HeartbeatTimer = (onTimeout, ms) => {
  const t = setTimeout(onTimeout, ms);
  t.unref?.();
  return { cancel: () => clearTimeout(t) };
};

export class LocalWorkflows implements Workflows {
  private readonly machine: StateMachine;
  private readonly handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  private readonly executions = new Map<string, Execution>();
  private readonly tokens = new Map<string, PendingToken>();
  /** Every started name, so that a name is never reused (as on AWS, for 90 days). */
  private readonly startedNames = new Set<string>();

  constructor(private readonly opts: LocalWorkflowsOptions) {
    const parsed = JSON.parse(substituteDefinition(opts.definitionText, opts.substitutions));
    const { definition, tasks } = prepareForLocalEngine(parsed);
    for (const task of tasks) this.handlers[task.name] = this.makeTaskHandler(task);
    this.machine = new StateMachine(definition as never, { validationOptions: { checkArn: true, checkPaths: true } });
  }

  private makeTaskHandler(task: { name: string; resource: string }) {
    const waits = task.resource.endsWith(WAIT_SUFFIX);
    const base = waits ? task.resource.slice(0, -WAIT_SUFFIX.length) : task.resource;
    if (base !== 'arn:aws:states:::lambda:invoke') {
      throw new Error(`state ${task.name}: resource ${task.resource} has no local implementation`);
    }
    return async (rawInput: unknown): Promise<unknown> => {
      const input = { ...(rawInput as Record<string, unknown>) };
      const heartbeat = input[HEARTBEAT_KEY] as number | undefined;
      delete input[HEARTBEAT_KEY];
      const fnName = String(input.FunctionName);
      const fn = this.opts.functions[fnName];
      if (!fn) throw new Error(`state ${task.name}: no local function named ${fnName}`);
      // Every Payload of job.asl.json carries `execution` ($$.Execution.Name): it ties the token to its
      // execution, so that stopping the execution invalidates its tokens as Step Functions does.
      const execution = String((input.Payload as { execution?: unknown } | undefined)?.execution ?? '');
      if (!waits) return { Payload: await fn(input.Payload) };
      const token = this.opts.ids.token();
      // Register before invoking: the function may complete its own token at once (the
      // "condition already holds when parking" case).
      const settled = new Promise<unknown>((resolve, reject) => {
        this.tokens.set(token, { execution, resolve, reject, heartbeatSeconds: heartbeat });
      });
      this.armHeartbeat(token);
      try {
        await fn(fillToken(input.Payload, token));
      } catch (err) {
        this.dropToken(token);
        throw err;
      }
      return settled;
    };
  }

  private armHeartbeat(token: string): void {
    const pending = this.tokens.get(token);
    if (!pending || !pending.heartbeatSeconds) return;
    pending.timer?.cancel();
    pending.timer = (this.opts.heartbeatTimer ?? realHeartbeatTimer)(() => {
      if (this.tokens.get(token) !== pending) return;
      this.dropToken(token);
      pending.reject(namedError('States.HeartbeatTimeout', `no heartbeat for ${pending.heartbeatSeconds} s`));
    }, pending.heartbeatSeconds * 1000);
  }

  private dropToken(token: string): PendingToken | undefined {
    const pending = this.tokens.get(token);
    if (!pending) return undefined;
    pending.timer?.cancel();
    this.tokens.delete(token);
    return pending;
  }

  async startExecution(name: string, input: unknown): Promise<void> {
    if (this.startedNames.has(name)) return; // idempotent by name, like StartExecution
    this.startedNames.add(name);
    const run = this.machine.run(input as never, {
      overrides: {
        taskResourceLocalHandlers: this.handlers as never,
        waitTimeOverrides: this.opts.waitTimeOverrides,
      },
      context: { Execution: { Name: name, Id: `local:${name}`, Input: input as never, StartTime: new Date().toISOString() } },
    });
    const done = run.result.then(
      (output) => {
        this.executions.delete(name);
        this.opts.onExecutionEnd?.({ name, status: 'SUCCEEDED', output });
        return output;
      },
      (err: Error & { cause?: unknown }) => {
        this.executions.delete(name);
        const aborted = err?.name === 'ExecutionAbortedError';
        this.opts.onExecutionEnd?.({
          name,
          status: aborted ? 'ABORTED' : 'FAILED',
          error: (err as { error?: string })?.error ?? err?.name,
          cause: (err as { cause?: string })?.cause?.toString?.() ?? err?.message,
        });
        return undefined;
      },
    );
    this.executions.set(name, { abort: run.abort, done });
    const sink = this.opts.onEngineEvent;
    if (sink) {
      void (async () => {
        for await (const event of run.eventLogs) sink(name, event as { type: string; state?: { name?: string } });
      })().catch(() => {});
    }
  }

  async sendTaskSuccess(token: string, output: unknown): Promise<void> {
    const pending = this.dropToken(token);
    if (!pending) throw new TokenGoneError(`task token is not waiting (spent, timed out or unknown)`);
    pending.resolve(output ?? {});
  }

  async sendTaskFailure(token: string, error: string, cause: string): Promise<void> {
    const pending = this.dropToken(token);
    if (!pending) throw new TokenGoneError(`task token is not waiting (spent, timed out or unknown)`);
    pending.reject(namedError(error, cause));
  }

  async sendTaskHeartbeat(token: string): Promise<void> {
    if (!this.tokens.has(token)) throw new TokenGoneError(`task token is not waiting (spent, timed out or unknown)`);
    this.armHeartbeat(token);
  }

  async stopExecution(name: string, _cause: string): Promise<void> {
    // As on AWS, the stopped execution's task tokens are gone: completing one is TokenGoneError.
    for (const [token, pending] of [...this.tokens]) if (pending.execution === name) this.dropToken(token);
    this.executions.get(name)?.abort();
  }

  isRunning(name: string): boolean {
    return this.executions.has(name);
  }

  runningExecutions(): string[] {
    return [...this.executions.keys()];
  }

  /** Resolves when the named execution ends (immediately if it is not running). */
  async waitFor(name: string): Promise<void> {
    await this.executions.get(name)?.done;
  }

  /** Stops every execution and forgets every token: what a crash of the control plane does. */
  async close(): Promise<void> {
    for (const token of [...this.tokens.keys()]) this.dropToken(token);
    const all = [...this.executions.values()];
    for (const e of all) e.abort();
    await Promise.allSettled(all.map((e) => e.done));
  }
}
