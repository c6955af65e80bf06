// `skyless dashboard`'s web server: the page's static files (from this package only: no CDN, so it
// works offline), and /api/*, forwarded by ./proxy.ts with the CLI's client. See ./guard.ts for who
// may use it. Listens on 127.0.0.1 only.

import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import type { Client } from '../client.ts';
import { KEY_PARAM, checkOrigin, hasSession, sameSecret, sessionCookie } from './guard.ts';
import { errorReply, forward, logText } from './proxy.ts';

const WEB_DIR = resolve(import.meta.dirname, '..', '..', 'web', 'dashboard');
const require = createRequire(import.meta.url);

/** URL path → file. Vendor modules come from node_modules (npm ci), never from the network. */
function assetTable(): Map<string, string> {
  const preact = dirname(require.resolve('preact'));
  const hooks = require.resolve('preact/hooks');
  const htm = join(dirname(require.resolve('htm')), 'htm.module.js');
  return new Map([
    ['/vendor/preact.mjs', preact.endsWith('dist') ? join(preact, 'preact.mjs') : require.resolve('preact')],
    ['/vendor/hooks.mjs', hooks],
    ['/vendor/htm.mjs', htm],
  ]);
}

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.html': 'text/html', '.svg': 'image/svg+xml', '.png': 'image/png' };

/** Import map: bare module names for the page's modules (inline, so allowed by its CSP hash). */
const IMPORT_MAP = JSON.stringify({ imports: { preact: '/vendor/preact.mjs', 'preact/hooks': '/vendor/hooks.mjs', htm: '/vendor/htm.mjs' } });

export interface DashboardOptions {
  /** The API client (the CLI's `connect()`); called again after a failure, so a restarted API is found. */
  connect: () => Promise<Client>;
  port?: number;
  /** Per-launch secret (random when not given). */
  secret?: string;
}

export interface Dashboard {
  /** http://127.0.0.1:PORT/ (no secret). */
  origin: string;
  /** The URL to open: carries the secret once, then the cookie does. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const secret = opts.secret ?? randomBytes(24).toString('base64url');
  const assets = assetTable();
  const importMapScript = `<script type="importmap">${IMPORT_MAP}</script>`;
  const csp = [
    "default-src 'none'",
    `script-src 'self' 'sha256-${createHash('sha256').update(IMPORT_MAP).digest('base64')}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
  let client: Promise<Client> | undefined;
  const getClient = () => {
    client ??= opts.connect().catch((err) => {
      client = undefined;
      throw err;
    });
    return client;
  };

  const server: Server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, '127.0.0.1', () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;

  function send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}) {
    res.writeHead(status, {
      'content-type': type,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'content-security-policy': csp,
      ...extra,
    });
    res.end(body);
  }
  const sendJson = (res: ServerResponse, status: number, body: unknown) => send(res, status, 'application/json', JSON.stringify(body));

  async function handle(req: IncomingMessage, res: ServerResponse) {
    try {
      const verdict = checkOrigin(req, port);
      if (!verdict.ok) return sendJson(res, verdict.status, { error: 'Forbidden', message: verdict.message });
      const u = new URL(req.url ?? '/', origin);
      // The secret in the URL becomes the session cookie, and the URL loses it (history, screen shares).
      const key = u.searchParams.get(KEY_PARAM);
      if (key !== null && req.method === 'GET') {
        if (!sameSecret(key, secret)) return send(res, 403, 'text/plain', 'This dashboard link is not valid (it changes with every `skyless dashboard`): open the URL it printed.');
        u.searchParams.delete(KEY_PARAM);
        return send(res, 303, 'text/plain', '', { location: `${u.pathname}${u.search}`, 'set-cookie': sessionCookie(secret) });
      }
      if (!hasSession(req, secret)) {
        const msg = 'Open the URL printed by `skyless dashboard` (it carries this launch\'s key).';
        return u.pathname.startsWith('/api/') ? sendJson(res, 401, { error: 'Unauthorized', message: msg }) : send(res, 401, 'text/plain', msg);
      }
      if (u.pathname.startsWith('/api/')) return await api(req, res, u);
      if (req.method !== 'GET') return sendJson(res, 405, { error: 'MethodNotAllowed', message: `${req.method} ${u.pathname}` });
      return await asset(res, u.pathname);
    } catch (err) {
      if (!res.headersSent) sendJson(res, 500, errorReply(err).body);
      else res.end();
    }
  }

  async function api(req: IncomingMessage, res: ServerResponse, u: URL) {
    const path = u.pathname.slice('/api'.length);
    if (path === '/_info' && req.method === 'GET') {
      // Where the page's data comes from (an address, never a credential).
      try {
        const c = await getClient();
        return sendJson(res, 200, { endpoint: c.endpoint, local: c.local });
      } catch (err) {
        const r = errorReply(err);
        return sendJson(res, r.status, r.body);
      }
    }
    const download = /^\/jobs\/(\d+)\/logs\.txt$/.exec(path);
    if (download && req.method === 'GET') {
      const num = (k: string) => (u.searchParams.get(k) ? Number(u.searchParams.get(k)) : undefined);
      const task = num('task');
      const attempt = num('attempt');
      try {
        const text = await logText(await getClient(), Number(download[1]), task, attempt);
        const name = `job-${download[1]}${task === undefined ? '' : `-task${task}`}${attempt === undefined ? '' : `-attempt${attempt}`}.log`;
        return send(res, 200, 'text/plain; charset=utf-8', text, { 'content-disposition': `attachment; filename="${name}"` });
      } catch (err) {
        const r = errorReply(err);
        return sendJson(res, r.status, r.body);
      }
    }
    let body: unknown;
    if (req.method === 'POST') {
      const raw = await readBody(req, 64 * 1024);
      if (raw === undefined) return sendJson(res, 413, { error: 'TooLarge', message: 'request body over 64 KiB' });
      try {
        body = raw.length ? JSON.parse(raw.toString('utf8')) : {};
      } catch {
        return sendJson(res, 400, { error: 'ValidationError', message: 'request body is not valid JSON' });
      }
    }
    const r = await forward(getClient, req.method ?? 'GET', path, u.searchParams, body);
    return sendJson(res, r.status, r.body);
  }

  async function asset(res: ServerResponse, path: string) {
    if (path === '/' || path === '/index.html') {
      const html = (await readFile(join(WEB_DIR, 'index.html'), 'utf8')).replace('<!--importmap-->', importMapScript);
      return send(res, 200, 'text/html; charset=utf-8', html);
    }
    let file = assets.get(path);
    if (!file && /^\/[\w-]+\.(js|css|svg|png)$/.test(path)) file = join(WEB_DIR, path);
    if (!file) return send(res, 404, 'text/plain', 'not found');
    try {
      const data = await readFile(file);
      const ext = file.slice(file.lastIndexOf('.'));
      return send(res, 200, TYPES[ext] ?? 'application/octet-stream', data, { 'cache-control': 'no-cache' });
    } catch {
      return send(res, 404, 'text/plain', 'not found');
    }
  }

  return {
    origin,
    url: `${origin}/?${KEY_PARAM}=${secret}`,
    port,
    stop: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > max) return undefined;
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}
