// Plain-text tables for the terminal, in the style of SkyPilot's CLI: a header row, columns padded
// to their widest cell, two spaces between columns, no trailing spaces. Used by `jobs launch`
// (considered resources) and `jobs queue`.

export interface TableColumn {
  header: string;
  /** Numbers read better right-aligned; default left. */
  align?: 'left' | 'right';
}

export interface TableOptions {
  /** Put a line of dashes above and below the header and at the end (the optimizer's table style). */
  rules?: boolean;
  /** Printed before every line (SkyPilot indents its optimizer table by one space). */
  indent?: string;
  /** Show at most this many rows, then a `... N more` line. */
  maxRows?: number;
  /** Noun for the `... N more <noun>` line. */
  moreNoun?: string;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

/**
 * Columns a string occupies: code points, ignoring ANSI colour codes. East-Asian wide characters
 * are not expected in skyless output (names are ASCII by the spec's rules), so each code point is 1.
 */
export function displayWidth(text: string): number {
  return [...text.replace(ANSI, '')].length;
}

function pad(text: string, width: number, align: 'left' | 'right'): string {
  const fill = ' '.repeat(Math.max(0, width - displayWidth(text)));
  return align === 'right' ? fill + text : text + fill;
}

/**
 * Renders `rows` (one string per column; missing cells are blank, extra cells are an error) as
 * lines joined by `\n`, without a final newline.
 */
export function renderTable(columns: readonly TableColumn[], rows: readonly (readonly string[])[], options: TableOptions = {}): string {
  rows.forEach((row, i) => {
    if (row.length > columns.length) throw new RangeError(`table row ${i} has ${row.length} cells for ${columns.length} columns`);
  });
  const shown = options.maxRows !== undefined ? rows.slice(0, Math.max(0, options.maxRows)) : rows;
  const widths = columns.map((col, c) => Math.max(displayWidth(col.header), ...shown.map((row) => displayWidth(row[c] ?? ''))));
  const indent = options.indent ?? '';
  const line = (cells: readonly string[]) =>
    (indent + columns.map((col, c) => pad(cells[c] ?? '', widths[c], col.align ?? 'left')).join('  ')).replace(/\s+$/, '');

  const totalWidth = displayWidth(indent) + widths.reduce((a, b) => a + b, 0) + 2 * (columns.length - 1);
  const rule = '-'.repeat(totalWidth);
  const out: string[] = [];
  if (options.rules) out.push(rule);
  out.push(line(columns.map((c) => c.header)));
  if (options.rules) out.push(rule);
  for (const row of shown) out.push(line(row));
  if (options.rules) out.push(rule);
  const hidden = rows.length - shown.length;
  if (hidden > 0) out.push(`${indent}... ${hidden} more${options.moreNoun ? ` ${options.moreNoun}` : ''}`);
  return out.join('\n');
}
