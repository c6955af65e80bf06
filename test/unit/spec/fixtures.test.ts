// Table-driven: every YAML under test/fixtures/specs/valid parses to its `.expected.json`, and every
// YAML under invalid/ is rejected with exactly the messages of its `.expected.txt`. The expected
// files were written from the rules of docs/behaviour.md §1, not captured from the parser.

import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseJobSpec } from '../../../core/spec/index.ts';
import { SpecError } from '../../../core/errors.ts';

const root = join(import.meta.dirname, '../../fixtures/specs');

function yamlFiles(folder: string): string[] {
  return readdirSync(join(root, folder))
    .filter((file) => file.endsWith('.yaml'))
    .sort();
}

/** Parses as the CLI would for a file: the source is the path, so unnamed tasks take its base name. */
function parseFixture(folder: string, file: string) {
  const source = `test/fixtures/specs/${folder}/${file}`;
  return parseJobSpec(readFileSync(join(root, folder, file), 'utf8'), { source });
}

describe('valid spec fixtures', () => {
  const files = yamlFiles('valid');

  it('has at least 25 fixtures, each with an expected JSON', () => {
    expect(files.length).toBeGreaterThanOrEqual(25);
    for (const file of files) expect(existsSync(join(root, 'valid', file.replace(/\.yaml$/, '.expected.json')))).toBe(true);
  });

  it.each(files)('%s', (file) => {
    const expected = JSON.parse(readFileSync(join(root, 'valid', file.replace(/\.yaml$/, '.expected.json')), 'utf8'));
    // The JSON round trip drops undefined fields, exactly as storing the spec would.
    const parsed = JSON.parse(JSON.stringify(parseFixture('valid', file)));
    expect(parsed).toEqual(expected);
  });
});

describe('invalid spec fixtures', () => {
  const files = yamlFiles('invalid');

  it('has at least 15 fixtures, each with expected messages', () => {
    expect(files.length).toBeGreaterThanOrEqual(15);
    for (const file of files) expect(existsSync(join(root, 'invalid', file.replace(/\.yaml$/, '.expected.txt')))).toBe(true);
  });

  it.each(files)('%s', (file) => {
    const expected = readFileSync(join(root, 'invalid', file.replace(/\.yaml$/, '.expected.txt')), 'utf8')
      .split('\n')
      .filter((line) => line !== '');
    let error: unknown;
    try {
      parseFixture('invalid', file);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SpecError);
    const specError = error as SpecError;
    expect(specError.name).toBe('SpecError');
    expect(specError.source).toBe(`test/fixtures/specs/invalid/${file}`);
    // Every problem is listed once; the order of discovery is not part of the contract.
    expect([...specError.message.split('\n')].sort()).toEqual([...expected].sort());
    expect(specError.issues).toHaveLength(expected.length);
  });
});
