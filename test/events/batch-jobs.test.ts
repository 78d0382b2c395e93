import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventProcessor } from '../../src/events/event-processor.js';
import { floodChat, loggedEvents } from '../helpers/events.js';
import { sessionId, startHarness, waitFor, type Harness } from '../helpers/harness.js';

let h: Harness;
beforeAll(async () => {
  // A long linger so that concurrent one-event POSTs surely share a job.
  h = await startHarness('batch-jobs', { AUTOMOD_INGEST_LINGER_MS: '150', AUTOMOD_EVENT_BATCH_MAX: '50' });
});
afterAll(async () => {
  await h?.close();
});

/** A batch job as BullMQ hands it to the processor (the same object on a redelivery). */
const batchJob = (id: string, events: unknown[]) => ({ id, name: 'batch', timestamp: Date.now(), data: { events } }) as unknown as Job;

describe('batch jobs on the events queue', () => {
  it('process each event of a queued batch: an invalid one is dead-lettered alone, a missing id becomes job-<jobId>-<index>', async () => {
    const sid = sessionId();
    const job = await h.automod.services.queues.events.add('batch', {
      events: [
        floodChat(sid, 0),
        { type: 'chat-message', participantId: 'x' },
        { type: 'chat-message', sessionId: sid, participantId: 'noid', data: { text: 'no id' } },
      ],
    });
    const logged = await waitFor(
      async () => {
        const events = await loggedEvents(h, sid);
        return events.length >= 2 ? events : undefined;
      },
      10_000,
      'the batch to be processed',
    );
    expect(logged.map((e) => e.id).sort()).toEqual([`${sid}-c0`, `job-${job.id}-2`].sort());
    const letters = await h.automod.services.deadLetters.list(20);
    const letter = letters.find((l) => l.jobId === job.id);
    expect(letter?.reason).toBe('events[1]: invalid event: $.sessionId: is required');
    expect(letter?.data).toEqual({ type: 'chat-message', participantId: 'x' });
    const done = await waitFor(async () => ((await job.getState()) === 'completed' ? job : undefined), 5000, 'completion');
    expect((await h.automod.services.queues.events.getJob(done.id!))?.returnvalue).toMatchObject({
      events: 3,
      processed: 2,
      duplicates: 0,
      invalid: 1,
    });
  });

  it('dead-letter an oversized or malformed batch whole, with the reason', async () => {
    const sid = sessionId();
    const big = await h.automod.services.queues.events.add('batch', { events: Array.from({ length: 51 }, (_, i) => floodChat(sid, i)) });
    const bad = await h.automod.services.queues.events.add('batch', { event: floodChat(sid, 99) });
    const letters = await waitFor(
      async () => {
        const all = await h.automod.services.deadLetters.list(50);
        const mine = all.filter((l) => l.jobId === big.id || l.jobId === bad.id);
        return mine.length === 2 ? mine : undefined;
      },
      10_000,
      'the dead letters',
    );
    expect(letters.find((l) => l.jobId === big.id)?.reason).toBe(
      'invalid batch: 51 events, at most 50 (AUTOMOD_EVENT_BATCH_MAX) in one batch job',
    );
    expect(letters.find((l) => l.jobId === bad.id)?.reason).toBe('invalid batch: job data must be {"events": [event, ...]}');
    expect(await loggedEvents(h, sid)).toEqual([]);
  });

  it('count every event once when the same batch job runs again (a retry, a redelivery after a worker died); another job with the same ids is a duplicate', async () => {
    const sid = sessionId();
    h.simulator.addSession({ id: sid, meetingId: 'room-b', participants: [{ participantId: 'flooder' }] });
    const processor = createEventProcessor({ ...h.automod.services, rules: h.automod.rules!, dedupSeconds: 300 });
    const events = Array.from({ length: 8 }, (_, i) => floodChat(sid, i, { meetingId: 'room-b' }));
    const job = batchJob(`redeliver-${sid}`, events);
    const first = await processor.process(job);
    const second = await processor.process(job);
    expect(first).toMatchObject({ events: 8, processed: 8, duplicates: 0 });
    expect(second).toMatchObject({ events: 8, processed: 8, duplicates: 0 });
    const counter = h.automod.services.keys.part(sid).eventCounter('participant', 'chat-message', 'room-b', 'flooder');
    expect(await h.automod.services.redis.zcard(counter)).toBe(8);
    // The 8th message hit chat-flood both times: one removal (the claim collapses the repeat), one strike member per rule.
    expect((first as { removalJobIds?: string[] }).removalJobIds).toHaveLength(1);
    expect((second as { removalJobIds?: string[] }).removalJobIds).toEqual((first as { removalJobIds?: string[] }).removalJobIds);
    const strikes = h.automod.services.keys.part(sid).strikes('room-b', 'flooder');
    expect(await h.automod.services.redis.zcard(strikes)).toBe(1);
    const other = await processor.process(batchJob(`other-${sid}`, events));
    expect(other).toMatchObject({ events: 8, processed: 0, duplicates: 8 });
    expect(await h.automod.services.redis.zcard(counter)).toBe(8);
    await processor.flush();
  });
});

describe('ingest packs events into batch jobs', () => {
  const jobsOf = async (sid: string) => {
    const jobs = await h.automod.services.queues.events.getJobs(['completed', 'active', 'waiting', 'delayed', 'failed'], 0, 2000);
    return jobs.filter((j) => (j.data as { events?: { sessionId: string }[] }).events?.some((e) => e.sessionId === sid));
  };

  it('POST /v1/events with an array queues batch jobs of at most AUTOMOD_EVENT_BATCH_MAX events', async () => {
    const sid = sessionId();
    const posted = await h.api(
      'POST',
      '/v1/events',
      Array.from({ length: 120 }, (_, i) => ({ ...floodChat(sid, i), participantId: `p${i}` })),
    );
    expect(posted).toMatchObject({ status: 202, body: { accepted: 120, duplicates: 0 } });
    const jobs = await jobsOf(sid);
    expect(jobs.map((j) => j.name)).toEqual(['batch', 'batch', 'batch']);
    expect(jobs.map((j) => (j.data as { events: unknown[] }).events.length).sort()).toEqual([20, 50, 50]);
  });

  it('single events posted at the same moment share one batch job, and each answer comes once it is queued', async () => {
    const sid = sessionId();
    const answers = await Promise.all(Array.from({ length: 5 }, (_, i) => h.api('POST', '/v1/events', floodChat(sid, i))));
    expect(answers.every((a) => a.status === 202 && (a.body as { accepted: number }).accepted === 1)).toBe(true);
    // Answered means queued: the jobs are there already.
    const jobs = await jobsOf(sid);
    expect(jobs.reduce((n, j) => n + (j.data as { events: unknown[] }).events.length, 0)).toBe(5);
    expect(jobs.length).toBeLessThan(5);
  });
});

describe('webhook ids are presence-aware', () => {
  it('a byte-identical rejoin after a leave is processed; a redelivered join is not', async () => {
    const sid = sessionId();
    const body = (type: string) =>
      JSON.stringify({ webhookType: type, data: { meetingId: 'room-w', sessionId: sid, participantId: 'bot-1' } });
    const post = (type: string) => h.api('POST', '/v1/webhooks/videosdk', body(type));
    const join1 = await post('participant-joined');
    const redelivered = await post('participant-joined');
    const left = await post('participant-left');
    const rejoin = await post('participant-joined');
    const rejoinAgain = await post('participant-joined');
    expect(join1.body).toMatchObject({ accepted: 1, duplicates: 0, ids: [expect.stringMatching(/^webhook-[0-9a-f]{64}$/)] });
    expect(redelivered.body).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(left.body).toMatchObject({ accepted: 1 });
    expect(rejoin.body).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(rejoinAgain.body).toMatchObject({ accepted: 0, duplicates: 1 });
    const ids = (r: { body: unknown }) => (r.body as { ids: string[] }).ids[0];
    expect(ids(rejoin)).toBe(`${ids(join1)}-1`);
    const joins = await waitFor(
      async () => {
        const events = (await loggedEvents(h, sid)).filter((e) => e.type === 'participant-joined');
        return events.length === 2 ? events : undefined;
      },
      10_000,
      'both joins to be processed',
    );
    expect(joins.map((e) => e.id).sort()).toEqual([ids(join1), ids(rejoin)].sort());
  });

  it('a bot removed by a rule that rejoins at once (no participant-left webhook yet) is moderated again', async () => {
    const sid = sessionId();
    h.simulator.addSession({ id: sid, meetingId: 'room-raid', participants: [{ participantId: 'raider' }] });
    await h.automod.services.lists.add('blocked-participants', ['raider']);
    const join = JSON.stringify({
      webhookType: 'participant-joined',
      data: { meetingId: 'room-raid', sessionId: sid, participantId: 'raider' },
    });
    expect((await h.api('POST', '/v1/webhooks/videosdk', join)).body).toMatchObject({ accepted: 1 });
    await waitFor(
      async () => {
        const res = await h.api('GET', `/v1/sessions/${sid}`);
        return (res.body as { removals?: { outcome: string }[] }).removals?.some((r) => r.outcome === 'removed') ? true : undefined;
      },
      10_000,
      'the first removal',
    );
    const rejoin = await h.api('POST', '/v1/webhooks/videosdk', join);
    expect(rejoin.body).toMatchObject({ accepted: 1, duplicates: 0 });
    await waitFor(
      async () => ((await loggedEvents(h, sid)).filter((e) => e.type === 'participant-joined').length === 2 ? true : undefined),
      10_000,
      'the rejoin to be processed',
    );
    await h.automod.services.lists.remove('blocked-participants', ['raider']);
  });
});
