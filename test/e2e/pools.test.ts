// Issue 11: pools and job arrays end to end on the embedded default: the real CLI, the real control
// plane, real agent processes (workers in worker mode running each job as a child agent).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startE2E, yamlFile, type E2E, type JobLike } from './harness.ts';

interface WorkerView { id: number; state: string; jobIds: number[]; generation: number }
interface PoolView { name: string; workers: WorkerView[]; policy: string; terminating: boolean }

const lines = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8').split('\n').filter(Boolean) : []);

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

function jobIdsOf(stdout: string): number[] {
  const m = /Jobs submitted with IDs: ([\d,-]+)\./.exec(stdout);
  if (!m) throw new Error(`no job IDs in output:\n${stdout}`);
  if (m[1].includes('-')) {
    const [a, b] = m[1].split('-').map(Number);
    return Array.from({ length: b - a + 1 }, (_, i) => a + i);
  }
  return m[1].split(',').map(Number);
}

describe('pools on the embedded default', () => {
  let e: E2E;
  let dir: string;
  const pools = async (name?: string) => (await e.api<{ pools: PoolView[] }>('GET', `/pools${name ? `?name=${name}` : ''}`)).pools;
  const job = async (id: number) => (await e.api<{ job: JobLike }>('GET', `/jobs/${id}`)).job;

  beforeAll(() => {
    e = startE2E({ SKYLESS_POOL_IDLE_SECONDS: '2', SKYLESS_WORKER_POLL_MS: '200' });
    dir = mkdtempSync(join(tmpdir(), 'skyless-pools-'));
  });
  afterAll(async () => {
    await e.stop();
  });

  const poolYaml = (workers: string, setupTag: string) =>
    ['pool:', `  ${workers}`, 'resources:', '  infra: local', '  cpus: 2', 'setup: |', `  echo "${setupTag} $SKYLESS_POOL_WORKER" >> ${dir}/setup.log`, '  echo installed-by-setup > installed.txt', ''].join('\n');

  it('2 workers run 6 jobs: each rank once, setup twice, at most 2 at a time; preemption recovers on another worker', async () => {
    const pool = yamlFile(dir, 'pool.yaml', poolYaml('workers: 2', 'setup-v1'));
    const a = await e.run(['jobs', 'pool', 'apply', '-y', '-p', 'gpu-pool', pool]);
    expect(a.stderr).toBe('');
    expect(a.stdout).toContain('Worker policy:  Fixed-size (2 workers)');
    expect(a.stdout).toContain("✓ Successfully created pool 'gpu-pool'.");
    expect(a.code).toBe(0);

    const jobYaml = yamlFile(
      dir,
      'job.yaml',
      [
        'name: batch',
        'resources:',
        '  infra: local',
        '  cpus: 2',
        'setup: echo this-setup-is-ignored',
        'run: |',
        `  echo "start $SKYPILOT_JOB_RANK" >> ${dir}/events.log`,
        `  echo "rank=$SKYPILOT_JOB_RANK num=$SKYPILOT_NUM_JOBS task=$SKYPILOT_TASK_ID" >> ${dir}/ranks.log`,
        '  cat installed.txt',
        `  while [ ! -f ${dir}/release-$SKYPILOT_JOB_RANK ] && [ ! -f ${dir}/release-all ]; do sleep 0.2; done`,
        `  echo "end $SKYPILOT_JOB_RANK" >> ${dir}/events.log`,
        '',
      ].join('\n'),
    );
    const l = await e.run(['jobs', 'launch', '-y', '-p', 'gpu-pool', '--num-jobs', '6', jobYaml]);
    expect(l.code).toBe(0);
    expect(l.stdout).toContain("Submitting to pool 'gpu-pool' with 6 jobs.");
    expect(l.stderr).toContain("are ignored on pool 'gpu-pool'");
    const ids = jobIdsOf(l.stdout);
    expect(ids).toHaveLength(6);

    // Two run; the rest wait PENDING.
    await until('two jobs running', async () => (await Promise.all(ids.map(job))).filter((j) => j.status === 'RUNNING').length === 2);
    const st = await e.run(['jobs', 'pool', 'status', 'gpu-pool']);
    expect(st.code).toBe(0);
    expect(st.stdout).toContain('Pool Workers');
    expect((st.stdout.split('Pool Workers')[1].match(/\bBUSY\b/g) ?? []).length).toBe(2);
    const before = (await pools('gpu-pool'))[0];
    expect(before.workers).toHaveLength(2);
    const queue = await e.run(['jobs', 'queue']);
    expect(queue.stdout).toMatch(/POOL\s+WORKER/);

    // Preempt a busy worker: its job recovers on another worker, with the same task ID and rank.
    const running = (await Promise.all(ids.map(job))).filter((j) => j.status === 'RUNNING');
    const victim = running[0];
    const victimRank = Number((victim as { jobRank: number }).jobRank);
    const taskIdBefore = victim.tasks[0].taskId;
    const p = await e.run(['local', 'preempt', String(victim.jobId)]);
    expect(p.code).toBe(0);
    await e.waitForJob(victim.jobId, (j) => j.tasks[0].recoveryCount === 1, 60_000);

    // Release ranks one by one; at most two ever run at once.
    let maxRunning = 0;
    for (const rank of [0, 1, 2, 3, 4, 5]) {
      const states = await Promise.all(ids.map(job));
      maxRunning = Math.max(maxRunning, states.filter((j) => j.status === 'RUNNING').length);
      writeFileSync(join(dir, `release-${rank}`), '');
    }
    const done = await until('all six finished', async () => {
      const states = await Promise.all(ids.map(job));
      maxRunning = Math.max(maxRunning, states.filter((j) => j.status === 'RUNNING').length);
      return states.every((j) => j.finished) ? states : undefined;
    }, 180_000);
    expect(done.map((j) => j.status)).toEqual(Array(6).fill('SUCCEEDED'));
    expect(maxRunning).toBeLessThanOrEqual(2);

    const recovered = await job(victim.jobId);
    expect(recovered.tasks[0].taskId).toBe(taskIdBefore);
    expect(recovered.tasks[0].recoveryCount).toBe(1);
    const events = (await e.api<{ events: { to?: string }[] }>('GET', `/jobs/${victim.jobId}/events`)).events.map((x) => x.to).filter(Boolean);
    expect(events).toEqual(expect.arrayContaining(['RECOVERING', 'RUNNING', 'SUCCEEDED']));
    expect(events.indexOf('RECOVERING')).toBeLessThan(events.lastIndexOf('RUNNING'));

    // Each rank 0–5 SUCCEEDED exactly once (the preempted rank started twice: its first run was killed).
    const ranks = lines(join(dir, 'ranks.log'));
    for (let r = 0; r < 6; r++) expect(ranks.filter((x) => x.startsWith(`rank=${r} num=6`)).length).toBe(r === victimRank ? 2 : 1);
    expect(lines(join(dir, 'events.log')).filter((x) => x.startsWith('end ')).sort()).toEqual([0, 1, 2, 3, 4, 5].map((r) => `end ${r}`));
    // Setup ran once per worker: twice, plus once on the replacement of the preempted worker.
    expect(lines(join(dir, 'setup.log')).filter((x) => x.startsWith('setup-v1'))).toHaveLength(3);
    // The job saw what setup installed on the worker's disk.
    const logs = await e.run(['jobs', 'logs', '--no-follow', String(ids[0])]);
    expect(logs.stdout).toContain('installed-by-setup');
    expect(logs.stdout).not.toContain('this-setup-is-ignored');
  }, 400_000);
});
