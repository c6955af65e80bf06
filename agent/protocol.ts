// Types and encoders of the agent <-> API protocol (agent/PROTOCOL.md). The real API and the test
// double both build their replies with these, so the agent sees the same bytes from either.

import { fileURLToPath } from 'node:url';
import { ValidationError } from '../core/errors.ts';

/** Path of the agent script on the control plane's disk (the local provider runs it directly). */
export const AGENT_SCRIPT_PATH: string = fileURLToPath(new URL('./agent.sh', import.meta.url));

/** SETUP exit code the agent reports when the workdir or a file mount could not be fetched. */
export const FILES_FAILED_EXIT_CODE = 97;

// The messages themselves are defined once, as zod schemas, in core/contracts/agent.ts.
export type {
  AgentPhase,
  RegisterWaitReply,
  RegisterReadyReply,
  RegisterReply,
  RegisterRequest,
  HeartbeatRequest,
  HeartbeatReply,
  ExitRequest,
  ExitReply,
  LogsReply,
  InterruptedRequest,
} from '../core/contracts/agent.ts';
import type { AgentFileMount, RegisterReply } from '../core/contracts/agent.ts';

/**
 * Workdir/file-mount archives are GETs of gzipped tars; `uri` mounts are copied by the cloud CLI (or,
 * for `file://` on cloud `local`, from a directory of the machine); `link` mounts (cloud `local` only:
 * a bucket there is a directory of the machine) make `dest` that directory itself, a live mount.
 *
 * Saved mounts (a bucket mounted with mode MOUNT or MOUNT_CACHED on a cloud with no live link):
 * `mirror` copies the bucket prefix down like `uri` (an empty or missing prefix gives an empty
 * directory; the bucket itself must exist), then saves back the files written under `dest` on this
 * node (never the fetched ones; nothing is deleted) every `saveSeconds` while the node works, when a
 * phase ends, on an interruption notice and when the node stops, so a preempted job's next attempt
 * finds what the last one wrote. A `url` mount of the same dest after it is unpacked over the copy
 * and saved too (a local source uploaded under a bucket name).
 */
export type { AgentFileMount };

/** How the encoded line names each mount kind. */
const MOUNT_KINDS = ['url', 'uri', 'link', 'mirror'] as const;
type MountKind = (typeof MOUNT_KINDS)[number];

function mountKind(mount: AgentFileMount): MountKind {
  return MOUNT_KINDS.find((k) => k in mount)!;
}

/** Names the agent can export: a shell variable name. */
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (text: string): string => Buffer.from(text, 'base64').toString('utf8');

/**
 * The `?format=text` form of a register reply: one `key value…` line per fact, every free-form
 * value base64-encoded (no line wrapping), so that a shell can read it with `read` and `base64 -d`.
 */
export function encodeRegisterReplyText(reply: RegisterReply): string {
  if (reply.state === 'WAIT') return `state WAIT\nretryAfterMs ${integer(reply.retryAfterMs, 'retryAfterMs')}\n`;
  const lines = [
    'state READY',
    `rank ${integer(reply.rank, 'rank')}`,
    `numNodes ${integer(reply.numNodes, 'numNodes')}`,
    `heartbeatSeconds ${integer(reply.heartbeatSeconds, 'heartbeatSeconds')}`,
    `logChunkBytes ${integer(reply.logChunkBytes, 'logChunkBytes')}`,
  ];
  for (const ip of reply.nodeIps) lines.push(`nodeIp ${b64(ip)}`);
  for (const [name, value] of Object.entries(reply.env)) {
    if (!ENV_NAME_PATTERN.test(name)) {
      throw new ValidationError(`register reply: env variable name ${JSON.stringify(name)} is not a shell variable name`);
    }
    lines.push(`env ${name} ${b64(value)}`);
  }
  if (reply.setup !== undefined) lines.push(`setup ${b64(reply.setup)}`);
  if (reply.run !== undefined) lines.push(`run ${b64(reply.run)}`);
  if (reply.workdir) lines.push(`workdir ${b64(reply.workdir.url)}`);
  if (reply.saveSeconds !== undefined) lines.push(`saveSeconds ${reply.saveSeconds}`);
  for (const mount of reply.fileMounts) {
    const kind = mountKind(mount);
    lines.push(`mount ${b64(mount.dest)} ${kind} ${b64((mount as Partial<Record<MountKind, string>>)[kind]!)}`);
  }
  return lines.join('\n') + '\n';
}

/** Inverse of encodeRegisterReplyText (for tests and tools); throws ValidationError naming the bad line. */
export function decodeRegisterReplyText(text: string): RegisterReply {
  const fields = new Map<string, string>();
  const env: Record<string, string> = {};
  const nodeIps: string[] = [];
  const fileMounts: AgentFileMount[] = [];
  let setup: string | undefined;
  let run: string | undefined;
  let workdir: { url: string } | undefined;
  text.split('\n').forEach((line, index) => {
    if (line === '') return;
    const [key, a, b, c] = line.split(' ');
    const where = `register reply line ${index + 1}`;
    switch (key) {
      case 'env':
        env[a] = unb64(b ?? '');
        break;
      case 'nodeIp':
        nodeIps.push(unb64(a));
        break;
      case 'setup':
        setup = unb64(a ?? '');
        break;
      case 'run':
        run = unb64(a ?? '');
        break;
      case 'workdir':
        workdir = { url: unb64(a) };
        break;
      case 'mount':
        if (!(MOUNT_KINDS as readonly string[]).includes(b)) throw new ValidationError(`${where}: mount kind must be one of ${MOUNT_KINDS.join(', ')}, got ${JSON.stringify(b)}`);
        fileMounts.push({ dest: unb64(a), [b]: unb64(c) } as AgentFileMount);
        break;
      default:
        if (a === undefined) throw new ValidationError(`${where}: ${JSON.stringify(line)} has no value`);
        fields.set(key, a);
    }
  });
  const num = (name: string): number => {
    const value = Number(fields.get(name));
    if (!Number.isInteger(value)) throw new ValidationError(`register reply: ${name} is missing or not an integer`);
    return value;
  };
  const state = fields.get('state');
  if (state === 'WAIT') return { state, retryAfterMs: num('retryAfterMs') };
  if (state !== 'READY') throw new ValidationError(`register reply: state must be WAIT or READY, got ${JSON.stringify(state)}`);
  return {
    state,
    rank: num('rank'),
    numNodes: num('numNodes'),
    nodeIps,
    env,
    ...(setup !== undefined ? { setup } : {}),
    ...(run !== undefined ? { run } : {}),
    ...(workdir ? { workdir } : {}),
    fileMounts,
    ...(fields.has('saveSeconds') ? { saveSeconds: num('saveSeconds') } : {}),
    heartbeatSeconds: num('heartbeatSeconds'),
    logChunkBytes: num('logChunkBytes'),
  };
}

function integer(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new ValidationError(`register reply: ${name} must be a non-negative integer, got ${value}`);
  }
  return value;
}
