// bench:recovery — how fast a preempted job gets its replacement, on the embedded default: the real
// control plane (in-process), real agent processes, and preemptions injected exactly as
// `skyless local preempt` does (kill the node, deliver the EC2 interruption warning and state
// changes to the events handler). Over COUNT preemptions (default 50) of one long-running job, it
// prints the median and p95 of
//   (a) interruption event delivered → the replacement's provider.launch call, and
//   (b) interruption event delivered → the task RUNNING again (all nodes registered),
// from timestamps recorded in-process: (a) by wrapping the provider, (b) from the job's own status
// change events ("Managed Job Status Change" on the local bus, stamped when the change is stored).
// Goal: < 2 s to the launch call (SkyPilot's controller polls every 15 s). Measures, does not judge.
import '../core/polyfills.ts';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir, cpus, platform, release, loadavg } from 'node:os';
import { startControlPlane } from '../local/control-plane.ts';
import { injectPreemption } from '../local/admin.ts';
import { findMachineProcesses } from '../adapters/local/process-provider.ts';
import { STATUS_CHANGE } from '../core/usecases/integration-events.ts';
import type { ComputeProvider } from '../core/ports.ts';

const COUNT = Number(process.env.COUNT ?? 50);
const YAML = 'name: bench-recovery\nresources:\n  infra: local\nrun: |\n  echo "TASK_ID=$SKYPILOT_TASK_ID"\n  sleep 3600\n';

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const home = mkdtempSync(join(tmpdir(), 'skyless-bench-recovery-'));
  const plane = await startControlPlane({ home, log: (msg, f) => process.stderr.write(`${msg} ${JSON.stringify(f ?? {})}\n`) });

  // (a) every launch call, by attempt number.
  const launchAt = new Map<number, number>();
  const inner = plane.deps.providers.local as ComputeProvider;
  plane.deps.providers.local = {
    cloud: inner.cloud,
    launch: (req) => {
      if (!launchAt.has(req.attempt)) launchAt.set(req.attempt, Date.now());
      return inner.launch(req);
    },
    terminate: (...a) => inner.terminate(...a),
    describe: (...a) => inner.describe(...a),
  };
  // (b) every time the task became RUNNING, in order.
  const runningAt: number[] = [];
  plane.bus.subscribe(async (e) => {
    if (e['detail-type'] === STATUS_CHANGE && e.detail.status === 'RUNNING') runningAt.push(Date.parse(e.time!));
  });

  const toLaunch: number[] = [];
  const toRunning: number[] = [];
  let jobId = 0;
  try {
    const res = await fetch(`${plane.url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${plane.apiToken}` }, body: JSON.stringify({ yaml: YAML, source: 'bench.yaml' }) });
    if (!res.ok) throw new Error(`submit failed: ${res.status} ${await res.text()}`);
    jobId = ((await res.json()) as { jobIds: number[] }).jobIds[0];
    for (let i = 0; i < COUNT; i++) {
      // Wait until attempt i+1 runs (all its nodes registered) and the previous one is torn down.
      const attempt = i + 1;
      const deadline = Date.now() + 60_000;
      for (;;) {
        const job = await plane.deps.store.getJob(jobId);
        const a = await plane.deps.store.getAttempt(jobId, 0, attempt);
        const prev = attempt > 1 ? await plane.deps.store.getAttempt(jobId, 0, attempt - 1) : undefined;
        if (job?.status === 'RUNNING' && a?.state === 'RUNNING' && (!prev || prev.state === 'ENDED')) break;
        if (job && job.status !== 'RUNNING' && job.status !== 'RECOVERING' && job.status !== 'STARTING' && job.status !== 'PENDING') throw new Error(`job ended ${job.status}`);
        if (Date.now() > deadline) throw new Error(`attempt ${attempt} did not reach RUNNING within 60 s (job ${job?.status})`);
        await sleep(20);
      }
      await sleep(200); // let the agent settle into its run (heartbeating) before the next preemption
      const runningBefore = runningAt.length;
      const r = await injectPreemption(plane, { jobId });
      const t0 = r.firstEventAt!;
      const handled = r.events.some((e) => (e.result as { handled?: boolean })?.handled);
      if (!handled) throw new Error(`preemption ${i + 1}: no event was handled: ${JSON.stringify(r.events)}`);
      const until = Date.now() + 60_000;
      while ((!launchAt.has(attempt + 1) || runningAt.length <= runningBefore) && Date.now() < until) await sleep(5);
      if (!launchAt.has(attempt + 1)) throw new Error(`preemption ${i + 1}: no launch of attempt ${attempt + 1} within 60 s`);
      toLaunch.push(launchAt.get(attempt + 1)! - t0);
      toRunning.push(runningAt[runningBefore] - t0);
      process.stderr.write(`preemption ${String(i + 1).padStart(2)}: launch call +${toLaunch.at(-1)} ms, RUNNING again +${toRunning.at(-1)} ms\n`);
    }
  } finally {
    if (jobId) {
      await fetch(`${plane.url}/jobs/cancel`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${plane.apiToken}` }, body: JSON.stringify({ jobIds: [jobId] }) });
      const until = Date.now() + 30_000;
      while (Date.now() < until && !(await plane.deps.store.getJob(jobId))?.finalizedAt) await sleep(50);
    }
    await plane.stop();
    // Nothing of this home may outlive the bench (agents are detached process groups).
    const instances = join(home, 'local', 'instances');
    for (const id of existsSync(instances) ? readdirSync(instances) : []) for (const pid of findMachineProcesses(join(instances, id))) process.kill(pid, 'SIGKILL');
    rmSync(home, { recursive: true, force: true });
  }

  const cpu = cpus();
  const row = (name: string, xs: number[]) =>
    `${name.padEnd(40)} ${pct(xs, 50).toFixed(0).padStart(8)} ${pct(xs, 95).toFixed(0).padStart(8)} ${Math.max(...xs).toFixed(0).padStart(8)}`;
  console.log(`bench:recovery — ${toLaunch.length} injected preemptions of one running job (cloud local, in-process control plane, real agents)`);
  console.log(`machine: ${platform()} ${release()}, ${cpu.length}× ${cpu[0]?.model ?? 'cpu'}, node ${process.version}, load average ${loadavg()[0].toFixed(2)}`);
  console.log(`${'interval'.padEnd(40)} ${'p50 (ms)'.padStart(8)} ${'p95 (ms)'.padStart(8)} ${'max (ms)'.padStart(8)}`);
  console.log(row('interruption event → replacement launch', toLaunch));
  console.log(row('interruption event → RUNNING again', toRunning));
  console.log(`goal: < 2000 ms to the launch call — ${pct(toLaunch, 95) < 2000 ? 'met' : 'NOT met'} at p95 (SkyPilot polls every 15 s)`);
}

await main();
