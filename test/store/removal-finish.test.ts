import { afterAll, describe, expect, it } from 'vitest';
import { createAuditStore } from '../../src/store/audit.js';
import { createJobOutcomeStore } from '../../src/store/job-outcomes.js';
import { createKeys } from '../../src/store/keys.js';
import { createRemovalClaims } from '../../src/store/removal-claims.js';
import { createRemovalFinisher, type RemovalFinish } from '../../src/store/removal-finish.js';
import { createSessionStore } from '../../src/store/session-store.js';
import { testConfig, testRedis, uniquePrefix } from '../helpers/redis.js';

const config = testConfig(uniquePrefix('finish'));
const { redis, cleanup } = testRedis(config);
const keys = createKeys(config.keyPrefix);
const outcomes = createJobOutcomeStore({ redis, keys, retentionSeconds: 3600, maxJobs: 2 });
const sessions = createSessionStore({ redis, keys, retentionSeconds: 3600 });
const audit = createAuditStore({ redis, keys, maxRecords: 1000 });
const claims = createRemovalClaims({ redis, keys, dedupSeconds: 300 });
const finisher = createRemovalFinisher({
  redis,
  keys,
  jobRetentionSeconds: 3600,
  maxJobs: 2,
  dedupSeconds: 300,
  sessionRetentionSeconds: 3600,
  auditMaxRecords: 1000,
});
afterAll(cleanup);

const AT = '2026-12-06T10:00:00.000Z';

function ending(jobId: string, over: Partial<RemovalFinish> = {}): RemovalFinish {
  return {
    jobId,
    sessionId: 's1',
    participantId: jobId,
    outcome: { outcome: 'removed', at: AT },
    attempts: [],
    settle: 'done',
    removal: { participantId: jobId, outcome: 'removed', reason: 'spam', rule: 'r1', jobId, at: AT },
    audit: { at: AT, kind: 'removal', outcome: 'removed', sessionId: 's1', participantId: jobId, jobId, reason: 'spam' },
    ...over,
  };
}

describe('removal finisher', () => {
  it('records outcome, API calls, session, removal, audit, claim and fence in one call', async () => {
    await claims.claim('s1', 'j1', 'j1');
    await outcomes.appendAttempt('j1', {
      at: 1,
      method: 'GET',
      operation: 'get-session',
      path: '/v2/sessions/s1',
      status: 200,
      latencyMs: 3,
    });
    const begun = await claims.beginRun({
      sessionId: 's1',
      participantId: 'j1',
      jobId: 'j1',
      fenceToken: 'tok',
      fenceTtlMs: 60_000,
      sendDirect: false,
      markTtlSeconds: 3600,
    });
    expect(begun).toMatchObject({ kind: 'go', claimed: true });
    const remove = {
      at: 2,
      method: 'POST' as const,
      operation: 'remove' as const,
      path: '/v2/sessions/participants/remove',
      status: 200,
      latencyMs: 150,
    };
    const read = { at: 3, method: 'GET' as const, operation: 'get-session' as const, path: '/v2/sessions/s1', status: 200, latencyMs: 4 };
    await finisher.finish(
      ending('j1', { attempts: [remove, read], fenceToken: 'tok', session: { object: { id: 's1', participants: [] }, at: 5 } }),
    );

    expect(await outcomes.getOutcome('j1')).toEqual({ outcome: 'removed', at: AT });
    expect((await outcomes.attempts('j1')).map((a) => a.operation)).toEqual(['get-session', 'remove', 'get-session']);
    expect(await redis.exists(keys.jobRemoveSent('j1'))).toBe(1);
    const recorded = await sessions.get('s1');
    expect(recorded).toMatchObject({
      session: { id: 's1', participants: [] },
      jobId: 'j1',
      removals: [{ participantId: 'j1', outcome: 'removed' }],
    });
    const [record] = await audit.query({ jobId: 'j1' });
    expect(record).toMatchObject({ kind: 'removal', outcome: 'removed', reason: 'spam' });
    expect(record?.attempts?.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(await redis.get(keys.removalClaim('s1', 'j1'))).toMatch(/^done:j1:\d+$/);
    expect(await redis.exists(keys.removalFence('s1', 'j1'))).toBe(0);
  });

  it('releases the claim of a failure and leaves a fence another run holds', async () => {
    await claims.claim('s1', 'j2', 'j2');
    await redis.set(keys.removalFence('s1', 'j2'), 'theirs');
    await finisher.finish(ending('j2', { outcome: { outcome: 'failed', at: AT }, settle: 'release', fenceToken: 'mine' }));
    expect(await redis.exists(keys.removalClaim('s1', 'j2'))).toBe(0);
    expect(await redis.get(keys.removalFence('s1', 'j2'))).toBe('theirs');
    const [record] = await audit.query({ jobId: 'j2' });
    expect(record?.attempts).toEqual([]);
  });

  it('keeps the newer session object and drops the records of jobs past the cap', async () => {
    await finisher.finish(ending('j3', { session: { object: { id: 's1', old: true }, at: 1 } }));
    expect((await sessions.get('s1'))?.session).toEqual({ id: 's1', participants: [] });
    // Three jobs recorded with a cap of two: the first one's records are gone.
    expect(await outcomes.getOutcome('j1')).toBeUndefined();
    expect(await outcomes.getOutcome('j3')).toBeDefined();
  });
});
