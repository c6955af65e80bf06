// YAML-level behaviour: duplicate keys and syntax errors with their line, PyYAML compatibility, and
// the SpecError contract (literal name, source, issues).

import { describe, expect, it } from 'vitest';
import { parseJobSpec } from '../../../core/spec/index.ts';
import { SpecError } from '../../../core/errors.ts';
import { onlyTask, parse, problems, specError } from './helpers.ts';

describe('duplicate keys', () => {
  it('are errors at their own path, with line and column', () => {
    expect(problems('name: a\nrun: x\nrun: y')).toEqual(['run: duplicate key (line 3, column 1)']);
    expect(problems('resources:\n  any_of:\n    - cpus: 1\n      cpus: 2\nrun: x')).toEqual([
      'resources.any_of[0].cpus: duplicate key (line 4, column 7)',
    ]);
    expect(problems('envs:\n  A: 1\n  A: 2\nrun: x')).toEqual(['envs.A: duplicate key (line 3, column 3)']);
  });

  it('in a pipeline task carry the task prefix and the line in the whole file', () => {
    expect(problems('name: p\n---\nrun: a\n---\nrun: b\nsetup: s\nsetup: t')).toEqual([
      'tasks[1].setup: duplicate key (line 7, column 1)',
    ]);
  });

  it('are all reported, across documents', () => {
    expect(problems('run: a\nrun: b\n---\nname: x\nname: y')).toEqual([
      'tasks[0].run: duplicate key (line 2, column 1)',
      'tasks[1].name: duplicate key (line 5, column 1)',
    ]);
  });
});

describe('malformed YAML', () => {
  it('is reported with line and column, without the source excerpt', () => {
    const [problem, ...rest] = problems('name: a\nrun: [x\n');
    expect(rest).toEqual([]);
    expect(problem).toMatch(/^invalid YAML at line 3, column 1: .+/);
    expect(problem).not.toContain('\n');
  });

  it('reports an unterminated quote', () => {
    expect(problems('run: "echo')[0]).toMatch(/^invalid YAML at line 1, column \d+: /);
  });

  it('stops a runaway alias expansion', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 6; i++) bomb.push(`${'abcdef'[i]}: &${'abcdef'[i]} [${Array(10).fill(`*${'abcdef'[i - 1]}`).join(', ')}]`);
    const [problem] = problems(`config:\n  ${bomb.join('\n  ')}\nrun: x`);
    expect(problem).toMatch(/^invalid YAML: /);
  });
});

describe('PyYAML compatibility', () => {
  it('keeps `workdir: .` a string', () => {
    expect(onlyTask('workdir: .\nrun: x').workdir).toBe('.');
  });

  it('supports anchors and << merge keys', () => {
    const task = onlyTask(`
      resources:
        any_of:
          - &base {infra: aws, accelerators: L4:1}
          - <<: *base
            infra: gcp
      run: x
    `);
    expect(task.resources.requests.map((r) => [r.infra.cloud, r.accelerator?.name])).toEqual([
      ['aws', 'L4'],
      ['gcp', 'L4'],
    ]);
  });
});

describe('SpecError', () => {
  it('has a literal name, the source, and every issue path first', () => {
    const error = specError('resources: {cpus: 0}\nrunn: x', { source: 's3://bucket/submit/a.yaml' });
    expect(error.name).toBe('SpecError');
    expect(error.source).toBe('s3://bucket/submit/a.yaml');
    expect(error.issues).toEqual([
      { path: 'runn', message: 'unknown key; did you mean run?' },
      { path: 'resources.cpus', message: 'must be a positive number (got 0)' },
    ]);
  });

  it('is thrown for an empty spec and for non-text input', () => {
    expect(problems('')).toEqual(['the spec is empty; write a task such as `run: echo hello`']);
    expect(problems('# only a comment\n')).toEqual(['the spec is empty; write a task such as `run: echo hello`']);
    expect(() => parseJobSpec(42 as unknown as string)).toThrow(SpecError);
  });

  it('a valid spec does not throw and round-trips through JSON unchanged', () => {
    const spec = parse('name: a\nresources: {accelerators: "H100:0.5"}\nrun: x');
    expect(JSON.parse(JSON.stringify(spec))).toEqual(spec);
  });
});
