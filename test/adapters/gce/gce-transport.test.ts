// The real google-auth-library exchanging a Workload Identity Federation subject token at a token
// service on 127.0.0.1 (the config's token_url), then calling an "API" there with the token: what
// the transport sends, that HTTP errors are returned rather than thrown, and that refused
// credentials become a 401 the provider turns into a cloud-scoped CapacityError (not a retry).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { googleAuthTransport } from '../../../adapters/gcp/gce-transport.ts';
import { GceProvider } from '../../../adapters/gcp/gce-provider.ts';

let server: http.Server;
let base: string;
let refuse = false;
const seen: { url: string; authorization?: string; body: string }[] = [];
let subjectTokenFile: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      seen.push({ url: req.url!, authorization: req.headers.authorization, body });
      res.setHeader('content-type', 'application/json');
      if (req.url === '/v1/token') {
        if (refuse) return void res.writeHead(400).end(JSON.stringify({ error: 'invalid_grant', error_description: 'The audience in ID Token does not match the expected audience.' }));
        return void res.writeHead(200).end(JSON.stringify({ access_token: 'ya29.local-test', issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer', expires_in: 3600 }));
      }
      res.writeHead(404).end(JSON.stringify({ error: { code: 404, message: 'not here', errors: [{ reason: 'notFound' }] } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  subjectTokenFile = join(mkdtempSync(join(tmpdir(), 'skyless-wif-')), 'subject-token');
  writeFileSync(subjectTokenFile, 'eyJ.subject.token');
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const wif = () => ({
  type: 'external_account',
  audience: '//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/skyless/providers/ci',
  subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
  token_url: `${base}/v1/token`,
  credential_source: { file: subjectTokenFile },
});

describe('googleAuthTransport', () => {
  it('exchanges the subject token, sends the access token, and returns HTTP errors as answers', async () => {
    const transport = await googleAuthTransport(wif());
    const res = await transport({ method: 'GET', url: `${base}/compute/v1/projects/p/aggregated/instances` });
    expect(res.status).toBe(404);
    expect(res.data).toMatchObject({ error: { errors: [{ reason: 'notFound' }] } });
    const exchange = seen.find((s) => s.url === '/v1/token')!;
    expect(exchange.body).toContain('subject_token=eyJ.subject.token');
    expect(seen.find((s) => s.url.startsWith('/compute'))!.authorization).toBe('Bearer ya29.local-test');
  });

  it('refused credentials are a cloud-scoped CapacityError for the launch walk, never a retry', async () => {
    refuse = true;
    const transport = await googleAuthTransport(wif());
    const res = await transport({ method: 'GET', url: `${base}/compute/v1/x` });
    expect(res.status).toBe(401);
    expect(JSON.stringify(res.data)).toContain('invalid_grant');
    const provider = new GceProvider({ transport, project: 'ml-team-prod', deployment: 'skyless', sleep: async () => {} });
    const launch = provider.launch({
      jobId: 1, taskIndex: 0, attempt: 1, numNodes: 1, diskSizeGb: 50,
      candidate: { cloud: 'gcp', region: 'us-central1', zones: ['us-central1-a'], instanceType: 'e2-standard-2', vcpus: 2, memoryGb: 8, spot: false, hourlyPrice: 0.07, requestIndex: 0 },
      bootstrap: { apiUrl: 'https://api.test', tokens: ['t'] },
    });
    await expect(launch).rejects.toMatchObject({ name: 'CapacityError', scope: 'cloud' });
    await expect(launch).rejects.toThrow(/GCP credentials were refused/);
  });
});
