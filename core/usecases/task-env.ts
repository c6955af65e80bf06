// The environment a task's commands see (SPEC §6): SkyPilot's variables, then the task's envs, then
// its secrets (secrets win on a name clash; they only ever travel to the node, never into logs).

import type { JobRecord } from '../job/records.ts';
import type { Candidate } from '../optimizer/types.ts';

/** `secrets`: the task's secret values, opened for this node (secretsForNode); the spec holds only their names. */
export function taskEnvironment(job: JobRecord, taskIndex: number, node: { rank: number; nodeIps: string[]; candidate: Candidate }, secrets: Record<string, string> = {}): Record<string, string> {
  const spec = job.spec.tasks[taskIndex];
  const gpus = node.candidate.accelerator?.count ?? 0;
  const env: Record<string, string> = {
    SKYPILOT_TASK_ID: job.tasks[taskIndex].taskId,
    SKYPILOT_TASK_IDS: job.tasks.map((t) => t.taskId).join('\n'),
    SKYPILOT_MANAGED_JOB_ID: String(job.jobId),
    SKYPILOT_JOB_RANK: String(job.jobRank),
    SKYPILOT_NUM_JOBS: String(job.numJobs),
    SKYPILOT_NODE_RANK: String(node.rank),
    SKYPILOT_NODE_IPS: node.nodeIps.join('\n'),
    SKYPILOT_NUM_NODES: String(node.nodeIps.length),
    SKYPILOT_NUM_GPUS_PER_NODE: String(Math.ceil(gpus)),
  };
  if (gpus >= 1) env.CUDA_VISIBLE_DEVICES = Array.from({ length: Math.floor(gpus) }, (_, i) => i).join(',');
  for (const [k, v] of Object.entries(spec.envs)) if (v !== null) env[k] = v;
  for (const [k, v] of Object.entries(secrets)) env[k] = v;
  return env;
}
