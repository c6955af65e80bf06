// `skyless jobs queue`: the DETAILS column (SkyPilot's "brief reason of the failure" in `queue -a`).

import { describe, expect, it } from 'vitest';
import { DETAILS_WIDTH, detailsCell, queueTable } from '../../../cli/commands/jobs-queue.ts';
import { jobView } from '../../../core/usecases/read.ts';
import { makeJobRecord, makeTaskState } from '../../support/records.ts';

const now = Date.parse('2025-01-01T13:00:00Z');
const long = 'setup failed: pip install exited 1 after 3 restarts: ERROR: Could not find a version that satisfies the requirement torch==9.9';

describe('jobs queue DETAILS', () => {
  it('is absent while no listed task has failed', () => {
    const { columns, rows } = queueTable([jobView(makeJobRecord({ jobId: 1, status: 'RUNNING' }))], now, false);
    expect(columns.at(-1)!.header).toBe('COST');
    expect(rows[0]).toHaveLength(columns.length);
  });

  it('is the last column when a task failed: the reason, cut to one line, whole with -a', () => {
    const failed = makeJobRecord({ jobId: 2, status: 'FAILED_SETUP' });
    failed.tasks[0].failureReason = long;
    const ok = makeJobRecord({ jobId: 1, status: 'SUCCEEDED' });
    const jobs = [jobView(failed), jobView(ok)];

    const short = queueTable(jobs, now, false);
    expect(short.columns.map((c) => c.header).slice(-2)).toEqual(['COST', 'DETAILS']);
    expect(short.rows[0].at(-1)).toBe(`${long.slice(0, DETAILS_WIDTH - 1)}…`);
    expect(short.rows[1].at(-1)).toBe('-');

    const full = queueTable(jobs, now, true);
    expect(full.rows[0].at(-1)).toBe(long);
  });

  it('shows a pipeline\'s first failure on its aggregate row and each task\'s on its own', () => {
    const job = makeJobRecord({
      jobId: 3,
      status: 'FAILED',
      tasks: [
        makeTaskState({ index: 0, name: 'train', status: 'SUCCEEDED' }),
        makeTaskState({ index: 1, name: 'eval', status: 'FAILED', failureReason: 'run exited with code 3' }),
      ],
    });
    const { rows } = queueTable([jobView(job)], now, false);
    expect(rows.map((r) => r.at(-1))).toEqual(['run exited with code 3', '-', 'run exited with code 3']);
  });

  it('folds a multi-line reason onto one line', () => {
    expect(detailsCell('a\n  b', true)).toBe('a b');
    expect(detailsCell(undefined, true)).toBe('-');
  });
});
