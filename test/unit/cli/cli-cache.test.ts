// bin/cli-cache.js: the CLI's start-up bundle must never run stale. A throw-away project with the
// repo's layout (cli/main.ts importing a second source) is built, run, edited and run again.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, utimesSync, statSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
// @ts-expect-error plain JavaScript module without types (it runs before any TypeScript can)
import { build, freshBuild } from '../../../bin/cli-cache.js';

let root: string;
const run = (entry: string) => execFileSync(process.execPath, [entry], { encoding: 'utf8' }).trim();

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'skyless-cli-cache-'));
  mkdirSync(join(root, 'cli'));
  mkdirSync(join(root, 'data'));
  writeFileSync(join(root, 'package-lock.json'), '{}');
  writeFileSync(join(root, 'data', 'x.txt'), 'from a file beside the source');
  writeFileSync(join(root, 'cli', 'main.ts'), "import { word } from './word.ts';\nimport { readFileSync } from 'node:fs';\nconst w: string = word;\nconsole.log(w, readFileSync(new URL('../data/x.txt', import.meta.url), 'utf8'));\n");
  writeFileSync(join(root, 'cli', 'word.ts'), "export const word = 'AAAA';\n");
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('the CLI start-up cache', () => {
  it('runs the build while no source changed, and resolves paths relative to each source file', async () => {
    expect(freshBuild(root)).toBeUndefined();
    const entry = await build(root);
    expect(freshBuild(root)).toBe(entry);
    expect(run(entry)).toBe('AAAA from a file beside the source');
    const manifest = JSON.parse(readFileSync(join(root, 'node_modules', '.cache', 'skyless-cli', 'manifest.json'), 'utf8'));
    expect(Object.keys(manifest.inputs).sort()).toEqual(['cli/main.ts', 'cli/word.ts']);
  });

  it('never reuses a build after an imported source changed, even to the same size', async () => {
    await build(root);
    const file = join(root, 'cli', 'word.ts');
    const before = statSync(file);
    writeFileSync(file, "export const word = 'BBBB';\n"); // same size
    utimesSync(file, before.atime, new Date(before.mtimeMs + 1000)); // a distinct mtime, whatever the clock's granularity
    expect(freshBuild(root)).toBeUndefined();
    const entry = await build(root);
    expect(run(entry)).toMatch(/^BBBB /);
  });

  it('rebuilds when a source is deleted or the lock file changes', async () => {
    await build(root);
    writeFileSync(join(root, 'package-lock.json'), '{"changed":true}');
    expect(freshBuild(root)).toBeUndefined();
    await build(root);
    rmSync(join(root, 'cli', 'word.ts'));
    expect(freshBuild(root)).toBeUndefined();
  });
});
