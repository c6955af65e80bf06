// `skyless config set endpoint URL [--region R]`, `config show`, `config unset endpoint`: the file
// cli/client.ts reads ($SKYLESS_HOME/config.json).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { cli, freshHome, readJson } from './helpers.ts';
import { readConfig } from '../../../cli/client.ts';

let home: ReturnType<typeof freshHome>;
beforeEach(() => {
  home = freshHome();
});
afterEach(() => home.cleanup());

const API = 'https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com';

describe('skyless config', () => {
  it('sets an execute-api endpoint, reading the region from the URL; client.ts reads it back', async () => {
    const r = await cli(['config', 'set', 'endpoint', `${API}/`]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toContain(`Endpoint set to ${API} (region eu-west-1)`);
    expect(readJson(home.configFile)).toEqual({ endpoint: API, region: 'eu-west-1' });
    expect(readConfig()).toEqual({ endpoint: API, region: 'eu-west-1' });
  });

  it('takes --region for a custom domain, and requires it there', async () => {
    const missing = await cli(['config', 'set', 'endpoint', 'https://skyless.example.com']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot be read from it: add --region/);
    expect(existsSync(home.configFile)).toBe(false);
    const ok = await cli(['config', 'set', 'endpoint', 'https://skyless.example.com', '--region', 'us-west-2']);
    expect(ok.code).toBe(0);
    expect(readJson(home.configFile)).toEqual({ endpoint: 'https://skyless.example.com', region: 'us-west-2' });
  });

  it('refuses bad input, naming it, and leaves the file alone', async () => {
    await cli(['config', 'set', 'endpoint', API]);
    for (const [args, message] of [
      [['config', 'set', 'endpoint', 'not a url'], /'not a url' is not a URL/],
      [['config', 'set', 'endpoint', 'ftp://x.example.com', '--region', 'us-east-1'], /must be an http\(s\) URL/],
      [['config', 'set', 'endpoint', API, '--region', 'us-east-1'], /--region us-east-1 disagrees with the endpoint's region eu-west-1/],
      [['config', 'set', 'endpoint', 'https://x.example.com', '--region', 'Mars'], /--region 'Mars' is not an AWS region name/],
      [['config', 'unset', 'region'], /the only value is 'endpoint'/],
    ] as const) {
      const r = await cli([...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect(readJson(home.configFile)).toEqual({ endpoint: API, region: 'eu-west-1' });
  });

  it('shows the configuration and an environment override; unset returns to local mode', async () => {
    const none = await cli(['config', 'show'], {});
    expect(none.stdout).toContain('endpoint:    (none: the local control plane)');
    await cli(['config', 'set', 'endpoint', API]);
    const shown = await cli(['config', 'show'], { SKYLESS_ENDPOINT: 'http://127.0.0.1:9' });
    expect(shown.stdout).toContain(`endpoint:    ${API}`);
    expect(shown.stdout).toContain('region:      eu-west-1');
    expect(shown.stdout).toContain('SKYLESS_ENDPOINT=http://127.0.0.1:9 overrides');
    const json = JSON.parse((await cli(['config', 'show', '-o', 'json'], {})).stdout);
    expect(json).toEqual({ endpoint: API, region: 'eu-west-1', file: home.configFile });
    const unset = await cli(['config', 'unset', 'endpoint']);
    expect(unset.code).toBe(0);
    expect(readJson(home.configFile)).toEqual({});
    expect((await cli(['config', 'show'], {})).stdout).toContain('(none: the local control plane)');
  });
});
