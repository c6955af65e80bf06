// `skyless config set endpoint URL [--region R]`, `config unset endpoint`, `config show`: where the
// CLI sends its requests. The file is $SKYLESS_HOME/config.json, read by cli/client.ts: with an
// endpoint the CLI talks to that API (SigV4-signed for execute-api in the region), without one it
// uses the local control plane.

import { Command } from 'commander';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CliIo } from '../io.ts';
import { EXIT } from '../io.ts';
import { configPath, isLoopbackHost, readConfig, type CliConfig } from '../client.ts';

/** What `skyless init` and `config set` store; cli/client.ts reads endpoint and region. */
export type StoredConfig = CliConfig & { stack?: string };

const REGION = /^[a-z]{2}(-gov)?(-[a-z]+)+-\d+$/;

/** The region in an API Gateway URL (`https://<id>.execute-api.<region>.amazonaws.com/…`). */
export function regionOfEndpoint(url: string): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(new URL(url).hostname)?.[1];
}

/** Replaces the config file atomically (a reader never sees half of it). */
export function writeConfig(config: StoredConfig): void {
  const path = configPath();
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, path);
}

/** Checks an endpoint URL and its region; returns the problem, or the normalized values. */
export function checkEndpoint(url: string, region?: string): { error: string } | { endpoint: string; region?: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { error: `'${url}' is not a URL (expected like https://abc123.execute-api.us-east-1.amazonaws.com)` };
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return { error: `'${url}' must be an http(s) URL` };
  if (parsed.search || parsed.hash) return { error: `'${url}' must not have a query or fragment` };
  if (region !== undefined && !REGION.test(region)) return { error: `--region '${region}' is not an AWS region name (like us-east-1)` };
  const fromUrl = regionOfEndpoint(url);
  if (region && fromUrl && region !== fromUrl) return { error: `--region ${region} disagrees with the endpoint's region ${fromUrl}` };
  const loopback = isLoopbackHost(parsed.hostname);
  // Plain http to another machine would send signed requests, job specs and logs in the clear.
  if (parsed.protocol === 'http:' && !loopback) return { error: `'${url}' uses http://; a remote endpoint must use https:// (only 127.0.0.1/localhost may use http)` };
  const r = region ?? fromUrl;
  if (!r && !loopback) return { error: `the region of '${url}' cannot be read from it: add --region (the region the API is deployed in)` };
  return { endpoint: url.replace(/\/+$/, ''), ...(r ? { region: r } : {}) };
}

export function configCommand(io: CliIo, setExitCode: (code: number) => void): Command {
  const config = new Command('config').description('Where the CLI sends requests: an AWS deployment, or the local control plane.');
  const set = new Command('set').description('Set a configuration value.');
  set
    .command('endpoint')
    .description('Use the skyless API at URL (requests are signed with your AWS credentials for that region).')
    .argument('<url>', 'the API URL (the ApiUrl output of the stack)')
    .option('--region <region>', 'AWS region of the API (read from an execute-api URL when omitted)')
    .action((url: string, flags: { region?: string }) => {
      const checked = checkEndpoint(url, flags.region);
      if ('error' in checked) {
        io.stderr(`skyless: ${checked.error}\n`);
        return setExitCode(EXIT.USAGE);
      }
      const { stack: _stack, ...rest } = readConfig() as StoredConfig;
      writeConfig({ ...rest, endpoint: checked.endpoint, ...(checked.region ? { region: checked.region } : { region: undefined }) });
      io.stdout(`Endpoint set to ${checked.endpoint}${checked.region ? ` (region ${checked.region})` : ''} in ${configPath()}.\n`);
      setExitCode(EXIT.OK);
    });
  config.addCommand(set);
  config
    .command('unset')
    .description('Remove a configuration value.')
    .argument('<name>', 'endpoint (the CLI then uses the local control plane)')
    .action((name: string) => {
      if (name !== 'endpoint') {
        io.stderr(`skyless: cannot unset '${name}'; the only value is 'endpoint'\n`);
        return setExitCode(EXIT.USAGE);
      }
      const { endpoint: _e, region: _r, stack: _s, ...rest } = readConfig() as StoredConfig;
      writeConfig(rest);
      io.stdout('Endpoint removed: the CLI uses the local control plane.\n');
      setExitCode(EXIT.OK);
    });
  config
    .command('show')
    .description('Show where the CLI sends requests.')
    .option('-o, --output <format>', 'json for machine-readable output')
    .action((flags: { output?: string }) => {
      const stored = readConfig() as StoredConfig;
      const override = io.env.SKYLESS_ENDPOINT || undefined;
      if (flags.output === 'json') {
        io.stdout(JSON.stringify({ ...stored, ...(override ? { endpointOverride: override } : {}), file: configPath() }, null, 2) + '\n');
        return setExitCode(EXIT.OK);
      }
      const lines = [`config file: ${configPath()}`];
      if (stored.endpoint) {
        lines.push(`endpoint:    ${stored.endpoint}`, `region:      ${stored.region ?? '(from AWS_REGION)'}`);
        if (stored.stack) lines.push(`stack:       ${stored.stack}`);
      } else lines.push('endpoint:    (none: the local control plane)');
      if (override) lines.push(`SKYLESS_ENDPOINT=${override} overrides the endpoint for this shell`);
      io.stdout(lines.join('\n') + '\n');
      setExitCode(EXIT.OK);
    });
  return config;
}
