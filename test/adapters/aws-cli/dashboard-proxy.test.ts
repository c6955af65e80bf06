// The dashboard as a signing proxy for an AWS deployment: the browser talks only to `skyless
// dashboard`, which calls the API with the CLI's client. Against a local server that verifies SigV4
// (adapters/aws/sigv4.ts verifySignedRequest, as in signed-requests.test.ts): every forwarded call is
// signed correctly, nothing the browser receives carries a credential or signature, a refused
// signature reaches the page as an explained 403, and the proxy itself only serves its own origin
// with the launch's key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySignedRequest } from '../../../adapters/aws/sigv4.ts';
import { connect } from '../../../cli/client.ts';
import { startDashboard, type Dashboard } from '../../../cli/dashboard/server.ts';
import { COOKIE } from '../../../cli/dashboard/guard.ts';
import { launchBrowser } from '../../e2e/dashboard-helpers.ts';
import { cli, freshHome } from './helpers.ts';

const ACCESS_KEY = 'AKIDSKYLESSDASH01';
const SECRET = 'dAshBoArDsEcReTkEyNeVeRsHoWnToBrOwSeR00';
const SESSION = 'FwoGZXIvYXdzEXAMPLESESSIONTOKENdashboard';
const REGION = 'us-east-1';
const CREDENTIAL_TEXTS = [ACCESS_KEY, SECRET, SESSION, 'AWS4-HMAC-SHA256', 'Signature=', 'x-amz-'];

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  ok: boolean;
}

const JOB = {
  jobId: 7, name: 'train', user: 'alice', status: 'RUNNING', finished: false, submittedAt: Date.now() - 60_000, currentTask: 0,
  spec: { name: 'train', isPipeline: false, tasks: [{ name: 'train', secrets: { WANDB_KEY: '<redacted>' } }] },
  tasks: [{ index: 0, name: 'train', status: 'RUNNING', recoveryCount: 0, restartCount: 0, attempt: 1, jobDurationMs: 0, costUsd: 0, taskId: 't' }],
};

let api: Server;
let apiPort: number;
const seen: Seen[] = [];
const saved: Record<string, string | undefined> = {};
let home: ReturnType<typeof freshHome>;
let dash: Dashboard;

beforeAll(async () => {
  api = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const verdict = await verifySignedRequest({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body }, (id) => (id === ACCESS_KEY ? SECRET : undefined), { region: REGION, now: Date.now() });
      seen.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body, ok: verdict.ok });
      const send = (code: number, v: unknown) => res.writeHead(code, { 'content-type': 'application/json', 'x-amzn-requestid': 'req-1' }).end(JSON.stringify(v));
      if (!verdict.ok) return send(403, { error: 'Forbidden', message: `signature refused: ${verdict.error}` });
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/jobs') return send(200, { jobs: [JOB] });
      if (path === '/jobs/7') return send(200, { job: JOB, attempts: [] });
      if (path === '/jobs/7/events') return send(200, { events: [], attempts: [] });
      if (path === '/jobs/cancel') return send(200, { cancelled: JSON.parse(body.toString()).jobIds, alreadyFinished: [], notFound: [] });
      return send(404, { error: 'NotFound', message: `no route ${req.method} ${path}` });
    });
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  apiPort = (api.address() as AddressInfo).port;
  for (const [k, v] of Object.entries({ AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET, AWS_SESSION_TOKEN: SESSION, AWS_PROFILE: undefined, SKYLESS_ENDPOINT: undefined })) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  home = freshHome();
  expect((await cli(['config', 'set', 'endpoint', `http://127.0.0.1:${apiPort}`, '--region', REGION])).code).toBe(0);
  dash = await startDashboard({ connect: () => connect() });
});
afterAll(async () => {
  await dash?.stop();
  home?.cleanup();
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  api.closeAllConnections();
  await new Promise<void>((resolve) => api.close(() => resolve()));
});

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A request with exactly these headers (Host included, which fetch cannot set). */
function raw(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: dash.port, method, path, headers: { host: `127.0.0.1:${dash.port}`, ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const key = () => new URL(dash.url).searchParams.get('key')!;
const session = () => ({ cookie: `${COOKIE}=${key()}` });
const json = (extra: Record<string, string> = {}) => ({ ...session(), origin: dash.origin, 'content-type': 'application/json', ...extra });

function expectNoCredential(r: Reply) {
  const all = `${JSON.stringify(r.headers)}\n${r.body}`;
  for (const t of CREDENTIAL_TEXTS) expect(all, `'${t}' reached the browser`).not.toContain(t);
}

describe('dashboard signing proxy', () => {
  it('the printed URL trades its key for an HttpOnly SameSite=Strict cookie and drops it from the address', async () => {
    const r = await raw('GET', `/?key=${key()}`);
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe('/');
    expect(r.headers['set-cookie']?.[0]).toBe(`${COOKIE}=${key()}; HttpOnly; SameSite=Strict; Path=/`);
    expect((await raw('GET', '/?key=wrong')).status).toBe(403);
    const page = await raw('GET', '/', session());
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'; script-src 'self' 'sha256-/);
    expect(page.body).toContain('<script type="importmap">');
  });

  it('forwards reads and a cancel signed with the user\'s credentials; nothing of them reaches the browser', async () => {
    seen.length = 0;
    const list = await raw('GET', '/api/jobs?limit=50&status=RUNNING&bogus=1', session());
    expect(list.status).toBe(200);
    expect(JSON.parse(list.body).jobs[0].jobId).toBe(7);
    expectNoCredential(list);
    const job = await raw('GET', '/api/jobs/7', session());
    expect(JSON.parse(job.body).job.spec.tasks[0].secrets).toEqual({ WANDB_KEY: '<redacted>' });
    expectNoCredential(job);
    const cancel = await raw('POST', '/api/jobs/cancel', json(), JSON.stringify({ jobIds: [7] }));
    expect(cancel.status).toBe(200);
    expect(JSON.parse(cancel.body).cancelled).toEqual([7]);
    expectNoCredential(cancel);

    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(['GET /jobs?limit=50&status=RUNNING', 'GET /jobs/7', 'POST /jobs/cancel']);
    for (const s of seen) {
      expect(s.ok).toBe(true);
      expect(s.headers.authorization).toMatch(new RegExp(`^AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}/\\d{8}/${REGION}/execute-api/aws4_request, `));
      expect(s.headers['x-amz-security-token']).toBe(SESSION);
      // The browser's session never travels upstream.
      expect(s.headers.cookie).toBeUndefined();
      expect(JSON.stringify(s.headers)).not.toContain(key());
    }
    expect(JSON.parse(seen[2]!.body.toString())).toEqual({ jobIds: [7] });
  });

  it('refuses foreign hosts and origins, missing sessions, non-JSON writes, broad cancels and routes it does not forward', async () => {
    seen.length = 0;
    expect((await raw('GET', '/api/jobs')).status).toBe(401);
    expect((await raw('GET', '/api/jobs', { ...session(), host: 'evil.example:80' })).status).toBe(403);
    expect((await raw('GET', '/api/jobs', { ...session(), host: `rebind.example:${dash.port}` })).status).toBe(403);
    expect((await raw('GET', '/api/jobs', { ...session(), origin: 'http://evil.example' })).status).toBe(403);
    expect((await raw('GET', '/api/jobs', { ...session(), 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await raw('POST', '/api/jobs/cancel', { ...session(), 'content-type': 'application/json' }, '{"jobIds":[7]}')).status).toBe(403);
    expect((await raw('POST', '/api/jobs/cancel', json({ 'content-type': 'text/plain' }), '{"jobIds":[7]}')).status).toBe(415);
    expect((await raw('POST', '/api/jobs/cancel', json(), '{"all":true}')).status).toBe(400);
    expect((await raw('POST', '/api/agent/register', json(), '{}')).status).toBe(404);
    expect((await raw('GET', '/api/health', session())).status).toBe(404);
    expect(seen).toEqual([]);
  });

  it('a signature the API refuses reaches the page as an explained 403, still without credentials', async () => {
    process.env.AWS_ACCESS_KEY_ID = 'AKIDUNKNOWN000000';
    try {
      const r = await raw('GET', '/api/jobs?limit=50', session());
      expect(r.status).toBe(403);
      expect(JSON.parse(r.body)).toMatchObject({ error: 'Forbidden', message: expect.stringContaining('signature refused: unknown access key') });
      expect(r.body).not.toContain(SECRET);

      const browser = await launchBrowser();
      try {
        const page = await browser.newPage();
        await page.goto(dash.url);
        await page.waitForSelector('[data-testid=error]', { timeout: 60_000 });
        const text = await page.locator('[data-testid=error]').textContent();
        expect(text).toContain('The API refused this request (403)');
        expect(text).toContain('signature refused');
        // The page cannot read its session cookie (HttpOnly), so a script injected into it could not either.
        expect(await page.evaluate('document.cookie')).toBe('');
      } finally {
        await browser.close();
      }
    } finally {
      process.env.AWS_ACCESS_KEY_ID = ACCESS_KEY;
    }
  }, 120_000);
});
