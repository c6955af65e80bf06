// Saved mounts (agent/PROTOCOL.md): a bucket mounted with mode MOUNT is copied down, then saved back
// while the node works, before each exit report, on an interruption notice and when the node is
// stopped. The real agent, the real `aws` CLI and moto's S3: what a preempted job's next attempt
// finds is what the last one wrote. Needs moto_server and the aws CLI; fails loudly without them.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AgentApiDouble } from '../support/agent-api-double.ts';
import { startMoto, awsTestClientConfig, type RunningMoto } from '../support/moto.ts';
import { FILES_FAILED_EXIT_CODE } from '../../agent/protocol.ts';
import { agentExit, sleep, startAgent, stopAllAgents, tarGz, waitForFile } from './helpers.ts';

const phases = (d: AgentApiDouble) => d.node(0).exits.map((e) => [e.phase, e.exitCode]);

let moto: RunningMoto;
let s3: S3Client;
let double: AgentApiDouble | undefined;
let awsEnv: Record<string, string>;
let bucketCount = 0;

beforeAll(async () => {
  // The agent calls the aws CLI as a node would; it must be here (pip install awscli).
  const realAws = execFileSync('bash', ['-c', 'command -v aws'], { encoding: 'utf8' }).trim();
  execFileSync(realAws, ['--version'], { stdio: 'pipe' });
  moto = await startMoto();
  s3 = new S3Client(awsTestClientConfig(moto.endpoint));
  // Older CLIs (Debian's 2.9) ignore AWS_ENDPOINT_URL: a first-on-PATH `aws` points the real one at moto.
  const bin = mkdtempSync(join(tmpdir(), 'skyless-aws-'));
  writeFileSync(join(bin, 'aws'), `#!/bin/sh\nexec '${realAws}' --endpoint-url '${moto.endpoint}' "$@"\n`, { mode: 0o755 });
  awsEnv = {
    PATH: `${bin}:${process.env.PATH}`,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_DEFAULT_REGION: 'us-east-1',
    // The agent's HOME is a scratch directory; pyenv's shims find their Python through this.
    ...(process.env.PYENV_ROOT ? { PYENV_ROOT: process.env.PYENV_ROOT } : { PYENV_ROOT: `${process.env.HOME}/.pyenv` }),
  };
}, 60_000);

afterEach(async () => {
  await stopAllAgents();
  await double?.close();
  double = undefined;
});

afterAll(async () => {
  s3?.destroy();
  await moto?.stop();
});

async function newBucket(objects: Record<string, string> = {}): Promise<string> {
  const bucket = `ckpt-${++bucketCount}-${process.pid}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const [key, body] of Object.entries(objects)) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  return bucket;
}

async function keys(bucket: string): Promise<string[]> {
  const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (r.Contents ?? []).map((o) => o.Key!).sort();
}

async function text(bucket: string, key: string): Promise<string> {
  return (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

// Each test runs the real aws CLI several times (a Python start-up each): minutes on a loaded machine.
describe('saved mounts (MOUNT-mode buckets) on aws', { timeout: 300_000 }, () => {
  it('fetches the prefix, saves new files while the run works, and saves the rest before reporting the exit', async () => {
    const bucket = await newBucket({ 'run1/step-0.txt': 'from attempt 1\n', 'other/x.txt': 'not fetched\n' });
    double = await AgentApiDouble.start({
      numNodes: 1,
      fileMounts: [{ dest: 'ckpt', mirror: `s3://${bucket}/run1` }],
      saveSeconds: 1,
      run: 'cat ckpt/step-0.txt; ls ckpt; echo one > ckpt/step-1.txt; while [ ! -e stop ]; do sleep 0.1; done; echo two > ckpt/step-2.txt',
    });
    const agent = startAgent(double, 0, { cloud: 'aws', env: awsEnv });
    // Saved while the run is still working (the periodic save), not only at the end.
    await until('step-1 saved during the run', async () => (await keys(bucket)).includes('run1/step-1.txt'));
    expect(phases(double)).toEqual([['SETUP', 0]]);
    execFileSync('touch', [`${agent.workDir}/stop`]);
    expect(await agentExit(agent)).toBe(0);
    expect(phases(double)).toEqual([
      ['SETUP', 0],
      ['RUN', 0],
    ]);
    // The last file, written just before the run ended, was saved before the exit report.
    expect(await keys(bucket)).toEqual(['other/x.txt', 'run1/step-0.txt', 'run1/step-1.txt', 'run1/step-2.txt']);
    expect(await text(bucket, 'run1/step-2.txt')).toBe('two\n');
    expect(double.logText(0)).toBe('from attempt 1\nstep-0.txt\n');
  });

  it('starts from an empty directory when the prefix has nothing yet, but refuses a bucket that does not exist', async () => {
    const bucket = await newBucket();
    double = await AgentApiDouble.start({ numNodes: 1, fileMounts: [{ dest: '~/fresh', mirror: `s3://${bucket}/new/` }], saveSeconds: 30, run: 'ls -A ~/fresh | wc -l; echo hi > ~/fresh/a.txt' });
    let agent = startAgent(double, 0, { cloud: 'aws', env: awsEnv });
    expect(await agentExit(agent)).toBe(0);
    expect(phases(double)).toEqual([
      ['SETUP', 0],
      ['RUN', 0],
    ]);
    expect(double.logText(0).trim()).toBe('0');
    expect(await keys(bucket)).toEqual(['new/a.txt']);
    await double.close();

    double = await AgentApiDouble.start({ numNodes: 1, fileMounts: [{ dest: 'ckpt', mirror: 's3://no-such-bucket-here/x' }], setup: 'touch "$HOME/setup-ran"', run: 'true' });
    agent = startAgent(double, 0, { cloud: 'aws', env: awsEnv });
    expect(await agentExit(agent)).toBe(0);
    expect(phases(double)).toEqual([['SETUP', FILES_FAILED_EXIT_CODE]]);
    expect(double.logText(0)).toContain('bucket s3://no-such-bucket-here does not exist or this node may not read it');
    expect(double.logText(0)).toContain('skyless: could not fetch file mount');
  });

  it('unpacks an upload over its named bucket and saves both, at once on a spot interruption notice', async () => {
    const bucket = await newBucket({ 'earlier.txt': 'from an earlier attempt\n' });
    double = await AgentApiDouble.start({
      numNodes: 1,
      fileMounts: [
        { dest: 'out', mirror: `s3://${bucket}` },
        { dest: 'out', tarGz: tarGz({ 'out/seed.txt': 'uploaded with the job\n' }) },
      ],
      saveSeconds: 3600, // no periodic save in this test: only the notice can save
      run: 'cat out/earlier.txt; echo progress > out/progress.txt; sleep 300',
    });
    const agent = startAgent(double, 0, { cloud: 'aws', env: { ...awsEnv, SKYLESS_INTERRUPTION_POLL_SECONDS: '1' } });
    // The run wrote its file; with no periodic save, nothing but the notice may upload it.
    await waitForFile(`${agent.workDir}/out/progress.txt`);
    expect(await keys(bucket)).toEqual(['earlier.txt']);
    double.interruptSpot();
    await until('saved on the interruption notice', async () => (await keys(bucket)).length === 3);
    expect(await keys(bucket)).toEqual(['earlier.txt', 'progress.txt', 'seed.txt']);
    expect(await text(bucket, 'seed.txt')).toBe('uploaded with the job\n');
    expect(double.node(0).interrupted).toHaveLength(1);
    await until('the output shipped', async () => double!.logText(0).includes('from an earlier attempt'));
    process.kill(-agent.pid, 'SIGKILL');
  });

  it('uploads only what this node wrote: its stale copy never overwrites a checkpoint another node saved meanwhile', async () => {
    const bucket = await newBucket({ 'ckpt/model.txt': 'v1\n' });
    double = await AgentApiDouble.start({
      numNodes: 1,
      fileMounts: [{ dest: 'ckpt', mirror: `s3://${bucket}/ckpt` }],
      saveSeconds: 1,
      run: 'cat ckpt/model.txt; echo mine > ckpt/rank1.txt; while [ ! -e stop ]; do sleep 0.1; done',
    });
    const agent = startAgent(double, 0, { cloud: 'aws', env: awsEnv });
    await until('rank1.txt saved', async () => (await keys(bucket)).includes('ckpt/rank1.txt'));
    // Another node (rank 0) saves a newer checkpoint; this node still holds v1, unchanged.
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'ckpt/model.txt', Body: 'v2 from rank 0\n' }));
    // A periodic save that began after v2 landed: it saved a file written after the put (observed
    // in the bucket, not assumed from a clock), so it saw this node's stale model.txt and kept off it.
    writeFileSync(`${agent.workDir}/ckpt/later.txt`, 'later\n');
    await until('later.txt saved', async () => (await keys(bucket)).includes('ckpt/later.txt'));
    execFileSync('touch', [`${agent.workDir}/stop`]);
    expect(await agentExit(agent)).toBe(0);
    expect(await text(bucket, 'ckpt/model.txt')).toBe('v2 from rank 0\n');
    expect(await keys(bucket)).toEqual(['ckpt/later.txt', 'ckpt/model.txt', 'ckpt/rank1.txt']);
  });

  it('saves what the run wrote when the node is cancelled', async () => {
    const bucket = await newBucket();
    double = await AgentApiDouble.start({
      numNodes: 1,
      fileMounts: [{ dest: 'ckpt', mirror: `s3://${bucket}/c` }],
      saveSeconds: 3600,
      run: 'echo partial > ckpt/partial.txt; sleep 300',
    });
    const agent = startAgent(double, 0, { cloud: 'aws', env: awsEnv });
    // Cancel once the run has written its file (not after a fixed time: a slow node may not have yet).
    await waitForFile(`${agent.workDir}/ckpt/partial.txt`);
    double.cancel();
    expect(await agentExit(agent)).toBe(0);
    expect(await keys(bucket)).toEqual(['c/partial.txt']);
  });
});
