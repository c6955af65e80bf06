// bench:local — submit→RUNNING and submit→SUCCEEDED of a trivial job on the embedded default,
// through the real CLI path's API (HTTP), the real control plane and real agent processes.
// Prints median and p95 over 20 runs. Not a test: it measures, it does not judge.
import '../core/polyfills.ts';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir, cpus, platform, release } from 'node:os';
import { startControlPlane } from '../local/control-plane.ts';

const RUNS = Number(process.env.RUNS ?? 20);
const YAML = 'name: trivial\nresources:\n  infra: local\nrun: echo hi\n';

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

async function main() {
  const home = mkdtempSync(join(tmpdir(), 'skyless-bench-local-'));
  const plane = await startControlPlane({ home });
  const toRunning: number[] = [];
  const toSucceeded: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      const res = await fetch(`${plane.url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${plane.apiToken}` }, body: JSON.stringify({ yaml: YAML, source: 'trivial.yaml' }) });
      const { jobIds } = (await res.json()) as { jobIds: number[] };
      let running: number | undefined;
      for (;;) {
        const { job } = (await (await fetch(`${plane.url}/jobs/${jobIds[0]}`, { headers: { authorization: `Bearer ${plane.apiToken}` } })).json()) as { job: { status: string; finished: boolean; tasks: { startedAt?: number }[] } };
        if (running === undefined && (job.status === 'RUNNING' || job.finished)) running = performance.now() - t0;
        if (job.finished) {
          if (job.status !== 'SUCCEEDED') throw new Error(`run ${i}: job ended ${job.status}`);
          toSucceeded.push(performance.now() - t0);
          toRunning.push(running!);
          break;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  } finally {
    await plane.stop();
    rmSync(home, { recursive: true, force: true });
  }
  const row = (name: string, xs: number[]) => `${name.padEnd(22)} ${pct(xs, 50).toFixed(0).padStart(8)} ${pct(xs, 95).toFixed(0).padStart(8)}`;
  console.log(`bench:local — ${RUNS} trivial jobs (echo hi), one at a time, polled every 10 ms`);
  console.log(`machine: ${platform()} ${release()}, ${cpus().length}× ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
  console.log(`${'interval'.padEnd(22)} ${'p50 (ms)'.padStart(8)} ${'p95 (ms)'.padStart(8)}`);
  console.log(row('submit → RUNNING', toRunning));
  console.log(row('submit → SUCCEEDED', toSucceeded));
}

await main();
