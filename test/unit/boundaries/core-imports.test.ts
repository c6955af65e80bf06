// The import boundary of core/ (BRIEF "Style", README "Design"): decisions are pure TypeScript that
// imports only other core/ modules and a short allow-list of packages. No adapter, Lambda, CLI,
// local-mode or agent code, no cloud SDK, nothing that needs a particular runtime beside Node's
// crypto. Every import form counts: static, type-only, re-export, dynamic import(), require().
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

const REPO = resolve(import.meta.dirname, '..', '..', '..');
const CORE = join(REPO, 'core');

/** Packages core/ may import. Anything else (an SDK, commander, hono, node:fs, …) is a violation. */
export const CORE_ALLOWED_PACKAGES: ReadonlySet<string> = new Set(['zod', 'yaml', 'node:crypto']);

export interface Violation {
  file: string;
  line: number;
  specifier: string;
  why: string;
}

/** The import specifiers of one TypeScript source, with 1-based line numbers. */
function importsOf(source: string): { specifier: string; line: number }[] {
  const info = ts.preProcessFile(source, true, true);
  return info.importedFiles.map((f) => ({ specifier: f.fileName, line: source.slice(0, f.pos).split('\n').length }));
}

/** What `file` (a path under core/) imports that core/ may not. */
export function coreViolations(file: string, source: string): Violation[] {
  const out: Violation[] = [];
  const rel = relative(REPO, file);
  for (const { specifier, line } of importsOf(source)) {
    if (specifier.startsWith('.')) {
      const target = resolve(dirname(file), specifier);
      if (target !== CORE && !target.startsWith(CORE + sep)) out.push({ file: rel, line, specifier, why: `reaches outside core/ (${relative(REPO, target)})` });
    } else if (!CORE_ALLOWED_PACKAGES.has(specifier)) {
      out.push({ file: rel, line, specifier, why: `package not allowed in core/ (allowed: ${[...CORE_ALLOWED_PACKAGES].join(', ')})` });
    }
  }
  return out;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return tsFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

describe('core/ import boundary', () => {
  it('core/ imports only core/ and the allowed packages', () => {
    const files = tsFiles(CORE);
    expect(files.length).toBeGreaterThan(20);
    const violations = files.flatMap((f) => coreViolations(f, readFileSync(f, 'utf8')));
    expect(violations.map((v) => `${v.file}:${v.line} imports '${v.specifier}': ${v.why}`)).toEqual([]);
  });

  it('the check sees every import form and every forbidden target', () => {
    const file = join(CORE, 'usecases', 'example.ts');
    const source = [
      "import { S3Client } from '@aws-sdk/client-s3';",
      "import type { Client } from '../../cli/client.ts';",
      "export { handler } from '../../lambdas/api/handler.ts';",
      "const m = await import('../../adapters/aws/ec2-provider.ts');",
      "const f = require('node:fs');",
      "import '../../local/control-plane.ts';",
      "import { X } from '../../agent/protocol.ts';",
      "import { ok } from '../job/status.ts';",
      "import { z } from 'zod';",
    ].join('\n');
    const found = coreViolations(file, source).map((v) => [v.line, v.specifier]);
    expect(found).toEqual([
      [1, '@aws-sdk/client-s3'],
      [2, '../../cli/client.ts'],
      [3, '../../lambdas/api/handler.ts'],
      [4, '../../adapters/aws/ec2-provider.ts'],
      [5, 'node:fs'],
      [6, '../../local/control-plane.ts'],
      [7, '../../agent/protocol.ts'],
    ]);
  });
});
