import { describe, expect, it } from 'vitest';
import { displayWidth, renderTable } from '../../../cli/table.ts';
import { costDecimals, infraLabel, instanceLabel, renderConsideredResources } from '../../../cli/format.ts';
import type { Candidate } from '../../../core/optimizer/types.ts';

describe('renderTable', () => {
  const columns = [{ header: 'ID', align: 'right' as const }, { header: 'NAME' }, { header: 'STATUS' }];

  it('pads columns to the widest cell, two spaces apart, right-aligning where asked, no trailing spaces', () => {
    const text = renderTable(columns, [
      ['1', 'train', 'RUNNING'],
      ['12', 'x', ''],
    ]);
    expect(text).toBe(['ID  NAME   STATUS', ' 1  train  RUNNING', '12  x'].join('\n'));
  });

  it('draws rules around the header and at the end, with an indent', () => {
    const text = renderTable(columns, [['1', 'a', 'OK']], { rules: true, indent: ' ' });
    expect(text.split('\n')).toEqual([
      '-----------------',
      ' ID  NAME  STATUS',
      '-----------------',
      '  1  a     OK',
      '-----------------',
    ]);
  });

  it('shows at most maxRows rows, sizing columns by the shown rows, then "... N more"', () => {
    const rows = [['1', 'a', 'OK'], ['2', 'b', 'OK'], ['3', 'a-very-long-name', 'OK']];
    const text = renderTable(columns, rows, { maxRows: 2, moreNoun: 'jobs' });
    expect(text.split('\n')).toEqual(['ID  NAME  STATUS', ' 1  a     OK', ' 2  b     OK', '... 1 more jobs']);
    expect(renderTable(columns, rows, { maxRows: 3 })).not.toContain('more');
  });

  it('measures width without ANSI colour codes and counts ✔ / ↳ as one column', () => {
    expect(displayWidth('\u001b[32mOK\u001b[0m')).toBe(2);
    expect(displayWidth(' ↳ ✔')).toBe(4);
    const text = renderTable([{ header: 'A' }, { header: 'B' }], [['\u001b[31mxx\u001b[0m', 'y'], ['✔', 'z']]);
    expect(text.split('\n')[2]).toBe('✔   z');
  });

  it('rejects a row with more cells than columns', () => {
    expect(() => renderTable(columns, [['1', '2', '3', '4']])).toThrow(/row 0 has 4 cells for 3 columns/);
  });
});

describe('considered-resources table', () => {
  const base = { vcpus: 4, memoryGb: 16, requestIndex: 0 };
  const cands: Candidate[] = [
    { ...base, cloud: 'gcp', region: 'us-central1', zones: ['us-central1-a'], instanceType: 'g2-standard-4', accelerator: { name: 'L4', count: 1 }, spot: true, hourlyPrice: 0.28 },
    { ...base, cloud: 'aws', region: 'us-east-1', zones: ['us-east-1a', 'us-east-1b'], instanceType: 'g6.xlarge', accelerator: { name: 'L4', count: 1 }, spot: false, hourlyPrice: 0.8048 },
    { ...base, vcpus: 8, memoryGb: 30, cloud: 'gcp', region: 'us-east4', zones: ['us-east4-a', 'us-east4-b'], instanceType: 'n1-standard-8+T4:1', accelerator: { name: 'T4', count: 1 }, spot: false, hourlyPrice: 0.82 },
  ];

  it('labels infra by zone for single-zone candidates and by region otherwise; spot and attached GPUs in INSTANCE', () => {
    expect(infraLabel(cands[0])).toBe('GCP (us-central1-a)');
    expect(infraLabel(cands[1])).toBe('AWS (us-east-1)');
    expect(instanceLabel(cands[0])).toBe('g2-standard-4[Spot]');
    expect(instanceLabel(cands[2])).toBe('n1-standard-8');
  });

  it('multiplies cost by nodes, marks only the first row chosen, and truncates', () => {
    const lines = renderConsideredResources(cands, 2, 2).split('\n');
    expect(lines[1]).toMatch(/^ INFRA\s+INSTANCE\s+vCPUs\s+Mem\(GB\)\s+GPUS\s+COST \(\$\)\s+CHOSEN$/);
    expect(lines[3]).toMatch(/^ GCP \(us-central1-a\)\s+g2-standard-4\[Spot\]\s+4\s+16\s+L4:1\s+0\.56\s+✔$/);
    expect(lines[4]).toMatch(/^ AWS \(us-east-1\)\s+g6\.xlarge\s+4\s+16\s+L4:1\s+1\.61$/);
    expect(lines[lines.length - 1]).toBe(' ... 1 more candidates');
    expect(lines.filter((l) => l.includes('✔'))).toHaveLength(1);
  });

  it('uses four decimals when a price is below ten cents', () => {
    expect(costDecimals([0.5, 2])).toBe(2);
    expect(costDecimals([0.012, 2])).toBe(4);
    const text = renderConsideredResources([{ ...cands[1], hourlyPrice: 0.012 }, cands[1]], 1);
    expect(text).toContain('0.0120');
    expect(text).toContain('0.8048');
  });
});
