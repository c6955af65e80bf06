// How the CLI reaches a control plane: the endpoint from `skyless config` / SKYLESS_ENDPOINT (AWS,
// requests signed with SigV4 for execute-api), or else the embedded local control plane, started in
// the background on first use.

import { spawn } from 'node:child_process';
import { openSync, closeSync, mkdirSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serverInfoPath, skylessHome, type ServerInfo } from '../local/home.ts';
import { API, pathFor, type RouteBody, type RouteName, type RouteParams, type RouteQuery, type RouteReply } from '../core/contracts/api.ts';

export interface CliConfig {
  endpoint?: string;
  region?: string;
}

export function configPath(): string {
  return join(skylessHome(), 'config.json');
}

export function readConfig(): CliConfig {
  try {
    return JSON.parse(readFileSync(configPath(), 'utf8')) as CliConfig;
  } catch {
    return {};
  }
}

/** A failed API call, with the API's own error name, message and details. */
export class ApiError extends Error {
  override readonly name = 'ApiError' as const;
  constructor(readonly status: number, readonly error: string, message: string, readonly details?: unknown) {
    super(message);
  }
}

/** The control plane could not be reached or started. */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError' as const;
}

/** A call of one API route, typed from its contract (core/contracts/api.ts). */
export type CallInput<N extends RouteName> = (RouteParams<N> extends undefined ? { params?: undefined } : { params: RouteParams<N> }) &
  (RouteQuery<N> extends undefined ? { query?: undefined } : { query?: RouteQuery<N> }) &
  (RouteBody<N> extends undefined ? { body?: undefined } : { body: RouteBody<N> });

export interface Client {
  readonly endpoint: string;
  readonly local: boolean;
  /** Calls an API route: what is sent and what comes back are the route's contract types. */
  call<N extends RouteName>(route: N, input: CallInput<N>): Promise<RouteReply<N>>;
  /** A request outside the API's contract (the local control plane's /local/* admin routes). */
  request<T>(method: string, path: string, body?: unknown): Promise<T>;
  /** PUT of raw bytes to a presigned URL (uploads). */
  upload(url: string, bytes: Uint8Array): Promise<void>;
}

async function health(url: string): Promise<boolean> {
  try {
    const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1500) });
    return r.ok;
  } catch {
    return false;
  }
}

export function localServerInfo(): ServerInfo | undefined {
  try {
    return JSON.parse(readFileSync(serverInfoPath(), 'utf8')) as ServerInfo;
  } catch {
    return undefined;
  }
}

export async function runningLocalUrl(): Promise<string | undefined> {
  const info = localServerInfo();
  if (info && (await health(info.url))) return info.url;
  return undefined;
}

/** Starts `skyless local serve` detached (it outlives this CLI) and waits until it answers. */
export async function ensureLocalControlPlane(timeoutMs = 60_000): Promise<string> {
  const running = await runningLocalUrl();
  if (running) return running;
  const home = skylessHome();
  mkdirSync(join(home, 'local'), { recursive: true });
  const lockDir = join(home, 'local', 'starting.lock');
  let owner = false;
  try {
    mkdirSync(lockDir);
    owner = true;
  } catch {
    // Another CLI is starting it; wait for it below.
  }
  const logPath = join(home, 'local', 'server.log');
  let exited: number | null | undefined;
  if (owner) {
    const logFd = openSync(logPath, 'a');
    const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'skyless.js');
    const child = spawn(process.execPath, [bin, 'local', 'serve'], { detached: true, stdio: ['ignore', logFd, logFd], env: process.env });
    // A control plane that dies while starting is reported at once, not after the whole timeout.
    child.on('exit', (code) => (exited = code));
    child.unref();
    closeSync(logFd);
  }
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const url = await runningLocalUrl();
      if (url) return url;
      if (exited !== undefined) {
        const tail = readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-15).join('\n');
        throw new ConnectionError(`the local control plane exited while starting (code ${exited}); the end of ${logPath}:\n${tail}`);
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  } finally {
    if (owner) rmSync(lockDir, { recursive: true, force: true });
  }
  if (!owner && existsSync(lockDir)) rmSync(lockDir, { recursive: true, force: true }); // stale lock of a crashed starter
  throw new ConnectionError(`the local control plane did not start within ${timeoutMs / 1000} s; see ${join(home, 'local', 'server.log')}`);
}

export async function connect(env: Readonly<Record<string, string | undefined>> = process.env): Promise<Client> {
  const cfg = readConfig();
  const endpoint = env.SKYLESS_ENDPOINT || cfg.endpoint;
  if (endpoint) return httpClient(endpoint.replace(/\/+$/, ''), false, cfg.region ?? env.AWS_REGION, cfg.region !== undefined && endpoint === cfg.endpoint);
  return httpClient(await ensureLocalControlPlane(), true);
}

/**
 * Requests are SigV4-signed unless they go to the local control plane: an endpoint on this machine
 * (127.0.0.1/localhost) is taken for one unless a region was configured with it (`skyless config set
 * endpoint URL --region R`), which says "an AWS API that verifies signatures" wherever it listens.
 */
function httpClient(endpoint: string, local: boolean, region?: string, regionConfigured = false): Client {
  const loopback = endpoint.startsWith('http://127.0.0.1') || endpoint.startsWith('http://localhost');
  const sign = !local && (regionConfigured || !loopback);
  const client: Client = {
    endpoint,
    local,
    async call<N extends RouteName>(route: N, input: CallInput<N>): Promise<RouteReply<N>> {
      const { params, query, body } = input as { params?: Record<string, string | number>; query?: Record<string, unknown>; body?: unknown };
      const search = new URLSearchParams();
      for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) search.set(k, String(v));
      const qs = search.size ? `?${search}` : '';
      return client.request<RouteReply<N>>(API[route].method, `${pathFor(route, params)}${qs}`, body);
    },
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      const url = `${endpoint}${path}`;
      let headers: Record<string, string> = { accept: 'application/json' };
      const text = body === undefined ? undefined : JSON.stringify(body);
      if (text !== undefined) headers['content-type'] = 'application/json';
      if (sign) headers = await signedHeaders(method, url, headers, text, region);
      let res: Response;
      try {
        res = await fetch(url, { method, headers, body: text });
      } catch (err) {
        throw new ConnectionError(`cannot reach the skyless API at ${endpoint}: ${(err as Error).message}`);
      }
      const raw = await res.text();
      let parsed: unknown;
      try {
        parsed = raw ? JSON.parse(raw) : {};
      } catch {
        parsed = { message: raw };
      }
      if (!res.ok) {
        const e = parsed as { error?: string; message?: string; details?: unknown };
        throw new ApiError(res.status, e.error ?? `HTTP${res.status}`, e.message ?? `HTTP ${res.status}`, e.details);
      }
      return parsed as T;
    },
    async upload(url: string, bytes: Uint8Array): Promise<void> {
      const res = await fetch(url, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
      if (!res.ok) throw new ApiError(res.status, 'UploadFailed', `upload failed with HTTP ${res.status}`);
    },
  };
  return client;
}

async function signedHeaders(method: string, url: string, headers: Record<string, string>, body: string | undefined, region?: string): Promise<Record<string, string>> {
  const { signRequest } = await import('../adapters/aws/sigv4.ts');
  const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
  const credentials = await fromNodeProviderChain()();
  const r = region ?? (/execute-api\.([a-z0-9-]+)\.amazonaws\.com/.exec(url)?.[1] ?? 'us-east-1');
  return (await signRequest({ method, url, headers, body, region: r, credentials })) as Record<string, string>;
}
