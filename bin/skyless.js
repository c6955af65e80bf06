#!/usr/bin/env node
// Entry shim: runs the TypeScript CLI through tsx so that a fresh clone needs no build step.
// The AWS SDK warns once per process that it will need Node 22 from 2027; skyless runs on Node 20
// locally (Lambdas run Node 22), so the notice would only clutter every command's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import { register } from 'tsx/esm/api';
register();
await import('../cli/main.ts');
