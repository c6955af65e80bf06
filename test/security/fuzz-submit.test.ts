// Fuzzing the submission edge: 1,000 task YAMLs mutated from valid ones (fast-check, fixed seed) go
// through the API Lambda's router (the IAM edge, over the real DynamoDB store on dynalite). Every one
// must be answered 201 or 4xx with a named error and a message — never a 5xx, never a crash — and a
// refused one must leave nothing stored (each case submits as its own principal, whose jobs are then
// listed). The counts are printed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createHandler } from '../../lambdas/api/handler.ts';
import { startTestDynalite, type TestDynalite } from '../support/dynalite.ts';
import { schedulerWorld, type SchedulerWorld } from '../unit/scheduler-fixtures.ts';
import { bodyOf, iamRequest } from './api-request.ts';

const SEEDS = [
  'name: hello\nresources:\n  cpus: 2\n  memory: 4+\nrun: echo hello\n',
  'name: train\nnum_nodes: 2\nresources:\n  accelerators: A100:1\n  use_spot: true\n  job_recovery:\n    strategy: FAILOVER\n    max_restarts_on_errors: 2\nenvs:\n  LR: "0.1"\nsecrets:\n  TOKEN: null\nsetup: pip install x\nrun: |\n  python train.py --lr $LR\n',
  'name: pipe\n---\nname: a\nresources:\n  cpus: 2\nrun: echo a\n---\nname: b\nresources:\n  instance_type: m6i.large\nrun: echo b\n',
  'resources:\n  any_of:\n    - accelerators: T4\n    - cpus: 8\nfile_mounts:\n  /data: s3://bucket/path\nrun: ls /data\n',
];

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom(':', '- ', '\n  ', '{', '[', '"', "'", '&a', '*a', '!!binary', '---\n', '\t', 'num_nodes: 99999\n', 'accelerators: H100:1000\n', '\u0000', '%', 'null', '~')) }),
  fc.record({ kind: fc.constant('replaceValue' as const), at: fc.nat(), value: fc.oneof(fc.jsonValue().map((v) => JSON.stringify(v)), fc.constantFrom('-1', '1e309', 'NaN', 'true', '[]', '{}', '0', '""')) }),
  fc.record({ kind: fc.constant('dupLine' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('indent' as const), at: fc.nat(), by: fc.integer({ min: -2, max: 3 }) }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(text: string, m: Mutation): string {
  const at = text.length ? m.at % text.length : 0;
  const lines = text.split('\n');
  const li = lines.length ? m.at % lines.length : 0;
  switch (m.kind) {
    case 'delete':
      return text.slice(0, at) + text.slice(at + m.len);
    case 'insert':
      return text.slice(0, at) + m.text + text.slice(at);
    case 'replaceValue': {
      const line = lines[li]!;
      const colon = line.indexOf(':');
      lines[li] = colon >= 0 ? `${line.slice(0, colon + 1)} ${m.value}` : `${line}: ${m.value}`;
      return lines.join('\n');
    }
    case 'dupLine':
      lines.splice(li, 0, lines[li]!);
      return lines.join('\n');
    case 'indent':
      lines[li] = m.by >= 0 ? ' '.repeat(m.by) + lines[li] : lines[li]!.slice(-m.by);
      return lines.join('\n');
  }
}

let db: TestDynalite;
let w: SchedulerWorld;
let api: (e: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

beforeAll(async () => {
  db = await startTestDynalite();
  w = await schedulerWorld(db, { maxNodesPerJob: 16, maxJobsPerSubmission: 100, maxActiveJobsPerUser: 50 });
  api = createHandler(w.deps);
});
afterAll(async () => {
  await db?.close();
});

describe('fuzzing POST /jobs with mutated task YAMLs', () => {
  it('answers 1,000 of them with 201 or a 4xx naming the problem; nothing is stored for a refused one', async () => {
    const cases = fc.sample(fc.tuple(fc.constantFrom(...SEEDS), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.option(fc.integer({ min: 1, max: 200 }))), { numRuns: 1000, seed: 1303 });
    const counts: Record<string, number> = { accepted: 0, refused: 0 };
    const byError: Record<string, number> = {};
    for (const [n, [seed, muts, numJobs]] of cases.entries()) {
      const yaml = muts.reduce(mutate, seed);
      const principal = `arn:aws:iam::123456789012:user/fuzz-${n}`;
      const body = { yaml, ...(numJobs ? { numJobs, pool: 'p' } : {}) };
      const r = await api(iamRequest(principal, 'POST', '/jobs', { body }));
      const b = bodyOf(r);
      expect(r.statusCode, `case ${n}: ${JSON.stringify(yaml).slice(0, 300)} → ${r.body}`).toBeLessThan(500);
      if (r.statusCode === 201) {
        counts.accepted! += 1;
        continue;
      }
      expect(r.statusCode, `case ${n}`).toBeGreaterThanOrEqual(400);
      expect(typeof b.error, `case ${n}: ${r.body}`).toBe('string');
      expect(String(b.message).length, `case ${n}: ${r.body}`).toBeGreaterThan(0);
      counts.refused! += 1;
      byError[String(b.error)] = (byError[String(b.error)] ?? 0) + 1;
      const stored = await w.deps.store.listJobs({ limit: 10, user: principal });
      expect(stored.jobs, `case ${n}: refused but stored`).toEqual([]);
    }
    console.log(`fuzz POST /jobs: ${cases.length} mutated YAMLs, ${counts.accepted} accepted (201), ${counts.refused} refused (4xx: ${JSON.stringify(byError)}), 0 5xx`);
    expect(counts.accepted! + counts.refused!).toBe(1000);
    expect(counts.refused).toBeGreaterThan(100);
  }, 600_000);
});
