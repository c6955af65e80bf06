// Shapes of the API's answers as the CLI reads them (the API builds them in core/usecases/read.ts).
export type { JobView, LogPage, LogChunk } from '../core/usecases/read.ts';
export type { CancelResult } from '../core/usecases/cancel.ts';
export type { AttemptRecord, JobEvent } from '../core/job/records.ts';
