// Back-off between full launch walks that found every candidate blocked (docs/behaviour.md §3): 60 s × 1.6^round,
// capped at 300 s, ±40% jitter — the numbers of SkyPilot's managed-job retry
// (`common_utils.Backoff(initial_backoff=60)`, max factor 5, multiplier 1.6, jitter 0.4).
//
// Like SkyPilot, the cap applies BEFORE the jitter, so one wait can reach 300 s × 1.4 = 420 s.
// Unlike SkyPilot, the wait is a function of the round alone: SkyPilot adds each jitter into its
// running value (a random walk), which needs in-memory state; we store only the round count
// (TaskState.blockedRounds), so a restarted workflow computes the same bounds.

import { ValidationError } from '../errors.ts';
import type { Rng } from '../ports.ts';

export interface BackoffOptions {
  /** Seconds before the first retry (round 0). */
  initial: number;
  /** Growth per round. */
  factor: number;
  /** Cap on the un-jittered wait, in seconds. */
  max: number;
  /** Fraction (0 ≤ jitter < 1) by which the wait may be shorter or longer. */
  jitter: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = { initial: 60, factor: 1.6, max: 300, jitter: 0.4 };

function validate(round: number, o: BackoffOptions): void {
  if (!Number.isInteger(round) || round < 0) throw new ValidationError(`backoff round must be a non-negative integer, got ${round}`);
  if (!(o.initial > 0)) throw new ValidationError(`backoff initial must be > 0, got ${o.initial}`);
  if (!(o.factor >= 1)) throw new ValidationError(`backoff factor must be >= 1, got ${o.factor}`);
  if (!(o.max >= o.initial)) throw new ValidationError(`backoff max (${o.max}) must be >= initial (${o.initial})`);
  if (!(o.jitter >= 0 && o.jitter < 1)) throw new ValidationError(`backoff jitter must be in [0, 1), got ${o.jitter}`);
}

/** The un-jittered wait of `round` (0 = the first back-off): min(initial × factor^round, max). */
export function backoffBaseSeconds(round: number, options: Partial<BackoffOptions> = {}): number {
  const o = { ...DEFAULT_BACKOFF, ...options };
  validate(round, o);
  return Math.min(o.initial * o.factor ** round, o.max);
}

/**
 * Seconds to wait before launch walk `round + 1`. `round` is zero-based: the first back-off, after
 * the first all-blocked walk, is round 0 (so pass blockedRounds − 1 after incrementing it).
 * Result ∈ [base × (1 − jitter), base × (1 + jitter)] with base = backoffBaseSeconds(round) (the upper
 * end is open in exact arithmetic; floating-point rounding can land on it).
 */
export function backoffSeconds(round: number, rng: Rng, options: Partial<BackoffOptions> = {}): number {
  const o = { ...DEFAULT_BACKOFF, ...options };
  const base = backoffBaseSeconds(round, o);
  const r = rng();
  if (!(r >= 0 && r < 1)) throw new ValidationError(`rng must return a number in [0, 1), got ${r}`);
  return base + (2 * r - 1) * o.jitter * base;
}
