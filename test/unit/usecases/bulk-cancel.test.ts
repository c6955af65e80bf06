// Bulk cancel (core/usecases/cancel.ts) against the real store on dynalite: the request is recorded
// and answered after a bounded first slice; the scheduler's sweep cancels the rest; nothing covered
// is granted a slot or submitted past it, including a submission that was in flight.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestCancel, sweepCancelRequests, honourCancelRequests, selects, SYNC_CANCEL_LIMIT } from '../../../core/usecases/cancel.ts';
import { schedulerTick } from '../../../core/usecases/scheduler.ts';
import { startTestDynalite, type TestDynalite } from '../../support/dynalite.ts';
import { T0 } from '../../support/records.ts';
import { putJobIn, schedulerWorld } from '../scheduler-fixtures.ts';

let db: TestDynalite;
beforeAll(async () => {
  db = await startTestDynalite();
});
afterAll(async () => {
  await db?.close();
});

describe('the selector', () => {
  it.each([
    ['all users', {}, true],
    ['the same user', { user: 'alice' }, true],
    ['another user', { user: 'bob' }, false],
    ['the name', { name: 'train' }, true],
    ['another pool', { pool: 'p2' }, false],
    ['user and name', { user: 'alice', name: 'train' }, true],
  ] as const)('%s', (_n, sel, expected) => {
    expect(selects(sel, { user: 'alice', name: 'train', pool: 'p1' })).toBe(expected);
  });
});

describe('bulk cancel', () => {
  it('answers after a bounded slice; the sweep cancels the rest; jobs of others and later jobs are untouched', async () => {
    const w = await schedulerWorld(db, { maxLaunching: 0 });
    const n = SYNC_CANCEL_LIMIT + 9;
    for (let id = 1; id <= n; id++) await putJobIn(w, id, 'WAITING', { user: 'alice', submittedAt: T0 + id });
    await putJobIn(w, n + 1, 'WAITING', { user: 'bob', submittedAt: T0 });
    w.clock.set(T0 + n + 10);
    const r = await requestCancel(w.deps, { user: 'alice' }, 'alice');
    expect(r.cancelled).toHaveLength(SYNC_CANCEL_LIMIT);
    expect(r.request?.background).toBe(true);
    await putJobIn(w, n + 2, 'WAITING', { user: 'alice', submittedAt: T0 + n + 11 }); // submitted after the answer

    let passes = 0;
    while ((await sweepCancelRequests(w.deps, 4)).more) passes++;
    expect(passes).toBeGreaterThanOrEqual(2); // bounded per pass
    for (let id = 1; id <= n; id++) expect((await w.deps.store.getJob(id))!.status, `job ${id}`).toBe('CANCELLED');
    expect((await w.deps.store.getJob(n + 1))!.status).toBe('PENDING');
    expect((await w.deps.store.getJob(n + 2))!.status).toBe('PENDING');
    const [req] = await w.deps.store.listCancelRequests();
    expect(req.doneAt).toBeDefined();
  }, 180_000);

  it('admission never grants a covered job, even before the sweep reached it', async () => {
    const w = await schedulerWorld(db, { maxLaunching: 5, maxRunning: 5 });
    await putJobIn(w, 1, 'WAITING', { user: 'alice', name: 'x', submittedAt: T0 });
    await putJobIn(w, 2, 'WAITING', { user: 'alice', name: 'y', submittedAt: T0 });
    await w.deps.store.putCancelRequest({ id: 'r1', selector: { name: 'x' }, by: 'alice', at: T0 + 1 }); // recorded, not yet swept
    const tick = await schedulerTick(w.deps, { sweep: false });
    expect(tick.granted).toEqual([2]);
    expect((await w.deps.store.getJob(1))!.status).toBe('CANCELLED');
  });

  it('a submission received before the cancel but written after it is cancelled by the submission itself', async () => {
    const w = await schedulerWorld(db);
    await w.deps.store.putCancelRequest({ id: 'r1', selector: { user: 'alice' }, by: 'alice', at: T0 + 5 });
    const inFlight = await putJobIn(w, 1, 'NONE', { user: 'alice', submittedAt: T0 + 4 });
    const later = await putJobIn(w, 2, 'NONE', { user: 'alice', submittedAt: T0 + 6 });
    const hit = await honourCancelRequests(w.deps, [inFlight, later]);
    expect([...hit]).toEqual([1]);
    expect((await w.deps.store.getJob(1))!.status).toBe('CANCELLED');
    expect((await w.deps.store.getJob(2))!.status).toBe('PENDING');
  });
});
