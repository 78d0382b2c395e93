import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RemovalJobData } from '../../src/removals/removal-job.js';
import type { SimRemoveAnswer } from '../../src/simulator/simulator.js';
import { sessionId, startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { callShapes, callsOf, removalSettled } from '../helpers/removals.js';

describe.each(['v1', 'v2'] as const)('remove answers that confirm nothing (%s)', (version) => {
  let h: Harness;
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
    h = await startHarness(`unconfirmed-${version}`, { VIDEOSDK_API_VERSION: version, AUTOMOD_NOTIFY_URLS: receiver.url });
  });
  afterAll(async () => {
    await h?.close();
    receiver?.server.close();
  });
  beforeEach(() => h.simulator.clearFaults());

  function session(extra: string[] = []): { sid: string; room: string } {
    const sid = sessionId();
    const room = `room-${sid.slice(0, 6)}`;
    h.simulator.addSession({
      id: sid,
      meetingId: room,
      participants: [{ participantId: 'target' }, { participantId: 'bystander' }, ...extra.map((participantId) => ({ participantId }))],
    });
    return { sid, room };
  }

  function request(data: Partial<RemovalJobData> & { sessionId: string; participantId: string }) {
    return h.automod.services.requester.request({ reason: 'test removal', requestedBy: 'test', ...data });
  }

  const stillIn = (sid: string): boolean =>
    h.simulator
      .getSession(sid)
      ?.participants.find((p) => p.participantId === 'target')
      ?.timelog.at(-1)?.end === null;

  /** The `removal.completed` notifications of job `jobId`; undefined while there is none. */
  function completedOf(jobId: string): { jobId: string; outcome: string }[] | undefined {
    const sent = receiver
      .bodies()
      .filter((b) => b.type === 'removal.completed')
      .map((b) => b.removal as { jobId: string; outcome: string } | undefined)
      .filter((r) => r?.jobId === jobId) as { jobId: string; outcome: string }[];
    return sent.length > 0 ? sent : undefined;
  }

  /** The recorded outcome, the notification and `GET /v1/sessions/:id` say the same thing. */
  async function expectAgreement(sid: string, jobId: string, outcome: 'removed' | 'failed', removed = ['target']): Promise<void> {
    const notified = await waitFor(() => completedOf(jobId), 10_000, `the removal.completed of ${jobId}`);
    expect(notified.map((n) => n.outcome)).toEqual([outcome]);
    const recorded = await h.api('GET', `/v1/sessions/${sid}`);
    const body = recorded.body as {
      session?: { participants: { participantId: string; timelog: { end: string | null }[] }[] };
      removals: { participantId: string; outcome: string; jobId: string }[];
    };
    expect(body.removals.map((r) => r.participantId)).toEqual(removed);
    expect(body.removals.at(-1)).toMatchObject({ participantId: 'target', outcome, jobId });
    // The snapshot may wait for its second (one a second per session): the newest is written then.
    await waitFor(
      async () => {
        const now = (await h.api('GET', `/v1/sessions/${sid}`)).body as typeof body;
        const target = now.session?.participants.find((p) => p.participantId === 'target');
        if (outcome === 'removed') return target?.timelog.at(-1)?.end ? true : undefined;
        return target === undefined || target.timelog.at(-1)?.end === null ? true : undefined;
      },
      5000,
      'the session snapshot to show the outcome',
    );
  }

  it.each<SimRemoveAnswer>(['html', 'success-false', 'session'])(
    'a 200 (%s) that did not reach VideoSDK is never recorded removed while the participant is listed; a later try removes them',
    async (removeAnswer) => {
      const { sid, room } = session();
      h.simulator.addFault({ operation: 'remove', sessionId: sid, removeAnswer, removeApplied: false });
      const { jobId } = await request({ sessionId: sid, participantId: 'target', meetingId: room, rule: 'r1' });
      const done = await removalSettled(h, jobId);
      expect(done).toMatchObject({ state: 'completed', attemptsMade: 2, outcome: { outcome: 'removed' } });
      expect(stillIn(sid)).toBe(false);
      // The first try's answer confirmed nothing: the session was read, showed the participant, and
      // the try failed; the next one looked first and sent again.
      expect(callShapes(callsOf(h, sid))).toEqual(['POST 200', 'GET 200', 'GET 200', 'POST 200']);
      expect(callsOf(h, sid).map((c) => c.applied)).toEqual([false, false, false, true]);
      await expectAgreement(sid, jobId, 'removed');

      // The answer's text (the HTML page echoes the request's headers, the token among them) is
      // nowhere in what the worker kept: the failed try's reason, the attempts, the audit.
      const token = callsOf(h, sid)[0]!.authorization!;
      const kept = JSON.stringify([
        done.job.stacktrace,
        done.job.failedReason,
        await h.automod.services.outcomes.attempts(jobId),
        await h.automod.services.audit.query({ sessionId: sid }),
      ]);
      expect(kept).not.toContain(token);
      expect(kept).not.toContain('<');
      expect((done.job.stacktrace ?? []).join('\n')).toMatch(/answered HTTP 200 with .*, and VideoSDK still lists the participant/);
    },
  );

  it('a 200 with an empty body that did take effect: removed after one session read, even right after another removal', async () => {
    const { sid, room } = session();
    // A removal just before, in the same session, took the second's snapshot: the read that
    // follows is this removal's own check, not a snapshot (which would wait for the second).
    const before = await request({ sessionId: sid, participantId: 'bystander', meetingId: room });
    expect(await removalSettled(h, before.jobId)).toMatchObject({ outcome: { outcome: 'removed' } });
    h.simulator.addFault({ operation: 'remove', sessionId: sid, removeAnswer: 'empty' });
    const { jobId } = await request({ sessionId: sid, participantId: 'target', meetingId: room });
    expect(await removalSettled(h, jobId)).toMatchObject({ state: 'completed', attemptsMade: 1, outcome: { outcome: 'removed' } });
    expect(callShapes(callsOf(h, sid))).toEqual(['POST 200', 'POST 200', 'GET 200']);
    expect(callsOf(h, sid).filter((c) => c.applied)).toHaveLength(2);
    const attempts = await h.automod.services.outcomes.attempts(jobId);
    expect(attempts.map((a) => `${a.operation} ${a.status}`)).toEqual(['remove 200', 'get-session 200']);
    await expectAgreement(sid, jobId, 'removed', ['bystander', 'target']);
  });

  it('answers that never confirm while the participant stays: failed once the attempts are spent, never removed', async () => {
    const { sid, room } = session();
    h.simulator.addFault({ operation: 'remove', sessionId: sid, removeAnswer: 'html', removeApplied: false, times: Infinity });
    const { jobId } = await request({ sessionId: sid, participantId: 'target', meetingId: room });
    const done = await removalSettled(h, jobId);
    expect(done).toMatchObject({ state: 'failed', attemptsMade: 4, outcome: { outcome: 'failed', status: 200 } });
    expect(done.outcome?.message).toBe(
      'the remove call was answered HTTP 200 with an HTML page, and VideoSDK still lists the participant in the session',
    );
    expect(stillIn(sid)).toBe(true);
    expect(callsOf(h, sid).filter((c) => c.method === 'POST')).toHaveLength(4);
    await expectAgreement(sid, jobId, 'failed');
  });

  it('the documented answers add no read: a session without the participant, small or raid-sized; a confirmation message as before', async () => {
    const small = session();
    const one = await request({ sessionId: small.sid, participantId: 'target', meetingId: small.room });
    expect(await removalSettled(h, one.jobId)).toMatchObject({ attemptsMade: 1, outcome: { outcome: 'removed' } });
    expect(callShapes(callsOf(h, small.sid))).toEqual(['POST 200']);

    // Hundreds in the session: the answer is read from its bytes for the one participant.
    const big = session(Array.from({ length: 800 }, (_, i) => `bot-${i}`));
    const two = await request({ sessionId: big.sid, participantId: 'bot-400', meetingId: big.room });
    expect(await removalSettled(h, two.jobId)).toMatchObject({ attemptsMade: 1, outcome: { outcome: 'removed' } });
    expect(callShapes(callsOf(h, big.sid))).toEqual(['POST 200']);

    // The SDK's message holds no session: its one read is the snapshot's, made before this change too.
    const message = session();
    h.simulator.addFault({ operation: 'remove', sessionId: message.sid, removeAnswer: 'message' });
    const three = await request({ sessionId: message.sid, participantId: 'target', meetingId: message.room });
    expect(await removalSettled(h, three.jobId)).toMatchObject({ attemptsMade: 1, outcome: { outcome: 'removed' } });
    expect(callShapes(callsOf(h, message.sid))).toEqual(['POST 200', 'GET 200']);
  });
});
