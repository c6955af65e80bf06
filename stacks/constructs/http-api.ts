// The HTTP API (API Gateway v2, payload format 2.0) in front of the API function.
//
// Two kinds of caller:
// - users (the CLI): `/jobs`, `/jobs/{proxy+}`, `/uploads` require AWS_IAM, so API Gateway checks
//   the SigV4 signature and the caller's execute-api:Invoke permission before the function runs; the
//   handler reads the caller's ARN from requestContext.authorizer.iam.
// - nodes (the agent): `/agent/{proxy+}` has no API Gateway authorizer. Nodes have no IAM identity
//   for the API; they send the scoped HMAC agent token (agent/PROTOCOL.md), which the handler
//   verifies (job, task, attempt, node; refused once the attempt has ended). `/health` is public.
// Paths without a route (including `/`) are answered 404 by API Gateway without invoking anything.
// Stage throttling bounds what unauthenticated callers of the agent routes can cost.

import { RemovalPolicy } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Route paths by authorization. Every method is routed (the handler answers 405 for wrong ones). */
export const USER_ROUTE_PATHS = ['/jobs', '/jobs/{proxy+}', '/uploads'] as const;
export const AGENT_ROUTE_PATHS = ['/agent/{proxy+}'] as const;
export const PUBLIC_ROUTE_PATHS = ['/health'] as const;

export interface SkylessHttpApiProps {
  handler: lambda.IFunction;
  apiName: string;
  logRetention: logs.RetentionDays;
  rateLimit: number;
  burstLimit: number;
}

/** One JSON line per request: enough to trace a call (who, what, result, latency) without bodies. */
const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  time: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  caller: '$context.identity.userArn',
  method: '$context.httpMethod',
  route: '$context.routeKey',
  path: '$context.path',
  status: '$context.status',
  length: '$context.responseLength',
  latencyMs: '$context.responseLatency',
  integrationError: '$context.integrationErrorMessage',
});

export class SkylessHttpApi extends Construct {
  readonly api: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  readonly accessLogs: logs.LogGroup;
  /** The base URL users and nodes call (no trailing slash; the `$default` stage has no path). */
  readonly url: string;

  constructor(scope: Construct, id: string, props: SkylessHttpApiProps) {
    super(scope, id);
    this.api = new apigw.HttpApi(this, 'Api', {
      apiName: props.apiName,
      description: 'skyless managed jobs: user routes (IAM) and agent routes (scoped token)',
      createDefaultStage: false,
    });
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    this.stage = new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(ACCESS_LOG_FORMAT),
      },
    });
    this.url = this.api.apiEndpoint;

    const integration = new HttpLambdaIntegration('Handler', props.handler, { payloadFormatVersion: apigw.PayloadFormatVersion.VERSION_2_0 });
    const iamAuth = new HttpIamAuthorizer();
    for (const path of USER_ROUTE_PATHS) this.api.addRoutes({ path, methods: [apigw.HttpMethod.ANY], integration, authorizer: iamAuth });
    for (const path of AGENT_ROUTE_PATHS) this.api.addRoutes({ path, methods: [apigw.HttpMethod.ANY], integration });
    for (const path of PUBLIC_ROUTE_PATHS) this.api.addRoutes({ path, methods: [apigw.HttpMethod.GET], integration });
  }
}
