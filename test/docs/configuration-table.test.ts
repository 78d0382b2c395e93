import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);

describe('the configuration table (docs/reference.md)', () => {
  it('has a row for every environment variable the configuration reads', async () => {
    const source = await readFile(new URL('src/shared/config.ts', root), 'utf8');
    const readme = await readFile(new URL('docs/reference.md', root), 'utf8');
    const read = [...new Set([...source.matchAll(/'((?:AUTOMOD|REDIS|VIDEOSDK|LOG)_[A-Z0-9_]+)'/g)].map((m) => m[1]!))];
    expect(read.length).toBeGreaterThan(20);
    const rows = readme.split('\n').filter((line) => line.startsWith('| `'));
    expect(read.filter((name) => !rows.some((row) => row.includes(`\`${name}\``)))).toEqual([]);
  });
});
