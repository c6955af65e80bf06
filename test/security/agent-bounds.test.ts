// Bounds on what a node (or anyone holding its session) can write and what a reader can ask for
// (docs/security.md "Nodes and agents"): a log chunk is written once, chunks and offsets are capped,
// and a log page always fits in a Lambda reply. Then 1,000 generated malformed agent requests through
// the API handler: every one a 4xx with a message, never a 5xx.

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MAX_LOG_PAGE_BYTES } from '../../core/usecases/read.ts';
import { createHandler } from '../../lambdas/api/handler.ts';
import { startTestDynalite, type TestDynalite } from '../support/dynalite.ts';
import { bodyOf, claimOf, event, instanceOf, launchedJob, securityWorld, type AgentCall, type SecurityWorld } from './support.ts';

let db: TestDynalite;
let w: SecurityWorld;
beforeAll(async () => {
  db = await startTestDynalite();
});
afterAll(async () => {
  await db?.close();
});
beforeEach(async () => {
  w = await securityWorld(db);
});

async function registered(job: number): Promise<string> {
  await launchedJob(w, job);
  const r = await w.api({ path: '/agent/register', token: w.deps.agentTokens.sign(claimOf(job)), body: { ip: '10.0.0.1', identity: w.aws.proof(instanceOf(job, 1, 0)) } });
  expect(r.statusCode).toBe(200);
  return bodyOf(r).session as string;
}

describe('log chunks', () => {
  it('a stored offset is never overwritten: the same bytes again are fine, other bytes are refused', async () => {
    const session = await registered(20);
    const post = (text: string, offset: number) => w.api({ path: '/agent/logs', token: session, rawBody: text, query: { offset: String(offset) } });
    expect(bodyOf(await post('epoch 1 loss 0.9\n', 0))).toEqual({ nextOffset: 17 });
    expect((await post('epoch 1 loss 0.9\n', 0)).statusCode).toBe(200); // a retry after a lost reply
    const overwrite = await post('epoch 1 loss 0.0\n', 0);
    expect(overwrite.statusCode).toBe(409);
    expect(bodyOf(overwrite).message).toMatch(/offset 0 .* already stored with other bytes/);
    const logs = await w.api({ method: 'GET', path: '/jobs/20/logs' });
    expect((bodyOf(logs).chunks as { text: string }[]).map((c) => c.text)).toEqual(['epoch 1 loss 0.9\n']);
  });

  it('a chunk over logChunkBytes, and an offset past the per-node log limit, are refused by name', async () => {
    const session = await registered(21);
    const big = await w.api({ path: '/agent/logs', token: session, rawBody: 'x'.repeat(w.deps.settings.logChunkBytes + 1), query: { offset: '0' } });
    expect(big.statusCode).toBe(400);
    expect(bodyOf(big).message).toMatch(/exceeds the limit of 65536 \(logChunkBytes\)/);
    const far = await w.api({ path: '/agent/logs', token: session, rawBody: 'x', query: { offset: String(16 * 1024 ** 3) } });
    expect(far.statusCode).toBe(400);
    expect(bodyOf(far).message).toMatch(/per-node log limit/);
    const huge = await w.api({ path: '/agent/logs', token: session, rawBody: 'x', query: { offset: '9'.repeat(30) } });
    expect(huge.statusCode).toBe(400);
    expect(await w.deps.objects.list('logs/21/')).toEqual([]);
  });
});

describe('log pages fit a Lambda reply', () => {
  it('maxBytes above the page limit is refused; a page of escaped control bytes stays under it', async () => {
    const session = await registered(22);
    const tooMuch = await w.api({ method: 'GET', path: '/jobs/22/logs', query: { maxBytes: String(MAX_LOG_PAGE_BYTES + 1) } });
    expect(tooMuch.statusCode).toBe(400);
    expect(bodyOf(tooMuch).message).toMatch(/maxBytes must be an integer from 1 to 4194304/);
    // 64 KiB chunks of \u0001 bytes: each grows 6 times in JSON. 80 of them are 30 MiB of reply unbounded.
    const control = Buffer.alloc(w.deps.settings.logChunkBytes, 1).toString('binary');
    for (let i = 0; i < 80; i++) {
      expect((await w.api({ path: '/agent/logs', token: session, rawBody: Buffer.from(control, 'binary').toString('base64'), isBase64Encoded: true, query: { offset: String(i * control.length) } })).statusCode).toBe(200);
    }
    const page = await w.api({ method: 'GET', path: '/jobs/22/logs' });
    expect(page.statusCode).toBe(200);
    expect(Buffer.byteLength(String(page.body))).toBeLessThan(MAX_LOG_PAGE_BYTES + 64 * 1024);
    const chunks = bodyOf(page).chunks as unknown[];
    expect(chunks.length).toBeGreaterThan(0);
    expect(chunks.length).toBeLessThan(80);
  });
});

describe('fuzzing the agent routes', () => {
  it('1,000 malformed agent requests: every one a 4xx with a message naming the problem, no 5xx, nothing crashes', async () => {
    const session = await registered(23);
    const bootstrap = w.deps.agentTokens.sign(claimOf(23));
    const errors: string[] = [];
    const handler = createHandler({ ...w.deps, log: (msg, fields) => errors.push(`${msg} ${JSON.stringify(fields)}`) });
    const jsonish = fc.oneof(
      fc.constant(undefined),
      fc.string(),
      fc.json(),
      fc.constantFrom('{', '[]', 'null', '"x"', '{"phase":', '\u0000', '{"a":1}{"b":2}'),
      fc.dictionary(fc.constantFrom('phase', 'exitCode', 'ip', 'reason', 'identity', '__proto__', 'constructor'), fc.anything()).map((o) => JSON.stringify(o)),
    );
    const phase = fc.oneof(fc.string(), fc.constantFrom('setup', 'RUNNING', '', 'SETUP ', 'WAIT', 'run\u0000'), fc.integer(), fc.constant(null));
    const exitCode = fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constantFrom(-1, 256, 1e308, Number.NaN, '0', null, true));
    const offset = fc.oneof(fc.string(), fc.integer().map(String), fc.constantFrom('-1', '1e3', '0x10', '1.5', '', ' ', '99999999999999999999', 'NaN'));
    const request: fc.Arbitrary<{ kind: string; call: AgentCall }> = fc.oneof(
      fc.record({ kind: fc.constant('register body'), call: jsonish.filter((b) => !validRegister(b)).map((b) => ({ path: '/agent/register', token: session, rawBody: String(b) })) }),
      fc.record({ kind: fc.constant('register identity'), call: fc.anything().map((identity) => ({ path: '/agent/register', token: bootstrap, body: { ip: '10.0.0.1', identity } })) }),
      fc.record({ kind: fc.constant('heartbeat phase'), call: phase.filter((p) => !validHeartbeat(JSON.stringify({ phase: p }))).map((p) => ({ path: '/agent/heartbeat', token: session, body: { phase: p } })) }),
      fc.record({ kind: fc.constant('heartbeat body'), call: jsonish.filter((b) => !validHeartbeat(b)).map((b) => ({ path: '/agent/heartbeat', token: session, rawBody: b === undefined ? undefined : String(b) })) }),
      fc.record({
        kind: fc.constant('exit'),
        call: fc.tuple(phase, exitCode).filter(([p, c]) => !validExit(p, c)).map(([p, c]) => ({ path: '/agent/exit', token: session, body: { phase: p, exitCode: c } })),
      }),
      fc.record({ kind: fc.constant('exit body'), call: jsonish.filter((b) => { const o = parsed(b); return !o || !validExit(o.phase, o.exitCode); }).map((b) => ({ path: '/agent/exit', token: session, rawBody: b === undefined ? undefined : String(b) })) }),
      fc.record({ kind: fc.constant('logs offset'), call: offset.filter((o) => !/^\d{1,15}$/.test(o)).map((o) => ({ path: '/agent/logs', token: session, rawBody: 'x', query: { offset: o } })) }),
      fc.record({ kind: fc.constant('logs size'), call: fc.integer({ min: w.deps.settings.logChunkBytes + 1, max: 4 * w.deps.settings.logChunkBytes }).map((n) => ({ path: '/agent/logs', token: session, rawBody: 'y'.repeat(n), query: { offset: '1000' } })) }),
      fc.record({ kind: fc.constant('interrupted'), call: fc.oneof(fc.string({ minLength: 4097, maxLength: 5000 }), fc.integer(), fc.array(fc.string())).map((reason) => ({ path: '/agent/interrupted', token: session, body: { reason } })) }),
      fc.record({ kind: fc.constant('credential'), call: fc.tuple(fc.constantFrom('/agent/register', '/agent/heartbeat', '/agent/logs', '/agent/exit', '/agent/interrupted'), fc.oneof(fc.string(), fc.base64String(), fc.constant(`${session}x`), fc.constant(bootstrap))).map(([path, token]) => ({ path, token: token === bootstrap && path === '/agent/register' ? `${token}.` : token, body: { phase: 'RUN', exitCode: 0 } })) }),
    );
    // A request the protocol allows is not malformed: the generators below leave those out.
    const parsed = (b: unknown): Record<string, unknown> | undefined => {
      try {
        const v = JSON.parse(b === undefined || b === '' ? '{}' : String(b)); // the API reads no body as {}
        return v && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
      } catch {
        return undefined;
      }
    };
    const keysWithin = (o: Record<string, unknown>, keys: string[]) => Object.keys(o).every((k) => keys.includes(k));
    const validRegister = (b: unknown) => {
      const o = parsed(b);
      return !!o && keysWithin(o, ['ip']) && (o.ip === undefined || (typeof o.ip === 'string' && o.ip.length <= 64));
    };
    const validHeartbeat = (b: unknown) => {
      const o = parsed(b);
      return !!o && keysWithin(o, ['phase']) && ['SETUP', 'RUN', 'WAIT'].includes(o.phase as string);
    };
    const validExit = (p: unknown, c: unknown) => ['SETUP', 'RUN'].includes(String(p ?? '').toUpperCase()) && Number.isInteger(Number(c)) && Number(c) >= 0 && Number(c) <= 255;
    const counts: Record<string, Record<number, number>> = {};
    const samples = fc.sample(request, { numRuns: 1000, seed: 20261203 });
    for (const { kind, call } of samples) {
      const r = await handler(event(call));
      const status = (r as { statusCode: number }).statusCode;
      (counts[kind] ??= {})[status] = ((counts[kind] ??= {})[status] ?? 0) + 1;
      const message = bodyOf(r as never).message;
      expect({ kind, call, status }).toMatchObject({ status: expect.toSatisfy((s: number) => s >= 400 && s < 500) });
      expect({ kind, call, message }).toMatchObject({ message: expect.stringMatching(/\w{3,}/) });
    }
    const total = Object.values(counts).reduce((n, c) => n + Object.values(c).reduce((a, b) => a + b, 0), 0);
    console.log(`agent fuzz: ${total} malformed requests; answers by kind and status: ${JSON.stringify(counts)}`);
    expect(total).toBe(1000);
    expect(errors).toEqual([]);
    // The node's attempt is as it was: nothing a malformed request said was recorded.
    const a = (await w.deps.store.getAttempt(23, 0, 1))!;
    expect([a.nodes[0].setupExitCode, a.nodes[0].runExitCode]).toEqual([undefined, undefined]);
    expect(a.outcome).toBeUndefined();
  });
});
