// SPEC §1 `resources.accelerators`: every form, the order each implies, and the expansion of sets
// and lists into one ResourceRequest per accelerator.

import { describe, expect, it } from 'vitest';
import { ACCELERATORS, NOT_OFFERED } from '../../../core/catalog/accelerators.ts';
import { resourceProblems, resourcesOf } from './helpers.ts';

const accelerators = (body: string) => resourcesOf(body).requests.map((r) => r.accelerator);

describe('single accelerator forms', () => {
  it.each([
    ['A100:8', { name: 'A100', count: 8 }],
    ['A100', { name: 'A100', count: 1 }],
    ['H100:0.5', { name: 'H100', count: 0.5 }],
    ['a100-80gb:4', { name: 'A100-80GB', count: 4 }],
    ['" l4 : 2 "', { name: 'L4', count: 2 }],
    ['{A100: 2}', { name: 'A100', count: 2 }],
    ['{A100: }', { name: 'A100', count: 1 }],
    ['[T4:1]', { name: 'T4', count: 1 }],
  ])('accelerators: %s', (written, expected) => {
    const resources = resourcesOf(`accelerators: ${written}`);
    expect(resources.requests.map((r) => r.accelerator)).toEqual([expected]);
    expect(resources.order).toBe('cheapest');
  });

  it('accepts every catalog name in any case (but the ones no cloud sells: a catalog test)', () => {
    for (const name of ACCELERATORS.filter((n) => NOT_OFFERED[n] === undefined)) {
      expect(accelerators(`accelerators: ${name.toLowerCase()}:1`)).toEqual([{ name, count: 1 }]);
    }
  });

  it('accepts `gpus` as an alias of accelerators', () => {
    expect(accelerators('gpus: V100:2')).toEqual([{ name: 'V100', count: 2 }]);
  });

  it('leaves accelerator out when none is asked for', () => {
    expect(resourcesOf('cpus: 2').requests[0]).not.toHaveProperty('accelerator');
  });
});

describe('several accelerators', () => {
  it('a mapping is an unordered set: one request each, cheapest wins', () => {
    const resources = resourcesOf('accelerators: {L4: 1, A100: 1}');
    expect(resources.order).toBe('cheapest');
    expect(resources.requests.map((r) => r.accelerator)).toEqual([
      { name: 'L4', count: 1 },
      { name: 'A100', count: 1 },
    ]);
  });

  it('a set-literal string is an unordered set', () => {
    const resources = resourcesOf('accelerators: "{L4:1, A100:2}"');
    expect(resources.order).toBe('cheapest');
    expect(resources.requests.map((r) => r.accelerator)).toEqual([
      { name: 'L4', count: 1 },
      { name: 'A100', count: 2 },
    ]);
  });

  it('a list is an order of preference, in flow or block style', () => {
    for (const body of ['accelerators: [L4:1, A100:1]', 'accelerators:\n  - L4: 1\n  - A100: 1', 'accelerators:\n  - L4\n  - A100:1']) {
      const resources = resourcesOf(body);
      expect(resources.order).toBe('ordered');
      expect(resources.requests.map((r) => r.accelerator?.name)).toEqual(['L4', 'A100']);
    }
  });

  it('a set inside an any_of candidate expands, other keys carried to each request', () => {
    const resources = resourcesOf(`
      any_of:
        - infra: aws
          accelerators: {A100: 8, H100: 8}
          use_spot: true
        - infra: gcp
          accelerators: A100:8
    `);
    expect(resources.order).toBe('cheapest');
    expect(resources.requests.map((r) => [r.infra.cloud, r.accelerator?.name, r.useSpot])).toEqual([
      ['aws', 'A100', true],
      ['aws', 'H100', true],
      ['gcp', 'A100', false],
    ]);
  });

  it('an outer set is inherited by every any_of candidate', () => {
    const resources = resourcesOf(`
      accelerators: {L4: 1, T4: 1}
      any_of:
        - use_spot: true
        - use_spot: false
    `);
    expect(resources.requests.map((r) => `${r.accelerator?.name}/${r.useSpot}`)).toEqual([
      'L4/true',
      'T4/true',
      'L4/false',
      'T4/false',
    ]);
  });

  it('a list inside an ordered candidate keeps its order', () => {
    const resources = resourcesOf(`
      ordered:
        - accelerators: [H100:1, A100:1]
        - accelerators: L4:1
    `);
    expect(resources.order).toBe('ordered');
    expect(resources.requests.map((r) => r.accelerator?.name)).toEqual(['H100', 'A100', 'L4']);
  });
});

describe('every spelling SkyPilot accepts (issue 15)', () => {
  const H = [
    { name: 'H100', count: 1 },
    { name: 'H200', count: 1 },
  ];
  it.each([
    // YAML reads the unquoted braces as a mapping whose keys are `H100:1`/`H200:1`, values null.
    ['{H100:1, H200:1}', 'cheapest', H],
    ['{H100: 1, H200: 1}', 'cheapest', H],
    ['{"H100": 1, "H200": 1}', 'cheapest', H],
    ["{'H100:1', 'H200:1'}", 'cheapest', H],
    ['"{H100:1, H200:1}"', 'cheapest', H],
    ['"{\'H100\': 1, \'H200\': 1}"', 'cheapest', H],
    ['"{\'H100:1\', \'H200:1\'}"', 'cheapest', H],
    [`'{"H100:1", "H200:1",}'`, 'cheapest', H],
    ['[H100:1, H200:1]', 'ordered', H],
    ['["H100:1", "H200:1"]', 'ordered', H],
    ['[{H100: 1}, {H200: 1}]', 'ordered', H],
    ['[{H100:1}, {H200:1}]', 'ordered', H],
    ['"[\'H100:1\', \'H200:1\']"', 'ordered', H],
    ['\n  - H100:1\n  - H200', 'ordered', H],
    ['\n  - H100: 1\n  - H200:', 'ordered', H],
    ['\n  H100:1:\n  H200:1:', 'cheapest', H],
    ['\n  H100: 1\n  H200: 1', 'cheapest', H],
    ['"H100:8"', 'cheapest', [{ name: 'H100', count: 8 }]],
    ["'h100'", 'cheapest', [{ name: 'H100', count: 1 }]],
    ['{H100:8}', 'cheapest', [{ name: 'H100', count: 8 }]],
    ['{"H100:0.5"}', 'cheapest', [{ name: 'H100', count: 0.5 }]],
    ['{H100: "2"}', 'cheapest', [{ name: 'H100', count: 2 }]],
  ])('accelerators: %s', (written, order, expected) => {
    const resources = resourcesOf(`accelerators: ${written}`);
    expect(resources.requests.map((r) => r.accelerator)).toEqual(expected);
    expect(resources.order).toBe(order);
  });

  it('the same spellings work for --gpus-like strings in a list item', () => {
    expect(accelerators('accelerators: ["\'L4\': 1", A100:2]')).toEqual([
      { name: 'L4', count: 1 },
      { name: 'A100', count: 2 },
    ]);
  });

  it.each([
    ['{H100:1: 2}', "invalid accelerator 'H100:1: 2'; write NAME: COUNT or NAME:COUNT, not both"],
    ['{H100:1, B300:1}', "unknown accelerator 'B300'; did you mean B200?"],
    ['"{H100:1, H200:1"', "set literal '{H100:1, H200:1' must end with '}'"],
    ['"[H100:1"', "list literal '[H100:1' must end with ']'"],
    ['"[]"', 'the accelerator list is empty'],
  ])('refuses accelerators: %s', (written, message) => {
    expect(resourceProblems(`accelerators: ${written}`)).toEqual([`resources.accelerators: ${message}`]);
  });
});

describe('invalid accelerators', () => {
  it('names the unknown accelerator and the nearest known one', () => {
    expect(resourceProblems('accelerators: A1000')).toEqual([
      "resources.accelerators: unknown accelerator 'A1000'; did you mean A100?",
    ]);
    expect(resourceProblems('accelerators: {L4: 1, RTX9090: 1}')).toEqual([
      `resources.accelerators: unknown accelerator 'RTX9090'; expected one of: ${ACCELERATORS.join(', ')}`,
    ]);
  });

  it('reports list items at their index', () => {
    expect(resourceProblems('accelerators: [L4:1, A1O0:1]')).toEqual([
      "resources.accelerators[1]: unknown accelerator 'A1O0'; did you mean A100?",
    ]);
  });

  it.each([
    ['A100:0', 'count of A100 must be a positive number (got 0)'],
    ['A100:-1', "count of A100 must be a positive number (got '-1')"],
    ['A100:2.5', 'count of A100 must be a whole number or a fraction below 1 (got 2.5)'],
    ['A100:1:2', "invalid accelerator 'A100:1:2'; write NAME or NAME:COUNT (e.g. A100:8)"],
    ['":4"', "invalid accelerator ':4'; write NAME or NAME:COUNT (e.g. A100:8)"],
    ['{}', 'the accelerator mapping is empty'],
    ['[]', 'the accelerator list is empty'],
    ['"{}"', 'the accelerator set is empty'],
    ['{L4: one}', "count of L4 must be a positive number (got 'one')"],
    ['{L4: 1, l4: 2}', 'L4 is listed twice'],
    ['true', 'must be NAME, NAME:COUNT, a mapping {NAME: COUNT} or a list (got a boolean)'],
  ])('accelerators: %s', (written, message) => {
    expect(resourceProblems(`accelerators: ${written}`)).toEqual([`resources.accelerators: ${message}`]);
  });

  it('rejects an order the user wrote but that cannot be kept', () => {
    expect(resourceProblems('accelerators: [A100:1, H100:1]\nany_of:\n  - use_spot: true')).toEqual([
      'resources.accelerators: an ordered accelerator list cannot be combined with any_of; write a mapping {A: n, B: m} for a set',
    ]);
    expect(resourceProblems('any_of:\n  - accelerators: [A100:1, H100:1]')).toEqual([
      'resources.any_of[0].accelerators: an ordered accelerator list has no order inside any_of; write a mapping {A: n, B: m} for a set',
    ]);
    expect(resourceProblems('accelerators: {A100: 1, H100: 1}\nordered:\n  - use_spot: true')).toEqual([
      'resources.accelerators: several accelerators cannot be combined with ordered; put one accelerator in each ordered candidate',
    ]);
  });

  it('rejects accelerators and gpus together', () => {
    expect(resourceProblems('accelerators: A100\ngpus: A100')).toEqual(['resources.gpus: use either accelerators or gpus, not both']);
  });
});
