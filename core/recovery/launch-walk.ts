// Planning of one launch walk (docs/behaviour.md §3), pure: the caller owns the loop and the provider calls.
//
//   let state = startWalk();
//   for (;;) {
//     const step = walkResult(candidates, state, { blockedRounds, maxLaunchAttempts });
//     if (step.kind !== 'TRY') break;            // BACKOFF | FAILED_NO_RESOURCE | FAILED_PRECHECKS
//     try { await provider.launch({ ..., candidate: step.candidate }); break; }
//     catch (e) { state = onLaunchError(state, e, step.index, step.candidate); }   // rethrows others
//   }
//
// Terms. A walk tries the ordered candidates until one launches. A capacity or quota error blocks a
// scope (zone, region or cloud) for the rest of the walk; a precheck error (auth, invalid request)
// rules out that one candidate. The walk ends when no candidate is left: if every failure was a
// precheck failure, retrying cannot help (FAILED_PRECHECKS); otherwise capacity may come back, so the
// task backs off and walks again, unless the user's max_launch_attempts is reached
// (FAILED_NO_RESOURCE). A TransientError (throttling) is not the walk's business: onLaunchError
// rethrows it, like any other error, for the caller's retry policy.
//
// Scope handling is the optimizer's (core/optimizer: filterBlocked, blockScopeFor), so the walk and
// the optimizer never disagree about what a scope covers.

import { CapacityError, PrecheckError, ValidationError } from '../errors.ts';
import { blockScopeFor, filterBlocked } from '../optimizer/index.ts';
import type { Catalog } from '../catalog/index.ts';
import type { BlockedScope, Candidate } from '../optimizer/types.ts';

export interface WalkFailure {
  candidateIndex: number;
  kind: 'CAPACITY' | 'PRECHECK';
  message: string;
  /** The scope a capacity error blocked. */
  blocked?: BlockedScope;
}

export interface WalkState {
  /** Scopes blocked in this walk (persist as TaskState.blocked). */
  blocked: BlockedScope[];
  /** Candidates (indices into the walk's list) ruled out one by one: precheck failures, and capacity
   *  errors whose scope did not cover the candidate that raised them. */
  ruledOut: number[];
  /** Every failure of this walk, in order. */
  failures: WalkFailure[];
}

export function startWalk(blocked: readonly BlockedScope[] = []): WalkState {
  return { blocked: [...blocked], ruledOut: [], failures: [] };
}

/** The candidate as it may still be tried (blocked zones removed), or undefined when blocked. */
export function unblockedPart(candidate: Candidate, blocked: readonly BlockedScope[]): Candidate | undefined {
  return filterBlocked([candidate], blocked)[0];
}

export function isBlocked(candidate: Candidate, blocked: readonly BlockedScope[]): boolean {
  return unblockedPart(candidate, blocked) === undefined;
}

/** The first candidate neither blocked nor ruled out, with its blocked zones removed. */
export function nextCandidate(
  candidates: readonly Candidate[],
  state: WalkState,
): { index: number; candidate: Candidate } | undefined {
  for (let i = 0; i < candidates.length; i++) {
    if (state.ruledOut.includes(i)) continue;
    const part = unblockedPart(candidates[i], state.blocked);
    if (part) return { index: i, candidate: part };
  }
  return undefined;
}

function sameScope(a: BlockedScope, b: BlockedScope): boolean {
  switch (a.scope) {
    case 'cloud':
      return b.scope === 'cloud' && a.cloud === b.cloud;
    case 'region':
      return b.scope === 'region' && a.cloud === b.cloud && a.region === b.region;
    case 'zone':
      return b.scope === 'zone' && a.cloud === b.cloud && a.region === b.region && a.zone === b.zone;
  }
}

function sameTry(a: Candidate | undefined, b: Candidate | undefined): boolean {
  if (!a || !b) return a === b;
  return a.zones.length === b.zones.length && a.zones.every((z, i) => z === b.zones[i]);
}

/**
 * Records a failed launch of candidate `index` (as tried: `candidate` may have fewer zones than the
 * list entry). CapacityError → its scope is blocked; if that scope does not take anything away from
 * this candidate (the error named another place), the candidate is ruled out too, so the walk always
 * moves on. PrecheckError → the candidate is ruled out. Anything else is rethrown unchanged.
 */
export function onLaunchError(
  state: WalkState,
  error: unknown,
  index: number,
  candidate: Candidate,
  catalog?: Catalog,
): WalkState {
  if (error instanceof CapacityError) {
    const scope = catalog ? blockScopeFor(error, catalog) : blockScopeFor(error);
    const blocked = state.blocked.some((b) => sameScope(b, scope)) ? state.blocked : [...state.blocked, scope];
    const before = unblockedPart(candidate, state.blocked);
    const after = unblockedPart(candidate, blocked);
    const progressed = after === undefined || !sameTry(before, after);
    return {
      blocked,
      ruledOut: progressed || state.ruledOut.includes(index) ? state.ruledOut : [...state.ruledOut, index],
      failures: [...state.failures, { candidateIndex: index, kind: 'CAPACITY', message: error.message, blocked: scope }],
    };
  }
  if (error instanceof PrecheckError) {
    return {
      blocked: state.blocked,
      ruledOut: state.ruledOut.includes(index) ? state.ruledOut : [...state.ruledOut, index],
      failures: [...state.failures, { candidateIndex: index, kind: 'PRECHECK', message: error.message }],
    };
  }
  throw error;
}

export type WalkStep =
  | { kind: 'TRY'; index: number; candidate: Candidate }
  /** Every candidate blocked: wait backoffSeconds(blockedRounds − 1), then walk again. */
  | { kind: 'BACKOFF'; blockedRounds: number; reason: string }
  | { kind: 'FAILED_NO_RESOURCE'; blockedRounds: number; reason: string }
  | { kind: 'FAILED_PRECHECKS'; reason: string };

export interface WalkLimits {
  /** Walks that already ended all-blocked for this launch (TaskState.blockedRounds). */
  blockedRounds: number;
  /** resources.job_recovery.max_launch_attempts (or the deployment's); undefined = forever. */
  maxLaunchAttempts?: number;
}

function summarize(failures: readonly WalkFailure[]): string {
  const shown = failures.slice(0, 5).map((f) => f.message);
  const more = failures.length > shown.length ? `; and ${failures.length - shown.length} more` : '';
  return shown.join('; ') + more;
}

/**
 * The next step of the walk. blockedRounds in BACKOFF / FAILED_NO_RESOURCE is the new count (store
 * it). A walk that found no candidate at all (an empty list) ends in FAILED_PRECHECKS: nothing
 * feasible can never become feasible by waiting.
 */
export function walkResult(candidates: readonly Candidate[], state: WalkState, limits: WalkLimits): WalkStep {
  if (!Number.isInteger(limits.blockedRounds) || limits.blockedRounds < 0) {
    throw new ValidationError(`blockedRounds must be a non-negative integer, got ${limits.blockedRounds}`);
  }
  if (limits.maxLaunchAttempts !== undefined && (!Number.isInteger(limits.maxLaunchAttempts) || limits.maxLaunchAttempts < 1)) {
    throw new ValidationError(`max_launch_attempts must be an integer >= 1, got ${limits.maxLaunchAttempts}`);
  }
  if (candidates.length === 0) {
    return { kind: 'FAILED_PRECHECKS', reason: 'no feasible resources: the candidate list is empty' };
  }
  const next = nextCandidate(candidates, state);
  if (next) return { kind: 'TRY', ...next };
  if (state.failures.length > 0 && state.failures.every((f) => f.kind === 'PRECHECK')) {
    return { kind: 'FAILED_PRECHECKS', reason: `every candidate failed its precheck: ${summarize(state.failures)}` };
  }
  const blockedRounds = limits.blockedRounds + 1;
  const what = state.failures.length > 0 ? summarize(state.failures) : 'every candidate is in a blocked scope';
  if (limits.maxLaunchAttempts !== undefined && blockedRounds >= limits.maxLaunchAttempts) {
    return {
      kind: 'FAILED_NO_RESOURCE',
      blockedRounds,
      reason: `no capacity after ${blockedRounds} launch attempt(s) (max_launch_attempts: ${limits.maxLaunchAttempts}): ${what}`,
    };
  }
  return { kind: 'BACKOFF', blockedRounds, reason: `no capacity in any candidate (attempt ${blockedRounds}): ${what}` };
}
