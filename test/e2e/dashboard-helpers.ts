// Runs `skyless dashboard --no-open` as a subprocess of an e2e harness (same SKYLESS_HOME, so it
// reaches that harness's control plane through the CLI's own client) and drives it with headless
// Chromium (Debian's /usr/bin/chromium through playwright-core; no browser download).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO, type E2E } from './harness.ts';

export const ARTIFACTS = join(REPO, 'test-artifacts', 'dashboard');
export const CHROMIUM = process.env.SKYLESS_CHROMIUM ?? '/usr/bin/chromium';

export interface RunningDashboard {
  /** The URL it printed (with the launch key). */
  url: string;
  origin: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startDashboardCli(e: E2E, extraArgs: string[] = [], timeoutMs = 60_000): Promise<RunningDashboard> {
  const child = spawn(process.execPath, [join(REPO, 'bin', 'skyless.js'), 'dashboard', '--no-open', ...extraArgs], { cwd: REPO, env: e.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`skyless dashboard printed no URL within ${timeoutMs} ms; stdout: ${out} stderr: ${err}`)), timeoutMs);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\?key=[\w-]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`skyless dashboard exited ${code}: ${out} ${err}`));
    });
  });
  const origin = new URL(url).origin;
  return {
    url,
    origin,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox'] });
}

/** A page with the dashboard's session (the printed URL sets the cookie) and errors collected. */
export async function openDashboard(browser: Browser, dash: RunningDashboard): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(dash.url);
  return { page, errors };
}

export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Polls `fn` in the page until it returns true (the deadline is generous: CI is slow and loaded). */
export async function until(page: Page, fn: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  try {
    await page.waitForFunction(fn, null, { timeout: timeoutMs, polling: 200 });
  } catch (err) {
    await shot(page, `failed-${what.replace(/\W+/g, '-')}`).catch(() => {});
    throw new Error(`${what}: not seen within ${timeoutMs} ms (${(err as Error).message.split('\n')[0]})`);
  }
}
