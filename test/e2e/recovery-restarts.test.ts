// Issue 4: restarts on user-code failures (docs/behaviour.md §3): recover_on_exit_codes recovers for free,
// max_restarts_on_errors counts (N allows N + 1 attempts), for `run` and for `setup`.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startE2E, launchDetached, type E2E } from './harness.ts';
import { jobAndAttempts, regionsUsed, controllerEvents, transitions, finished, logChunks, taskIdsByAttempt, attemptOutput } from './recovery-helpers.ts';

describe('restarts on errors and exit codes', () => {
  let e: E2E;
  let dir: string;
  beforeAll(() => {
    e = startE2E();
    dir = mkdtempSync(join(tmpdir(), 'skyless-restarts-'));
  });
  afterAll(async () => {
    await e.stop();
  });

  const launch = (name: string, text: string) => launchDetached(e, dir, name, text);

  it('recover_on_exit_codes: [29] with max_restarts_on_errors: 0 recovers on exit 29, for free', async () => {
    // The marker lives outside the workdir (every attempt gets a fresh machine): first run exits 29, the next 0.
    const marker = join(dir, 'exit29.marker');
    const id = await launch(
      'exit29',
      [
        'name: exit29',
        'resources:',
        '  job_recovery:',
        '    max_restarts_on_errors: 0',
        '    recover_on_exit_codes: [29]',
        'run: |',
        '  echo "TASK_ID=$SKYPILOT_TASK_ID"',
        `  if [ ! -e ${marker} ]; then echo first >> ${marker}; echo "exiting 29"; exit 29; fi`,
        `  echo again >> ${marker}`,
        '  echo "second run fine"',
      ].join('\n') + '\n',
    );
    const job = await e.waitForJob(id, finished);
    const events = await controllerEvents(e, id);
    expect(job.status, JSON.stringify(events)).toBe('SUCCEEDED');
    expect(job.tasks[0].recoveryCount).toBe(1);
    expect(job.tasks[0].restartCount).toBe(0);
    expect(readFileSync(marker, 'utf8')).toBe('first\nagain\n');
    // A user-code recovery relaunches like a preemption (the region was not lost: stays cheapest).
    expect(await regionsUsed(e, id)).toEqual(['local-1', 'local-1']);
    expect(transitions(events)).toEqual(['PENDING → STARTING', 'STARTING → RUNNING', 'RUNNING → RECOVERING', 'RECOVERING → RUNNING', 'RUNNING → SUCCEEDED']);
    expect(events.find((ev) => ev.to === 'RECOVERING')?.reason).toMatch(/run failed: node 0 exited 29; exit code 29 is in recover_on_exit_codes, recovering without counting a restart/);
    const chunks = await logChunks(e, id);
    expect(attemptOutput(chunks, 1)).toContain('exiting 29');
    expect(attemptOutput(chunks, 2)).toContain('second run fine');
    const ids = taskIdsByAttempt(chunks);
    expect([...ids.keys()].sort()).toEqual([1, 2]);
    expect(new Set([...ids.values()].flat())).toEqual(new Set([job.tasks[0].taskId]));
    const { attempts } = await jobAndAttempts(e, id);
    expect(attempts.map((a) => a.outcome?.kind)).toEqual(['RUN_FAILED', 'SUCCEEDED']);
  });

  it('max_restarts_on_errors: 1 with `exit 1` → exactly 2 attempts, then FAILED', async () => {
    const id = await launch('restart1', 'name: restart1\nresources:\n  job_recovery:\n    max_restarts_on_errors: 1\nrun: |\n  echo "attempt output"\n  exit 1\n');
    const job = await e.waitForJob(id, finished);
    expect(job.status).toBe('FAILED');
    expect(job.tasks[0].restartCount).toBe(1);
    expect(job.tasks[0].recoveryCount).toBe(1);
    expect(job.tasks[0].failureReason).toMatch(/run failed: node 0 exited 1; all 1 restarts used \(max_restarts_on_errors\)/);
    const { attempts } = await jobAndAttempts(e, id);
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2]);
    expect(await regionsUsed(e, id)).toEqual(['local-1', 'local-1']);
    expect(attempts.map((a) => a.outcome)).toEqual([
      { kind: 'RUN_FAILED', exitCodes: [1] },
      { kind: 'RUN_FAILED', exitCodes: [1] },
    ]);
    const events = await controllerEvents(e, id);
    expect(events.find((ev) => ev.to === 'RECOVERING')?.reason).toMatch(/restart 1 of 1/);
    expect(transitions(events).at(-1)).toBe('RUNNING → FAILED');
    const logs = await e.run(['jobs', 'logs', '--no-follow', String(id)]);
    expect(logs.code).toBe(100);
    expect(logs.stdout.match(/attempt output/g)).toHaveLength(2);
  });

  it('a failing setup is restarted likewise, then FAILED_SETUP', async () => {
    const id = await launch('setupfail', 'name: setupfail\nresources:\n  job_recovery:\n    max_restarts_on_errors: 1\nsetup: |\n  echo "setup try"\n  exit 3\nrun: echo never-runs\n');
    const job = await e.waitForJob(id, finished);
    expect(job.status).toBe('FAILED_SETUP');
    expect(job.tasks[0].restartCount).toBe(1);
    expect(job.tasks[0].recoveryCount).toBe(1);
    expect(job.tasks[0].failureReason).toMatch(/setup failed: node 0 exited 3; all 1 restarts used/);
    const { attempts } = await jobAndAttempts(e, id);
    expect(attempts.map((a) => a.outcome)).toEqual([
      { kind: 'SETUP_FAILED', exitCodes: [3] },
      { kind: 'SETUP_FAILED', exitCodes: [3] },
    ]);
    expect(await regionsUsed(e, id)).toEqual(['local-1', 'local-1']);
    const logs = await e.run(['jobs', 'logs', '--no-follow', String(id)]);
    expect(logs.stdout).not.toContain('never-runs');
    expect(logs.stdout.match(/setup try/g)).toHaveLength(2);
    const ctl = await e.run(['jobs', 'logs', '--controller', String(id)]);
    expect(ctl.stdout).toMatch(/SETUP_FAILED \(exit 3\)/);
  });

  it('max_restarts_on_errors: 0 (the default) fails at the first non-zero exit', async () => {
    const id = await launch('norestart', 'name: norestart\nrun: exit 7\n');
    const job = await e.waitForJob(id, finished);
    expect(job.status).toBe('FAILED');
    expect(job.tasks[0].recoveryCount).toBe(0);
    expect((await jobAndAttempts(e, id)).attempts).toHaveLength(1);
    expect(job.tasks[0].failureReason).toMatch(/no restarts allowed \(max_restarts_on_errors: 0\)/);
  });
});
