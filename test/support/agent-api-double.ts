// A test double of the skyless API's agent routes (agent/PROTOCOL.md) for agent and process-provider
// tests ONLY: one attempt of one task, in memory, on 127.0.0.1. It follows the protocol exactly (the
// real API will run the same agent in e2e tests) and records what the agents did, so tests can assert
// on it. It also serves the cloud metadata the agent polls (IMDSv2, GCE) when pointed at it with
// SKYLESS_METADATA_URL, and the workdir/file-mount archives as "signed" URLs.

import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { AGENT_SCRIPT_PATH, encodeRegisterReplyText } from '../../agent/protocol.ts';
// Requests are parsed, and replies typed, with the protocol's one definition: a change there that
// the double does not follow is a compile error or a failing agent test, not a silent drift.
import {
  ExitRequest,
  HeartbeatRequest,
  InterruptedRequest,
  LogsQuery,
  RegisterRequest,
  type AgentFileMount,
  type AgentPhase,
  type ExitReply,
  type HeartbeatReply,
  type InterruptedReply,
  type LogsReply,
  type RegisterReply,
} from '../../core/contracts/agent.ts';

export interface AgentApiScenario {
  numNodes: number;
  /** The task's envs/secrets; the double adds SKYPILOT_NODE_RANK, SKYPILOT_NUM_NODES, SKYPILOT_NODE_IPS. */
  env?: Record<string, string>;
  setup?: string;
  run?: string;
  /** Gzipped tar of the workdir's contents. */
  workdirTarGz?: Uint8Array;
  /** `tarGz`: served as a signed URL (archive layout per PROTOCOL.md); any other kind: passed through. */
  fileMounts?: Array<{ dest: string; tarGz: Uint8Array } | Exclude<AgentFileMount, { url: string }>>;
  /** Sent when given (the API sends it when a mount is saved back). */
  saveSeconds?: number;
  /** Default 1. */
  heartbeatSeconds?: number;
  /** Default 64 KiB. Bigger chunks are answered 413. */
  logChunkBytes?: number;
  /** For register WAIT and exit WAIT replies. Default 200. */
  retryAfterMs?: number;
  /** Heartbeats answer CANCEL from this long after the rendezvous completed. */
  cancelAfterMs?: number;
}

export interface ExitReport {
  phase: 'SETUP' | 'RUN';
  exitCode: number;
  at: number;
  /** Contiguous log bytes the double held when the report arrived. */
  logBytes: number;
}

/** What one node's agent did, as the double saw it. */
export interface NodeActivity {
  ip?: string;
  registerCalls: number;
  heartbeats: Array<{ phase: AgentPhase; at: number }>;
  /** First report per phase, in arrival order (barrier repeats are counted in exitCalls). */
  exits: ExitReport[];
  exitCalls: number;
  logPosts: Array<{ offset: number; length: number }>;
  /** Offsets re-posted with different bytes (must stay empty). */
  logConflicts: number[];
  interrupted: string[];
}

interface NodeState extends NodeActivity {
  chunks: Map<number, Buffer>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class AgentApiDouble {
  readonly tokens: string[];
  private readonly nodes: NodeState[];
  private readonly fileSignature = randomBytes(8).toString('hex');
  private readonly imdsToken = randomBytes(8).toString('hex');
  private server: http.Server;
  private port = 0;
  private cancelled = false;
  private failed = false;
  private ended = false;
  private unavailableUntil = 0;
  private readyAt?: number;
  private spotNotice?: string;
  private gcePreempted = false;
  /** File downloads that carried an Authorization header (presigned S3 URLs would refuse them). */
  fileRequestsWithAuthorization = 0;
  fileRequests = 0;

  private constructor(readonly scenario: AgentApiScenario) {
    if (!Number.isInteger(scenario.numNodes) || scenario.numNodes < 1) {
      throw new Error(`AgentApiDouble: numNodes must be a positive integer, got ${scenario.numNodes}`);
    }
    this.tokens = Array.from({ length: scenario.numNodes }, (_, node) => `double-${randomBytes(12).toString('hex')}-${node}`);
    this.nodes = this.tokens.map(() => ({
      registerCalls: 0,
      heartbeats: [],
      exits: [],
      exitCalls: 0,
      logPosts: [],
      logConflicts: [],
      interrupted: [],
      chunks: new Map(),
    }));
    this.server = this.createServer();
  }

  static async start(scenario: AgentApiScenario): Promise<AgentApiDouble> {
    const double = new AgentApiDouble(scenario);
    await double.listen(0);
    return double;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  node(rank: number): NodeActivity {
    const state = this.nodes[rank];
    if (!state) throw new Error(`AgentApiDouble: no node ${rank}`);
    return state;
  }

  /** The node's log as the API holds it: the contiguous bytes from offset 0. */
  log(rank: number): Buffer {
    const state = this.nodes[rank];
    const parts: Buffer[] = [];
    let position = 0;
    for (let chunk = state.chunks.get(0); chunk; chunk = state.chunks.get(position)) {
      parts.push(chunk);
      position += chunk.length;
      if (chunk.length === 0) break;
    }
    return Buffer.concat(parts);
  }

  logText(rank: number): string {
    return this.log(rank).toString('utf8');
  }

  /** Heartbeats answer CANCEL from now on. */
  cancel(): void {
    this.cancelled = true;
  }

  /** The attempt ENDED: every agent route answers 410. */
  end(): void {
    this.ended = true;
  }

  /** Agent routes answer 503 for this long (a control plane restarting). */
  unavailableFor(ms: number): void {
    this.unavailableUntil = Date.now() + ms;
  }

  /** Stops accepting connections (agents see "connection refused") until resumeListening(). */
  async stopListening(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  async resumeListening(): Promise<void> {
    this.server = this.createServer();
    await this.listen(this.port);
  }

  /** IMDS starts returning a spot interruption notice. */
  interruptSpot(notice = '{"action":"terminate","time":"2030-01-01T00:00:00Z"}'): void {
    this.spotNotice = notice;
  }

  /** GCE metadata `instance/preempted` turns TRUE. */
  preemptGce(): void {
    this.gcePreempted = true;
  }

  async waitFor(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`AgentApiDouble: timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(50);
    }
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  private createServer(): http.Server {
    return http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        try {
          this.handle(req, Buffer.concat(chunks), res);
        } catch (error) {
          reply(res, 500, { error: String(error) });
        }
      });
    });
  }

  private handle(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://double');
    const route = `${req.method} ${url.pathname}`;
    if (url.pathname.startsWith('/files/')) return this.serveFile(req, url, res);
    if (url.pathname.startsWith('/latest/') || url.pathname.startsWith('/computeMetadata/')) {
      return this.serveMetadata(req, route, res);
    }
    if (!url.pathname.startsWith('/agent/')) return reply(res, 404, { error: `no route ${route}` });
    if (Date.now() < this.unavailableUntil) return reply(res, 503, { error: 'control plane restarting' });

    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const rank = token === undefined ? -1 : this.tokens.indexOf(token);
    if (rank < 0) return reply(res, 401, { error: 'missing or unknown agent token' });
    if (this.ended) return reply(res, 410, { error: 'attempt ended' });
    const node = this.nodes[rank];
    const json = () => (body.length ? JSON.parse(body.toString('utf8')) : {});
    /** The body parsed with the route's schema, or undefined after a 400 naming the field. */
    const parse = <S extends z.ZodType>(what: string, schema: S, value: unknown = json()): z.output<S> | undefined => {
      const r = schema.safeParse(value);
      if (r.success) return r.data;
      reply(res, 400, { error: `${what}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` });
      return undefined;
    };

    switch (route) {
      case 'POST /agent/register': {
        const request = parse('register', RegisterRequest);
        if (!request) return;
        const ip = request.ip;
        if (ip === undefined || ip === '') return reply(res, 400, { error: 'register: ip must be a non-empty string' });
        node.registerCalls++;
        node.ip = ip;
        const registerReply = this.registerReply(rank);
        if (url.searchParams.get('format') === 'text') {
          res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
          return void res.end(encodeRegisterReplyText(registerReply));
        }
        return reply(res, 200, registerReply);
      }
      case 'POST /agent/heartbeat': {
        const request = parse('heartbeat', HeartbeatRequest);
        if (!request) return;
        const { phase } = request;
        node.heartbeats.push({ phase, at: Date.now() });
        const cancelNow =
          this.cancelled ||
          this.failed ||
          (this.scenario.cancelAfterMs !== undefined &&
            this.readyAt !== undefined &&
            Date.now() - this.readyAt >= this.scenario.cancelAfterMs);
        return reply(res, 200, { action: cancelNow ? 'CANCEL' : 'CONTINUE' } satisfies HeartbeatReply);
      }
      case 'POST /agent/logs': {
        const query = parse('logs', LogsQuery, Object.fromEntries(url.searchParams));
        if (!query) return;
        const { offset } = query;
        if (body.length > this.logChunkBytes) {
          return reply(res, 413, { error: `logs: chunk of ${body.length} bytes exceeds logChunkBytes ${this.logChunkBytes}` });
        }
        node.logPosts.push({ offset, length: body.length });
        const previous = node.chunks.get(offset);
        if (previous && !previous.equals(body)) node.logConflicts.push(offset);
        node.chunks.set(offset, body);
        return reply(res, 200, { nextOffset: offset + body.length } satisfies LogsReply);
      }
      case 'POST /agent/exit': {
        const request = parse('exit', ExitRequest);
        if (!request) return;
        const { phase, exitCode } = request;
        node.exitCalls++;
        if (!node.exits.some((e) => e.phase === phase)) {
          node.exits.push({ phase, exitCode, at: Date.now(), logBytes: this.log(rank).length });
        }
        return reply(res, 200, this.exitReply(phase, exitCode));
      }
      case 'POST /agent/interrupted': {
        const request = parse('interrupted', InterruptedRequest);
        if (!request) return;
        if (request.reason === undefined) return reply(res, 400, { error: 'interrupted: reason must be a string' });
        node.interrupted.push(request.reason);
        return reply(res, 200, {} satisfies InterruptedReply);
      }
      case 'GET /agent/agent.sh': {
        res.writeHead(200, { 'content-type': 'text/x-shellscript' });
        return void res.end(readFileSync(AGENT_SCRIPT_PATH));
      }
      default:
        return reply(res, 404, { error: `no route ${route}` });
    }
  }

  private get logChunkBytes(): number {
    return this.scenario.logChunkBytes ?? 64 * 1024;
  }

  private get retryAfterMs(): number {
    return this.scenario.retryAfterMs ?? 200;
  }

  private registerReply(rank: number): RegisterReply {
    if (this.nodes.some((n) => n.ip === undefined)) return { state: 'WAIT', retryAfterMs: this.retryAfterMs };
    this.readyAt ??= Date.now();
    const nodeIps = this.nodes.map((n) => n.ip as string);
    const fileMounts: AgentFileMount[] = (this.scenario.fileMounts ?? []).map((mount, index) =>
      'tarGz' in mount ? { dest: mount.dest, url: this.fileUrl(`mount-${index}`) } : mount,
    );
    return {
      state: 'READY',
      rank,
      numNodes: this.nodes.length,
      nodeIps,
      env: {
        ...this.scenario.env,
        SKYPILOT_NODE_RANK: String(rank),
        SKYPILOT_NUM_NODES: String(this.nodes.length),
        SKYPILOT_NODE_IPS: nodeIps.join('\n'),
      },
      ...(this.scenario.setup !== undefined ? { setup: this.scenario.setup } : {}),
      ...(this.scenario.run !== undefined ? { run: this.scenario.run } : {}),
      ...(this.scenario.workdirTarGz ? { workdir: { url: this.fileUrl('workdir') } } : {}),
      fileMounts,
      ...(this.scenario.saveSeconds !== undefined ? { saveSeconds: this.scenario.saveSeconds } : {}),
      heartbeatSeconds: this.scenario.heartbeatSeconds ?? 1,
      logChunkBytes: this.logChunkBytes,
    };
  }

  private exitReply(phase: 'SETUP' | 'RUN', exitCode: number): ExitReply {
    if (exitCode !== 0) this.failed = true;
    if (phase === 'RUN' || this.failed || this.cancelled) return { action: 'STOP' };
    const allSetUp = this.nodes.every((n) => n.exits.some((e) => e.phase === 'SETUP' && e.exitCode === 0));
    return allSetUp ? { action: 'RUN' } : { action: 'WAIT', retryAfterMs: this.retryAfterMs };
  }

  private fileUrl(name: string): string {
    return `${this.url}/files/${name}?sig=${this.fileSignature}`;
  }

  private serveFile(req: http.IncomingMessage, url: URL, res: http.ServerResponse): void {
    this.fileRequests++;
    if (req.headers.authorization) this.fileRequestsWithAuthorization++;
    if (url.searchParams.get('sig') !== this.fileSignature) return reply(res, 403, { error: 'bad signature' });
    const name = url.pathname.slice('/files/'.length);
    let archive: Uint8Array | undefined;
    if (name === 'workdir') archive = this.scenario.workdirTarGz;
    const mount = /^mount-(\d+)$/.exec(name);
    if (mount) {
      const spec = this.scenario.fileMounts?.[Number(mount[1])];
      if (spec && 'tarGz' in spec) archive = spec.tarGz;
    }
    if (!archive) return reply(res, 404, { error: `no file ${name}` });
    res.writeHead(200, { 'content-type': 'application/gzip' });
    res.end(archive);
  }

  private serveMetadata(req: http.IncomingMessage, route: string, res: http.ServerResponse): void {
    const text = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(body);
    };
    if (route === 'PUT /latest/api/token') {
      if (!req.headers['x-aws-ec2-metadata-token-ttl-seconds']) return text(400, 'missing ttl header');
      return text(200, this.imdsToken);
    }
    if (route.startsWith('GET /latest/')) {
      if (req.headers['x-aws-ec2-metadata-token'] !== this.imdsToken) return text(401, 'IMDSv2 token required');
      if (route === 'GET /latest/meta-data/spot/instance-action' && this.spotNotice) return text(200, this.spotNotice);
      return text(404, 'Not Found');
    }
    if (route === 'GET /computeMetadata/v1/instance/preempted') {
      if (req.headers['metadata-flavor'] !== 'Google') return text(403, 'Metadata-Flavor: Google required');
      return text(200, this.gcePreempted ? 'TRUE' : 'FALSE');
    }
    return text(404, 'Not Found');
  }
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
