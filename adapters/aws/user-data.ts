// The boot script an instance runs once (EC2 user data, or a GCE startup-script): fetch the node
// agent from the control plane and exec it with the environment agent/PROTOCOL.md defines. It is
// deliberately tiny: everything that can change lives in agent.sh, served by the API, so a fix to
// the agent reaches new instances without touching launch code.

import { ValidationError } from '../../core/errors.ts';

/** EC2 refuses user data over 16 KB, counted on the raw script before base64 encoding. */
export const USER_DATA_MAX_BYTES = 16 * 1024;

export type AgentCloud = 'aws' | 'gcp' | 'local';

export interface UserDataInput {
  /** Base URL of the skyless API (`SKYLESS_API_URL`); a trailing slash is dropped. */
  apiUrl: string;
  /** The node's scoped agent token (`SKYLESS_AGENT_TOKEN`). */
  token: string;
  /** Which interruption notice the agent watches (`SKYLESS_CLOUD`). */
  cloud: AgentCloud;
}

/** Quotes a value for POSIX sh: single quotes, with each embedded quote closed, escaped and reopened. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function checkedApiUrl(apiUrl: string): string {
  let parsed: URL;
  try {
    parsed = new URL(apiUrl);
  } catch {
    throw new ValidationError(`user data: apiUrl ${JSON.stringify(apiUrl)} is not a URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new ValidationError(`user data: apiUrl must be http(s), got ${parsed.protocol}`);
  }
  return apiUrl.replace(/\/+$/, '');
}

/** The bootstrap script as plain text (before base64); exported for tests and the GCP provider. */
export function buildUserDataScript(input: UserDataInput): string {
  const apiUrl = checkedApiUrl(input.apiUrl);
  if (!input.token || /[\r\n]/.test(input.token)) {
    throw new ValidationError('user data: token must be a non-empty single line');
  }
  if (input.cloud !== 'aws' && input.cloud !== 'gcp' && input.cloud !== 'local') {
    throw new ValidationError(`user data: cloud must be aws, gcp or local, got ${JSON.stringify(input.cloud)}`);
  }
  // Cloud-init runs this as root, possibly without HOME; the agent's default work dir is
  // $HOME/skyless. The agent's own output stays on the node in $HOME/.skyless-bootstrap/agent.log
  // (the agent ships the user's logs to the API itself). The download loop is a shell loop rather than curl --retry-all-errors, which
  // older curls (Ubuntu 20.04) lack; it waits up to ~10 min for a restarting control plane, the
  // same patience the agent itself has (SKYLESS_API_PATIENCE_SECONDS default).
  return `#!/bin/sh
# skyless node bootstrap: fetch the agent from the control plane and run it.
set -u
export SKYLESS_API_URL=${shellQuote(apiUrl)}
export SKYLESS_AGENT_TOKEN=${shellQuote(input.token)}
export SKYLESS_CLOUD=${shellQuote(input.cloud)}
: "\${HOME:=/root}"
export HOME
dir="$HOME/.skyless-bootstrap"
mkdir -p "$dir"
agent="$dir/agent.sh"
tries=0
until curl -fsS -H "Authorization: Bearer $SKYLESS_AGENT_TOKEN" -o "$agent.part" "$SKYLESS_API_URL/agent/agent.sh"; do
  tries=$((tries + 1))
  if [ "$tries" -ge 120 ]; then echo "skyless: cannot download the agent from $SKYLESS_API_URL" >&2; exit 1; fi
  sleep 5
done
mv "$agent.part" "$agent"
chmod 700 "$agent"
exec "$agent" >>"$dir/agent.log" 2>&1
`;
}

/**
 * The bootstrap script base64-encoded, as RunInstances' UserData wants it. Throws ValidationError
 * when the raw script exceeds EC2's 16 KB limit (only a pathological token or URL could do that).
 */
export function buildUserData(input: UserDataInput): string {
  const script = buildUserDataScript(input);
  const bytes = Buffer.byteLength(script, 'utf8');
  if (bytes > USER_DATA_MAX_BYTES) {
    throw new ValidationError(`user data: bootstrap script is ${bytes} bytes, over EC2's limit of ${USER_DATA_MAX_BYTES}`);
  }
  return Buffer.from(script, 'utf8').toString('base64');
}
