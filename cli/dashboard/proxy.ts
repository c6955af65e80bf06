// The dashboard's API proxy: the browser calls /api/<route> on the dashboard, and the dashboard calls
// the skyless API with the CLI's own client (SigV4-signed for an AWS deployment, the local control
// plane's credentials otherwise). Only the routes the page needs are forwarded; agent routes and
// anything else are refused here. Answers carry only the API's JSON (or its error), never a header
// or credential of the upstream call.

import { ApiError, ConnectionError, type Client } from '../client.ts';
import type { LogPage } from '../api-types.ts';

export interface ProxyReply {
  status: number;
  body: unknown;
}

/** The forwarded routes: method and path under /api, with the query parameters each may carry. */
const ROUTES: { method: string; pattern: RegExp; query: readonly string[] }[] = [
  { method: 'GET', pattern: /^\/jobs$/, query: ['limit', 'cursor', 'status', 'skipFinished', 'user', 'allUsers', 'name', 'pool'] },
  { method: 'GET', pattern: /^\/jobs\/\d+$/, query: [] },
  { method: 'GET', pattern: /^\/jobs\/\d+\/events$/, query: [] },
  { method: 'GET', pattern: /^\/jobs\/\d+\/logs$/, query: ['task', 'after', 'maxBytes'] },
  { method: 'POST', pattern: /^\/jobs\/cancel$/, query: [] },
  { method: 'POST', pattern: /^\/jobs\/\d+\/relaunch$/, query: [] },
  { method: 'GET', pattern: /^\/costs$/, query: ['from', 'to', 'user'] },
  { method: 'GET', pattern: /^\/pools$/, query: ['name'] },
  { method: 'POST', pattern: /^\/pools\/[-\w.]+\/down$/, query: [] },
];

export function errorReply(err: unknown): ProxyReply {
  if (err instanceof ApiError) return { status: err.status, body: { error: err.error, message: err.message, details: err.details } };
  if (err instanceof ConnectionError) return { status: 502, body: { error: 'Unreachable', message: err.message } };
  return { status: 500, body: { error: 'DashboardError', message: `the dashboard failed: ${(err as Error)?.message ?? String(err)}` } };
}

/** Forwards one browser request; `path` is below /api, `search` its query string. */
export async function forward(client: () => Promise<Client>, method: string, path: string, search: URLSearchParams, body: unknown): Promise<ProxyReply> {
  const route = ROUTES.find((r) => r.pattern.test(path));
  if (!route) return { status: 404, body: { error: 'NotFound', message: `the dashboard does not serve /api${path}` } };
  if (route.method !== method) return { status: 405, body: { error: 'MethodNotAllowed', message: `${method} /api${path} is not allowed` } };
  // The page cancels jobs by ID only: a broad selector (all, name, pool) is the CLI's, with its prompt.
  if (path === '/jobs/cancel') {
    const ids = (body as { jobIds?: unknown })?.jobIds;
    if (!Array.isArray(ids) || Object.keys(body as object).length !== 1) return { status: 400, body: { error: 'ValidationError', message: 'the dashboard cancels by jobIds only' } };
  }
  const q = new URLSearchParams();
  for (const k of route.query) {
    const v = search.get(k);
    if (v !== null && v !== '') q.set(k, v);
  }
  const qs = q.size ? `?${q}` : '';
  try {
    return { status: method === 'POST' && path.endsWith('/relaunch') ? 201 : 200, body: await (await client()).request(method, `${path}${qs}`, method === 'GET' ? undefined : body) };
  } catch (err) {
    return errorReply(err);
  }
}

/** At most this much text in one download: the rest is cut with a note saying so. */
export const DOWNLOAD_MAX_BYTES = 64 * 1024 * 1024;

/** A task's (or one attempt's) whole output as text, paging through the API. */
export async function logText(client: Client, jobId: number, task: number | undefined, attempt: number | undefined): Promise<string> {
  const parts: string[] = [];
  let bytes = 0;
  let after: string | undefined;
  for (;;) {
    const q = new URLSearchParams();
    if (task !== undefined) q.set('task', String(task));
    if (after) q.set('after', after);
    const page = await client.request<LogPage>('GET', `/jobs/${jobId}/logs${q.size ? `?${q}` : ''}`);
    for (const c of page.chunks) {
      if (attempt !== undefined && c.attempt !== attempt) continue;
      parts.push(c.text);
      bytes += c.text.length;
    }
    if (bytes > DOWNLOAD_MAX_BYTES) {
      parts.push(`\n[skyless dashboard: cut at ${DOWNLOAD_MAX_BYTES} bytes; use \`skyless jobs logs ${jobId}\` for the rest]\n`);
      break;
    }
    if (!page.chunks.length || !page.position || page.position === after) break;
    after = page.position;
  }
  return parts.join('');
}
