// cdk-nag (AwsSolutions pack) suppressions, each with the reason it does not apply. Wildcard IAM
// findings are suppressed finding by finding (`appliesTo` names the exact resource string), never
// for a whole policy, so a new wildcard anywhere fails the nag check in test/stacks.

import { Stack } from 'aws-cdk-lib';
import type { CfnResource } from 'aws-cdk-lib';
import { NagSuppressions, type NagPackSuppression } from 'cdk-nag';
import { AMI_PARAMETER_PATHS } from './constructs/compute-policy.ts';
import type { SkylessStack } from './skyless-stack.ts';
import { resourceNames } from './names.ts';

/** How cdk-nag prints a CloudFormation attribute in a finding: `<LogicalId.Attr>`. */
function attr(stack: Stack, resource: CfnResource, name: string): string {
  return `<${stack.getLogicalId(resource)}.${name}>`;
}

export function addNagSuppressions(stack: SkylessStack): void {
  const names = resourceNames(stack.settings.deployment);
  const bucketArn = attr(stack, stack.storage.bucket.node.defaultChild as CfnResource, 'Arn');
  const executions = `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${names.stateMachine}:*`;

  const runtimeWildcards: NagPackSuppression = {
    id: 'AwsSolutions-IAM5',
    reason:
      'Scoped to this deployment: objects of its own bucket (keys are per job and not known in advance: uploads/<uuid>/, logs/<job>/, submit/) ' +
      'and executions of its own state machine (named per job at run time: job-<id>, job-<id>-c<n>).',
    appliesTo: [`Resource::${bucketArn}/*`, `Resource::${executions}`],
  };
  for (const f of Object.values(stack.functions)) {
    NagSuppressions.addResourceSuppressions(f.role, [runtimeWildcards], true);
  }

  const describeAll: NagPackSuppression = {
    id: 'AwsSolutions-IAM5',
    reason: 'ec2:DescribeInstances and ec2:DescribeImages support no resource-level permissions: AWS requires Resource "*" (Service Authorization Reference, Amazon EC2).',
    appliesTo: ['Resource::*'],
  };
  const ownInstances: NagPackSuppression = {
    id: 'AwsSolutions-IAM5',
    reason:
      'Instances (and their volumes) live in any allowed region with IDs not known in advance. TerminateInstances and the terminated-by tag ' +
      'are conditioned on ec2:ResourceTag/skyless:deployment; RunInstances and tagging at launch on aws:RequestTag/skyless:deployment and ' +
      'ec2:CreateAction=RunInstances, so only this deployment\'s instances can be created or touched.',
    appliesTo: ['Resource::arn:<AWS::Partition>:ec2:*:<AWS::AccountId>:instance/*', 'Resource::arn:<AWS::Partition>:ec2:*:<AWS::AccountId>:volume/*'],
  };
  NagSuppressions.addResourceSuppressions(stack.functions.events.role, [describeAll], true);
  NagSuppressions.addResourceSuppressions(stack.functions.scheduler.role, [describeAll, ownInstances], true);
  NagSuppressions.addResourceSuppressions(
    stack.functions.workflow.role,
    [
      describeAll,
      ownInstances,
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'Resources RunInstances reads or creates besides the instance: the AMI and its snapshots (public SSM-resolved or user-chosen), the subnet, ' +
          'security group and key pair, and the network interface and spot request it creates. Their IDs vary per region and zone and they ' +
          'cannot carry the deployment tag in the request; the instance itself is tag-conditioned in the same call.',
        appliesTo: [
          'Resource::arn:<AWS::Partition>:ec2:*::image/*',
          'Resource::arn:<AWS::Partition>:ec2:*::snapshot/*',
          ...['subnet', 'security-group', 'network-interface', 'key-pair', 'spot-instances-request'].map(
            (t) => `Resource::arn:<AWS::Partition>:ec2:*:<AWS::AccountId>:${t}/*`,
          ),
        ],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason: 'RunInstances resolves `resolve:ssm:` AMI ids with the caller\'s ssm:GetParameters; granted on the two public AMI parameter paths only.',
        appliesTo: AMI_PARAMETER_PATHS.map((p) => `Resource::arn:<AWS::Partition>:ssm:*::parameter${p}`),
      },
    ],
    true,
  );

  const nodeBuckets = [...new Set([...stack.settings.nodeReadBuckets, ...stack.settings.nodeWriteBuckets])];
  if (nodeBuckets.length) {
    NagSuppressions.addResourceSuppressions(
      stack.nodes.role,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason: 'Nodes read s3:// file mounts from the buckets the operator listed (nodeReadBuckets, nodeWriteBuckets) and save MOUNT-mode mounts to nodeWriteBuckets (s3:PutObject only, never delete); object keys are the users\' choice.',
          appliesTo: nodeBuckets.map((b) => `Resource::arn:<AWS::Partition>:s3:::${b}/*`),
        },
      ],
      true,
    );
  }

  for (const f of Object.values(stack.functions)) {
    NagSuppressions.addResourceSuppressions(f.fn, [
      {
        id: 'AwsSolutions-L1',
        reason: 'Node.js 22 is the runtime the code is built and tested for (esbuild target node22); it is a supported Lambda runtime. Moving to a newer runtime is a tested change, not a default.',
      },
    ]);
  }

  NagSuppressions.addResourceSuppressions(stack.agentKey, [
    {
      id: 'AwsSolutions-SMG4',
      reason:
        'The HMAC key signs agent tokens of running jobs; rotating it would invalidate every live token (nodes would be declared lost). ' +
        'Rotation is an operator action (put a new value, then restart running jobs), documented in docs/deploy.md.',
    },
  ]);

  NagSuppressions.addResourceSuppressions(stack.stateMachine, [
    {
      id: 'AwsSolutions-SF1',
      reason:
        'Step Functions keeps every Standard execution\'s full history for 90 days and each job records its own controller log in DynamoDB; ' +
        'CloudWatch Logs delivery would add logs:* permissions on "*" to the state machine role and a per-transition cost.',
    },
    {
      id: 'AwsSolutions-SF2',
      reason: 'X-Ray tracing would need xray:Put* on "*" and adds cost per transition; a job\'s path through the states is in its execution history.',
    },
  ]);

  NagSuppressions.addResourceSuppressions(stack.storage.bucket, [
    {
      id: 'AwsSolutions-S1',
      reason:
        'Access is only through the deployment\'s Lambda roles and presigned URLs they issue (public access blocked, TLS enforced); ' +
        'object-level auditing is CloudTrail data events, which an account can turn on for all buckets. A log bucket would add cost at rest.',
    },
  ]);

  const openRoutes = stack.httpApi.api.node.children.filter((c) => /^(ANY--agent--|GET--health)/.test(c.node.id));
  if (openRoutes.length !== 2) throw new Error(`expected the agent and health routes, found ${openRoutes.map((r) => r.node.id).join(', ')}`);
  for (const route of openRoutes) {
    NagSuppressions.addResourceSuppressions(
      route,
      [
        {
          id: 'AwsSolutions-APIG4',
          reason:
            '/agent/* is called by nodes, which have no IAM identity for the API: the handler authorizes every call with the scoped HMAC agent token ' +
            '(job, task, attempt, node; refused once the attempt ends; agent/PROTOCOL.md). /health is a public liveness probe returning {ok:true}.',
        },
      ],
      true,
    );
  }
}
