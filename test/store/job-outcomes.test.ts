import { afterAll, describe, expect, it } from 'vitest';
import { createJobOutcomeStore } from '../../src/store/job-outcomes.js';
import { createKeys } from '../../src/store/keys.js';
import { testConfig, testRedis, uniquePrefix } from '../helpers/redis.js';
import type { ApiAttemptRecord } from '../../src/store/audit.js';
import type { ApiOperation } from '../../src/videosdk/client.js';

const config = testConfig(uniquePrefix('outcomes'));
const { redis, cleanup } = testRedis(config);
const keys = createKeys(config.keyPrefix);
const outcomes = createJobOutcomeStore({ redis, keys, retentionSeconds: 600, maxAttempts: 3 });
afterAll(cleanup);

const attempt = (operation: ApiOperation, i: number): ApiAttemptRecord => ({
  at: i,
  method: operation === 'remove' ? 'POST' : 'GET',
  path: '/v1/x',
  operation,
  latencyMs: i,
});

const sent = async (jobId: string): Promise<boolean> => (await redis.exists(keys.jobRemoveSent(jobId))) === 1;

describe('job outcome store', () => {
  it('records attempts (capped, oldest first) with a TTL', async () => {
    for (let i = 1; i <= 5; i++) await outcomes.appendAttempt('j1', attempt('get-session', i));
    expect((await outcomes.attempts('j1')).map((a) => a.at)).toEqual([3, 4, 5]);
    expect(await redis.ttl(keys.jobAttempts('j1'))).toBeGreaterThan(500);
    expect(await outcomes.attempts('none')).toEqual([]);
  });

  it('tells whether a remove call was sent, even after the list dropped it', async () => {
    expect(await sent('j2')).toBe(false);
    await outcomes.appendAttempt('j2', { ...attempt('remove', 1), error: 'timeout' });
    for (let i = 2; i <= 6; i++) await outcomes.appendAttempt('j2', attempt('get-session', i));
    expect((await outcomes.attempts('j2')).some((a) => a.operation === 'remove')).toBe(false);
    expect(await sent('j2')).toBe(true);
  });

  it('marks a remove call ahead of sending it, with the retention TTL, until cleared', async () => {
    expect(await sent('j4')).toBe(false);
    await outcomes.markRemoveSending('j4');
    expect(await sent('j4')).toBe(true);
    expect(await redis.ttl(keys.jobRemoveSent('j4'))).toBeGreaterThan(500);
    await outcomes.clear('j4');
    expect(await sent('j4')).toBe(false);
  });

  it('sets, reads and clears an outcome', async () => {
    expect(await outcomes.getOutcome('j3')).toBeUndefined();
    await outcomes.setOutcome('j3', { outcome: 'rejected', status: 404, message: 'unknown session', at: '2026-11-25T10:00:00.000Z' });
    expect(await outcomes.getOutcome('j3')).toEqual({
      outcome: 'rejected',
      status: 404,
      message: 'unknown session',
      at: '2026-11-25T10:00:00.000Z',
    });
    expect(await redis.ttl(keys.jobOutcome('j3'))).toBeGreaterThan(500);
    await outcomes.appendAttempt('j3', attempt('remove', 1));
    await outcomes.clear('j3');
    expect(await outcomes.getOutcome('j3')).toBeUndefined();
    expect(await outcomes.attempts('j3')).toEqual([]);
    expect(await sent('j3')).toBe(false);
  });

  it('keeps the records of at most AUTOMOD_REMOVAL_RECORDS_MAX jobs, dropping the least recently written', async () => {
    let clock = 1_000_000;
    const capped = createJobOutcomeStore({
      redis,
      keys: createKeys(`${config.keyPrefix}:cap`),
      retentionSeconds: 600,
      maxJobs: 5,
      now: () => clock,
    });
    const cappedKeys = createKeys(`${config.keyPrefix}:cap`);
    for (let i = 0; i < 12; i++) {
      clock += 1000;
      await capped.markRemoveSending(`c${i}`);
      await capped.appendAttempt(`c${i}`, attempt('remove', i));
      await capped.setOutcome(`c${i}`, { outcome: 'removed', at: new Date(clock).toISOString() });
    }
    // Written again: now the most recent, so it outlives the jobs after it.
    clock += 1000;
    await capped.appendAttempt('c7', attempt('get-session', 99));
    clock += 1000;
    await capped.markRemoveSending('c12');
    expect(await redis.zrange(cappedKeys.jobIndex(), '0', '-1')).toEqual(['c9', 'c10', 'c11', 'c7', 'c12']);
    for (const id of ['c0', 'c5', 'c6', 'c8']) {
      expect(await capped.getOutcome(id)).toBeUndefined();
      expect(await capped.attempts(id)).toEqual([]);
      expect(await redis.exists(cappedKeys.jobRemoveSent(id))).toBe(0);
    }
    expect((await capped.getOutcome('c11'))?.outcome).toBe('removed');
    expect((await capped.attempts('c7')).map((a) => a.at)).toEqual([7, 99]);
    await redis.del(
      cappedKeys.jobIndex(),
      ...['c7', 'c9', 'c10', 'c11', 'c12'].flatMap((id) => [
        cappedKeys.jobOutcome(id),
        cappedKeys.jobAttempts(id),
        cappedKeys.jobRemoveSent(id),
      ]),
    );
  });
});
