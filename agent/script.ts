// The agent script, served to nodes by GET /agent/agent.sh (the user-data bootstrap fetches it, so
// that EC2's 16 KB user-data limit never constrains the agent). In the Lambda bundle agent.sh is
// copied beside the handler; in local mode it is read from the source tree.
import { readFile } from 'node:fs/promises';

let cached: string | undefined;

export async function agentScript(): Promise<string> {
  cached ??= await readFile(new URL('./agent.sh', import.meta.url), 'utf8').catch(() => readFile(new URL('./agent.sh', `file://${process.cwd()}/`), 'utf8'));
  return cached;
}
