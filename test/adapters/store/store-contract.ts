// The behavioural contract of JobStore (core/ports.ts), run against every implementation: each
// *.test.ts in this folder calls describeJobStoreContract with a factory for a fresh, empty store.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobStore } from '../../../core/ports.ts';
import type { JobRecord, SlotState } from '../../../core/job/records.ts';
import type { JobStatus } from '../../../core/job/status.ts';
import { ConflictError, ValidationError } from '../../../core/errors.ts';
import { ManualClock } from '../../support/clock.ts';
import { makeAttemptRecord, makeEvent, makeJobRecord, makeJobSpec, makeNode, makeTaskSpec, T0 } from '../../support/records.ts';

export interface StoreContractContext {
  /** Time source the store must use for claim expiry (claimOnce ttlSeconds). */
  clock: ManualClock;
}

export interface StoreUnderTest {
  store: JobStore;
  close(): Promise<void>;
}

export function describeJobStoreContract(name: string, makeStore: (context: StoreContractContext) => Promise<StoreUnderTest>): void {
  describe(`JobStore contract: ${name}`, () => {
    let store: JobStore;
    let clock: ManualClock;
    let close: (() => Promise<void>) | undefined;

    beforeEach(async () => {
      clock = new ManualClock(T0);
      const made = await makeStore({ clock });
      store = made.store;
      close = made.close;
    });

    afterEach(async () => {
      await close?.();
    });

    /** Creates jobs and returns them as stored. */
    async function create(...jobs: JobRecord[]): Promise<JobRecord[]> {
      const stored: JobRecord[] = [];
      for (const job of jobs) stored.push(await store.putJob(job, null));
      return stored;
    }

    /** Every page of a listing, following cursors; fails if pagination does not terminate. */
    async function allPages<T>(fetchPage: (cursor?: string) => Promise<{ items: T[]; nextCursor?: string }>): Promise<T[][]> {
      const pages: T[][] = [];
      let cursor: string | undefined;
      do {
        const page = await fetchPage(cursor);
        pages.push(page.items);
        cursor = page.nextCursor;
        if (pages.length > 100) throw new Error('pagination did not terminate');
      } while (cursor);
      return pages;
    }

    async function listIds(query: Parameters<JobStore['listJobs']>[0]): Promise<number[]> {
      const pages = await allPages(async (cursor) => {
        const page = await store.listJobs({ ...query, cursor });
        return { items: page.jobs.map((j) => j.jobId), nextCursor: page.nextCursor };
      });
      return pages.flat();
    }

    async function slotIds(slot: Exclude<SlotState, 'NONE' | 'POOL'>, limit: number): Promise<number[]> {
      const pages = await allPages(async (cursor) => {
        const page = await store.listJobsBySlot(slot, limit, cursor);
        return { items: page.jobs.map((j) => j.jobId), nextCursor: page.nextCursor };
      });
      return pages.flat();
    }

    async function activeIds(limit: number): Promise<number[]> {
      const pages = await allPages(async (cursor) => {
        const page = await store.listActiveJobIds(limit, cursor);
        return { items: page.jobIds, nextCursor: page.nextCursor };
      });
      return pages.flat();
    }

    async function update(job: JobRecord, changes: Partial<JobRecord>): Promise<JobRecord> {
      const status = changes.status ?? job.status;
      return store.putJob({ ...job, ...changes, tasks: job.tasks.map((t) => ({ ...t, status })) }, job.version);
    }

    describe('jobs', () => {
      it('returns undefined for an unknown job', async () => {
        expect(await store.getJob(404)).toBeUndefined();
      });

      it('creates a job at version 1 and reads back exactly what it stored, secrets included', async () => {
        const job = makeJobRecord({ jobId: 1, pool: 'gpu-pool', cancelRequested: undefined });
        const stored = await store.putJob(job, null);
        expect(stored).toEqual({ ...job, version: 1 });
        expect(await store.getJob(1)).toEqual(stored);
        expect((await store.getJob(1))!.spec.tasks[0].secrets).toEqual({ HF_TOKEN: 'hf_secret_value' });
      });

      it('refuses to create a job that exists with a typed ConflictError', async () => {
        await create(makeJobRecord({ jobId: 1 }));
        const err = await store.putJob(makeJobRecord({ jobId: 1, name: 'other' }), null).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ConflictError);
        expect((err as Error).name).toBe('ConflictError');
        expect((await store.getJob(1))!.name).toBe('train');
      });

      it('updates only from the current version and increments it', async () => {
        const [v1] = await create(makeJobRecord({ jobId: 1 }));
        const v2 = await update(v1, { status: 'STARTING' });
        expect(v2.version).toBe(2);
        expect(v2.status).toBe('STARTING');
        await expect(store.putJob({ ...v1, status: 'CANCELLED' }, 1)).rejects.toBeInstanceOf(ConflictError);
        await expect(store.putJob({ ...v2, status: 'CANCELLED' }, 5)).rejects.toBeInstanceOf(ConflictError);
        expect(await store.getJob(1)).toEqual(v2);
        const v3 = await update(v2, { status: 'RUNNING' });
        expect(v3.version).toBe(3);
        expect(await store.getJob(1)).toEqual(v3);
      });

      it('refuses an update of a job that does not exist', async () => {
        await expect(store.putJob(makeJobRecord({ jobId: 9 }), 1)).rejects.toBeInstanceOf(ConflictError);
        expect(await store.getJob(9)).toBeUndefined();
      });

      it('lets exactly one of several concurrent writers from the same version win', async () => {
        const [v1] = await create(makeJobRecord({ jobId: 1 }));
        const writers = Array.from({ length: 6 }, (_, i) => store.putJob({ ...v1, name: `writer-${i}` }, v1.version));
        const results = await Promise.allSettled(writers);
        const winners = results.filter((r) => r.status === 'fulfilled');
        const losers = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(winners).toHaveLength(1);
        expect(losers).toHaveLength(5);
        for (const loser of losers) expect(loser.reason).toBeInstanceOf(ConflictError);
        const stored = await store.getJob(1);
        expect(stored).toEqual((winners[0] as PromiseFulfilledResult<JobRecord>).value);
        expect(stored!.version).toBe(2);
      });

      it('rejects a record too large for one item with a ValidationError, storing nothing', async () => {
        const huge = makeJobRecord({
          jobId: 1,
          spec: makeJobSpec({ tasks: [makeTaskSpec({ run: 'echo x\n'.repeat(60_000) })] }),
        });
        const err = await store.putJob(huge, null).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ValidationError);
        expect((err as Error).message).toMatch(/job 1.*KB/);
        expect(await store.getJob(1)).toBeUndefined();
      });

      it('accepts a large record below the limit (a 200 KB run script)', async () => {
        const big = makeJobRecord({ jobId: 1, spec: makeJobSpec({ tasks: [makeTaskSpec({ run: 'x'.repeat(200 * 1024) })] }) });
        const stored = await store.putJob(big, null);
        expect((await store.getJob(1))!.spec.tasks[0].run).toHaveLength(200 * 1024);
        expect(stored.version).toBe(1);
      });

      it('rejects a record with an unknown status', async () => {
        const bad = { ...makeJobRecord({ jobId: 1 }), status: 'DONE' as JobStatus };
        await expect(store.putJob(bad, null)).rejects.toBeInstanceOf(ValidationError);
      });
    });

    describe('allocateJobIds', () => {
      it('hands out consecutive ascending IDs starting at 1', async () => {
        expect(await store.allocateJobIds(1)).toEqual([1]);
        expect(await store.allocateJobIds(3)).toEqual([2, 3, 4]);
        expect(await store.allocateJobIds(1)).toEqual([5]);
      });

      it('never hands the same ID to concurrent callers', async () => {
        const batches = await Promise.all(Array.from({ length: 12 }, (_, i) => store.allocateJobIds((i % 3) + 1)));
        for (const batch of batches) {
          for (let i = 1; i < batch.length; i++) expect(batch[i]).toBe(batch[i - 1] + 1);
        }
        const all = batches.flat().sort((a, b) => a - b);
        const total = batches.reduce((n, b) => n + b.length, 0);
        expect(all).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      });

      it('rejects a non-positive count', async () => {
        await expect(store.allocateJobIds(0)).rejects.toBeInstanceOf(ValidationError);
      });
    });

    describe('listJobs', () => {
      // Jobs 1..8: users alice/bob, names, a pool, and a mix of statuses.
      const fixture: Array<Partial<JobRecord> & { jobId: number }> = [
        { jobId: 1, user: 'alice', name: 'train', status: 'SUCCEEDED' },
        { jobId: 2, user: 'bob', name: 'eval', status: 'RUNNING' },
        { jobId: 3, user: 'alice', name: 'train', status: 'PENDING', pool: 'gpu-pool' },
        { jobId: 4, user: 'alice', name: 'eval', status: 'FAILED' },
        { jobId: 5, user: 'bob', name: 'train', status: 'RECOVERING', pool: 'gpu-pool' },
        { jobId: 6, user: 'alice', name: 'serve', status: 'RUNNING' },
        { jobId: 7, user: 'bob', name: 'train', status: 'CANCELLED', pool: 'gpu-pool' },
        { jobId: 8, user: 'alice', name: 'train', status: 'PENDING' },
      ];
      const ids = (pred: (j: (typeof fixture)[number]) => boolean) =>
        fixture.filter(pred).map((j) => j.jobId).sort((a, b) => b - a);
      const finished = new Set<JobStatus>(['SUCCEEDED', 'FAILED', 'CANCELLED']);

      beforeEach(async () => {
        // Inserted out of order: the listing order must come from the IDs, not insertion.
        for (const overrides of [...fixture].reverse()) await store.putJob(makeJobRecord(overrides), null);
      });

      it('lists every job newest first (by job ID)', async () => {
        const page = await store.listJobs({ limit: 50 });
        expect(page.jobs.map((j) => j.jobId)).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
        expect(page.nextCursor).toBeUndefined();
        expect(page.jobs[0]).toEqual(await store.getJob(8));
      });

      it('paginates with opaque cursors without gaps or repeats', async () => {
        const first = await store.listJobs({ limit: 3 });
        expect(first.jobs.map((j) => j.jobId)).toEqual([8, 7, 6]);
        expect(typeof first.nextCursor).toBe('string');
        const pages = await allPages(async (cursor) => {
          const page = await store.listJobs({ limit: 3, cursor });
          return { items: page.jobs.map((j) => j.jobId), nextCursor: page.nextCursor };
        });
        expect(pages).toEqual([[8, 7, 6], [5, 4, 3], [2, 1]]);
      });

      it('filters by user', async () => {
        expect(await listIds({ limit: 2, user: 'bob' })).toEqual(ids((j) => j.user === 'bob'));
        expect(await listIds({ limit: 2, user: 'alice' })).toEqual(ids((j) => j.user === 'alice'));
        expect(await listIds({ limit: 2, user: 'nobody' })).toEqual([]);
      });

      it('filters by name and by pool', async () => {
        expect(await listIds({ limit: 2, name: 'train' })).toEqual(ids((j) => j.name === 'train'));
        expect(await listIds({ limit: 2, pool: 'gpu-pool' })).toEqual(ids((j) => j.pool === 'gpu-pool'));
        expect(await listIds({ limit: 5, name: 'train', pool: 'gpu-pool' })).toEqual([7, 5, 3]);
      });

      it('filters by one status and by several statuses (merged newest first across pages)', async () => {
        expect(await listIds({ limit: 5, statuses: ['RUNNING'] })).toEqual([6, 2]);
        expect(await listIds({ limit: 2, statuses: ['PENDING', 'RUNNING', 'FAILED'] })).toEqual([8, 6, 4, 3, 2]);
        const firstPage = await store.listJobs({ limit: 2, statuses: ['PENDING', 'RUNNING', 'FAILED'] });
        expect(firstPage.jobs.map((j) => j.jobId)).toEqual([8, 6]);
        expect(firstPage.jobs.every((j) => ['PENDING', 'RUNNING', 'FAILED'].includes(j.status))).toBe(true);
      });

      it('skips finished jobs, alone and combined with user, status and name filters', async () => {
        expect(await listIds({ limit: 2, skipFinished: true })).toEqual(ids((j) => !finished.has(j.status!)));
        expect(await listIds({ limit: 2, skipFinished: true, user: 'alice' })).toEqual([8, 6, 3]);
        expect(await listIds({ limit: 2, skipFinished: true, statuses: ['RUNNING', 'SUCCEEDED'] })).toEqual([6, 2]);
        expect(await listIds({ limit: 2, skipFinished: true, statuses: ['SUCCEEDED'] })).toEqual([]);
        expect(await listIds({ limit: 2, skipFinished: true, name: 'train' })).toEqual([8, 5, 3]);
      });

      it('combines user with status, name and pool filters', async () => {
        expect(await listIds({ limit: 2, user: 'alice', statuses: ['PENDING'] })).toEqual([8, 3]);
        expect(await listIds({ limit: 2, user: 'bob', name: 'train' })).toEqual([7, 5]);
        expect(await listIds({ limit: 2, user: 'alice', pool: 'gpu-pool' })).toEqual([3]);
      });

      it('follows status changes: a finished job leaves the active listings, a moved job changes status lists', async () => {
        const job6 = (await store.getJob(6))!;
        await update(job6, { status: 'SUCCEEDED', endedAt: T0 + 99_000 });
        expect(await listIds({ limit: 10, skipFinished: true })).not.toContain(6);
        expect(await listIds({ limit: 10, skipFinished: true, user: 'alice' })).toEqual([8, 3]);
        expect(await listIds({ limit: 10, statuses: ['RUNNING'] })).toEqual([2]);
        expect(await listIds({ limit: 10, statuses: ['SUCCEEDED'] })).toEqual([6, 1]);
        expect(await listIds({ limit: 10 })).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
      });

      it('fills a page through a selective filter over many non-matching jobs', async () => {
        for (let id = 9; id <= 60; id++) {
          await store.putJob(makeJobRecord({ jobId: id, name: id % 17 === 0 ? 'needle' : 'hay' }), null);
        }
        const first = await store.listJobs({ limit: 2, name: 'needle' });
        expect(first.jobs.map((j) => j.jobId)).toEqual([51, 34]);
        expect(await listIds({ limit: 2, name: 'needle' })).toEqual([51, 34, 17]);
      });

      it('rejects a malformed cursor and an unknown status', async () => {
        await expect(store.listJobs({ limit: 2, cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(ValidationError);
        await expect(store.listJobs({ limit: 2, statuses: ['DONE' as JobStatus] })).rejects.toBeInstanceOf(ValidationError);
      });
    });

    describe('slots', () => {
      it('lists WAITING jobs in admission order: priority highest first, then oldest slotSince', async () => {
        await create(
          makeJobRecord({ jobId: 1, slot: 'WAITING', priority: 0, slotSince: T0 + 300 }),
          makeJobRecord({ jobId: 2, slot: 'WAITING', priority: 10, slotSince: T0 + 500 }),
          makeJobRecord({ jobId: 3, slot: 'WAITING', priority: -5, slotSince: T0 + 100 }),
          makeJobRecord({ jobId: 4, slot: 'WAITING', priority: 0, slotSince: T0 + 200 }),
          makeJobRecord({ jobId: 5, slot: 'WAITING', priority: 10, slotSince: T0 + 400 }),
          makeJobRecord({ jobId: 6, slot: 'WAITING', priority: 1000, slotSince: T0 + 900 }),
          makeJobRecord({ jobId: 7, slot: 'WAITING', priority: -1000, slotSince: T0 }),
          makeJobRecord({ jobId: 8, slot: 'RUNNING', status: 'RUNNING', priority: 1000, slotSince: T0 }),
          makeJobRecord({ jobId: 9, slot: 'NONE', priority: 1000, slotSince: T0 }),
        );
        const expected = [6, 5, 2, 4, 1, 3, 7];
        const page = await store.listJobsBySlot('WAITING', 50);
        expect(page.jobs.map((j) => j.jobId)).toEqual(expected);
        expect(page.nextCursor).toBeUndefined();
        expect(page.jobs[0]).toEqual(await store.getJob(6));
        expect(await slotIds('WAITING', 3)).toEqual(expected);
        expect(await slotIds('WAITING', 1)).toEqual(expected);
      });

      it('breaks ties of priority and slotSince by job ID', async () => {
        await create(
          makeJobRecord({ jobId: 12, slot: 'WAITING', slotSince: T0 }),
          makeJobRecord({ jobId: 3, slot: 'WAITING', slotSince: T0 }),
          makeJobRecord({ jobId: 7, slot: 'WAITING', slotSince: T0 }),
        );
        expect(await slotIds('WAITING', 2)).toEqual([3, 7, 12]);
      });

      it('counts jobs per slot state exactly', async () => {
        const jobs: JobRecord[] = [];
        for (let id = 1; id <= 7; id++) jobs.push(makeJobRecord({ jobId: id, slot: 'WAITING', slotSince: T0 + id }));
        jobs.push(makeJobRecord({ jobId: 8, slot: 'LAUNCHING', status: 'STARTING' }));
        jobs.push(makeJobRecord({ jobId: 9, slot: 'LAUNCHING', status: 'RECOVERING' }));
        jobs.push(makeJobRecord({ jobId: 10, slot: 'RUNNING', status: 'RUNNING' }));
        jobs.push(makeJobRecord({ jobId: 11, slot: 'NONE', status: 'RECOVERING' }));
        await create(...jobs);
        expect(await store.countJobsBySlot('WAITING')).toBe(7);
        expect(await store.countJobsBySlot('LAUNCHING')).toBe(2);
        expect(await store.countJobsBySlot('RUNNING')).toBe(1);
        expect(await slotIds('LAUNCHING', 10)).toEqual([8, 9]);
      });

      it('moves jobs between slots and drops them from slot and active indexes once terminal', async () => {
        const [a, b, c] = await create(
          makeJobRecord({ jobId: 1, slot: 'WAITING' }),
          makeJobRecord({ jobId: 2, slot: 'WAITING' }),
          makeJobRecord({ jobId: 3, slot: 'WAITING' }),
        );
        expect(await activeIds(10)).toEqual([1, 2, 3]);
        const a2 = await update(a, { slot: 'LAUNCHING', status: 'STARTING', slotSince: T0 + 1 });
        expect(await store.countJobsBySlot('WAITING')).toBe(2);
        expect(await slotIds('LAUNCHING', 10)).toEqual([1]);
        await update(a2, { slot: 'RUNNING', status: 'RUNNING', slotSince: T0 + 2 });
        // Terminal with a stale slot value still leaves the slot index: terminal jobs hold nothing.
        await update(b, { status: 'CANCELLED', slot: 'WAITING', endedAt: T0 + 3 });
        await update(c, { status: 'FAILED_NO_RESOURCE', slot: 'NONE', endedAt: T0 + 3 });
        expect(await store.countJobsBySlot('WAITING')).toBe(0);
        expect((await store.listJobsBySlot('WAITING', 10)).jobs).toEqual([]);
        expect(await store.countJobsBySlot('LAUNCHING')).toBe(0);
        expect(await slotIds('RUNNING', 10)).toEqual([1]);
        expect(await activeIds(10)).toEqual([1]);
        const ran = (await store.getJob(1))!;
        await update(ran, { status: 'SUCCEEDED', slot: 'NONE', endedAt: T0 + 4 });
        expect(await store.countJobsBySlot('RUNNING')).toBe(0);
        expect(await activeIds(10)).toEqual([]);
        expect(await listIds({ limit: 10, skipFinished: true })).toEqual([]);
      });

      it('pages through active job IDs oldest first', async () => {
        for (let id = 1; id <= 9; id++) {
          await store.putJob(makeJobRecord({ jobId: id, status: id % 3 === 0 ? 'SUCCEEDED' : 'RUNNING' }), null);
        }
        expect(await activeIds(2)).toEqual([1, 2, 4, 5, 7, 8]);
        const first = await store.listActiveJobIds(4);
        expect(first.jobIds).toEqual([1, 2, 4, 5]);
        expect(first.nextCursor).toBeDefined();
      });

      it('rejects an unknown slot and a cursor from another listing', async () => {
        await create(makeJobRecord({ jobId: 1 }), makeJobRecord({ jobId: 2 }));
        await expect(store.countJobsBySlot('NONE' as 'WAITING')).rejects.toBeInstanceOf(ValidationError);
        const { nextCursor } = await store.listJobs({ limit: 1 });
        expect(nextCursor).toBeDefined();
        await expect(store.listJobsBySlot('WAITING', 1, nextCursor)).rejects.toBeInstanceOf(ValidationError);
      });
    });

    describe('attempts', () => {
      it('creates, reads, lists (by task, in order) and conditionally updates attempts', async () => {
        const a1 = await store.putAttempt(makeAttemptRecord({ jobId: 1, taskIndex: 0, attempt: 1 }), null);
        expect(a1.version).toBe(1);
        await store.putAttempt(makeAttemptRecord({ jobId: 1, taskIndex: 0, attempt: 2, nodes: [makeNode(0), makeNode(1)] }), null);
        await store.putAttempt(makeAttemptRecord({ jobId: 1, taskIndex: 1, attempt: 1 }), null);
        await store.putAttempt(makeAttemptRecord({ jobId: 2, taskIndex: 0, attempt: 1 }), null);
        expect(await store.getAttempt(1, 0, 1)).toEqual(a1);
        expect(await store.getAttempt(1, 0, 9)).toBeUndefined();
        expect((await store.listAttempts(1)).map((a) => [a.taskIndex, a.attempt])).toEqual([[0, 1], [0, 2], [1, 1]]);
        expect((await store.listAttempts(1, 0)).map((a) => a.attempt)).toEqual([1, 2]);
        expect(await store.listAttempts(3)).toEqual([]);
        expect((await store.getAttempt(1, 0, 2))!.nodes.map((n) => n.rank)).toEqual([0, 1]);

        const ended = await store.putAttempt(
          { ...a1, state: 'ENDED', outcome: { kind: 'RUN_FAILED', exitCodes: [1, null] }, endedAt: T0 + 60_000 },
          a1.version,
        );
        expect(ended.version).toBe(2);
        expect(await store.getAttempt(1, 0, 1)).toEqual(ended);
        await expect(store.putAttempt({ ...a1, outcome: { kind: 'SUCCEEDED' } }, a1.version)).rejects.toBeInstanceOf(ConflictError);
        await expect(store.putAttempt(makeAttemptRecord({ jobId: 1, taskIndex: 0, attempt: 1 }), null)).rejects.toBeInstanceOf(ConflictError);
        expect((await store.getAttempt(1, 0, 1))!.outcome).toEqual({ kind: 'RUN_FAILED', exitCodes: [1, null] });
      });

      it('lets only the first of two concurrent outcome writers win', async () => {
        const a = await store.putAttempt(makeAttemptRecord({ jobId: 1, state: 'RUNNING' }), null);
        const results = await Promise.allSettled([
          store.putAttempt({ ...a, state: 'ENDED', outcome: { kind: 'LOST', reason: 'spot interruption' } }, a.version),
          store.putAttempt({ ...a, state: 'ENDED', outcome: { kind: 'SUCCEEDED' } }, a.version),
        ]);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(rejected?.reason).toBeInstanceOf(ConflictError);
      });

      it('records heartbeats per node without touching the version, and refuses them once ENDED', async () => {
        const a = await store.putAttempt(
          makeAttemptRecord({ jobId: 1, state: 'RUNNING', nodes: [makeNode(0), makeNode(1), makeNode(2), makeNode(3)] }),
          null,
        );
        const beat = await store.recordHeartbeat(1, 0, 1, 2, T0 + 5_000);
        expect(beat).toBeDefined();
        expect(beat!.version).toBe(a.version);
        expect(beat!.nodes.find((n) => n.rank === 2)!.lastHeartbeatAt).toBe(T0 + 5_000);
        expect(beat!.nodes.find((n) => n.rank === 0)!.lastHeartbeatAt).toBeUndefined();
        expect({ ...beat!, nodes: a.nodes }).toEqual(a);

        // Concurrent heartbeats of all nodes all land (no version check, one node each).
        await Promise.all([0, 1, 2, 3].map((rank) => store.recordHeartbeat(1, 0, 1, rank, T0 + 10_000 + rank)));
        const after = (await store.getAttempt(1, 0, 1))!;
        expect(after.nodes.map((n) => n.lastHeartbeatAt)).toEqual([T0 + 10_000, T0 + 10_001, T0 + 10_002, T0 + 10_003]);
        expect(after.version).toBe(a.version);

        // A versioned put still works after heartbeats (they do not move the version).
        const ended = await store.putAttempt({ ...after, state: 'ENDED', outcome: { kind: 'SUCCEEDED' } }, after.version);
        expect(await store.recordHeartbeat(1, 0, 1, 0, T0 + 20_000)).toBeUndefined();
        expect(await store.getAttempt(1, 0, 1)).toEqual(ended);
      });

      it('refuses heartbeats for an unknown attempt or node', async () => {
        expect(await store.recordHeartbeat(1, 0, 1, 0, T0)).toBeUndefined();
        expect(await store.getAttempt(1, 0, 1)).toBeUndefined();
        await store.putAttempt(makeAttemptRecord({ jobId: 1, state: 'RUNNING' }), null);
        expect(await store.recordHeartbeat(1, 0, 1, 7, T0)).toBeUndefined();
        expect((await store.getAttempt(1, 0, 1))!.nodes).toEqual([makeNode(0)]);
      });
    });

    describe('events', () => {
      it('lists a job’s events oldest first, separately from other jobs', async () => {
        await store.appendEvents([
          makeEvent({ jobId: 1, time: T0 + 2_000, from: 'STARTING', to: 'RUNNING', reason: 'all nodes running' }),
          makeEvent({ jobId: 2, time: T0 + 1_500, reason: 'other job' }),
          makeEvent({ jobId: 1, time: T0, reason: 'submitted', task: null, from: undefined, to: undefined }),
        ]);
        await store.appendEvents([makeEvent({ jobId: 1, time: T0 + 1_000, reason: 'launch slot granted', attempt: 1 })]);
        const events = await store.listEvents(1);
        expect(events.map((e) => e.reason)).toEqual(['submitted', 'launch slot granted', 'all nodes running']);
        expect(events[0]).toEqual({ jobId: 1, time: T0, task: null, reason: 'submitted' });
        expect(events[1].attempt).toBe(1);
        expect(await store.listEvents(2)).toHaveLength(1);
        expect(await store.listEvents(3)).toEqual([]);
      });

      it('keeps every event appended in the same millisecond, in append order within a batch', async () => {
        const batch = Array.from({ length: 60 }, (_, i) => makeEvent({ jobId: 1, time: T0, reason: `batch-${i}` }));
        await store.appendEvents(batch);
        const concurrent = Array.from({ length: 8 }, (_, i) => store.appendEvents([makeEvent({ jobId: 1, time: T0, reason: `concurrent-${i}` })]));
        await Promise.all(concurrent);
        await store.appendEvents([makeEvent({ jobId: 1, time: T0, reason: 'last' })]);
        const reasons = (await store.listEvents(1)).map((e) => e.reason);
        expect(reasons).toHaveLength(69);
        expect(reasons.filter((r) => r.startsWith('batch-'))).toEqual(batch.map((e) => e.reason));
        expect(new Set(reasons.filter((r) => r.startsWith('concurrent-'))).size).toBe(8);
        expect(reasons[reasons.length - 1]).toBe('last');
      });

      it('accepts an empty append', async () => {
        await store.appendEvents([]);
        expect(await store.listEvents(1)).toEqual([]);
      });
    });

    describe('claimOnce', () => {
      it('claims a key once and reports the first value to later callers', async () => {
        expect(await store.claimOnce('s3:submit/a.tar:0001', 'job-1')).toEqual({ claimed: true, value: 'job-1' });
        expect(await store.claimOnce('s3:submit/a.tar:0001', 'job-2')).toEqual({ claimed: false, value: 'job-1' });
        expect(await store.claimOnce('s3:submit/a.tar:0002', 'job-3')).toEqual({ claimed: true, value: 'job-3' });
      });

      it('lets exactly one of many concurrent claimers win', async () => {
        const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.claimOnce('event-123', `claimer-${i}`)));
        const winners = results.filter((r) => r.claimed);
        expect(winners).toHaveLength(1);
        for (const r of results) expect(r.value).toBe(winners[0].value);
      });

      it('frees a claim once its TTL has passed, not before', async () => {
        expect((await store.claimOnce('k', 'first', 60)).claimed).toBe(true);
        clock.advance(30_000);
        expect(await store.claimOnce('k', 'second', 60)).toEqual({ claimed: false, value: 'first' });
        clock.advance(40_000);
        expect(await store.claimOnce('k', 'third', 60)).toEqual({ claimed: true, value: 'third' });
        expect(await store.claimOnce('k', 'fourth')).toEqual({ claimed: false, value: 'third' });
      });

      it('rejects an empty key', async () => {
        await expect(store.claimOnce('', 'v')).rejects.toBeInstanceOf(ValidationError);
      });
    });
  });
}
