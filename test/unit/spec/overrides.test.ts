import { describe, expect, it } from 'vitest';
import { applyLaunchOverrides, parseAssignments, parseDotenv, parseLaunchOverrides } from '../../../core/spec/overrides.ts';
import { IssueList } from '../../../core/spec/issues.ts';
import { parseJobSpec } from '../../../core/spec/index.ts';

describe('parseLaunchOverrides', () => {
  it('parses every resource flag with the spec parsers', () => {
    const { overrides, issues } = parseLaunchOverrides(
      { gpus: 'a100:8', cpus: '8+', memory: '64GB', infra: 'aws/us-east-1', useSpot: false, numNodes: '3', priority: '-5', name: 'my-job' },
      {},
    );
    expect(issues).toEqual([]);
    expect(overrides).toEqual({
      envs: {},
      secrets: {},
      name: 'my-job',
      accelerators: { form: 'single', options: [{ name: 'A100', count: 8 }] },
      cpus: { value: 8, atLeast: true },
      memoryGb: { value: 64, atLeast: false },
      infra: { cloud: 'aws', region: 'us-east-1' },
      useSpot: false,
      numNodes: 3,
      priority: -5,
    });
  });

  it('reports every bad flag at once, the flag as path', () => {
    const { issues } = parseLaunchOverrides(
      { gpus: 'A1000', cpus: 'x', infra: 'azure', numNodes: '0', priority: '5000', name: '-x', env: ['1BAD=2', 'UNSET_VAR'] },
      {},
    );
    expect(issues.map((i) => i.path)).toEqual(['--name', '--env', '--env', '--gpus', '--cpus', '--infra', '--num-nodes', '--priority']);
    expect(issues.find((i) => i.path === '--gpus')!.message).toMatch(/unknown accelerator 'A1000'; did you mean A100/);
    expect(issues.find((i) => i.message.includes('UNSET_VAR'))!.message).toMatch(/has no value/);
  });

  it('--env-file first, then --env wins; bare names come from the environment', () => {
    const { overrides, issues } = parseLaunchOverrides(
      { envFile: { path: '.env', text: 'A=file\nB=file\n' }, env: ['B=flag', 'HOME_DIR'], secret: ['TOKEN'] },
      { HOME_DIR: '/home/me', TOKEN: 's3cret' },
    );
    expect(issues).toEqual([]);
    expect(overrides.envs).toEqual({ A: 'file', B: 'flag', HOME_DIR: '/home/me' });
    expect(overrides.secrets).toEqual({ TOKEN: 's3cret' });
  });
});

describe('parseDotenv / parseAssignments', () => {
  it('reads comments, export, quotes and inline comments; names bad lines', () => {
    const issues = new IssueList();
    const values = parseDotenv(
      ['# comment', '', 'export A=1', 'B="two words\\nline"', "C='raw \\n'", 'D=x # note', 'E=a=b', 'oops', '9X=1'].join('\n'),
      'prod.env',
      issues,
    );
    expect(values).toEqual({ A: '1', B: 'two words\nline', C: 'raw \\n', D: 'x', E: 'a=b' });
    expect(issues.items).toEqual([
      { path: 'prod.env:8', message: "expected KEY=VALUE (got 'oops')" },
      { path: 'prod.env:9', message: expect.stringContaining("invalid name '9X'") },
    ]);
  });

  it('keeps everything after the first = as the value', () => {
    const issues = new IssueList();
    expect(parseAssignments(['URL=http://x?a=b', 'EMPTY='], '--env', {}, issues)).toEqual({ URL: 'http://x?a=b', EMPTY: '' });
    expect(issues.size).toBe(0);
  });
});

describe('applyLaunchOverrides', () => {
  const single = parseJobSpec('name: t\nresources:\n  accelerators: {A100: 1, L4: 1}\n  infra: gcp/us-central1\nrun: x\n');
  const pipeline = parseJobSpec('name: p\n---\nname: a\nrun: echo a\n---\nname: b\nrun: echo b\n');

  it('--gpus replaces every alternative; identical alternatives collapse; a set makes the order cheapest', () => {
    const one = applyLaunchOverrides(single, parseLaunchOverrides({ gpus: 'H100:8' }, {}).overrides);
    expect(one.tasks[0].resources.requests.map((r) => r.accelerator)).toEqual([{ name: 'H100', count: 8 }]);
    const set = applyLaunchOverrides(pipeline, parseLaunchOverrides({ gpus: '{T4:1, L4:1}' }, {}).overrides);
    for (const task of set.tasks) {
      expect(task.resources.order).toBe('cheapest');
      expect(task.resources.requests.map((r) => r.accelerator!.name)).toEqual(['T4', 'L4']);
    }
  });

  it('--infra replaces the whole location; --use-spot, --cpus, --memory, --priority, --num-nodes apply to every task', () => {
    const { overrides } = parseLaunchOverrides({ infra: 'aws', useSpot: true, cpus: '2', memory: '8+', priority: '7', numNodes: '4' }, {});
    const out = applyLaunchOverrides(single, overrides);
    for (const r of out.tasks[0].resources.requests) {
      expect(r.infra).toEqual({ cloud: 'aws' });
      expect(r.useSpot).toBe(true);
      expect(r.cpus).toEqual({ value: 2, atLeast: false });
      expect(r.memoryGb).toEqual({ value: 8, atLeast: true });
    }
    expect(out.tasks[0].resources.priority).toBe(7);
    expect(out.tasks[0].numNodes).toBe(4);
    expect(applyLaunchOverrides(pipeline, overrides).tasks.map((t) => t.numNodes)).toEqual([4, 4]);
  });

  it('--name names the job, and the task only when there is one', () => {
    const o = parseLaunchOverrides({ name: 'renamed' }, {}).overrides;
    expect(applyLaunchOverrides(single, o)).toMatchObject({ name: 'renamed', tasks: [{ name: 'renamed' }] });
    const p = applyLaunchOverrides(pipeline, o);
    expect(p.name).toBe('renamed');
    expect(p.tasks.map((t) => t.name)).toEqual(['a', 'b']);
  });

  it('--secret fills secrets and never touches envs; the input spec is not modified', () => {
    const before = JSON.stringify(single);
    const out = applyLaunchOverrides(single, parseLaunchOverrides({ secret: ['TOKEN=abc'] }, {}).overrides);
    expect(out.tasks[0].secrets).toEqual({ TOKEN: 'abc' });
    expect(out.tasks[0].envs).toEqual(single.tasks[0].envs);
    expect(JSON.stringify(single)).toBe(before);
  });
});
