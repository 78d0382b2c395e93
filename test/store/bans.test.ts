import { afterAll, describe, expect, it } from 'vitest';
import { createBanStore } from '../../src/store/bans.js';
import { createKeys } from '../../src/store/keys.js';
import { testConfig, testRedis, uniquePrefix } from '../helpers/redis.js';

const config = testConfig(uniquePrefix('bans'));
const { redis, cleanup } = testRedis(config);
const keys = createKeys(config.keyPrefix);
const bans = createBanStore({ redis, keys });
afterAll(cleanup);

describe('ban store', () => {
  it('expires by the key itself, at a time computed from Redis TIME', async () => {
    const [sec, usec] = await redis.time();
    const redisNow = Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
    const { ban, created } = await bans.create({
      participantId: 'p1',
      scope: 'meeting',
      meetingId: 'm1',
      forMs: 300,
      reason: 'r',
      by: 'api',
    });
    expect(created).toBe(true);
    expect(Math.abs(Date.parse(ban.until!) - (redisNow + 300))).toBeLessThan(100);
    const pttl = await redis.pttl(keys.ban('meeting', 'm1', 'p1'));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(300);
    expect(await bans.lookup('m1', 'p1')).toMatchObject({ participantId: 'p1', scope: 'meeting', meetingId: 'm1' });
    await new Promise((r) => setTimeout(r, 350));
    expect(await bans.lookup('m1', 'p1')).toBeUndefined();
    // The index entry goes at the next listing.
    expect((await bans.list()).bans).toEqual([]);
    expect(await redis.zcard(keys.banIndex())).toBe(0);
  });

  it('answers the longer of the meeting and every-meeting bans; lookupMany in one MGET', async () => {
    await bans.create({ participantId: 'p2', scope: 'meeting', meetingId: 'm2', forMs: 60_000, reason: 'short', by: 'api' });
    await bans.create({ participantId: 'p2', scope: 'all', forMs: null, reason: 'forever', by: 'operator:x' });
    expect(await bans.lookup('m2', 'p2')).toMatchObject({ scope: 'all', until: null, reason: 'forever' });
    const many = await bans.lookupMany([
      { meetingId: 'm2', participantId: 'p2' },
      { meetingId: 'm2', participantId: 'nobody' },
    ]);
    expect(many[0]).toMatchObject({ reason: 'forever' });
    expect(many[1]).toBeUndefined();
    expect(await bans.countActive(Date.now())).toBe(2);
  });

  it('a rule ban (keepLonger) never shortens a longer ban; an operator ban replaces it', async () => {
    await bans.create({ participantId: 'p3', scope: 'meeting', meetingId: 'm3', forMs: 3_600_000, reason: 'op', by: 'operator:x' });
    const kept = await bans.create(
      { participantId: 'p3', scope: 'meeting', meetingId: 'm3', forMs: 60_000, reason: 'rule', rule: 'r', by: 'rule:r' },
      { keepLonger: true },
    );
    expect(kept.created).toBe(false);
    expect(kept.ban.reason).toBe('op');
    const replaced = await bans.create({ participantId: 'p3', scope: 'meeting', meetingId: 'm3', forMs: 60_000, reason: 'op2', by: 'api' });
    expect(replaced.created).toBe(true);
    expect((await bans.lookup('m3', 'p3'))?.reason).toBe('op2');
  });

  it('lift answers the ban or undefined; ids with colons do not collide', async () => {
    await bans.create({ participantId: 'b', scope: 'meeting', meetingId: 'a:x', forMs: 60_000, reason: 'r', by: 'api' });
    expect(await bans.lookup('a', 'x:b')).toBeUndefined();
    expect((await bans.lift('meeting', 'a:x', 'b'))?.meetingId).toBe('a:x');
    expect(await bans.lift('meeting', 'a:x', 'b')).toBeUndefined();
  });
});
