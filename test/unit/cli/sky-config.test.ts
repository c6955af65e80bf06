// ~/.sky/config.yaml: the keys that mean something here are used, every other one gets one warning
// line naming it and why; read from a temporary HOME through `jobs launch --dry-run`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readSkyConfig } from '../../../cli/sky-config.ts';
import { runCli } from '../../../cli/program.ts';
import type { CliIo } from '../../../cli/io.ts';

const fixtures = join(import.meta.dirname, '../../fixtures/skypilot-docs');

describe('readSkyConfig', () => {
  it("warns once per key that does not apply, saying why; the docs' examples included", () => {
    const c = readSkyConfig(
      [
        'jobs:',
        '  bucket: s3://my-bucket',
        '  force_disable_cloud_bucket: true',
        '  controller:',
        '    resources: {infra: gcp/us-central1, cpus: 8+}',
        '    high_availability: true',
        'kubernetes: {allowed_contexts: [a]}',
        'aws: {labels: {team: ml}}',
        'something_new: 1',
      ].join('\n'),
    );
    expect(c.allowedClouds).toBeUndefined();
    expect(c.warnings).toEqual([
      expect.stringMatching(/^~\/\.sky\/config\.yaml: jobs\.bucket: does not apply: skyless keeps job files in its deployment's own bucket/),
      expect.stringMatching(/^~\/\.sky\/config\.yaml: jobs\.force_disable_cloud_bucket: does not apply: /),
      expect.stringMatching(/^~\/\.sky\/config\.yaml: jobs\.controller: does not apply: skyless has no jobs controller VM/),
      expect.stringMatching(/^~\/\.sky\/config\.yaml: kubernetes: does not apply: skyless launches on AWS and GCP only$/),
      expect.stringMatching(/^~\/\.sky\/config\.yaml: aws: does not apply: /),
      '~/.sky/config.yaml: something_new: does not apply: skyless does not read this SkyPilot setting',
    ]);
  });

  it('uses allowed_clouds to narrow the clouds, naming the ones it cannot use', () => {
    expect(readSkyConfig('allowed_clouds: [gcp, kubernetes]')).toEqual({
      allowedClouds: ['gcp'],
      warnings: ['~/.sky/config.yaml: allowed_clouds: kubernetes ignored: skyless launches on AWS and GCP only'],
    });
  });

  it('an empty file says nothing; a broken one says it is ignored', () => {
    expect(readSkyConfig('')).toEqual({ warnings: [] });
    expect(readSkyConfig('jobs: [').warnings[0]).toMatch(/^~\/\.sky\/config\.yaml: not valid YAML, ignored/);
    expect(readSkyConfig('- a').warnings).toEqual(['~/.sky/config.yaml: expected a mapping of settings, ignored']);
  });
});

describe('jobs launch reads ~/.sky/config.yaml from HOME', () => {
  let home: string;
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'skyless-skyhome-'));
    mkdirSync(join(home, '.sky'));
    writeFileSync(join(home, '.sky', 'config.yaml'), 'allowed_clouds: [gcp]\njobs:\n  bucket: s3://my-bucket\n');
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  async function dryRun(env: Record<string, string>) {
    let stdout = '';
    let stderr = '';
    const io: CliIo = {
      stdout: (t) => void (stdout += t),
      stderr: (t) => void (stderr += t),
      readFile: (p) => readFileSync(resolve(fixtures, p), 'utf8'),
      env,
      cwd: fixtures,
      interactive: false,
      confirm: async () => false,
    };
    const code = await runCli(['jobs', 'launch', '--dry-run', 'job.yaml'], io);
    return { code, stdout, stderr };
  }

  it('plans on the allowed clouds only and prints one warning line for jobs.bucket', async () => {
    const r = await dryRun({ HOME: home });
    expect(r.code).toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^skyless: warning: ~\/\.sky\/config\.yaml: jobs\.bucket: does not apply: /)]);
    const chosen = r.stdout.split('\n').find((l) => l.endsWith('✔'))!;
    expect(chosen).toMatch(/^ GCP \(us-central1\)\s+a3-highgpu-1g\s/);
    // Without the file the cheapest H100:1 is on AWS.
    const without = await dryRun({ HOME: join(home, 'nowhere') });
    expect(without.stderr).toBe('');
    expect(without.stdout.split('\n').find((l) => l.endsWith('✔'))).toMatch(/^ AWS \(us-east-1\)\s+p5\.4xlarge\s/);
  });
});
