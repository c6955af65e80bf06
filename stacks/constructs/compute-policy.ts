// IAM statements for the EC2 provider (adapters/aws/ec2-provider.ts), least privilege. Three sets:
// describe (events, scheduler, workflow), terminate (scheduler's janitor, workflow's teardown) and
// launch (workflow only).
//
// - launching: RunInstances creates the instance and its volumes only when the request tags them
//   with this deployment (aws:RequestTag/skyless:deployment), and the tags can only be written as part
//   of that RunInstances call (ec2:CreateAction). The other resources RunInstances touches (image,
//   subnet, security group, the network interface and the spot request it creates) cannot carry our
//   tag in the request, so they are allowed by type. Restricted to allowedRegions when set.
// - ending: TerminateInstances, and CreateTags of the one `skyless:terminated-by` marker, only on
//   instances already tagged with this deployment (ec2:ResourceTag/skyless:deployment), so the control
//   plane cannot touch any other instance in the account, nor move an instance into its deployment.
// - iam:PassRole only for the node role, only to EC2.
// - reading: DescribeInstances/DescribeImages support no resource-level permissions (AWS requires
//   Resource "*" for them); they are the only "*" statements.
// - ssm:GetParameters on the public AMI parameters, which RunInstances resolves (`resolve:ssm:`) with
//   the caller's permissions.

import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { TAG_DEPLOYMENT, TAG_TERMINATED_BY } from '../../adapters/aws/ec2-provider.ts';

export interface ComputePolicyProps {
  deployment: string;
  nodeRole: iam.IRole;
  /** Empty = any region. */
  allowedRegions: string[];
  /** Instance types RunInstances may create (ec2:InstanceType on the instance resource); empty/absent = any. */
  allowedInstanceTypes?: string[];
}

/** SSM public parameters the default images come from (ec2-provider defaultImageFor). */
export const AMI_PARAMETER_PATHS = ['/aws/service/ami-amazon-linux-latest/*', '/aws/service/deeplearning/ami/*'];

/** The EC2 actions that AWS authorizes only against Resource "*". */
export const UNSCOPED_EC2_ACTIONS = ['ec2:DescribeInstances', 'ec2:DescribeImages'];

function regionCondition(allowedRegions: string[]): Record<string, unknown> {
  return allowedRegions.length ? { StringEquals: { 'aws:RequestedRegion': allowedRegions } } : {};
}

function merge(...conditions: Record<string, unknown>[]): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const c of conditions) {
    for (const [op, body] of Object.entries(c)) out[op] = { ...(out[op] ?? {}), ...(body as Record<string, unknown>) };
  }
  return out;
}

/** What reading instance state needs (the events function: DescribeInstances for StateReason). */
export function describeStatements(): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'DescribeInstancesAndImages',
      actions: [...UNSCOPED_EC2_ACTIONS],
      resources: ['*'],
    }),
  ];
}

/**
 * What ending this deployment's instances needs (the workflow function's teardown, the scheduler's
 * janitor): the terminated-by marker, then TerminateInstances, both only on instances that carry this
 * deployment's tag.
 */
export function terminateStatements(scope: Construct, deployment: string): iam.PolicyStatement[] {
  const stack = Stack.of(scope);
  const ownInstances = { StringEquals: { [`ec2:ResourceTag/${TAG_DEPLOYMENT}`]: deployment } };
  const instances = `arn:${stack.partition}:ec2:*:${stack.account}:instance/*`;
  return [
    new iam.PolicyStatement({
      sid: 'MarkOwnInstancesTerminated',
      actions: ['ec2:CreateTags'],
      resources: [instances],
      conditions: merge(ownInstances, { 'ForAllValues:StringEquals': { 'aws:TagKeys': [TAG_TERMINATED_BY] } }),
    }),
    new iam.PolicyStatement({
      sid: 'TerminateOwnInstances',
      actions: ['ec2:TerminateInstances'],
      resources: [instances],
      conditions: ownInstances,
    }),
  ];
}

/** What launching nodes needs (the workflow function), on top of describe and terminate. */
export function launchStatements(scope: Construct, props: ComputePolicyProps): iam.PolicyStatement[] {
  const stack = Stack.of(scope);
  const p = stack.partition;
  const acct = stack.account;
  const ec2Arn = (type: string) => `arn:${p}:ec2:*:${acct}:${type}/*`;
  const taggedAtCreate = { StringEquals: { [`aws:RequestTag/${TAG_DEPLOYMENT}`]: props.deployment } };
  const regions = regionCondition(props.allowedRegions);

  // The instance-type allow-list (a guardrail, core/usecases/guardrails.ts) in IAM too: even a bug or
  // a stored job from before the list narrowed cannot launch another type. ec2:InstanceType exists
  // only on the instance resource, so volumes get their own statement without it.
  const types = props.allowedInstanceTypes?.length ? { StringEquals: { 'ec2:InstanceType': props.allowedInstanceTypes } } : undefined;
  const creating = types
    ? [
        new iam.PolicyStatement({ sid: 'RunTaggedInstances', actions: ['ec2:RunInstances'], resources: [ec2Arn('instance')], conditions: merge(taggedAtCreate, regions, types) }),
        new iam.PolicyStatement({ sid: 'RunTaggedVolumes', actions: ['ec2:RunInstances'], resources: [ec2Arn('volume')], conditions: merge(taggedAtCreate, regions) }),
      ]
    : [new iam.PolicyStatement({ sid: 'RunTaggedInstances', actions: ['ec2:RunInstances'], resources: [ec2Arn('instance'), ec2Arn('volume')], conditions: merge(taggedAtCreate, regions) })];
  return [
    ...creating,
    new iam.PolicyStatement({
      sid: 'RunInstancesUsing',
      actions: ['ec2:RunInstances'],
      resources: [
        // Image and snapshot ARNs carry no account (public and private AMIs alike).
        `arn:${p}:ec2:*::image/*`,
        `arn:${p}:ec2:*::snapshot/*`,
        ec2Arn('subnet'),
        ec2Arn('security-group'),
        ec2Arn('network-interface'),
        ec2Arn('key-pair'),
        ec2Arn('spot-instances-request'),
      ],
      conditions: Object.keys(regions).length ? merge(regions) : undefined,
    }),
    new iam.PolicyStatement({
      sid: 'TagAtLaunchOnly',
      actions: ['ec2:CreateTags'],
      resources: [ec2Arn('instance'), ec2Arn('volume')],
      conditions: merge(taggedAtCreate, { StringEquals: { 'ec2:CreateAction': 'RunInstances' } }, regions),
    }),
    new iam.PolicyStatement({
      sid: 'PassNodeRoleToEc2',
      actions: ['iam:PassRole'],
      resources: [props.nodeRole.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
    }),
    new iam.PolicyStatement({
      sid: 'ResolvePublicAmiParameters',
      actions: ['ssm:GetParameters', 'ssm:GetParameter'],
      resources: AMI_PARAMETER_PATHS.map((path) => `arn:${p}:ssm:*::parameter${path}`),
    }),
    new iam.PolicyStatement({
      // The first spot launch in an account creates EC2's spot service-linked role.
      sid: 'CreateSpotServiceLinkedRole',
      actions: ['iam:CreateServiceLinkedRole'],
      resources: [`arn:${p}:iam::${acct}:role/aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot`],
      conditions: { StringEquals: { 'iam:AWSServiceName': 'spot.amazonaws.com' } },
    }),
  ];
}
