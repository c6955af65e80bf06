// One skyless Lambda: a NodejsFunction (Node.js 22, arm64, bundled by the local esbuild into one ESM
// file) with its own role and its own log group. Each function gets its own role so that its
// permissions are exactly what its handler does (the stack grants them one by one); no AWS managed
// policy is attached (the log permissions are scoped to the function's own log group).

import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { NodejsFunction, OutputFormat, type ICommandHooks } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { join } from 'node:path';

/** The repository root (entries and the lock file are resolved against it). */
export const REPO_ROOT = join(import.meta.dirname, '..', '..');

export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_22_X;
export const LAMBDA_ARCHITECTURE = lambda.Architecture.ARM_64;

/**
 * The ESM bundle has no `require`; some bundled CommonJS dependencies (the AWS SDK's) call it for Node
 * built-ins, so the banner defines one. The name is distinct to avoid clashing with bundled code.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __skylessCreateRequire } from 'node:module'; const require = __skylessCreateRequire(import.meta.url);";

/** Files copied next to a function's bundled index.mjs (relative to the repo root → name in the bundle). */
export interface BundledFile {
  source: string;
  target: string;
}

export interface RuntimeFunctionProps {
  /** Handler module, relative to the repo root (e.g. `lambdas/api/handler.ts`); it exports `handler`. */
  entry: string;
  description: string;
  memorySize: number;
  timeout: Duration;
  environment: Record<string, string>;
  logRetention: logs.RetentionDays;
  reservedConcurrentExecutions?: number;
  /** Files the handler reads at run time relative to `import.meta.url` (copied after bundling). */
  bundledFiles?: BundledFile[];
  /** Async invocations (EventBridge, wake-ups): how long an event may wait and how often a failure is retried. */
  maxEventAge?: Duration;
  retryAttempts?: number;
}

function copyHooks(files: BundledFile[]): ICommandHooks {
  return {
    beforeBundling: () => [],
    beforeInstall: () => [],
    // Paths are ours (constants in the stack), never user input; quoted for spaces in checkout paths.
    afterBundling: (inputDir: string, outputDir: string) => files.map((f) => `cp "${join(inputDir, f.source)}" "${join(outputDir, f.target)}"`),
  };
}

export class RuntimeFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: RuntimeFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      // Diagnostics only (job logs live in the bucket): they go with the stack.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `skyless ${id} function (${Stack.of(this).stackName})`,
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    this.fn = new NodejsFunction(this, 'Function', {
      entry: join(REPO_ROOT, props.entry),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      runtime: LAMBDA_RUNTIME,
      architecture: LAMBDA_ARCHITECTURE,
      description: props.description,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      maxEventAge: props.maxEventAge,
      retryAttempts: props.retryAttempts,
      environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        // Bundle the AWS SDK too: the deployed code runs the SDK version the tests ran, not whatever
        // the Lambda runtime ships.
        externalModules: [],
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        ...(props.bundledFiles?.length ? { commandHooks: copyHooks(props.bundledFiles) } : {}),
      },
    });
  }
}
