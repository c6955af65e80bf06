// The bootstrap script is run for real by /bin/sh with a stand-in `curl` first on PATH: it must
// download the agent from `${apiUrl}/agent/agent.sh` with the token and exec it with the
// agent/PROTOCOL.md environment, whatever characters the token holds.

import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { USER_DATA_MAX_BYTES, buildUserData, buildUserDataScript } from '../../../adapters/aws/user-data.ts';
import { ValidationError } from '../../../core/errors.ts';

const run = promisify(execFile);
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skyless-userdata-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * A `curl` that records its arguments and, for -o FILE, writes an "agent" that dumps the SKYLESS_*
 * environment it was exec'd with.
 */
async function installFakeCurl(): Promise<string> {
  const bin = join(dir, 'bin');
  await run('mkdir', ['-p', bin]);
  const curl = join(bin, 'curl');
  await writeFile(
    curl,
    `#!/bin/sh
printf '%s\\n' "$@" > "${dir}/curl-args"
out=""
while [ $# -gt 0 ]; do
  if [ "$1" = "-o" ]; then out="$2"; shift; fi
  shift
done
cat > "$out" <<'AGENT'
#!/bin/sh
env | grep '^SKYLESS_' | sort > "$HOME/agent-env"
echo "agent ran as $0"
AGENT
`,
  );
  await chmod(curl, 0o755);
  return bin;
}

describe('buildUserData', () => {
  it('downloads the agent with the token and execs it with the protocol environment', async () => {
    const bin = await installFakeCurl();
    const token = `tok'en with "quotes" $HOME \`x\` and spaces`;
    const userData = buildUserData({ apiUrl: 'https://api.example.com/prod/', token, cloud: 'aws' });
    const script = Buffer.from(userData, 'base64').toString('utf8');
    await writeFile(join(dir, 'user-data.sh'), script);

    await run('/bin/sh', [join(dir, 'user-data.sh')], { env: { PATH: `${bin}:/usr/bin:/bin`, HOME: dir } });

    const curlArgs = (await readFile(join(dir, 'curl-args'), 'utf8')).trim().split('\n');
    expect(curlArgs).toContain('https://api.example.com/prod/agent/agent.sh');
    expect(curlArgs).toContain(`Authorization: Bearer ${token}`);
    const env = (await readFile(join(dir, 'agent-env'), 'utf8')).trim().split('\n');
    expect(env).toEqual([
      `SKYLESS_AGENT_TOKEN=${token}`,
      'SKYLESS_API_URL=https://api.example.com/prod',
      'SKYLESS_CLOUD=aws',
    ]);
    expect(await readFile(join(dir, '.skyless-bootstrap', 'agent.log'), 'utf8')).toContain('agent ran as');
  });

  it('stays far below the 16 KB EC2 limit for a realistic token', () => {
    const bytes = Buffer.byteLength(buildUserDataScript({ apiUrl: 'https://abc.execute-api.us-east-1.amazonaws.com', token: 'x'.repeat(400), cloud: 'aws' }));
    expect(bytes).toBeLessThan(2048);
  });

  it('refuses a script over 16 KB, and bad inputs, with ValidationError naming the problem', () => {
    expect(() => buildUserData({ apiUrl: 'https://a.test', token: 'x'.repeat(USER_DATA_MAX_BYTES), cloud: 'aws' })).toThrow(
      /over EC2's limit of 16384/,
    );
    expect(() => buildUserData({ apiUrl: 'not a url', token: 't', cloud: 'aws' })).toThrow(ValidationError);
    expect(() => buildUserData({ apiUrl: 'ftp://a.test', token: 't', cloud: 'aws' })).toThrow(/http\(s\)/);
    expect(() => buildUserData({ apiUrl: 'https://a.test', token: 'a\nb', cloud: 'aws' })).toThrow(/single line/);
    expect(() => buildUserData({ apiUrl: 'https://a.test', token: 't', cloud: 'azure' as 'aws' })).toThrow(/aws, gcp or local/);
  });
});
