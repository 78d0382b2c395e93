import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { createKeys } from '../../src/store/keys.js';
import { createLuaScript, luaScript } from '../../src/store/lua-script.js';
import { testConfig, testRedis, uniquePrefix } from '../helpers/redis.js';

const config = testConfig(uniquePrefix('lua'));
const { redis, cleanup } = testRedis(config);
const keys = createKeys(config.keyPrefix);
afterAll(cleanup);

describe('lua script', () => {
  it('runs a script Redis has never seen (NOSCRIPT falls back to EVAL, which caches it)', async () => {
    // A fresh comment makes a script no Redis has cached, without flushing anyone else's scripts.
    const script = createLuaScript(`-- ${randomBytes(8).toString('hex')}\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])`);
    expect(await redis.script('EXISTS', script.sha)).toEqual([0]);
    expect(await script.run(redis, [keys.stats()], [2])).toBe(2);
    expect(await redis.script('EXISTS', script.sha)).toEqual([1]);
    expect(await script.run(redis, [keys.stats()], [3])).toBe(5);
  });

  it('passes script errors through', async () => {
    const script = createLuaScript(`return redis.error_reply('boom')`);
    await expect(script.run(redis, [keys.stats()], [])).rejects.toThrow(/boom/);
  });
});

describe('luaScript (a file of src/store/commands/)', () => {
  const file = new URL('../../src/store/commands/record-session-2.lua', import.meta.url);

  it('reads commands/<name>-<keys>.lua as it is and takes the number of keys from the name', async () => {
    const script = luaScript('record-session-2');
    expect(script.numberOfKeys).toBe(2);
    // The source sent is the file's text (no line of it is an include): Redis names it by that SHA1.
    const source = await readFile(file, 'utf8');
    expect(source).not.toMatch(/^--- @include/m);
    expect(script.sha).toBe(createHash('sha1').update(source).digest('hex'));
    const session = `${config.keyPrefix}:lua-session`;
    const removals = `${config.keyPrefix}:lua-removals`;
    expect(await script.run(redis, [session, removals], [1000, 'job-1', '{"id":"s"}', 60])).toBe(1);
    expect(await redis.hgetall(session)).toEqual({ at: '1000', jobId: 'job-1', s: '{"id":"s"}' });
    // The older of two objects is not recorded over the newer.
    await script.run(redis, [session, removals], [999, 'job-0', '{"id":"old"}', 60]);
    expect(await redis.hget(session, 'jobId')).toBe('job-1');
  });

  it('refuses a run with another number of keys, naming the script and the count, before Redis sees it', async () => {
    const script = luaScript('record-session-2');
    await expect(script.run(redis, [keys.stats()], [1, 'j', '{}', 60])).rejects.toThrow('Lua script record-session-2 takes 2 keys, got 1');
    const chain = redis.multi();
    expect(() => script.addTo(chain, ['a', 'b', 'c'], [])).toThrow('Lua script record-session-2 takes 2 keys, got 3');
  });

  it('refuses a name that does not end in its number of keys, and names a file that is not there', () => {
    expect(() => luaScript('record-session')).toThrow('Lua script name record-session does not end in -<number of keys>');
    expect(() => luaScript('no-such-script-1')).toThrow(/no-such-script-1\.lua/);
  });
});
