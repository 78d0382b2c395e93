import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
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
