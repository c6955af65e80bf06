// Who may touch a job. Identity is the caller's full principal as the edge authenticated it: on AWS
// the IAM ARN API Gateway's IAM authorizer verified (it names the account, and for a role the role
// and its session), locally the OS user that holds the control plane's token. A job's `user` is the
// principal that submitted it. A caller may read, follow and cancel its own jobs; another's only
// when the deployment lists it as an admin (Settings.adminPrincipals). Every route that selects a
// job by ID, name, pool or "all" goes through `assertCanAccess` / `ownerFilter` below.

import { ForbiddenError } from '../errors.ts';
import type { Settings } from './deps.ts';

export interface Caller {
  /** The full principal: `arn:aws:iam::123456789012:user/alice`, `arn:aws:sts::…:assumed-role/R/s`, or a local user name. */
  principal: string;
  /** True when the deployment's adminPrincipals lists this principal (or the role it is a session of). */
  admin: boolean;
}

/**
 * The IAM role ARN an STS assumed-role session ARN is a session of, or undefined for other ARNs:
 * `arn:aws:sts::123:assumed-role/Path/Name/session` → `arn:aws:iam::123:role/Path/Name`. Only the
 * session name is chosen by whoever assumes the role; the role is not, so admin lists may name roles.
 */
export function roleOfSession(principal: string): string | undefined {
  const m = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/(.+)\/[^/]+$/.exec(principal);
  return m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : undefined;
}

/** Whether `principal` is one of `admins` (exactly, or as a session of a listed role). */
export function isAdmin(principal: string, admins: readonly string[] | undefined): boolean {
  if (!admins?.length) return false;
  const role = roleOfSession(principal);
  return admins.includes(principal) || (role !== undefined && admins.includes(role));
}

export function callerFor(principal: string, settings: Pick<Settings, 'adminPrincipals'>): Caller {
  return { principal, admin: isAdmin(principal, settings.adminPrincipals) };
}

export function canAccess(caller: Caller, job: { user: string }): boolean {
  return caller.admin || job.user === caller.principal;
}

/** Throws ForbiddenError (HTTP 403) unless the caller owns the job or is an admin. */
export function assertCanAccess(caller: Caller, job: { jobId: number; user: string }, action: string): void {
  if (!canAccess(caller, job)) {
    throw new ForbiddenError(`managed job ${job.jobId} belongs to another user; ${action} another user's job needs the deployment's adminPrincipals setting to list you`);
  }
}

/**
 * The owner filter of a selection by name / pool / all: the caller's own jobs, or everyone's when
 * `allUsers` is asked for — which only an admin may do for a change (cancel).
 */
export function ownerFilter(caller: Caller, allUsers: boolean, action: string): string | undefined {
  if (!allUsers) return caller.principal;
  if (!caller.admin) throw new ForbiddenError(`${action} every user's jobs needs the deployment's adminPrincipals setting to list you`);
  return undefined;
}

/** The short form of a principal for a USER column: the ARN's resource (`user/alice`, `assumed-role/R/s`). */
export function displayUser(principal: string): string {
  const m = /^arn:[^:]*:(?:iam|sts)::\d{12}:(.+)$/.exec(principal);
  return m ? m[1] : principal;
}
