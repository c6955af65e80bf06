// The job table and the deployment bucket.
//
// The table is built from adapters/aws/table-design.ts (TABLE_DESIGN), the same description the local
// bootstrap and the tests create their tables from, so the deployed keys and indexes cannot drift
// from the ones the store was tested against.
//
// The bucket holds uploads (`uploads/<uuid>/…`, deleted when the job ends), job logs (`logs/…`, kept
// for logRetentionDays) and S3 submissions (`submit/…`, which raise EventBridge "Object Created").

import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { TABLE_DESIGN, type IndexDesign } from '../../adapters/aws/table-design.ts';
import { LOG_PREFIX } from '../../core/usecases/agent.ts';

export interface StorageProps {
  logRetentionDays: number;
  retainData: boolean;
}

/** Key prefix under which an uploaded task YAML becomes a job (the submissions rule matches it). */
export { SUBMIT_PREFIX } from '../../core/usecases/submissions.ts';

function projectionOf(index: IndexDesign): Pick<dynamodb.GlobalSecondaryIndexProps, 'projectionType' | 'nonKeyAttributes'> {
  return index.projection.type === 'INCLUDE'
    ? { projectionType: dynamodb.ProjectionType.INCLUDE, nonKeyAttributes: [...index.projection.nonKeyAttributes] }
    : { projectionType: dynamodb.ProjectionType.KEYS_ONLY };
}

export class Storage extends Construct {
  readonly table: dynamodb.Table;
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    const removalPolicy = props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    if (TABLE_DESIGN.billingMode !== 'PAY_PER_REQUEST') throw new Error(`unsupported billing mode ${TABLE_DESIGN.billingMode}`);

    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TABLE_DESIGN.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_DESIGN.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: TABLE_DESIGN.pointInTimeRecovery },
      timeToLiveAttribute: TABLE_DESIGN.timeToLiveAttribute,
      // Encrypted at rest with the DynamoDB-owned key (the default): no KMS key, no KMS charges.
      removalPolicy,
      deletionProtection: props.retainData,
    });
    for (const index of TABLE_DESIGN.indexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
        ...projectionOf(index),
      });
    }

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      removalPolicy,
      lifecycleRules: [
        { id: 'expire-job-logs', prefix: `${LOG_PREFIX}/`, expiration: Duration.days(props.logRetentionDays) },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ],
    });
    // EventBridge notifications set on the bucket resource itself: the `eventBridgeEnabled` prop would
    // add a custom-resource Lambda (Custom::S3BucketNotifications) that CloudFormation supports natively.
    (this.bucket.node.defaultChild as s3.CfnBucket).notificationConfiguration = {
      eventBridgeConfiguration: { eventBridgeEnabled: true },
    };
  }
}
