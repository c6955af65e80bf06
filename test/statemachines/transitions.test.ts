// Step Functions Standard bills every state entered (and every retry). This counts them on the local
// engine running statemachines/job.asl.json with the real handlers, for a job's happy path and for one
// recovery, and fails if a change adds any: the cost per attempt must not creep back
// (README "The workflow is a ring of waits"; issue 17 goal: ≤ 8 per job, ≤ 4 more per recovery).
import { describe, it, expect, afterEach } from 'vitest';
import { createApiApp } from '../../lambdas/api/app.ts';
import { createHandler as workflowHandler } from '../../lambdas/workflow/handler.ts';
import { createHandler as eventsHandler } from '../../lambdas/events/handler.ts';
import { createHandler as schedulerHandler } from '../../lambdas/scheduler/handler.ts';
import { startSimPlane, simApi, type SimPlane, type SimPlaneOptions } from '../../adapters/sim/sim-plane.ts';
import type { Settings } from '../../core/usecases/deps.ts';

/** The happy path: WaitForLaunchSlot, Route, AwaitNodes, AwaitRun, WaitForLaunchSlot, Route, Done. */
const HAPPY_PATH = 7;
/** A spot preemption while running: WaitForLaunchSlot (teardown, recover, park), Route, AwaitNodes, AwaitRun. */
const PER_RECOVERY = 4;

const HANDLERS: SimPlaneOptions['handlers'] = {
  api: (d) => simApi(createApiApp(d, { callerOf: () => 'tester' })),
  workflow: workflowHandler,
  events: eventsHandler,
  scheduler: schedulerHandler,
};

const YAML = 'name: t\nresources:\n  infra: aws\n  cpus: 2\n  use_spot: true\nrun: python train.py\n';

function settings(): Settings {
  return {
    deployment: 'transitions',
    apiUrl: 'https://api.invalid',
    heartbeatSeconds: 3600,
    heartbeatTimeoutSeconds: 7200,
    registerTimeoutSeconds: 600,
    backoff: { initial: 1, factor: 1.6, max: 2, jitter: 0.4 },
    teardownPollSeconds: 1,
    maxLaunching: 8,
    maxRunning: 8,
    cyclesPerExecution: 500,
    candidatesPerLaunchStep: 10,
    logChunkBytes: 1024 * 1024,
    allowedClouds: ['aws'],
  };
}

async function until(what: string, check: () => boolean, timeoutMs = 240_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('state transitions per job on the local engine (billed on AWS)', () => {
  let plane: SimPlane | undefined;
  const launches: { jobId: number; attempt: number; region: string }[] = [];
  afterEach(async () => {
    await plane?.close();
    plane = undefined;
    launches.length = 0;
  });

  async function start(runSeconds: number): Promise<SimPlane> {
    plane = await startSimPlane({
      settings: settings(),
      cloud: {
        cloud: 'aws',
        timeScale: 0.01,
        launchLatencySeconds: () => 30,
        setupSeconds: () => 10,
        runSeconds: () => runSeconds,
        preemptionsPerHour: 0,
        interruptionNoticeSeconds: 120,
        terminateSeconds: 30,
        onLaunchCall: (l) => launches.push(l),
      },
      seed: 1,
      handlers: HANDLERS,
      scheduleEveryMs: 0,
    });
    return plane;
  }

  const finished = (p: SimPlane) => () => p.census.terminal === 1 && p.workflows.runningExecutions().length === 0;

  it(`a single-attempt job costs ${HAPPY_PATH} transitions from submit to SUCCEEDED`, async () => {
    const p = await start(10);
    expect((await p.api('POST', '/jobs', { yaml: YAML })).status).toBe(201);
    await until('the job to finish', finished(p));
    expect(p.census.byStatus.SUCCEEDED).toBe(1);
    expect(launches).toHaveLength(1);
    expect(p.meter.snapshot().sfnTransitions).toBe(HAPPY_PATH);
  }, 300_000);

  it(`a recovery after a spot preemption costs ${PER_RECOVERY} more`, async () => {
    const p = await start(30 * 86_400); // held until endRuns()
    expect((await p.api('POST', '/jobs', { yaml: YAML })).status).toBe(201);
    await until('the job to run', () => p.census.byStatus.RUNNING === 1 && p.cloud.stats.working === 1);
    expect(p.cloud.reclaimRegion(launches[0].region, 0)).toHaveLength(1);
    await until('the replacement to run', () => launches.length === 2 && p.census.byStatus.RUNNING === 1 && p.cloud.stats.working === 1);
    p.cloud.endRuns(1);
    await until('the job to finish', finished(p));
    expect(p.census.byStatus.SUCCEEDED).toBe(1);
    expect(launches.map((l) => l.attempt)).toEqual([1, 2]);
    expect(p.meter.snapshot().sfnTransitions).toBe(HAPPY_PATH + PER_RECOVERY);
  }, 300_000);
});
