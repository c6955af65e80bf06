// Launches one attempt with a ProcessProvider and exits: the "control plane process" of the restart
// test. argv[2] = JSON { stateDir, request }.
import { ProcessProvider } from '../../../adapters/local/process-provider.ts';
import { AGENT_SCRIPT_PATH } from '../../../agent/protocol.ts';

const { stateDir, request } = JSON.parse(process.argv[2]);
const provider = new ProcessProvider({ stateDir, agentScript: AGENT_SCRIPT_PATH });
const launched = await provider.launch(request);
process.stdout.write(JSON.stringify(launched));
