// Agent tokens: an HMAC-SHA256 over a compact claim, so that a node can call only the routes of its
// own job, task, attempt and rank. The key is a deployment secret (SSM/Secrets Manager on AWS, a file
// under SKYLESS_HOME locally). Pure computation: the key is injected.

import { createHmac, timingSafeEqual } from 'node:crypto';

/** A node of one attempt of one job's task. */
export interface AgentClaim {
  kind?: 'attempt';
  job: number;
  task: number;
  attempt: number;
  node: number;
}

/** A pool worker (core/pools): may register, report its setup and ask for jobs; nothing of any job. */
export interface WorkerClaim {
  kind: 'worker';
  pool: string;
  worker: number;
  node: number;
}

export type NodeClaim = AgentClaim | WorkerClaim;

/** Worker tokens carry this prefix, so the agent knows its mode from its token alone. */
export const WORKER_TOKEN_PREFIX = 'w.';

export interface AgentTokens {
  sign(claim: AgentClaim): string;
  /** The claim, or undefined if the token is malformed, a worker's, or its signature is wrong. */
  verify(token: string): AgentClaim | undefined;
  signWorker(claim: WorkerClaim): string;
  /** The worker claim, or undefined if the token is not a valid worker token. */
  verifyWorker(token: string): WorkerClaim | undefined;
}

export function hmacAgentTokens(key: string | Buffer): AgentTokens {
  const mac = (body: string) => createHmac('sha256', key).update(body).digest('base64url');
  return {
    sign(claim) {
      const body = Buffer.from(JSON.stringify([claim.job, claim.task, claim.attempt, claim.node])).toString('base64url');
      return `${body}.${mac(body)}`;
    },
    signWorker(claim) {
      // The MAC covers the prefix too, so an attempt token can never be replayed as a worker's.
      const body = Buffer.from(JSON.stringify(['w', claim.pool, claim.worker, claim.node])).toString('base64url');
      return `${WORKER_TOKEN_PREFIX}${body}.${mac(WORKER_TOKEN_PREFIX + body)}`;
    },
    verifyWorker(token) {
      if (!token.startsWith(WORKER_TOKEN_PREFIX)) return undefined;
      const [body, sig, extra] = token.slice(WORKER_TOKEN_PREFIX.length).split('.');
      if (!body || !sig || extra !== undefined) return undefined;
      const expected = Buffer.from(mac(WORKER_TOKEN_PREFIX + body));
      const given = Buffer.from(sig);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
      try {
        const arr = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
        if (!Array.isArray(arr) || arr.length !== 4 || arr[0] !== 'w' || typeof arr[1] !== 'string' || !Number.isInteger(arr[2]) || !Number.isInteger(arr[3]) || arr[2] < 1 || arr[3] < 0) return undefined;
        return { kind: 'worker', pool: arr[1], worker: arr[2], node: arr[3] };
      } catch {
        return undefined;
      }
    },
    verify(token) {
      if (token.startsWith(WORKER_TOKEN_PREFIX)) return undefined;
      const [body, sig, extra] = token.split('.');
      if (!body || !sig || extra !== undefined) return undefined;
      const expected = Buffer.from(mac(body));
      const given = Buffer.from(sig);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
      try {
        const arr = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
        if (!Array.isArray(arr) || arr.length !== 4 || !arr.every((n) => Number.isInteger(n) && n >= 0)) return undefined;
        return { job: arr[0], task: arr[1], attempt: arr[2], node: arr[3] };
      } catch {
        return undefined;
      }
    },
  };
}
