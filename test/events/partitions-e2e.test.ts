import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAutomod } from '../../src/app/automod.js';
import { createLogger } from '../../src/shared/logger.js';
import { partitionOf } from '../../src/shared/partitions.js';
import { floodChat, loggedEvents } from '../helpers/events.js';
import { sessionId, startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { testConfig } from '../helpers/redis.js';

const N = 3;
let h: Harness;
beforeAll(async () => {
  h = await startHarness('partitions', { AUTOMOD_PARTITIONS: String(N) });
});
afterAll(async () => {
  await h?.close();
});

/** A session id that falls in partition `k`. */
function sessionIn(k: number): string {
  for (;;) {
    const sid = sessionId();
    if (partitionOf(sid, N) === k) return sid;
  }
}

describe('partitions', () => {
  it('route each session to its partition’s queue and tag, and moderate there (one worker consumes all)', async () => {
    const sids = [sessionIn(0), sessionIn(1), sessionIn(2)];
    for (const sid of sids) h.simulator.addSession({ id: sid, meetingId: `room-${sid}`, participants: [{ participantId: 'flooder' }] });
    const posted = await h.api(
      'POST',
      '/v1/events',
      sids.flatMap((sid) => Array.from({ length: 8 }, (_, i) => floodChat(sid, i))),
    );
    expect(posted).toMatchObject({ status: 202, body: { accepted: 24 } });
    for (const [k, sid] of sids.entries()) {
      const queue = h.automod.services.queues.eventPartitions[k]!;
      expect(queue.opts.prefix).toBe(`{${h.config.prefix}:p${k}}`);
      const jobs = await queue.getJobs(['completed', 'active', 'waiting'], 0, 100);
      expect(jobs.some((j) => (j.data as { events: { sessionId: string }[] }).events.every((e) => e.sessionId === sid))).toBe(true);
    }
    // Every flooder removed once, the counters under the session's tag only.
    for (const sid of sids) {
      await waitFor(
        async () => {
          const res = await h.api('GET', `/v1/sessions/${sid}`);
          return (res.body as { removals?: { outcome: string }[] }).removals?.some((r) => r.outcome === 'removed') ? true : undefined;
        },
        10_000,
        `the removal in ${sid}`,
      );
      const k = partitionOf(sid, N);
      expect(await h.automod.services.redis.zcard(`{${h.config.prefix}:p${k}}:count:participant:chat-message:room-${sid}:flooder`)).toBe(8);
      expect(await h.automod.services.redis.exists(`{${h.config.prefix}}:count:participant:chat-message:room-${sid}:flooder`)).toBe(0);
    }
    // The processed-event log merges every partition's stream.
    for (const sid of sids) expect(await loggedEvents(h, sid)).toHaveLength(8);
  });

  it('process an event put on the wrong partition’s queue with the counters of its session’s partition', async () => {
    const sid = sessionIn(1);
    const wrong = h.automod.services.queues.eventPartitions[2]!;
    await wrong.add('chat-message', floodChat(sid, 0));
    await waitFor(async () => ((await loggedEvents(h, sid)).length === 1 ? true : undefined), 10_000, 'the event');
    expect(await h.automod.services.redis.zcard(`{${h.config.prefix}:p1}:count:participant:chat-message:room-${sid}:flooder`)).toBe(1);
    expect(await h.automod.services.redis.exists(`{${h.config.prefix}:p2}:count:participant:chat-message:room-${sid}:flooder`)).toBe(0);
  });

  it('record N at start; refuse another N, and --repartition until the old queues are drained', async () => {
    expect(await h.automod.services.redis.get(`{${h.config.prefix}}:partitions`)).toBe('3');
    const env = { VIDEOSDK_TOKEN: 'x.y.z', AUTOMOD_RULES: 'rules' };
    const logger = createLogger(testConfig(h.config.prefix, env));
    const other = testConfig(h.config.prefix, { ...env, AUTOMOD_PARTITIONS: '2' });
    await expect(startAutomod(other, logger, { http: false, only: 'removals' })).rejects.toThrow(
      /this deployment runs with AUTOMOD_PARTITIONS=3 \(recorded in Redis\) but this process has 2/,
    );
    // A job still waits on an old partition (delayed): no repartition.
    const old = new Queue('events', { connection: h.automod.services.redis, prefix: `{${h.config.prefix}:p1}` });
    const held = await old.add('chat-message', floodChat(sessionIn(1), 0), { delay: 60_000 });
    await expect(startAutomod(other, logger, { http: false, only: 'removals', repartition: true })).rejects.toThrow(
      /--repartition refused: the events queues of the 3 recorded partitions still hold 1 jobs/,
    );
    await held.remove();
    await old.close();
    const running = await startAutomod(other, logger, { http: false, only: 'removals', repartition: true });
    await running.close();
    expect(await h.automod.services.redis.get(`{${h.config.prefix}}:partitions`)).toBe('2');
  });
});
