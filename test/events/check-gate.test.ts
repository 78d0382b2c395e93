import { Redis } from 'ioredis';
import { createProducer, GateUnavailableError } from 'meeting-automod';
import { afterAll, describe, expect, it } from 'vitest';
import { createBanStore } from '../../src/store/bans.js';
import { createKeys } from '../../src/store/keys.js';
import { createLockdownStore } from '../../src/store/lockdowns.js';
import { freePort } from '../helpers/processes.js';
import { deletePrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.js';

// Used as a token server would: the package's own exports (dist must be built).
const prefix = uniquePrefix('check-gate');
const redis = new Redis(REDIS_URL);
afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
});

describe('producer.checkGate (GET /v1/gate for servers that reach Redis)', () => {
  it('answers allow_join, ask_join in an ask lockdown, a refusal in a closed one, and a ban over an admission', async () => {
    const producer = createProducer({ connection: redis, prefix });
    const keys = createKeys(`{${prefix}}`);
    const lockdowns = createLockdownStore({ redis, keys });
    const open = { allowed: true, permission: 'allow_join', reason: null, until: null };
    expect(await producer.checkGate({ meetingId: 'room', participantId: 'p' })).toEqual(open);

    const asked = await lockdowns.lock({ meetingId: 'room', mode: 'ask', forMs: 60_000, reason: 'wave', by: 'api', admit: ['friend'] });
    expect(await producer.checkGate({ meetingId: 'room', participantId: 'p' })).toEqual({
      allowed: true,
      permission: 'ask_join',
      reason: 'lockdown',
      until: asked.lockdown.until,
    });
    expect(await producer.checkGate({ meetingId: 'room', participantId: 'friend' })).toEqual(open);
    await lockdowns.lift('room');

    const closed = await lockdowns.lock({ meetingId: 'room', mode: 'closed', forMs: 60_000, reason: 'wave', by: 'api', admit: ['friend'] });
    expect(await producer.checkGate({ meetingId: 'room', participantId: 'stranger' })).toEqual({
      allowed: false,
      permission: null,
      reason: 'lockdown',
      until: closed.lockdown.until,
    });
    await createBanStore({ redis, keys }).create({ participantId: 'friend', scope: 'all', forMs: null, reason: 'x', by: 'api' });
    expect(await producer.checkGate({ meetingId: 'room', participantId: 'friend' })).toEqual({
      allowed: false,
      permission: null,
      reason: 'banned',
      until: null,
    });
    await expect(producer.checkGate({ meetingId: '', participantId: 'p' })).rejects.toBeInstanceOf(TypeError);
    await producer.close();
  });

  it('never answers allowed when Redis is unreachable', async () => {
    const byUrl = createProducer({ connection: `redis://127.0.0.1:${await freePort()}`, prefix, onError: () => undefined });
    await expect(byUrl.checkGate({ meetingId: 'room', participantId: 'p' })).rejects.toBeInstanceOf(GateUnavailableError);
    await byUrl.close();
  });
});
