// Reading the YAML text into documents, with YAML-level problems (syntax errors, duplicate keys)
// turned into spec issues that carry their line and column.
//
// YAML 1.1 is used because SkyPilot reads task files with PyYAML, a YAML 1.1 parser: `use_spot: yes`
// is true there, and `<<: *defaults` merge keys work. Where the `yaml` library's 1.1 schema is looser
// than PyYAML's, PyYAML's rule is restored (see pyyamlTags): above all `workdir: .` must
// stay the string ".", not become NaN. Duplicate keys are errors (PyYAML silently keeps the last
// one, which hides typos such as two `run:` blocks).
//
// Messages from the YAML library end with an excerpt of the offending source line; only their first
// sentence is kept, so that a secret on that line is never echoed.

import { isMap, isPair, isScalar, isSeq, parseAllDocuments, type Document, type SchemaOptions } from 'yaml';
import { joinPath, type IssueList } from './issues.ts';

type Tags = Exclude<NonNullable<SchemaOptions['customTags']>, (tags: never) => unknown>;

/**
 * Where PyYAML reads plain scalars differently from the `yaml` library's 1.1 schema: PyYAML needs a
 * digit in a float (`.` and `-.` are strings), and does not read the single letters y/Y/n/N as
 * booleans. Each library tag is recognized by a value only it accepts, and given PyYAML's pattern.
 */
const PYYAML_FLOAT = /^[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*)$/;
const PYYAML_TRUE = /^(?:[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON)$/;
const PYYAML_FALSE = /^(?:[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/;

function pyyamlTags(tags: Tags): Tags {
  return tags.map((tag) => {
    if (typeof tag !== 'object' || !('test' in tag) || !(tag.test instanceof RegExp)) return tag;
    if (tag.tag === 'tag:yaml.org,2002:float' && tag.test.test('.')) return { ...tag, test: PYYAML_FLOAT };
    if (tag.tag === 'tag:yaml.org,2002:bool' && tag.test.test('y')) return { ...tag, test: PYYAML_TRUE };
    if (tag.tag === 'tag:yaml.org,2002:bool' && tag.test.test('n')) return { ...tag, test: PYYAML_FALSE };
    return tag;
  }) as Tags;
}

export interface SourceDocument {
  /** The parsed document (for the source text of scalars). */
  node: Document;
  /** Plain JS value of the document; undefined when conversion failed (`conversionError` says why). */
  data: unknown;
  conversionError?: string;
}

/** Every non-empty document of the stream, in order. */
export function readDocuments(text: string): SourceDocument[] {
  const documents: SourceDocument[] = [];
  for (const node of parseAllDocuments(text, {
    version: '1.1',
    customTags: pyyamlTags,
    uniqueKeys: true,
    prettyErrors: true,
  })) {
    const document: SourceDocument = { node, data: undefined };
    try {
      document.data = node.toJS({ maxAliasCount: 100 });
    } catch (error) {
      // e.g. alias expansion beyond maxAliasCount (a "billion laughs" document).
      document.conversionError = error instanceof Error ? firstSentence(error.message) : String(error);
    }
    // A document holding nothing (comments only, a trailing `---`) is skipped, as SkyPilot does.
    const empty = (document.data === null || document.data === undefined) && !hasYamlErrors(document);
    if (!empty) documents.push(document);
  }
  return documents;
}

export function hasYamlErrors(document: SourceDocument): boolean {
  return document.node.errors.length > 0 || document.conversionError !== undefined;
}

/**
 * Reports a document's YAML errors. `prefix` is where the document sits (`tasks[1]`, `header`, or ''
 * for a single task); a duplicate key is reported at its own path (`tasks[1].resources.cpus`).
 */
export function reportYamlErrors(document: SourceDocument, issues: IssueList): void {
  for (const error of document.node.errors) {
    const where = error.linePos ? `line ${error.linePos[0].line}, column ${error.linePos[0].col}` : undefined;
    if (error.code === 'DUPLICATE_KEY') {
      const path = keyPathAt(document.node.contents, error.pos[0], '') ?? '';
      issues.add(path, `duplicate key${where ? ` (${where})` : ''}`);
    } else {
      issues.add('', `invalid YAML${where ? ` at ${where}` : ''}: ${firstSentence(error.message)}`);
    }
  }
  if (document.node.errors.length === 0 && document.conversionError !== undefined) {
    issues.add('', `invalid YAML: ${document.conversionError}`);
  }
}

/** The library's message without its " at line …" suffix and source excerpt. */
function firstSentence(message: string): string {
  const [head] = message.split(/ at line \d+, column \d+/);
  return head.split('\n')[0].trim();
}

/** Path of the mapping key that starts at `offset`, searching the node tree. */
function keyPathAt(node: unknown, offset: number, path: string): string | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const key = isScalar(pair.key) ? String(pair.key.value) : '?';
      const keyPath = joinPath(path, key);
      if (isScalar(pair.key) && pair.key.range?.[0] === offset) return keyPath;
      const found = keyPathAt(pair.value, offset, keyPath);
      if (found !== undefined) return found;
    }
  } else if (isSeq(node)) {
    for (let i = 0; i < node.items.length; i++) {
      const found = keyPathAt(node.items[i], offset, joinPath(path, i));
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/**
 * The source text of the plain scalar at `path` (`['envs', 'LR']` → `1e-4`), or undefined when the
 * value is not a scalar written at that place (e.g. it came in through a `<<` merge key).
 */
export function scalarSource(document: SourceDocument, path: readonly (string | number)[]): string | undefined {
  const node = document.node.getIn(path, true);
  return isScalar(node) && typeof node.source === 'string' ? node.source : undefined;
}
