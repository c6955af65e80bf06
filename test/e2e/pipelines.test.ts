// Issue 5: pipelines on the embedded default, with real agent processes. A pipeline runs its tasks
// one after another in one workflow execution, each on fresh instances; a failed task cancels the
// later ones; a cancel cancels all; a recovery inside task i re-runs task i only; the job's files
// live until the whole job ends; queue and logs show the tasks (docs/behaviour.md §2, §6, §7).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startE2E, yamlFile, waitForFile, submittedId, until, REPO, type E2E, type JobLike } from './harness.ts';
import { findMachineProcesses } from '../../adapters/local/process-provider.ts';

const statuses = (j: JobLike) => j.tasks.map((t) => t.status);

describe('pipelines on the local default', () => {
  let e: E2E;
  let dir: string;
  beforeAll(() => {
    // No test here relies on a heartbeat timeout: a generous one keeps a loaded machine's slowness
    // from turning into spurious recoveries.
    e = startE2E();
    dir = mkdtempSync(join(tmpdir(), 'skyless-pipe-'));
  });
  afterAll(async () => {
    await e.stop();
  });

  it('a failed setup in task 1 of 4: SUCCEEDED, FAILED_SETUP, CANCELLED, CANCELLED; job FAILED_SETUP; exit 100', async () => {
    const y = yamlFile(
      dir,
      'fail4.yaml',
      [
        'name: fail4',
        '---',
        'name: prep',
        'run: echo prep-ran',
        '---',
        'name: train',
        'setup: exit 1',
        'run: echo train-ran',
        '---',
        'name: eval',
        'run: echo eval-ran',
        '---',
        'name: report',
        'run: echo report-ran',
      ].join('\n'),
    );
    const r = await e.run(['jobs', 'launch', '-y', y]);
    expect(r.code, r.stdout + r.stderr).toBe(100);
    expect(r.stdout).toContain('prep-ran');
    for (const never of ['train-ran', 'eval-ran', 'report-ran']) expect(r.stdout).not.toContain(never);
    expect(r.stdout).toMatch(/Managed job finished: \d+ \(status: FAILED_SETUP\)\./);
    const id = submittedId(r.stdout);
    const job = await e.waitForJob(id, (j) => j.finalizedAt !== undefined);
    expect(statuses(job)).toEqual(['SUCCEEDED', 'FAILED_SETUP', 'CANCELLED', 'CANCELLED']);
    expect(job.status).toBe('FAILED_SETUP');
    // The later tasks never launched anything.
    const { attempts } = await e.api<{ attempts: { taskIndex: number }[] }>('GET', `/jobs/${id}`);
    expect(attempts.map((a) => a.taskIndex).sort()).toEqual([0, 1]);
    const timeline = (await e.run(['jobs', 'logs', '--controller', String(id)])).stdout;
    expect(timeline).toMatch(/task 2\s+PENDING → CANCELLED\s+earlier task 1 \(train\) ended FAILED_SETUP/);
    expect(timeline).toMatch(/task 3\s+PENDING → CANCELLED/);
    // `logs` of a finished pipeline exits with the job's code.
    expect((await e.run(['jobs', 'logs', '--no-follow', String(id)])).code).toBe(100);
  });

  it('passes a file from task 0 to task 1 through a bucket mount; job files live until the job ends', async () => {
    const wd = join(dir, 'wd');
    mkdirSync(wd, { recursive: true });
    writeFileSync(join(wd, 'salt.txt'), 'salt-from-workdir\n');
    const y = yamlFile(
      dir,
      'handoff.yaml',
      [
        'name: handoff',
        '---',
        'name: produce',
        `workdir: ${wd}`,
        'file_mounts:',
        '  ~/handoff:',
        '    name: handoff-e2e',
        '    mode: MOUNT',
        'run: |',
        '  echo "weights-of-job-$SKYPILOT_MANAGED_JOB_ID $(cat salt.txt)" > ~/handoff/model.txt',
        '  echo produced',
        '---',
        'name: consume',
        // The workdir is uploaded once per job and fetched again by task 1: it must still exist.
        `workdir: ${wd}`,
        'file_mounts:',
        '  ~/handoff:',
        '    name: handoff-e2e',
        '    mode: MOUNT',
        'run: |',
        '  echo "consumed: $(cat ~/handoff/model.txt)"',
        '  echo "salt again: $(cat salt.txt)"',
      ].join('\n'),
    );
    const r = await e.run(['jobs', 'launch', '-y', y]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const id = submittedId(r.stdout);
    expect(r.stdout).toContain(`consumed: weights-of-job-${id} salt-from-workdir`);
    expect(r.stdout).toContain('salt again: salt-from-workdir');
    const job = await e.waitForJob(id, (j) => j.finalizedAt !== undefined);
    expect(statuses(job)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    // The bucket outlives the job (persistent by default), like an S3 bucket would.
    expect(readFileSync(join(e.home, 'local', 'buckets', 'handoff-e2e', 'model.txt'), 'utf8')).toBe(`weights-of-job-${id} salt-from-workdir\n`);
    // The job's uploaded files are gone once the whole job ended.
    const prefix = job.filesPrefix as string;
    expect(prefix).toBeTruthy();
    expect(existsSync(join(e.home, 'local', 'objects', prefix))).toBe(false);
  });

  it('refuses a bucket name that is not one path component, naming the task and the key', async () => {
    const y = yamlFile(dir, 'badbucket.yaml', ['name: badbucket', '---', 'name: a', 'run: echo a', '---', 'name: b', 'file_mounts:', '  ~/handoff:', '    name: ../escape', '    mode: MOUNT', 'run: echo b'].join('\n'));
    const before = (await e.api<{ jobs: unknown[] }>('GET', '/jobs?limit=1000')).jobs.length;
    const r = await e.run(['jobs', 'launch', '-y', y]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/tasks\[1\]\.file_mounts\['~\/handoff'\]\.name: bucket name '\.\.\/escape' may hold only letters, digits/);
    expect((await e.api<{ jobs: unknown[] }>('GET', '/jobs?limit=1000')).jobs.length).toBe(before);
  });

  it('a local source mounted under a bucket name is uploaded, and what the task adds is saved to the bucket; a list of sources lands under dest', async () => {
    const seed = join(dir, 'seed');
    const shard = join(dir, 'shard-a');
    mkdirSync(seed, { recursive: true });
    mkdirSync(shard, { recursive: true });
    writeFileSync(join(seed, 'seed.txt'), 'seeded\n');
    writeFileSync(join(shard, 'a.txt'), 'shard a\n');
    const y = yamlFile(
      dir,
      'saved.yaml',
      [
        'name: saved',
        '---',
        'name: write',
        'file_mounts:',
        '  ~/out:',
        '    name: saved-e2e',
        `    source: ${seed}`,
        '    mode: MOUNT',
        '  ~/shards:',
        `    source: [${shard}]`,
        '    mode: COPY',
        'run: |',
        '  cat ~/shards/shard-a/a.txt',
        '  echo added > ~/out/added.txt',
        '---',
        'name: read',
        'file_mounts:',
        '  ~/out:',
        '    name: saved-e2e',
        '    mode: MOUNT',
        'run: cat ~/out/seed.txt ~/out/added.txt',
      ].join('\n'),
    );
    const r = await e.run(['jobs', 'launch', '-y', y]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('shard a');
    expect(r.stdout).toMatch(/seeded\s+(\S+ )?added/);
    const bucket = join(e.home, 'local', 'buckets', 'saved-e2e');
    expect(readFileSync(join(bucket, 'seed.txt'), 'utf8')).toBe('seeded\n');
    expect(readFileSync(join(bucket, 'added.txt'), 'utf8')).toBe('added\n');
  });

  it('refuses, naming each, local paths a submission did not upload (only the CLI uploads them)', async () => {
    const yaml = ['name: direct', 'workdir: .', 'file_mounts:', '  ~/data: ./data', 'run: echo'].join('\n');
    const err = await e.api('POST', '/jobs', { yaml }).then(
      () => undefined,
      (x: Error) => x.message,
    );
    expect(err).toMatch(/HTTP 400/);
    expect(err).toMatch(/workdir: the local directory '\.' can only be sent with `skyless jobs launch`/);
    expect(err).toContain("file_mounts['~/data']: a local path can only be sent with `skyless jobs launch`");
  });

  it('cancelling a 3-task pipeline during task 0 cancels all three and leaves nothing running', async () => {
    const started = join(dir, 'cancel-started');
    const y = yamlFile(
      dir,
      'cancel3.yaml',
      ['name: cancel3', '---', 'name: first', `run: |\n  touch ${started}\n  sleep 300`, '---', 'name: second', 'run: echo second-ran', '---', 'name: third', 'run: echo third-ran'].join('\n'),
    );
    const id = submittedId((await e.run(['jobs', 'launch', '-y', '-d', y])).stdout);
    await e.waitForJob(id, (j) => j.tasks[0].status === 'RUNNING');
    await waitForFile(started);
    const c = await e.run(['jobs', 'cancel', '-y', String(id)]);
    expect(c.code, c.stderr).toBe(0);
    const job = await e.waitForJob(id, (j) => j.finalizedAt !== undefined);
    expect(statuses(job)).toEqual(['CANCELLED', 'CANCELLED', 'CANCELLED']);
    expect(job.status).toBe('CANCELLED');
    expect(e.liveInstanceProcesses()).toEqual([]);
    const { attempts } = await e.api<{ attempts: { taskIndex: number }[] }>('GET', `/jobs/${id}`);
    expect(attempts.every((a) => a.taskIndex === 0)).toBe(true);
    expect((await e.run(['jobs', 'logs', '--no-follow', String(id)])).code).toBe(103);
  });

  it('a preemption in task 1 recovers task 1 only, with the same TASK_ID and TASK_IDS', async () => {
    const runs0 = join(dir, 'pre-task0-runs');
    const started1 = join(dir, 'pre-task1-started');
    const y = yamlFile(
      dir,
      'preempt.yaml',
      [
        'name: prepipe',
        '---',
        'name: stage-a',
        `run: echo run >> ${runs0}`,
        '---',
        'name: stage-b',
        'run: |',
        '  echo "ATTEMPT_TASK_ID=$SKYPILOT_TASK_ID"',
        '  echo "ATTEMPT_TASK_IDS=$(echo "$SKYPILOT_TASK_IDS" | paste -sd, -)"',
        `  if [ ! -e ${started1} ]; then touch ${started1}; sleep 300; fi`,
        '  echo stage-b-done',
      ].join('\n'),
    );
    const id = submittedId((await e.run(['jobs', 'launch', '-y', '-d', y])).stdout);
    await e.waitForJob(id, (j) => j.tasks[1].status === 'RUNNING');
    await waitForFile(started1);
    // The agent ships output every half second; a preemption loses what it had not shipped yet (as a
    // VM's would). Preempt only once attempt 1's lines are stored, since the check below reads them.
    for (const deadline = Date.now() + 120_000; ; ) {
      const shipped = (await e.run(['jobs', 'logs', '--no-follow', String(id), 'stage-b'])).stdout;
      if (shipped.includes('ATTEMPT_TASK_IDS=')) break;
      if (Date.now() > deadline) throw new Error(`attempt 1 of stage-b shipped no output in 120 s:\n${shipped}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const before = await e.waitForJob(id, () => true);
    const p = await e.run(['local', 'preempt', String(id)]);
    expect(p.code, p.stdout + p.stderr).toBe(0);
    expect(p.stdout).toContain(`local-${id}-1-1-0`);
    const job = await e.waitForJob(id, (j) => j.finished);
    const timeline = (await e.run(['jobs', 'logs', '--controller', String(id)])).stdout;
    expect(job.status, timeline).toBe('SUCCEEDED');
    expect(timeline).toMatch(/task 1\s+RUNNING → RECOVERING/);
    expect(timeline).toMatch(/task 1\s+RECOVERING → RUNNING/);
    expect(job.tasks[0].recoveryCount).toBe(0);
    expect(job.tasks[1].recoveryCount).toBe(1);
    expect(job.tasks[1].attempt).toBe(2);
    expect(job.tasks[0].attempt).toBe(1);
    // Task 0 ran exactly once.
    expect(readFileSync(runs0, 'utf8')).toBe('run\n');
    // Both attempts of task 1 saw the same IDs, fixed at submit.
    const logs = (await e.run(['jobs', 'logs', '--no-follow', String(id), 'stage-b'])).stdout;
    const ids = [...logs.matchAll(/ATTEMPT_TASK_ID=(.*)/g)].map((m) => m[1]);
    const all = [...logs.matchAll(/ATTEMPT_TASK_IDS=(.*)/g)].map((m) => m[1]);
    expect(ids).toEqual([before.tasks[1].taskId, before.tasks[1].taskId]);
    expect(all).toEqual(Array(2).fill(before.tasks.map((t) => t.taskId).join(',')));
    expect(before.tasks[1].taskId).toMatch(new RegExp(`_prepipe_stage-b_${id}-1$`));
    expect(job.tasks.map((t) => t.taskId)).toEqual(before.tasks.map((t) => t.taskId));
    expect(logs).toMatch(/── task 1 \(stage-b\), attempt 1 ──[\s\S]*── task 1 \(stage-b\), attempt 2 ──[\s\S]*stage-b-done/);
  });

  it('queue shows the aggregate row and ↳ task rows (docs/behaviour.md §7); logs take a task index or name and follow across tasks', async () => {
    const gate = join(dir, 'queue-gate');
    const y = yamlFile(
      dir,
      'qpipe.yaml',
      [
        'name: qpipe',
        '---',
        'name: one',
        'run: echo out-of-one',
        '---',
        'name: two',
        `run: |\n  echo out-of-two-begins\n  while [ ! -e ${gate} ]; do sleep 0.2; done\n  echo out-of-two-ends`,
        '---',
        'name: three',
        'resources:',
        '  cpus: 2+',
        'run: echo out-of-three',
      ].join('\n'),
    );
    // Follow the whole job from the start: output moves on from task to task.
    const follower = e.start(['jobs', 'launch', '-y', y]);
    let id = 0;
    const deadline = Date.now() + 120_000;
    while (!id && Date.now() < deadline) {
      const page = await e.api<{ jobs: { jobId: number; name: string }[] }>('GET', '/jobs?limit=10').catch(() => ({ jobs: [] }));
      id = page.jobs.find((j) => j.name === 'qpipe')?.jobId ?? 0;
      if (!id) await new Promise((r) => setTimeout(r, 100));
    }
    expect(id).toBeGreaterThan(0);
    await e.waitForJob(id, (j) => j.tasks[1].status === 'RUNNING');

    // Each task runs on fresh instances: task 0's machine is gone while task 1 runs.
    const instances = join(e.home, 'local', 'instances');
    expect(existsSync(join(instances, `local-${id}-0-1-0`))).toBe(true);
    // (Teardown runs beside the next task's launch: wait for it rather than catch it mid-way.)
    await until(`task 0's machine to be torn down`, () => findMachineProcesses(join(instances, `local-${id}-0-1-0`)).length === 0);
    expect(findMachineProcesses(join(instances, `local-${id}-1-1-0`)).length).toBeGreaterThan(0);

    const q = await e.run(['jobs', 'queue']);
    expect(q.code).toBe(0);
    const lines = q.stdout.split('\n');
    // Task 1 RUNNING, task 2 PENDING (task 0 has finished, so it is not in progress).
    expect(lines[0]).toMatch(/^In progress tasks: (1 RUNNING, 1 PENDING|1 PENDING, 1 RUNNING)$/);
    const at = lines.findIndex((l) => new RegExp(`^${id}\\s`).test(l));
    expect(at).toBeGreaterThan(1);
    // Aggregate row: ID, empty TASK, job name, REQUESTED '-', status of the first unfinished task.
    expect(lines[at]).toMatch(new RegExp(`^${id}\\s+qpipe\\s+-\\s+.*\\s0\\s+RUNNING \\(task: 1\\)\\s+-\\s`));
    expect(lines[at + 1]).toMatch(/^ ↳\s+0\s+one\s+1x\[CPU:1\+\]\s.*\s0\s+SUCCEEDED\s/);
    expect(lines[at + 2]).toMatch(/^ ↳\s+1\s+two\s+1x\[CPU:1\+\]\s.*\s0\s+RUNNING\s/);
    expect(lines[at + 3]).toMatch(/^ ↳\s+2\s+three\s+1x\[CPU:2\+\]\s.*\s-\s+0\s+PENDING\s/);
    // The column positions of the header hold for the pipeline rows.
    const statusCol = lines[1].indexOf('STATUS');
    expect(lines[at].slice(statusCol)).toMatch(/^RUNNING \(task: 1\)/);
    expect(lines[at + 3].slice(statusCol)).toMatch(/^PENDING/);

    // `logs ID TASK` by index and by name; a finished task's logs end at once with its own status.
    const byIndex = await e.run(['jobs', 'logs', String(id), '0']);
    expect(byIndex.stdout).toContain('out-of-one');
    expect(byIndex.stdout).not.toContain('out-of-two');
    expect(byIndex.stdout).toContain(`Task 0 (one) of managed job ${id} finished (status: SUCCEEDED).`);
    expect(byIndex.code).toBe(0);
    const running = await e.run(['jobs', 'logs', '--no-follow', String(id), 'two']);
    expect(running.stdout).toContain('out-of-two-begins');
    expect(running.stdout).not.toContain('out-of-one');
    expect(running.code).toBe(101);
    const unknown = await e.run(['jobs', 'logs', '--no-follow', String(id), 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no task named 'nope' \(tasks: one, two, three\)/);
    const tooFar = await e.run(['jobs', 'logs', '--no-follow', String(id), '3']);
    expect(tooFar.code).toBe(2);
    expect(tooFar.stderr).toMatch(/has 3 task\(s\); there is no task 3/);

    // Following task 1 by name ends when task 1 ends, while task 2 still has to run.
    const followTwo = e.start(['jobs', 'logs', String(id), 'two']);
    // Open the gate once the follower is following (it has printed task 1's first line).
    await until('the follower to print task 1 output', () => followTwo.stdout().includes('out-of-two-begins'));
    writeFileSync(gate, '');
    const two = await followTwo.done;
    expect(two.stdout).toContain('out-of-two-ends');
    expect(two.stdout).not.toContain('out-of-three');
    expect(two.stdout).toContain(`Task 1 (two) of managed job ${id} finished (status: SUCCEEDED).`);
    expect(two.code).toBe(0);

    const launched = await follower.done;
    expect(launched.code, launched.stderr).toBe(0);
    const out = launched.stdout;
    const order = ['── task 0 (one), attempt 1 ──', 'out-of-one', '── task 1 (two), attempt 1 ──', 'out-of-two-begins', 'out-of-two-ends', '── task 2 (three), attempt 1 ──', 'out-of-three', 'status: SUCCEEDED'];
    const positions = order.map((s) => out.indexOf(s));
    expect(positions.every((p) => p >= 0), out).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);

    const done = await e.run(['jobs', 'queue']);
    const doneLines = done.stdout.split('\n');
    const dat = doneLines.findIndex((l) => new RegExp(`^${id}\\s`).test(l));
    expect(doneLines[dat]).toMatch(/\s0\s+SUCCEEDED\s+-\s/);
    expect(doneLines[dat]).not.toContain('(task:');
    const json = JSON.parse((await e.run(['jobs', 'queue', '-o', 'json'])).stdout) as JobLike[];
    expect(json.find((j) => j.jobId === id)?.tasks.map((t) => t.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
  });
  it('runs examples/pipeline.yaml: train hands its model to eval through the bucket', async () => {
    const r = await e.run(['jobs', 'launch', '-y', join(REPO, 'examples', 'pipeline.yaml')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const id = submittedId(r.stdout);
    expect(r.stdout).toMatch(new RegExp(`training as sky-managed-[\\d-]+_train-eval_train_${id}-0`));
    expect(r.stdout).toContain(`evaluating the model of managed job ${id}`);
    expect(r.stdout).toMatch(new RegExp(`_train-eval_train_${id}-0\n.*_train-eval_eval_${id}-1\n`));
    expect(r.stdout).toContain(`Managed job finished: ${id} (status: SUCCEEDED).`);
  });
});
