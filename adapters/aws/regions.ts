// AWS region lists shared by the EC2 provider and the Lambdas' configuration. Kept apart from the
// provider so that reading configuration does not load the EC2 SDK.

/** Regions enabled in every AWS account without opt-in: what terminate()/describe() sweep by default. */
export const DEFAULT_AWS_REGIONS: readonly string[] = [
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'ca-central-1', 'sa-east-1',
  'eu-central-1', 'eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-north-1',
  'ap-south-1', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-southeast-1', 'ap-southeast-2',
];
