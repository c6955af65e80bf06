// Issue 14: the dashboard in real headless Chromium against a real embedded control plane running
// real jobs. `skyless dashboard` runs as a subprocess with the harness's SKYLESS_HOME; the page talks
// only to it. Every step waits for what it asserts (a row, a badge, a log line) with a generous
// deadline; screenshots go to test-artifacts/dashboard/.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Browser, Page } from 'playwright-core';
import { startE2E, launchDetached, type E2E } from './harness.ts';
import { waitForOutput } from './recovery-helpers.ts';
import { startDashboardCli, launchBrowser, openDashboard, shot, until, type RunningDashboard } from './dashboard-helpers.ts';

// Page-side callbacks run in the browser; Node's type set has no DOM, so they are typed loosely here.
declare const document: { querySelector(s: string): { textContent: string | null; getAttribute(n: string): string | null } | null; querySelectorAll(s: string): { length: number } };
declare const window: Record<string, unknown> & { scrollTo(x: number, y: number): void };

/** A task that waits for `gate` to exist, printing a line now and then so it has output. */
const GATED = (name: string, gate: string) => `name: ${name}\nrun: |\n  echo "${name} started"\n  while [ ! -f ${gate} ]; do sleep 0.2; done\n  echo "${name} done"\n`;

describe('skyless dashboard in headless Chromium', () => {
  let e: E2E;
  let dir: string;
  let dash: RunningDashboard;
  let browser: Browser;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    e = startE2E();
    dir = mkdtempSync(join(tmpdir(), 'skyless-dashboard-'));
    // The control plane is started by the first launch, then the dashboard connects to it.
    await e.run(['local', 'status']);
    dash = await startDashboardCli(e);
    browser = await launchBrowser();
    ({ page, errors } = await openDashboard(browser, dash));
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await dash?.stop();
    await e?.stop();
  }, 120_000);

  const rowStatus = (id: number) => page.locator(`tr[data-job="${id}"] .badge`).getAttribute('data-status');

  it('lists a running job and shows it SUCCEEDED without a reload; a filter narrows the list', async () => {
    const gate = join(dir, 'go-1');
    const id = await launchDetached(e, dir, 'alpha', GATED('alpha', gate));
    const other = await launchDetached(e, dir, 'beta', GATED('beta', join(dir, 'go-beta')));
    await page.goto(`${dash.origin}/#/jobs`);
    await until(page, () => document.querySelector('tr[data-job] .badge[data-status="RUNNING"]') !== null, 'a RUNNING job row');
    await e.waitForJob(id, (j) => j.status === 'RUNNING', 60_000);
    await page.waitForSelector(`tr[data-job="${id}"] .badge[data-status="RUNNING"]`, { timeout: 60_000 });
    expect(await page.locator(`tr[data-job="${id}"] td.name`).textContent()).toContain('alpha');
    await shot(page, 'jobs-running');
    // A mark on the window survives only if the page is never reloaded.
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    writeFileSync(gate, '');
    await page.waitForSelector(`tr[data-job="${id}"] .badge[data-status="SUCCEEDED"]`, { timeout: 90_000 });
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(await rowStatus(other)).toBe('RUNNING');

    // Filter by name: only beta's row remains (the filter goes to the API, not only to the table).
    await page.fill('input[name=name]', 'beta');
    await page.press('input[name=name]', 'Enter');
    await until(page, () => document.querySelectorAll('tr[data-job]').length === 1, 'one row after filtering');
    expect(await page.locator('tr[data-job]').getAttribute('data-job')).toBe(String(other));
    expect(page.url()).toContain('name=beta');
    await page.selectOption('select[name=status]', 'SUCCEEDED');
    await page.waitForSelector('[data-testid=no-jobs]', { timeout: 60_000 });
    await shot(page, 'jobs-filtered');
    writeFileSync(join(dir, 'go-beta'), '');
    expect(errors).toEqual([]);
  }, 240_000);

  it('shows two attempt bars after `skyless local preempt`, and follows logs as lines are printed', async () => {
    const step = (n: number) => join(dir, `step-${n}`);
    // Prints a line each time the test opens a gate, so "new lines appear" is caused, not timed.
    const yaml = `name: preempted\nrun: |\n  echo "attempt starts"\n  for i in 1 2 3; do\n    while [ ! -f ${dir}/step-$i ]; do sleep 0.2; done\n    echo "printed line $i"\n  done\n`;
    const id = await launchDetached(e, dir, 'preempted', yaml);
    await e.waitForJob(id, (j) => j.status === 'RUNNING', 60_000);
    await waitForOutput(e, id, 1, 'attempt starts', 60_000);
    const p = await e.run(['local', 'preempt', String(id)]);
    expect(p.code, p.stderr).toBe(0);
    await e.waitForJob(id, (j) => j.status === 'RUNNING' && j.tasks[0].attempt === 2, 90_000);

    await page.goto(`${dash.origin}/#/jobs/${id}`);
    await until(page, () => document.querySelectorAll('[data-testid=attempt-bar]').length === 2, 'two attempt bars');
    expect(await page.locator('[data-testid=attempt-bar][data-attempt="1"]').getAttribute('data-outcome')).toBe('LOST');
    const label = await page.locator('[data-testid=attempt-bar][data-attempt="2"] .row-label').textContent();
    expect(label).toMatch(/#2 · local\/local-\d/);

    // Follow: each line shows up after the gate for it opens, with no reload or click.
    await until(page, () => (document.querySelector('[data-testid=log-text]')?.textContent ?? '').split('attempt starts').length === 3, 'both attempts\' first line');
    expect(await page.locator('[data-testid=log-text]').textContent()).not.toContain('printed line 1');
    for (const n of [1, 2]) {
      writeFileSync(step(n), '');
      await page.waitForFunction((t) => document.querySelector('[data-testid=log-text]')?.textContent?.includes(t), `printed line ${n}`, { timeout: 60_000, polling: 200 });
    }
    expect(await page.locator('[data-testid=log-text]').textContent()).not.toContain('printed line 3');
    writeFileSync(step(3), '');
    await page.waitForSelector('h1 .badge[data-status="SUCCEEDED"]', { timeout: 90_000 });
    await until(page, () => document.querySelector('[data-testid=attempt-bar][data-attempt="2"]')?.getAttribute('data-outcome') === 'SUCCEEDED', 'attempt 2 SUCCEEDED');
    await page.waitForFunction(() => document.querySelector('[data-testid=log-text]')?.textContent?.includes('printed line 3'), null, { timeout: 60_000 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'job-preempted');
    // Download: the whole log of attempt 2 as a file.
    await page.selectOption('select[name=log-attempt]', '2');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('a[download]')]);
    const text = await download.createReadStream().then(async (s) => {
      let out = '';
      for await (const c of s) out += c;
      return out;
    });
    expect(text).toContain('printed line 3');
    expect(text.split('attempt starts').length).toBe(2);
    expect(errors).toEqual([]);
  }, 300_000);

  it('Cancel (after confirming) ends a running job CANCELLED', async () => {
    const id = await launchDetached(e, dir, 'to-cancel', GATED('to-cancel', join(dir, 'never')));
    await e.waitForJob(id, (j) => j.status === 'RUNNING', 60_000);
    await page.goto(`${dash.origin}/#/jobs/${id}`);
    await page.waitForSelector('h1 .badge[data-status="RUNNING"]', { timeout: 60_000 });
    await page.click('button.danger:has-text("Cancel")');
    await page.waitForSelector('[role=dialog]', { timeout: 30_000 });
    await shot(page, 'job-cancel-confirm');
    await page.click('[data-testid=confirm-cancel]');
    await page.waitForSelector('h1 .badge[data-status="CANCELLED"]', { timeout: 90_000 });
    expect((await e.waitForJob(id, (j) => j.finished, 60_000)).status).toBe('CANCELLED');
    expect(errors).toEqual([]);
  }, 240_000);

  it('explains a job that does not exist and an unreachable API', async () => {
    await page.goto(`${dash.origin}/#/jobs/987654`);
    await page.waitForSelector('[data-testid=error]', { timeout: 60_000 });
    expect(await page.locator('[data-testid=error]').textContent()).toContain('Managed job 987654 no longer exists');
    await shot(page, 'job-missing');

    // Pools: this deployment either serves them or says it does not; never a raw error.
    await page.goto(`${dash.origin}/#/pools`);
    await until(page, () => document.querySelector('[data-testid=pools-absent], .card, .empty') !== null, 'the pools page');

    await page.goto(`${dash.origin}/#/jobs`);
    await page.waitForSelector('tr[data-job]', { timeout: 60_000 });
    const down = await e.run(['local', 'down'], { timeoutMs: 60_000 });
    expect(down.code, down.stderr).toBe(0);
    await page.waitForSelector('[data-testid=error]', { timeout: 60_000 });
    expect(await page.locator('[data-testid=error]').textContent()).toContain('The skyless API cannot be reached');
    // The last good page stays visible under the message.
    expect(await page.locator('tr[data-job]').count()).toBeGreaterThan(0);
    await shot(page, 'api-unreachable');
    expect(errors).toEqual([]);
  }, 180_000);
});
