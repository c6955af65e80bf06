// bench:dashboard — the jobs page with many stored jobs, in real headless Chromium:
//  1. first meaningful paint: from navigation start to the first job row in the DOM (a
//     MutationObserver in the page records performance.now()), over several fresh loads;
//  2. the page's JS heap during live updates: the page stays open on the jobs page (it polls every
//     2 s) while the bench changes the first page's jobs every second; the heap is sampled after a
//     forced GC (Chrome DevTools protocol: HeapProfiler.collectGarbage, Runtime.getHeapUsage).
// Jobs are written straight into the embedded control plane's store (terminal, so no workflow runs);
// the page reads them through `skyless dashboard`'s proxy and the real API.
//   npm run bench:dashboard -- [--jobs 100000] [--minutes 10] [--loads 5] [--home DIR]
// --home reuses a seeded SKYLESS_HOME (seeding 100k jobs takes minutes on a loaded machine).
import '../core/polyfills.ts';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import { parseArgs } from 'node:util';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir, cpus, loadavg } from 'node:os';
import { chromium } from 'playwright-core';
import { startControlPlane } from '../local/control-plane.ts';
import { serverInfoPath } from '../local/home.ts';
import type { JobRecord } from '../core/job/records.ts';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { startDynalite, ensureTable } from '../adapters/local/dynalite.ts';
import { DynamoJobStore, jobItem } from '../adapters/aws/dynamo-job-store.ts';
import { TABLE_NAME } from '../local/control-plane.ts';

const { values: args } = parseArgs({
  options: {
    jobs: { type: 'string', default: '100000' },
    minutes: { type: 'string', default: '10' },
    loads: { type: 'string', default: '5' },
    home: { type: 'string' },
  },
});
const JOBS = Number(args.jobs);
const MINUTES = Number(args.minutes);
const LOADS = Number(args.loads);
for (const [k, v] of Object.entries({ jobs: JOBS, minutes: MINUTES, loads: LOADS })) if (!(v > 0)) throw new Error(`--${k} must be a positive number`);

function record(jobId: number, now: number): JobRecord {
  const status = jobId % 17 === 0 ? 'FAILED' : jobId % 11 === 0 ? 'CANCELLED' : 'SUCCEEDED';
  const submittedAt = now - (JOBS - jobId) * 30_000;
  return {
    jobId, name: `train-${jobId % 500}`, user: ['alice', 'bob', 'carol'][jobId % 3]!, pool: jobId % 4 === 0 ? 'gpu-pool' : undefined,
    spec: { name: `train-${jobId % 500}`, isPipeline: false, tasks: [] },
    submittedAt, priority: 0, jobRank: 0, numJobs: 1,
    tasks: [{ index: 0, name: 'train', status, taskId: `t-${jobId}`, submittedAt, startedAt: submittedAt + 5_000, endedAt: submittedAt + 25_000, jobDurationMs: 20_000, recoveryCount: jobId % 7 === 0 ? 1 : 0, restartCount: 0, attempt: 1, blockedRounds: 0, blocked: [], costUsd: 0.01 * (jobId % 13), failureReason: status === 'FAILED' ? 'exit code 1' : undefined }],
    status, currentTask: 0, slot: 'NONE', slotSince: submittedAt, endedAt: submittedAt + 25_000, finalizedAt: submittedAt + 25_000, version: 0,
  } as JobRecord;
}

/**
 * Writes `n` finished jobs straight into the home's DynamoDB data (its own dynalite on the same
 * LevelDB directory, before the control plane opens it), 25 items per BatchWriteItem, in the exact
 * item form the store writes (jobItem), and sets the job ID counter past them.
 */
async function seed(home: string, n: number): Promise<number> {
  const t0 = performance.now();
  const dir = join(home, 'local', 'db');
  mkdirSync(dir, { recursive: true });
  const db = await startDynalite({ path: dir });
  const client = new DynamoDBClient({ endpoint: db.endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    await ensureTable(client, TABLE_NAME);
    const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    const store = new DynamoJobStore({ client: doc, tableName: TABLE_NAME });
    const ids = await store.allocateJobIds(n);
    const now = Date.now();
    let next = 0;
    let done = 0;
    const worker = async () => {
      while (next < ids.length) {
        const batch = ids.slice(next, next + 25);
        next += batch.length;
        let items: Record<string, unknown>[] = batch.map((id) => ({ PutRequest: { Item: jobItem({ ...record(id, now), version: 1 }) } }));
        while (items.length) {
          const out = await doc.send(new BatchWriteCommand({ RequestItems: { [TABLE_NAME]: items as never } }));
          items = (out.UnprocessedItems?.[TABLE_NAME] ?? []) as Record<string, unknown>[];
        }
        done += batch.length;
        if (done % 10_000 < 25) process.stderr.write(`  seeded ${done}/${n} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
  } finally {
    client.destroy();
    await db.close();
  }
  return performance.now() - t0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main() {
  const home = args.home ?? mkdtempSync(join(tmpdir(), 'skyless-bench-dashboard-'));
  mkdirSync(home, { recursive: true });
  const seededMark = join(home, `seeded-${JOBS}`);
  process.env.SKYLESS_HOME = home;
  process.env.SKYLESS_ENDPOINT = '';
  if (!existsSync(seededMark)) {
    process.stderr.write(`seeding ${JOBS} jobs into ${home} …\n`);
    const ms = await seed(home, JOBS);
    writeFileSync(seededMark, '');
    process.stderr.write(`seeded ${JOBS} jobs in ${(ms / 1000).toFixed(1)} s\n`);
  }
  const plane = await startControlPlane({ home });
  // The CLI's client finds a running control plane through this file (as `local serve` writes it).
  writeFileSync(serverInfoPath(home), JSON.stringify({ pid: process.pid, url: plane.url, startedAt: new Date().toISOString() }));
  const { startDashboard } = await import('../cli/dashboard/server.ts');
  const { connect } = await import('../cli/client.ts');
  let dash: Awaited<ReturnType<typeof startDashboard>> | undefined;
  const browser = await chromium.launch({ executablePath: process.env.SKYLESS_CHROMIUM ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox'] });
  try {
    dash = await startDashboard({ connect: () => connect() });
    const ctx = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    // Record when the first job row enters the DOM, relative to navigation start.
    // (Page-side code is given as text: Node's type set has no DOM.)
    await ctx.addInitScript(`new MutationObserver((_, obs) => {
      if (document.querySelector('tr[data-job]')) { window.__fmp = performance.now(); obs.disconnect(); }
    }).observe(document, { childList: true, subtree: true });`);
    const page = await ctx.newPage();
    await page.goto(dash.url); // sets the session cookie
    await page.waitForSelector('tr[data-job]', { timeout: 120_000 });

    const fmp: number[] = [];
    const apiMs: number[] = [];
    const dclMs: number[] = [];
    for (let i = 0; i < LOADS; i++) {
      await page.goto(`${dash.origin}/?load=${i}#/jobs`);
      // Functions, not strings: the page's CSP forbids eval, which string predicates need.
      await page.waitForFunction(() => (globalThis as { __fmp?: number }).__fmp !== undefined, null, { timeout: 120_000 });
      fmp.push(await page.evaluate(() => (globalThis as unknown as { __fmp: number }).__fmp));
      dclMs.push(await page.evaluate(() => (performance.getEntriesByType('navigation' as never)[0] as unknown as { domContentLoadedEventEnd: number }).domContentLoadedEventEnd));
      apiMs.push(await page.evaluate(() => {
        const e = performance.getEntriesByType('resource').find((r) => r.name.includes('/api/jobs?')) as unknown as { responseEnd: number; requestStart: number } | undefined;
        return e ? e.responseEnd - e.requestStart : NaN;
      }));
    }
    const rows = await page.locator('tr[data-job]').count();

    // Live updates: change the first page's jobs every second while the page polls.
    const cdp = await ctx.newCDPSession(page);
    const heap = async () => {
      await cdp.send('HeapProfiler.collectGarbage');
      return (await cdp.send('Runtime.getHeapUsage')).usedSize as number;
    };
    let polls = 0;
    page.on('response', (r) => {
      if (r.url().includes('/api/jobs?')) polls++;
    });
    const newest = (await plane.deps.store.listJobs({ limit: 10 })).jobs.map((j) => j.jobId);
    let tick = 0;
    let changes = 0;
    let inflight: Promise<void> = Promise.resolve();
    const mutator = setInterval(() => (inflight = mutate()), 1000);
    const mutate = async () => {
      tick++;
      for (const id of newest) {
        const j = await plane.deps.store.getJob(id);
        if (!j) continue;
        try {
          await plane.deps.store.putJob({ ...j, tasks: j.tasks.map((t) => ({ ...t, costUsd: t.costUsd + 0.001, recoveryCount: tick % 5 })) }, j.version);
          changes++;
        } catch {
          // a lost race is fine: the next tick writes again
        }
      }
    };
    const samples: { min: number; heap: number }[] = [];
    const t0 = Date.now();
    const end = t0 + MINUTES * 60_000;
    const every = Math.min(30_000, (MINUTES * 60_000) / 10);
    samples.push({ min: 0, heap: await heap() });
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, Math.min(every, end - Date.now())));
      samples.push({ min: (Date.now() - t0) / 60_000, heap: await heap() });
    }
    clearInterval(mutator);
    await inflight; // no write may outlive the store
    const shown = await page.locator(`tr[data-job="${newest[0]}"] td.num`).nth(2).textContent();

    const mb = (b: number) => (b / 1024 / 1024).toFixed(2);
    const firstHalf = samples.slice(1, Math.ceil(samples.length / 2)).map((s) => s.heap);
    const secondHalf = samples.slice(Math.ceil(samples.length / 2)).map((s) => s.heap);
    const [l1, l5, l15] = loadavg();
    console.log(`bench:dashboard — ${JOBS.toLocaleString()} stored jobs (embedded control plane, dynalite), headless Chromium ${browser.version()}`);
    console.log(`machine: ${cpus().length} cores, load average ${l1!.toFixed(1)} ${l5!.toFixed(1)} ${l15!.toFixed(1)} (shared, loaded)`);
    console.log(`first meaningful paint (navigation start → first job row in the DOM), ${LOADS} fresh loads: median ${median(fmp).toFixed(0)} ms, max ${Math.max(...fmp).toFixed(0)} ms (goal < 1000 ms); ${rows} rows on the page`);
    console.log(`  of which: page and its modules loaded and run (DOMContentLoaded) median ${median(dclMs).toFixed(0)} ms; then GET /api/jobs and the first render`);
    console.log(`  GET /api/jobs (page → proxy → API → store, first page of 50): median ${median(apiMs).toFixed(0)} ms`);
    console.log(`live updates for ${MINUTES} min: ${polls} polls of /api/jobs answered, ${changes} job writes by the bench; last cost shown for job ${newest[0]}: ${shown}`);
    console.log(`JS heap after forced GC: start ${mb(samples[0]!.heap)} MB, end ${mb(samples[samples.length - 1]!.heap)} MB, max ${mb(Math.max(...samples.map((s) => s.heap)))} MB`);
    if (firstHalf.length && secondHalf.length) console.log(`  median of first half ${mb(median(firstHalf))} MB vs second half ${mb(median(secondHalf))} MB (growth ${mb(median(secondHalf) - median(firstHalf))} MB)`);
    console.log(`  samples (min: MB): ${samples.map((s) => `${s.min.toFixed(1)}: ${mb(s.heap)}`).join(', ')}`);
  } finally {
    await browser.close();
    await dash?.stop();
    await plane.stop();
    if (!args.home) rmSync(home, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
