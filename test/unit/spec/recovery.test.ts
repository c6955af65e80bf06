// docs/behaviour.md §1 `resources.job_recovery`: string and object forms, defaults, and agreement between
// candidates.

import { describe, expect, it } from 'vitest';
import { resourceProblems, resourcesOf } from './helpers.ts';

const recoveryOf = (body: string) => resourcesOf(body).jobRecovery;
const DEFAULT = { strategy: 'EAGER_NEXT_REGION', maxRestartsOnErrors: 0, recoverOnExitCodes: [] };

describe('job_recovery forms', () => {
  it('defaults to EAGER_NEXT_REGION with no restarts', () => {
    expect(recoveryOf('cpus: 1')).toEqual(DEFAULT);
  });

  it.each([
    ['FAILOVER', 'FAILOVER'],
    ['failover', 'FAILOVER'],
    ['Eager_Next_Region', 'EAGER_NEXT_REGION'],
  ])('a strategy name, case-insensitive: %s', (written, strategy) => {
    expect(recoveryOf(`job_recovery: ${written}`)).toEqual({ ...DEFAULT, strategy });
  });

  it('the full object', () => {
    expect(
      recoveryOf(`
        job_recovery:
          strategy: failover
          max_restarts_on_errors: 3
          recover_on_exit_codes: [33, 34]
          max_launch_attempts: 10
      `),
    ).toEqual({ strategy: 'FAILOVER', maxRestartsOnErrors: 3, recoverOnExitCodes: [33, 34], maxLaunchAttempts: 10 });
  });

  it('an object with defaults filled in; one exit code; duplicates dropped', () => {
    expect(recoveryOf('job_recovery: {max_restarts_on_errors: 2}')).toEqual({ ...DEFAULT, maxRestartsOnErrors: 2 });
    expect(recoveryOf('job_recovery: {recover_on_exit_codes: 0}')).toEqual({ ...DEFAULT, recoverOnExitCodes: [0] });
    expect(recoveryOf('job_recovery: {recover_on_exit_codes: [255, 7, 255]}')).toEqual({ ...DEFAULT, recoverOnExitCodes: [255, 7] });
    expect(recoveryOf('job_recovery: {strategy: null}')).toEqual(DEFAULT);
  });

  it('accepts the older spot_recovery key', () => {
    expect(recoveryOf('spot_recovery: failover')).toEqual({ ...DEFAULT, strategy: 'FAILOVER' });
  });

  it.each([
    ['job_recovery: EAGER', "resources.job_recovery: unknown strategy 'EAGER'; expected one of: EAGER_NEXT_REGION, FAILOVER"],
    ['job_recovery: failovr', "resources.job_recovery: unknown strategy 'failovr'; did you mean FAILOVER?"],
    ['job_recovery: {strategy: 1}', 'resources.job_recovery.strategy: must be EAGER_NEXT_REGION or FAILOVER (got an integer)'],
    ['job_recovery: {max_restarts_on_errors: -1}', 'resources.job_recovery.max_restarts_on_errors: must be an integer >= 0 (got -1)'],
    ['job_recovery: {max_restarts_on_errors: "3"}', 'resources.job_recovery.max_restarts_on_errors: must be an integer >= 0 (got a string)'],
    ['job_recovery: {recover_on_exit_codes: 256}', 'resources.job_recovery.recover_on_exit_codes: must be an integer from 0 to 255 (got 256)'],
    ['job_recovery: {recover_on_exit_codes: [1, -1]}', 'resources.job_recovery.recover_on_exit_codes[1]: must be an integer from 0 to 255 (got -1)'],
    ['job_recovery: {max_launch_attempts: 0}', 'resources.job_recovery.max_launch_attempts: must be an integer >= 1 (got 0)'],
    ['job_recovery: {max_restart_on_errors: 1}', 'resources.job_recovery.max_restart_on_errors: unknown key; did you mean max_restarts_on_errors?'],
    ['job_recovery: [FAILOVER]', 'resources.job_recovery: must be a strategy name (EAGER_NEXT_REGION or FAILOVER) or a mapping (got a list)'],
    ['job_recovery: FAILOVER\nspot_recovery: FAILOVER', 'resources.spot_recovery: use either job_recovery or spot_recovery, not both'],
  ])('rejects %s', (body, message) => {
    expect(resourceProblems(body)).toEqual([message]);
  });
});

describe('job_recovery across candidates', () => {
  it('is inherited from the outer level by every candidate', () => {
    const resources = resourcesOf('job_recovery: FAILOVER\nany_of:\n  - infra: aws\n  - infra: gcp');
    expect(resources.jobRecovery.strategy).toBe('FAILOVER');
  });

  it('may be repeated identically in every candidate (exit codes compared as a set)', () => {
    const resources = resourcesOf(`
      ordered:
        - job_recovery: {strategy: FAILOVER, recover_on_exit_codes: [1, 2]}
        - job_recovery: {strategy: failover, recover_on_exit_codes: [2, 1]}
    `);
    expect(resources.jobRecovery).toEqual({ ...DEFAULT, strategy: 'FAILOVER', recoverOnExitCodes: [1, 2] });
  });

  it('must not differ between candidates', () => {
    expect(resourceProblems('any_of:\n  - job_recovery: FAILOVER\n  - infra: gcp')).toEqual([
      'resources.any_of[1]: job_recovery (EAGER_NEXT_REGION) differs from resources.any_of[0] (FAILOVER); all candidates of a task must carry the same job_recovery',
    ]);
    expect(
      resourceProblems('any_of:\n  - job_recovery: {max_launch_attempts: 3}\n  - job_recovery: {recover_on_exit_codes: 5}'),
    ).toEqual([
      'resources.any_of[1].job_recovery: job_recovery (EAGER_NEXT_REGION, recover_on_exit_codes [5]) differs from resources.any_of[0] (EAGER_NEXT_REGION, max_launch_attempts 3); all candidates of a task must carry the same job_recovery',
    ]);
  });

  it('an invalid candidate value is reported once, not also as a disagreement', () => {
    expect(resourceProblems('any_of:\n  - job_recovery: FAILOVER\n  - job_recovery: BOGUS')).toEqual([
      "resources.any_of[1].job_recovery: unknown strategy 'BOGUS'; expected one of: EAGER_NEXT_REGION, FAILOVER",
    ]);
  });

  it('priority follows the same rule', () => {
    expect(resourcesOf('priority: 7\nany_of:\n  - cpus: 1\n  - cpus: 2\n    priority: 7').priority).toBe(7);
    expect(resourceProblems('any_of:\n  - priority: 1\n  - priority: 2')).toEqual([
      'resources.any_of[1].priority: priority (2) differs from resources.any_of[0] (1); all candidates of a task must carry the same priority',
    ]);
  });
});
