// What to do after an attempt ended (docs/behaviour.md §3). Pure: the restart count comes from the stored task,
// not from memory, so a retried decision gives the same answer.
//
// Rules, in order:
//  1. SUCCEEDED → SUCCEED, even if a cancel was requested meanwhile: the run finished first and keeps
//     its real terminal status.
//  2. CANCELLED (the attempt was stopped because of a cancel) → CANCEL.
//  3. LOST (preemption, hardware loss, silent node) → CANCEL if a cancel was requested, else RECOVER,
//     free (never counted, never limited).
//  4. SETUP_FAILED / RUN_FAILED: if any node's exit code is in recover_on_exit_codes → RECOVER, free
//     and unlimited. Otherwise one restart is counted: if restartCount + 1 ≤ max_restarts_on_errors →
//     RECOVER (counted), else FAIL with FAILED_SETUP / FAILED. So max_restarts_on_errors N gives N + 1
//     attempts. A null exit code (a node we stopped after another failed) never matches.
//     A cancel request turns a would-be RECOVER into CANCEL; a failure with no restart left stays a
//     failure (the run ended before the cancel took effect). This relies on the cancel path recording
//     the attempt's outcome as CANCELLED when it is the cancel that stopped the nodes (first writer
//     wins on AttemptRecord.outcome).

import { ValidationError } from '../errors.ts';
import type { AttemptOutcome } from '../job/records.ts';
import type { JobRecoverySpec } from '../spec/types.ts';

export interface AttemptDecisionInput {
  recovery: JobRecoverySpec;
  outcome: AttemptOutcome;
  /** Counted restarts so far (TaskState.restartCount), before this attempt's failure. */
  restartCount: number;
  cancelRequested: boolean;
}

export type AttemptDecision =
  | { action: 'SUCCEED' }
  /** `counted`: this recovery uses one of max_restarts_on_errors (store restartCount + 1). */
  | { action: 'RECOVER'; counted: boolean; reason: string }
  | { action: 'FAIL'; status: 'FAILED' | 'FAILED_SETUP'; reason: string }
  | { action: 'CANCEL' };

/** `node 0 exited 1, node 2 exited 137` — the non-zero codes, by node rank (index). */
export function describeExitCodes(exitCodes: readonly (number | null)[]): string {
  const parts: string[] = [];
  exitCodes.forEach((code, rank) => {
    if (code !== null && code !== 0) parts.push(`node ${rank} exited ${code}`);
  });
  return parts.join(', ');
}

function validate(input: AttemptDecisionInput): void {
  const { restartCount, recovery, outcome } = input;
  if (!Number.isInteger(restartCount) || restartCount < 0) {
    throw new ValidationError(`decideAfterAttempt: restartCount must be a non-negative integer, got ${restartCount}`);
  }
  if (!Number.isInteger(recovery.maxRestartsOnErrors) || recovery.maxRestartsOnErrors < 0) {
    throw new ValidationError(
      `decideAfterAttempt: max_restarts_on_errors must be a non-negative integer, got ${recovery.maxRestartsOnErrors}`,
    );
  }
  if (outcome.kind === 'SETUP_FAILED' || outcome.kind === 'RUN_FAILED') {
    const bad = outcome.exitCodes.find((c) => c !== null && !Number.isInteger(c));
    if (bad !== undefined) throw new ValidationError(`decideAfterAttempt: exit code ${bad} is not an integer`);
    if (!outcome.exitCodes.some((c) => c !== null && c !== 0)) {
      throw new ValidationError(
        `decideAfterAttempt: a ${outcome.kind} outcome needs a non-zero exit code; got [${outcome.exitCodes.join(', ')}]`,
      );
    }
  }
}

export function decideAfterAttempt(input: AttemptDecisionInput): AttemptDecision {
  validate(input);
  const { recovery, outcome, restartCount, cancelRequested } = input;
  switch (outcome.kind) {
    case 'SUCCEEDED':
      return { action: 'SUCCEED' };
    case 'CANCELLED':
      return { action: 'CANCEL' };
    case 'LOST':
      if (cancelRequested) return { action: 'CANCEL' };
      return { action: 'RECOVER', counted: false, reason: `instances lost (${outcome.reason}); recovering` };
    case 'SETUP_FAILED':
    case 'RUN_FAILED': {
      const phase = outcome.kind === 'SETUP_FAILED' ? 'setup' : 'run';
      const what = `${phase} failed: ${describeExitCodes(outcome.exitCodes)}`;
      const listed = outcome.exitCodes.find((c) => c !== null && recovery.recoverOnExitCodes.includes(c));
      if (listed !== undefined && listed !== null) {
        if (cancelRequested) return { action: 'CANCEL' };
        return {
          action: 'RECOVER',
          counted: false,
          reason: `${what}; exit code ${listed} is in recover_on_exit_codes, recovering without counting a restart`,
        };
      }
      const count = restartCount + 1;
      if (count <= recovery.maxRestartsOnErrors) {
        if (cancelRequested) return { action: 'CANCEL' };
        return { action: 'RECOVER', counted: true, reason: `${what}; restart ${count} of ${recovery.maxRestartsOnErrors}` };
      }
      const status = outcome.kind === 'SETUP_FAILED' ? 'FAILED_SETUP' : 'FAILED';
      const budget =
        recovery.maxRestartsOnErrors === 0
          ? 'no restarts allowed (max_restarts_on_errors: 0)'
          : `all ${recovery.maxRestartsOnErrors} restarts used (max_restarts_on_errors)`;
      return { action: 'FAIL', status, reason: `${what}; ${budget}` };
    }
  }
}
