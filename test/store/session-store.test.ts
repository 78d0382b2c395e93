import { afterAll, describe, expect, it } from 'vitest';
import { createKeys } from '../../src/store/keys.js';
import { createSessionStore } from '../../src/store/session-store.js';
import { testConfig, testRedis, uniquePrefix } from '../helpers/redis.js';

const config = testConfig(uniquePrefix('sessions'));
const { redis, cleanup } = testRedis(config);
const keys = createKeys(config.keyPrefix);
const sessions = createSessionStore({ redis, keys, retentionSeconds: 3600, maxRemovals: 3 });
afterAll(cleanup);

// The store's writes go into a MULTI its caller sends (with the outcome they belong to).
const recordSession = (sessionId: string, session: unknown, meta: { jobId: string; at: number }) => {
  const tx = redis.multi();
  sessions.recordSessionTo(tx, sessionId, session, meta);
  return tx.exec();
};
const recordRemoval = (sessionId: string, removal: Parameters<typeof sessions.recordRemovalTo>[2]) => {
  const tx = redis.multi();
  sessions.recordRemovalTo(tx, sessionId, removal);
  return tx.exec();
};

const T0 = Date.parse('2026-11-25T10:00:00.000Z');

describe('session store', () => {
  it('answers undefined when nothing is recorded', async () => {
    expect(await sessions.get('unknown')).toBeUndefined();
  });

  it('answers the GET /v1/sessions/:id shape', async () => {
    const session = { id: 's1', meetingId: 'm', participants: [{ participantId: 'p1', timelog: [{ start: 'x', end: 'y' }] }] };
    await recordSession('s1', session, { jobId: 'j1', at: T0 });
    await recordRemoval('s1', {
      participantId: 'p1',
      outcome: 'removed',
      reason: 'spam',
      rule: 'r1',
      jobId: 'j1',
      at: new Date(T0).toISOString(),
    });
    expect(await sessions.get('s1')).toEqual({
      sessionId: 's1',
      session,
      updatedAt: new Date(T0).toISOString(),
      jobId: 'j1',
      removals: [{ participantId: 'p1', outcome: 'removed', reason: 'spam', rule: 'r1', jobId: 'j1', at: new Date(T0).toISOString() }],
    });
    const ttl = await redis.ttl(keys.session('s1'));
    expect(ttl).toBeGreaterThan(3500);
    expect(await redis.ttl(keys.sessionRemovals('s1'))).toBeGreaterThan(3500);
  });

  it('keeps the newer session object when jobs finish out of order', async () => {
    await recordSession('s2', { v: 2 }, { jobId: 'j2', at: T0 + 2000 });
    await recordSession('s2', { v: 1 }, { jobId: 'j1', at: T0 + 1000 });
    const got = await sessions.get('s2');
    expect(got?.session).toEqual({ v: 2 });
    expect(got?.jobId).toBe('j2');
  });

  it('answers session null when only removals are recorded, and caps the removals', async () => {
    for (let i = 1; i <= 5; i++) {
      await recordRemoval('s3', {
        participantId: `p${i}`,
        outcome: 'already-gone',
        reason: 'r',
        jobId: `j${i}`,
        at: new Date(T0 + i).toISOString(),
      });
    }
    const got = await sessions.get('s3');
    expect(got?.session).toBeNull();
    expect(got?.updatedAt).toBe(new Date(T0 + 5).toISOString());
    expect(got?.removals.map((r) => r.participantId)).toEqual(['p3', 'p4', 'p5']);
    expect(got?.removals[0]?.rule).toBeNull();
  });
});
