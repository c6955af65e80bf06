// Error classes carry a literal `name`: Step Functions Retry/Catch match on it, and bundlers mangle
// class names. Each edge (API, CLI, Step Functions) translates these exactly once.

import type { SpecIssue } from './spec/types.ts';

export type BlockScope = 'zone' | 'region' | 'cloud';

/** A spec failed validation; `issues` lists every problem, path first. */
export class SpecError extends Error {
  override readonly name = 'SpecError' as const;
  constructor(readonly issues: SpecIssue[], readonly source?: string) {
    super(issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('\n'));
  }
}

/** A conditional write lost a race (the version moved on, or the item was not in the expected state). */
export class ConflictError extends Error {
  override readonly name = 'ConflictError' as const;
  constructor(message: string, readonly key?: string) {
    super(message);
  }
}

export class NotFoundError extends Error {
  override readonly name = 'NotFoundError' as const;
}

/** Bad input at an edge (API body, CLI flag, event detail) that is not a task spec. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError' as const;
  constructor(message: string, readonly details?: unknown) {
    super(message);
  }
}

export class AuthError extends Error {
  override readonly name = 'AuthError' as const;
}

/** The caller is known but may not touch this (another user's job without the admin setting). */
export class ForbiddenError extends Error {
  override readonly name = 'ForbiddenError' as const;
}

/** A status change that SPEC §2 does not allow. */
export class InvalidTransitionError extends Error {
  override readonly name = 'InvalidTransitionError' as const;
}

/** No capacity or quota: block `scope` (zone/region/cloud) for the rest of this launch walk. */
export class CapacityError extends Error {
  override readonly name = 'CapacityError' as const;
  constructor(
    message: string,
    readonly scope: BlockScope,
    readonly where: { cloud: string; region?: string; zone?: string },
    readonly code?: string,
  ) {
    super(message);
  }
}

/** The request can never succeed as written (bad parameters, unknown image): not a capacity problem. */
export class PrecheckError extends Error {
  override readonly name = 'PrecheckError' as const;
  constructor(message: string, readonly code?: string) {
    super(message);
  }
}

/** Throttling or a passing fault: try the same call again after a back-off. */
export class TransientError extends Error {
  override readonly name = 'TransientError' as const;
  constructor(message: string, readonly code?: string) {
    super(message);
  }
}

/** The wait token was already spent, timed out or never existed (duplicate or late completion). */
export class TokenGoneError extends Error {
  override readonly name = 'TokenGoneError' as const;
}
