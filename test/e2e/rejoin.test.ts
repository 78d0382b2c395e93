import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REJOIN_SKEW_MS } from '../../src/store/removal-claims.js';
import { sessionId, startHarness, waitFor, type Harness } from '../helpers/harness.js';

interface Recorded {
  removals?: { participantId: string; outcome: string; jobId: string }[];
}

describe('a participant removed by a rule who rejoins', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('e2e-rejoin');
  });
  afterAll(async () => {
    await h?.close();
  });

  const removalsOf = async (sid: string) => ((await h.api('GET', `/v1/sessions/${sid}`)).body as Recorded).removals ?? [];
  const removeCalls = (sid: string) => h.simulator.calls().filter((c) => c.sessionId === sid && c.operation === 'remove');

  it('and floods before their join event is handled is removed again at once; a message received before the removal finished still collapses', async () => {
    const sid = sessionId();
    const room = `room-${sid.slice(0, 6)}`;
    h.simulator.addSession({ id: sid, meetingId: room, participants: [{ participantId: 'troll' }, { participantId: 'carol' }] });
    const scam = (n: number) => ({
      id: `${sid}-${n}`,
      type: 'chat-message',
      meetingId: room,
      sessionId: sid,
      participantId: 'troll',
      data: { text: 'Get FREE crypto now!!' },
    });

    const firstReceived = Date.now();
    expect((await h.api('POST', '/v1/events', scam(1))).status).toBe(202);
    const [first] = await waitFor(
      async () => {
        const removals = await removalsOf(sid);
        return removals[0]?.outcome === 'removed' ? removals : undefined;
      },
      10_000,
      'the first removal',
    );
    const removedBy = Date.now();
    expect(removeCalls(sid)).toHaveLength(1);

    // A message that was on its way when the removal finished (a raid's buffer): received before,
    // handled after. It collapses into the removal that took the participant out: no second call.
    const events = h.automod.services.queues.events;
    const buffered = await events.add('chat-message', scam(2), { timestamp: firstReceived });
    const bufferedResult = await waitFor(
      async () => {
        const job = await events.getJob(buffered.id!);
        return job?.finishedOn ? (job.returnvalue as { status: string; removalJobId?: string }) : undefined;
      },
      10_000,
      'the buffered message to be handled',
    );
    expect(bufferedResult).toMatchObject({ status: 'processed', removalJobId: first!.jobId });
    expect(removeCalls(sid)).toHaveLength(1);

    // Back in the meeting (their join event not handled yet), and typing once the clocks' allowed
    // skew is past: nobody chats from outside a meeting, so this removes them again at once.
    h.simulator.join(sid, 'troll');
    await waitFor(() => (Date.now() > removedBy + REJOIN_SKEW_MS ? true : undefined), REJOIN_SKEW_MS + 5000, 'the skew allowed to pass');
    expect((await h.api('POST', '/v1/events', scam(3))).status).toBe(202);
    const removals = await waitFor(
      async () => {
        const all = await removalsOf(sid);
        return all.length === 2 ? all : undefined;
      },
      10_000,
      'the second removal',
    );
    expect(removals[1]).toMatchObject({ participantId: 'troll', outcome: 'removed' });
    expect(removals[1]!.jobId).not.toBe(first!.jobId);
    expect(
      h.simulator
        .getSession(sid)
        ?.participants.find((p) => p.participantId === 'troll')
        ?.timelog.at(-1)?.end,
    ).not.toBeNull();
    expect(h.simulator.stats().removalsByParticipant[`${sid}/troll`]).toBe(2);
    // The second removal looked before it sent: the participant might have been gone already.
    const second = h.simulator.calls().filter((c) => c.sessionId === sid && c.at >= removedBy);
    expect(second.map((c) => `${c.method} ${c.status}`)).toEqual(['GET 200', 'POST 200']);
  });
});
