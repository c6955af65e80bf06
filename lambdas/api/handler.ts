// API Gateway HTTP API (payload v2) entry point: the API's one router (./app.ts) behind hono's Lambda
// adapter. User routes are IAM-authorized by API Gateway; agent routes carry a scoped agent token.

import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Context } from 'hono';
import { handle } from 'hono/aws-lambda';
import type { Deps } from '../../core/usecases/deps.ts';
import { awsDeps, lazyHandler } from '../aws-deps.ts';
import { createApiApp, type CallerOf } from './app.ts';

export type { CallerOf } from './app.ts';

/**
 * Who is calling, on AWS: the IAM principal API Gateway authorized (its user or role name), from
 * the Lambda event hono's adapter keeps in `c.env.event`.
 */
export const iamCaller: CallerOf = (c: Context) => {
  const event = (c.env as { event?: APIGatewayProxyEventV2 } | undefined)?.event;
  const arn = (event?.requestContext as { authorizer?: { iam?: { userArn?: string } } } | undefined)?.authorizer?.iam?.userArn;
  return arn ? arn.replace(/^.*[:/]/, '') : 'unknown';
};

export interface ApiHandlerOptions {
  /** Who the caller is; default the IAM principal (iamCaller). */
  callerOf?: CallerOf;
}

/** The API as a Lambda handler of HTTP API (payload 2.0) events. */
export function createHandler(deps: Deps, opts: ApiHandlerOptions = {}): (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2> {
  const lambda = handle(createApiApp(deps, { callerOf: opts.callerOf ?? iamCaller }));
  return (event) => lambda(event as never) as Promise<APIGatewayProxyStructuredResultV2>;
}

/** The Lambda entry point; builds the AWS dependencies on the first event, never at import. */
export const handler = lazyHandler(async () => createHandler(await awsDeps()));
