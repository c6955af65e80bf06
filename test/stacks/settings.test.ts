// Deployment settings from CDK context: defaults, both list forms, and a clear error naming the key.

import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, resolveSettings, settingsFromContext, SettingsError } from '../../stacks/settings.ts';

describe('resolveSettings', () => {
  it('defaults everything but what is given', () => {
    expect(resolveSettings({})).toEqual({ deployment: 'skyless', ...DEFAULT_SETTINGS });
    expect(resolveSettings({ maxRunning: '50' })).toMatchObject({ maxRunning: 50, maxLaunching: DEFAULT_SETTINGS.maxLaunching });
  });

  it('reads lists as JSON arrays (cdk.json) or comma-separated strings (-c), dropping duplicates', () => {
    expect(resolveSettings({ allowedRegions: ['us-east-1', 'eu-west-1'] }).allowedRegions).toEqual(['us-east-1', 'eu-west-1']);
    expect(resolveSettings({ allowedRegions: 'us-east-1, eu-west-1,us-east-1' }).allowedRegions).toEqual(['us-east-1', 'eu-west-1']);
    expect(resolveSettings({ allowedRegions: '["us-gov-west-1"]' }).allowedRegions).toEqual(['us-gov-west-1']);
    expect(resolveSettings({ nodeReadBuckets: '' }).nodeReadBuckets).toEqual([]);
  });

  it('has guardrails by default: a non-empty region list and caps on nodes, jobs per submission and active jobs per user', () => {
    const d = resolveSettings({});
    expect(d.allowedRegions.length).toBeGreaterThan(0);
    expect(d).toMatchObject({ maxNodesPerJob: 64, maxJobsPerSubmission: 1000, maxActiveJobsPerUser: 2000, adminPrincipals: [], allowedInstanceTypes: [] });
    expect(resolveSettings({ adminPrincipals: 'arn:aws:iam::123456789012:role/Admin,arn:aws:iam::123456789012:user/ops' }).adminPrincipals).toHaveLength(2);
  });

  it('reads booleans and numbers given as strings', () => {
    expect(resolveSettings({ retainData: 'false', logRetentionDays: '14', apiRateLimit: 50 })).toMatchObject({ retainData: false, logRetentionDays: 14, apiRateLimit: 50 });
  });

  it.each([
    [{ deployment: 'Team_A' }, /^deployment must be a lowercase name/],
    [{ maxLaunching: '0' }, /^maxLaunching must be an integer from 1 to 10000, got "0"/],
    [{ maxRunning: 'lots' }, /^maxRunning must be an integer/],
    [{ allowedRegions: 'us-east-1,mars-north-1x' }, /^allowedRegions: 'mars-north-1x' is not a valid AWS region name/],
    [{ allowedRegions: '[broken' }, /^allowedRegions is not valid JSON/],
    [{ allowedRegions: '' }, /^allowedRegions must name at least one region/],
    [{ maxNodesPerJob: '0' }, /^maxNodesPerJob must be an integer from 1/],
    [{ adminPrincipals: 'alice' }, /^adminPrincipals: 'alice' is not a valid IAM user, role or assumed-role ARN/],
    [{ allowedInstanceTypes: 'm6i.large,LARGE' }, /^allowedInstanceTypes: 'LARGE' is not a valid EC2 instance type/],
    [{ logRetentionDays: '10' }, /^logRetentionDays must be one of 1, 3, 5, 7, 14, 30/],
    [{ gcpCredentialsSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:gcp' }, /^gcpCredentialsSecretArn must be the complete ARN/],
    [{ vpcId: 'default' }, /^vpcId must be a VPC id/],
    [{ nodeReadBuckets: 'Bad_Bucket' }, /^nodeReadBuckets: 'Bad_Bucket' is not a valid S3 bucket name/],
    [{ nodeWriteBuckets: 'x' }, /^nodeWriteBuckets: 'x' is not a valid S3 bucket name/],
    [{ gcpProject: 'ml-team-prod' }, /^gcpProject needs gcpCredentialsSecretArn/],
    [{ gcpCredentialsSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:gcp-AbCdEf', gcpNodeServiceAccount: 'nodes@ml' }, /^gcpNodeServiceAccount must be a service account email/],
    [{ retainData: 'yes' }, /^retainData must be true or false/],
  ])('refuses %j naming the key', (raw, message) => {
    expect(() => resolveSettings(raw)).toThrow(SettingsError);
    expect(() => resolveSettings(raw)).toThrow(message);
  });

  it('settingsFromContext reads every key through the context getter', () => {
    const context: Record<string, unknown> = { deployment: 'prod', maxRunning: 10, allowedRegions: 'us-west-2' };
    expect(settingsFromContext((k) => context[k])).toMatchObject({ deployment: 'prod', maxRunning: 10, allowedRegions: ['us-west-2'] });
  });
});
