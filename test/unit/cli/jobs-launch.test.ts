// `skyless jobs launch`: the real CLI as a subprocess for the main paths, and in-process (runCli
// with a captured CliIo) for the many flag combinations, which would be slow as processes.

import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, relative, resolve } from 'node:path';
import { runCli } from '../../../cli/program.ts';
import type { CliIo } from '../../../cli/io.ts';
import { candidatesFor } from '../../../core/optimizer/index.ts';
import { parseJobSpec } from '../../../core/spec/index.ts';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const fixture = (name: string) => relative(repo, join(dirname(fileURLToPath(import.meta.url)), 'fixtures', name));

function skyless(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ['bin/skyless.js', ...args], { cwd: repo, env: { ...process.env, ...env, SKYLESS_CLOUDS: env.SKYLESS_CLOUDS ?? '' } }, (error, stdout, stderr) => {
      done({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function inProcess(args: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    readFile: (p) => readFileSync(resolve(repo, p), 'utf8'),
    env,
    cwd: repo,
    interactive: false,
    confirm: async () => {
      throw new Error('the CLI must not prompt when stdin is not a terminal');
    },
  };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

/** Data rows of the considered-resources table(s): the lines between the 2nd and 3rd rule of each. */
function tableRows(stdout: string): string[][] {
  const tables: string[][] = [];
  let rules = 0;
  let current: string[] = [];
  for (const line of stdout.split('\n')) {
    if (/^-{10,}$/.test(line)) {
      rules++;
      if (rules % 3 === 0) {
        tables.push(current);
        current = [];
      }
      continue;
    }
    if (rules % 3 === 2) current.push(line);
  }
  return tables;
}

const costOf = (row: string) => Number(/\s(\d+\.\d+)(\s+✔)?$/.exec(row)![1]);

describe('skyless jobs launch --dry-run (subprocess)', () => {
  it('an {A100:1, L4:1} spot task lists cheaper candidates first, across AWS and GCP', async () => {
    const { code, stdout, stderr } = await skyless(['jobs', 'launch', '--dry-run', fixture('gpu-spot-set.yaml')]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain("Managed job 'finetune' (1 task) would be launched on (estimated):");
    const [rows] = tableRows(stdout);
    expect(rows).toHaveLength(10);
    const costs = rows.map(costOf);
    expect(costs).toEqual([...costs].sort((a, b) => a - b));
    expect(rows.some((r) => r.startsWith(' AWS ('))).toBe(true);
    expect(rows.some((r) => r.startsWith(' GCP ('))).toBe(true);
    expect(rows[0]).toMatch(/✔$/);
    expect(rows.slice(1).every((r) => !r.includes('✔'))).toBe(true);
    expect(rows.every((r) => r.includes('[Spot]'))).toBe(true);
    // The table is the optimizer's list: same length (shown + hidden) and the same first choice.
    const spec = parseJobSpec(readFileSync(join(repo, fixture('gpu-spot-set.yaml')), 'utf8'));
    const all = candidatesFor(spec.tasks[0].resources, 1, { allowedClouds: ['aws', 'gcp'] });
    expect(stdout).toContain(`... ${all.length - 10} more candidates`);
    expect(costs[0]).toBe(Number(all[0].hourlyPrice.toFixed(2)));
    // Both requests of the set are candidates further down the list.
    expect(all.some((c) => c.accelerator?.name === 'A100')).toBe(true);
  });

  it('an invalid file exits 2 and prints every error with the file name', async () => {
    const file = fixture('invalid.yaml');
    const { code, stdout, stderr } = await skyless(['jobs', 'launch', '--dry-run', file]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    const lines = stderr.trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^${file}: name: invalid name '1-bad-name'`)),
      `${file}: num_nodes: must be an integer >= 1 (got 0)`,
      `${file}: resources.accelerators: unknown accelerator 'A1000'; did you mean A100?`,
      `${file}: resources.cpus: invalid cpus 'lots'; must be a number such as 4, or '4+' for at least 4`,
      '4 problems found; nothing was submitted.',
    ]);
  });

  it('a missing file exits 2 with a clear message', async () => {
    const { code, stdout, stderr } = await skyless(['jobs', 'launch', '--dry-run', 'no/such/task.yaml']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe('skyless jobs launch: no/such/task.yaml: file not found\n');
  });

  it('an inline command after -- is a task named sky-cmd', async () => {
    const { code, stdout } = await skyless(['jobs', 'launch', '--dry-run', '--infra', 'local', '--', 'python', 'train.py', '--epochs', '3']);
    expect(code).toBe(0);
    expect(stdout).toContain("Managed job 'sky-cmd' (1 task)");
    const [rows] = tableRows(stdout);
    // local-1 is the cheapest simulated region; default cpus 4+ picks local.cpu.medium first.
    expect(rows[0]).toMatch(/^ Local \(local-1\)\s+local\.cpu\.medium\s+4\s+16\s+-\s+0\.0200\s+✔$/);
  });
});

describe('skyless jobs launch (in-process)', () => {
  it('prints one table per pipeline task, cost × nodes, local regions in price order', async () => {
    const { code, stdout, stderr } = await inProcess(['jobs', 'launch', '--dry-run', fixture('local-pipeline.yaml')]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain("Task 1/2 'extract': considered resources (1 node):");
    expect(stdout).toContain("Task 2/2 'train': considered resources (2 nodes):");
    const [, train] = tableRows(stdout);
    expect(train.map((r) => /\((local-\d[ab])\)/.exec(r)![1])).toEqual(['local-1a', 'local-1b', 'local-2a', 'local-2b', 'local-3a', 'local-3b']);
    // local.gpu.small spot in local-1a: 0.2 × 0.3 = 0.06 per node, 2 nodes.
    expect(costOf(train[0])).toBe(0.12);
  });

  it.each([
    [['--use-spot', 'false'], false],
    [['--use-spot', 'FALSE'], false],
    [['--use-spot=no'], false],
    [['--no-use-spot'], false],
    [['--use-spot', 'true'], true],
    [['--use-spot=1'], true],
    [['--use-spot'], true],
  ])('%j sets the market of every candidate', async (flags, spot) => {
    // The fixture asks for spot; the flag wins. The YAML path comes first, as in the older docs'
    // `sky jobs launch -n bert-qa bert_qa.yaml --use-spot false`.
    const { code, stdout, stderr } = await inProcess(['jobs', 'launch', '--dry-run', '-n', 'bert-qa', fixture('gpu-spot-set.yaml'), ...(flags as string[])]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const [rows] = tableRows(stdout);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.includes('[Spot]') === spot)).toBe(true);
  });

  it('--use-spot before the YAML path does not swallow the path', async () => {
    const { code, stdout } = await inProcess(['jobs', 'launch', '--dry-run', '--use-spot', fixture('gpu-spot-set.yaml')]);
    expect(code).toBe(0);
    expect(stdout).toContain("Managed job 'finetune'");
  });

  it('a YAML path followed by stray words is refused, naming the words, and nothing runs', async () => {
    const { code, stdout, stderr } = await inProcess(['jobs', 'launch', '--dry-run', fixture('gpu-spot-set.yaml'), 'false', 'now']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(`skyless jobs launch: ${fixture('gpu-spot-set.yaml')} is a task file, so the words after it ('false' 'now') are not part of the launch`);
    // Also when the file does not exist but is named like a task file.
    const missing = await inProcess(['jobs', 'launch', '--dry-run', 'bert_qa.yaml', 'false']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("bert_qa.yaml is a task file, so the words after it ('false')");
    // Words after -- are a command even when the first looks like a file.
    const command = await inProcess(['jobs', 'launch', '--dry-run', '--infra', 'local', '--', 'bert_qa.yaml', 'false']);
    expect(command.code).toBe(0);
    expect(command.stdout).toContain("Managed job 'sky-cmd'");
  });

  it('applies --gpus/--infra/--num-nodes overrides before planning', async () => {
    const { code, stdout } = await inProcess(['jobs', 'launch', '--dry-run', '--gpus', 'H100:8', '--infra', 'aws', '--no-use-spot', '--num-nodes', '2', fixture('gpu-spot-set.yaml')]);
    expect(code).toBe(0);
    const [rows] = tableRows(stdout);
    expect(rows.every((r) => /^ AWS \(us-[a-z]+-\d\)\s+p5\.48xlarge\s+192\s+2048\s+H100:8\s+110\.08/.test(r))).toBe(true);
    expect(stdout).toContain('Considered resources (2 nodes):');
  });

  it('infeasible resources exit 2 with the reason', async () => {
    const { code, stdout, stderr } = await inProcess(['jobs', 'launch', '--dry-run', '--gpus', 'H100:16', fixture('gpu-spot-set.yaml')]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(`${fixture('gpu-spot-set.yaml')}: task 'finetune': no feasible resources: no instance has 16 H100 on any enabled cloud (instances offer 1, 2, 4, 8)`);
  });

  it('bad flags exit 2, each named', async () => {
    const { code, stderr } = await inProcess(['jobs', 'launch', '--dry-run', '--gpus', 'X1', '--priority', 'high', '--num-jobs', '3', fixture('gpu-spot-set.yaml')]);
    expect(code).toBe(2);
    expect(stderr).toContain("skyless jobs launch: --gpus: unknown accelerator 'X1'");
    expect(stderr).toContain("skyless jobs launch: --priority: must be a whole number from -1000 to 1000 (got 'high')");
    expect(stderr).toContain('skyless jobs launch: --num-jobs: needs --pool');
    expect(stderr).toContain('3 problems found');
  });

  it('unknown options are usage errors (exit 2); --help exits 0', async () => {
    const bad = await inProcess(['jobs', 'launch', '--bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown option '--bogus'");
    const help = await inProcess(['jobs', 'launch', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--dry-run');
  });

  it('after --, even a YAML file name is a command', async () => {
    const { code, stdout } = await inProcess(['jobs', 'launch', '--dry-run', '--infra', 'local', '--', fixture('gpu-spot-set.yaml')]);
    expect(code).toBe(0);
    expect(stdout).toContain("Managed job 'sky-cmd' (1 task)");
  });

  it('nothing to launch is a usage error', async () => {
    const { code, stderr } = await inProcess(['jobs', 'launch', '--dry-run']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/nothing to launch/);
  });

  it('a dry run shows a job with unset envs; submitting requires them (and --secret fills secrets)', async () => {
    const dry = await inProcess(['jobs', 'launch', '--dry-run', fixture('needs-env.yaml')]);
    expect(dry.code).toBe(0);
    const submit = await inProcess(['jobs', 'launch', '-y', fixture('needs-env.yaml')]);
    expect(submit.code).toBe(2);
    expect(submit.stderr).toContain('envs.HF_TOKEN: no value given; pass --env HF_TOKEN=VALUE');
    expect(submit.stderr).toContain('secrets.API_KEY: no value given; pass --secret API_KEY=VALUE');
    // Every value is known: validation passes and the CLI goes on to contact the API (a closed
    // loopback port here, so the remaining obstacle is the connection).
    const supplied = await inProcess(['jobs', 'launch', '-y', '--env', 'HF_TOKEN', '--secret', 'API_KEY=k', fixture('needs-env.yaml')], { HF_TOKEN: 'hf', SKYLESS_ENDPOINT: 'http://127.0.0.1:9' });
    expect(supplied.stderr).not.toContain('no value given');
    expect(supplied.stderr).toContain('cannot reach the skyless API at http://127.0.0.1:9');
    expect(supplied.code).toBe(1);
  });

  it('--env-file is read relative to the working directory; a missing one is a usage error', async () => {
    const missing = await inProcess(['jobs', 'launch', '--dry-run', '--env-file', 'nope.env', fixture('needs-env.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--env-file nope.env: file not found');
  });

  it('a pool dry run names the pool and warns that setup is ignored', async () => {
    const { code, stdout } = await inProcess(['jobs', 'launch', '--dry-run', '-p', 'workers', '--num-jobs', '4', '--', 'echo', 'hi']);
    expect(code).toBe(0);
    expect(stdout).toContain("Managed job 'sky-cmd' (1 task) would run as 4 jobs on pool 'workers'.");
  });

  it('SKYLESS_CLOUDS restricts the clouds; an unknown name is an error', async () => {
    const gcpOnly = await inProcess(['jobs', 'launch', '--dry-run', fixture('gpu-spot-set.yaml')], { SKYLESS_CLOUDS: 'gcp' });
    expect(gcpOnly.code).toBe(0);
    expect(tableRows(gcpOnly.stdout)[0].every((r) => r.startsWith(' GCP ('))).toBe(true);
    const bad = await inProcess(['jobs', 'launch', '--dry-run', fixture('gpu-spot-set.yaml')], { SKYLESS_CLOUDS: 'gcp,azure' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('SKYLESS_CLOUDS: unknown cloud azure');
  });
});
