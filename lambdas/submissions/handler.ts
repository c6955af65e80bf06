// EventBridge targets that submit jobs with nobody to answer: S3 "Object Created" under `submit/` in
// the deployment's bucket, and `Launch Managed Job` events on the skyless bus. Parses the event,
// calls one use case (core/usecases/submissions.ts).

import type { Deps } from '../../core/usecases/deps.ts';
import { LAUNCH_DETAIL_TYPE, LAUNCH_SOURCE, submitLaunchEvent, submitUploadedObject, type SubmissionOutcome } from '../../core/usecases/submissions.ts';
import { awsDeps, awsRuntimeConfig, lazyHandler } from '../aws-deps.ts';

export interface SubmissionEvent {
  id?: string;
  source?: string;
  'detail-type'?: string;
  account?: string;
  detail?: unknown;
}

export interface SubmissionsOptions {
  /** The deployment's bucket: uploads elsewhere are ignored. */
  bucket: string;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function createHandler(deps: Deps, opts: SubmissionsOptions) {
  return async function handler(event: SubmissionEvent): Promise<SubmissionOutcome> {
    const type = event?.['detail-type'];
    if (event?.source === 'aws.s3' && type === 'Object Created') {
      const d = (event.detail ?? {}) as { bucket?: { name?: unknown }; object?: Record<string, unknown>; requester?: unknown };
      const bucket = str(d.bucket?.name);
      const key = str(d.object?.key);
      if (!bucket || !key) return { handled: false, why: 'Object Created event without detail.bucket.name and detail.object.key' };
      const size = d.object?.size;
      return submitUploadedObject(deps, opts.bucket, {
        bucket,
        key,
        versionId: str(d.object?.['version-id']),
        sequencer: str(d.object?.sequencer),
        etag: str(d.object?.etag),
        ...(typeof size === 'number' ? { size } : {}),
        requester: str(d.requester),
      });
    }
    if (event?.source === LAUNCH_SOURCE && type === LAUNCH_DETAIL_TYPE) {
      return submitLaunchEvent(deps, { id: str(event.id), account: str(event.account), detail: event.detail });
    }
    return { handled: false, why: `event ${event?.source}/${type} is not a submission` };
  };
}

/** The Lambda entry point; builds the AWS dependencies on the first event, never at import. */
export const handler = lazyHandler(async () => createHandler(await awsDeps(), { bucket: awsRuntimeConfig().bucketName }));
