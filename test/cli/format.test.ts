import { describe, expect, it } from 'vitest';
import { table } from '../../src/cli/format.js';

const headers = ['job', 'state', 'session', 'detail'];
const rows = [
  [
    '3f0c8f5e-5f1c-4a58-9a1e-0d6c2b8c1a11',
    'failed',
    '61adc697a239e84d0aaa7e15',
    'POST 503 Service Unavailable after 8 tries, last at 2026-11-29T10:00:00Z',
  ],
  ['7', 'completed', 's-2', 'removed'],
];

describe('table', () => {
  it('keeps every value whole without a width (a pipe or a file)', () => {
    const text = table(headers, rows);
    for (const row of rows) for (const cell of row) expect(text).toContain(cell);
  });

  it('fits the terminal: no line longer than the width, the widest columns cut with an ellipsis', () => {
    for (const width of [100, 80, 60]) {
      const lines = table(headers, rows, width).split('\n');
      for (const line of lines) expect(line.length, `${width}: ${line}`).toBeLessThanOrEqual(width);
      expect(lines[0]).toMatch(/^job\s+state\s+session\s+detail$/);
      expect(lines[2]).toContain('…');
      // Short values are never cut.
      expect(lines[3]).toMatch(/^7\s+completed\s+s-2\s+removed$/);
    }
  });

  it('stops narrowing at a minimum column width when the terminal is too narrow', () => {
    const lines = table(headers, rows, 20).split('\n');
    expect(lines[2]!.split(/\s{2,}/).every((cell) => cell.length >= 6)).toBe(true);
  });
});
