// docs/behaviour.md §1 single tasks vs pipelines: header detection, naming of jobs and unnamed tasks, duplicate
// names, and the `tasks[i].` prefix on every problem of a pipeline task.

import { describe, expect, it } from 'vitest';
import { nameFromSource } from '../../../core/spec/index.ts';
import { parse, problems } from './helpers.ts';

const names = (text: string, source?: string) => {
  const spec = parse(text, { source });
  return { job: spec.name, tasks: spec.tasks.map((t) => t.name), isPipeline: spec.isPipeline };
};

describe('single task naming', () => {
  it('uses the task name', () => {
    expect(names('name: train\nrun: x', 'jobs/other.yaml')).toEqual({ job: 'train', tasks: ['train'], isPipeline: false });
  });

  it('falls back to the source file base name, then to "task"', () => {
    expect(names('run: x', 'jobs/train-gpt.yaml')).toEqual({ job: 'train-gpt', tasks: ['train-gpt'], isPipeline: false });
    expect(names('run: x', 'C:\\work\\nightly.v2.yml')).toEqual({ job: 'nightly.v2', tasks: ['nightly.v2'], isPipeline: false });
    expect(names('run: x')).toEqual({ job: 'task', tasks: ['task'], isPipeline: false });
  });

  it('makes a valid name out of an awkward file name', () => {
    expect(nameFromSource('my job (copy).yaml', 'task')).toBe('my-job-copy');
    expect(nameFromSource('2024_run.yaml', 'task')).toBe('run');
    expect(nameFromSource('___.yaml', 'task')).toBe('task');
    expect(nameFromSource('.hidden', 'task')).toBe('hidden');
    expect(nameFromSource('s3://bucket/submit/etl.yaml', 'task')).toBe('etl');
  });

  it('a header followed by one task is a single task named by the header unless it has its own name', () => {
    expect(names('name: head\n---\nrun: x')).toEqual({ job: 'head', tasks: ['head'], isPipeline: false });
    expect(names('name: head\n---\nname: own\nrun: x')).toEqual({ job: 'head', tasks: ['own'], isPipeline: false });
  });

  it('a file holding only a name is a task that does nothing', () => {
    const spec = parse('name: noop');
    expect(spec.tasks[0]).toMatchObject({ name: 'noop' });
    expect(spec.tasks[0].run).toBeUndefined();
  });

  it('empty documents are ignored', () => {
    expect(names('---\nname: a\nrun: x\n---\n---\n')).toEqual({ job: 'a', tasks: ['a'], isPipeline: false });
  });
});

describe('pipelines', () => {
  it('a header names the pipeline; unnamed tasks are <pipeline>-<i>, counted from 0', () => {
    expect(names('name: p\nexecution: serial\n---\nrun: a\n---\nname: mid\nrun: b\n---\nrun: c')).toEqual({
      job: 'p',
      tasks: ['p-0', 'mid', 'p-2'],
      isPipeline: true,
    });
  });

  it('the header execution is case-insensitive serial', () => {
    expect(names('name: p\nexecution: SERIAL\n---\nrun: a\n---\nrun: b').tasks).toEqual(['p-0', 'p-1']);
  });

  it('without a header, the pipeline is named after the file, else "pipeline"', () => {
    expect(names('name: a\nrun: x\n---\nrun: y', 'flows/etl.yaml')).toEqual({ job: 'etl', tasks: ['a', 'etl-1'], isPipeline: true });
    expect(names('run: x\n---\nrun: y')).toEqual({ job: 'pipeline', tasks: ['pipeline-0', 'pipeline-1'], isPipeline: true });
  });

  it('a first document with other keys than name/execution is a task, not a header', () => {
    expect(names('name: a\nrun: x\n---\nname: b\nrun: y')).toEqual({ job: 'pipeline', tasks: ['a', 'b'], isPipeline: true });
  });

  it('rejects duplicate task names, including a clash with a generated name', () => {
    expect(problems('name: p\n---\nname: t\nrun: echo 1\n---\nname: t\nrun: echo 2')).toEqual([
      "tasks[1].name: duplicate task name 't' (also tasks[0])",
    ]);
    expect(problems('name: p\n---\nname: p-1\nrun: echo 1\n---\nrun: echo 2')).toEqual([
      "tasks[1]: duplicate task name 'p-1' (also tasks[0])",
    ]);
  });

  it('prefixes every task problem with tasks[i] and header problems with header', () => {
    expect(
      problems(`
        name: bad name
        ---
        run: ok
        ---
        resources:
          cpus: 0
          infra: k8s
        runn: echo
      `),
    ).toEqual([
      "header.name: invalid name 'bad name'; use letters, digits, '-', '_' and '.', starting with a letter and ending with a letter or digit",
      'tasks[1].runn: unknown key; did you mean run?',
      "tasks[1].resources.infra: unknown cloud 'k8s'; expected one of: aws, gcp, local",
      'tasks[1].resources.cpus: must be a positive number (got 0)',
    ]);
  });

  it('rejects a non-mapping task document at its index', () => {
    expect(problems('run: a\n---\n- b')).toEqual([
      'tasks[1]: a task must be a mapping of task keys such as run, setup, resources (got a list)',
    ]);
  });

  it('rejects a pool in a pipeline', () => {
    expect(problems('run: a\n---\npool: {workers: 1}')).toEqual([
      'tasks[1].pool: a pool is defined by a single-task file, not a pipeline',
    ]);
  });
});

describe('task names', () => {
  it.each(['a', 'train', 'Train-2', 'my_job.v1', 'x9'])('accepts %s', (name) => {
    expect(parse(`name: ${name}\nrun: x`).name).toBe(name);
  });

  it.each(['9lives', '-x', 'x-', 'x.', 'my job', 'ünïcode', '"a/b"'])('rejects %s', (name) => {
    expect(problems(`name: ${name}\nrun: x`)[0]).toMatch(/^name: invalid name '.*'; use letters, digits/);
  });

  it('rejects a name that is not a string', () => {
    expect(problems('name: 42\nrun: x')).toEqual(['name: must be a string (got an integer)']);
  });
});
