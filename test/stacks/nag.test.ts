// cdk-nag's AwsSolutions pack on the skyless stack: no unsuppressed error or warning, with the
// default settings and with every optional setting on; every suppression carries a reason; and the
// pack really runs (a deliberately non-compliant resource is reported).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Aspects } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { App } from 'aws-cdk-lib';
import type { SynthesisMessage } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SkylessStack } from '../../stacks/skyless-stack.ts';
import { resolveSettings } from '../../stacks/settings.ts';
import { synthSkyless, type Synthesized } from './synth.ts';

// Synthesis with cdk-nag takes seconds on an idle machine and much longer on a busy one.
const SYNTH_TIMEOUT = 120_000;
const made: Synthesized[] = [];
let defaults: Synthesized;
let everything: Synthesized;
beforeAll(() => {
  defaults = synthSkyless({}, { nag: true });
  everything = synthSkyless(
    {
      deployment: 'team-a',
      allowedRegions: 'us-east-1,eu-west-1',
      nodeReadBuckets: 'datasets-a,datasets-b',
      nodeWriteBuckets: 'checkpoints-a',
      gcpCredentialsSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:skyless/gcp-AbC123',
      vpcId: 'vpc-0123456789abcdef0',
      retainData: false,
      logRetentionDays: 7,
    },
    { nag: true },
  );
  made.push(defaults, everything);
}, SYNTH_TIMEOUT);
afterAll(() => made.forEach((s) => s.cleanup()));

function findings(s: Synthesized) {
  const a = Annotations.fromStack(s.stack);
  const show = (m: SynthesisMessage) => `${m.id}: ${String(m.entry.data).split('\n')[0]}`;
  return {
    errors: a.findError('*', Match.anyValue()).map(show),
    warnings: a.findWarning('*', Match.anyValue()).map(show),
  };
}

describe('cdk-nag AwsSolutions', () => {
  it('reports no unsuppressed error or warning with the default settings', () => {
    expect(findings(defaults)).toEqual({ errors: [], warnings: [] });
  });

  it('reports none with every optional setting on (regions, node buckets, GCP secret, VPC, data not retained)', () => {
    expect(findings(everything)).toEqual({ errors: [], warnings: [] });
  });

  it('every suppression names an AwsSolutions rule and gives a reason of a sentence or more', () => {
    let count = 0;
    for (const [id, r] of [defaults, everything].flatMap((s) => Object.entries(s.json.Resources))) {
      const rules = (r.Metadata?.cdk_nag as { rules_to_suppress?: { id: string; reason: string }[] } | undefined)?.rules_to_suppress ?? [];
      for (const rule of rules) {
        count++;
        expect(rule.id, id).toMatch(/^AwsSolutions-[A-Z]+\d+$/);
        expect(rule.reason.length, `${id} ${rule.id}`).toBeGreaterThanOrEqual(60);
      }
    }
    expect(count).toBeGreaterThan(0);
  });

  it('really checks: a bucket added without TLS enforcement or access logs is reported', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new SkylessStack(app, 'skyless', { settings: resolveSettings({}) });
    new s3.Bucket(stack, 'Careless');
    Aspects.of(app).add(new AwsSolutionsChecks());
    app.synth();
    const errors = Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-S(1|10)'));
    expect(errors.map((e) => e.id)).toEqual(expect.arrayContaining(['/skyless/Careless/Resource']));
  }, SYNTH_TIMEOUT);
});
