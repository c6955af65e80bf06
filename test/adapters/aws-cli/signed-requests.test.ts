// With an endpoint configured, `skyless jobs queue` sends a SigV4-signed request (signed by the CLI
// with @smithy/signature-v4 and credentials from the standard chain) that a local server verifying it
// with adapters/aws/sigv4.ts verifySignedRequest (an independent implementation) accepts; the same
// request tampered with is refused, and a signature from unknown credentials is refused.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySignedRequest } from '../../../adapters/aws/sigv4.ts';
import { cli, freshHome } from './helpers.ts';

const ACCESS_KEY = 'AKIDSKYLESSTEST01';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const REGION = 'us-east-1';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  verdict: { ok: boolean; error?: string };
}

let server: Server;
let port: number;
const seen: Seen[] = [];
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const verdict = await verifySignedRequest(
        { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body },
        (id) => (id === ACCESS_KEY ? SECRET : undefined),
        { region: REGION, now: Date.now() },
      );
      seen.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body, verdict });
      if (!verdict.ok) {
        res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'Forbidden', message: `signature refused: ${verdict.error}` }));
        return;
      }
      // Just enough of the API for the commands used here.
      const reply = req.url === '/jobs/cancel' ? { cancelled: JSON.parse(body.toString()).jobIds ?? [], alreadyFinished: [], notFound: [] } : { jobs: [] };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  // The standard credential chain reads these first.
  for (const [k, v] of Object.entries({ AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET, AWS_SESSION_TOKEN: undefined, AWS_PROFILE: undefined, SKYLESS_ENDPOINT: undefined })) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});
afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

let home: ReturnType<typeof freshHome>;
beforeEach(() => {
  home = freshHome();
  seen.length = 0;
});
afterEach(() => home.cleanup());

/** Sends a request exactly as given (raw headers included) and returns the status. */
function replay(method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function headersOf(s: Seen): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.headers)) if (typeof v === 'string') out[k] = v;
  return out;
}

describe('signed CLI requests', () => {
  it('jobs queue signs its request and the verifying server accepts it; tampered copies are refused', async () => {
    expect((await cli(['config', 'set', 'endpoint', `http://127.0.0.1:${port}`, '--region', REGION])).code).toBe(0);
    const r = await cli(['jobs', 'queue']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(seen).toHaveLength(1);
    const signed = seen[0]!;
    expect(signed.verdict).toEqual({ ok: true, accessKeyId: ACCESS_KEY });
    expect(signed.method).toBe('GET');
    expect(signed.url).toMatch(/^\/jobs\?/);
    expect(signed.headers.authorization).toMatch(new RegExp(`^AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}/\\d{8}/${REGION}/execute-api/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$`));

    const headers = headersOf(signed);
    // The untouched request, sent again, still verifies: what is refused below is the tampering.
    expect(await replay('GET', signed.url, headers)).toBe(200);
    // Another query (more jobs, other users' jobs), another path, another method, a forged date,
    // another access key: each refused.
    expect(await replay('GET', signed.url.replace(/limit=\d+/, 'limit=1000'), headers)).toBe(403);
    expect(await replay('GET', `${signed.url}&allUsers=true`, headers)).toBe(403);
    expect(await replay('GET', signed.url.replace('/jobs', '/jobs/1'), headers)).toBe(403);
    expect(await replay('POST', signed.url, headers, Buffer.from('{}'))).toBe(403);
    const later = headers['x-amz-date']!.replace(/(\d{2})Z$/, (_, s: string) => `${String((Number(s) + 1) % 60).padStart(2, '0')}Z`);
    expect(await replay('GET', signed.url, { ...headers, 'x-amz-date': later })).toBe(403);
    expect(await replay('GET', signed.url, { ...headers, authorization: headers.authorization!.replace(ACCESS_KEY, 'AKIDSOMEONEELSE00') })).toBe(403);
    expect(seen.slice(1).map((s) => s.verdict.ok)).toEqual([true, false, false, false, false, false, false]);
  });

  it('cancel signs its JSON body: a changed body is refused', async () => {
    expect((await cli(['config', 'set', 'endpoint', `http://127.0.0.1:${port}`, '--region', REGION])).code).toBe(0);
    expect((await cli(['jobs', 'cancel', '-y', '7'])).code).toBe(0);
    const signed = seen.find((s) => s.method === 'POST');
    expect(signed?.verdict.ok).toBe(true);
    expect(JSON.parse(signed!.body.toString())).toMatchObject({ jobIds: [7] });
    const headers = headersOf(signed!);
    expect(await replay('POST', signed!.url, headers, signed!.body)).toBe(200);
    const tampered = Buffer.from(signed!.body.toString().replace('[7]', '[8]'));
    expect(await replay('POST', signed!.url, { ...headers, 'content-length': String(tampered.length) }, tampered)).toBe(403);
  });

  it('credentials the server does not know are refused, and the CLI says so', async () => {
    expect((await cli(['config', 'set', 'endpoint', `http://127.0.0.1:${port}`, '--region', REGION])).code).toBe(0);
    process.env.AWS_ACCESS_KEY_ID = 'AKIDUNKNOWN000000';
    try {
      const r = await cli(['jobs', 'queue']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/signature refused: unknown access key AKIDUNKNOWN000000/);
    } finally {
      process.env.AWS_ACCESS_KEY_ID = ACCESS_KEY;
    }
  });

  it('a loopback endpoint configured without a region is the local control plane: not signed', async () => {
    expect((await cli(['config', 'set', 'endpoint', `http://127.0.0.1:${port}`])).code).toBe(0);
    await cli(['jobs', 'queue']);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers.authorization).toBeUndefined();
    expect(seen[0]!.verdict.ok).toBe(false);
  });
});
