// Agent tokens: an HMAC-SHA256 over a compact claim, so that a node can call only the routes of its
// own job, task, attempt and rank. The key is a deployment secret (SSM/Secrets Manager on AWS, a file
// under SKYLESS_HOME locally). Pure computation: the key is injected.

import { createHmac, timingSafeEqual } from 'node:crypto';

export interface AgentClaim {
  job: number;
  task: number;
  attempt: number;
  node: number;
}

export interface AgentTokens {
  sign(claim: AgentClaim): string;
  /** The claim, or undefined if the token is malformed or its signature is wrong. */
  verify(token: string): AgentClaim | undefined;
}

export function hmacAgentTokens(key: string | Buffer): AgentTokens {
  const mac = (body: string) => createHmac('sha256', key).update(body).digest('base64url');
  return {
    sign(claim) {
      const body = Buffer.from(JSON.stringify([claim.job, claim.task, claim.attempt, claim.node])).toString('base64url');
      return `${body}.${mac(body)}`;
    },
    verify(token) {
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
