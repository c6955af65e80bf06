// A world for the node-credential security tests: the real API handler over the real DynamoJobStore
// (dynalite), the real Ec2Provider's identity check with a certificate map holding a key pair made
// here (the test plays AWS: it signs instance identity documents), and a manual clock.

import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createHandler } from '../../lambdas/api/handler.ts';
import { Ec2Provider } from '../../adapters/aws/ec2-provider.ts';
import type { AgentClaim } from '../../core/usecases/agent-token.ts';
import type { AttemptRecord, JobRecord } from '../../core/job/records.ts';
import { schedulerWorld, type SchedulerWorld } from '../unit/scheduler-fixtures.ts';
import type { TestDynalite } from '../support/dynalite.ts';
import { makeAttemptRecord, makeCandidate, makeJobRecord, makeJobSpec, makeNode, makeTaskSpec, makeTaskState } from '../support/records.ts';

export const SECRET = 'hf_TOP_SECRET_do_not_leak';
export const ACCOUNT = '123456789012';

/** Plays AWS's identity signer: documents signed with a key only this test holds. */
export class FakeAwsIdentity {
  readonly privateKey: KeyObject;
  readonly publicPem: string;
  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKey = privateKey;
    this.publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }
  /** Region → PEM, as Ec2Provider's identityCerts option takes it. */
  get certs(): Record<string, string> {
    return { 'us-east-1': this.publicPem };
  }
  /** The identity proof a node of `instanceId` would present (pretty-printed like EC2's document). */
  proof(instanceId: string, over: Record<string, unknown> = {}, key: KeyObject = this.privateKey): { kind: 'aws'; document: string; signature: string } {
    const doc = Buffer.from(JSON.stringify({ instanceId, region: 'us-east-1', accountId: ACCOUNT, availabilityZone: 'us-east-1a', ...over }, null, 2));
    return { kind: 'aws', document: doc.toString('base64'), signature: sign('sha256', doc, key).toString('base64') };
  }
}

export type Result = APIGatewayProxyStructuredResultV2;

export interface AgentCall {
  method?: string;
  path: string;
  token?: string;
  body?: unknown;
  rawBody?: string;
  query?: Record<string, string>;
  isBase64Encoded?: boolean;
}

export function event(c: AgentCall): APIGatewayProxyEventV2 {
  const body = c.rawBody ?? (c.body === undefined ? undefined : typeof c.body === 'string' ? c.body : JSON.stringify(c.body));
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: c.path,
    rawQueryString: new URLSearchParams(c.query ?? {}).toString(),
    headers: c.token !== undefined ? { authorization: `Bearer ${c.token}` } : {},
    queryStringParameters: c.query,
    requestContext: { http: { method: c.method ?? 'POST', path: c.path } } as APIGatewayProxyEventV2['requestContext'],
    body,
    isBase64Encoded: c.isBase64Encoded ?? false,
  } as APIGatewayProxyEventV2;
}

export function bodyOf(r: Result): Record<string, unknown> {
  try {
    return JSON.parse(String(r.body ?? '{}'));
  } catch {
    return { text: r.body };
  }
}

/** Every agent route with a well-formed body, so a refusal is about the credential alone. */
export const AGENT_ROUTES: readonly AgentCall[] = [
  { path: '/agent/register', body: { ip: '10.0.0.99' } },
  { path: '/agent/heartbeat', body: { phase: 'RUN' } },
  { path: '/agent/logs', rawBody: 'forged output\n', query: { offset: '0' } },
  { path: '/agent/exit', body: { phase: 'RUN', exitCode: 0 } },
  { path: '/agent/interrupted', body: { reason: 'forged notice' } },
  { method: 'GET', path: '/agent/agent.sh' },
];

export interface SecurityWorld extends SchedulerWorld {
  api: (c: AgentCall) => Promise<Result>;
  aws: FakeAwsIdentity;
}

export async function securityWorld(db: TestDynalite): Promise<SecurityWorld> {
  const w = await schedulerWorld(db, { sessionSeconds: 300 });
  const aws = new FakeAwsIdentity();
  const ec2 = new Ec2Provider({
    deployment: 'test',
    clientFor: () => {
      throw new Error('no EC2 calls in these tests');
    },
    identityCerts: aws.certs,
    accountId: ACCOUNT,
  });
  w.deps.providers = { aws: ec2 };
  const handler = createHandler(w.deps);
  return { ...w, aws, api: (c) => handler(event(c)) as Promise<Result> };
}

export function instanceOf(job: number, attempt: number, node: number): string {
  return `i-0${job}a${attempt}n${node}`.padEnd(19, '0');
}

/** A RUNNING-slot job whose attempt `attempt` was launched with `numNodes` instances and holds a secret. */
export async function launchedJob(w: SecurityWorld, jobId: number, numNodes = 1, attempt = 1): Promise<{ job: JobRecord; attempt: AttemptRecord }> {
  const spec = makeJobSpec({ tasks: [makeTaskSpec({ numNodes, secrets: { HF_TOKEN: SECRET }, fileMounts: [], workdir: undefined })] });
  const job = await w.deps.store.putJob(
    makeJobRecord({ jobId, spec, status: 'STARTING', slot: 'LAUNCHING', tasks: [makeTaskState({ status: 'STARTING', attempt, taskId: `sky-managed-${jobId}` })] }),
    null,
  );
  const a = await w.deps.store.putAttempt(
    makeAttemptRecord({
      jobId,
      attempt,
      candidate: makeCandidate({ cloud: 'aws', region: 'us-east-1' }),
      nodes: Array.from({ length: numNodes }, (_, n) => makeNode(n, { instanceId: instanceOf(jobId, attempt, n) })),
    }),
    null,
  );
  return { job, attempt: a };
}

export const claimOf = (job: number, node = 0, attempt = 1): AgentClaim => ({ job, task: 0, attempt, node });
