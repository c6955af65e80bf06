// API Gateway HTTP API (payload 2.0) events as the IAM authorizer hands them to the API Lambda, for
// the security tests: the principal is what IAM verified, never something the caller writes.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export const ALICE = 'arn:aws:iam::123456789012:user/alice';
export const BOB = 'arn:aws:iam::123456789012:user/bob';
/** A session of a role whose session name the caller chose: "alice". */
export const MALLORY_AS_ALICE = 'arn:aws:sts::123456789012:assumed-role/Dev/alice';
export const ADMIN_ROLE = 'arn:aws:iam::123456789012:role/SkylessAdmin';
export const ADMIN_SESSION = 'arn:aws:sts::123456789012:assumed-role/SkylessAdmin/ops-oncall';

export function iamRequest(principal: string | undefined, method: string, path: string, opts: { body?: unknown; query?: Record<string, string> } = {}): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: new URLSearchParams(opts.query ?? {}).toString(),
    headers: { 'content-type': 'application/json' },
    queryStringParameters: opts.query,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.skyless.test',
      domainPrefix: 'api',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.1', userAgent: 'test' },
      requestId: 'r',
      routeKey: `${method} ${path}`,
      stage: '$default',
      time: '',
      timeEpoch: 0,
      ...(principal ? { authorizer: { iam: { userArn: principal, accountId: principal.split(':')[4] } } } : {}),
    },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

export function bodyOf(r: APIGatewayProxyStructuredResultV2): Record<string, unknown> {
  return JSON.parse(String(r.body ?? '{}'));
}
