// The agent ↔ API protocol's messages (agent/PROTOCOL.md), defined once. The API validates what
// agents send with these, agent/protocol.ts re-exports their types (and encodes the register reply's
// text form), and the agent-protocol test double is typed from them.

import { z } from 'zod';

export const AgentPhase = z.enum(['SETUP', 'RUN', 'WAIT']);
export type AgentPhase = z.infer<typeof AgentPhase>;

/** The phases that end with an exit report. */
export const ExitPhase = z.enum(['SETUP', 'RUN']);

/** One file mount of a READY reply; see agent/protocol.ts for what each kind means. */
export const AgentFileMount = z.union([
  z.object({ dest: z.string(), url: z.string() }),
  z.object({ dest: z.string(), uri: z.string() }),
  z.object({ dest: z.string(), link: z.string() }),
  z.object({ dest: z.string(), mirror: z.string() }),
]);
export type AgentFileMount = z.infer<typeof AgentFileMount>;

/** POST /agent/register. `ip` may be missing: the node's IP is then the one it was launched with. */
export const RegisterRequest = z.object({ ip: z.string().optional() });
export type RegisterRequest = z.infer<typeof RegisterRequest>;

export const RegisterWaitReply = z.object({ state: z.literal('WAIT'), retryAfterMs: z.number().int().nonnegative() });
export type RegisterWaitReply = z.infer<typeof RegisterWaitReply>;

export const RegisterReadyReply = z.object({
  state: z.literal('READY'),
  rank: z.number().int().nonnegative(),
  numNodes: z.number().int().positive(),
  /** Rank order. */
  nodeIps: z.array(z.string()),
  /** SPEC §6 variables, the task's envs and secrets. */
  env: z.record(z.string(), z.string()),
  setup: z.string().optional(),
  run: z.string().optional(),
  workdir: z.object({ url: z.string() }).optional(),
  fileMounts: z.array(AgentFileMount),
  /** How often `mirror` mounts are saved while the node works; present when there is one. */
  saveSeconds: z.number().int().positive().optional(),
  heartbeatSeconds: z.number().int().nonnegative(),
  logChunkBytes: z.number().int().positive(),
});
export type RegisterReadyReply = z.infer<typeof RegisterReadyReply>;

export const RegisterReply = z.discriminatedUnion('state', [RegisterWaitReply, RegisterReadyReply]);
export type RegisterReply = z.infer<typeof RegisterReply>;

/** `?format=text` asks for the line-oriented form of the reply (agent/protocol.ts encodes it). */
export const RegisterQuery = z.object({ format: z.enum(['json', 'text']).optional() });

export const HeartbeatRequest = z.object({ phase: AgentPhase });
export type HeartbeatRequest = z.infer<typeof HeartbeatRequest>;
export const HeartbeatReply = z.object({ action: z.enum(['CONTINUE', 'CANCEL']) });
export type HeartbeatReply = z.infer<typeof HeartbeatReply>;

/** POST /agent/logs?offset=N; the body is the raw bytes from offset N. */
export const LogsQuery = z.object({ offset: z.coerce.number<string>().int().nonnegative() });
export const LogsReply = z.object({
  /** offset + length of the body just stored. */
  nextOffset: z.number().int().nonnegative(),
});
export type LogsReply = z.infer<typeof LogsReply>;

export const ExitRequest = z.object({ phase: ExitPhase, exitCode: z.number().int().min(0).max(255) });
export type ExitRequest = z.infer<typeof ExitRequest>;
export const ExitReply = z.object({
  action: z.enum(['RUN', 'WAIT', 'STOP']),
  /** With WAIT: when to ask again. */
  retryAfterMs: z.number().int().nonnegative().optional(),
});
export type ExitReply = z.infer<typeof ExitReply>;

export const InterruptedRequest = z.object({ reason: z.string().optional() });
export type InterruptedRequest = z.infer<typeof InterruptedRequest>;
export const InterruptedReply = z.object({}).strict();
export type InterruptedReply = z.infer<typeof InterruptedReply>;
