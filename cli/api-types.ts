// Shapes of the API's answers as the CLI reads them: the contracts' types (core/contracts/api.ts),
// plus the stored records they carry.
import type { RouteReply } from '../core/contracts/api.ts';
export type { LogPage, LogChunk, CancelResult } from '../core/contracts/api.ts';
export type JobView = RouteReply<'getJob'>['job'];
export type { AttemptRecord, JobEvent } from '../core/job/records.ts';
