// Issue 3: a real job runs end to end on the embedded default: real CLI subprocess, real control
// plane process, real agent processes.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startE2E, yamlFile, submittedId, REPO, type E2E } from './harness.ts';

describe('local default: launch, logs, queue, cancel', () => {
  let e: E2E;
  let dir: string;
  beforeAll(() => {
    e = startE2E();
    dir = mkdtempSync(join(tmpdir(), 'skyless-yaml-'));
  });
  afterAll(async () => {
    await e.stop();
  });

  it('runs examples/hello.yaml and prints its output and the final status', async () => {
    const r = await e.run(['jobs', 'launch', '-y', 'examples/hello.yaml']);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.stdout).toContain('Hello from skyless managed job 1');
    expect(r.stdout).toContain('Managed job finished: 1 (status: SUCCEEDED).');
    expect(r.stdout).toContain('skyless jobs logs --controller 1');
    expect(r.code).toBe(0);
  });

  it('run: exit 1 ends FAILED with exit code 100; setup: exit 1 ends FAILED_SETUP', async () => {
    const failRun = yamlFile(dir, 'fail-run.yaml', 'name: failrun\nrun: |\n  echo about to fail\n  exit 1\n');
    const r = await e.run(['jobs', 'launch', '-y', failRun]);
    expect(r.stdout).toContain('about to fail');
    expect(r.stdout).toMatch(/Managed job finished: \d+ \(status: FAILED\)\./);
    expect(r.code).toBe(100);

    const failSetup = yamlFile(dir, 'fail-setup.yaml', 'name: failsetup\nsetup: exit 1\nrun: echo never-runs\n');
    const s = await e.run(['jobs', 'launch', '-y', failSetup]);
    expect(s.stdout).toMatch(/status: FAILED_SETUP/);
    expect(s.stdout).not.toContain('never-runs');
    expect(s.code).toBe(100);
  });

  it('gives the task the SkyPilot environment, applies --env, and never shows a secret', async () => {
    const secret = 'sk-very-secret-value-42';
    const y = yamlFile(
      dir,
      'envs.yaml',
      [
        'name: envcheck',
        'envs:',
        '  MODEL: small',
        '  OVERRIDDEN: from-yaml',
        'secrets:',
        '  API_KEY: null',
        'run: |',
        '  echo "TASK_ID=$SKYPILOT_TASK_ID"',
        '  echo "TASK_IDS=$SKYPILOT_TASK_IDS"',
        '  echo "JOB_ID=$SKYPILOT_MANAGED_JOB_ID"',
        '  echo "RANK=$SKYPILOT_NODE_RANK NUM_NODES=$SKYPILOT_NUM_NODES JOB_RANK=$SKYPILOT_JOB_RANK NUM_JOBS=$SKYPILOT_NUM_JOBS GPUS=$SKYPILOT_NUM_GPUS_PER_NODE"',
        '  echo "IPS=$SKYPILOT_NODE_IPS"',
        '  echo "MODEL=$MODEL OVERRIDDEN=$OVERRIDDEN"',
        '  echo "secret sha256: $(printf %s "$API_KEY" | sha256sum | cut -c1-16)"',
      ].join('\n'),
    );
    const r = await e.run(['jobs', 'launch', '-y', '--env', 'OVERRIDDEN=from-flag', '--secret', `API_KEY=${secret}`, y]);
    expect(r.code).toBe(0);
    const id = submittedId(r.stdout);
    expect(r.stdout).toMatch(new RegExp(`TASK_ID=sky-managed-\\d{4}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-\\d{6}_envcheck_${id}-0`));
    expect(r.stdout).toContain(`JOB_ID=${id}`);
    expect(r.stdout).toContain('RANK=0 NUM_NODES=1 JOB_RANK=0 NUM_JOBS=1 GPUS=0');
    expect(r.stdout).toMatch(/IPS=127\.0\.0\.1/);
    expect(r.stdout).toContain('MODEL=small OVERRIDDEN=from-flag');
    const { createHash } = await import('node:crypto');
    expect(r.stdout).toContain(`secret sha256: ${createHash('sha256').update(secret).digest('hex').slice(0, 16)}`);
    // The secret appears nowhere we print or serve.
    const queue = await e.run(['jobs', 'queue', '-o', 'json']);
    const controller = await e.run(['jobs', 'logs', '--controller', String(id)]);
    const record = JSON.stringify(await e.api('GET', `/jobs/${id}`));
    const events = JSON.stringify(await e.api('GET', `/jobs/${id}/events`));
    for (const text of [queue.stdout, controller.stdout, record, events, r.stdout]) expect(text).not.toContain(secret);
    expect(record).toContain('<redacted>');
  });

  it('uploads the workdir and runs in it', async () => {
    const y = yamlFile(dir, 'workdir.yaml', `name: wd\nworkdir: ${join(REPO, 'test/e2e/fixtures/workdir')}\nrun: cat data.txt\n`);
    const r = await e.run(['jobs', 'launch', '-y', y]);
    expect(r.stdout).toContain('payload-from-workdir');
    expect(r.code).toBe(0);
  });

  it('shows logs of an ended job: all, --tail, --no-follow, --controller', async () => {
    const y = yamlFile(dir, 'lines.yaml', 'name: lines\nrun: for i in $(seq 1 12); do echo line-$i; done\n');
    const r = await e.run(['jobs', 'launch', '-y', '-d', y]);
    const id = submittedId(r.stdout);
    await e.waitForJob(id, (j) => j.finished && j.finalizedAt !== undefined);
    const all = await e.run(['jobs', 'logs', String(id)]);
    expect(all.stdout).toContain('line-1\n');
    expect(all.stdout).toContain('line-12\n');
    expect(all.code).toBe(0);
    const tail = await e.run(['jobs', 'logs', '--tail', '5', String(id)]);
    expect(tail.stdout).not.toContain('line-7\n');
    expect(tail.stdout).toContain('line-8\nline-9\nline-10\nline-11\nline-12\n');
    const noFollow = await e.run(['jobs', 'logs', '--no-follow', String(id)]);
    expect(noFollow.stdout).toContain('line-12');
    expect(noFollow.code).toBe(0);
    const ctl = await e.run(['jobs', 'logs', '--controller', String(id)]);
    expect(ctl.stdout).toMatch(/PENDING → STARTING/);
    expect(ctl.stdout).toMatch(/STARTING → RUNNING/);
    expect(ctl.stdout).toMatch(/RUNNING → SUCCEEDED/);
    expect(ctl.stdout).toMatch(/Attempts:[\s\S]*local\/local-1/);
    const missing = await e.run(['jobs', 'logs', '--no-follow', '99999']);
    expect(missing.code).toBe(102);
  });

  it('cancels a RUNNING job within 5 s and leaves no process behind', async () => {
    const marker = join(dir, 'long.pid');
    const y = yamlFile(dir, 'long.yaml', `name: long\nrun: |\n  echo $$ > ${marker}\n  sleep 300\n`);
    const r = await e.run(['jobs', 'launch', '-y', '-d', y]);
    const id = submittedId(r.stdout);
    await e.waitForJob(id, (j) => j.status === 'RUNNING');
    const deadline = Date.now() + 10_000;
    while (!existsSync(marker) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    const userPid = Number(readFileSync(marker, 'utf8'));
    const t0 = Date.now();
    const c = await e.run(['jobs', 'cancel', '-y', String(id)]);
    expect(c.code).toBe(0);
    const job = await e.waitForJob(id, (j) => j.status === 'CANCELLED', 5_000);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(job.tasks[0].status).toBe('CANCELLED');
    expect(() => process.kill(userPid, 0)).toThrow();
    expect(e.liveInstanceProcesses()).toEqual([]);
  });

  it('queue lists jobs newest first in the SPEC formats, and as JSON', async () => {
    const q = await e.run(['jobs', 'queue']);
    expect(q.code).toBe(0);
    const lines = q.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^(No in-progress managed jobs\.|In progress tasks: .+)$/);
    expect(lines[1]).toMatch(/^ID\s+TASK\s+NAME\s+REQUESTED\s+SUBMITTED\s+TOT\. DURATION\s+JOB DURATION\s+#RECOVERIES\s+STATUS\s+POOL\s+COST\s+DETAILS$/);
    const ids = lines.slice(2).map((l) => Number(l.split(/\s+/)[0]));
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(q.stdout).toMatch(/\b1\s+-\s+hello\s+1x\[CPU:1\+\]\s+(a few secs ago|\d+ secs? ago|1 min ago)\s/);
    expect(q.stdout).toMatch(/long .* CANCELLED/);
    const js = await e.run(['jobs', 'queue', '-o', 'json']);
    const parsed = JSON.parse(js.stdout) as { jobId: number; status: string }[];
    expect(parsed.map((j) => j.jobId)).toEqual(ids);
    expect(parsed.find((j) => j.jobId === 1)?.status).toBe('SUCCEEDED');
  });

  it('rejects a malformed YAML and an unknown key with exit 2 and stores nothing', async () => {
    const before = (await e.api<{ jobs: unknown[] }>('GET', '/jobs?limit=1000')).jobs.length;
    const bad = yamlFile(dir, 'bad.yaml', 'name: bad\nrun: [unclosed\n');
    const r1 = await e.run(['jobs', 'launch', '-y', bad]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toContain('bad.yaml');
    const unknown = yamlFile(dir, 'unknown.yaml', 'name: unk\nrun: echo hi\nresorces:\n  cpus: 2\n');
    const r2 = await e.run(['jobs', 'launch', '-y', unknown]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/resorces/);
    expect(r2.stderr).toMatch(/did you mean resources/);
    const after = (await e.api<{ jobs: unknown[] }>('GET', '/jobs?limit=1000')).jobs.length;
    expect(after).toBe(before);
  });
});

describe('local default: admission and restart', () => {
  let e: E2E;
  let dir: string;
  beforeAll(() => {
    e = startE2E({ SKYLESS_MAX_RUNNING: '1', SKYLESS_MAX_LAUNCHING: '1' });
    dir = mkdtempSync(join(tmpdir(), 'skyless-yaml-'));
  });
  afterAll(async () => {
    await e.stop();
  });

  it('cancels a PENDING job at once', async () => {
    const y = yamlFile(dir, 'hold.yaml', 'name: hold\nrun: sleep 300\n');
    const a = submittedId((await e.run(['jobs', 'launch', '-y', '-d', y])).stdout);
    await e.waitForJob(a, (j) => j.status === 'RUNNING');
    const b = submittedId((await e.run(['jobs', 'launch', '-y', '-d', y])).stdout);
    const pending = (await e.api<{ job: { status: string } }>('GET', `/jobs/${b}`)).job;
    expect(pending.status).toBe('PENDING');
    const c = await e.run(['jobs', 'cancel', '-y', String(b)]);
    expect(c.code).toBe(0);
    // "At once": the cancel request itself records CANCELLED, no polling needed.
    expect((await e.api<{ job: { status: string } }>('GET', `/jobs/${b}`)).job.status).toBe('CANCELLED');
    await e.run(['jobs', 'cancel', '-y', String(a)]);
    await e.waitForJob(a, (j) => j.status === 'CANCELLED', 10_000);
  });

  it('survives a kill of the control plane mid-run: the job still SUCCEEDS and run executed once', async () => {
    const counter = join(dir, 'runs.txt');
    const y = yamlFile(dir, 'restart.yaml', `name: restart\nrun: |\n  echo run >> ${counter}\n  sleep 4\n  echo done-after-restart\n`);
    const id = submittedId((await e.run(['jobs', 'launch', '-y', '-d', y])).stdout);
    await e.waitForJob(id, (j) => j.status === 'RUNNING');
    const { readFileSync: rf } = await import('node:fs');
    const info = JSON.parse(rf(join(e.home, 'local', 'server.json'), 'utf8')) as { pid: number };
    process.kill(info.pid, 'SIGKILL'); // a crash, not a clean stop
    await new Promise((r) => setTimeout(r, 500));
    const up = await e.run(['local', 'up']);
    expect(up.code).toBe(0);
    const job = await e.waitForJob(id, (j) => j.finished, 30_000);
    const timeline = (await e.run(['jobs', 'logs', '--controller', String(id)])).stdout;
    expect(job.status, timeline).toBe('SUCCEEDED');
    expect(readFileSync(counter, 'utf8'), timeline).toBe('run\n');
    const logs = await e.run(['jobs', 'logs', '--no-follow', String(id)]);
    expect(logs.stdout).toContain('done-after-restart');
  });
});
