import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionId, startHarness, waitFor, type Harness } from '../helpers/harness.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('removal by join time (POST /v1/removals {sessionId, joinedSince})', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('joined-since');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('removes everyone still in the session who first joined at or after the time, never a host or moderator', async () => {
    const sid = sessionId();
    const meeting = `js-${sid.slice(0, 8)}`;
    h.simulator.addSession({ id: sid, meetingId: meeting, participants: [{ participantId: 'regular' }, { participantId: 'early-host' }] });
    // A moderator who came with the wave (recorded from an event's role), and a regular who stepped
    // out and back in: their first join is still before the time.
    await pause(20);
    const since = new Date().toISOString();
    await pause(20);
    h.simulator.leave(sid, 'regular');
    h.simulator.join(sid, 'regular');
    for (const p of ['bot-1', 'bot-2', 'bot-3', 'late-mod', 'friend']) h.simulator.join(sid, p);
    h.simulator.leave(sid, 'bot-3');
    await h.api('POST', '/v1/events', {
      type: 'participant-joined',
      meetingId: meeting,
      sessionId: sid,
      participantId: 'late-mod',
      data: { role: 'moderator' },
    });
    await waitFor(async () => ((await h.automod.services.lockdowns.staffAmong(meeting, ['late-mod'])).size === 1 ? true : undefined));

    const answer = await h.api('POST', '/v1/removals', { sessionId: sid, joinedSince: since, except: ['friend'], reason: 'raid wave' });
    expect(answer.status).toBe(202);
    const body = answer.body as { jobs: string[]; details: { participantId: string }[]; skipped: string[] };
    expect(body.details.map((d) => d.participantId).sort()).toEqual(['bot-1', 'bot-2']);
    expect(body.skipped.sort()).toEqual(['friend', 'late-mod']);
    await waitFor(async () => ((await h.automod.services.sessions.get(sid))?.removals.length === 2 ? true : undefined));
    const removed = h.simulator
      .calls()
      .filter((c) => c.sessionId === sid && c.operation === 'remove')
      .map((c) => c.participantId);
    expect(removed.sort()).toEqual(['bot-1', 'bot-2']);
  });

  it('names what is wrong with the time', async () => {
    const bad = await h.api('POST', '/v1/removals', { sessionId: 's', joinedSince: 'yesterday' });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual(expect.objectContaining({ details: [expect.objectContaining({ path: '$.joinedSince' })] }));
  });
});
