// docs/behaviour.md §1 task keys other than resources/envs (unknown keys, workdir, num_nodes, setup/run, config,
// file_mounts) and docs/behaviour.md §5 `pool`.

import { describe, expect, it } from 'vitest';
import { onlyTask, problems } from './helpers.ts';

describe('unknown keys', () => {
  it.each([
    ['setpu: x', 'setpu: unknown key; did you mean setup?'],
    ['Run: x', 'Run: unknown key; did you mean run?'],
    ['env: {A: 1}', 'env: unknown key; did you mean envs?'],
    ['filemounts: {}', 'filemounts: unknown key; did you mean file_mounts?'],
    [
      'command: x',
      'command: unknown key; expected one of: name, workdir, num_nodes, resources, envs, secrets, file_mounts, setup, run, config, pool',
    ],
    ['service: {}', 'service: a SkyPilot option that skyless does not support'],
  ])('%s', (line, message) => {
    expect(problems(`${line}\nrun: echo`)).toContain(message);
  });

  it('lists every unknown key, not just the first', () => {
    expect(problems('a1: 1\nb2: 2\nrun: x')).toHaveLength(2);
  });
});

describe('scalar task keys', () => {
  it('reads workdir, num_nodes, setup and run as written', () => {
    const task = onlyTask(`
      workdir: ~/code/project
      num_nodes: 2
      setup: |
        conda activate
        pip install .
      run: |
        python -u main.py \\
          --flag
    `);
    expect(task).toMatchObject({
      workdir: '~/code/project',
      numNodes: 2,
      setup: 'conda activate\npip install .\n',
      run: 'python -u main.py \\\n  --flag\n',
    });
  });

  it('defaults: one node, no run, no setup, no workdir', () => {
    const task = onlyTask('name: bare');
    expect(task.numNodes).toBe(1);
    expect(task).not.toHaveProperty('run');
    expect(task).not.toHaveProperty('setup');
    expect(task).not.toHaveProperty('workdir');
  });

  it.each([
    ['num_nodes: 0', 'num_nodes: must be an integer >= 1 (got 0)'],
    ['num_nodes: 1.5', 'num_nodes: must be an integer >= 1 (got a number)'],
    ['num_nodes: "2"', 'num_nodes: must be an integer >= 1 (got a string)'],
    ['run: [a, b]', 'run: must be a string (got a list)'],
    ['setup: {a: b}', 'setup: must be a string (got a mapping)'],
    ['workdir: ""', 'workdir: must not be empty'],
    ['config: 5', 'config: must be a mapping (got an integer)'],
  ])('rejects %s', (line, message) => {
    expect(problems(line)).toEqual([message]);
  });

  it('stores config as given', () => {
    expect(onlyTask('config: {kubernetes: {pod_config: {a: [1, 2]}}}\nrun: x').config).toEqual({
      kubernetes: { pod_config: { a: [1, 2] } },
    });
  });
});

describe('file_mounts', () => {
  it('classifies each form and keeps the order', () => {
    const task = onlyTask(`
      file_mounts:
        /a: ./local
        /b: S3://bucket/key
        /c: gs://bucket
        /d: r2://bucket/x
        /e: {name: bkt}
        /f: {source: ./data, store: GCS, mode: copy, persistent: false}
      run: x
    `);
    expect(task.fileMounts).toEqual([
      { dest: '/a', kind: 'upload', source: './local' },
      { dest: '/b', kind: 'cloud', source: 'S3://bucket/key' },
      { dest: '/c', kind: 'cloud', source: 'gs://bucket' },
      { dest: '/d', kind: 'cloud', source: 'r2://bucket/x' },
      { dest: '/e', kind: 'storage', name: 'bkt', mode: 'MOUNT', persistent: true },
      { dest: '/f', kind: 'storage', source: './data', store: 'gcs', mode: 'COPY', persistent: false },
    ]);
  });

  it.each([
    ['/x: https://example.com/f', "file_mounts['/x']: unsupported bucket URL 'https://'; use s3://, gs://, r2://"],
    ['/x: {name: b, mode: mount-cached}', "file_mounts['/x'].mode: unknown mode 'MOUNT-CACHED'; did you mean MOUNT_CACHED?"],
    ['/x: {name: b, store: gs}', "file_mounts['/x'].store: unknown store 'gs'; did you mean gcs?"],
    ['/x: {name: b, sorce: ./a}', "file_mounts['/x'].sorce: unknown key; did you mean source?"],
    ['/x: {persistent: true}', "file_mounts['/x']: a storage mount needs a name, a source, or both"],
    ['/x: [a]', "file_mounts['/x']: must be a local path, a bucket URL (s3://, gs://, r2://) or a storage mapping {name, source, store, mode, persistent} (got a list)"],
    ['x: y\n  "": z', "file_mounts['']: the destination path is empty"],
  ])('rejects %s', (entry, message) => {
    expect(problems(`file_mounts:\n  ${entry}\nrun: x`)).toEqual([message]);
  });
});

describe('pool', () => {
  it.each([
    ['{workers: 3}', { minWorkers: 3, maxWorkers: 3 }],
    ['{min_workers: 0, max_workers: 4}', { minWorkers: 0, maxWorkers: 4 }],
    ['{min_workers: 2}', { minWorkers: 2, maxWorkers: 2 }],
    ['{min_workers: 2, max_workers: 2}', { minWorkers: 2, maxWorkers: 2 }],
  ])('pool: %s', (written, expected) => {
    expect(onlyTask(`pool: ${written}\nsetup: s`).pool).toEqual(expected);
  });

  it.each([
    ['{workers: 0}', 'pool.workers: must be an integer >= 1 (got 0)'],
    ['{workers: 2, min_workers: 1}', 'pool.workers: use either workers or min_workers/max_workers, not both'],
    ['{max_workers: 2}', 'pool: min_workers is required with max_workers'],
    ['{}', 'pool: give workers: N, or min_workers and max_workers'],
    ['{min_workers: 0}', 'pool.min_workers: a pool needs at least one worker; set max_workers >= 1'],
    ['{min_workers: 3, max_workers: 1}', 'pool.max_workers: must be at least min_workers (3) (got 1)'],
    ['{min_workers: -1, max_workers: 1}', 'pool.min_workers: must be an integer >= 0 (got -1)'],
    ['{worker: 2}', 'pool.worker: unknown key; did you mean workers?'],
    ['4', 'pool: must be a mapping (got an integer)'],
  ])('rejects pool: %s', (written, message) => {
    expect(problems(`pool: ${written}\nsetup: s`)).toContain(message);
  });
});
