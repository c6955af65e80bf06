// docs/behaviour.md §1 envs/secrets: names, value stringification, null values, `--env` overrides on the submit
// path, and that no problem message ever contains a secret's value.

import { describe, expect, it } from 'vitest';
import { onlyTask, parse, problems, specError } from './helpers.ts';

describe('envs values', () => {
  it('keeps numbers and booleans as written', () => {
    const task = onlyTask(`
      envs:
        LR: 1e-4
        STEPS: 1_000
        VERSION: 1.10
        DEBUG: true
        ANSWER: yes
        FLAG: y
        WHEN: 2024-01-01
        CLOCK: 12:30
        QUOTED: "007"
        EMPTY: ""
      run: x
    `);
    expect(task.envs).toEqual({
      LR: '1e-4',
      STEPS: '1_000',
      VERSION: '1.10',
      DEBUG: 'true',
      ANSWER: 'yes',
      FLAG: 'y',
      WHEN: '2024-01-01',
      CLOCK: '12:30',
      QUOTED: '007',
      EMPTY: '',
    });
  });

  it('stringifies values that came in through a merge key', () => {
    const task = onlyTask(`
      envs:
        <<: {PORT: 8080}
        HOST: example
      run: x
    `);
    expect(task.envs).toEqual({ PORT: '8080', HOST: 'example' });
  });

  it('keeps null values on a dry run', () => {
    const task = onlyTask('envs:\n  A:\n  B: null\n  C: ~\nsecrets:\n  S:\nrun: x');
    expect(task.envs).toEqual({ A: null, B: null, C: null });
    expect(task.secrets).toEqual({ S: null });
  });

  it('rejects bad names and nested values', () => {
    expect(problems('envs:\n  9LIVES: x\n  OK: {a: 1}\nrun: x')).toEqual([
      "envs['9LIVES']: invalid variable name; use letters, digits and _, not starting with a digit",
      'envs.OK: must be a string, number or boolean (got a mapping)',
    ]);
    expect(problems('envs: [A=1]\nrun: x')).toEqual(['envs: must be a mapping (got a list)']);
  });
});

describe('--env overrides', () => {
  const text = `
    envs:
      MODEL: small
      DATASET:
    secrets:
      HF_TOKEN:
    run: x
  `;

  it('fill nulls, replace values, add new envs, and fill secrets without copying them into envs', () => {
    const task = parse(text, {
      envOverrides: { DATASET: 'imagenet', MODEL: 'large', EXTRA: '1', HF_TOKEN: 'hf_abc' },
      requireEnvValues: true,
    }).tasks[0];
    expect(task.envs).toEqual({ MODEL: 'large', DATASET: 'imagenet', EXTRA: '1' });
    expect(task.secrets).toEqual({ HF_TOKEN: 'hf_abc' });
  });

  it('apply to a key declared in both envs and secrets in both places', () => {
    const task = parse('envs: {K: a}\nsecrets: {K: b}\nrun: x', { envOverrides: { K: 'c' } }).tasks[0];
    expect(task.envs.K).toBe('c');
    expect(task.secrets.K).toBe('c');
  });

  it('on the submit path, every missing value is named with the flag that supplies it', () => {
    expect(problems(text, { requireEnvValues: true })).toEqual([
      'envs.DATASET: no value given; pass --env DATASET=VALUE',
      'secrets.HF_TOKEN: no value given; pass --secret HF_TOKEN=VALUE',
    ]);
    expect(problems(text, { requireEnvValues: true, envOverrides: { DATASET: 'x' } })).toEqual([
      'secrets.HF_TOKEN: no value given; pass --secret HF_TOKEN=VALUE',
    ]);
  });

  it('apply to every task of a pipeline, and missing values carry the task prefix', () => {
    const pipeline = 'envs: {A: }\nrun: x\n---\nenvs: {B: }\nrun: y';
    expect(problems(pipeline, { requireEnvValues: true, envOverrides: { A: '1' } })).toEqual([
      'tasks[1].envs.B: no value given; pass --env B=VALUE',
    ]);
    const spec = parse(pipeline, { requireEnvValues: true, envOverrides: { A: '1', B: '2' } });
    expect(spec.tasks.map((t) => t.envs)).toEqual([
      { A: '1', B: '2' },
      { B: '2', A: '1' },
    ]);
  });

  it('reject override names that cannot be variables', () => {
    expect(problems('run: x', { envOverrides: { 'BAD-NAME': '1' } })).toEqual([
      "--env: invalid variable name 'BAD-NAME'; use letters, digits and _, not starting with a digit",
    ]);
  });
});

describe('secrets are never echoed', () => {
  const secretValues = ['sk-live-0123456789', 'hunter2', 'correct-horse-battery', 'p@ss:word'];

  it('not in type errors of secrets', () => {
    const error = specError(`
      secrets:
        A: {value: ${secretValues[0]}}
        B: [${secretValues[1]}]
        C: ${secretValues[2]}
      run: x
    `);
    for (const value of secretValues) expect(error.message).not.toContain(value);
    expect(JSON.stringify(error.issues)).not.toContain(secretValues[0]);
  });

  it('not in YAML syntax errors on the secret line', () => {
    const error = specError(`secrets:\n  TOKEN: "${secretValues[3]}\nrun: x\n`);
    expect(error.message).toMatch(/^invalid YAML at line \d+, column \d+: /);
    expect(error.message).not.toContain(secretValues[3]);
  });

  it('not in duplicate-key errors', () => {
    const error = specError(`secrets:\n  TOKEN: ${secretValues[1]}\n  TOKEN: ${secretValues[2]}\nrun: x`);
    expect(error.message).toBe('secrets.TOKEN: duplicate key (line 3, column 3)');
  });

  it('not when other parts of the spec are invalid', () => {
    const error = specError(`secrets:\n  TOKEN: ${secretValues[2]}\nresources: {cpus: 0}\nrun: x`, {
      envOverrides: { OTHER: secretValues[1] },
    });
    for (const value of secretValues) expect(error.message).not.toContain(value);
  });
});

describe('${VAR} in workdir and file_mounts', () => {
  const text = `
    envs:
      SIZE: 7
      NAME:
    secrets:
      TOKEN: abc
    workdir: ./m-\${SIZE}
    file_mounts:
      /w/$SIZE: s3://b/\${NAME}/\${SIZE}
      /t: ./\${TOKEN}
    run: echo \${SIZE}
  `;

  it('substitutes known envs, keeps unknown and null ones, and never secrets or run', () => {
    const task = onlyTask(text);
    expect(task.workdir).toBe('./m-7');
    expect(task.fileMounts).toEqual([
      { dest: '/w/7', kind: 'cloud', source: 's3://b/${NAME}/7' },
      { dest: '/t', kind: 'upload', source: './${TOKEN}' },
    ]);
    expect(task.run).toBe('echo ${SIZE}');
  });

  it('uses the values after --env overrides', () => {
    const task = onlyTask(text, { envOverrides: { SIZE: '70', NAME: 'llama' } });
    expect(task.workdir).toBe('./m-70');
    expect(task.fileMounts[0]).toEqual({ dest: '/w/70', kind: 'cloud', source: 's3://b/llama/70' });
  });

  it('reports two destinations that become one', () => {
    expect(problems('envs: {D: /a}\nfile_mounts:\n  /a: ./x\n  ${D}: ./y\nrun: x')).toEqual([
      "file_mounts['${D}']: same destination '/a' as file_mounts['/a'] once envs are substituted",
    ]);
  });
});
