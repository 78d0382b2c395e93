import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventResult } from '../../src/events/event-processor.js';
import { sessionId, startHarness, waitFor, type Harness } from '../helpers/harness.js';

/**
 * Ids are producer text and may hold `:`, the separator of Redis keys. Before ids were encoded in
 * keys, `team` + `a:b` and `team:a` + `b` shared a chat counter (a wrong removal), and session
 * `S` + `x:y` and `S:x` + `y` shared a removal claim (one removal collapsed into the other, lost).
 */
describe('ids holding ":" keep their own counters and removals', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('colon-ids');
  });
  afterAll(async () => {
    await h?.close();
  });

  /** Runs chat messages through the events queue and answers each job's result. */
  async function chat(senders: { meetingId: string; participantId: string }[], sid: string): Promise<EventResult[]> {
    const queue = h.automod.services.queues.events;
    const at = new Date().toISOString();
    const jobs = await queue.addBulk(
      senders.map((s, i) => ({
        name: 'chat-message',
        data: {
          id: `${sid}-${i}`,
          type: 'chat-message',
          timestamp: at,
          sessionId: sid,
          ...s,
          data: { text: 'hello', role: 'participant' },
        },
      })),
    );
    return waitFor(
      async () => {
        const done = await Promise.all(jobs.map((j) => queue.getJob(j.id!)));
        return done.every((j) => j?.finishedOn) ? done.map((j) => j!.returnvalue as EventResult) : undefined;
      },
      15_000,
      'the chat events to be processed',
    );
  }
  const floodHits = (results: EventResult[]) => results.filter((r) => r.hits?.some((hit) => hit.rule === 'chat-flood'));

  it('meeting "team" + participant "a:b" and meeting "team:a" + participant "b" are counted apart', async () => {
    const sid = sessionId();
    // chat-flood removes at 8 messages in 10 s: 4 + 4 reached it when the two shared a counter.
    const times = (n: number, sender: { meetingId: string; participantId: string }) => Array.from({ length: n }, () => sender);
    const senders = [...times(4, { meetingId: 'team', participantId: 'a:b' }), ...times(4, { meetingId: 'team:a', participantId: 'b' })];
    const results = await chat(senders, sid);
    expect(results.map((r) => r.status)).toEqual(Array(8).fill('processed'));
    expect(floodHits(results)).toEqual([]);
    // Control: 8 from one of them still trips the rule, so the counter itself works.
    const own = await chat(
      Array.from({ length: 8 }, () => ({ meetingId: 'solo', participantId: 'a:b' })),
      sessionId(),
    );
    expect(floodHits(own)).toHaveLength(1);
  });

  it('removals of session "S" + "x:y" and session "S:x" + "y" are two jobs and two POSTs', async () => {
    const s = sessionId();
    h.simulator.addSession({ id: s, meetingId: 'room-a', participants: [{ participantId: 'x:y' }] });
    h.simulator.addSession({ id: `${s}:x`, meetingId: 'room-b', participants: [{ participantId: 'y' }] });
    const { requester, queues } = h.automod.services;
    const first = await requester.request({ sessionId: s, participantId: 'x:y', reason: 'colon', requestedBy: 'test' });
    const second = await requester.request({ sessionId: `${s}:x`, participantId: 'y', reason: 'colon', requestedBy: 'test' });
    expect([first.collapsed, second.collapsed]).toEqual([false, false]);
    expect(second.jobId).not.toBe(first.jobId);
    for (const { jobId } of [first, second]) {
      await waitFor(async () => ((await queues.removals.getJobState(jobId)) === 'completed' ? true : undefined), 10_000, `job ${jobId}`);
    }
    const posts = h.simulator.calls().filter((c) => c.operation === 'remove' && c.applied);
    expect(posts.filter((c) => c.sessionId === s).map((c) => c.participantId)).toEqual(['x:y']);
    expect(posts.filter((c) => c.sessionId === `${s}:x`).map((c) => c.participantId)).toEqual(['y']);
  });
});
