import { afterAll, describe, expect, it } from 'vitest';
import { createKeys } from '../../src/store/keys.js';
import { createBanStore } from '../../src/store/bans.js';
import { createLockdownStore } from '../../src/store/lockdowns.js';
import { testConfig, testRedis, uniquePrefix } from '../helpers/redis.js';

const config = testConfig(uniquePrefix('lockdowns'));
const { redis, cleanup } = testRedis(config);
const keys = createKeys(config.keyPrefix);
const lockdowns = createLockdownStore({ redis, keys });
afterAll(cleanup);

describe('lockdown store', () => {
  it('admits by first join before the cutoff, by role, by name; records the earliest join seen', async () => {
    const t = Date.now();
    // Joins seen by the event path: a regular a minute ago, a host, a newcomer now; a late-processed
    // earlier join of the newcomer's friend moves their first join back.
    await lockdowns.check([
      { meetingId: 'm1', participantId: 'regular', joinedAt: t - 60_000, sessionId: 's1' },
      { meetingId: 'm1', participantId: 'host', joinedAt: t, role: 'host', sessionId: 's1' },
      { meetingId: 'm1', participantId: 'late', joinedAt: t, sessionId: 's1' },
    ]);
    await lockdowns.check([{ meetingId: 'm1', participantId: 'late', joinedAt: t - 90_000, sessionId: 's1' }]);
    const { lockdown, created } = await lockdowns.lock({
      meetingId: 'm1',
      mode: 'closed',
      forMs: 60_000,
      reason: 'wave',
      by: 'rule:join-wave',
      rule: 'join-wave',
      cutoff: { at: t - 10_000 },
      admit: ['friend'],
    });
    expect(created).toBe(true);
    expect(lockdown).toEqual(
      expect.objectContaining({ meetingId: 'm1', mode: 'closed', admitJoinedBefore: new Date(t - 10_000).toISOString() }),
    );
    expect(await lockdowns.lastSession('m1')).toBe('s1');
    const checks = await lockdowns.check(
      ['regular', 'host', 'late', 'friend', 'bot'].map((participantId) => ({ meetingId: 'm1', participantId })),
    );
    expect(checks.map((c) => c.lockedOut !== undefined)).toEqual([false, false, false, false, true]);
    expect(await lockdowns.gate('m1', 'bot')).toEqual({ allowed: false, permission: null, reason: 'lockdown', until: lockdown.until });
    expect((await lockdowns.lock({ meetingId: 'm1', mode: 'ask', forMs: 60_000, reason: 'again', by: 'api' })).created).toBe(false);
    expect(await lockdowns.admit('m1', ['bot'])).toBe(1);
    expect((await lockdowns.gate('m1', 'bot')).allowed).toBe(true);
    expect(await lockdowns.admit('nowhere', ['x'])).toBeUndefined();
    expect(await lockdowns.lift('m1')).toEqual(expect.objectContaining({ meetingId: 'm1' }));
    expect(await lockdowns.lift('m1')).toBeUndefined();
  });

  it('answers a batch in order: each ban (the longer of the two) and lockout at its own event, nothing for the rest', async () => {
    const bans = createBanStore({ redis, keys });
    await bans.create({ participantId: 'banned-here', scope: 'meeting', meetingId: 'm3', forMs: 60_000, reason: 'r', by: 'test' });
    await bans.create({ participantId: 'banned-twice', scope: 'meeting', meetingId: 'm3', forMs: 60_000, reason: 'short', by: 'test' });
    await bans.create({ participantId: 'banned-twice', scope: 'all', forMs: null, reason: 'forever', by: 'test' });
    await lockdowns.lock({ meetingId: 'm4', mode: 'closed', forMs: 60_000, reason: 'wave', by: 'api' });
    const checks = await lockdowns.check([
      { meetingId: 'm3', participantId: 'fine' },
      { meetingId: 'm3', participantId: 'banned-here' },
      { meetingId: 'm4', participantId: 'newcomer' },
      { meetingId: undefined, participantId: 'banned-twice' },
      { meetingId: 'm3', participantId: 'banned-twice' },
      { meetingId: 'm4', participantId: 'banned-here' },
    ]);
    expect(checks.map((c) => [c.ban?.reason, c.lockedOut?.meetingId])).toEqual([
      [undefined, undefined],
      ['r', undefined],
      [undefined, 'm4'],
      ['forever', undefined],
      ['forever', undefined],
      [undefined, 'm4'],
    ]);
    expect(checks[0]).toEqual({});
    await lockdowns.lift('m4');
  });

  it('ends by itself at its time: told to exactly one caller, then the gate opens', async () => {
    const { lockdown } = await lockdowns.lock({ meetingId: 'm2', mode: 'ask', forMs: 1000, reason: 'short', by: 'api' });
    expect(await lockdowns.gate('m2', 'anyone')).toEqual({
      allowed: true,
      permission: 'ask_join',
      reason: 'lockdown',
      until: lockdown.until,
    });
    await expect.poll(async () => (await lockdowns.takeEnded()).map((l) => l.meetingId), { timeout: 5000, interval: 100 }).toEqual(['m2']);
    expect(await lockdowns.takeEnded()).toEqual([]);
    expect(await lockdowns.gate('m2', 'anyone')).toEqual({ allowed: true, permission: 'allow_join', reason: null, until: null });
    expect(await lockdowns.list()).toEqual([]);
  });
});
