import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { decideAfterAttempt, describeExitCodes, type AttemptDecision } from '../../../core/recovery/decide.ts';
import type { AttemptOutcome } from '../../../core/job/records.ts';
import type { JobRecoverySpec } from '../../../core/spec/types.ts';
import { ValidationError } from '../../../core/errors.ts';

function recovery(maxRestartsOnErrors: number, recoverOnExitCodes: number[] = []): JobRecoverySpec {
  return { strategy: 'EAGER_NEXT_REGION', maxRestartsOnErrors, recoverOnExitCodes };
}

const run = (...exitCodes: (number | null)[]): AttemptOutcome => ({ kind: 'RUN_FAILED', exitCodes });
const setup = (...exitCodes: (number | null)[]): AttemptOutcome => ({ kind: 'SETUP_FAILED', exitCodes });
const lost: AttemptOutcome = { kind: 'LOST', reason: 'spot interruption warning' };

type Row = [string, JobRecoverySpec, AttemptOutcome, number, boolean, Partial<AttemptDecision> & { action: string }];

describe('decideAfterAttempt (docs/behaviour.md §3)', () => {
  it.each<Row>([
    ['success', recovery(0), { kind: 'SUCCEEDED' }, 0, false, { action: 'SUCCEED' }],
    ['success before a cancel keeps SUCCEEDED', recovery(0), { kind: 'SUCCEEDED' }, 0, true, { action: 'SUCCEED' }],
    ['attempt stopped by cancel', recovery(3), { kind: 'CANCELLED' }, 0, true, { action: 'CANCEL' }],
    ['preemption recovers free', recovery(0), lost, 0, false, { action: 'RECOVER', counted: false }],
    ['preemption is never limited, whatever the restart count', recovery(0), lost, 1_000, false, { action: 'RECOVER', counted: false }],
    ['cancel wins over a preemption recovery', recovery(0), lost, 0, true, { action: 'CANCEL' }],
    ['run failure, no restarts allowed', recovery(0), run(1), 0, false, { action: 'FAIL', status: 'FAILED' }],
    ['setup failure, no restarts allowed', recovery(0), setup(2), 0, false, { action: 'FAIL', status: 'FAILED_SETUP' }],
    ['run failure, first of 3 restarts', recovery(3), run(1), 0, false, { action: 'RECOVER', counted: true }],
    ['run failure, third of 3 restarts', recovery(3), run(1), 2, false, { action: 'RECOVER', counted: true }],
    ['run failure after 3 of 3 restarts', recovery(3), run(1), 3, false, { action: 'FAIL', status: 'FAILED' }],
    ['setup failure after 1 of 1 restart', recovery(1), setup(1), 1, false, { action: 'FAIL', status: 'FAILED_SETUP' }],
    ['listed exit code recovers free', recovery(0, [137]), run(137), 0, false, { action: 'RECOVER', counted: false }],
    ['listed exit code is unlimited', recovery(1, [137]), run(137), 50, false, { action: 'RECOVER', counted: false }],
    ['listed exit code on setup too', recovery(0, [42]), setup(42), 0, false, { action: 'RECOVER', counted: false }],
    ['any node with a listed code (multi-node)', recovery(0, [137]), run(1, 137, null), 0, false, { action: 'RECOVER', counted: false }],
    ['no node with a listed code (multi-node) counts', recovery(2, [137]), run(1, null, null), 0, false, { action: 'RECOVER', counted: true }],
    ['a null exit code (node we stopped) never matches', recovery(0, [0]), run(1, null), 0, false, { action: 'FAIL', status: 'FAILED' }],
    ['cancel wins over a free exit-code recovery', recovery(0, [137]), run(137), 0, true, { action: 'CANCEL' }],
    ['cancel wins over a counted restart', recovery(3), run(1), 0, true, { action: 'CANCEL' }],
    ['a final failure keeps its status despite a later cancel', recovery(0), run(1), 0, true, { action: 'FAIL', status: 'FAILED' }],
  ])('%s', (_name, rec, outcome, restartCount, cancelRequested, expected) => {
    expect(decideAfterAttempt({ recovery: rec, outcome, restartCount, cancelRequested })).toMatchObject(expected);
  });

  it('explains itself in the reason', () => {
    const counted = decideAfterAttempt({ recovery: recovery(3), outcome: run(0, 1), restartCount: 1, cancelRequested: false });
    expect(counted).toEqual({ action: 'RECOVER', counted: true, reason: 'run failed: node 1 exited 1; restart 2 of 3' });
    const free = decideAfterAttempt({ recovery: recovery(0, [137]), outcome: run(137), restartCount: 0, cancelRequested: false });
    expect(free).toMatchObject({ reason: 'run failed: node 0 exited 137; exit code 137 is in recover_on_exit_codes, recovering without counting a restart' });
    const failed = decideAfterAttempt({ recovery: recovery(2), outcome: setup(3), restartCount: 2, cancelRequested: false });
    expect(failed).toEqual({
      action: 'FAIL',
      status: 'FAILED_SETUP',
      reason: 'setup failed: node 0 exited 3; all 2 restarts used (max_restarts_on_errors)',
    });
    const noBudget = decideAfterAttempt({ recovery: recovery(0), outcome: run(1), restartCount: 0, cancelRequested: false });
    expect(noBudget).toMatchObject({ reason: 'run failed: node 0 exited 1; no restarts allowed (max_restarts_on_errors: 0)' });
    const preempted = decideAfterAttempt({ recovery: recovery(0), outcome: lost, restartCount: 0, cancelRequested: false });
    expect(preempted).toMatchObject({ reason: 'instances lost (spot interruption warning); recovering' });
  });

  it('describeExitCodes lists non-zero codes by node rank', () => {
    expect(describeExitCodes([0, 1, null, 137])).toBe('node 1 exited 1, node 3 exited 137');
  });

  it.each([
    ['negative restart count', { recovery: recovery(0), outcome: run(1), restartCount: -1, cancelRequested: false }, /restartCount/],
    ['fractional max restarts', { recovery: recovery(1.5), outcome: run(1), restartCount: 0, cancelRequested: false }, /max_restarts_on_errors/],
    ['failure without a non-zero code', { recovery: recovery(0), outcome: run(0, null), restartCount: 0, cancelRequested: false }, /needs a non-zero exit code/],
    ['non-integer code', { recovery: recovery(0), outcome: run(1.5), restartCount: 0, cancelRequested: false }, /not an integer/],
  ])('rejects %s', (_name, input, message) => {
    expect(() => decideAfterAttempt(input)).toThrow(ValidationError);
    expect(() => decideAfterAttempt(input)).toThrow(message);
  });
});

/** Runs attempts until the decision is not RECOVER, feeding back the stored restart count. */
function simulate(rec: JobRecoverySpec, outcomes: AttemptOutcome[]): { attempts: number; last: AttemptDecision; counted: number } {
  let restartCount = 0;
  let attempts = 0;
  let last: AttemptDecision = { action: 'SUCCEED' };
  for (const outcome of outcomes) {
    attempts++;
    last = decideAfterAttempt({ recovery: rec, outcome, restartCount, cancelRequested: false });
    if (last.action !== 'RECOVER') break;
    if (last.counted) restartCount++;
  }
  return { attempts, last, counted: restartCount };
}

describe('property: restart budget', () => {
  it('max_restarts_on_errors N gives exactly N + 1 attempts on repeated counted failures', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30 }), fc.boolean(), fc.integer({ min: 1, max: 255 }), (n, inSetup, code) => {
        const failure = inSetup ? setup(code) : run(code);
        const { attempts, last } = simulate(recovery(n), Array.from({ length: n + 10 }, () => failure));
        expect(attempts).toBe(n + 1);
        expect(last).toMatchObject({ action: 'FAIL', status: inSetup ? 'FAILED_SETUP' : 'FAILED' });
      }),
    );
  });

  it('listed exit codes and losses never end the task, and never use the budget', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5 }),
        fc.array(fc.constantFrom<'listed' | 'lost'>('listed', 'lost'), { minLength: 1, maxLength: 200 }),
        (n, kinds) => {
          const outcomes = kinds.map((k) => (k === 'lost' ? lost : run(1, 137)));
          const { attempts, last, counted } = simulate(recovery(n, [137]), outcomes);
          expect(attempts).toBe(outcomes.length);
          expect(last).toMatchObject({ action: 'RECOVER', counted: false });
          expect(counted).toBe(0);
        },
      ),
    );
  });

  it('in a mixed sequence, the task fails exactly at the (N + 1)-th counted failure', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 6 }),
        fc.array(fc.constantFrom<'counted' | 'listed' | 'lost'>('counted', 'listed', 'lost'), { minLength: 1, maxLength: 60 }),
        (n, kinds) => {
          const outcomes = kinds.map((k) => (k === 'lost' ? lost : k === 'listed' ? run(99) : run(1)));
          const { attempts, last } = simulate(recovery(n, [99]), outcomes);
          const countedPositions = kinds.flatMap((k, i) => (k === 'counted' ? [i] : []));
          if (countedPositions.length > n) {
            expect(last.action).toBe('FAIL');
            expect(attempts).toBe(countedPositions[n] + 1);
          } else {
            expect(last.action).toBe('RECOVER');
            expect(attempts).toBe(kinds.length);
          }
        },
      ),
    );
  });
});
