import { Redis } from 'ioredis';
import { createProducer } from 'meeting-automod';
import { afterAll, describe, expect, it } from 'vitest';
import { createBanStore } from '../../src/store/bans.js';
import { createKeys } from '../../src/store/keys.js';
import { deletePrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.js';

// Used as a token server would: the package's own exports (dist must be built).
const prefix = uniquePrefix('is-banned');
const redis = new Redis(REDIS_URL);
afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
});

describe('producer.isBanned (the token gate for servers that reach Redis)', () => {
  it('answers as GET /v1/bans/check does, before and after the ban ends', async () => {
    const producer = createProducer({ connection: redis, prefix, partitions: 4 });
    const bans = createBanStore({ redis, keys: createKeys(`{${prefix}}`) });
    expect(await producer.isBanned('room-1', 'p1')).toEqual({ banned: false });
    await bans.create({ participantId: 'p1', scope: 'meeting', meetingId: 'room-1', forMs: 300, reason: 'spam', rule: 'r', by: 'rule:r' });
    const answer = await producer.isBanned('room-1', 'p1');
    expect(answer).toMatchObject({ banned: true, reason: 'spam', scope: 'meeting', rule: 'r' });
    expect(await producer.isBanned('room-2', 'p1')).toEqual({ banned: false });
    await new Promise((r) => setTimeout(r, 350));
    expect(await producer.isBanned('room-1', 'p1')).toEqual({ banned: false });
    await expect(producer.isBanned('', 'p1')).rejects.toThrow(/meetingId must be a non-empty string/);
    await producer.close();
  });
});
