// Agent credentials: an HMAC-SHA256 over a compact claim, so that a node can call only the routes of
// its own job, task, attempt and rank. The key is a deployment secret (SSM/Secrets Manager on AWS, a
// file under SKYLESS_HOME locally). Pure computation: the key and the clock are injected.
//
// Two uses of one claim (docs/security.md "Nodes and agents"):
// - BOOTSTRAP: the token placed in user data / the startup script. Anyone who can read instance
//   attributes can read it, so it proves nothing alone: it is accepted by /agent/register only, and
//   only together with the node's cloud identity, and only once (the node record remembers the
//   registration). It never expires by time; registration spends it.
// - SESSION: handed out by that one registration, short-lived (`expiresAt`), renewed on heartbeat;
//   every other agent route takes only this.
//
// The mechanism is generic over the claim it wraps (a `ClaimCodec`): the attempt's node claim today,
// a pool worker's claim beside it.

import { createHmac, timingSafeEqual } from 'node:crypto';

/** Node `node` (rank) of attempt `attempt` of task `task` of job `job`. */
export interface AgentClaim {
  job: number;
  task: number;
  attempt: number;
  node: number;
}

export type CredentialUse = 'bootstrap' | 'session';

export type AgentCredential<C = AgentClaim> =
  | { use: 'bootstrap'; claim: C }
  | { use: 'session'; claim: C; /** epoch ms */ expiresAt: number };

/** How a claim is written into a token and read back (undefined: not a claim of this kind). */
export interface ClaimCodec<C> {
  encode(claim: C): unknown;
  decode(value: unknown): C | undefined;
}

export const attemptClaimCodec: ClaimCodec<AgentClaim> = {
  encode: (c) => [c.job, c.task, c.attempt, c.node],
  decode(v) {
    if (!Array.isArray(v) || v.length !== 4 || !v.every((n) => Number.isSafeInteger(n) && n >= 0)) return undefined;
    return { job: v[0], task: v[1], attempt: v[2], node: v[3] };
  },
};

export interface AgentTokens<C = AgentClaim> {
  /** The one-time bootstrap token of a node (user data). */
  sign(claim: C): string;
  /** A session credential valid until `expiresAt` (epoch ms). */
  session(claim: C, expiresAt: number): string;
  /**
   * The credential, or undefined if the token is malformed, its signature is wrong, or it is a
   * session that expired at or before `now`.
   */
  verify(token: string, now: number): AgentCredential<C> | undefined;
}

const USE_TAG = { bootstrap: 'b', session: 's' } as const;

export function hmacAgentTokens<C = AgentClaim>(key: string | Buffer, codec: ClaimCodec<C> = attemptClaimCodec as unknown as ClaimCodec<C>): AgentTokens<C> {
  const mac = (body: string) => createHmac('sha256', key).update(body).digest('base64url');
  const make = (payload: unknown[]) => {
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${mac(body)}`;
  };
  return {
    sign: (claim) => make([USE_TAG.bootstrap, codec.encode(claim)]),
    session: (claim, expiresAt) => make([USE_TAG.session, codec.encode(claim), Math.floor(expiresAt)]),
    verify(token, now) {
      if (typeof token !== 'string' || token.length > 4096) return undefined;
      const [body, sig, extra] = token.split('.');
      if (!body || !sig || extra !== undefined) return undefined;
      const expected = Buffer.from(mac(body));
      const given = Buffer.from(sig);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
      let payload: unknown;
      try {
        payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
      } catch {
        return undefined;
      }
      if (!Array.isArray(payload)) return undefined;
      const claim = codec.decode(payload[1]);
      if (claim === undefined) return undefined;
      if (payload[0] === USE_TAG.bootstrap && payload.length === 2) return { use: 'bootstrap', claim };
      if (payload[0] === USE_TAG.session && payload.length === 3 && Number.isSafeInteger(payload[2])) {
        const expiresAt = payload[2] as number;
        return expiresAt > now ? { use: 'session', claim, expiresAt } : undefined;
      }
      return undefined;
    },
  };
}
