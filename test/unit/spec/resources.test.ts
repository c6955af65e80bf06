// docs/behaviour.md §1 resources other than accelerators and infra: cpus/memory (units), disk_size, ports,
// labels, priority, instance_type/image_id/use_spot, defaults, any_of/ordered.

import { describe, expect, it } from 'vitest';
import { resourceProblems, resourcesOf } from './helpers.ts';

const first = (body: string) => resourcesOf(body).requests[0];

describe('defaults', () => {
  it('a task without resources gets one default request', () => {
    expect(resourcesOf('use_spot: false')).toEqual({
      order: 'cheapest',
      requests: [{ infra: {}, useSpot: false, diskSizeGb: 256, ports: [], labels: {} }],
      jobRecovery: { strategy: 'EAGER_NEXT_REGION', maxRestartsOnErrors: 0, recoverOnExitCodes: [] },
      priority: 0,
    });
  });
});

describe('cpus', () => {
  it.each([
    ['4', { value: 4, atLeast: false }],
    ['"4"', { value: 4, atLeast: false }],
    ['4+', { value: 4, atLeast: true }],
    ['0.5', { value: 0.5, atLeast: false }],
    ['"2.5+"', { value: 2.5, atLeast: true }],
  ])('cpus: %s', (written, expected) => {
    expect(first(`cpus: ${written}`).cpus).toEqual(expected);
  });

  it.each([
    ['0', 'must be a positive number (got 0)'],
    ['4++', "invalid cpus '4++'; must be a number such as 4, or '4+' for at least 4"],
    ['"+4"', "invalid cpus '+4'; must be a number such as 4, or '4+' for at least 4"],
    ['[4]', "must be a number such as 4, or '4+' for at least 4 (got a list)"],
  ])('rejects cpus: %s', (written, message) => {
    expect(resourceProblems(`cpus: ${written}`)).toEqual([`resources.cpus: ${message}`]);
  });
});

describe('memory', () => {
  it.each([
    ['32', 32, false],
    ['32+', 32, true],
    ['32GB', 32, false],
    ['32gb', 32, false],
    ['32 GiB', 32, false],
    ['32G+', 32, true],
    ['64GB+', 64, true],
    ['1TB', 1024, false],
    ['1.5TiB', 1536, false],
    ['512MB', 0.5, false],
    ['1024MiB+', 1, true],
    ['1048576KB', 1, false],
    ['0.5', 0.5, false],
  ])('memory: %s → %d GB', (written, value, atLeast) => {
    expect(first(`memory: "${written}"`).memoryGb).toEqual({ value, atLeast });
  });

  it.each(['32XB', 'lots', '4x', '+32', '0GB', '32 G B'])('rejects memory: %s', (written) => {
    expect(resourceProblems(`memory: "${written}"`)).toEqual([
      `resources.memory: invalid memory '${written}'; must be a size in GB such as 32, '32GB', '1TB', or '32+' / '32GB+' for at least that`,
    ]);
  });
});

describe('disk_size', () => {
  it.each([
    ['100', 100],
    ['"100GB"', 100],
    ['2TB', 2048],
  ])('disk_size: %s → %d GB', (written, gb) => {
    expect(first(`disk_size: ${written}`).diskSizeGb).toBe(gb);
  });

  it('defaults to 256 GB', () => {
    expect(first('cpus: 1').diskSizeGb).toBe(256);
  });

  it.each(['0', '10.5', '"512MB"', '"100GB+"'])('rejects disk_size: %s', (written) => {
    expect(resourceProblems(`disk_size: ${written}`)[0]).toMatch(/^resources\.disk_size: invalid disk_size '.*'; must be a whole number of GB/);
  });
});

describe('ports', () => {
  it.each([
    ['8080', ['8080']],
    ['"8080"', ['8080']],
    ['"10000-10010"', ['10000-10010']],
    ['[8081, 8080, "9000-9001"]', ['8080-8081', '9000-9001']],
    ['[22, "20-30", 443]', ['20-30', '443']],
  ])('ports: %s', (written, expected) => {
    expect(first(`ports: ${written}`).ports).toEqual(expected);
  });

  it('defaults to no ports', () => {
    expect(first('cpus: 1').ports).toEqual([]);
  });

  it('rejects bad ports at their index', () => {
    expect(resourceProblems('ports: [80, 65536, "9-8"]')).toEqual([
      "resources.ports[1]: invalid port '65536'; ports are 1 to 65535 and a range is FROM-TO with FROM <= TO",
      "resources.ports[2]: invalid port '9-8'; ports are 1 to 65535 and a range is FROM-TO with FROM <= TO",
    ]);
    expect(resourceProblems('ports: {a: 1}')).toEqual([
      'resources.ports: must be a port (8080) or a range ("10000-10010") (got a mapping)',
    ]);
  });
});

describe('labels, priority, instance_type, image_id, use_spot', () => {
  it('reads them into every request (priority into the task)', () => {
    const resources = resourcesOf(`
      instance_type: p4d.24xlarge
      image_id: ami-0abc
      use_spot: true
      labels: {team: ml, cost-center: 42, billable: true}
      priority: -1000
    `);
    expect(resources.priority).toBe(-1000);
    expect(resources.requests[0]).toMatchObject({
      instanceType: 'p4d.24xlarge',
      imageId: 'ami-0abc',
      useSpot: true,
      labels: { team: 'ml', 'cost-center': '42', billable: 'true' },
    });
  });

  it('accepts YAML 1.1 booleans for use_spot, as PyYAML does', () => {
    expect(first('use_spot: yes').useSpot).toBe(true);
    expect(first('use_spot: Off').useSpot).toBe(false);
    expect(resourceProblems('use_spot: y')).toEqual(['resources.use_spot: must be true or false (got a string)']);
  });

  it.each([
    ['priority: 1001', 'resources.priority: must be an integer from -1000 to 1000 (got 1001)'],
    ['priority: 1.5', 'resources.priority: must be an integer from -1000 to 1000 (got a number)'],
    ['labels: {a: [1]}', 'resources.labels.a: label values must be strings (got a list)'],
    ['image_id: {us-east-1: ami-1}', 'resources.image_id: per-region image_id mappings are not supported; give one image id'],
    ['instance_type: 5', 'resources.instance_type: must be a string (got an integer)'],
  ])('rejects %s', (body, message) => {
    expect(resourceProblems(body)).toEqual([message]);
  });
});

describe('any_of and ordered', () => {
  it('any_of is cheapest-first, ordered keeps the order', () => {
    expect(resourcesOf('any_of:\n  - cpus: 2\n  - cpus: 4').order).toBe('cheapest');
    expect(resourcesOf('ordered:\n  - cpus: 2\n  - cpus: 4').order).toBe('ordered');
  });

  it('outer keys are defaults: a candidate key wins, labels are merged', () => {
    const resources = resourcesOf(`
      cpus: 8
      disk_size: 100
      labels: {team: a, env: prod}
      any_of:
        - cpus: 16
          labels: {env: dev}
        - memory: 64
    `);
    expect(resources.requests).toEqual([
      { infra: {}, cpus: { value: 16, atLeast: false }, useSpot: false, diskSizeGb: 100, ports: [], labels: { team: 'a', env: 'dev' } },
      {
        infra: {},
        cpus: { value: 8, atLeast: false },
        memoryGb: { value: 64, atLeast: false },
        useSpot: false,
        diskSizeGb: 100,
        ports: [],
        labels: { team: 'a', env: 'prod' },
      },
    ]);
  });

  it('drops candidates that come out identical', () => {
    expect(resourcesOf('any_of:\n  - cpus: 2\n  - cpus: "2"').requests).toHaveLength(1);
  });

  it('rejects both at once, empty lists, nesting and non-mappings', () => {
    expect(resourceProblems('any_of: [{cpus: 1}]\nordered: [{cpus: 2}]')).toEqual(['resources: use either any_of or ordered, not both']);
    expect(resourceProblems('any_of: []')).toEqual([
      'resources.any_of: must be a non-empty list of resource mappings (got an empty list)',
    ]);
    expect(resourceProblems('ordered: {cpus: 1}')).toEqual([
      'resources.ordered: must be a non-empty list of resource mappings (got a mapping)',
    ]);
    expect(resourceProblems('any_of:\n  - ordered: [{cpus: 1}]')).toEqual([
      'resources.any_of[0].ordered: candidates cannot hold any_of or ordered themselves',
    ]);
    expect(resourceProblems('any_of: [4]')).toEqual(['resources.any_of[0]: must be a mapping of resource keys (got an integer)']);
  });

  it('reports unknown keys in candidates with a suggestion', () => {
    expect(resourceProblems('any_of:\n  - use_spott: true')).toEqual([
      'resources.any_of[0].use_spott: unknown key; did you mean use_spot?',
    ]);
  });

  it('rejects resources that are not a mapping', () => {
    expect(resourceProblems('- cpus: 1')).toEqual(['resources: must be a mapping (got a list)']);
  });
});
