// Who may talk to the dashboard proxy. It listens on 127.0.0.1, but that alone admits every local
// user and, through DNS rebinding, any web page the browser opens. So every request must:
//  - name this server in Host (127.0.0.1:PORT or localhost:PORT): a rebound name is refused;
//  - come from this origin when it says where it comes from (Origin, Sec-Fetch-Site);
//  - carry the per-launch secret, once in the URL that `skyless dashboard` opens, then as an
//    HttpOnly, SameSite=Strict cookie that no other site can send or script can read;
//  - for writes, be JSON with an Origin header (no HTML form can send that cross-site).

import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const COOKIE = 'skyless_dashboard';
export const KEY_PARAM = 'key';

export type Verdict = { ok: true } | { ok: false; status: number; message: string };

export function sameSecret(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

export function allowedOrigins(port: number): string[] {
  return [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
}

/** Host, Origin and fetch-site checks (everything but the secret). */
export function checkOrigin(req: IncomingMessage, port: number): Verdict {
  const origins = allowedOrigins(port);
  const host = req.headers.host ?? '';
  if (!origins.some((o) => o === `http://${host}`)) return { ok: false, status: 403, message: `refused: Host '${host.slice(0, 80)}' is not this dashboard (open it at 127.0.0.1:${port})` };
  const origin = req.headers.origin;
  if (origin !== undefined && !origins.includes(origin)) return { ok: false, status: 403, message: `refused: requests from ${origin.slice(0, 80)} may not use this dashboard` };
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return { ok: false, status: 403, message: `refused: a ${site} request may not use this dashboard` };
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') {
    if (origin === undefined) return { ok: false, status: 403, message: 'refused: a write must say its Origin' };
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return { ok: false, status: 415, message: 'a write must be application/json' };
  }
  return { ok: true };
}

export function hasSession(req: IncomingMessage, secret: string): boolean {
  return sameSecret(cookieValue(req.headers.cookie, COOKIE), secret);
}

export function sessionCookie(secret: string): string {
  return `${COOKIE}=${secret}; HttpOnly; SameSite=Strict; Path=/`;
}
