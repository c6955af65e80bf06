// `skyless init --stack NAME [--region R]`: point the CLI at a deployed stack by reading its
// CloudFormation outputs (output key ApiUrl; see docs/aws-runtime.md), with the standard AWS
// credential chain.

import { Command } from 'commander';
import type { CliIo } from '../io.ts';
import { EXIT } from '../io.ts';
import { configPath, readConfig } from '../client.ts';
import { checkEndpoint, writeConfig, type StoredConfig } from './config.ts';

/** The stack output holding the API base URL (the stack defines it under this key). */
export const API_URL_OUTPUT = 'ApiUrl';

/** Stack states whose outputs describe a deployed API. */
const USABLE_STATUSES = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE', 'IMPORT_COMPLETE', 'UPDATE_IN_PROGRESS', 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS']);

export async function runInit(io: CliIo, stack: string, regionFlag: string | undefined): Promise<number> {
  const region = regionFlag ?? (io.env.AWS_REGION || io.env.AWS_DEFAULT_REGION || undefined);
  if (!region) {
    io.stderr('skyless: say which region the stack is in: --region R (or set AWS_REGION)\n');
    return EXIT.USAGE;
  }
  const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const client = new CloudFormationClient({ region });
  let outputs: { OutputKey?: string; OutputValue?: string }[];
  let status: string;
  try {
    const out = await client.send(new DescribeStacksCommand({ StackName: stack }));
    const found = out.Stacks?.[0];
    if (!found) throw Object.assign(new Error(`Stack with id ${stack} does not exist`), { name: 'ValidationError' });
    outputs = found.Outputs ?? [];
    status = found.StackStatus ?? 'UNKNOWN';
  } catch (err) {
    const e = err as Error;
    if (e.name === 'ValidationError' && /does not exist/.test(e.message)) {
      io.stderr(`skyless: no stack '${stack}' in ${region} (deploy it with \`npx cdk deploy\`, or pass --region)\n`);
      return EXIT.FAILURE;
    }
    if (e.name === 'CredentialsProviderError') {
      io.stderr(`skyless: no AWS credentials found (${e.message}); configure them as for the AWS CLI\n`);
      return EXIT.FAILURE;
    }
    io.stderr(`skyless: cannot read stack '${stack}' in ${region}: ${e.name}: ${e.message}\n`);
    return EXIT.FAILURE;
  } finally {
    client.destroy();
  }
  const apiUrl = outputs.find((o) => o.OutputKey === API_URL_OUTPUT)?.OutputValue;
  if (!apiUrl) {
    const keys = outputs.map((o) => o.OutputKey).join(', ') || 'none';
    io.stderr(`skyless: stack '${stack}' (${status}) has no ${API_URL_OUTPUT} output (outputs: ${keys}); is it a skyless stack?\n`);
    return EXIT.FAILURE;
  }
  if (!USABLE_STATUSES.has(status)) {
    io.stderr(`skyless: stack '${stack}' is ${status}; wait for the deployment to complete\n`);
    return EXIT.FAILURE;
  }
  const checked = checkEndpoint(apiUrl, region);
  if ('error' in checked) {
    io.stderr(`skyless: stack '${stack}' output ${API_URL_OUTPUT}: ${checked.error}\n`);
    return EXIT.FAILURE;
  }
  writeConfig({ ...(readConfig() as StoredConfig), endpoint: checked.endpoint, region, stack });
  io.stdout(`Pointed skyless at ${checked.endpoint} (stack ${stack}, region ${region}); saved in ${configPath()}.\n`);
  return EXIT.OK;
}

export function initCommand(io: CliIo, setExitCode: (code: number) => void): Command {
  return new Command('init')
    .description('Point the CLI at a deployed skyless stack (reads its CloudFormation outputs).')
    .requiredOption('--stack <name>', 'the CloudFormation stack name')
    .option('--region <region>', 'the stack region (default: AWS_REGION)')
    .action(async (flags: { stack: string; region?: string }) => {
      setExitCode(await runInit(io, flags.stack, flags.region));
    });
}
