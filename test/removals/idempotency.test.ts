import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RemovalJobData } from '../../src/removals/removal-job.js';
import { sessionId, startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { removalSettled } from '../helpers/removals.js';

/**
 * BullMQ delivers at least once: a job can run twice (lost lock, stalled recovery, a duplicate
 * added by a direct producer). Whatever the interleaving, one removal sends one POST.
 */
describe('removal idempotency under at-least-once delivery', () => {
  let h: Harness;
  beforeAll(async () => {
    // Short locks so a lost lock is noticed within a second; a long request timeout so the
    // slow POSTs below are answered, not timed out.
    h = await startHarness('removals-idem', {
      AUTOMOD_LOCK_MS: '1000',
      AUTOMOD_STALLED_INTERVAL_MS: '500',
      VIDEOSDK_TIMEOUT_MS: '5000',
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  function session(): string {
    const sid = sessionId();
    h.simulator.addSession({
      id: sid,
      meetingId: `room-${sid.slice(0, 4)}`,
      participants: [{ participantId: 'target' }, { participantId: 'other' }],
    });
    return sid;
  }

  it('two jobs for the same removal running at once send one POST', async () => {
    const sid = session();
    // Slow POSTs keep the first run in flight while the second starts.
    h.simulator.addFault({ operation: 'remove', sessionId: sid, delayMs: 400, times: Infinity });
    const data: RemovalJobData = { sessionId: sid, participantId: 'target', reason: 'dup', requestedBy: 'producer' };
    // A direct producer bypasses the claims: both jobs exist and start together.
    const [a, b] = await h.automod.services.queues.removals.addBulk([
      { name: 'remove', data },
      { name: 'remove', data },
    ]);
    const results = await Promise.all([removalSettled(h, a!.id!), removalSettled(h, b!.id!)]);
    expect(results.map((r) => r.state)).toEqual(['completed', 'completed']);
    expect(results.map((r) => r.outcome?.outcome).sort()).toEqual(['already-gone', 'removed']);
    const posts = h.simulator.calls().filter((c) => c.sessionId === sid && c.method === 'POST');
    expect(posts).toHaveLength(1);
    expect(posts[0]!.applied).toBe(true);
  });

  it('a job whose lock is lost while its POST is in flight is run again without a second POST', async () => {
    const sid = session();
    h.simulator.addFault({ operation: 'remove', sessionId: sid, delayMs: 2500 });
    const { jobId } = await h.automod.services.requester.request({
      sessionId: sid,
      participantId: 'target',
      reason: 'lock',
      requestedBy: 'test',
      meetingId: 'room',
    });
    await waitFor(() => h.simulator.calls().find((c) => c.sessionId === sid && c.method === 'POST'), 5000, 'the POST');
    // The lock vanishes (a long GC pause, a network split): BullMQ's stalled check hands the job
    // to another run while this one is still waiting for VideoSDK.
    const { redis, config } = { redis: h.automod.services.redis, config: h.config };
    await redis.del(`${config.keyPrefix}:removals:${jobId}:lock`);

    const result = await removalSettled(h, jobId);
    expect(result.state).toBe('completed');
    expect(result.outcome?.outcome).toBe('removed');
    // The job really was started again...
    expect(result.job.attemptsStarted).toBeGreaterThanOrEqual(2);
    // ...and still only one POST went out.
    const posts = h.simulator.calls().filter((c) => c.sessionId === sid && c.method === 'POST');
    expect(posts).toHaveLength(1);
    expect(posts[0]!.applied).toBe(true);
    const recorded = await h.automod.services.sessions.get(sid);
    expect(recorded?.removals.filter((r) => r.outcome === 'removed')).toHaveLength(1);
  });

  it('a redelivered job whose first run died mid-POST checks the session instead of sending', async () => {
    const sid = session();
    const jobId = `redelivered-${sid}`;
    // What a run killed during its POST leaves behind: the write-ahead mark, and a participant
    // that the POST did remove. Nothing else was recorded.
    await h.automod.services.outcomes.markRemoveSending(jobId);
    h.simulator.leave(sid, 'target');
    await h.automod.services.queues.removals.add(
      'remove',
      { sessionId: sid, participantId: 'target', meetingId: 'room', reason: 'x', requestedBy: 'test' },
      { jobId },
    );

    const result = await removalSettled(h, jobId);
    expect(result.outcome?.outcome).toBe('removed');
    expect(
      h.simulator
        .calls()
        .filter((c) => c.sessionId === sid)
        .map((c) => c.method),
    ).toEqual(['GET']);
  });

  it('a job that already recorded its removal is completed again without calling VideoSDK', async () => {
    const sid = session();
    const jobId = `completed-before-${sid}`;
    // The outcome is written but the completion was lost (the worker died just after).
    await h.automod.services.outcomes.setOutcome(jobId, { outcome: 'removed', at: new Date().toISOString() });
    await h.automod.services.queues.removals.add(
      'remove',
      { sessionId: sid, participantId: 'target', meetingId: 'room', reason: 'x', requestedBy: 'test' },
      { jobId },
    );
    const result = await removalSettled(h, jobId);
    expect(result).toMatchObject({ state: 'completed', outcome: { outcome: 'removed' } });
    expect(h.simulator.calls().filter((c) => c.sessionId === sid)).toEqual([]);
    expect(await h.automod.services.redis.get(h.automod.services.keys.removalClaim(sid, 'target'))).toMatch(
      new RegExp(`^done:${jobId}:\\d{13}$`),
    );
  });
});
