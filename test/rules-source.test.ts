import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RulesError } from '../src/errors.js';
import { readRulesFolder } from '../src/rules-source.js';

describe('readRulesFolder', () => {
  it('reads *.json and lists/*.txt, sorted, with paths relative to the folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'automod-rules-'));
    try {
      await mkdir(join(dir, 'lists'));
      await mkdir(join(dir, 'nested'));
      await writeFile(join(dir, 'b.json'), '{}');
      await writeFile(join(dir, 'a.json'), '[]');
      await writeFile(join(dir, 'notes.md'), '');
      await writeFile(join(dir, 'nested', 'c.json'), '{}');
      await writeFile(join(dir, 'lists', 'words.txt'), 'x\n');
      const { files, lists } = await readRulesFolder(dir);
      expect(files).toEqual([
        { path: 'a.json', content: '[]' },
        { path: 'b.json', content: '{}' },
      ]);
      expect(lists).toEqual([{ name: 'words', content: 'x\n' }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('throws a RulesError for a missing folder', async () => {
    const missing = join(tmpdir(), 'automod-no-such-folder');
    await expect(readRulesFolder(missing)).rejects.toThrow(RulesError);
    await expect(readRulesFolder(missing)).rejects.toThrow(/rules folder does not exist/);
  });
});
