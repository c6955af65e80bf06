// docs/behaviour.md §1 `resources.infra` and the older `cloud`/`region`/`zone` keys.

import { describe, expect, it } from 'vitest';
import { resourceProblems, resourcesOf } from './helpers.ts';

const infraOf = (body: string) => resourcesOf(body).requests.map((r) => r.infra);

describe('infra', () => {
  it.each([
    ['aws', { cloud: 'aws' }],
    ['GCP', { cloud: 'gcp' }],
    ['local', { cloud: 'local' }],
    ['aws/us-east-1', { cloud: 'aws', region: 'us-east-1' }],
    ['aws/us-east-1/us-east-1a', { cloud: 'aws', region: 'us-east-1', zone: 'us-east-1a' }],
    ['"*/us-east-1"', { region: 'us-east-1' }],
    ['"*"', {}],
    ['"aws/*"', { cloud: 'aws' }],
    ['"gcp/*/us-central1-b"', { cloud: 'gcp', zone: 'us-central1-b' }],
  ])('infra: %s', (written, expected) => {
    expect(infraOf(`infra: ${written}`)).toEqual([expected]);
  });

  it('is "any" when absent', () => {
    expect(infraOf('cpus: 2')).toEqual([{}]);
  });

  it('rejects unknown clouds with a suggestion or the list of clouds', () => {
    expect(resourceProblems('infra: k8s')).toEqual(["resources.infra: unknown cloud 'k8s'; expected one of: aws, gcp, local"]);
    expect(resourceProblems('infra: kubernetes/ctx')).toEqual([
      "resources.infra: unknown cloud 'kubernetes'; expected one of: aws, gcp, local",
    ]);
    expect(resourceProblems('infra: gpc/us-central1')).toEqual(["resources.infra: unknown cloud 'gpc'; did you mean gcp?"]);
    expect(resourceProblems('infra: AWSS')).toEqual(["resources.infra: unknown cloud 'AWSS'; did you mean aws?"]);
  });

  it.each(['aws/us-east-1/us-east-1a/x', 'aws//us-east-1a', '/us-east-1', '""'])('rejects malformed infra %s', (written) => {
    const [problem] = resourceProblems(`infra: ${written}`);
    expect(problem).toMatch(/^resources\.infra: invalid infra '.*'; write CLOUD, CLOUD\/REGION or CLOUD\/REGION\/ZONE, with \* for any part$/);
  });

  it('rejects a zone outside its region on AWS and GCP', () => {
    expect(resourceProblems('infra: aws/us-east-1/us-west-2a')).toEqual([
      "resources: zone 'us-west-2a' is not in region 'us-east-1'",
    ]);
    expect(resourceProblems('infra: gcp/us-central1/europe-west4-a')).toEqual([
      "resources: zone 'europe-west4-a' is not in region 'us-central1'",
    ]);
  });

  it('rejects a non-string infra', () => {
    expect(resourceProblems('infra: [aws]')).toEqual(['resources.infra: must be a string such as aws/us-east-1 (got a list)']);
  });
});

describe('cloud/region/zone keys', () => {
  it('read like infra, clouds case-insensitive', () => {
    expect(infraOf('cloud: AWS\nregion: us-east-1\nzone: us-east-1c')).toEqual([
      { cloud: 'aws', region: 'us-east-1', zone: 'us-east-1c' },
    ]);
    expect(infraOf('region: eu-west-1')).toEqual([{ region: 'eu-west-1' }]);
  });

  it('cannot be combined with infra at the same level', () => {
    expect(resourceProblems('infra: aws\ncloud: gcp\nzone: x')).toEqual(['resources.infra: use either infra or cloud/zone, not both']);
  });

  it('rejects an unknown cloud', () => {
    expect(resourceProblems('cloud: azure')).toEqual(["resources.cloud: unknown cloud 'azure'; expected one of: aws, gcp, local"]);
  });
});

describe('infra in candidates', () => {
  it('a candidate infra replaces the outer one; a lone region key replaces only the region', () => {
    expect(
      infraOf(`
        infra: aws/us-east-1/us-east-1a
        any_of:
          - infra: gcp
          - region: us-west-2
            zone: us-west-2b
          - use_spot: true
      `),
    ).toEqual([
      { cloud: 'gcp' },
      { cloud: 'aws', region: 'us-west-2', zone: 'us-west-2b' },
      { cloud: 'aws', region: 'us-east-1', zone: 'us-east-1a' },
    ]);
  });

  it('reports a zone mismatch a candidate introduces at that candidate, once', () => {
    expect(
      resourceProblems(`
        infra: aws/us-east-1
        ordered:
          - zone: us-east-1a
          - zone: us-west-2a
      `),
    ).toEqual(["resources.ordered[1]: zone 'us-west-2a' is not in region 'us-east-1'"]);
  });
});
