import { afterAll, describe, expect, it } from 'vitest';
import { createKeys } from '../../src/store/keys.js';
import { createReviewStore } from '../../src/store/reviews.js';
import { testConfig, testRedis, uniquePrefix } from '../helpers/redis.js';

const config = testConfig(uniquePrefix('reviews-store'));
const { redis, cleanup } = testRedis(config);
const keys = createKeys(config.keyPrefix);
afterAll(cleanup);

const input = (sessionId: string, rule = 'r') => ({ rule, reason: 'why', rulesVersion: 'v1', sessionId, participantId: 'p' });
const evidence = (n: number) => ({ at: new Date(n).toISOString(), eventId: `e${n}`, type: 'chat-message', text: `t${n}` });

describe('review store', () => {
  it('caps the evidence of one pending item while counting every hit', async () => {
    const store = createReviewStore({ redis, keys, ttlMs: 60_000, evidenceCap: 3 });
    const ids = new Set<string>();
    const t0 = Date.now();
    for (let i = 0; i < 5; i++) ids.add((await store.hold(input('s-cap'), evidence(i), t0 + i)).id);
    expect(ids.size).toBe(1);
    const item = (await store.get([...ids][0]!, t0 + 10))!;
    expect(item.hits).toBe(5);
    expect(item.evidence.map((e) => e.eventId)).toEqual(['e0', 'e1', 'e2']);
    // Another rule is another item.
    expect((await store.hold(input('s-cap', 'other'), evidence(9), t0 + 20)).created).toBe(true);
  });

  it('expires exactly at expiresAt without a sweeper: read as expired, refused, and a later hit makes a new item', async () => {
    const store = createReviewStore({ redis, keys, ttlMs: 10_000 });
    const t0 = Date.now();
    const { id } = await store.hold(input('s-exp'), evidence(1), t0);
    expect((await store.get(id, t0 + 9_999))!.state).toBe('pending');
    expect(await store.pendingCount(t0 + 9_999)).toBeGreaterThanOrEqual(1);
    const later = t0 + 10_000;
    expect((await store.get(id, later))!.state).toBe('expired');
    expect((await store.list({ state: 'expired' }, later)).map((r) => r.id)).toContain(id);
    expect((await store.list({ state: 'pending' }, later)).map((r) => r.id)).not.toContain(id);
    expect(await store.decide(id, { state: 'approved', by: 'x', at: new Date(later).toISOString() }, later)).toEqual({
      ok: false,
      reason: 'expired',
    });
    const next = await store.hold(input('s-exp'), evidence(2), later + 1);
    expect(next.created).toBe(true);
    expect(next.id).not.toBe(id);
  });
});
