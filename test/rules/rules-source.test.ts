import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RulesError } from '../../src/shared/errors.js';
import { readRulesFolder } from '../../src/rules/rules-source.js';

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

  it('follows symbolic links, as in a Kubernetes ConfigMap volume, and reads each file once', async () => {
    // The kubelet's layout: the files live in a timestamped folder, `..data` links to it, and each
    // key is a link through `..data`; lists/ comes from a projected path `lists/words.txt`.
    const dir = await mkdtemp(join(tmpdir(), 'automod-rules-'));
    try {
      const stamp = '..2026_11_29_10_00_00.123456789';
      await mkdir(join(dir, stamp, 'lists'), { recursive: true });
      await writeFile(join(dir, stamp, 'a.json'), '[]');
      await writeFile(join(dir, stamp, 'b.json'), '{}');
      await writeFile(join(dir, stamp, 'lists', 'words.txt'), 'x\n');
      await symlink(stamp, join(dir, '..data'));
      await symlink(join('..data', 'a.json'), join(dir, 'a.json'));
      await symlink(join('..data', 'b.json'), join(dir, 'b.json'));
      await symlink(join('..data', 'lists'), join(dir, 'lists'));
      // An editor's lock file is a dangling link; dot-entries are never rule sources.
      await symlink('nobody@host.1234', join(dir, '.#c.json'));
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

  it('names a rule file or list whose symbolic link leads nowhere instead of leaving it out', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'automod-rules-'));
    try {
      await mkdir(join(dir, 'lists'));
      await symlink(join(dir, 'gone', 'spam.json'), join(dir, 'spam.json'));
      await expect(readRulesFolder(dir)).rejects.toMatchObject({
        problems: [{ path: 'spam.json', message: 'symbolic link target does not exist' }],
      });
      await rm(join(dir, 'spam.json'));
      await symlink('missing.txt', join(dir, 'lists', 'words.txt'));
      await expect(readRulesFolder(dir)).rejects.toMatchObject({
        problems: [{ path: 'lists/words.txt', message: 'symbolic link target does not exist' }],
      });
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
