// SigV4: requests signed by the SDK's signer (signRequest) are checked by the independent verifier
// (verifySignedRequest) behind a real HTTP server on 127.0.0.1, and the verifier is pinned to the
// AWS SigV4 test suite's `get-vanilla` vector so that it cannot simply mirror the signer's bugs.

import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signRequest, verifySignedRequest, type AwsCredentials, type VerifyResult } from '../../../adapters/aws/sigv4.ts';

const REGION = 'us-east-1';
const CREDENTIALS: AwsCredentials = { accessKeyId: 'AKIDSKYLESSTEST', secretAccessKey: 'secret/with+odd=chars' };
const SECRETS: Record<string, string> = { [CREDENTIALS.accessKeyId]: CREDENTIALS.secretAccessKey };

let server: Server;
let baseUrl: string;
/** Verdicts of the server, newest last, so a test can read why a request was refused. */
const verdicts: VerifyResult[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const verdict = await verifySignedRequest(
        { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) },
        (id) => SECRETS[id],
        { region: REGION, now: Date.now(), maxSkewMs: 5 * 60_000 },
      );
      verdicts.push(verdict);
      res.writeHead(verdict.ok ? 200 : 403, { 'content-type': 'application/json' });
      res.end(JSON.stringify(verdict));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Sends with node:http exactly the given method, path+query, headers and body. */
function send(method: string, url: string, headers: Record<string, string>, body?: string): Promise<{ status: number; json: VerifyResult }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const req = httpRequest(
      {
        method,
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(text) as VerifyResult }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('signRequest + verifySignedRequest over HTTP', () => {
  const body = JSON.stringify({ name: 'train', yaml: 'run: echo hi' });
  const headers = { 'content-type': 'application/json', 'x-skyless-client': 'cli/0.1' };

  it('accepts a signed POST with a body and a query string', async () => {
    const url = `${baseUrl}/prod/jobs/launch?b=2&a=1&name=hello%20world&flag`;
    const signed = await signRequest({ method: 'POST', url, headers, body, region: REGION, credentials: CREDENTIALS });
    expect(signed.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDSKYLESSTEST\/\d{8}\/us-east-1\/execute-api\/aws4_request, /);
    const res = await send('POST', url, signed, body);
    expect(res.json).toEqual({ ok: true, accessKeyId: CREDENTIALS.accessKeyId });
    expect(res.status).toBe(200);
  });

  it('accepts a signed GET with an encoded path segment and repeated query keys', async () => {
    const url = `${baseUrl}/prod/jobs/12/logs%20x?tail=1&tail=0&since=a%2Bb`;
    const signed = await signRequest({ method: 'GET', url, region: REGION, credentials: CREDENTIALS });
    const res = await send('GET', url, signed);
    expect(res.status).toBe(200);
  });

  it('refuses a tampered body', async () => {
    const url = `${baseUrl}/prod/jobs`;
    const signed = await signRequest({ method: 'POST', url, headers, body, region: REGION, credentials: CREDENTIALS });
    const res = await send('POST', url, signed, body.replace('train', 'mine!'));
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ ok: false, error: expect.stringContaining('body') });
  });

  it('refuses a tampered body even when the client also rewrites x-amz-content-sha256', async () => {
    const url = `${baseUrl}/prod/jobs`;
    const signed = await signRequest({ method: 'POST', url, headers, body, region: REGION, credentials: CREDENTIALS });
    const forged = 'x'.repeat(10);
    const { createHash } = await import('node:crypto');
    const res = await send('POST', url, { ...signed, 'x-amz-content-sha256': createHash('sha256').update(forged).digest('hex') }, forged);
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ ok: false, error: expect.stringContaining('signature does not match') });
  });

  it('refuses a tampered signed header', async () => {
    const url = `${baseUrl}/prod/jobs`;
    const signed = await signRequest({ method: 'POST', url, headers, body, region: REGION, credentials: CREDENTIALS });
    const res = await send('POST', url, { ...signed, 'x-skyless-client': 'evil/9.9' }, body);
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ ok: false, error: expect.stringContaining('signature does not match') });
  });

  it('refuses a tampered query string', async () => {
    const signed = await signRequest({ method: 'GET', url: `${baseUrl}/prod/jobs?limit=10`, region: REGION, credentials: CREDENTIALS });
    const res = await send('GET', `${baseUrl}/prod/jobs?limit=10000`, signed);
    expect(res.status).toBe(403);
  });

  it('refuses a request signed with the wrong secret', async () => {
    const url = `${baseUrl}/prod/jobs`;
    const signed = await signRequest({
      method: 'POST', url, headers, body, region: REGION,
      credentials: { accessKeyId: CREDENTIALS.accessKeyId, secretAccessKey: 'not-the-secret' },
    });
    const res = await send('POST', url, signed, body);
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ ok: false, error: expect.stringContaining('signature does not match') });
  });

  it('refuses an unknown access key', async () => {
    const url = `${baseUrl}/prod/jobs`;
    const signed = await signRequest({
      method: 'GET', url, region: REGION, credentials: { accessKeyId: 'AKIDNOBODY', secretAccessKey: 'x' },
    });
    const res = await send('GET', url, signed);
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ ok: false, error: 'unknown access key AKIDNOBODY' });
  });

  it('refuses an expired date (and a date too far in the future)', async () => {
    const url = `${baseUrl}/prod/jobs`;
    for (const offsetMs of [-20 * 60_000, 20 * 60_000]) {
      const signed = await signRequest({
        method: 'GET', url, region: REGION, credentials: CREDENTIALS, signingDate: new Date(Date.now() + offsetMs),
      });
      const res = await send('GET', url, signed);
      expect(res.status).toBe(403);
      expect(res.json).toMatchObject({ ok: false, error: expect.stringMatching(/s from server time/) });
    }
  });

  it('refuses a signature scoped to another region or service', async () => {
    const url = `${baseUrl}/prod/jobs`;
    const otherRegion = await signRequest({ method: 'GET', url, region: 'eu-west-1', credentials: CREDENTIALS });
    expect((await send('GET', url, otherRegion)).json).toMatchObject({ ok: false, error: expect.stringContaining('region eu-west-1') });
    const otherService = await signRequest({ method: 'GET', url, region: REGION, credentials: CREDENTIALS, service: 's3' });
    expect((await send('GET', url, otherService)).json).toMatchObject({ ok: false, error: expect.stringContaining('service s3') });
  });

  it('refuses a request without Authorization', async () => {
    const res = await send('GET', `${baseUrl}/prod/jobs`, {});
    expect(res.status).toBe(403);
    expect(verdicts.at(-1)).toEqual({ ok: false, error: 'missing Authorization header' });
  });
});

describe('verifySignedRequest against the AWS SigV4 test suite', () => {
  // aws-sig-v4-test-suite/get-vanilla: the published request and its published signature.
  const vanilla = {
    method: 'GET',
    url: '/',
    headers: {
      host: 'example.amazonaws.com',
      'x-amz-date': '20150830T123600Z',
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ' +
        'SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    },
  };
  const lookup = (id: string) => (id === 'AKIDEXAMPLE' ? 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' : undefined);
  const options = { region: 'us-east-1', service: 'service', now: Date.UTC(2015, 7, 30, 12, 36, 0) };

  it('accepts the published signature', async () => {
    expect(await verifySignedRequest(vanilla, lookup, options)).toEqual({ ok: true, accessKeyId: 'AKIDEXAMPLE' });
  });

  it('refuses it when one signed byte changes', async () => {
    const altered = { ...vanilla, headers: { ...vanilla.headers, host: 'example.amazonaws.org' } };
    expect(await verifySignedRequest(altered, lookup, options)).toMatchObject({ ok: false });
  });
});
