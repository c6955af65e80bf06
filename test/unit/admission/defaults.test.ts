// One definition of the admission limits per deployment kind (core/admission/defaults.ts): the CDK
// settings, the Lambdas' environment defaults, the embedded control plane and the docs agree with it.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMISSION_DEFAULTS } from '../../../core/admission/defaults.ts';
import { DEFAULT_SETTINGS } from '../../../stacks/settings.ts';
import { AWS_SETTING_DEFAULTS } from '../../../lambdas/aws-deps.ts';
import { localSettings } from '../../../local/control-plane.ts';

const REPO = join(import.meta.dirname, '..', '..', '..');

describe('admission defaults', () => {
  it('a deployed stack and its Lambdas default to the aws limits', () => {
    expect({ maxLaunching: DEFAULT_SETTINGS.maxLaunching, maxRunning: DEFAULT_SETTINGS.maxRunning }).toEqual(ADMISSION_DEFAULTS.aws);
    expect({ maxLaunching: AWS_SETTING_DEFAULTS.maxLaunching, maxRunning: AWS_SETTING_DEFAULTS.maxRunning }).toEqual(ADMISSION_DEFAULTS.aws);
  });

  it('the embedded control plane defaults to the local limits', () => {
    const saved = { l: process.env.SKYLESS_MAX_LAUNCHING, r: process.env.SKYLESS_MAX_RUNNING };
    delete process.env.SKYLESS_MAX_LAUNCHING;
    delete process.env.SKYLESS_MAX_RUNNING;
    try {
      const s = localSettings('http://127.0.0.1:1');
      expect({ maxLaunching: s.maxLaunching, maxRunning: s.maxRunning }).toEqual(ADMISSION_DEFAULTS.local);
    } finally {
      if (saved.l !== undefined) process.env.SKYLESS_MAX_LAUNCHING = saved.l;
      if (saved.r !== undefined) process.env.SKYLESS_MAX_RUNNING = saved.r;
    }
  });

  it('the docs quote the same numbers', () => {
    const { aws, local } = ADMISSION_DEFAULTS;
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8').replace(/\s+/g, ' ');
    expect(readme).toContain(`defaults to \`maxLaunching\` ${aws.maxLaunching} and \`maxRunning\` ${aws.maxRunning}`);
    expect(readme).toContain(`The embedded default uses ${local.maxLaunching} and ${local.maxRunning}`);
    const runtime = readFileSync(join(REPO, 'docs', 'aws-runtime.md'), 'utf8');
    expect(runtime).toContain(`| \`MAX_LAUNCHING\` / \`MAX_RUNNING\` | ${aws.maxLaunching} / ${aws.maxRunning} `);
    const behaviour = readFileSync(join(REPO, 'docs', 'behaviour.md'), 'utf8').replace(/\s+/g, ' ');
    expect(behaviour).toContain(`${aws.maxLaunching} launching and ${aws.maxRunning} running`);
    expect(behaviour).toContain(`${local.maxLaunching} launching and ${local.maxRunning} running`);
  });
});
