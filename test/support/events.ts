// The EventBridge event fixtures (test/fixtures/events: the shapes AWS documents, see its README), with
// the fields a test must point at its own resources replaced. The one loader every test uses.
import { readFileSync } from 'node:fs';

export type FixtureEvent = {
  version: string;
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
};

export function fixtureEvent(name: string): FixtureEvent {
  return JSON.parse(readFileSync(new URL(`../fixtures/events/${name}.json`, import.meta.url), 'utf8')) as FixtureEvent;
}

/** The S3 "Object Created" fixture for one upload (no version id: the test bucket is unversioned). */
export function objectCreated(bucket: string, key: string, upload: { etag?: string; sequencer: string; size?: number }): FixtureEvent {
  const e = fixtureEvent('s3-object-created');
  const object: Record<string, unknown> = { ...(e.detail.object as Record<string, unknown>), key, etag: upload.etag ?? 'etag', sequencer: upload.sequencer, size: upload.size ?? 1 };
  delete object['version-id'];
  return { ...e, resources: [`arn:aws:s3:::${bucket}`], detail: { ...e.detail, bucket: { name: bucket }, object } };
}

/** An EC2 fixture about `instanceId` in `region`. */
export function ec2Event(name: string, instanceId: string, region = 'us-east-1'): FixtureEvent {
  const e = fixtureEvent(name);
  return { ...e, region, resources: [`arn:aws:ec2:${region}:123456789012:instance/${instanceId}`], detail: { ...e.detail, 'instance-id': instanceId } };
}
