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
    e = startE2E({ SKYLESS_POOL_IDLE_SECONDS: '2', SKYLESS_WORKER_POLL_MS: '200', SKYLESS_MAX_NUM_JOBS: '50' });
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
    const victimRank = Number(victim.jobRank);
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
  it('apply: only workers changed keeps the workers; setup changed replaces them; cancel -p cancels only that pool; down leaves nothing', async () => {
    const ready = async (n: number) =>
      until(`${n} workers READY`, async () => {
        const p = (await pools('gpu-pool'))[0];
        return p.workers.length === n && p.workers.every((w) => w.state === 'READY') ? p : undefined;
      });
    const v1 = await ready(2);
    const idsV1 = v1.workers.map((w) => w.id).sort();

    const grow = await e.run(['jobs', 'pool', 'apply', '-y', '-p', 'gpu-pool', yamlFile(dir, 'pool3.yaml', poolYaml('workers: 3', 'setup-v1'))]);
    expect(grow.code).toBe(0);
    expect(grow.stdout).toContain('in place');
    const v1b = await ready(3);
    expect(v1b.workers.map((w) => w.id).filter((id) => idsV1.includes(id)).sort()).toEqual(idsV1);

    const setupLines = lines(join(dir, 'setup.log')).length;
    const swap = await e.run(['jobs', 'pool', 'apply', '-y', '-p', 'gpu-pool', yamlFile(dir, 'pool-v2.yaml', poolYaml('workers: 2', 'setup-v2'))]);
    expect(swap.code).toBe(0);
    expect(swap.stdout).toContain('new workers replace the old ones');
    const v2 = await ready(2);
    expect(v2.workers.some((w) => idsV1.includes(w.id) || v1b.workers.some((o) => o.id === w.id))).toBe(false);
    expect(lines(join(dir, 'setup.log')).slice(setupLines).filter((x) => x.startsWith('setup-v2'))).toHaveLength(2);

    // cancel -p: only the pool's jobs.
    const other = await e.run(['jobs', 'launch', '-y', '-d', yamlFile(dir, 'other.yaml', `name: other\nresources:\n  infra: local\nrun: while [ ! -f ${dir}/release-other ]; do sleep 0.2; done\n`)]);
    expect(other.code).toBe(0);
    const otherId = Number(/ID (\d+)/.exec(other.stdout)![1]);
    const blocked = await e.run(['jobs', 'launch', '-y', '-p', 'gpu-pool', '--num-jobs', '3', yamlFile(dir, 'block.yaml', `name: block\nresources:\n  infra: local\n  cpus: 2\nrun: while [ ! -f ${dir}/never ]; do sleep 0.2; done\n`)]);
    const blockIds = jobIdsOf(blocked.stdout);
    await until('two pool jobs running', async () => (await Promise.all(blockIds.map(job))).filter((j) => j.status === 'RUNNING').length === 2);
    await e.waitForJob(otherId, (j) => j.status === 'RUNNING', 60_000);
    const c = await e.run(['jobs', 'cancel', '-y', '-p', 'gpu-pool']);
    expect(c.code).toBe(0);
    for (const id of blockIds) await e.waitForJob(id, (j) => j.status === 'CANCELLED' && j.finished, 60_000);
    expect((await job(otherId)).status).toBe('RUNNING');
    writeFileSync(join(dir, 'release-other'), '');
    await e.waitForJob(otherId, (j) => j.status === 'SUCCEEDED', 60_000);

    // down: returns at once; the pool and every process go.
    const d = await e.run(['jobs', 'pool', 'down', '-y', 'gpu-pool']);
    expect(d.code).toBe(0);
    expect(d.stdout).toContain("Pool 'gpu-pool' is scheduled to be terminated.");
    await until('pool gone', async () => (await pools()).length === 0);
    await until('no process left', async () => e.liveInstanceProcesses().length === 0);
    const after = await e.run(['jobs', 'pool', 'status']);
    expect(after.stdout).toContain('No existing pools.');
  }, 400_000);

  it('--num-jobs 5 without a pool: five ordinary managed jobs, ranks 0-4', async () => {
    const y = yamlFile(dir, 'array.yaml', `name: arr\nresources:\n  infra: local\nrun: echo "rank=$SKYPILOT_JOB_RANK of $SKYPILOT_NUM_JOBS" >> ${dir}/array.log\n`);
    const r = await e.run(['jobs', 'launch', '-y', '--num-jobs', '5', y]);
    expect(r.code).toBe(0);
    const ids = jobIdsOf(r.stdout);
    expect(ids).toHaveLength(5);
    for (const id of ids) await e.waitForJob(id, (j) => j.finished, 120_000);
    expect((await Promise.all(ids.map(job))).map((j) => j.status)).toEqual(Array(5).fill('SUCCEEDED'));
    expect(lines(join(dir, 'array.log')).sort()).toEqual([0, 1, 2, 3, 4].map((r) => `rank=${r} of 5`));
  }, 200_000);

  it('autoscaling min 0 / max 3: scales up under a queue and back to 0 when idle', async () => {
    const a = await e.run(['jobs', 'pool', 'apply', '-y', '-p', 'auto', yamlFile(dir, 'auto.yaml', ['pool:', '  min_workers: 0', '  max_workers: 3', 'resources:', '  infra: local', '  cpus: 2', ''].join('\n'))]);
    expect(a.code).toBe(0);
    expect(a.stdout).toContain('Autoscaling (0-3 workers)');
    expect((await pools('auto'))[0].workers).toHaveLength(0);
    const r = await e.run(['jobs', 'launch', '-y', '-p', 'auto', '--num-jobs', '5', yamlFile(dir, 'auto-job.yaml', `name: aj\nresources:\n  infra: local\n  cpus: 2\nrun: while [ ! -f ${dir}/release-auto ]; do sleep 0.2; done\n`)]);
    const ids = jobIdsOf(r.stdout);
    let most = 0;
    await until('three workers busy', async () => {
      const p = (await pools('auto'))[0];
      most = Math.max(most, p.workers.length);
      return p.workers.filter((w) => w.jobIds.length > 0).length === 3;
    });
    writeFileSync(join(dir, 'release-auto'), '');
    for (const id of ids) await e.waitForJob(id, (j) => j.status === 'SUCCEEDED', 120_000);
    await until('back to 0 workers', async () => {
      const p = (await pools('auto'))[0];
      most = Math.max(most, p.workers.length);
      return p.workers.length === 0;
    });
    expect(most).toBe(3);
    await e.run(['jobs', 'pool', 'down', '-y', 'auto']);
    await until('pool gone', async () => (await pools()).length === 0);
  }, 300_000);

  it('bad input: a clear error, exit 2, nothing stored', async () => {
    const count = async () => (await e.api<{ jobs: unknown[] }>('GET', '/jobs?limit=1000&allUsers=true')).jobs.length;
    const before = await count();
    const zero = await e.run(['jobs', 'pool', 'apply', '-y', '-p', 'bad', yamlFile(dir, 'zero.yaml', 'pool:\n  workers: 0\nresources:\n  infra: local\n')]);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toMatch(/pool\.workers/);
    const inverted = await e.run(['jobs', 'pool', 'apply', '-y', '-p', 'bad', yamlFile(dir, 'inv.yaml', 'pool:\n  min_workers: 3\n  max_workers: 1\nresources:\n  infra: local\n')]);
    expect(inverted.code).toBe(2);
    expect(inverted.stderr).toContain('pool.max_workers: must be at least min_workers (3)');
    expect((await pools()).some((p) => p.name === 'bad')).toBe(false);

    await e.run(['jobs', 'pool', 'apply', '-y', '-p', 'small', yamlFile(dir, 'small.yaml', poolYaml('workers: 1', 'small'))]);
    const task = (extra: string) => yamlFile(dir, `t-${extra.length}.yaml`, `name: t\nresources:\n  infra: local\n${extra}run: echo hi\n`);
    const missing = await e.run(['jobs', 'launch', '-y', '-p', 'nope', task('  cpus: 2\n')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("pool 'nope' does not exist");
    const nodes = await e.run(['jobs', 'launch', '-y', '-p', 'small', task('  cpus: 2\nnum_nodes: 2\n')]);
    expect(nodes.code).toBe(2);
    expect(nodes.stderr).toContain("num_nodes 2 but pool 'small' workers have 1 node");
    const big = await e.run(['jobs', 'launch', '-y', '-p', 'small', task('  cpus: 8\n')]);
    expect(big.code).toBe(2);
    expect(big.stderr).toMatch(/do not fit pool 'small' workers' resources/);
    const none = await e.run(['jobs', 'launch', '-y', '--num-jobs', '0', task('')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--num-jobs: must be a whole number of at least 1');
    const capped = await e.run(['jobs', 'launch', '-y', '--num-jobs', '51', task('')]);
    expect(capped.code).toBe(2);
    expect(capped.stderr).toContain("--num-jobs 51 is above this deployment's cap of 50");
    expect(await count()).toBe(before);
    await e.run(['jobs', 'pool', 'down', '-y', 'small']);
    await until('pool gone', async () => (await pools()).length === 0);
  }, 200_000);
});
