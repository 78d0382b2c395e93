import { afterAll, describe, expect, it } from 'vitest';
import { createKeys } from '../../src/store/keys.js';
import { claimValue, createRemovalClaims, REJOIN_SKEW_MS } from '../../src/store/removal-claims.js';
import { testConfig, testRedis, uniquePrefix } from '../helpers/redis.js';

const config = testConfig(uniquePrefix('claims'));
const { redis, cleanup } = testRedis(config);
const keys = createKeys(config.keyPrefix);
const claims = createRemovalClaims({ redis, keys, dedupSeconds: 300 });
afterAll(cleanup);

async function redisTimeMs(): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

describe('removal claims', () => {
  it('collapses while pending, lets the same job claim again, and bounds the pending TTL', async () => {
    expect(await claims.claim('s', 'p1', 'j1')).toEqual({ claimed: true });
    expect(await claims.claim('s', 'p1', 'j1')).toEqual({ claimed: true });
    expect(await claims.claim('s', 'p1', 'j2')).toEqual({ claimed: false, existingJobId: 'j1', state: 'pending', value: 'pending:j1' });
    // force does not break a pending claim: two sends at once is what claims prevent.
    expect(await claims.claim('s', 'p1', 'j2', { force: true })).toMatchObject({ claimed: false, state: 'pending' });
    const ttl = await redis.ttl(keys.removalClaim('s', 'p1'));
    expect(ttl).toBeGreaterThan(3500);
    expect(ttl).toBeLessThanOrEqual(3600);
  });

  it('keeps a done claim, stamped with when the removal finished, for the dedup window unless forced', async () => {
    const before = await redisTimeMs();
    expect(await claims.complete('s', 'p1', 'j1')).toBe(true);
    const value = (await redis.get(keys.removalClaim('s', 'p1')))!;
    expect(value.startsWith(`${claimValue('done', 'j1')}:`)).toBe(true);
    const doneAt = Number(value.split(':')[2]);
    expect(doneAt).toBeGreaterThanOrEqual(before);
    expect(doneAt).toBeLessThanOrEqual(await redisTimeMs());
    const ttl = await redis.ttl(keys.removalClaim('s', 'p1'));
    expect(ttl).toBeGreaterThan(290);
    expect(ttl).toBeLessThanOrEqual(300);
    expect(await claims.claim('s', 'p1', 'j2')).toEqual({ claimed: false, existingJobId: 'j1', state: 'done', value });
    // Completing again (a run whose completion was lost) keeps the first stamp.
    expect(await claims.complete('s', 'p1', 'j1')).toBe(true);
    expect(await redis.get(keys.removalClaim('s', 'p1'))).toBe(value);
    expect(await claims.claim('s', 'p1', 'j3', { force: true })).toEqual({ claimed: true });
    expect(await redis.get(keys.removalClaim('s', 'p1'))).toBe('pending:j3');
  });

  it('completes only its own or an absent claim', async () => {
    expect(await claims.complete('s', 'p1', 'j1')).toBe(false); // j3 holds it now
    expect(await redis.get(keys.removalClaim('s', 'p1'))).toBe('pending:j3');
    expect(await claims.complete('s', 'p-absent', 'j9')).toBe(true);
    expect(await redis.get(keys.removalClaim('s', 'p-absent'))).toMatch(/^done:j9:\d{13}$/);
  });

  it('a request from an event received after the removal finished (past the skew) takes a done claim over; one received before collapses', async () => {
    await claims.claim('sr', 'p1', 'jr');
    await claims.complete('sr', 'p1', 'jr');
    const doneAt = Number((await redis.get(keys.removalClaim('sr', 'p1')))!.split(':')[2]);
    // On its way when the removal finished (a raid's buffer), or within the skew allowed: collapses.
    for (const receivedAt of [doneAt - 5000, doneAt, doneAt + REJOIN_SKEW_MS]) {
      expect(await claims.claim('sr', 'p1', 'jx', { receivedAt })).toMatchObject({ claimed: false, state: 'done', existingJobId: 'jr' });
    }
    // Without a receipt time (an API request): collapses, as before.
    expect(await claims.claim('sr', 'p1', 'jx')).toMatchObject({ claimed: false, state: 'done' });
    // Received after: the participant is back.
    expect(await claims.claim('sr', 'p1', 'jn', { receivedAt: doneAt + REJOIN_SKEW_MS + 1 })).toEqual({ claimed: true, again: true });
    expect(await redis.get(keys.removalClaim('sr', 'p1'))).toBe('pending:jn');
    // And the new job's claim is an ordinary pending one: a later hit collapses into it.
    expect(await claims.claim('sr', 'p1', 'jm', { receivedAt: doneAt + 60_000 })).toMatchObject({
      claimed: false,
      state: 'pending',
      existingJobId: 'jn',
    });
    // A done claim written before the stamp existed (`done:<jobId>`) collapses whatever the time.
    await redis.set(keys.removalClaim('sr', 'p2'), 'done:42');
    expect(await claims.claim('sr', 'p2', 'jy', { receivedAt: Date.now() + 60_000 })).toEqual({
      claimed: false,
      existingJobId: '42',
      state: 'done',
      value: 'done:42',
    });
    expect(await claims.release('sr', 'p2', '42')).toBe(true);
    // A stamped done claim is released by its own job only.
    await claims.claim('sr', 'p3', 'j3');
    await claims.complete('sr', 'p3', 'j3');
    expect(await claims.release('sr', 'p3', 'j')).toBe(false);
    expect(await claims.release('sr', 'p3', 'j3')).toBe(true);
  });

  it('a shorter skew lets an earlier message through', async () => {
    const strict = createRemovalClaims({ redis, keys, dedupSeconds: 300, skewMs: 0 });
    await strict.claim('sk', 'p1', 'j1');
    await strict.complete('sk', 'p1', 'j1');
    const doneAt = Number((await redis.get(keys.removalClaim('sk', 'p1')))!.split(':')[2]);
    expect(await strict.claim('sk', 'p1', 'j2', { receivedAt: doneAt })).toMatchObject({ claimed: false });
    expect(await strict.claim('sk', 'p1', 'j2', { receivedAt: doneAt + 1 })).toEqual({ claimed: true, again: true });
  });

  it('releases only its own claim', async () => {
    expect(await claims.release('s', 'p1', 'j1')).toBe(false);
    expect(await claims.release('s', 'p1', 'j3')).toBe(true);
    expect(await claims.claim('s', 'p1', 'j4')).toEqual({ claimed: true });
  });

  it('takes over with compare-and-set', async () => {
    expect(await claims.takeOver('s', 'p1', 'pending:j-other', 'j5')).toBe(false);
    expect(await claims.takeOver('s', 'p1', 'pending:j4', 'j5')).toBe(true);
    expect(await redis.get(keys.removalClaim('s', 'p1'))).toBe('pending:j5');
    expect(await claims.takeOver('s', 'p-free', 'pending:gone', 'j6')).toBe(true);
    expect(await redis.get(keys.removalClaim('s', 'p-free'))).toBe('pending:j6');
  });

  it('ends done windows on rejoin, many in one call, but leaves pending claims alone', async () => {
    const p1 = { sessionId: 's', participantId: 'p1' };
    expect(await claims.endWindows([p1])).toBe(0);
    expect(await redis.get(keys.removalClaim('s', 'p1'))).toBe('pending:j5');
    await claims.complete('s', 'p1', 'j5');
    expect(await claims.claim('s', 'pw', 'jw')).toEqual({ claimed: true });
    await claims.complete('s', 'pw', 'jw');
    expect(await claims.claim('s', 'pp', 'jp')).toEqual({ claimed: true });
    // A participant twice in one batch counts once; the pending claim stays.
    const pw = { sessionId: 's', participantId: 'pw' };
    expect(await claims.endWindows([p1, pw, pw, { sessionId: 's', participantId: 'pp' }, { sessionId: 's', participantId: 'none' }])).toBe(
      2,
    );
    expect(await redis.get(keys.removalClaim('s', 'pp'))).toBe('pending:jp');
    expect(await claims.claim('s', 'p1', 'j7')).toEqual({ claimed: true });
    expect(await claims.claim('s', 'pw', 'jw2')).toEqual({ claimed: true });
    expect(await claims.endWindows([])).toBe(0);
  });

  it('hands one concurrent claim out of many', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => claims.claim('s', 'race', `r${i}`)));
    expect(results.filter((r) => r.claimed)).toHaveLength(1);
  });

  it('fences with a token: set-if-absent with a TTL, compare-and-delete', async () => {
    const run = (token: string, fenceTtlMs: number) =>
      claims.beginRun({
        sessionId: 'sf',
        participantId: 'p1',
        jobId: 'jf',
        fenceToken: token,
        fenceTtlMs,
        sendDirect: false,
        markTtlSeconds: 60,
      });
    expect(await run('a', 5000)).toMatchObject({ kind: 'go' });
    expect(await run('b', 5000)).toEqual({ kind: 'fenced' });
    const pttl = await redis.pttl(keys.removalFence('sf', 'p1'));
    expect(pttl).toBeGreaterThan(4000);
    expect(await claims.releaseFence('sf', 'p1', 'b')).toBe(false);
    expect(await claims.releaseFence('sf', 'p1', 'a')).toBe(true);
    expect(await run('b', 50)).toMatchObject({ kind: 'go' });
    await new Promise((resolve) => setTimeout(resolve, 120));
    // The fence of a run that died lapses on its own.
    expect(await run('c', 5000)).toMatchObject({ kind: 'go' });
  });

  describe('beginRun', () => {
    const base = { sessionId: 'sb', jobId: 'jb', fenceTtlMs: 5000, markTtlSeconds: 120 };

    it('fences, claims and writes the "remove sent" mark for a try that sends directly', async () => {
      const r = await claims.beginRun({ ...base, participantId: 'p1', fenceToken: 't1', sendDirect: true });
      expect(r).toEqual({ kind: 'go', sentBefore: false, claimed: true, marked: true });
      expect(await redis.get(keys.removalFence('sb', 'p1'))).toBe('t1');
      expect(await redis.pttl(keys.removalFence('sb', 'p1'))).toBeGreaterThan(4000);
      expect(await redis.get(keys.removalClaim('sb', 'p1'))).toBe('pending:jb');
      expect(await redis.get(keys.jobRemoveSent('jb'))).toBe('1');
      expect(await redis.ttl(keys.jobRemoveSent('jb'))).toBeGreaterThan(100);
      // A second run of the same job while the fence is held waits.
      expect(await claims.beginRun({ ...base, participantId: 'p1', fenceToken: 't2', sendDirect: true })).toEqual({ kind: 'fenced' });
      // Once the fence is free it sees the mark its predecessor left, and writes nothing new.
      await claims.releaseFence('sb', 'p1', 't1');
      expect(await claims.beginRun({ ...base, participantId: 'p1', fenceToken: 't3', sendDirect: true })).toEqual({
        kind: 'go',
        sentBefore: true,
        claimed: true,
        marked: false,
      });
    });

    it('writes no mark for a try that looks first or whose participant another job claimed', async () => {
      const looks = await claims.beginRun({ ...base, jobId: 'jl', participantId: 'p2', fenceToken: 't', sendDirect: false });
      expect(looks).toEqual({ kind: 'go', sentBefore: false, claimed: true, marked: false });
      expect(await redis.exists(keys.jobRemoveSent('jl'))).toBe(0);

      await claims.claim('sb', 'p3', 'other');
      const contested = await claims.beginRun({ ...base, jobId: 'jc', participantId: 'p3', fenceToken: 't', sendDirect: true });
      expect(contested).toEqual({ kind: 'go', sentBefore: false, claimed: false, marked: false });
      expect(await redis.get(keys.removalClaim('sb', 'p3'))).toBe('pending:other');
      expect(await redis.exists(keys.jobRemoveSent('jc'))).toBe(0);
    });

    it('ends at a recorded success without taking the fence', async () => {
      await redis.set(keys.jobOutcome('jd'), JSON.stringify({ outcome: 'already-gone', at: new Date().toISOString() }));
      expect(await claims.beginRun({ ...base, jobId: 'jd', participantId: 'p4', fenceToken: 't', sendDirect: true })).toEqual({
        kind: 'done',
        outcome: 'already-gone',
      });
      expect(await redis.exists(keys.removalFence('sb', 'p4'))).toBe(0);
      // A recorded failure does not end it: the try goes on.
      await redis.set(keys.jobOutcome('jf'), JSON.stringify({ outcome: 'failed', at: new Date().toISOString() }));
      expect(await claims.beginRun({ ...base, jobId: 'jf', participantId: 'p5', fenceToken: 't', sendDirect: true })).toMatchObject({
        kind: 'go',
      });
    });
  });
});
