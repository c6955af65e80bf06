// Synthesizes the skyless stack for template assertions, without bundling the Lambda code (the
// `aws:cdk:bundling-stacks: []` context makes NodejsFunction skip esbuild; the template is otherwise
// the one `cdk deploy` would use). One synth takes a few seconds: test files synthesize once.

import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SkylessStack } from '../../stacks/skyless-stack.ts';
import { resolveSettings, type CONTEXT_KEYS } from '../../stacks/settings.ts';

export interface Synthesized {
  app: App;
  stack: SkylessStack;
  template: Template;
  /** The raw template JSON. */
  json: TemplateJson;
  /** The cloud assembly directory (assets such as the state machine definition are staged here). */
  outdir: string;
  /** Logical ID of a construct's CloudFormation resource. */
  logicalId(construct: { node: { defaultChild?: unknown } } | unknown): string;
  cleanup(): void;
}

export interface TemplateJson {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; DependsOn?: string | string[]; Metadata?: Record<string, unknown> }>;
  Outputs?: Record<string, { Value: unknown; Description?: string }>;
}

export function synthSkyless(raw: Partial<Record<(typeof CONTEXT_KEYS)[number], unknown>> = {}, opts: { nag?: boolean } = {}): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), 'skyless-synth-'));
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new SkylessStack(app, 'skyless', { settings: resolveSettings(raw) });
  if (opts.nag) Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  app.synth();
  const template = Template.fromStack(stack);
  return {
    app,
    stack,
    template,
    json: template.toJSON() as TemplateJson,
    outdir,
    logicalId(construct) {
      const c = construct as { node: { defaultChild?: unknown } };
      const target = (c.node.defaultChild ?? c) as Parameters<Stack['getLogicalId']>[0];
      return stack.resolve(stack.getLogicalId(target)) as string;
    },
    cleanup: () => rmSync(outdir, { recursive: true, force: true }),
  };
}
