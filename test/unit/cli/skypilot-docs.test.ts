// The SkyPilot documentation corpus (test/fixtures/skypilot-docs/corpus.yaml): every task YAML and
// command line of SkyPilot's managed-jobs and cluster-jobs pages through `skyless jobs launch
// --dry-run`, each accepted with the row its dry run must choose or refused with a message saying
// what to write; every other command must parse with the verbs and flags skyless has. Prints the
// table example → chosen infra/instance/price.

import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { Command } from 'commander';
import { createProgram, runCli } from '../../../cli/program.ts';
import { normalizeUseSpot } from '../../../cli/commands/jobs-launch.ts';
import type { CliIo } from '../../../cli/io.ts';

const dir = join(import.meta.dirname, '../../fixtures/skypilot-docs');

interface Example {
  sky: string;
  pages: string[];
  skyless?: string[];
  chosen?: string[];
  refused?: string;
  pool?: string;
  parses?: boolean;
  unsupported?: string;
  note?: string;
}

const corpus = parse(readFileSync(join(dir, 'corpus.yaml'), 'utf8')) as Example[];

function io(): CliIo & { out: () => string; err: () => string } {
  let stdout = '';
  let stderr = '';
  return {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    readFile: (p) => readFileSync(resolve(dir, p), 'utf8'),
    // The default clouds (AWS and GCP), whatever the machine running the tests sets.
    env: { HOME: dir },
    cwd: dir,
    interactive: false,
    confirm: async () => {
      throw new Error('the CLI must not prompt when stdin is not a terminal');
    },
    out: () => stdout,
    err: () => stderr,
  };
}

/** The rows a dry run marks ✔ (one per task), without the mark. */
function chosenRows(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => /\s✔$/.test(l))
    .map((l) => l.replace(/\s+✔$/, '').trim().replace(/\s+/g, ' '));
}

/** Walks the command tree like commander and returns the options it would not know. */
function unknownOptions(argv: string[]): string[] {
  let cmd: Command = createProgram(io(), () => {});
  let rest = normalizeUseSpot(argv);
  const path: string[] = [];
  for (;;) {
    const next = cmd.commands.find((c) => c.name() === rest[0]);
    if (!next) break;
    cmd = next;
    path.push(rest[0]);
    rest = rest.slice(1);
  }
  // `jobs queue`, `jobs logs`, …: a noun and a verb skyless has.
  expect(path, `${argv.join(' ')}: no such skyless command`).toEqual(argv.slice(0, 2));
  return cmd.parseOptions(rest).unknown.filter((u) => u.startsWith('-'));
}

const table: string[][] = [];

describe('SkyPilot docs corpus', () => {
  it('covers every page', () => {
    const pages = new Set(corpus.flatMap((e) => e.pages));
    expect([...pages].sort()).toEqual(['cluster-jobs', 'jobs-index', 'latest', 'middle', 'older']);
    for (const e of corpus) {
      const outcomes = [e.chosen, e.refused, e.pool, e.parses, e.unsupported].filter((x) => x !== undefined);
      expect(outcomes, e.sky).toHaveLength(1);
    }
  });

  it('the parse check catches a flag or a verb skyless lacks', () => {
    expect(unknownOptions(['jobs', 'queue', '--refresh'])).toEqual(['--refresh']);
    expect(() => unknownOptions(['jobs', 'status'])).toThrow(/no such skyless command/);
  });

  for (const e of corpus) {
    if (e.unsupported !== undefined) {
      it(`${e.sky}: unsupported, with a reason`, () => {
        expect(e.unsupported!.length).toBeGreaterThan(20);
        table.push([e.sky, '(unsupported)', e.unsupported!]);
      });
      continue;
    }
    if (e.parses) {
      it(`${e.sky} → skyless ${e.skyless!.join(' ')}: verbs and flags exist`, () => {
        expect(unknownOptions(e.skyless!)).toEqual([]);
        table.push([e.sky, `skyless ${e.skyless!.join(' ')}`, e.note ?? '']);
      });
      continue;
    }
    it(`${e.sky} → skyless ${e.skyless!.join(' ')} --dry-run`, async () => {
      const cli = io();
      // `--dry-run` right after `launch`: anything after `--` is the job's command.
      const argv = [...e.skyless!];
      argv.splice(2, 0, '--dry-run');
      const code = await runCli(argv, cli);
      if (e.refused !== undefined) {
        expect(code, cli.out()).toBe(2);
        expect(cli.err()).toMatch(new RegExp(e.refused));
        expect(cli.err()).toContain('nothing was submitted');
        table.push([e.sky, 'refused', cli.err().split('\n')[0]]);
        return;
      }
      expect(cli.err()).toBe('');
      expect(code).toBe(0);
      if (e.pool !== undefined) {
        expect(cli.out()).toContain(e.pool);
        table.push([e.sky, e.pool, e.note ?? '']);
        return;
      }
      const rows = chosenRows(cli.out());
      expect(rows).toHaveLength(e.chosen!.length);
      rows.forEach((row, i) => expect(row).toMatch(new RegExp(e.chosen![i])));
      table.push([e.sky, rows.join(' | '), e.note ?? '']);
    });
  }

  afterAll(() => {
    const lines = table.map(([sky, chosen, note]) => `${sky}\n    → ${chosen}${note ? `\n      (${note})` : ''}`);
    console.log(`SkyPilot docs corpus: example → chosen infra / instance / $ per hour\n${lines.join('\n')}`);
  });
});
