// The janitor: finds instances carrying skyless tags that no live attempt owns, terminates them, and
// says so in the owning job's controller log. Runs on the scheduler's sweep ticks.
//
// Terms. An instance's owner is the (job, task, attempt) in its tags. The owner is LIVE when the job
// exists and is not terminal, the task is the job's current task, the attempt is that task's current
// attempt, and the attempt record is not ENDED (a missing record counts as live: the record is
// written only after the provider's launch call returns, so it is missing while a launch is in
// flight). Every other tagged instance is an orphan:
//  - job-unknown: no such job in this deployment's store;
//  - job-over: the job is terminal (its teardown failed, or a launch finished after the end);
//  - other-task: a task the job has moved past (pipelines);
//  - other-attempt: an attempt the task has moved past (a teardown that left something behind);
//  - attempt-ended: the current attempt is ENDED (torn down) yet an instance is still up.
//
// Why this can never kill a live attempt, including one being launched right now: launch() writes
// the task's new attempt number to the job BEFORE calling the provider (core/usecases/workflow/
// launch.ts), and the janitor describes the instances FIRST and reads the jobs AFTER. So any instance the
// describe saw was launched under an attempt number already stored, and the job read afterwards
// shows that number or a later one: `attempt !== current` means the attempt really is past.
// Attempt numbers never go back.

import type { DescribedInstance, ComputeProvider } from '../ports.ts';
import type { JobRecord } from '../job/records.ts';
import { isTerminal } from '../job/status.ts';
import type { Deps } from './deps.ts';

export type OrphanReason = 'job-unknown' | 'job-over' | 'other-task' | 'other-attempt' | 'attempt-ended';

export interface OrphanInstance {
  cloud: string;
  region: string;
  instanceId: string;
  jobId: number;
  taskIndex: number;
  attempt: number;
  why: OrphanReason;
}

export interface JanitorReport {
  /** Tagged instances that were up (not terminated or shutting down) and ours. */
  examined: number;
  /** Orphans whose attempt was terminated this sweep. */
  terminated: OrphanInstance[];
  /** Instances whose skyless tags do not name a job, task, attempt and node (left alone, logged). */
  malformed: string[];
  /** Provider or store failures; the sweep goes on with the rest and retries them next time. */
  errors: string[];
}

const GONE_STATES: ReadonlySet<DescribedInstance['state']> = new Set(['terminated', 'shutting-down']);
/** Jobs read at once while classifying (bounded: a sweep may see thousands of instances). */
const READ_CONCURRENCY = 64;

const EXPLAIN: Record<OrphanReason, (job: JobRecord | undefined) => string> = {
  'job-unknown': () => 'no such job',
  'job-over': (job) => `the job is over (${job?.status})`,
  'other-task': (job) => `the job has moved on to task ${job?.currentTask}`,
  'other-attempt': (job) => `the task is on attempt ${job?.tasks[job.currentTask]?.attempt}`,
  'attempt-ended': () => 'the attempt was already torn down',
};

interface Owned {
  provider: ComputeProvider;
  inst: DescribedInstance;
  jobId: number;
  taskIndex: number;
  attempt: number;
}

function tagInt(inst: DescribedInstance, key: keyof DescribedInstance['tags']): number | undefined {
  const raw = inst.tags[key];
  if (raw === undefined || !/^\d+$/.test(raw)) return undefined;
  return Number(raw);
}

/** Why this instance is an orphan, or undefined when its attempt is live. */
export async function classify(deps: Deps, job: JobRecord | undefined, o: Pick<Owned, 'taskIndex' | 'attempt' | 'jobId'>): Promise<OrphanReason | undefined> {
  if (!job) return 'job-unknown';
  if (isTerminal(job.status)) return 'job-over';
  if (o.taskIndex !== job.currentTask) return 'other-task';
  const task = job.tasks[job.currentTask];
  if (o.attempt !== task.attempt) return 'other-attempt';
  // A job holding a launch or run slot has its current attempt live (the slot is released when the
  // attempt's outcome is decided, before teardown ends it): no need to read the attempt.
  if (job.slot === 'LAUNCHING' || job.slot === 'RUNNING') return undefined;
  const record = await deps.store.getAttempt(o.jobId, o.taskIndex, o.attempt);
  if (record?.state === 'ENDED') return 'attempt-ended';
  return undefined;
}

async function inBatches<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
    }),
  );
}

/** One sweep over every provider's tagged instances. */
export async function sweepOrphans(deps: Deps): Promise<JanitorReport> {
  const report: JanitorReport = { examined: 0, terminated: [], malformed: [], errors: [] };
  // Describe first, read jobs after (see the file comment): the order is what makes this safe.
  const providers = [...new Set(Object.values(deps.providers).filter((p): p is ComputeProvider => p !== undefined))];
  const byJob = new Map<number, Owned[]>();
  for (const provider of providers) {
    let instances: DescribedInstance[];
    try {
      instances = await provider.describe();
    } catch (err) {
      report.errors.push(`describe ${provider.cloud}: ${(err as Error).message}`);
      continue;
    }
    for (const inst of instances) {
      if (GONE_STATES.has(inst.state)) continue;
      const deployment = inst.tags['skyless:deployment'];
      if (deployment !== undefined && deployment !== deps.settings.deployment) continue; // another deployment's
      const jobId = tagInt(inst, 'skyless:job');
      const taskIndex = tagInt(inst, 'skyless:task');
      const attempt = tagInt(inst, 'skyless:attempt');
      if (jobId === undefined || taskIndex === undefined || attempt === undefined || jobId < 1) {
        report.malformed.push(`${inst.cloud}/${inst.region}/${inst.instanceId}`);
        continue;
      }
      report.examined += 1;
      const list = byJob.get(jobId) ?? [];
      list.push({ provider, inst, jobId, taskIndex, attempt });
      byJob.set(jobId, list);
    }
  }
  if (report.malformed.length) deps.log?.('janitor: instances with malformed skyless tags left alone', { instances: report.malformed });

  await inBatches([...byJob.entries()], READ_CONCURRENCY, async ([jobId, owned]) => {
    try {
      const job = await deps.store.getJob(jobId);
      // One terminate per (provider, task, attempt, region): terminate() works per attempt.
      const groups = new Map<string, { o: Owned; why: OrphanReason; instances: DescribedInstance[] }>();
      for (const o of owned) {
        const why = await classify(deps, job, o);
        if (!why) continue;
        const key = `${o.provider.cloud}|${o.taskIndex}|${o.attempt}|${o.inst.region}`;
        const g = groups.get(key) ?? { o, why, instances: [] };
        g.instances.push(o.inst);
        groups.set(key, g);
      }
      for (const { o, why, instances } of groups.values()) {
        try {
          await o.provider.terminate(jobId, o.taskIndex, o.attempt, o.inst.region);
        } catch (err) {
          report.errors.push(`terminate job ${jobId} task ${o.taskIndex} attempt ${o.attempt} in ${o.provider.cloud}/${o.inst.region}: ${(err as Error).message}`);
          continue;
        }
        for (const inst of instances) {
          report.terminated.push({ cloud: inst.cloud, region: inst.region, instanceId: inst.instanceId, jobId, taskIndex: o.taskIndex, attempt: o.attempt, why });
        }
        const ids = instances.map((i) => i.instanceId).join(', ');
        const reason = `janitor: terminated orphan instance(s) ${ids} of task ${o.taskIndex} attempt ${o.attempt} in ${o.provider.cloud}/${o.inst.region}: ${EXPLAIN[why](job)}`;
        if (job) await deps.store.appendEvents([{ jobId, time: deps.clock.now(), task: o.taskIndex, attempt: o.attempt, reason }]);
        else deps.log?.(reason, { jobId });
      }
    } catch (err) {
      report.errors.push(`job ${jobId}: ${(err as Error).message}`);
    }
  });
  report.terminated.sort((a, b) => a.jobId - b.jobId || a.instanceId.localeCompare(b.instanceId));
  if (report.errors.length) deps.log?.('janitor: some orphans could not be handled; retrying next sweep', { errors: report.errors.slice(0, 20) });
  return report;
}
