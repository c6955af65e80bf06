// What a node (an EC2 instance running a job) is launched with: an instance profile and a security
// group in the stack's region.
//
// A node talks to the control plane only through the HTTPS API with its scoped agent token, so its
// role has no permissions at all unless the operator lists buckets for s3:// file mounts
// (nodeReadBuckets), and buckets mounted with mode MOUNT, which nodes save back to (nodeWriteBuckets). The security group has no ingress from anywhere but its own members: the nodes
// of a multi-node task reach each other (torch.distributed, MPI), nothing else reaches them.
// Egress is open: jobs install packages and pull images and data sets from the internet.

import { Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

export interface NodeAccessProps {
  deployment: string;
  /** VPC of the security group; absent = the region's default VPC (CloudFormation picks it). */
  vpcId?: string;
  /** Buckets nodes may read objects from (s3:// file mounts). */
  readBuckets: string[];
  /** Buckets nodes may also write objects to (MOUNT-mode bucket mounts are saved back). */
  writeBuckets?: string[];
}

export class NodeAccess extends Construct {
  readonly role: iam.Role;
  readonly instanceProfile: iam.InstanceProfile;
  readonly securityGroup: ec2.CfnSecurityGroup;

  constructor(scope: Construct, id: string, props: NodeAccessProps) {
    super(scope, id);
    const partition = Stack.of(this).partition;
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `skyless ${props.deployment} job nodes`,
    });
    const writeBuckets = props.writeBuckets ?? [];
    // A bucket a node writes to is one it reads too (a MOUNT copies the prefix down first).
    const readBuckets = [...new Set([...props.readBuckets, ...writeBuckets])];
    if (readBuckets.length) {
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'ReadFileMountBuckets',
          actions: ['s3:ListBucket'],
          resources: readBuckets.map((b) => `arn:${partition}:s3:::${b}`),
        }),
      );
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'ReadFileMountObjects',
          actions: ['s3:GetObject'],
          resources: readBuckets.map((b) => `arn:${partition}:s3:::${b}/*`),
        }),
      );
    }
    if (writeBuckets.length) {
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'SaveMountedBuckets',
          actions: ['s3:PutObject'],
          resources: writeBuckets.map((b) => `arn:${partition}:s3:::${b}/*`),
        }),
      );
    }
    this.instanceProfile = new iam.InstanceProfile(this, 'InstanceProfile', { role: this.role });

    // CfnSecurityGroup rather than ec2.SecurityGroup: the latter needs an IVpc, and looking up the
    // default VPC needs the account at synth time (no offline synth). Without VpcId CloudFormation
    // creates the group in the region's default VPC, where the EC2 provider launches by zone. No inline
    // egress: a VPC group starts with "all IPv4 out" (inline rules would replace it, and need VpcId);
    // IPv6 egress is added as its own rule.
    this.securityGroup = new ec2.CfnSecurityGroup(this, 'SecurityGroup', {
      groupDescription: `skyless ${props.deployment} job nodes: egress only, plus traffic between nodes of the group`,
      vpcId: props.vpcId,
    });
    new ec2.CfnSecurityGroupEgress(this, 'EgressIpv6', {
      groupId: this.securityGroup.attrGroupId,
      ipProtocol: '-1',
      cidrIpv6: '::/0',
      description: 'jobs reach the API, package mirrors and data (IPv6)',
    });
    new ec2.CfnSecurityGroupIngress(this, 'BetweenNodes', {
      groupId: this.securityGroup.attrGroupId,
      sourceSecurityGroupId: this.securityGroup.attrGroupId,
      ipProtocol: '-1',
      description: 'nodes of a multi-node task talk to each other',
    });
  }
}
