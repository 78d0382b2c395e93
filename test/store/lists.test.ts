import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/shared/errors.js';
import { createKeys } from '../../src/store/keys.js';
import { createListStore } from '../../src/store/lists.js';
import { testConfig, testRedis, uniquePrefix } from '../helpers/redis.js';

const config = testConfig(uniquePrefix('lists'));
const { redis, cleanup } = testRedis(config);
const keys = createKeys(config.keyPrefix);
const lists = createListStore({ redis, keys, maxValues: 5 });
afterAll(cleanup);

describe('list store', () => {
  it('adds, shows sorted, removes, and bumps the version only on a change', async () => {
    expect(await lists.version()).toBe(0);
    expect(await lists.add('banned-words', ['  zebra ', 'apple', 'apple'])).toBe(2);
    expect(await lists.version()).toBe(1);
    expect(await lists.add('banned-words', ['apple'])).toBe(0);
    expect(await lists.version()).toBe(1);
    expect(await lists.show('banned-words')).toEqual(['apple', 'zebra']);
    expect(await lists.add('vips', ['p1'])).toBe(1);
    expect(await lists.names()).toEqual(['banned-words', 'vips']);
    expect(await lists.remove('banned-words', ['zebra', 'missing'])).toBe(1);
    expect(await lists.version()).toBe(3);
    expect(await lists.remove('vips', ['p1'])).toBe(1);
    expect(await lists.names()).toEqual(['banned-words']);
    expect(await lists.show('vips')).toEqual([]);
  });

  it('loads every list with its version', async () => {
    const { version, lists: all } = await lists.loadAll();
    expect(version).toBe(await lists.version());
    expect(all).toEqual(new Map([['banned-words', ['apple']]]));
  });

  it('validates names and values with usage errors', async () => {
    await expect(lists.add('Bad Name', ['x'])).rejects.toBeInstanceOf(UsageError);
    await expect(lists.add('../etc', ['x'])).rejects.toThrow(/invalid list name/);
    await expect(lists.show('')).rejects.toBeInstanceOf(UsageError);
    await expect(lists.add('ok', ['   '])).rejects.toThrow(/empty/);
    await expect(lists.add('ok', ['x'.repeat(201)])).rejects.toThrow(/200/);
    expect(await lists.add('ok', ['x'.repeat(200)])).toBe(1);
  });

  it('refuses to grow a list past its cap', async () => {
    expect(await lists.add('capped', ['1', '2', '3', '4'])).toBe(4);
    await expect(lists.add('capped', ['5', '6'])).rejects.toThrow(/more than 5/);
    expect(await lists.show('capped')).toEqual(['1', '2', '3', '4']);
    expect(await lists.add('capped', ['4', '5'])).toBe(1);
  });
});

describe('list change log', () => {
  const logged = createListStore({ redis, keys: createKeys(`${config.keyPrefix}-log`), changeLogSize: 3 });

  it('answers the values each change really made, after a version', async () => {
    expect(await logged.changesSince(0)).toEqual({ version: 0, changes: [] });
    await logged.add('words', ['a', 'b']);
    await logged.add('words', ['b', 'c']);
    await logged.remove('words', ['a', 'zzz']);
    await logged.remove('words', ['zzz']); // no change: no version, no entry
    expect(await logged.changesSince(0)).toEqual({
      version: 3,
      changes: [
        { version: 1, list: 'words', op: 'add', values: ['a', 'b'] },
        { version: 2, list: 'words', op: 'add', values: ['c'] },
        { version: 3, list: 'words', op: 'remove', values: ['a'] },
      ],
    });
    expect((await logged.changesSince(2))?.changes.map((c) => c.version)).toEqual([3]);
    expect(await logged.changesSince(3)).toEqual({ version: 3, changes: [] });
    expect(await logged.changesSince(0, 2)).toBeUndefined(); // further behind than asked for
  });

  it('cannot tell once the log was trimmed past the version, or the version went back', async () => {
    await logged.add('words', ['d']);
    expect(await logged.changesSince(0)).toBeUndefined();
    expect((await logged.changesSince(1))?.changes.map((c) => c.version)).toEqual([2, 3, 4]);
    expect(await logged.changesSince(99)).toBeUndefined();
  });

  it('scans every list in chunks and loads them consistently', async () => {
    expect(await logged.scanAll()).toEqual({ version: 4, lists: new Map([['words', new Set(['b', 'c', 'd'])]]) });
    expect(await logged.loadAll()).toEqual({ version: 4, lists: new Map([['words', ['b', 'c', 'd']]]) });
  });
});
