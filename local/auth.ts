// Who may use the embedded control plane. It listens on 127.0.0.1, which every local user and, via
// the browser, every web page can reach; so (docs/security.md, "Users, the API and local mode"):
//   - user routes (/jobs…, /uploads, /local/…) need the bearer token in $SKYLESS_HOME/local/api-token
//     (0600, in a 0700 home): only the OS user who owns the home can read it. The CLI's client
//     (cli/client.ts) sends it;
//   - every request must name this server in `Host` (a loopback name and its port): a DNS-rebinding
//     page reaches 127.0.0.1 under its own host name and is refused;
//   - a request with an `Origin` must come from this server's own origin: browsers add Origin to
//     cross-site requests, the CLI and agents send none;
//   - a user route that changes something takes `content-type: application/json` only: the
//     "simple" cross-site POST a page can send without a CORS preflight is text/plain or a form.
// Agent routes (/agent/…) keep their own scoped tokens and /files/… its signed URLs (agents are
// local processes that never see the user token); the Host and Origin checks apply to them too.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The local API's bearer token, readable by the home's owner only. */
export function apiTokenPath(home: string): string {
  return join(home, 'local', 'api-token');
}

/** Creates (or narrows) $SKYLESS_HOME and its local/ directory to 0700: their files are the user's secrets. */
export async function securePrivateDirs(home: string): Promise<void> {
  for (const dir of [home, join(home, 'local')]) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
  }
}

/** The synchronous form, for the CLI before it starts the control plane. */
export function securePrivateDirsSync(home: string): void {
  for (const dir of [home, join(home, 'local')]) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  }
}

/**
 * Reads a secret file, creating it with 32 random bytes (mode 0600) when missing. An existing file
 * readable by others is narrowed to 0600 and kept (the owner may have copied it there).
 */
export async function privateSecretFile(path: string): Promise<string> {
  try {
    const text = (await readFile(path, 'utf8')).trim();
    if (((await stat(path)).mode & 0o077) !== 0) await chmod(path, 0o600);
    if (text) return text;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const secret = randomBytes(32).toString('base64url');
  // 'wx': never overwrite a file another starter created in between; read theirs instead.
  try {
    await writeFile(path, secret, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return (await readFile(path, 'utf8')).trim();
  }
}

/** The token the CLI sends, or undefined when the home has none (no control plane ever started). */
export function readApiToken(home: string): string | undefined {
  try {
    return readFileSync(apiTokenPath(home), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export interface LocalRequest {
  method: string;
  path: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface Refusal {
  status: 401 | 403 | 415;
  error: string;
  message: string;
}

/** Paths that carry their own credential (agent token, signed URL) or none (/health). */
function ownCredential(path: string): boolean {
  return path === '/health' || path.startsWith('/agent/') || path.startsWith('/files/');
}

function header(h: LocalRequest['headers'], name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The Host values that name this server: loopback names with its port. */
export function allowedHosts(port: number): string[] {
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
}

/** Why the request is refused, or undefined when it may go on to its route. */
export function checkLocalRequest(req: LocalRequest, opts: { token: string; port: number }): Refusal | undefined {
  const host = (header(req.headers, 'host') ?? '').toLowerCase();
  if (!allowedHosts(opts.port).includes(host)) {
    return { status: 403, error: 'Forbidden', message: `Host '${host.slice(0, 100)}' is not this control plane (${allowedHosts(opts.port)[0]}); refused (DNS rebinding protection)` };
  }
  const origin = header(req.headers, 'origin');
  if (origin !== undefined && !allowedHosts(opts.port).some((h) => origin.toLowerCase() === `http://${h}`)) {
    return { status: 403, error: 'Forbidden', message: `requests from the web origin '${origin.slice(0, 100)}' are refused: only the skyless CLI may call the local control plane` };
  }
  if (ownCredential(req.path)) return undefined;
  const auth = header(req.headers, 'authorization') ?? '';
  const m = /^Bearer\s+(\S+)$/.exec(auth);
  if (!m) return { status: 401, error: 'Unauthorized', message: 'the local control plane needs the bearer token from $SKYLESS_HOME/local/api-token (the skyless CLI sends it)' };
  if (!sameSecret(m[1]!, opts.token)) return { status: 401, error: 'Unauthorized', message: 'wrong bearer token for this control plane (see $SKYLESS_HOME/local/api-token)' };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    const type = (header(req.headers, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      return { status: 415, error: 'UnsupportedMediaType', message: `${req.method} ${req.path} takes content-type application/json, got '${type || 'none'}'` };
    }
  }
  return undefined;
}
