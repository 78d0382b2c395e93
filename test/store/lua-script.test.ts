import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createKeys } from '../../src/store/keys.js';
import { createLuaScript } from '../../src/store/lua-script.js';
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
