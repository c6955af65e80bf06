#!/usr/bin/env node
// The CDK app (cdk.json: `npx tsx stacks/app.ts`). Settings come from context (`-c key=value` or the
// "context" block of cdk.json; stacks/settings.ts lists the keys); the stack is named `skyless` for
// the default deployment and `skyless-<deployment>` otherwise (override with `-c stackName=…`).
// cdk-nag's AwsSolutions pack runs on every synth: an unsuppressed finding fails `cdk synth`/`deploy`.

import { App, Aspects, Tags } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SkylessStack } from './skyless-stack.ts';
import { DEFAULT_DEPLOYMENT, settingsFromContext, SettingsError, type SkylessSettings } from './settings.ts';

const app = new App();
let settings: SkylessSettings;
try {
  settings = settingsFromContext((key) => app.node.tryGetContext(key));
} catch (err) {
  // A bad context value is the operator's typo, not a crash: say which key, without a stack trace.
  if (!(err instanceof SettingsError)) throw err;
  process.stderr.write(`skyless stack settings: ${err.message} (set with -c key=value or in cdk.json "context")\n`);
  process.exit(1);
}
const stackName = (app.node.tryGetContext('stackName') as string | undefined) ?? (settings.deployment === DEFAULT_DEPLOYMENT ? 'skyless' : `skyless-${settings.deployment}`);
const stack = new SkylessStack(app, stackName, {
  settings,
  description: `skyless managed jobs control plane (deployment ${settings.deployment})`,
  // No `env`: the stack is environment-agnostic (account and region come from the CLI's credentials at
  // deploy time), so synth needs no AWS access.
});
Tags.of(stack).add('skyless:deployment', settings.deployment);
Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
