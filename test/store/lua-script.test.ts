import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
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

  it('checks the number of keys its name gives (-n: any number)', async () => {
    const exact = luaScript('set-pause-1');
    await expect(exact.run(redis, [keys.pause(), keys.stats()], ['r', 'operator', 'now'])).rejects.toThrow(
      'Lua script set-pause-1 takes 1 keys, got 2',
    );
    const any = luaScript('take-ended-lockdowns-n');
    expect(any.numberOfKeys).toBeUndefined();
    expect(await any.run(redis, [keys.lockdownIndex()], [])).toEqual([]);
    expect(await any.run(redis, [keys.lockdownIndex(), keys.lockdown('m1')], ['m1'])).toEqual([]);
    expect(() => luaScript('set-pause')).toThrow(/does not end in -<number of keys>/);
  });
});

describe('the scripts in src/store/commands', () => {
  const dir = new URL('../../src/store/commands/', import.meta.url);
  const names = readdirSync(dir)
    .filter((f) => f.endsWith('.lua'))
    .map((f) => f.slice(0, -'.lua'.length));

  it('are there', () => {
    expect(names).toContain('record-session-2');
    expect(names).toContain('check-participants-n');
  });

  it.each(names)('%s says what it does, its KEYS and ARGV, and compiles with its includes', async (name) => {
    const source = readFileSync(new URL(`${name}.lua`, dir), 'utf8');
    const lines = source.split('\n');
    const header = lines
      .slice(
        0,
        lines.findIndex((line) => !line.startsWith('-- ')),
      )
      .join('\n');
    expect(header).toMatch(/^-- \w.*\n/);
    expect(header).toMatch(/KEYS\[1/);
    // A script that reads arguments says what they are.
    if (/ARGV/.test(lines.slice(header.split('\n').length).join('\n'))) expect(header).toMatch(/ARGV\[1/);
    const script = luaScript(name);
    expect(script.source).not.toMatch(/@include/);
    // SCRIPT LOAD compiles without running: a syntax error in a script or an include fails here.
    expect(await redis.script('LOAD', script.source)).toBe(script.sha);
  });
});

describe('luaScript (a file of src/store/commands/)', () => {
  const commands = new URL('../../src/store/commands/', import.meta.url);

  it('puts each `--- @include` file in place of its line, and runs what it assembled', async () => {
    const file = readFileSync(new URL('record-session-2.lua', commands), 'utf8');
    const include = readFileSync(new URL('includes/record-session.lua', commands), 'utf8');
    expect(file).toContain('--- @include "record-session"\n');
    const script = luaScript('record-session-2');
    expect(script.source).toBe(file.replace('--- @include "record-session"', include.trimEnd()));
    expect(script.sha).toBe(createHash('sha1').update(script.source).digest('hex'));
    const session = `${config.keyPrefix}:lua-session`;
    const removals = `${config.keyPrefix}:lua-removals`;
    expect(await script.run(redis, [session, removals], [1000, 'job-1', '{"id":"s"}', 60])).toBe(1);
    expect(await redis.hgetall(session)).toEqual({ at: '1000', jobId: 'job-1', s: '{"id":"s"}' });
    // The include's function at work: the older of two objects is not recorded over the newer.
    await script.run(redis, [session, removals], [999, 'job-0', '{"id":"old"}', 60]);
    expect(await redis.hget(session, 'jobId')).toBe('job-1');
  });

  it('refuses another number of keys in a MULTI too, naming the script and both counts', () => {
    const chain = redis.multi();
    expect(() => luaScript('record-session-2').addTo(chain, ['a', 'b', 'c'], [])).toThrow(
      'Lua script record-session-2 takes 2 keys, got 3',
    );
  });

  it('names a script file that is not there', () => {
    expect(() => luaScript('no-such-script-1')).toThrow(/no-such-script-1\.lua/);
  });
});
