// Issue 15 on the embedded default: SkyPilot's doc forms work end to end — `--use-spot false`
// after the YAML runs on-demand, `jobs queue -a` says why a job failed, and a storage mount naming
// a bucket that does not exist yet gets one (deleted after the job when `persistent: false`).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startE2E, yamlFile, submittedId, waitForFile, type E2E } from './harness.ts';

describe('SkyPilot parity on the local default', () => {
  let e: E2E;
  let dir: string;
  beforeAll(() => {
    e = startE2E();
    dir = mkdtempSync(join(tmpdir(), 'skyless-parity-'));
  });
  afterAll(async () => {
    await e.stop();
  }, 120_000);

  it('`jobs launch -n NAME task.yaml --use-spot false` runs the spot task on-demand', async () => {
    const y = yamlFile(dir, 'bert_qa.yaml', 'name: bert-qa\nresources:\n  use_spot: true\nrun: echo market-check\n');
    const r = await e.run(['jobs', 'launch', '-y', '-d', '-n', 'bert-qa-od', y, '--use-spot', 'false']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const id = submittedId(r.stdout);
    const job = await e.waitForJob(id, (j) => j.status === 'SUCCEEDED', 60_000);
    expect(job.name).toBe('bert-qa-od');
    const { attempts } = await e.api<{ attempts: { candidate: { spot: boolean } }[] }>('GET', `/jobs/${id}`);
    expect(attempts.length).toBeGreaterThan(0);
    expect(attempts.every((a) => a.candidate.spot === false)).toBe(true);
  }, 120_000);

  it('the same YAML followed by a stray word is refused and submits nothing', async () => {
    const before = (await e.api<{ jobs: unknown[] }>('GET', '/jobs?limit=1000')).jobs.length;
    const y = yamlFile(dir, 'stray.yaml', 'name: stray\nrun: echo never\n');
    const r = await e.run(['jobs', 'launch', '-y', '-d', y, 'false']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("is a task file, so the words after it ('false') are not part of the launch");
    expect((await e.api<{ jobs: unknown[] }>('GET', '/jobs?limit=1000')).jobs.length).toBe(before);
  }, 120_000);

  it("a failed job's reason is in `jobs queue -a` (DETAILS)", async () => {
    const y = yamlFile(dir, 'fails.yaml', 'name: fails\nrun: |\n  echo going down\n  exit 7\n');
    const r = await e.run(['jobs', 'launch', '-y', '-d', y]);
    const id = submittedId(r.stdout);
    const job = await e.waitForJob(id, (j) => j.finished, 60_000);
    expect(job.status).toBe('FAILED');
    const reason = job.tasks[0].failureReason;
    expect(reason).toBeTruthy();
    const q = await e.run(['jobs', 'queue', '-a']);
    expect(q.code).toBe(0);
    const lines = q.stdout.split('\n');
    expect(lines[1]).toMatch(/\sSTATUS\s.*\sDETAILS$/);
    const row = lines.find((l) => l.startsWith(`${id} `))!;
    expect(row).toMatch(/\sFAILED\s/);
    // -a prints the reason whole, on the job's row.
    expect(row.endsWith(reason!.replace(/\s+/g, ' ').trim())).toBe(true);
  }, 120_000);

  it('a bucket name that does not exist yet is created for the job; persistent: false deletes it after, persistent keeps it', async () => {
    const buckets = join(e.home, 'local', 'buckets');
    const gone = 'parity-scratch-bucket';
    const kept = 'parity-kept-bucket';
    expect(existsSync(join(buckets, gone))).toBe(false);
    expect(existsSync(join(buckets, kept))).toBe(false);
    const release = join(dir, 'release');
    const y = yamlFile(
      dir,
      'buckets.yaml',
      [
        'name: buckets',
        'file_mounts:',
        '  ~/scratch:',
        `    name: ${gone}`,
        '    mode: MOUNT',
        '    persistent: false',
        '  ~/kept:',
        `    name: ${kept}`,
        '    mode: MOUNT',
        'run: |',
        '  echo step-1 > ~/scratch/ckpt.txt',
        '  echo final > ~/kept/model.txt',
        `  while [ ! -e ${release} ]; do sleep 0.2; done`,
      ].join('\n') + '\n',
    );
    const r = await e.run(['jobs', 'launch', '-y', '-d', y]);
    expect(r.code).toBe(0);
    const id = submittedId(r.stdout);
    // While the job runs, its writes land in the buckets the control plane created.
    await waitForFile(join(buckets, gone, 'ckpt.txt'), 60_000);
    expect(readFileSync(join(buckets, gone, 'ckpt.txt'), 'utf8')).toBe('step-1\n');
    const running = await e.waitForJob(id, (j) => Array.isArray(j.createdBuckets) && (j.createdBuckets as unknown[]).length === 2, 30_000);
    expect((running.createdBuckets as { name: string; persistent: boolean }[]).map((b) => `${b.name}:${b.persistent}`).sort()).toEqual([`${kept}:true`, `${gone}:false`]);
    yamlFile(dir, 'release', '');
    const done = await e.waitForJob(id, (j) => j.finished && j.finalizedAt !== undefined, 60_000);
    expect(done.status).toBe('SUCCEEDED');
    expect(existsSync(join(buckets, gone))).toBe(false);
    expect(readFileSync(join(buckets, kept, 'model.txt'), 'utf8')).toBe('final\n');
  }, 180_000);
});
