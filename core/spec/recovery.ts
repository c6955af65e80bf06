// `resources.job_recovery` (docs/behaviour.md §1, §3): a strategy name, or
// `{strategy, max_restarts_on_errors, recover_on_exit_codes, max_launch_attempts}`.

import type { JobRecoverySpec, RecoveryStrategy } from './types.ts';
import type { IssueList } from './issues.ts';
import { joinPath } from './issues.ts';
import { didYouMean } from './suggest.ts';
import { checkKeys, describe, expectInteger, isMapping, present } from './values.ts';

export const RECOVERY_STRATEGIES: readonly RecoveryStrategy[] = ['EAGER_NEXT_REGION', 'FAILOVER'];

const RECOVERY_KEYS = ['strategy', 'max_restarts_on_errors', 'recover_on_exit_codes', 'max_launch_attempts'] as const;

export function defaultJobRecovery(): JobRecoverySpec {
  return { strategy: 'EAGER_NEXT_REGION', maxRestartsOnErrors: 0, recoverOnExitCodes: [] };
}

export function parseJobRecovery(value: unknown, path: string, issues: IssueList): JobRecoverySpec | undefined {
  if (typeof value === 'string') {
    const strategy = parseStrategy(value, path, issues);
    return strategy === undefined ? undefined : { ...defaultJobRecovery(), strategy };
  }
  if (!isMapping(value)) {
    issues.add(path, `must be a strategy name (${RECOVERY_STRATEGIES.join(' or ')}) or a mapping (got ${describe(value)})`);
    return undefined;
  }
  const before = issues.size;
  checkKeys(value, RECOVERY_KEYS, path, issues);
  const spec = defaultJobRecovery();
  if (present(value.strategy)) {
    const strategy = parseStrategy(value.strategy, joinPath(path, 'strategy'), issues);
    if (strategy !== undefined) spec.strategy = strategy;
  }
  if (present(value.max_restarts_on_errors)) {
    const max = expectInteger(value.max_restarts_on_errors, joinPath(path, 'max_restarts_on_errors'), issues, { min: 0 });
    if (max !== undefined) spec.maxRestartsOnErrors = max;
  }
  if (present(value.recover_on_exit_codes)) {
    spec.recoverOnExitCodes = parseExitCodes(value.recover_on_exit_codes, joinPath(path, 'recover_on_exit_codes'), issues);
  }
  if (present(value.max_launch_attempts)) {
    spec.maxLaunchAttempts = expectInteger(value.max_launch_attempts, joinPath(path, 'max_launch_attempts'), issues, {
      min: 1,
    });
  }
  return issues.size > before ? undefined : spec;
}

function parseStrategy(value: unknown, path: string, issues: IssueList): RecoveryStrategy | undefined {
  if (typeof value !== 'string') {
    issues.add(path, `must be ${RECOVERY_STRATEGIES.join(' or ')} (got ${describe(value)})`);
    return undefined;
  }
  const name = value.trim().toUpperCase();
  const strategy = RECOVERY_STRATEGIES.find((known) => known === name);
  if (strategy === undefined) issues.add(path, `unknown strategy '${value.trim()}'${didYouMean(name, RECOVERY_STRATEGIES)}`);
  return strategy;
}

/** One exit code or a list; duplicates dropped, first-seen order kept. */
function parseExitCodes(value: unknown, path: string, issues: IssueList): number[] {
  const items = Array.isArray(value) ? value : [value];
  const codes: number[] = [];
  items.forEach((item, i) => {
    const code = expectInteger(item, Array.isArray(value) ? joinPath(path, i) : path, issues, { min: 0, max: 255 });
    if (code !== undefined && !codes.includes(code)) codes.push(code);
  });
  return codes;
}

export function sameJobRecovery(a: JobRecoverySpec, b: JobRecoverySpec): boolean {
  return (
    a.strategy === b.strategy &&
    a.maxRestartsOnErrors === b.maxRestartsOnErrors &&
    a.maxLaunchAttempts === b.maxLaunchAttempts &&
    a.recoverOnExitCodes.length === b.recoverOnExitCodes.length &&
    a.recoverOnExitCodes.every((code) => b.recoverOnExitCodes.includes(code))
  );
}

/** Short human form for messages: `FAILOVER, max_restarts_on_errors 3`. */
export function describeJobRecovery(spec: JobRecoverySpec): string {
  const parts: string[] = [spec.strategy];
  if (spec.maxRestartsOnErrors) parts.push(`max_restarts_on_errors ${spec.maxRestartsOnErrors}`);
  if (spec.recoverOnExitCodes.length) parts.push(`recover_on_exit_codes [${spec.recoverOnExitCodes.join(', ')}]`);
  if (spec.maxLaunchAttempts !== undefined) parts.push(`max_launch_attempts ${spec.maxLaunchAttempts}`);
  return parts.join(', ');
}
