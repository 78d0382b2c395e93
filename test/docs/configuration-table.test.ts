import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES } from '../../src/shared/config.js';

const root = new URL('../../', import.meta.url);

describe('the configuration table (docs/reference.md)', () => {
  it('has a row for every environment variable the configuration reads', async () => {
    const readme = await readFile(new URL('docs/reference.md', root), 'utf8');
    const read = CONFIG_VARIABLES;
    expect(read.length).toBeGreaterThan(20);
    const rows = readme.split('\n').filter((line) => line.startsWith('| `'));
    expect(read.filter((name) => !rows.some((row) => row.includes(`\`${name}\``)))).toEqual([]);
  });
});
