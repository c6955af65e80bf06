// Local mode is not an open door: the embedded control plane listens on 127.0.0.1, which every local
// user and (through the browser) every web page can reach. It must refuse requests without its
// bearer token, with a wrong one, from a foreign web Origin, under a foreign Host (DNS rebinding) and
// a cross-site "simple" text/plain POST; its store must have no port at all. Before: no check at all,
// and dynalite answered on a loopback TCP port (with Access-Control-Allow-Origin: *).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { readlinkSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { startControlPlane, type ControlPlane } from '../../local/control-plane.ts';

let home: string;
let plane: ControlPlane;
let portsBefore: Set<number>;
let portsAfter: Set<number>;

/** TCP ports this process listens on: /proc/net/tcp{,6} LISTEN rows whose socket inode is one of our fds. */
function listeningPorts(): Set<number> {
  const inodes = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const ports = new Set<number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A') continue; // 0A = LISTEN
      if (inodes.has(f[9]!)) ports.add(parseInt(f[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}

beforeAll(async () => {
  home = join(mkdtempSync(join(tmpdir(), 'skyless-sec-')), 'home');
  portsBefore = listeningPorts();
  plane = await startControlPlane({ home });
  portsAfter = listeningPorts();
});
afterAll(async () => {
  await plane?.stop();
  if (home) rmSync(dirname(home), { recursive: true, force: true });
});

interface Raw {
  status: number;
  body: string;
}

/** One HTTP request with exactly these headers (node:http lets a test set Host, as a rebinding page's browser would). */
function raw(method: string, path: string, headers: Record<string, string>, body?: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: plane.port, method, path, headers: { host: `127.0.0.1:${plane.port}`, ...headers } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const token = () => readFileSync(join(home, 'local', 'api-token'), 'utf8').trim();
const JOB = JSON.stringify({ yaml: 'name: evil\nresources:\n  infra: local\nrun: touch /tmp/pwned\n' });

async function jobCount(): Promise<number> {
  return (await plane.deps.store.listJobs({ limit: 1000 })).jobs.length;
}

describe('the bearer token', () => {
  it('lives in $SKYLESS_HOME/local/api-token, mode 0600, in a home of mode 0700', () => {
    expect(statSync(home).mode & 0o777).toBe(0o700);
    expect(statSync(join(home, 'local')).mode & 0o777).toBe(0o700);
    expect(statSync(join(home, 'local', 'api-token')).mode & 0o777).toBe(0o600);
    expect(token()).toMatch(/^[A-Za-z0-9_-]{40,}$/);
  });

  it('is required: no token and a wrong token are refused (401) on reads, submissions and /local routes', async () => {
    const auths: Record<string, string>[] = [{}, { authorization: 'Bearer wrong-token' }, { authorization: `Bearer ${token()}x` }];
    for (const auth of auths) {
      expect((await raw('GET', '/jobs', auth)).status).toBe(401);
      expect((await raw('GET', '/jobs/1/logs', auth)).status).toBe(401);
      const post = await raw('POST', '/jobs', { ...auth, 'content-type': 'application/json' }, JOB);
      expect(post.status).toBe(401);
      expect(JSON.parse(post.body).message).toMatch(/token/);
      expect((await raw('POST', '/local/shutdown', { ...auth, 'content-type': 'application/json' }, '{}')).status).toBe(401);
    }
    expect(await jobCount()).toBe(0);
    // Still serving: the unauthenticated shutdown did nothing.
    expect((await raw('GET', '/jobs', { authorization: `Bearer ${token()}` })).status).toBe(200);
  });
});

describe('browser attacks', () => {
  it('a foreign Origin is refused even with the right token (403)', async () => {
    const r = await raw('POST', '/jobs', { authorization: `Bearer ${token()}`, 'content-type': 'application/json', origin: 'https://evil.example' }, JOB);
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).message).toMatch(/origin 'https:\/\/evil.example'/);
    expect((await raw('GET', '/jobs', { authorization: `Bearer ${token()}`, origin: 'http://127.0.0.1:1' })).status).toBe(403);
    expect(await jobCount()).toBe(0);
  });

  it('a foreign Host (DNS rebinding: evil.example resolving to 127.0.0.1) is refused (403), on agent routes too', async () => {
    const r = await raw('GET', '/jobs', { host: `evil.example:${plane.port}`, authorization: `Bearer ${token()}` });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).message).toMatch(/DNS rebinding/);
    expect((await raw('POST', '/agent/register', { host: `evil.example:${plane.port}` }, '{}')).status).toBe(403);
    expect((await raw('GET', '/health', { host: `localhost:${plane.port}` })).status).toBe(200);
  });

  it('a text/plain POST (the CORS "simple request" a page can send) is refused (415), with or without the token', async () => {
    const r = await raw('POST', '/jobs', { authorization: `Bearer ${token()}`, 'content-type': 'text/plain' }, JOB);
    expect(r.status).toBe(415);
    expect(JSON.parse(r.body).message).toMatch(/application\/json/);
    expect((await raw('POST', '/jobs', { 'content-type': 'text/plain' }, JOB)).status).toBe(401);
    expect((await raw('POST', '/jobs/cancel', { authorization: `Bearer ${token()}`, 'content-type': 'application/x-www-form-urlencoded' }, 'all=true')).status).toBe(415);
    expect(await jobCount()).toBe(0);
  });

  it('the right token, JSON, no Origin and a loopback Host is served', async () => {
    const r = await raw('POST', '/jobs', { authorization: `Bearer ${token()}`, 'content-type': 'application/json' }, JSON.stringify({ yaml: 'name: ok\nresources:\n  infra: local\nrun: "true"\n' }));
    expect(r.status, r.body).toBe(201);
    const [id] = JSON.parse(r.body).jobIds as number[];
    // The local principal is the OS user, whatever a header claims.
    const job = await plane.deps.store.getJob(id!);
    expect(job!.user).not.toBe('someone-else');
    const forged = await raw('POST', '/jobs', { authorization: `Bearer ${token()}`, 'content-type': 'application/json', 'x-skyless-user': 'someone-else' }, JSON.stringify({ yaml: 'name: ok2\nresources:\n  infra: local\nrun: "true"\n' }));
    expect((await plane.deps.store.getJob((JSON.parse(forged.body).jobIds as number[])[0]!))!.user).toBe(job!.user);
    await raw('POST', '/jobs/cancel', { authorization: `Bearer ${token()}`, 'content-type': 'application/json' }, JSON.stringify({ all: true }));
  });
});

describe('the store', () => {
  it('has no TCP port: the control plane opens exactly one, its API port', () => {
    const opened = [...portsAfter].filter((p) => !portsBefore.has(p));
    expect(opened).toEqual([plane.port]);
  });

  it('listens on a Unix socket inside the 0700 home, which only the control plane (its owner) can open', () => {
    expect(plane.storeSocket.startsWith(join(home, 'local') + '/')).toBe(true);
    expect(statSync(plane.storeSocket).isSocket()).toBe(true);
    expect(statSync(dirname(plane.storeSocket)).mode & 0o077).toBe(0);
  });

  it('is not reachable through the API port: a DynamoDB call there is refused without the token', async () => {
    const client = new DynamoDBClient({ endpoint: plane.url, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
    await expect(client.send(new ListTablesCommand({}))).rejects.toMatchObject({ $metadata: { httpStatusCode: 401 } });
    client.destroy();
  });
});
