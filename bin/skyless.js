#!/usr/bin/env node
// Entry shim. Runs the CLI from its start-up cache (bin/cli-cache.js: an esbuild bundle of the sources,
// rebuilt first whenever a source changed), or through tsx when esbuild is not installed or
// SKYLESS_NO_CLI_CACHE=1. Either way a fresh clone needs no build step.
// The AWS SDK warns once per process that it will need Node 22 from 2027; skyless runs on Node 20
// locally (Lambdas run Node 22), so the notice would only clutter every command's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import { pathToFileURL } from 'node:url';
import { freshBuild, build } from './cli-cache.js';

async function entry() {
  if (process.env.SKYLESS_NO_CLI_CACHE === '1') return undefined;
  try {
    return freshBuild() ?? (await build());
  } catch {
    return undefined; // no esbuild (production install) or a build error: tsx reports errors with their source
  }
}

const bundled = await entry();
if (bundled) await import(pathToFileURL(bundled).href);
else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
